//! Immutable artifacts. A job's `artifact:` becomes an OCI image (image-spec v1.1) packaged
//! deterministically — sorted entries, commit-time mtimes, uid/gid 0, fixed modes, fixed
//! compression — so the manifest digest depends on the bytes and nothing else. Blobs live in the
//! content-addressed store shared with caches; the run store indexes artifacts, their immutable
//! tags (`<git-sha>-<run-number>`) and the evidence attached to each digest.
//!
//! Architecture invariant: an artifact is never rebuilt or changed after it is recorded.
//! Promotion, export and push move the digest; evidence is added beside it, never into it.

mod error;
pub mod layer;
pub mod layout;
pub mod oci;
pub mod package;
pub mod retention;
mod store;

pub use error::{Error, Result};
pub use layer::Compression;
pub use package::{ArtifactSpec, Packaged, package, rfc3339};
pub use store::{Artifacts, Inspection, NewEvidence, OBJECTS_DIR, Origin, parse_digest};
