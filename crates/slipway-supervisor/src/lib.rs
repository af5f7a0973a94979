//! Runs releases as local processes: ports, readiness and liveness probes, restarts with
//! backoff, logs, re-adoption.
//!
//! The local deployment target runs each release instance as a process the [`Supervisor`]
//! starts from an [`InstanceSpec`]:
//!
//! - **Isolation.** The process gets exactly the spec's environment plus `PORT` (nothing of
//!   the supervisor's own environment), its own session and process group (`setsid`), stdin
//!   from `/dev/null`, and stdout and stderr appended to the spec's log file through file
//!   descriptors, so it keeps logging when the supervisor exits.
//! - **Probes.** HTTP GET to `127.0.0.1:{port}{path}`; readiness moves the status between
//!   `Starting`, `Ready` and `Unready`; liveness failing `failure_threshold` times in a row
//!   kills the group and restarts it.
//! - **Restarts.** An exit or a liveness kill restarts after a backoff that doubles from
//!   `initial_backoff` up to `max_backoff`; staying ready for `stable_after` resets it; more
//!   than `max_restarts` restarts in one unstable stretch make the instance `Failed`.
//! - **Re-adoption.** One record file per instance in the runtime directory holds its pid,
//!   the process start time and the spec digest. A new supervisor adopts a live process only
//!   when all three match (a pid alone may have been reused), and watches it by polling
//!   `/proc`; otherwise it starts a new one. [`Supervisor::shutdown`] leaves processes
//!   running for that; [`Supervisor::stop_all`] stops them.
//!
//! Linux only: it relies on `/proc`, sessions and process groups.

mod error;
mod event;
mod port;
mod probe;
pub mod proc;
mod record;
mod spec;
mod supervisor;

pub use error::{NotReady, SupervisorError};
pub use event::{Adoption, EventKind, InstanceStatus, SupervisorEvent};
pub use port::free_port;
pub use record::{InstanceRecord, RECORD_FORMAT};
pub use spec::{InstanceSpec, Probe, RestartPolicy};
pub use supervisor::{KILL_GRACE, Supervisor};
