//! Runs a planned pipeline for real: every job in a clean workspace, as soon as its needs are
//! met, up to N at once; timeouts and cancellation that take whole process trees down;
//! retries of declared failure classes; fail-fast; masked output; an event stream and the run
//! history in the store.
//!
//! Architecture invariant: secret values reach job processes only through their environment
//! at step start; everything the runner writes (events, console, store) passes the masker
//! first, and the store never receives a value.

pub mod console;
pub mod events;
mod execute;
pub mod process;
pub mod reports;
pub mod workspace;

pub use execute::{
    ArtifactSummary, JobOutcome, JobStatus, Rerun, RunOptions, RunOutcome, RunStatus,
    events_file_name, run,
};
