//! Security gates end to end: the bundled example with a planted credential, run by the real
//! binary; waivers that hold and then expire on a clock the test sets.

mod common;

use common::{example_repo, git, slipway, text};
use std::path::Path;

/// An AWS access key id in the documented shape, assembled here so that this file itself
/// holds no credential for the repository's own scan to find.
fn planted_key() -> String {
    ["AKIA", "Q3EGRT7", "LN2XW5Y", "VB"].concat()
}

fn run_build(repo: &Path, state: &Path, now: &str) -> (bool, Vec<serde_json::Value>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args([
            "run",
            "--job",
            "build",
            "--state-dir",
            state.to_str().unwrap(),
            "--json",
        ])
        .current_dir(repo)
        .env("SLIPWAY_NOW", now)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("SLIPWAY_STATE_DIR")
        .output()
        .unwrap();
    let events = text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .collect();
    (output.status.success(), events, text(&output.stderr))
}

fn gates(events: &[serde_json::Value]) -> &serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "gates")
        .expect("a gates event")
}

fn secret_findings(gates: &serde_json::Value) -> Vec<&serde_json::Value> {
    gates["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["gate"] == "secrets")
        .flat_map(|g| g["findings"].as_array().unwrap())
        .collect()
}

#[test]
fn a_planted_key_fails_the_run_until_waived_and_again_after_the_waiver_expires() {
    let repo = example_repo();
    let main_rs = repo.path().join("src/main.rs");
    let mut code = std::fs::read_to_string(&main_rs).unwrap();
    code.push_str(&format!(
        "\n#[allow(dead_code)]\nconst UPLOAD_KEY_ID: &str = \"{}\";\n",
        planted_key()
    ));
    std::fs::write(&main_rs, code).unwrap();
    git(repo.path(), &["commit", "-qam", "upload to the bucket"]);
    let state = tempfile::tempdir().unwrap();

    // 1. The secrets gate fails the run; the summary names the rule, file and line, and the
    //    evidence of the artifact records the failed evaluation.
    let (passed, events, stderr) = run_build(repo.path(), state.path(), "2026-11-22");
    assert!(!passed, "the run must fail at the secrets gate: {stderr}");
    let report = gates(&events);
    assert_eq!(report["verdict"], "fail");
    let findings = secret_findings(report);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = findings[0];
    assert_eq!(finding["location"]["file"], "src/main.rs");
    assert_eq!(finding["disposition"], "block");
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains(&planted_key()),
        "the key itself must not appear in the output"
    );
    let fingerprint = finding["id"].as_str().unwrap().to_string();
    let artifact = events
        .iter()
        .find(|e| e["event"] == "run_artifact")
        .expect("the artifact is still packaged");
    let kinds: Vec<&str> = artifact["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"security-gates"), "{kinds:?}");

    let human = slipway(
        repo.path(),
        &[
            "scan",
            "secrets",
            ".",
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
        &[("SLIPWAY_NOW", "2026-11-22")],
    );
    assert_eq!(human.status.code(), Some(1), "{}", text(&human.stderr));
    let summary = text(&human.stderr);
    assert!(summary.contains("BLOCK  src/main.rs:"), "{summary}");
    assert!(!summary.contains(&planted_key()), "{summary}");

    // 2. A waiver with an owner, a reason and an expiry lets it pass, and says so.
    let waiver = format!(
        "waivers:\n  - id: {fingerprint}\n    owner: security@example.org\n    reason: test key of a bucket that no longer exists\n    expires: 2026-12-15\n"
    );
    std::fs::create_dir_all(repo.path().join(".slipway")).unwrap();
    std::fs::write(repo.path().join(".slipway/waivers.yml"), waiver).unwrap();
    git(repo.path(), &["add", "-f", ".slipway/waivers.yml"]);
    git(repo.path(), &["commit", "-qm", "waive the retired key"]);
    let (passed, events, stderr) = run_build(repo.path(), state.path(), "2026-11-22");
    assert!(passed, "a valid waiver lets the run pass: {stderr}");
    let report = gates(&events);
    assert_ne!(report["verdict"], "fail");
    let secrets_gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "secrets")
        .unwrap();
    assert_eq!(secrets_gate["verdict"], "pass", "{report}");
    assert_eq!(secret_findings(report)[0]["disposition"], "waived");
    assert_eq!(
        report["waivers_applied"][0]["owner"], "security@example.org",
        "{report}"
    );

    // 3. The day after it expires, the run fails again: on the secret and on the waiver.
    let (passed, events, stderr) = run_build(repo.path(), state.path(), "2026-12-16");
    assert!(!passed, "an expired waiver fails the run: {stderr}");
    let report = gates(&events);
    let failing: Vec<&str> = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["verdict"] == "fail")
        .map(|g| g["gate"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["secrets", "waivers"], "{report}");
}
