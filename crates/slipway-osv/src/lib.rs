//! OSV advisories held offline: reading them, indexing them, and matching an inventory's
//! packages against them.
//!
//! - [`parse_record`] reads one advisory: OSV JSON or YAML (osv.dev exports, GitHub's
//!   advisory database, pypa/advisory-database, golang/vulndb) or a RustSec advisory, which
//!   is converted to OSV on the way in ([`Record`] is always OSV 1.7).
//! - [`read_source`] reads a whole database: a directory tree or osv.dev's `all.zip`.
//! - [`Index`] groups records by package and [`Index::scan`] matches a
//!   [`slipway_sbom::Inventory`] against them, with each ecosystem's version ordering
//!   ([`version`]) and the severity computed from CVSS vectors ([`cvss`]).
//! - [`matches`] answers the question for a single package version.
//!
//! Persisting records is the store's job (`slipway-store`, which does not know this crate):
//! give it each record's JSON with [`record_keys`], and ask it for the records of
//! [`inventory_keys`] before building an [`Index`].
//!
//! The crate does no network or process I/O.

pub mod cvss;
mod error;
mod import;
mod index;
mod matching;
mod parse;
mod record;
mod rustsec;
mod severity;
pub mod version;

pub use error::Error;
pub use import::{ImportBatch, Rejected, read_source};
pub use index::{
    Index, MatchNote, ScanReport, VulnFinding, inventory_keys, osv_package, osv_version,
    package_key, record_keys,
};
pub use matching::{matches, normalize_name};
pub use parse::parse_record;
pub use record::{Affected, Credit, Event, Package, Range, Record, Reference, SeverityEntry};
pub use severity::SeveritySource;
