//! `verify` against tampering: a changed layer, manifest, provenance payload, signature or
//! SBOM is each caught, with a message that says what and where.

use slipway_artifact::{ArtifactSpec, Artifacts, Compression, NewEvidence, Origin};
use slipway_cas::BlobStore;
use slipway_evidence::attest::{self, DSSE_MEDIA_TYPE, KIND_PROVENANCE, KIND_SBOM_CYCLONEDX};
use slipway_evidence::keys::BuilderKey;
use slipway_evidence::{Report, RunFacts, verify};
use slipway_sign::{Algorithm, Envelope, SigningKey, TrustPolicy};
use slipway_store::Store;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const BUILDER: &str = "https://builders.example.org/ci/v1";

struct Fixture {
    _temp: tempfile::TempDir,
    store_dir: PathBuf,
    artifacts: Artifacts,
    digest: String,
    key: BuilderKey,
    policy: TrustPolicy,
}

fn facts() -> RunFacts {
    RunFacts {
        run_id: "abc-1".into(),
        run_number: 1,
        repository: "https://git.example.org/acme/hello".into(),
        git_ref: "refs/heads/main".into(),
        commit: "a".repeat(40),
        pipeline_path: "slipway.yml".into(),
        pipeline_sha256: "b".repeat(64),
        event: "push".into(),
        job: "build".into(),
        runner_version: "0.1.0".into(),
        sandbox: true,
        dirty: false,
        toolchains: serde_json::json!({}),
        templates: Vec::new(),
        started_on_ms: 1_700_000_000_000,
        finished_on_ms: 1_700_000_060_000,
        logs: vec![("events.jsonl".into(), "c".repeat(64))],
        tests: vec![slipway_evidence::TestReport {
            job: "test".into(),
            path: "junit.xml".into(),
            sha256: "d".repeat(64),
            tests: 10,
            failures: 0,
            errors: 0,
            skipped: 1,
        }],
    }
}

async fn fixture() -> Fixture {
    let temp = tempfile::tempdir().unwrap();
    let source = temp.path().join("dist");
    std::fs::create_dir_all(source.join("static")).unwrap();
    std::fs::write(source.join("server"), b"#!/bin/sh\nexec echo hello\n").unwrap();
    std::fs::set_permissions(
        source.join("server"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(source.join("static/index.html"), b"<h1>hello</h1>\n").unwrap();
    std::fs::write(
        source.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b\"\n",
    )
    .unwrap();
    let store_dir = temp.path().join("objects");
    let artifacts = Artifacts::new(
        BlobStore::local(&store_dir).unwrap(),
        Arc::new(Store::open_in(&temp.path().join("state")).await.unwrap()),
    );
    let spec = ArtifactSpec {
        name: "hello".into(),
        source,
        entrypoint: vec!["server".into()],
        env: Vec::new(),
        ports: vec![8080],
        source_date_epoch: 1_700_000_000,
        revision: "a".repeat(40),
        repository: "https://git.example.org/acme/hello".into(),
        compression: Compression::Gzip,
    };
    let origin = Origin {
        run_id: Some("abc-1".into()),
        repository: spec.repository.clone(),
        commit_sha: spec.revision.clone(),
        git_ref: "refs/heads/main".into(),
        event: "push".into(),
    };
    let (packaged, _) = artifacts.create(&spec, &origin, "t-1").await.unwrap();
    let key = BuilderKey {
        key: SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
        builder_id: BUILDER.into(),
        development: false,
        path: temp.path().join("unused.key"),
    };
    let digest = packaged.digest.to_string();
    let attached = attest::attest(&artifacts, &digest, &facts(), &key)
        .await
        .unwrap();
    let kinds: Vec<&str> = attached.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["sbom-cyclonedx", "sbom-spdx", "test-results", "provenance"]
    );
    let policy = TrustPolicy::from_keys(BUILDER, vec![key.public_key()]);
    Fixture {
        _temp: temp,
        store_dir,
        artifacts,
        digest,
        key,
        policy,
    }
}

fn blob_path(store: &Path, digest: &str) -> PathBuf {
    store
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

/// Overwrites a stored blob in place, as an attacker with write access to the store would.
fn overwrite(store: &Path, digest: &str, change: impl FnOnce(&mut Vec<u8>)) {
    let path = blob_path(store, digest);
    let mut bytes = std::fs::read(&path).unwrap();
    change(&mut bytes);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

fn failed(report: &Report) -> Vec<(String, String)> {
    report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| (c.name.clone(), c.detail.clone()))
        .collect()
}

async fn envelope_of(fixture: &Fixture, kind: &str) -> (String, Envelope) {
    let record = fixture
        .artifacts
        .evidence(&fixture.digest)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == kind)
        .unwrap();
    let bytes = fixture
        .artifacts
        .evidence_bytes(&record.digest)
        .await
        .unwrap();
    (record.digest, Envelope::from_json(&bytes).unwrap())
}

async fn attach(fixture: &Fixture, kind: &str, predicate_type: &str, envelope: &Envelope) {
    fixture
        .artifacts
        .attach_evidence(
            &fixture.digest,
            NewEvidence {
                kind: kind.into(),
                predicate_type: predicate_type.into(),
                media_type: DSSE_MEDIA_TYPE.into(),
                bytes: envelope.to_json().into_bytes(),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_untouched_artifact_verifies() {
    let fixture = fixture().await;
    let report = verify(&fixture.artifacts, "t-1", &fixture.policy)
        .await
        .unwrap();
    assert!(report.ok, "{:#?}", failed(&report));
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "manifest digest",
            "config digest",
            "layer 1 digest",
            "sbom-cyclonedx signature",
            "sbom-cyclonedx subject",
            "sbom-spdx signature",
            "sbom-spdx subject",
            "test-results signature",
            "test-results subject",
            "provenance signature",
            "provenance subject",
            "trusted builder",
            "build type",
            "sbom-cyclonedx matches contents",
            "sbom-spdx matches contents",
        ]
    );
    // The provenance carries what the issue of the artifact needs to be judged.
    let (_, envelope) = envelope_of(&fixture, KIND_PROVENANCE).await;
    let statement = slipway_sign::intoto::parse_statement(&envelope.payload).unwrap();
    let predicate = statement.predicate;
    assert_eq!(
        predicate["buildDefinition"]["buildType"],
        attest::BUILD_TYPE
    );
    assert_eq!(
        predicate["buildDefinition"]["externalParameters"]["commit"],
        "a".repeat(40)
    );
    assert_eq!(
        predicate["buildDefinition"]["internalParameters"]["signingKey"],
        "configured"
    );
    assert_eq!(predicate["runDetails"]["builder"]["id"], BUILDER);
    assert_eq!(predicate["runDetails"]["metadata"]["invocationId"], "abc-1");
    assert_eq!(
        predicate["runDetails"]["byproducts"][0]["name"],
        "events.jsonl"
    );
    assert_eq!(
        statement.subject[0].digest["sha256"],
        fixture.digest.strip_prefix("sha256:").unwrap()
    );
}

#[tokio::test]
async fn a_changed_layer_is_caught() {
    let fixture = fixture().await;
    let inspection = fixture.artifacts.inspect(&fixture.digest).await.unwrap();
    let layer = inspection.manifest.layers[0].digest.clone();
    overwrite(&fixture.store_dir, &layer, |bytes| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
    });
    let report = verify(&fixture.artifacts, &fixture.digest, &fixture.policy)
        .await
        .unwrap();
    assert!(!report.ok);
    let failures = failed(&report);
    assert_eq!(failures[0].0, "layer 1 digest", "{failures:#?}");
    assert!(failures[0].1.contains(&layer), "{failures:#?}");
}

#[tokio::test]
async fn a_changed_manifest_is_caught() {
    let fixture = fixture().await;
    overwrite(&fixture.store_dir, &fixture.digest, |bytes| {
        let text = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"hello\"", "\"hellx\"");
        *bytes = text.into_bytes();
    });
    let report = verify(&fixture.artifacts, &fixture.digest, &fixture.policy)
        .await
        .unwrap();
    let failures = failed(&report);
    assert_eq!(failures[0].0, "manifest digest", "{failures:#?}");
    assert!(
        failures[0]
            .1
            .contains(fixture.digest.strip_prefix("sha256:").unwrap()),
        "{failures:#?}"
    );
}

#[tokio::test]
async fn a_changed_provenance_payload_fails_its_signature() {
    let fixture = fixture().await;
    let (_, mut envelope) = envelope_of(&fixture, KIND_PROVENANCE).await;
    let forged = String::from_utf8(envelope.payload.clone())
        .unwrap()
        .replace("refs/heads/main", "refs/heads/evil");
    envelope.payload = forged.into_bytes();
    attach(
        &fixture,
        KIND_PROVENANCE,
        attest::SLSA_PROVENANCE_V1,
        &envelope,
    )
    .await;
    let report = verify(&fixture.artifacts, &fixture.digest, &fixture.policy)
        .await
        .unwrap();
    let failures = failed(&report);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0].0, "provenance signature");
    assert!(
        failures[0].1.starts_with("no trusted key signed sha256:"),
        "{failures:#?}"
    );

    // And the stored envelope itself, changed in place, no longer matches its digest.
    let (digest, _) = envelope_of(&fixture, KIND_PROVENANCE).await;
    overwrite(&fixture.store_dir, &digest, |bytes| bytes.push(b' '));
    let report = verify(&fixture.artifacts, &fixture.digest, &fixture.policy)
        .await
        .unwrap();
    assert!(
        failed(&report)
            .iter()
            .any(|(name, detail)| name == "provenance signature"
                && detail.contains(digest.strip_prefix("sha256:").unwrap()))
    );
}

#[tokio::test]
async fn a_changed_signature_is_caught_and_so_is_an_untrusted_signer() {
    let fixture = fixture().await;
    let (_, mut envelope) = envelope_of(&fixture, KIND_PROVENANCE).await;
    let last = envelope.signatures[0].sig.len() - 1;
    envelope.signatures[0].sig[last] ^= 0x01;
    attach(
        &fixture,
        KIND_PROVENANCE,
        attest::SLSA_PROVENANCE_V1,
        &envelope,
    )
    .await;
    let report = verify(&fixture.artifacts, &fixture.digest, &fixture.policy)
        .await
        .unwrap();
    let failures = failed(&report);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0].0, "provenance signature");

    // A policy that trusts another key for the builder rejects everything.
    let other = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let wrong = TrustPolicy::from_keys(BUILDER, vec![other.public_key()]);
    let report = verify(&fixture.artifacts, &fixture.digest, &wrong)
        .await
        .unwrap();
    assert!(failed(&report).iter().any(
        |(name, detail)| name == "provenance" && detail.contains("no verified SLSA provenance")
    ));
    // A provenance that claims a builder its key does not belong to is refused.
    let impostor = TrustPolicy::from_builders(vec![
        (BUILDER.into(), vec![other.public_key()]),
        (
            "https://builders.example.org/laptop/v1".into(),
            vec![fixture.key.public_key()],
        ),
    ]);
    let report = verify(&fixture.artifacts, &fixture.digest, &impostor)
        .await
        .unwrap();
    let failures = failed(&report);
    assert!(
        failures
            .iter()
            .any(|(name, detail)| name == "trusted builder"
                && detail.contains("signed by a key of https://builders.example.org/laptop/v1")),
        "{failures:#?}"
    );
}

#[tokio::test]
async fn an_sbom_that_does_not_match_the_contents_is_caught_even_when_signed() {
    let fixture = fixture().await;
    let (_, envelope) = envelope_of(&fixture, KIND_SBOM_CYCLONEDX).await;
    let mut statement = slipway_sign::intoto::parse_statement(&envelope.payload).unwrap();
    let components = statement.predicate["components"].as_array_mut().unwrap();
    let file = components
        .iter_mut()
        .find(|c| c["type"] == "file" && c["name"].as_str().unwrap_or("").ends_with("index.html"))
        .expect("the SBOM lists the artifact's files");
    file["hashes"][0]["content"] = serde_json::json!("0".repeat(64));
    // Signed by the trusted key: only the comparison with the contents can catch it.
    let resigned = slipway_sign::dsse::sign(
        slipway_sign::intoto::MEDIA_TYPE,
        &statement.to_json(),
        &fixture.key.key,
    );
    // The original stays attached; replace what `verify` reads by changing the index's choice:
    // a second SBOM of the same kind must agree with the contents as well.
    attach(
        &fixture,
        KIND_SBOM_CYCLONEDX,
        attest::CYCLONEDX_PREDICATE,
        &resigned,
    )
    .await;
    let evidence = fixture.artifacts.evidence(&fixture.digest).await.unwrap();
    let original = evidence
        .iter()
        .find(|e| e.kind == KIND_SBOM_CYCLONEDX)
        .unwrap()
        .digest
        .clone();
    // Corrupt the original so the forged one is the only verifiable SBOM.
    overwrite(&fixture.store_dir, &original, |bytes| bytes.push(b' '));
    let report = verify(&fixture.artifacts, &fixture.digest, &fixture.policy)
        .await
        .unwrap();
    let failures = failed(&report);
    let mismatch = failures
        .iter()
        .find(|(name, _)| name == "sbom-cyclonedx matches contents")
        .unwrap_or_else(|| panic!("{failures:#?}"));
    assert!(mismatch.1.contains("/hashes/0/content"), "{mismatch:?}");
    assert!(mismatch.1.contains(&"0".repeat(64)), "{mismatch:?}");
}
