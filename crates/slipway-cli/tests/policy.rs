//! `slipway policy eval|test|rules|schema` through the real binary.

mod common;

use common::{slipway, text};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../slipway-policy/policies/tests/{name}.json"))
}

fn write(root: &Path, path: &str, content: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
}

#[test]
fn eval_explains_a_denial_with_rules_fixes_and_digests() {
    let repo = tempfile::tempdir().unwrap();
    let bad = fixture("bad");
    let out = slipway(
        repo.path(),
        &[
            "policy",
            "eval",
            "--input",
            bad.to_str().unwrap(),
            "--repo",
            ".",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("DENY at promote for sha256:aaaa"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("✗ SLW-P006: Dockerfile:1: the base image debian:12 is not pinned by digest"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      fix: Pin the image by digest"),
        "{stdout}"
    );
    assert!(stdout.contains("! SLW-P012: "), "{stdout}");
    assert!(
        stdout.contains("bundle digest: sha256:") && stdout.contains("input digest:  sha256:"),
        "{stdout}"
    );

    // At rollback only the verification rules run; --json gives the decision document.
    let out = slipway(
        repo.path(),
        &[
            "policy",
            "eval",
            "--input",
            bad.to_str().unwrap(),
            "--repo",
            ".",
            "--point",
            "rollback",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision["point"], "rollback");
    assert_eq!(decision["allow"], false);
    let rules: Vec<&str> = decision["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["SLW-P001", "SLW-P001", "SLW-P002"]);

    let good = fixture("good");
    let out = slipway(
        repo.path(),
        &[
            "policy",
            "eval",
            "--input",
            good.to_str().unwrap(),
            "--repo",
            ".",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("ALLOW at promote"));
}

#[test]
fn eval_applies_the_repository_policies_and_overrides() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        ".slipway/policy.yml",
        "rules:\n  tests-passed: off\n",
    );
    write(
        repo.path(),
        ".slipway/policies/freeze.rego",
        "package policies.freeze\nimport rego.v1\nmeta := {\"id\": \"ACME-FREEZE\"}\n\
         deny contains {\"msg\": \"deploys are frozen\", \"remediation\": \"wait for Monday\"} if input.environment.config.frozen\n",
    );
    let mut input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("good")).unwrap()).unwrap();
    input["environment"]["config"]["frozen"] = serde_json::json!(true);
    input["tests"]["failed"] = serde_json::json!(3);
    write(repo.path(), "input.json", &input.to_string());
    let out = slipway(
        repo.path(),
        &[
            "policy",
            "eval",
            "--input",
            "input.json",
            "--repo",
            ".",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision["deny"].as_array().unwrap().len(), 1, "{decision}");
    assert_eq!(decision["deny"][0]["rule"], "ACME-FREEZE");
    assert_eq!(decision["deny"][0]["remediation"], "wait for Monday");
    assert_eq!(
        decision["deny"][0]["source"],
        ".slipway/policies/freeze.rego"
    );
}

#[test]
fn mistakes_are_errors_with_their_place() {
    let repo = tempfile::tempdir().unwrap();
    let good = fixture("good");
    write(
        repo.path(),
        ".slipway/policies/broken.rego",
        "package broken\nimport rego.v1\n\ndeny contains m if {\n  m := nope(1)\n}\n",
    );
    let out = slipway(
        repo.path(),
        &[
            "policy",
            "eval",
            "--input",
            good.to_str().unwrap(),
            "--repo",
            ".",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(".slipway/policies/broken.rego:5:8: could not find function nope"),
        "{stderr}"
    );

    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "input.json",
        "{\n  \"decision\": \"deploy\"\n}\n",
    );
    let out = slipway(
        repo.path(),
        &["policy", "eval", "--input", "input.json", "--repo", "."],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("input.json:2:"), "{stderr}");
    assert!(stderr.contains("unknown variant `deploy`"), "{stderr}");

    let out = slipway(
        repo.path(),
        &["policy", "eval", "--input", "input.json", "--point", "ship"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("release, promote or rollback"));
}

#[test]
fn test_reports_each_test_and_fails_on_a_broken_one() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        ".slipway/policies/owner_test.rego",
        "package policies.owner_test\nimport rego.v1\n\ntest_holds if data.fixtures.env.name == \"prod\"\n\ntest_breaks if data.fixtures.env.name == \"staging\"\n",
    );
    write(
        repo.path(),
        ".slipway/policies/env.json",
        "{\"name\": \"prod\"}",
    );
    let out = slipway(repo.path(), &["policy", "test", "--repo", "."], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "✓ data.policies.owner_test.test_holds (.slipway/policies/owner_test.rego:4,"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "✗ data.policies.owner_test.test_breaks (.slipway/policies/owner_test.rego:6,"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ data.slipway.builtin.pack_test.test_the_good_bundle_passes_every_rule"),
        "{stdout}"
    );
    let out = slipway(
        repo.path(),
        &["policy", "test", "--repo", ".", "--json"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 1);
    assert!(report["passed"].as_u64().unwrap() > 40);

    std::fs::remove_file(repo.path().join(".slipway/policies/owner_test.rego")).unwrap();
    let out = slipway(repo.path(), &["policy", "test", "--repo", "."], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn rules_and_schema_describe_the_set() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        ".slipway/policy.yml",
        "rules:\n  SLW-P006: warn\n",
    );
    let out = slipway(repo.path(), &["policy", "rules", "--repo", "."], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("SLW-P006 base-images-pinned [warn] (release, promote; builtin)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("SLW-P001 signed-by-trusted-builder (release, promote, rollback; builtin)"),
        "{stdout}"
    );
    let out = slipway(repo.path(), &["policy", "schema"], &[]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/policy-input-v1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(schema, published);
}
