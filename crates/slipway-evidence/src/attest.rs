//! Making evidence: each piece is an in-toto Statement v1 about the artifact digest, signed in a
//! DSSE envelope by the builder key and stored under its own digest beside the artifact.

use crate::error::Result;
use crate::keys::BuilderKey;
use serde::Serialize;
use serde_json::{Value, json};
use slipway_artifact::{Artifacts, Inspection, NewEvidence, rfc3339};
use slipway_sign::intoto::{MEDIA_TYPE as IN_TOTO_MEDIA_TYPE, ResourceDescriptor};
use slipway_sign::{Statement, dsse};
use slipway_store::EvidenceRecord;

/// Names Slipway's pipeline format as a SLSA build type. A stable identifier, not a page.
pub const BUILD_TYPE: &str = "https://slipway.invalid/buildtypes/pipeline/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// Slipway's test-summary predicate: counts per report and the digests of the JUnit files.
pub const TEST_RESULTS_PREDICATE: &str = "https://slipway.invalid/attestation/test-results/v1";
/// How a DSSE envelope is stored and pushed.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// Evidence kinds, as `evidence ls` shows them.
pub const KIND_PROVENANCE: &str = "provenance";
pub const KIND_SBOM_CYCLONEDX: &str = "sbom-cyclonedx";
pub const KIND_SBOM_SPDX: &str = "sbom-spdx";
pub const KIND_TEST_RESULTS: &str = "test-results";

/// The SBOMs attached to every artifact: format, evidence kind, predicate type.
pub const SBOM_FORMATS: [(slipway_sbom::Format, &str, &str); 2] = [
    (
        slipway_sbom::Format::CycloneDx,
        KIND_SBOM_CYCLONEDX,
        CYCLONEDX_PREDICATE,
    ),
    (slipway_sbom::Format::Spdx, KIND_SBOM_SPDX, SPDX_PREDICATE),
];

/// What the run knew that the provenance records.
#[derive(Clone, Debug, Serialize)]
pub struct RunFacts {
    pub run_id: String,
    pub run_number: i64,
    pub repository: String,
    pub git_ref: String,
    pub commit: String,
    pub pipeline_path: String,
    pub pipeline_sha256: String,
    pub event: String,
    /// The job that packaged the artifact.
    pub job: String,
    pub runner_version: String,
    pub sandbox: bool,
    pub dirty: bool,
    pub toolchains: Value,
    /// Included templates: where from, and the sha256 of their text.
    pub templates: Vec<TemplateFact>,
    pub started_on_ms: i64,
    pub finished_on_ms: i64,
    /// The run's logs: name and sha256 (hex).
    pub logs: Vec<(String, String)>,
    pub tests: Vec<TestReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TemplateFact {
    pub uri: String,
    pub sha256: String,
    /// The commit a pinned git template resolved to.
    pub git_commit: Option<String>,
}

/// One JUnit report a job left, with its counts.
#[derive(Clone, Debug, Serialize)]
pub struct TestReport {
    pub job: String,
    pub path: String,
    pub sha256: String,
    pub tests: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
}

/// The SLSA Provenance v1 predicate of a run's artifact.
pub fn provenance(facts: &RunFacts, key: &BuilderKey, config_created: &str) -> Value {
    let mut dependencies = vec![json!({
        "uri": format!("git+{}@{}", facts.repository, facts.git_ref),
        "digest": {"gitCommit": facts.commit},
    })];
    for template in &facts.templates {
        let mut digest = json!({"sha256": template.sha256});
        if let Some(commit) = &template.git_commit {
            digest["gitCommit"] = json!(commit);
        }
        dependencies.push(json!({"uri": template.uri, "digest": digest}));
    }
    let byproducts: Vec<Value> = facts
        .logs
        .iter()
        .map(|(name, sha256)| json!({"name": name, "digest": {"sha256": sha256}}))
        .collect();
    json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "repository": facts.repository,
                "ref": facts.git_ref,
                "commit": facts.commit,
                "pipeline": {"path": facts.pipeline_path, "digest": {"sha256": facts.pipeline_sha256}},
                "event": facts.event,
                "job": facts.job,
            },
            "internalParameters": {
                "runnerVersion": facts.runner_version,
                "sandbox": facts.sandbox,
                "dirty": facts.dirty,
                "sourceDateEpoch": config_created,
                "toolchains": facts.toolchains,
                "signingKey": if key.development { "development" } else { "configured" },
            },
            // The image has no base layers: it is the job's files alone.
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {
                "id": key.builder_id,
                "version": {"slipway": facts.runner_version},
            },
            "metadata": {
                "invocationId": facts.run_id,
                "startedOn": rfc3339(facts.started_on_ms / 1000),
                "finishedOn": rfc3339(facts.finished_on_ms / 1000),
            },
            "byproducts": byproducts,
        }
    })
}

/// The in-toto subject naming an artifact by its manifest digest.
pub fn subject(name: &str, digest: &str) -> ResourceDescriptor {
    ResourceDescriptor::sha256(name, digest.strip_prefix("sha256:").unwrap_or(digest))
}

/// The SBOMs of an artifact's contents, one per format: unpacks its layers once (verifying every digest) and
/// inventories the files, packages and embedded dependency data. Deterministic: the same bytes
/// give the same document, dated by the image's creation time (the commit time).
pub async fn artifact_sbom(
    artifacts: &Artifacts,
    inspection: &Inspection,
    formats: &[slipway_sbom::Format],
) -> Result<Vec<Vec<u8>>> {
    let scratch = artifacts
        .unpack_to_scratch(&inspection.manifest, &inspection.config, "slipway-sbom-")
        .await?;
    let root = scratch.path().to_owned();
    let info = slipway_sbom::DocumentInfo {
        subject_name: inspection.record.name.clone(),
        subject_version: None,
        subject_sha256: Some(slipway_sbom::Sha256Digest::parse(
            inspection
                .record
                .digest
                .strip_prefix("sha256:")
                .unwrap_or(&inspection.record.digest),
        )?),
        timestamp: slipway_sbom::Timestamp::parse_rfc3339(&inspection.config.created)?,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let formats = formats.to_vec();
    let rendered = tokio::task::spawn_blocking(move || {
        let inventory = slipway_sbom::scan_filesystem(&root)?;
        Ok::<_, slipway_sbom::Error>(
            formats
                .iter()
                .map(|format| slipway_sbom::render(&inventory, &info, *format))
                .collect(),
        )
    })
    .await
    .map_err(|e| crate::error::Error::Io {
        action: "scan",
        path: scratch.path().to_owned(),
        source: std::io::Error::other(e),
    })??;
    Ok(rendered)
}

/// Signs a statement about the artifact and attaches it. Later stages (the security gates,
/// policy decisions) attach their own statements through this.
pub async fn attach(
    artifacts: &Artifacts,
    inspection: &Inspection,
    key: &BuilderKey,
    kind: &str,
    predicate_type: &str,
    predicate: Value,
) -> Result<EvidenceRecord> {
    let statement = Statement::new(
        vec![subject(&inspection.record.name, &inspection.record.digest)],
        predicate_type,
        predicate,
    );
    let envelope = dsse::sign(IN_TOTO_MEDIA_TYPE, &statement.to_json(), &key.key);
    Ok(artifacts
        .attach_evidence(
            &inspection.record.digest,
            NewEvidence {
                kind: kind.to_owned(),
                predicate_type: predicate_type.to_owned(),
                media_type: DSSE_MEDIA_TYPE.to_owned(),
                bytes: envelope.to_json().into_bytes(),
            },
        )
        .await?)
}

/// Makes, signs and attaches the evidence of a run's artifact: SBOMs (CycloneDX and SPDX) of
/// its contents, test results when the run left JUnit reports, and the SLSA provenance.
pub async fn attest(
    artifacts: &Artifacts,
    digest: &str,
    facts: &RunFacts,
    key: &BuilderKey,
) -> Result<Vec<EvidenceRecord>> {
    let inspection = artifacts.inspect(digest).await?;
    let mut attached = Vec::new();
    let formats = SBOM_FORMATS.map(|(format, _, _)| format);
    let documents = artifact_sbom(artifacts, &inspection, &formats).await?;
    for ((_, kind, predicate_type), document) in SBOM_FORMATS.into_iter().zip(documents) {
        let predicate: Value = serde_json::from_slice(&document).unwrap_or(Value::Null);
        attached.push(attach(artifacts, &inspection, key, kind, predicate_type, predicate).await?);
    }
    if !facts.tests.is_empty() {
        let total = |field: fn(&TestReport) -> u64| facts.tests.iter().map(field).sum::<u64>();
        let predicate = json!({
            "tests": total(|r| r.tests),
            "failures": total(|r| r.failures),
            "errors": total(|r| r.errors),
            "skipped": total(|r| r.skipped),
            "passed": total(|r| r.failures) + total(|r| r.errors) == 0,
            "reports": facts.tests.iter().map(|r| json!({
                "job": r.job,
                "name": r.path,
                "digest": {"sha256": r.sha256},
                "tests": r.tests,
                "failures": r.failures,
                "errors": r.errors,
                "skipped": r.skipped,
            })).collect::<Vec<_>>(),
            "invocationId": facts.run_id,
        });
        attached.push(
            attach(
                artifacts,
                &inspection,
                key,
                KIND_TEST_RESULTS,
                TEST_RESULTS_PREDICATE,
                predicate,
            )
            .await?,
        );
    }
    let predicate = provenance(facts, key, &inspection.config.created);
    attached.push(
        attach(
            artifacts,
            &inspection,
            key,
            KIND_PROVENANCE,
            SLSA_PROVENANCE_V1,
            predicate,
        )
        .await?,
    );
    Ok(attached)
}
