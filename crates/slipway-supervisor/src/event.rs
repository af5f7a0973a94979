//! What callers observe: instance status, adoption outcomes and the event stream.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Where an instance stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Running, readiness not yet passed.
    Starting,
    /// Readiness passed (or there is no readiness probe and the process runs).
    Ready,
    /// Was ready, then failed readiness `failure_threshold` times in a row; still running.
    Unready,
    /// The process ended or failed liveness; waiting out the backoff before restart `attempt`.
    Restarting {
        /// 1 for the first restart after a stable period.
        attempt: u32,
    },
    /// Gave up after too many restarts; nothing runs.
    Failed {
        /// The last exit or start failure and the log file to read.
        reason: String,
    },
    /// Stopped on request; nothing runs.
    Stopped,
}

impl std::fmt::Display for InstanceStatus {
    /// In words, for reasons people read: `restarting (attempt 2)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceStatus::Starting => f.write_str("starting"),
            InstanceStatus::Ready => f.write_str("ready"),
            InstanceStatus::Unready => f.write_str("unready"),
            InstanceStatus::Restarting { attempt } => write!(f, "restarting (attempt {attempt})"),
            InstanceStatus::Failed { reason } => write!(f, "failed ({reason})"),
            InstanceStatus::Stopped => f.write_str("stopped"),
        }
    }
}

/// How `adopt_or_start` got the instance running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Adoption {
    /// A live process from an earlier supervisor, started from the same spec, is watched again.
    Adopted {
        /// Its process id.
        pid: u32,
    },
    /// A new process was started (no record, a dead process, a reused pid, or another spec).
    Started {
        /// The new process id.
        pid: u32,
    },
}

/// One thing that happened to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupervisorEvent {
    /// The instance id.
    pub id: String,
    /// When it happened.
    pub at: SystemTime,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`SupervisorEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A process was started (first start or restart).
    Started {
        /// Its process id.
        pid: u32,
    },
    /// A surviving process was adopted.
    Adopted {
        /// Its process id.
        pid: u32,
    },
    /// Readiness passed.
    Ready,
    /// Readiness failed after having passed.
    Unready {
        /// The last probe failure.
        reason: String,
    },
    /// Liveness failed `failure_threshold` times in a row; the group is killed and restarted.
    LivenessFailed {
        /// The last probe failure.
        reason: String,
    },
    /// The process ended on its own or after a liveness kill. Both `code` and `signal` are
    /// `None` for an adopted process: it is not our child, so its status is not ours to read.
    Exited {
        /// The process that ended.
        pid: u32,
        /// Its exit code when it exited normally.
        code: Option<i32>,
        /// The signal that ended it.
        signal: Option<i32>,
    },
    /// A restart is scheduled after `backoff`.
    Restarting {
        /// 1-based restart number since the last stable period.
        attempt: u32,
        /// The wait before the restart.
        backoff: Duration,
    },
    /// Too many restarts; the instance is `Failed`.
    GaveUp {
        /// Why, as in [`InstanceStatus::Failed`].
        reason: String,
    },
    /// The instance was stopped on request.
    Stopped,
}
