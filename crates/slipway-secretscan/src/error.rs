//! The crate's one error type. No variant ever carries scanned content: a secret must not
//! reach a log through an error message.

use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Everything that can stop a scan or the loading of its configuration.
#[derive(Debug, Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed. `stderr` is git's own complaint, never diff content.
    #[error("`{command}` failed: {stderr}")]
    Git {
        /// The command line as run, e.g. `git log -p ... main..topic`.
        command: String,
        /// git's standard error (trimmed, capped), or the exit status when it printed nothing.
        stderr: String,
    },
    /// A git command ran past its timeout and was stopped.
    #[error("`{command}` did not finish within {}s and was stopped; raise the git timeout or scan a shorter range", timeout.as_secs())]
    GitTimeout {
        /// The command line as run.
        command: String,
        /// The limit it exceeded.
        timeout: Duration,
    },
    /// The range given to a git scan is not something this scanner passes to git.
    #[error("invalid git range {range:?}: {reason}")]
    InvalidRange {
        /// The range as given.
        range: String,
        /// Why it was refused and what to write instead.
        reason: String,
    },
    /// The allowlist file is malformed.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Allowlist {
        /// The allowlist file.
        file: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A rules file is malformed (a bad key, a regex that does not compile, a duplicate id).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Rules {
        /// The rules file (`<builtin>/rules.toml` for the embedded one).
        file: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}
