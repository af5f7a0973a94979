//! `collect_evidence` over a real artifact store: an artifact packaged, attested and scanned
//! the way a run does it, then judged; and a decision signed and attached as evidence.

use slipway_artifact::{ArtifactSpec, Artifacts, Compression, Origin};
use slipway_cas::BlobStore;
use slipway_evidence::keys::BuilderKey;
use slipway_evidence::{RunFacts, attest};
use slipway_policy::input::{Actor, BaseImage, GateStatus};
use slipway_policy::{
    DecisionPoint, KIND_POLICY_DECISION, POLICY_DECISION_PREDICATE, PolicySet, attach_decision,
    collect_evidence, decision_statement, evaluate,
};
use slipway_scan::gate::{GatePolicy, ScanInput, ScanResults};
use slipway_scan::{Gate, Waivers};
use slipway_sign::{Algorithm, SigningKey, TrustPolicy};
use slipway_store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;

const BUILDER: &str = "https://builders.example.org/ci/v1";

struct Fixture {
    _temp: tempfile::TempDir,
    artifacts: Artifacts,
    digest: String,
    key: BuilderKey,
    trust: TrustPolicy,
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
        logs: Vec::new(),
        tests: vec![slipway_evidence::TestReport {
            job: "test".into(),
            path: "junit.xml".into(),
            sha256: "d".repeat(64),
            tests: 10,
            failures: 1,
            errors: 1,
            skipped: 1,
        }],
    }
}

/// An artifact with SBOMs, test results and provenance signed by `BUILDER`, and a gate report
/// from a real pins scan of a tree whose Dockerfile does not pin its base image.
async fn fixture() -> Fixture {
    let temp = tempfile::tempdir().unwrap();
    let source = temp.path().join("dist");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("server"), b"#!/bin/sh\nexec echo hello\n").unwrap();
    std::fs::write(
        source.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b\"\n",
    )
    .unwrap();
    let artifacts = Artifacts::new(
        BlobStore::local(&temp.path().join("objects")).unwrap(),
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
    attest::attest(&artifacts, &digest, &facts(), &key)
        .await
        .unwrap();

    let tree = temp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("Dockerfile"),
        "FROM debian:12\nCOPY server /server\n",
    )
    .unwrap();
    let pins = slipway_scan::pins::check(&tree).unwrap();
    let mut results = ScanResults::default();
    let input = |what: &str| ScanInput {
        scanned: vec![what.to_owned()],
        note: None,
    };
    results.add(Gate::Secrets, input("source"), Vec::new());
    results.add(Gate::Vulnerabilities, input("source"), Vec::new());
    results.add(
        Gate::Pins,
        input("source"),
        slipway_scan::convert::pins(&pins),
    );
    let report = slipway_scan::gate::evaluate(
        &GatePolicy::default(),
        results,
        &Waivers::default(),
        "2026-11-22T08:00:00Z".into(),
    );
    slipway_scan::scans::attach_report(&artifacts, &digest, &key, &report)
        .await
        .unwrap();
    let trust = TrustPolicy::from_keys(BUILDER, vec![key.public_key()]);
    Fixture {
        _temp: temp,
        artifacts,
        digest,
        key,
        trust,
    }
}

fn actor() -> Actor {
    Actor {
        name: "ci".into(),
        source: "controller".into(),
    }
}

#[tokio::test]
async fn the_evidence_of_an_attested_and_scanned_artifact_is_read_and_judged() {
    let fixture = fixture().await;
    let facts = collect_evidence(&fixture.artifacts, &fixture.digest, &fixture.trust)
        .await
        .unwrap();
    assert_eq!(facts.artifact.digest, fixture.digest);
    assert_eq!(facts.artifact.name, "hello");
    assert_eq!(facts.artifact.git_ref, "refs/heads/main");
    assert!(facts.verification.ok, "{:?}", facts.verification);
    assert!(
        facts
            .verification
            .checks
            .iter()
            .all(|c| c.ok && c.reason.is_none())
    );
    let kinds: BTreeSet<&str> = facts.signatures.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "provenance",
            "sbom-cyclonedx",
            "sbom-spdx",
            "security-gates",
            "test-results"
        ])
    );
    for signature in &facts.signatures {
        assert!(signature.trusted, "{signature:?}");
        assert_eq!(signature.key_id, BUILDER);
        assert_eq!(signature.subject, fixture.digest);
    }
    assert!(facts.provenance.present);
    assert_eq!(facts.provenance.subjects, vec![fixture.digest.clone()]);
    assert_eq!(facts.provenance.builder_id.as_deref(), Some(BUILDER));
    assert!(!facts.provenance.development_key);
    assert!(facts.sbom.present);
    assert_eq!(facts.sbom.subjects, vec![fixture.digest.clone()]);
    assert!(facts.sbom.components >= 1, "{:?}", facts.sbom);
    assert_eq!(facts.scans.len(), 1);
    let scan = &facts.scans[0];
    assert_eq!(scan.subject, fixture.digest);
    assert_eq!(scan.gates.get("secrets"), Some(&GateStatus::Pass));
    assert_eq!(scan.gates.get("vulnerabilities"), Some(&GateStatus::Pass));
    assert_eq!(scan.gates.get("pins"), Some(&GateStatus::Warn));
    assert_eq!((scan.counts.block, scan.counts.warn), (0, 1));
    assert_eq!(
        facts.base_images,
        vec![BaseImage {
            reference: "debian:12".into(),
            pinned: false,
            file: "Dockerfile".into(),
            line: 1,
        }]
    );
    assert!(facts.tests.present);
    assert_eq!((facts.tests.total, facts.tests.failed), (10, 2));

    let input = facts.into_input(
        DecisionPoint::Release,
        "2026-11-22T08:00:00Z".into(),
        actor(),
    );
    let decision = evaluate(&PolicySet::builtin(), DecisionPoint::Release, &input).unwrap();
    let denied: BTreeSet<&str> = decision.deny.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        denied,
        BTreeSet::from(["SLW-P006", "SLW-P011"]),
        "{:?}",
        decision.deny
    );
    assert!(
        decision
            .deny
            .iter()
            .any(|r| r.message == "Dockerfile:1: the base image debian:12 is not pinned by digest")
    );
}

#[tokio::test]
async fn evidence_no_trusted_key_signed_is_not_believed() {
    let fixture = fixture().await;
    let stranger = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let trust = TrustPolicy::from_keys(BUILDER, vec![stranger.public_key()]);
    let facts = collect_evidence(&fixture.artifacts, &fixture.digest, &trust)
        .await
        .unwrap();
    assert!(!facts.verification.ok);
    assert!(
        facts
            .signatures
            .iter()
            .all(|s| !s.trusted && s.subject.is_empty())
    );
    assert!(!facts.provenance.present && !facts.sbom.present && !facts.tests.present);
    assert!(facts.scans.is_empty() && facts.base_images.is_empty());
    let input = facts.into_input(
        DecisionPoint::Release,
        "2026-11-22T08:00:00Z".into(),
        actor(),
    );
    let mut rollback = input.clone();
    rollback.environment = serde_json::from_value(serde_json::json!({
        "name": "production", "production": true, "after": [], "config": {},
        "approval": {"required": 0, "exclude_author": false}, "soak": {"required_seconds": 0}
    }))
    .unwrap();
    let decision = evaluate(&PolicySet::builtin(), DecisionPoint::Rollback, &rollback).unwrap();
    let denied: BTreeSet<&str> = decision.deny.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(denied, BTreeSet::from(["SLW-P001", "SLW-P002"]));
}

#[tokio::test]
async fn a_decision_is_signed_and_attached_as_evidence() {
    let fixture = fixture().await;
    let facts = collect_evidence(&fixture.artifacts, &fixture.digest, &fixture.trust)
        .await
        .unwrap();
    let input = facts.into_input(
        DecisionPoint::Release,
        "2026-11-22T08:00:00Z".into(),
        actor(),
    );
    let decision = evaluate(&PolicySet::builtin(), DecisionPoint::Release, &input).unwrap();

    let statement = decision_statement(&decision, "hello", &fixture.digest);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], POLICY_DECISION_PREDICATE);
    assert_eq!(statement["subject"][0]["name"], "hello");
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        fixture.digest.trim_start_matches("sha256:")
    );
    assert_eq!(statement["predicate"]["allow"], false);
    assert_eq!(
        statement["predicate"]["input_digest"],
        decision.input_digest.as_str()
    );
    slipway_sign::intoto::parse_statement(statement.to_string().as_bytes()).unwrap();

    let record = attach_decision(&fixture.artifacts, &fixture.digest, &fixture.key, &decision)
        .await
        .unwrap();
    assert_eq!(record.kind, KIND_POLICY_DECISION);
    assert_eq!(record.predicate_type, POLICY_DECISION_PREDICATE);
    let again = collect_evidence(&fixture.artifacts, &fixture.digest, &fixture.trust)
        .await
        .unwrap();
    let attached = again
        .signatures
        .iter()
        .find(|s| s.kind == KIND_POLICY_DECISION)
        .unwrap();
    assert!(attached.trusted);
    assert_eq!(attached.subject, fixture.digest);
    // The decision's own statement verifies with the builder key like every other one.
    assert!(again.verification.ok, "{:?}", again.verification);
}
