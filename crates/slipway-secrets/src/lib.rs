//! Secrets for Slipway jobs.
//!
//! * [`resolve_all`] loads the secrets a job declares from their providers
//!   ([`Provider::Env`], [`Provider::File`], [`Provider::Vault`] — HashiCorp
//!   Vault KV v2 with a timeout and bounded, recorded retries).
//! * [`Secret`] holds one value; `Debug`/`Display` never show it.
//! * [`Masker`] and [`LineMasker`] replace each value and its usual encodings
//!   with `***` in texts and in chunked output streams.
//!
//! What is and is not masked, and why values shorter than four characters are
//! refused, is in this crate's README.

mod mask;
mod resolve;
mod secret;
mod vault;

pub use mask::{LineMasker, MASK, Masker};
pub use resolve::{MAX_SECRET_FILE_BYTES, Provider, Resolution, ResolveContext, resolve_all};
pub use secret::{MIN_SECRET_CHARS, Secret, SecretError};
pub use vault::{AttemptOutcome, AttemptRecord, MAX_ATTEMPTS};
