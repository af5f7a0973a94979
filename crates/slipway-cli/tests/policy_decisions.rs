//! The decision points of a run and of a promotion through the real binary: the release
//! decision after each run, `policy eval --artifact --env` explaining a promotion before it
//! is attempted, and configuration changes in the audit log.

mod common;

use common::{git, repo, slipway, text};
use std::path::Path;

const PIPELINE: &str = r#"version: 1
name: decisions
on: { push: { branches: [main] } }
jobs:
  build:
    steps:
      - run: printf '#!/bin/sh\necho hello\n' > app && chmod +x app
    artifact: { name: app, from: app, entrypoint: ["app"] }
environments:
  dev: {}
  production:
    after: [dev]
    production: true
    approval: { required: 1, exclude-author: true }
"#;

/// A repository policy that denies releasing any artifact: the release point applies it.
const DENY_RELEASES: &str = "package acme.release\nimport rego.v1\n\
meta := {\"id\": \"ACME-HOLD\", \"points\": [\"release\"]}\n\
deny contains {\"msg\": \"releases are on hold\", \"remediation\": \"lift the hold\"} if true\n";

fn audit(dir: &Path, action: &str) -> Vec<serde_json::Value> {
    let out = slipway(dir, &["audit", "log", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

fn digest_of_last_artifact(dir: &Path) -> String {
    let listed = slipway(dir, &["artifact", "ls", "--json"], &[]);
    let artifacts: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    artifacts["artifacts"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn each_run_records_a_signed_release_decision() {
    let dir = repo(PIPELINE, &[]);
    let run = slipway(dir.path(), &["run"], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("policy release allow: 0 denied"),
        "{stderr}"
    );
    let digest = digest_of_last_artifact(dir.path());
    let decided = audit(dir.path(), "policy.decided");
    assert_eq!(decided.len(), 1, "{decided:#?}");
    assert_eq!(decided[0]["subject"], digest.as_str());
    assert_eq!(decided[0]["details"]["point"], "release");
    assert_eq!(decided[0]["details"]["allow"], true);

    // The decision is evidence on the artifact, and `verify` checks its signature.
    let shown = slipway(dir.path(), &["artifact", "inspect", &digest, "--json"], &[]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    assert!(shown.contains("\"policy-decision\""), "{shown}");
    let verify = slipway(dir.path(), &["verify", &digest], &[]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    assert!(
        text(&verify.stdout).contains("policy-decision"),
        "{}",
        text(&verify.stdout)
    );
}

#[test]
fn a_denied_release_fails_the_run() {
    let dir = repo(PIPELINE, &[(".slipway/policies/hold.rego", DENY_RELEASES)]);
    let run = slipway(dir.path(), &["run", "--json"], &[]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let decision = text(&run.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["event"] == "release_decision")
        .expect("a release_decision line");
    assert_eq!(decision["allow"], false);
    assert_eq!(decision["deny"][0]["rule"], "ACME-HOLD");
    assert_eq!(decision["deny"][0]["message"], "releases are on hold");
    let decided = audit(dir.path(), "policy.decided");
    assert_eq!(decided[0]["details"]["deny"][0], "ACME-HOLD");
    let finished = audit(dir.path(), "run.finished");
    assert_eq!(
        finished.last().unwrap()["details"]["note"],
        "the release policy denied the artifact"
    );
}

#[test]
fn policy_eval_explains_a_promotion_before_it_is_tried() {
    let dir = repo(PIPELINE, &[]);
    let run = slipway(dir.path(), &["run"], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let digest = digest_of_last_artifact(dir.path());
    let eval = |env: &str| {
        let out = slipway(
            dir.path(),
            &[
                "policy",
                "eval",
                "--artifact",
                &digest,
                "--env",
                env,
                "--json",
                "--show-input",
            ],
            &[("SLIPWAY_ACTOR", "reviewer@example.org")],
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
        (out.status.code(), json)
    };
    let entries_before = audit(dir.path(), "policy.decided").len();

    let (code, dev) = eval("dev");
    assert_eq!(code, Some(0), "{dev:#}");
    assert_eq!(dev["decision"]["allow"], true);
    assert_eq!(dev["input"]["environment"]["name"], "dev");
    assert_eq!(dev["input"]["actor"]["name"], "reviewer@example.org");
    assert_eq!(dev["input"]["artifact"]["digest"], digest.as_str());

    // Production: not yet in dev, no approval, no soak — each with its rule.
    let (code, production) = eval("production");
    assert_eq!(code, Some(1), "{production:#}");
    let denied: Vec<&str> = production["decision"]["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    for rule in ["SLW-P007", "SLW-P009", "SLW-P010"] {
        assert!(denied.contains(&rule), "{rule} in {denied:?}");
    }
    assert_eq!(production["input"]["environment"]["production"], true);
    assert_eq!(
        production["input"]["environment"]["approval"]["required"],
        1
    );

    // The same explanation in words, with the fix of each rule.
    let out = slipway(
        dir.path(),
        &[
            "policy",
            "eval",
            "--artifact",
            &digest,
            "--env",
            "production",
        ],
        &[],
    );
    let words = text(&out.stdout);
    assert!(words.starts_with("DENY at promote for sha256:"), "{words}");
    assert!(words.contains("✗ SLW-P009:"), "{words}");
    assert!(words.contains("      fix: "), "{words}");

    // Explaining records nothing.
    assert_eq!(audit(dir.path(), "policy.decided").len(), entries_before);

    // And the explanation matches what the promotion then decides.
    let promoted = slipway(
        dir.path(),
        &["promote", &digest, "--to", "dev", "--json"],
        &[],
    );
    let outcome: serde_json::Value = serde_json::from_slice(&promoted.stdout).unwrap();
    assert_eq!(outcome["status"], "started", "{outcome:#}");
    assert_eq!(
        outcome["policy"]["bundle_digest"],
        dev["decision"]["bundle_digest"]
    );

    // An unknown environment is an error that lists the known ones.
    let out = slipway(
        dir.path(),
        &["policy", "eval", "--artifact", &digest, "--env", "qa"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("environments are: dev, production"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn configuration_changes_are_recorded_when_they_take_effect() {
    let dir = repo(PIPELINE, &[]);
    for _ in 0..2 {
        let run = slipway(dir.path(), &["run"], &[]);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    let changed = audit(dir.path(), "config.changed");
    let subjects: Vec<&str> = changed
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "config:slipway.yml",
            "config:.slipway/policies",
            "config:.slipway/waivers.yml"
        ],
        "a second run under the same configuration records nothing"
    );
    assert!(changed[0]["details"]["previous"].is_null());

    // A changed pipeline file and a new policy: one entry each, naming the previous digest.
    std::fs::write(
        dir.path().join("slipway.yml"),
        PIPELINE.replace("echo hello", "echo hello again"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".slipway/policy.yml"),
        "rules:\n  tests-passed: off\n",
    )
    .unwrap();
    git(dir.path(), &["add", "slipway.yml", ".slipway/policy.yml"]);
    git(dir.path(), &["commit", "-q", "-m", "change"]);
    let run = slipway(dir.path(), &["run"], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let after = audit(dir.path(), "config.changed");
    let new: Vec<&serde_json::Value> = after.iter().skip(changed.len()).collect();
    let new_subjects: Vec<&str> = new.iter().map(|e| e["subject"].as_str().unwrap()).collect();
    assert_eq!(
        new_subjects,
        ["config:slipway.yml", "config:.slipway/policies"]
    );
    assert_eq!(
        new[0]["details"]["previous"],
        changed[0]["details"]["digest"]
    );
    assert_ne!(new[0]["details"]["digest"], changed[0]["details"]["digest"]);
    let verify = slipway(dir.path(), &["audit", "verify", "--json"], &[]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}
