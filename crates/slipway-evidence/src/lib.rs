//! Evidence bound to an artifact digest. After a run packages its artifact, [`attest`] makes
//! the SBOMs of its contents, a test-results summary and the SLSA v1 provenance, each an
//! in-toto statement signed in a DSSE envelope by the builder key ([`keys`]) and stored beside
//! the artifact. [`verify`] checks all of it against a trust policy.

pub mod attest;
mod error;
pub mod keys;
pub mod verify;

pub use attest::{RunFacts, TemplateFact, TestReport, attest};
pub use error::{Error, Result};
pub use keys::BuilderKey;
pub use verify::{Check, Report, verify};
