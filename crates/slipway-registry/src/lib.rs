//! Push an artifact's OCI image layout to a container registry, with its evidence (DSSE
//! envelopes, Sigstore bundles) as OCI 1.1 referrers, and pull it back into a layout.
//!
//! - [`push_layout`] sends blobs (skipping those the registry has), the image manifest by tag
//!   and by digest, then every referrer manifest of the layout. A registry that indexes
//!   referrers itself says so with `OCI-Subject`; for one that does not (distribution 2.8),
//!   the referrers tag schema's index (`sha256-<hex>`) is merged and written.
//! - [`pull_to_layout`] resolves the reference, downloads and verifies every manifest and
//!   blob, finds referrers through the referrers API or, on 404, the tag schema, and renames
//!   the finished layout into place.
//!
//! Every request has a total timeout; connection failures, HTTP 5xx and 429 are retried with
//! bounded exponential backoff (honouring `Retry-After`) and each retry is in the report.
//! Credentials are never logged nor put in errors.

mod client;
mod digest;
mod error;
mod layout;
mod options;
mod pull;
mod push;
mod reference;
mod report;

pub use error::Error;
pub use options::{Credentials, PlainHttp, RegistryOptions, RetryPolicy};
pub use pull::pull_to_layout;
pub use push::push_layout;
pub use reference::Reference;
pub use report::{Attempt, PullReport, PushReport, Referrer, ReferrersPath, SkippedReferrer};
