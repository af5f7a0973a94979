use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong attesting or verifying.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Artifact(#[from] slipway_artifact::Error),
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    #[error(transparent)]
    Sign(#[from] slipway_sign::Error),
    #[error("cannot make the SBOM: {0}")]
    Sbom(#[from] slipway_sbom::Error),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the signing key {path} is configured by {variable}, but {problem}")]
    SigningKey {
        path: PathBuf,
        variable: &'static str,
        problem: String,
    },
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
