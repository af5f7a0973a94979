//! `slipway audit`: real runs and key generations fill the log; the store is then tampered
//! with through the `sqlite3` CLI (edit, delete, reorder, cut off) and each change must be
//! caught at the right entry, by `slipway audit verify` and, on exports, by the offline
//! Python procedure of docs/audit.md (scripts/audit-verify.py), which must agree.

mod common;

use common::{copy_tree, repo, require, slipway, text, tools_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PIPELINE: &str = "version: 1\njobs:\n  hello:\n    steps: [{ run: echo hello }]\n";
const ACTOR: &str = "auditor@example.org";

/// A repository whose log holds two runs (the first also records the configuration it ran
/// under) and a key generation, with the state directory.
fn filled_log() -> (tempfile::TempDir, PathBuf) {
    let dir = repo(PIPELINE, &[]);
    for _ in 0..2 {
        let output = slipway(dir.path(), &["run"], &[("SLIPWAY_ACTOR", ACTOR)]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
    let output = slipway(
        dir.path(),
        &["keys", "generate", "-o", "release"],
        &[("SLIPWAY_KEY_PASSPHRASE", "correct horse")],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let state = dir.path().join(".slipway");
    (dir, state)
}

fn audit(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    let output = slipway(dir, &all, &[]);
    let stdout = text(&output.stdout);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {}", text(&output.stderr)));
    (output.status.code(), value)
}

fn verify_store(state: &Path) -> Value {
    let (code, report) = audit(
        Path::new("/"),
        &["verify", "--json", "--state-dir", state.to_str().unwrap()],
    );
    assert_eq!(
        code,
        Some(if report["ok"] == true { 0 } else { 1 }),
        "{report}"
    );
    report
}

fn sqlite3() -> Option<&'static str> {
    require(
        "sqlite3",
        Command::new("sqlite3")
            .arg("--version")
            .output()
            .ok()
            .map(|_| "sqlite3"),
    )
}

fn sql(state: &Path, statements: &str) {
    let output = Command::new("sqlite3")
        .arg(state.join("slipway.db"))
        .arg(statements)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// A copy of the state directory to tamper with.
fn copy_of(state: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(state, copy.path());
    copy
}

fn python_with_cryptography() -> Option<PathBuf> {
    let python = tools_dir().join("venv/bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    require("the cryptography package", ready.then_some(python))
}

fn python_verify(python: &Path, export: &Path) -> (Option<i32>, Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/audit-verify.py");
    let output = Command::new(python)
        .arg(script)
        .arg(export)
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {}", text(&output.stderr)));
    (output.status.code(), value)
}

#[test]
fn real_actions_are_logged_and_the_log_verifies() {
    let (dir, state) = filled_log();
    let (code, log) = audit(dir.path(), &["log", "--json"]);
    assert_eq!(code, Some(0));
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // The first run also made the development key, which signs the checkpoints.
    assert_eq!(
        actions,
        [
            "config.changed",
            "config.changed",
            "config.changed",
            "run.created",
            "run.finished",
            "gates.evaluated",
            "key.generated",
            "run.created",
            "run.finished",
            "gates.evaluated",
            "key.generated"
        ],
        "{log:#}"
    );
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], index as i64 + 1);
    }
    assert_eq!(entries[0]["actor"], ACTOR);
    assert_eq!(entries[4]["details"]["status"], "success");
    let verdict = entries[5]["details"]["verdict"].as_str().unwrap();
    assert!(["pass", "warn"].contains(&verdict), "{verdict}");
    assert!(
        !entries[5]["details"]["gates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(entries[6]["details"]["kind"], "development");
    assert_eq!(entries[10]["details"]["kind"], "generated");
    // Without SLIPWAY_ACTOR the repository's git user is the actor.
    assert_eq!(entries[10]["actor"], "dev@example.org");

    let (_, filtered) = audit(
        dir.path(),
        &["log", "--json", "--action", "run.*", "--limit", "2"],
    );
    let filtered: Vec<&str> = filtered["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(filtered, ["run.created", "run.finished"]);
    let run_id = entries[3]["subject"].as_str().unwrap();
    let (_, by_subject) = audit(dir.path(), &["log", "--json", "--subject", run_id]);
    // Created, finished, and gated (a run without an artifact is its own subject).
    assert_eq!(by_subject["entries"].as_array().unwrap().len(), 3);

    let report = verify_store(&state);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], 11);
    assert_eq!(report["first_bad"], Value::Null);
    assert_eq!(report["reason"], Value::Null);
    // One checkpoint per command that appended (each run, the key generation).
    assert_eq!(report["checkpoints_verified"], 3);

    let output = slipway(dir.path(), &["audit", "verify"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).starts_with("verified: 11 entries"));
}

#[test]
fn tampering_with_the_store_is_caught_at_the_right_entry() {
    if sqlite3().is_none() {
        return;
    }
    let (_dir, state) = filled_log();
    let cases: [(&str, &str, i64, &str); 5] = [
        (
            "edited",
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
            3,
            "edited",
        ),
        (
            "deleted",
            "DELETE FROM audit_log WHERE seq = 4",
            4,
            "missing",
        ),
        (
            "reordered",
            "UPDATE audit_log SET seq = -1 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 6; \
             UPDATE audit_log SET seq = 6 WHERE seq = -1",
            5,
            "prev",
        ),
        (
            "cut off, head record fixed up too",
            "DELETE FROM audit_log WHERE seq > 5; \
             UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_log WHERE seq = 5)",
            6,
            "checkpoint",
        ),
        (
            "cut off after the last checkpoint",
            "DELETE FROM audit_checkpoints WHERE count > 7; DELETE FROM audit_log WHERE seq > 8",
            9,
            "head record counts 11",
        ),
    ];
    for (name, statements, first_bad, reason) in cases {
        let copy = copy_of(&state);
        sql(copy.path(), statements);
        let report = verify_store(copy.path());
        assert_eq!(report["ok"], false, "{name}: {report}");
        assert_eq!(report["first_bad"], first_bad, "{name}: {report}");
        assert!(
            report["reason"].as_str().unwrap().contains(reason),
            "{name}: {report}"
        );
    }
    // A forged checkpoint is caught by its signature.
    let copy = copy_of(&state);
    sql(
        copy.path(),
        "UPDATE audit_checkpoints SET count = 99 WHERE count = 7",
    );
    let report = verify_store(copy.path());
    assert_eq!(
        (report["ok"].clone(), report["first_bad"].clone()),
        (Value::Bool(false), Value::Null)
    );
    assert!(
        report["reason"].as_str().unwrap().contains("bad signature"),
        "{report}"
    );
}

#[test]
fn exports_verify_offline_and_both_verifiers_agree() {
    let Some(python) = python_with_cryptography() else {
        return;
    };
    let (dir, state) = filled_log();
    let export = dir.path().join("audit.jsonl");
    let output = slipway(
        dir.path(),
        &["audit", "export", "-o", export.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines: Vec<String> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 12);
    let header: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(header["checkpoints"].as_array().unwrap().len(), 3);
    assert!(
        header["keys"][0]["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    let agree = |export: &Path| {
        let (code, ours) = audit(
            dir.path(),
            &["verify", "--json", "--file", export.to_str().unwrap()],
        );
        let (python_code, theirs) = python_verify(&python, export);
        assert_eq!(code, python_code, "slipway {ours}\npython {theirs}");
        for field in ["ok", "entries", "first_bad"] {
            assert_eq!(
                ours[field], theirs[field],
                "{field}: slipway {ours}\npython {theirs}"
            );
        }
        ours
    };
    let report = agree(&export);
    assert_eq!(
        (report["ok"].clone(), report["entries"].clone()),
        (Value::Bool(true), 11.into())
    );
    assert_eq!(report, {
        let mut store = verify_store(&state);
        store["source"] = report["source"].clone();
        store
    });

    // One edited line: both name that entry.
    let tampered = dir.path().join("tampered.jsonl");
    let mut edited = lines.clone();
    let mut entry: Value = serde_json::from_str(&edited[6]).unwrap();
    entry["details"]["status"] = "success, really".into();
    edited[6] = entry.to_string();
    std::fs::write(&tampered, edited.join("\n") + "\n").unwrap();
    let report = agree(&tampered);
    assert_eq!(report["first_bad"], 6);

    // Two lines swapped, one removed, the end cut off: both agree on each.
    let mut swapped = lines.clone();
    swapped.swap(3, 4);
    std::fs::write(&tampered, swapped.join("\n") + "\n").unwrap();
    assert_eq!(agree(&tampered)["first_bad"], 3);
    let mut removed = lines.clone();
    removed.remove(2);
    std::fs::write(&tampered, removed.join("\n") + "\n").unwrap();
    assert_eq!(agree(&tampered)["first_bad"], 2);
    std::fs::write(&tampered, lines[..6].join("\n") + "\n").unwrap();
    assert_eq!(agree(&tampered)["first_bad"], 6);

    // A partial export anchors its first entry to the one before and still verifies.
    let partial = dir.path().join("since.jsonl");
    let output = slipway(
        dir.path(),
        &[
            "audit",
            "export",
            "--since",
            "5",
            "-o",
            partial.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let header: Value = serde_json::from_str(
        std::fs::read_to_string(&partial)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let entry_4: Value = serde_json::from_str(&lines[4]).unwrap();
    assert_eq!(
        (header["first_seq"].clone(), header["prev"].clone()),
        (5.into(), entry_4["hash"].clone())
    );
    let report = agree(&partial);
    assert_eq!(
        (report["ok"].clone(), report["entries"].clone()),
        (Value::Bool(true), 7.into())
    );
}

#[test]
fn the_documented_procedure_is_the_shipped_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(root.join("docs/audit.md")).unwrap();
    let script = std::fs::read_to_string(root.join("scripts/audit-verify.py")).unwrap();
    let block = docs
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    assert_eq!(
        block, script,
        "docs/audit.md and scripts/audit-verify.py differ"
    );
    assert!(script.lines().count() <= 20);
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = repo(PIPELINE, &[]);
    let output = slipway(
        dir.path(),
        &["audit", "export", "--since", "yesterday"],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--since yesterday"),
        "{}",
        text(&output.stderr)
    );
    let not_export = dir.path().join("slipway.yml");
    let output = slipway(
        dir.path(),
        &["audit", "verify", "--file", not_export.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("slipway.yml:1"),
        "{}",
        text(&output.stderr)
    );
}
