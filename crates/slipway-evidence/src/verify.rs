//! `verify`: every check an artifact and its evidence must pass before anything deploys it,
//! each reported with a reason. The digest is recomputed from the stored bytes; every
//! envelope's signature is checked against the trust policy over the bytes received; the
//! provenance must name the artifact and a trusted builder whose key signed it; the SBOMs are
//! made again from the artifact's contents and must equal the attached ones.

use crate::attest::{self, KIND_PROVENANCE, SBOM_FORMATS, SLSA_PROVENANCE_V1};
use crate::error::Result;
use serde::Serialize;
use serde_json::Value;
use slipway_artifact::{Artifacts, Inspection, parse_digest};
use slipway_sign::{Envelope, TrustPolicy, intoto};
use slipway_store::{ArtifactRecord, EvidenceRecord};

/// One check's result.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What `verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub digest: String,
    pub checks: Vec<Check>,
}

struct Checks(Vec<Check>);

impl Checks {
    fn pass(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
        });
    }

    fn fail(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
        });
    }
}

/// A signed statement that verified, with the builders whose keys signed it.
struct Verified {
    record: EvidenceRecord,
    statement: intoto::Statement,
    signers: Vec<String>,
}

/// Verifies the artifact `reference` against `policy`.
pub async fn verify(
    artifacts: &Artifacts,
    reference: &str,
    policy: &TrustPolicy,
) -> Result<Report> {
    let record = artifacts.resolve(reference).await?;
    let mut checks = Checks(Vec::new());
    let inspection = check_image(artifacts, &record, &mut checks).await;
    let evidence = artifacts.evidence(&record.digest).await?;
    let mut verified = Vec::new();
    for item in &evidence {
        if let Some(ok) = check_envelope(artifacts, &record, item, policy, &mut checks).await {
            verified.push(ok);
        }
    }
    check_provenance(&verified, policy, &mut checks);
    if let Some(inspection) = &inspection {
        // One unpack and scan of the layers serves every format.
        let formats = SBOM_FORMATS.map(|(format, _, _)| format);
        let regenerated = attest::artifact_sbom(artifacts, inspection, &formats)
            .await
            .map_err(|error| error.to_string());
        for (index, (_, kind, predicate_type)) in SBOM_FORMATS.into_iter().enumerate() {
            let document = regenerated
                .as_ref()
                .map(|documents| documents[index].as_slice())
                .map_err(String::as_str);
            check_sbom(&verified, kind, predicate_type, document, &mut checks);
        }
    }
    let ok = checks.0.iter().all(|c| c.ok);
    Ok(Report {
        ok,
        digest: record.digest,
        checks: checks.0,
    })
}

/// The manifest, config and layers: present, and hashing to the digests that name them.
async fn check_image(
    artifacts: &Artifacts,
    record: &ArtifactRecord,
    checks: &mut Checks,
) -> Option<Inspection> {
    let (manifest, bytes) = match artifacts.manifest(&record.digest).await {
        Ok(found) => found,
        Err(error) => {
            checks.fail("manifest digest", error.to_string());
            return None;
        }
    };
    checks.pass(
        "manifest digest",
        format!(
            "the manifest's {} bytes hash to {}",
            bytes.len(),
            record.digest
        ),
    );
    let config = match artifacts.config(&manifest).await {
        Ok(config) => {
            checks.pass(
                "config digest",
                format!("{} verified", manifest.config.digest),
            );
            config
        }
        Err(error) => {
            checks.fail("config digest", error.to_string());
            return None;
        }
    };
    let mut layers_ok = true;
    for (index, layer) in manifest.layers.iter().enumerate() {
        let name = format!("layer {} digest", index + 1);
        match layer_check(artifacts, &layer.digest, layer.size).await {
            Ok(()) => checks.pass(
                name,
                format!("{} ({} bytes) verified", layer.digest, layer.size),
            ),
            Err(reason) => {
                layers_ok = false;
                checks.fail(name, reason);
            }
        }
    }
    let evidence = artifacts.evidence(&record.digest).await.unwrap_or_default();
    layers_ok.then(|| Inspection {
        record: record.clone(),
        manifest,
        config,
        evidence,
    })
}

async fn layer_check(artifacts: &Artifacts, digest: &str, size: u64) -> Result<(), String> {
    let parsed = parse_digest(digest).map_err(|e| e.to_string())?;
    let scratch = tempfile::NamedTempFile::new_in(artifacts.blobs().staging_dir())
        .map_err(|e| e.to_string())?;
    let actual = artifacts
        .blobs()
        .get_to_file(&parsed, scratch.path())
        .await
        .map_err(|e| e.to_string())?;
    if actual != size {
        return Err(format!(
            "{digest} is {actual} bytes, but the manifest says {size}"
        ));
    }
    Ok(())
}

/// One piece of evidence: stored intact, signed by a trusted key over the received payload,
/// an in-toto statement about this artifact.
async fn check_envelope(
    artifacts: &Artifacts,
    record: &ArtifactRecord,
    item: &EvidenceRecord,
    policy: &TrustPolicy,
    checks: &mut Checks,
) -> Option<Verified> {
    let name = format!("{} signature", item.kind);
    let bytes = match artifacts.evidence_bytes(&item.digest).await {
        Ok(bytes) => bytes,
        Err(error) => {
            checks.fail(name, error.to_string());
            return None;
        }
    };
    let envelope = match Envelope::from_json(&bytes) {
        Ok(envelope) => envelope,
        Err(error) => {
            checks.fail(
                name,
                format!("{} is not a DSSE envelope: {error}", item.digest),
            );
            return None;
        }
    };
    let mut signers = Vec::new();
    let mut verified_payload = None;
    let mut last_error = None;
    for builder in policy.builders() {
        match envelope.verify(&builder.keys, 1) {
            Ok(verified) => {
                signers.push(builder.id.clone());
                // Every verification is over the same received bytes: keep the first.
                verified_payload.get_or_insert(verified);
            }
            Err(error) => last_error = Some(error.to_string()),
        }
    }
    let Some(verified_payload) = verified_payload else {
        let reason = if policy.builders().is_empty() {
            "the trust policy names no builder keys".to_owned()
        } else {
            last_error.unwrap_or_default()
        };
        checks.fail(
            name,
            format!("no trusted key signed {}: {reason}", item.digest),
        );
        return None;
    };
    if verified_payload.payload_type != intoto::MEDIA_TYPE {
        checks.fail(
            name,
            format!(
                "the payload type is {}, not {}",
                verified_payload.payload_type,
                intoto::MEDIA_TYPE
            ),
        );
        return None;
    }
    checks.pass(name, format!("signed by a key of {}", signers.join(", ")));
    let statement = match intoto::parse_statement(&verified_payload.payload) {
        Ok(statement) => statement,
        Err(error) => {
            checks.fail(format!("{} statement", item.kind), error.to_string());
            return None;
        }
    };
    let subject_name = format!("{} subject", item.kind);
    let hex = record
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&record.digest);
    if !statement.has_sha256_subject(hex) {
        let named: Vec<String> = statement
            .subject
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|d| format!("sha256:{d}")))
            .collect();
        checks.fail(
            subject_name,
            format!(
                "the statement is about {}, not {}",
                named.join(", "),
                record.digest
            ),
        );
        return None;
    }
    if statement.predicate_type != item.predicate_type {
        checks.fail(
            subject_name,
            format!(
                "the statement's predicate type is {}, but it was attached as {}",
                statement.predicate_type, item.predicate_type
            ),
        );
        return None;
    }
    checks.pass(subject_name, format!("names {}", record.digest));
    Some(Verified {
        record: item.clone(),
        statement,
        signers,
    })
}

fn check_provenance(verified: &[Verified], policy: &TrustPolicy, checks: &mut Checks) {
    let Some(provenance) = verified.iter().find(|v| {
        v.record.kind == KIND_PROVENANCE && v.statement.predicate_type == SLSA_PROVENANCE_V1
    }) else {
        checks.fail(
            "provenance",
            "no verified SLSA provenance is attached to this artifact",
        );
        return;
    };
    let predicate = &provenance.statement.predicate;
    let builder = predicate
        .pointer("/runDetails/builder/id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !policy.is_trusted(builder) {
        checks.fail(
            "trusted builder",
            format!(
                "the provenance names the builder {builder:?}, which the trust policy does not list"
            ),
        );
    } else if !provenance.signers.iter().any(|s| s == builder) {
        checks.fail(
            "trusted builder",
            format!(
                "the provenance claims the builder {builder}, but it was signed by a key of {}",
                provenance.signers.join(", ")
            ),
        );
    } else {
        checks.pass("trusted builder", format!("{builder}, signed with its key"));
    }
    let build_type = predicate
        .pointer("/buildDefinition/buildType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if build_type == attest::BUILD_TYPE {
        checks.pass("build type", build_type);
    } else {
        checks.fail(
            "build type",
            format!(
                "{build_type:?} is not Slipway's pipeline build type {}",
                attest::BUILD_TYPE
            ),
        );
    }
}

fn check_sbom(
    verified: &[Verified],
    kind: &str,
    predicate_type: &str,
    regenerated: Result<&[u8], &str>,
    checks: &mut Checks,
) {
    let name = format!("{kind} matches contents");
    let Some(attached) = verified
        .iter()
        .find(|v| v.record.kind == kind && v.statement.predicate_type == predicate_type)
    else {
        checks.fail(name, format!("no verified {kind} is attached"));
        return;
    };
    let regenerated = match regenerated {
        Ok(bytes) => bytes,
        Err(error) => {
            checks.fail(name, format!("cannot regenerate it: {error}"));
            return;
        }
    };
    let regenerated: Value = serde_json::from_slice(regenerated).unwrap_or(Value::Null);
    match first_difference(&attached.statement.predicate, &regenerated, String::new()) {
        None => checks.pass(name, "regenerated from the artifact's layers: identical"),
        Some((path, attached_value, regenerated_value)) => checks.fail(
            name,
            format!(
                "the attached SBOM differs from the one made from the artifact at {path}: attached {attached_value}, contents give {regenerated_value}"
            ),
        ),
    }
}

/// The JSON pointer of the first place two documents differ, with both values there.
fn first_difference(left: &Value, right: &Value, path: String) -> Option<(String, String, String)> {
    let show = |v: Option<&Value>| {
        v.map_or_else(
            || "nothing".to_owned(),
            |v| {
                let text = v.to_string();
                if text.len() > 120 {
                    format!(
                        "{}…",
                        &text[..text.char_indices().nth(117).map_or(text.len(), |(i, _)| i)]
                    )
                } else {
                    text
                }
            },
        )
    };
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let child = format!("{path}/{key}");
                match b.get(key) {
                    Some(other) => {
                        if let Some(found) = first_difference(value, other, child) {
                            return Some(found);
                        }
                    }
                    None => return Some((child, show(Some(value)), show(None))),
                }
            }
            b.iter()
                .find(|(key, _)| !a.contains_key(*key))
                .map(|(key, value)| (format!("{path}/{key}"), show(None), show(Some(value))))
        }
        (Value::Array(a), Value::Array(b)) => {
            for index in 0..a.len().max(b.len()) {
                let child = format!("{path}/{index}");
                match (a.get(index), b.get(index)) {
                    (Some(x), Some(y)) => {
                        if let Some(found) = first_difference(x, y, child) {
                            return Some(found);
                        }
                    }
                    (x, y) => return Some((child, show(x), show(y))),
                }
            }
            None
        }
        (a, b) if a == b => None,
        (a, b) => Some((
            if path.is_empty() { "/".into() } else { path },
            show(Some(a)),
            show(Some(b)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_json_pointer() {
        let a = json!({"components": [{"name": "x", "hashes": [{"content": "aa"}]}]});
        let b = json!({"components": [{"name": "x", "hashes": [{"content": "ab"}]}]});
        let (path, left, right) = first_difference(&a, &b, String::new()).unwrap();
        assert_eq!(path, "/components/0/hashes/0/content");
        assert_eq!((left.as_str(), right.as_str()), ("\"aa\"", "\"ab\""));
        assert!(first_difference(&a, &a, String::new()).is_none());
        let (path, _, right) =
            first_difference(&json!([1]), &json!([1, 2]), String::new()).unwrap();
        assert_eq!((path.as_str(), right.as_str()), ("/1", "2"));
    }
}
