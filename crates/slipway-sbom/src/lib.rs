//! Software inventories and the SBOMs that carry them.
//!
//! Two ways in:
//! - [`scan_source`] walks a source tree and reads every lockfile it knows (Cargo, npm, yarn,
//!   pnpm, Poetry, uv, Pipenv, pip requirements, Go modules, Bundler, Maven, Composer);
//! - [`scan_filesystem`] reads an unpacked artifact: OS package databases (dpkg, apk), Rust
//!   binaries built with `cargo auditable`, the lockfiles it ships, and a SHA-256 of every
//!   regular file, so the SBOM seals the artifact's exact contents.
//!
//! One way out: [`render`] writes the [`Inventory`] as CycloneDX 1.6 or SPDX 2.3 JSON,
//! byte-for-byte the same for the same input (the caller supplies the timestamp; identifiers
//! are derived from the content). [`read_cyclonedx`] reads a CycloneDX document back far enough
//! to compare component sets.
//!
//! The crate does no network or process I/O; a malformed lockfile is an [`Error`] naming the
//! file and, for syntax errors, the line and column.

mod cyclonedx;
mod document;
mod error;
pub mod lockfile;
mod model;
mod purl;
mod scan;
mod spdx;
pub mod system;
mod text;

pub use cyclonedx::{BomSummary, ReadComponent, ReadFile, read_cyclonedx};
pub use document::{DocumentInfo, Sha256Digest, Timestamp};
pub use error::Error;
pub use model::{
    Component, Ecosystem, FileEntry, Hash, HashAlgorithm, Inventory, Property, Scope, Skipped,
};
pub use purl::{pypi_normalize, strip_qualifiers};
pub use scan::{scan_filesystem, scan_source, scan_source_lenient};

/// The SBOM formats [`render`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON, the primary format.
    CycloneDx,
    /// SPDX 2.3 JSON, for consumers that only read SPDX.
    Spdx,
}

/// Writes `inventory` as an SBOM document: pretty-printed JSON and a final newline.
///
/// The same inventory and [`DocumentInfo`] always give the same bytes.
pub fn render(inventory: &Inventory, info: &DocumentInfo, format: Format) -> Vec<u8> {
    match format {
        Format::CycloneDx => cyclonedx::render(inventory, info),
        Format::Spdx => spdx::render(inventory, info),
    }
}
