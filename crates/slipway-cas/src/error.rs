use crate::Digest;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in this crate. Messages name the path, digest or key involved
/// (never file contents: a denied file may hold a secret).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unsupported store location `{0}`: expected a directory path, a `file:///` URL or `memory://` (S3 is not built in yet)"
    )]
    UnsupportedLocation(String),

    #[error("the object store could not {action} `{location}`: {source}")]
    Store {
        action: &'static str,
        location: String,
        #[source]
        source: object_store::Error,
    },

    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("invalid digest `{0}`: expected `sha256:` followed by 64 lowercase hex digits")]
    InvalidDigest(String),

    #[error("blob {0} is not in the store")]
    BlobNotFound(Digest),

    #[error("cannot read blob {digest}: {source}")]
    BlobRead {
        digest: Digest,
        #[source]
        source: io::Error,
    },

    #[error("blob {digest} is corrupted: its content hashes to {actual}")]
    Corrupt { digest: Digest, actual: Digest },

    #[error("invalid path `{path}`: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    #[error("`{0}` is in the home directory, but no home directory was given")]
    NoHomeRoot(String),

    #[error("declared output `{0}` does not exist")]
    MissingOutput(String),

    #[error("refusing to store `{}`: it contains a secret value of this job", .0.display())]
    Denied(PathBuf),

    #[error("`{}` changed while it was being archived", .0.display())]
    Changed(PathBuf),

    #[error("refusing to extract `{entry}` from {digest}: {reason}")]
    UnsafeEntry {
        digest: Digest,
        entry: String,
        reason: String,
    },

    #[error("blob {digest} is not a valid archive: {message}")]
    BadArchive { digest: Digest, message: String },

    #[error("invalid cache key `{key}`: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    #[error("cache index entry `{location}` is unreadable: {source}")]
    Index {
        location: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("a background task of the content store failed: {0}")]
    Task(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn store(
        action: &'static str,
        location: impl ToString,
    ) -> impl FnOnce(object_store::Error) -> Error {
        let location = location.to_string();
        move |source| Error::Store {
            action,
            location,
            source,
        }
    }
}

/// Runs blocking work (file walking, hashing, compression) off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}
