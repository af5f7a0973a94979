//! What can go wrong building, reading or checking the audit log.

use std::path::PathBuf;
use thiserror::Error;

/// An error of the audit log's model.
#[derive(Debug, Error)]
pub enum AuditError {
    /// A required text field of an event is empty.
    #[error("the audit event's {field} is empty; every entry names its {field}")]
    EmptyField {
        /// `actor`, `action` or `subject`.
        field: &'static str,
    },
    /// The action is not dotted lowercase words.
    #[error(
        "audit action `{0}` is not dotted lowercase words: use at least two of [a-z0-9_-] joined by dots, like `run.finished`"
    )]
    Action(String),
    /// The details cannot be encoded canonically the same way everywhere.
    #[error("audit details at {path}: {problem}")]
    Details {
        /// A JSON pointer into the details (`/counts/blocking`).
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A millisecond timestamp outside what RFC 3339 can write.
    #[error("timestamp {0} ms is outside the years 0000-9999")]
    Timestamp(i64),
    /// A line of an export that is not what the format says.
    #[error("{path}:{line}: {problem}")]
    Export {
        /// The export file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read`, `write`, `rename`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Encoding JSON failed (a value serde cannot write).
    #[error("cannot encode the audit record as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl AuditError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.into();
        move |source| AuditError::Io {
            action,
            path,
            source,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;
