//! The input document of one decision: the evidence bundle of an artifact plus what the
//! delivery state knows about the target environment. It is the contract between whoever
//! assembles the facts and the policies that judge them; docs/policy.md describes every field
//! and `schema/policy-input-v1.json` is generated from these types.
//!
//! Every field is required (optional ones are `null`) and unknown fields are refused, so a
//! misspelt fact fails loudly instead of leaving a rule undefined and the decision open.

use crate::PolicyError;
use crate::decision::DecisionPoint;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole input of a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Which decision is asked: `release`, `promote` or `rollback`.
    pub decision: DecisionPoint,
    /// When the decision is asked, RFC 3339 (`2026-11-22T08:00:00Z`).
    pub time: String,
    /// Who asks for it.
    pub actor: Actor,
    /// The artifact the decision is about.
    pub artifact: ArtifactFacts,
    /// The outcome of `verify` over the artifact and its evidence.
    pub verification: Verification,
    /// Every signed piece of evidence attached to the artifact.
    pub signatures: Vec<Signature>,
    /// The SLSA provenance attached to the artifact.
    pub provenance: Provenance,
    /// The SBOM attached to the artifact.
    pub sbom: Sbom,
    /// Security-gate reports attached to the artifact (or, by mistake, to another digest).
    pub scans: Vec<Scan>,
    /// Base images named by the commit's container files, with their pinning.
    pub base_images: Vec<BaseImage>,
    /// The test results of the run that built the artifact.
    pub tests: Tests,
    /// The target environment (`promote`, `rollback`); `null` for `release`.
    pub environment: Option<Environment>,
    /// The release being promoted, when there is one.
    pub release: Option<ReleaseFacts>,
    /// Approvals recorded for this promotion.
    pub approvals: Vec<Approval>,
    /// What earlier deliveries of this digest showed.
    pub history: History,
}

/// Who asks for a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The identity (`alice@example.com`, `slipway-controller`).
    pub name: String,
    /// Where the identity comes from (`cli`, `api`, `controller`, `webhook`).
    pub source: String,
}

/// The artifact a decision is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactFacts {
    /// Its manifest digest, `sha256:<64 hex>`.
    pub digest: String,
    /// Its name in the artifact index.
    pub name: String,
    /// Its tags (immutable, `<git-sha>-<build>`).
    pub tags: Vec<String>,
    /// The repository it was built from.
    pub repository: String,
    /// The commit it was built from.
    pub commit: String,
    /// The git ref of the run that built it (`refs/heads/main`).
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// The outcome of `verify`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Whether every check passed.
    pub ok: bool,
    /// Every check, in the order `verify` ran them.
    pub checks: Vec<VerificationCheck>,
}

/// One check of `verify`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationCheck {
    /// Its name (`manifest digest`, `provenance signature`, `trusted builder`, ...).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed; `null` when it passed.
    pub reason: Option<String>,
}

/// One signed piece of evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The evidence kind: `provenance`, `sbom-cyclonedx`, `sbom-spdx`, `security-gates`,
    /// `test-results`, `policy-decision`, ...
    pub kind: String,
    /// The key that signed it: the builder id the trust policy names for the key, or the
    /// envelope's key id when no trusted key verified it.
    pub key_id: String,
    /// Whether a key of the trust policy verified the signature over the received bytes.
    pub trusted: bool,
    /// The digest the signed statement is about (`sha256:<hex>`), empty when it could not be read.
    pub subject: String,
}

/// The SLSA provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Whether a verified provenance statement is attached.
    pub present: bool,
    /// The digests the statement names as its subjects.
    pub subjects: Vec<String>,
    /// `runDetails.builder.id`.
    pub builder_id: Option<String>,
    /// `buildDefinition.buildType`.
    pub build_type: Option<String>,
    /// Whether it was signed by the development key Slipway makes on first use.
    pub development_key: bool,
}

/// The SBOM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sbom {
    /// Whether a verified SBOM statement (CycloneDX or SPDX) is attached.
    pub present: bool,
    /// The digests the SBOM statements name as their subjects.
    pub subjects: Vec<String>,
    /// How many components (CycloneDX) or packages (SPDX) it lists.
    pub components: u64,
}

/// One security-gate report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// The report kind; `security-gates` for Slipway's own.
    pub kind: String,
    /// The digest the report is about.
    pub subject: String,
    /// The overall verdict.
    pub verdict: Verdict,
    /// Each gate's status by gate name (`secrets`, `vulnerabilities`, `pins`, `sarif`, `waivers`).
    pub gates: BTreeMap<String, GateStatus>,
    /// Findings by disposition.
    pub counts: ScanCounts,
}

/// A report's overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing blocks and nothing is tracked.
    Pass,
    /// Tracked findings, nothing blocking.
    Warn,
    /// At least one blocking finding.
    Fail,
}

/// One gate's status in a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GateStatus {
    /// The gate ran and nothing blocks.
    Pass,
    /// The gate ran; tracked findings only.
    Warn,
    /// The gate ran and something blocks.
    Fail,
    /// The gate did not run (turned off in `gates:`).
    Off,
}

/// Findings by disposition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanCounts {
    /// Findings that fail their gate.
    pub block: u64,
    /// Findings that are tracked but do not fail.
    pub warn: u64,
    /// Findings suppressed by a waiver.
    pub waived: u64,
}

/// A base image and whether it is pinned by digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseImage {
    /// The image reference as written (`debian:12`, `debian@sha256:...`).
    pub reference: String,
    /// Whether it is pinned by digest.
    pub pinned: bool,
    /// The file that names it, relative to the repository root.
    pub file: String,
    /// The line that names it (1-based).
    pub line: u64,
}

/// The test results of the run that built the artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    /// Whether signed test results are attached.
    pub present: bool,
    /// How many tests ran.
    pub total: u64,
    /// How many failed (errors included).
    pub failed: u64,
}

/// The target environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Its name (`staging`, `production`).
    pub name: String,
    /// Whether it serves production traffic.
    pub production: bool,
    /// The environments a digest must reach before this one.
    pub after: Vec<String>,
    /// The approvals it requires.
    pub approval: ApprovalRequirement,
    /// Its configuration as declared (free-form, for user policies).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// How long a digest must run in the previous environment first.
    pub soak: Soak,
}

/// The approvals an environment requires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequirement {
    /// How many distinct approvers (0: none).
    pub required: u64,
    /// Whether approvals by an author of the release's commits do not count.
    pub exclude_author: bool,
}

/// A minimum soak time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Soak {
    /// Seconds (0: the environment declares none).
    pub required_seconds: u64,
}

/// The release being promoted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseFacts {
    /// The release id.
    pub id: String,
    /// The authors of the commits the release contains (identities as approvals name them).
    pub commit_authors: Vec<String>,
}

/// One approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved.
    pub actor: String,
    /// When, RFC 3339.
    pub at: String,
    /// What they wrote, if anything.
    pub comment: Option<String>,
    /// Whether the approver authored a commit of the release.
    pub is_commit_author: bool,
}

/// What earlier deliveries of the digest showed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Whether the digest is marked bad for the target environment (a failed rollout or a
    /// rollback away from it).
    pub known_bad: bool,
    /// The digest in the environment before the target one, `null` when there is none.
    pub previous_environment: Option<PreviousEnvironment>,
}

/// The digest in the previous environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviousEnvironment {
    /// The previous environment's name.
    pub name: String,
    /// When the digest was released there, RFC 3339; `null` if it never was.
    pub released_at: Option<String>,
    /// Whether it is healthy there now.
    pub healthy: bool,
    /// Seconds since it was released there; `null` if it never was.
    pub seconds_since: Option<u64>,
}

impl Input {
    /// Reads an input document; `file` names it in errors (with line and column).
    pub fn from_json(file: &str, text: &str) -> Result<Input, PolicyError> {
        serde_json::from_str(text).map_err(|error| PolicyError::File {
            file: file.to_owned(),
            line: error.line().max(1) as u64,
            column: error.column().max(1) as u64,
            message: strip_position(&error.to_string()),
            help: "the input document is described in docs/policy.md and by schema/policy-input-v1.json".into(),
        })
    }

    /// The JSON Schema of the input document.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Input)).unwrap_or_default()
    }

    /// Refuses inputs that cannot be judged at `point`: facts a rule of that point needs are
    /// missing, and a policy must not pass for want of them.
    pub fn check(&self, point: DecisionPoint) -> Result<(), PolicyError> {
        if !is_digest(&self.artifact.digest) {
            return Err(PolicyError::Input {
                message: format!(
                    "artifact.digest {:?} is not a sha256 digest",
                    self.artifact.digest
                ),
                help: "give the manifest digest as `sha256:` and 64 lowercase hex digits".into(),
            });
        }
        if chrono::DateTime::parse_from_rfc3339(&self.time).is_err() {
            return Err(PolicyError::Input {
                message: format!("time {:?} is not an RFC 3339 timestamp", self.time),
                help: "write it like 2026-11-22T08:00:00Z".into(),
            });
        }
        if point != DecisionPoint::Release && self.environment.is_none() {
            return Err(PolicyError::Input {
                message: format!(
                    "a {point} decision needs its target environment, but environment is null"
                ),
                help:
                    "fill `environment` from the delivery configuration of the target environment"
                        .into(),
            });
        }
        Ok(())
    }
}

/// Whether `text` is `sha256:` and 64 lowercase hex digits.
pub(crate) fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// serde_json appends " at line L column C" to its messages; the error carries them already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}
