//! Promotion checks through the real binary: the previous environment, approvals with
//! exclude-author, freeze windows and break-glass. The controller is not needed: promotion
//! only records the desired state.

mod common;

use common::{repo, slipway, text};
use std::path::Path;

const PIPELINE: &str = r#"version: 1
name: promote-checks
on: { push: { branches: [main] } }
jobs:
  build:
    steps:
      - run: printf '#!/bin/sh\necho hello\n' > app && chmod +x app
    artifact: { name: app, from: app, entrypoint: ["app"] }
environments:
  dev: { target: local }
  staging: { after: dev }
  production:
    approval: { required: 1, exclude-author: true }
  frozen:
    freeze:
      - { cron: "0 0 * * *", duration: 24h }
"#;

fn built_repo() -> (tempfile::TempDir, String) {
    let dir = repo(PIPELINE, &[]);
    let run = slipway(dir.path(), &["run"], &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let listed = slipway(dir.path(), &["artifact", "ls", "--json"], &[]);
    let artifacts: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let digest = artifacts["artifacts"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    (dir, digest)
}

fn promote(dir: &Path, args: &[&str], actor: &str) -> (i32, serde_json::Value, String) {
    let mut all = vec!["promote"];
    all.extend_from_slice(args);
    all.push("--json");
    let output = slipway(dir, &all, &[("SLIPWAY_ACTOR", actor)]);
    let json = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (
        output.status.code().unwrap_or(-1),
        json,
        text(&output.stderr),
    )
}

fn failed_check<'a>(outcome: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    outcome["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name && c["ok"] == false)
        .unwrap_or_else(|| panic!("a failed `{name}` check in {outcome:#}"))
}

#[test]
fn the_previous_environment_must_have_the_digest_first() {
    let (dir, digest) = built_repo();
    let (code, outcome, _) = promote(dir.path(), &[&digest, "--to", "staging"], "dev@example.org");
    assert_eq!(code, 1);
    assert_eq!(outcome["status"], "refused");
    let check = failed_check(&outcome, "previous-environment");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("has not been released successfully to dev"),
        "{check}"
    );
    // The verification, the gates and the freeze passed: only the order refused it, in the
    // checks and in the policies (SLW-P009, the previous environment's rule).
    let failed: Vec<&str> = outcome["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["previous-environment", "policy"]);
    let denied: Vec<&str> = outcome["policy"]["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(denied, ["SLW-P009"]);

    let (code, outcome, _) = promote(dir.path(), &[&digest, "--to", "dev"], "dev@example.org");
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["status"], "started");
    assert_eq!(outcome["release"]["digest"], digest.as_str());
    assert_eq!(outcome["release"]["status"], "progressing");

    // While that rollout is under way, another promotion to dev waits for it.
    let (code, outcome, _) = promote(dir.path(), &[&digest, "--to", "dev"], "dev@example.org");
    assert_eq!(code, 1);
    assert!(
        failed_check(&outcome, "rollout")["detail"]
            .as_str()
            .unwrap()
            .contains("still rolling out")
    );
}

#[test]
fn production_waits_for_an_approval_that_no_commit_author_may_give() {
    let (dir, digest) = built_repo();
    let (code, outcome, _) = promote(
        dir.path(),
        &[&digest, "--to", "production"],
        "dev@example.org",
    );
    assert_eq!(code, 1);
    assert_eq!(outcome["status"], "awaiting-approval");
    let release = outcome["release"]["id"].as_str().unwrap().to_owned();
    assert_eq!(outcome["release"]["commit_authors"][0], "dev@example.org");
    assert!(
        failed_check(&outcome, "approvals")["detail"]
            .as_str()
            .unwrap()
            .contains("0 of 1 approvals")
    );

    let author = slipway(
        dir.path(),
        &["approve", &release],
        &[("SLIPWAY_ACTOR", "Dev@Example.org")],
    );
    assert_eq!(author.status.code(), Some(2));
    assert!(
        text(&author.stderr).contains("authored a commit in it"),
        "{}",
        text(&author.stderr)
    );

    let reviewer = slipway(
        dir.path(),
        &["approve", &release, "--comment", "looks good", "--json"],
        &[("SLIPWAY_ACTOR", "reviewer@example.org")],
    );
    assert!(reviewer.status.success(), "{}", text(&reviewer.stderr));
    let approved: serde_json::Value = serde_json::from_slice(&reviewer.stdout).unwrap();
    assert_eq!(approved["satisfied"], true);
    assert_eq!(approved["approvals"][0]["actor"], "reviewer@example.org");

    let (code, outcome, _) = promote(
        dir.path(),
        &[&digest, "--to", "production"],
        "dev@example.org",
    );
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["status"], "started");
    assert_eq!(outcome["release"]["id"], release.as_str());

    // Every step is in the audit log, in one chain that verifies.
    let log = slipway(
        dir.path(),
        &["audit", "log", "--subject", &release, "--json"],
        &[],
    );
    let log: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["release.created", "release.approved", "rollout.promoted"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let decided = slipway(
        dir.path(),
        &["audit", "log", "--subject", &digest, "--json"],
        &[],
    );
    let decided: serde_json::Value = serde_json::from_slice(&decided.stdout).unwrap();
    let decided: Vec<&str> = decided["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(decided.contains(&"policy.decided"), "{decided:?}");
    let verified = slipway(dir.path(), &["audit", "verify", "--json"], &[]);
    let verified: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["ok"], true, "{verified}");

    // Approving a release that is no longer waiting is refused with its status.
    let late = slipway(
        dir.path(),
        &["approve", &release],
        &[("SLIPWAY_ACTOR", "other@example.org")],
    );
    assert_eq!(late.status.code(), Some(2));
    assert!(text(&late.stderr).contains("it is progressing"));
}

#[test]
fn a_freeze_window_refuses_unless_break_glass_which_is_loud_and_recorded() {
    let (dir, digest) = built_repo();
    // Frozen from midnight for a day: any time of day falls in it.
    let (code, outcome, _) = promote(dir.path(), &[&digest, "--to", "frozen"], "dev@example.org");
    assert_eq!(code, 1);
    assert!(
        failed_check(&outcome, "freeze")["detail"]
            .as_str()
            .unwrap()
            .contains("is frozen")
    );

    let missing_reason = slipway(
        dir.path(),
        &["promote", &digest, "--to", "frozen", "--break-glass"],
        &[],
    );
    assert_eq!(missing_reason.status.code(), Some(2));

    let (code, outcome, stderr) = promote(
        dir.path(),
        &[
            &digest,
            "--to",
            "frozen",
            "--break-glass",
            "--reason",
            "hotfix for an outage",
        ],
        "oncall@example.org",
    );
    assert_eq!(code, 0, "{outcome:#}");
    assert!(
        stderr.contains("WARNING: BREAK-GLASS by oncall@example.org"),
        "{stderr}"
    );
    assert_eq!(
        outcome["release"]["break_glass_reason"],
        "hotfix for an outage"
    );

    let status = slipway(dir.path(), &["rollout", "status", "frozen", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["phase"], "progressing");
    assert_eq!(status["canary"], digest.as_str());
    assert_eq!(status["events"][0]["kind"], "break-glass");
    assert_eq!(status["events"][0]["actor"], "oncall@example.org");
}

#[test]
fn an_unknown_environment_or_artifact_is_a_clear_error() {
    let (dir, digest) = built_repo();
    let output = slipway(dir.path(), &["promote", &digest, "--to", "qa"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no environment `qa`")
            && stderr.contains("dev, staging, production, frozen"),
        "{stderr}"
    );
    let output = slipway(dir.path(), &["promote", "sha256:ffff", "--to", "dev"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no artifact sha256:ffff"));
}

#[test]
fn a_deploy_job_promotes_the_runs_artifact_with_the_same_checks() {
    let pipeline = PIPELINE.replace(
        "environments:",
        "  deploy-dev:\n    needs: [build]\n    deploy: { environment: dev }\n  deploy-staging:\n    needs: [deploy-dev]\n    deploy: { environment: staging }\nenvironments:",
    );
    let dir = repo(&pipeline, &[]);
    let run = slipway(
        dir.path(),
        &["run", "--json"],
        &[("SLIPWAY_ACTOR", "ci@example.org")],
    );
    let events: Vec<serde_json::Value> = text(&run.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let deploys: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "deploy").collect();
    assert_eq!(deploys.len(), 2, "{}", text(&run.stdout));
    assert_eq!(deploys[0]["environment"], "dev");
    assert_eq!(deploys[0]["status"], "started");
    assert_eq!(deploys[0]["release"]["kind"], "deploy");
    assert_eq!(deploys[0]["release"]["actor"], "ci@example.org");
    // Staging comes after dev, where the release is still rolling out: refused, and the run
    // fails with it.
    assert_eq!(deploys[1]["environment"], "staging");
    assert_eq!(deploys[1]["status"], "refused");
    assert_eq!(run.status.code(), Some(1));
    let artifact = events
        .iter()
        .find(|e| e["event"] == "run_artifact")
        .unwrap();
    assert_eq!(deploys[0]["digest"], artifact["digest"]);
}
