//! Content-addressed storage for Slipway: blobs by sha256 digest, deterministic tar+zstd
//! archives of workspace and home paths, caches with restore-key fallback, and job outputs.
//!
//! Store layout (any `object_store` backend; a local directory today):
//!
//! ```text
//! blobs/sha256/<hex>              every blob: cache archives, output archives, later OCI layers
//! caches/index/<sha256(key)>.json one per cache key: {key, digest, created, size}
//! staging/                        local directory stores only: files being written
//! ```
//!
//! The API is async because `object_store` is; file walking, hashing and (de)compression run on
//! tokio's blocking pool.

pub mod archive;
mod blob;
pub mod cache;
mod digest;
mod error;
pub mod outputs;

pub use archive::{
    Deny, Missing, PackOptions, PackResult, PathSpec, Root, Roots, UnpackResult, pack, unpack,
};
pub use blob::BlobStore;
pub use cache::{CacheEntry, CacheStore, Lookup, SaveOutcome, SavedPaths};
pub use digest::{Digest, HashingReader, HashingWriter};
pub use error::{Error, Result};
