//! SARIF 2.1.0 in and out.
//!
//! Writing: [`RunBuilder`] collects one tool's rules ([`RuleMeta`]) and results
//! ([`ResultEntry`]) into a [`Run`]; [`Log::new`] wraps runs, [`Log::enforce_limits`] cuts a
//! log down to GitHub code scanning's upload limits, and [`Log::to_json`] writes it
//! deterministically.
//!
//! Reading: [`read`] parses any scanner's SARIF (semgrep, CodeQL, clippy-sarif, …) and
//! [`ingest`] flattens it into [`Ingested`] findings, resolving rules in extensions,
//! `messageStrings`, `uriBaseId`s and `file://` URIs, and leaving out passing and suppressed
//! results.

mod model;
mod read;
mod write;

pub use model::*;
pub use read::{Ingested, Ingestion, ingest, ingest_counted, ingest_with_root, read};
pub use write::{FINGERPRINT_KEY, ResultEntry, RuleMeta, RunBuilder, limits};

/// Why a SARIF file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Not JSON, or JSON of the wrong shape.
    #[error("{file}:{line}:{column}: not a valid SARIF log: {reason}")]
    Json {
        /// The input's name.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde_json found.
        reason: String,
    },
    /// A SARIF log of another version.
    #[error(
        "{file}: SARIF version `{found}` is not supported: Slipway reads SARIF 2.1.0; \
         ask the tool for SARIF 2.1.0 output or convert the log (e.g. `sarif-multitool transform --sarif-output-version Current`)"
    )]
    UnsupportedVersion {
        /// The input's name.
        file: String,
        /// The `version` it declares.
        found: String,
    },
}

impl Error {
    fn json(file: &str, error: &serde_json::Error) -> Error {
        let text = error.to_string();
        // serde_json appends " at line L column C"; the position is reported in front.
        let reason = match text.rfind(" at line ") {
            Some(position) => text.get(..position).unwrap_or(&text).to_string(),
            None => text,
        };
        Error::Json {
            file: file.to_string(),
            line: error.line().max(1),
            column: error.column().max(1),
            reason,
        }
    }
}
