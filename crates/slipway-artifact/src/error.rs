use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong packaging, storing or exporting an artifact.
#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "the artifact source {path} does not exist; `from` must name a file or directory the job produced in its workspace"
    )]
    MissingSource { path: PathBuf },
    #[error(
        "cannot package {path}: {what}; an artifact holds regular files, directories and symlinks only"
    )]
    Unsupported { path: PathBuf, what: &'static str },
    #[error("cannot package {path}: its name is not valid UTF-8")]
    NonUtf8Path { path: PathBuf },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the manifest {digest} is not a valid OCI image manifest: {reason}")]
    BadManifest { digest: String, reason: String },
    #[error("{path} is not a valid OCI image layout: {reason}")]
    BadLayout { path: PathBuf, reason: String },
    #[error("the layer {digest} is damaged: {reason}")]
    BadLayer { digest: String, reason: String },
    #[error("the export directory {0} exists and is not empty; choose a new directory")]
    ExportTargetNotEmpty(PathBuf),
    #[error(transparent)]
    Blob(#[from] slipway_cas::Error),
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
