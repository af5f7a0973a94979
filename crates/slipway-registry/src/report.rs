//! What a push or a pull did, for the CLI to show and the run record to keep.

use std::fmt;
use std::time::Duration;

/// A failed request that was retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The operation, e.g. "upload blob sha256:…".
    pub what: String,
    /// Which attempt failed, 1 for the first.
    pub attempt: u32,
    /// Why it failed.
    pub error: String,
    /// The wait before the next attempt.
    pub delay: Duration,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: attempt {} failed ({}); retried after {:?}",
            self.what, self.attempt, self.error, self.delay
        )
    }
}

/// How referrers are found for a subject in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersPath {
    /// The registry implements the OCI 1.1 referrers API: it indexes manifests with a
    /// `subject` itself (`OCI-Subject` on push, `GET /v2/<name>/referrers/<digest>` on pull).
    Api,
    /// The registry does not: an image index under the tag `sha256-<hex of the subject>`
    /// lists the referrers.
    TagSchema,
}

impl fmt::Display for ReferrersPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Api => "referrers API",
            Self::TagSchema => "referrers tag schema",
        })
    }
}

/// A referrer manifest (a piece of evidence) pushed or pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The referrer manifest's digest.
    pub digest: String,
    /// Its `artifactType` (or, lacking one, its config media type), e.g.
    /// `application/vnd.in-toto+json`.
    pub artifact_type: Option<String>,
}

/// A referrer listed by the registry that a pull did not fetch, because it is not an image
/// manifest (e.g. an image index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedReferrer {
    /// Its digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
}

/// The outcome of [`push_layout`](crate::push_layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The image manifest's digest.
    pub image_digest: String,
    /// Blobs sent to the registry.
    pub blobs_uploaded: usize,
    /// Blobs the registry already had, so not sent.
    pub blobs_already_present: usize,
    /// The referrers pushed, in the layout's order.
    pub referrers: Vec<Referrer>,
    /// How the referrers were indexed; `None` when the layout had none.
    pub referrers_path: Option<ReferrersPath>,
    /// Every retried failure.
    pub attempts: Vec<Attempt>,
}

/// The outcome of [`pull_to_layout`](crate::pull_to_layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullReport {
    /// The image manifest's digest.
    pub image_digest: String,
    /// Blobs downloaded (manifests excluded), each verified against its digest.
    pub blobs_downloaded: usize,
    /// The referrers pulled, in the registry's order.
    pub referrers: Vec<Referrer>,
    /// Referrers listed but not fetched.
    pub skipped_referrers: Vec<SkippedReferrer>,
    /// How the referrers were found.
    pub referrers_path: ReferrersPath,
    /// Every retried failure.
    pub attempts: Vec<Attempt>,
}
