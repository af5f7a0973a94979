//! The audit log's model: canonical entries, the hash chain, signed checkpoints, verification
//! and export.
//!
//! Every entry is `{seq, at, actor, action, subject, details, prev, hash}`: `seq` counts from
//! 1 without gaps, `prev` is the previous entry's `hash` (64 zeros for entry 1), and `hash` is
//! the SHA-256 of the RFC 8785 (JCS) encoding of the other fields ([`entry_hash`]). Changing,
//! removing or reordering an entry breaks the chain at that entry ([`ChainVerifier`]).
//! Checkpoints ([`Checkpoint`]) sign the count and head hash with the builder key, so a log
//! that was cut short, or rewritten and re-hashed, is caught too.
//!
//! This crate does no database I/O: `slipway-store` keeps the entries and appends them inside
//! the transaction of the change they record; the `slipway audit` commands verify and export.

#![warn(missing_docs)]

mod actor;
mod checkpoint;
mod entry;
mod error;
mod export;
mod verify;

pub use actor::{ACTOR_ENV, Actor, ActorSource};
pub use checkpoint::{
    CHECKPOINT_EVERY, CHECKPOINT_LOG, Checkpoint, CheckpointProblem, SignedCheckpoint,
};
pub use entry::{
    Entry, Event, MAX_SAFE_INTEGER, ZERO_HASH, canonical_bytes, check_details, check_event,
    entry_hash, format_millis, normalize_details, parse_millis,
};
pub use error::{AuditError, Result};
pub use export::{
    EXPORT_TYPE, EXPORT_VERSION, ExportFile, ExportHeader, ExportKey, ExportReader, ExportWriter,
    verify_export,
};
pub use verify::{Anchor, ChainVerifier, VerifyReport, verify_chain};
