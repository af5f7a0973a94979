//! Assembling the evidence part of an input from the artifact store: `verify`'s checks, every
//! attached envelope and who signed it, and the facts of the statements that verified
//! (provenance, SBOMs, security-gate reports, test results).
//!
//! A statement is read only after its envelope verified against the trust policy; an
//! envelope no trusted key signed contributes a signature entry (untrusted, subject unknown)
//! and nothing else.

use crate::PolicyError;
use crate::decision::DecisionPoint;
use crate::input::{
    Actor, ArtifactFacts, BaseImage, GateStatus, History, Input, Provenance, Sbom, Scan,
    ScanCounts, Signature, Tests, Verdict, Verification, VerificationCheck,
};
use serde_json::Value;
use slipway_artifact::Artifacts;
use slipway_evidence::attest::{KIND_PROVENANCE, KIND_TEST_RESULTS, SLSA_PROVENANCE_V1};
use slipway_evidence::keys::DEVELOPMENT_BUILDER_ID;
use slipway_scan::pins::UNPINNED_BASE_IMAGE;
use slipway_scan::scans::KIND_SECURITY_GATES;
use slipway_sign::{Envelope, TrustPolicy, intoto};
use std::collections::BTreeMap;

/// The evidence part of an [`Input`]: everything the artifact store knows about a digest.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceFacts {
    /// The artifact.
    pub artifact: ArtifactFacts,
    /// `verify`'s outcome.
    pub verification: Verification,
    /// Every attached envelope and who signed it.
    pub signatures: Vec<Signature>,
    /// The provenance.
    pub provenance: Provenance,
    /// The SBOM.
    pub sbom: Sbom,
    /// The security-gate reports.
    pub scans: Vec<Scan>,
    /// The base images the reports' `pins` gate found unpinned (a gate report records
    /// findings only, so pinned images do not appear).
    pub base_images: Vec<BaseImage>,
    /// The test results.
    pub tests: Tests,
}

impl EvidenceFacts {
    /// An input for `point` with these facts and no delivery state: no environment, release,
    /// approvals or history. The delivery controller fills those for `promote` and `rollback`.
    pub fn into_input(self, point: DecisionPoint, time: String, actor: Actor) -> Input {
        Input {
            decision: point,
            time,
            actor,
            artifact: self.artifact,
            verification: self.verification,
            signatures: self.signatures,
            provenance: self.provenance,
            sbom: self.sbom,
            scans: self.scans,
            base_images: self.base_images,
            tests: self.tests,
            environment: None,
            release: None,
            approvals: Vec::new(),
            history: History {
                known_bad: false,
                previous_environment: None,
            },
        }
    }
}

/// The evidence kinds whose statements are SBOMs.
const SBOM_KINDS: [&str; 2] = ["sbom-cyclonedx", "sbom-spdx"];

/// Reads the evidence of the artifact `reference` (a digest, unique digest prefix or tag) and
/// verifies it against `trust` with `slipway_evidence::verify`.
pub async fn collect_evidence(
    artifacts: &Artifacts,
    reference: &str,
    trust: &TrustPolicy,
) -> Result<EvidenceFacts, PolicyError> {
    let failed = |message: String| PolicyError::Evidence {
        reference: reference.to_owned(),
        message,
    };
    let record = artifacts
        .resolve(reference)
        .await
        .map_err(|error| failed(error.to_string()))?;
    let report = slipway_evidence::verify(artifacts, &record.digest, trust)
        .await
        .map_err(|error| failed(error.to_string()))?;
    let mut facts = EvidenceFacts {
        artifact: ArtifactFacts {
            digest: record.digest.clone(),
            name: record.name.clone(),
            tags: record.tags.clone(),
            repository: record.repository.clone(),
            commit: record.commit_sha.clone(),
            git_ref: record.git_ref.clone(),
        },
        verification: Verification {
            ok: report.ok,
            checks: report
                .checks
                .into_iter()
                .map(|check| VerificationCheck {
                    reason: (!check.ok).then_some(check.detail),
                    name: check.name,
                    ok: check.ok,
                })
                .collect(),
        },
        signatures: Vec::new(),
        provenance: Provenance {
            present: false,
            subjects: Vec::new(),
            builder_id: None,
            build_type: None,
            development_key: false,
        },
        sbom: Sbom {
            present: false,
            subjects: Vec::new(),
            components: 0,
        },
        scans: Vec::new(),
        base_images: Vec::new(),
        tests: Tests {
            present: false,
            total: 0,
            failed: 0,
        },
    };
    let evidence = artifacts
        .evidence(&record.digest)
        .await
        .map_err(|error| failed(error.to_string()))?;
    for item in evidence {
        let bytes = artifacts
            .evidence_bytes(&item.digest)
            .await
            .map_err(|error| failed(error.to_string()))?;
        match verified_statement(&bytes, trust) {
            Verified::Trusted { builder, statement } => {
                let subjects = subjects(&statement);
                let subject = subjects
                    .iter()
                    .find(|s| **s == record.digest)
                    .or(subjects.first())
                    .cloned()
                    .unwrap_or_default();
                facts.signatures.push(Signature {
                    kind: item.kind.clone(),
                    key_id: builder,
                    trusted: true,
                    subject: subject.clone(),
                });
                add_statement(&mut facts, &item.kind, &statement, subjects, subject);
            }
            Verified::Untrusted { key_id } => facts.signatures.push(Signature {
                kind: item.kind.clone(),
                key_id,
                trusted: false,
                subject: String::new(),
            }),
        }
    }
    Ok(facts)
}

enum Verified {
    Trusted {
        builder: String,
        statement: intoto::Statement,
    },
    Untrusted {
        key_id: String,
    },
}

/// The statement of an envelope a trusted builder's key signed, parsed from the verified
/// payload bytes.
fn verified_statement(bytes: &[u8], trust: &TrustPolicy) -> Verified {
    let Ok(envelope) = Envelope::from_json(bytes) else {
        return Verified::Untrusted {
            key_id: "(not a DSSE envelope)".into(),
        };
    };
    for builder in trust.builders() {
        let Ok(verified) = envelope.verify(&builder.keys, 1) else {
            continue;
        };
        if verified.payload_type != intoto::MEDIA_TYPE {
            continue;
        }
        if let Ok(statement) = intoto::parse_statement(&verified.payload) {
            return Verified::Trusted {
                builder: builder.id.clone(),
                statement,
            };
        }
    }
    Verified::Untrusted {
        key_id: envelope
            .signatures
            .iter()
            .find_map(|signature| signature.keyid.clone().filter(|id| !id.is_empty()))
            .unwrap_or_else(|| "(no key id)".into()),
    }
}

/// The statement's sha256 subjects, as `sha256:<hex>`.
fn subjects(statement: &intoto::Statement) -> Vec<String> {
    statement
        .subject
        .iter()
        .filter_map(|subject| subject.digest.get("sha256"))
        .map(|hex| format!("sha256:{hex}"))
        .collect()
}

fn add_statement(
    facts: &mut EvidenceFacts,
    kind: &str,
    statement: &intoto::Statement,
    subjects: Vec<String>,
    subject: String,
) {
    let predicate = &statement.predicate;
    let text = |pointer: &str| predicate.pointer(pointer).and_then(Value::as_str);
    if kind == KIND_PROVENANCE && statement.predicate_type == SLSA_PROVENANCE_V1 {
        let builder_id = text("/runDetails/builder/id").map(str::to_owned);
        facts.provenance = Provenance {
            present: true,
            subjects,
            development_key: builder_id.as_deref() == Some(DEVELOPMENT_BUILDER_ID),
            builder_id,
            build_type: text("/buildDefinition/buildType").map(str::to_owned),
        };
    } else if SBOM_KINDS.contains(&kind) {
        // CycloneDX lists `components`, SPDX `packages`; the larger count is reported.
        let components = ["/components", "/packages"]
            .iter()
            .filter_map(|p| predicate.pointer(p).and_then(Value::as_array))
            .map(|list| list.len() as u64)
            .max()
            .unwrap_or(0);
        facts.sbom.present = true;
        facts.sbom.components = facts.sbom.components.max(components);
        for subject in subjects {
            if !facts.sbom.subjects.contains(&subject) {
                facts.sbom.subjects.push(subject);
            }
        }
    } else if kind == KIND_SECURITY_GATES {
        facts.scans.push(scan(predicate, subject));
        for image in unpinned_base_images(predicate) {
            if !facts.base_images.contains(&image) {
                facts.base_images.push(image);
            }
        }
    } else if kind == KIND_TEST_RESULTS {
        let count = |key: &str| predicate.get(key).and_then(Value::as_u64).unwrap_or(0);
        facts.tests = Tests {
            present: true,
            total: count("tests"),
            failed: count("failures") + count("errors"),
        };
    }
}

/// A security-gates report (`slipway_scan::GateReport` as signed) as the input describes it.
fn scan(predicate: &Value, subject: String) -> Scan {
    let verdict = match predicate.get("verdict").and_then(Value::as_str) {
        Some("pass") => Verdict::Pass,
        Some("warn") => Verdict::Warn,
        _ => Verdict::Fail,
    };
    let mut gates = BTreeMap::new();
    let mut counts = ScanCounts {
        block: 0,
        warn: 0,
        waived: 0,
    };
    for outcome in predicate
        .get("gates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = outcome.get("gate").and_then(Value::as_str) else {
            continue;
        };
        let status = if outcome.get("mode").and_then(Value::as_str) == Some("off") {
            GateStatus::Off
        } else {
            match outcome.get("verdict").and_then(Value::as_str) {
                Some("pass") => GateStatus::Pass,
                Some("warn") => GateStatus::Warn,
                _ => GateStatus::Fail,
            }
        };
        gates.insert(name.to_owned(), status);
        for finding in outcome
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match finding.get("disposition").and_then(Value::as_str) {
                Some("block") => counts.block += 1,
                Some("warn") => counts.warn += 1,
                Some("waived") => counts.waived += 1,
                _ => {}
            }
        }
    }
    // A gate turned off in `gates:` runs no scan and leaves no outcome; the policy records it.
    if let Some(policy) = predicate.get("policy").and_then(Value::as_object) {
        for (name, mode) in policy {
            if mode.as_str() == Some("off") {
                gates.entry(name.clone()).or_insert(GateStatus::Off);
            }
        }
    }
    Scan {
        kind: KIND_SECURITY_GATES.to_owned(),
        subject,
        verdict,
        gates,
        counts,
    }
}

/// The `unpinned-base-image` findings of a report's `pins` gate. The image is the first
/// back-quoted name of the finding's title (`base image `debian:12` is not pinned ...`).
fn unpinned_base_images(predicate: &Value) -> Vec<BaseImage> {
    predicate
        .get("gates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|outcome| outcome.get("gate").and_then(Value::as_str) == Some("pins"))
        .flat_map(|outcome| {
            outcome
                .get("findings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|finding| finding.get("rule").and_then(Value::as_str) == Some(UNPINNED_BASE_IMAGE))
        .map(|finding| {
            let title = finding
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let reference = title.split('`').nth(1).unwrap_or(title).to_owned();
            let location = finding.get("location");
            BaseImage {
                reference,
                pinned: false,
                file: location
                    .and_then(|l| l.get("file"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                line: location
                    .and_then(|l| l.get("line"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            }
        })
        .collect()
}
