//! The one error type of the crate: every failure names what went wrong, where (file, line and
//! column for user files) and how to fix it.

use std::path::PathBuf;

/// Why a policy set could not be loaded, evaluated or tested.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A Rego module does not parse or does not compile (unknown function, unsafe variable,
    /// conflicting rules): regorus's message at the place it points to.
    #[error("{file}:{line}:{column}: {message}\n  help: {help}")]
    Rego {
        file: String,
        line: u32,
        column: u32,
        message: String,
        help: String,
    },
    /// A user file is malformed: `.slipway/policy.yml`, an input document, a test fixture.
    #[error("{file}:{line}:{column}: {message}\n  help: {help}")]
    File {
        file: String,
        line: u64,
        column: u64,
        message: String,
        help: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input document does not fit the contract (`schema/policy-input-v1.json`).
    #[error("invalid policy input: {message}\n  help: {help}")]
    Input { message: String, help: String },
    /// A policy failed while it was evaluated (a builtin error, a conflict, the time limit).
    #[error("evaluating {rule} failed: {message}\n  help: {help}")]
    Evaluation {
        rule: String,
        message: String,
        help: String,
    },
    /// Reading the evidence of an artifact failed.
    #[error("cannot collect the evidence of {reference}: {message}")]
    Evidence { reference: String, message: String },
}

impl PolicyError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PolicyError {
        PolicyError::Io {
            path: path.into(),
            source,
        }
    }
}
