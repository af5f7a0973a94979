//! Errors: what went wrong, with which instance or file, and how to fix it.

use std::path::PathBuf;
use std::time::Duration;

/// Everything the supervisor can fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The runtime directory (instance records) could not be created or read.
    #[error(
        "cannot use the runtime directory {path}: {source}; check that it is a writable directory"
    )]
    RuntimeDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The spec cannot be run as given.
    #[error("invalid instance spec {id:?}: {problem}")]
    InvalidSpec {
        /// The instance id.
        id: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A process for this id runs already (managed here or found through its record).
    #[error(
        "instance {id:?} is already running as pid {pid}; stop it first, or use adopt_or_start to take it over"
    )]
    AlreadyRunning {
        /// The instance id.
        id: String,
        /// The running process.
        pid: u32,
    },
    /// Something listens on the instance's port already.
    #[error(
        "port {port} of instance {id:?} is already in use on 127.0.0.1; choose another port (free_port) or stop what listens there"
    )]
    PortInUse {
        /// The instance id.
        id: String,
        /// The busy port.
        port: u16,
    },
    /// The log file could not be opened.
    #[error("cannot open log file {path} of instance {id:?}: {source}")]
    Log {
        /// The instance id.
        id: String,
        /// The log file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("cannot start {program} for instance {id:?} in {working_dir}: {problem}")]
    Spawn {
        /// The instance id.
        id: String,
        /// The program as resolved.
        program: PathBuf,
        /// The working directory.
        working_dir: PathBuf,
        /// What failed and how to fix it.
        problem: String,
    },
    /// A record file could not be written or removed.
    #[error("cannot write instance record {path}: {source}")]
    RecordWrite {
        /// The record file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A record file is unreadable or malformed.
    #[error(
        "cannot read instance record {path}: {problem}; if that instance is no longer wanted, stop its process and delete the file"
    )]
    RecordRead {
        /// The record file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No managed instance and no record has this id.
    #[error("no instance {id:?} is managed or recorded here")]
    UnknownInstance {
        /// The id asked for.
        id: String,
    },
    /// The process group was still alive after SIGKILL.
    #[error(
        "instance {id:?} (process group {pgid}) still has processes {waited:?} after SIGKILL; they may be stuck in the kernel (uninterruptible I/O)"
    )]
    StopTimedOut {
        /// The instance id.
        id: String,
        /// The process group that would not die.
        pgid: u32,
        /// How long the supervisor waited after SIGKILL.
        waited: Duration,
    },
    /// `shutdown` or `stop_all` was called; this supervisor takes no new instances.
    #[error("the supervisor was shut down; create a new Supervisor over the runtime directory")]
    ShutDown,
    /// No free port could be found.
    #[error("cannot find a free port on 127.0.0.1: {source}")]
    FreePort {
        /// The underlying error.
        source: std::io::Error,
    },
    /// The task watching an instance ended abnormally.
    #[error("the watcher of instance {id:?} failed: {problem}")]
    Watcher {
        /// The instance id.
        id: String,
        /// What happened.
        problem: String,
    },
}

/// `wait_ready` gave up: `reason` names the instance, the probe, its last result, the status,
/// the last exit and the log file to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NotReady {
    /// A sentence or two for the operator.
    pub reason: String,
}
