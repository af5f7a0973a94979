//! A decision as evidence: an in-toto statement about the artifact whose predicate is the
//! [`Decision`], signed with the builder key and attached like every other piece of evidence.

use crate::{Decision, PolicyError};
use slipway_artifact::Artifacts;
use slipway_sign::intoto::{ResourceDescriptor, Statement};

/// The evidence kind of a policy decision.
pub const KIND_POLICY_DECISION: &str = "policy-decision";

/// The predicate type of a policy decision.
pub const POLICY_DECISION_PREDICATE: &str =
    "https://slipway.invalid/attestation/policy-decision/v1";

/// The in-toto Statement v1 that records `decision` about the artifact `subject_name` with
/// `subject_digest` (`sha256:<hex>` or bare hex).
pub fn decision_statement(
    decision: &Decision,
    subject_name: &str,
    subject_digest: &str,
) -> serde_json::Value {
    let hex = subject_digest
        .strip_prefix("sha256:")
        .unwrap_or(subject_digest);
    let statement = Statement::new(
        vec![ResourceDescriptor::sha256(subject_name, hex)],
        POLICY_DECISION_PREDICATE,
        serde_json::to_value(decision).unwrap_or_default(),
    );
    serde_json::to_value(statement).unwrap_or_default()
}

/// Signs `decision` with the builder key and attaches it to the artifact `reference` as
/// `policy-decision` evidence.
pub async fn attach_decision(
    artifacts: &Artifacts,
    reference: &str,
    key: &slipway_evidence::BuilderKey,
    decision: &Decision,
) -> Result<slipway_store::EvidenceRecord, PolicyError> {
    let failed = |message: String| PolicyError::Evidence {
        reference: reference.to_owned(),
        message,
    };
    let inspection = artifacts
        .inspect(reference)
        .await
        .map_err(|error| failed(error.to_string()))?;
    let predicate = serde_json::to_value(decision).map_err(|error| failed(error.to_string()))?;
    slipway_evidence::attest::attach(
        artifacts,
        &inspection,
        key,
        KIND_POLICY_DECISION,
        POLICY_DECISION_PREDICATE,
        predicate,
    )
    .await
    .map_err(|error| failed(error.to_string()))
}

/// The release decision after a run — may this artifact be released at all? Gathers the
/// artifact's evidence, evaluates the `release` decision point and, with a key, signs the
/// decision onto the artifact.
pub async fn decide_release(
    artifacts: &Artifacts,
    reference: &str,
    trust: &slipway_sign::TrustPolicy,
    set: &crate::PolicySet,
    actor: crate::input::Actor,
    time: String,
    key: Option<&slipway_evidence::BuilderKey>,
) -> Result<Decision, PolicyError> {
    let facts = crate::collect_evidence(artifacts, reference, trust).await?;
    let input = facts.into_input(crate::DecisionPoint::Release, time, actor);
    let decision = crate::evaluate(set, crate::DecisionPoint::Release, &input)?;
    if let Some(key) = key {
        attach_decision(artifacts, reference, key, &decision).await?;
    }
    Ok(decision)
}
