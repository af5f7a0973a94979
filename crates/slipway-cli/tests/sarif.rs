//! SARIF both ways through the real binary: Slipway's reports validate against the SARIF
//! 2.1.0 schema (check-jsonschema), and a real scanner's SARIF (semgrep) is judged by the
//! `sarif` gate.

mod common;

use common::{copy_tree, require, slipway, text, tools_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

fn sarif_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../slipway-sarif/tests/data")
        .join(name)
}

/// check-jsonschema and the schema file `scripts/deps/sarif.sh` recorded.
fn schema_validator() -> Option<(PathBuf, PathBuf)> {
    let tools = tools_dir();
    let program = tools.join("venv/bin/check-jsonschema");
    let schema = std::fs::read_to_string(tools.join("sarif-schema.path"))
        .ok()
        .map(|path| PathBuf::from(path.trim()))
        .filter(|path| path.is_file());
    let found = schema
        .filter(|_| program.is_file())
        .map(|schema| (program, schema));
    require("check-jsonschema and the SARIF 2.1.0 schema", found)
}

#[test]
fn every_gate_report_in_sarif_passes_the_schema_and_github_limits() {
    let Some((validator, schema)) = schema_validator() else {
        return;
    };
    let tree = tempfile::tempdir().unwrap();
    let key = ["AKIA", "Q3EGRT7", "LN2XW5Y", "VB"].concat();
    std::fs::write(tree.path().join("app.env"), format!("AWS_KEY_ID={key}\n")).unwrap();
    std::fs::write(tree.path().join("Dockerfile"), "FROM debian:12-slim\n").unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../slipway-osv/tests/data/projects/vulnerable"),
        tree.path(),
    );
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let advisories =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../slipway-osv/tests/data/advisories");
    let imported = slipway(
        tree.path(),
        &[
            "db",
            "import",
            advisories.to_str().unwrap(),
            "--state-dir",
            state_dir,
        ],
        &[],
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let out = tree.path().join("report.sarif");
    let output = slipway(
        tree.path(),
        &[
            "scan",
            "all",
            ".",
            "--state-dir",
            state_dir,
            "--format",
            "sarif",
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        !text(&bytes).contains(&key),
        "SARIF must not carry the secret"
    );
    let validated = Command::new(&validator)
        .args(["--regex-variant", "nonunicode", "--schemafile"])
        .arg(&schema)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}{}",
        text(&validated.stdout),
        text(&validated.stderr)
    );
    let log: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let runs = log["runs"].as_array().unwrap();
    let tools: Vec<&str> = runs
        .iter()
        .map(|r| r["tool"]["driver"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "slipway-secrets",
            "slipway-deps",
            "slipway-pins",
            "slipway-migrations"
        ]
    );
    assert!(runs.len() <= 20);
    for run in runs {
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let results = run["results"].as_array().unwrap();
        assert!(!rules.is_empty() || results.is_empty(), "{run}");
        for rule in rules {
            let severity: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&severity), "{rule}");
        }
        for result in run["results"].as_array().unwrap() {
            let location = &result["locations"][0]["physicalLocation"];
            let uri = location["artifactLocation"]["uri"].as_str().unwrap();
            assert!(!uri.starts_with('/'), "repository-relative: {uri}");
            assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
            assert!(result["message"]["text"].as_str().is_some());
            assert!(result["partialFingerprints"].is_object(), "{result}");
        }
    }
}

#[test]
fn semgrep_results_are_ingested_and_gated() {
    let program = tools_dir().join("semgrep-venv/bin/semgrep");
    let Some(semgrep) = require("semgrep", program.is_file().then_some(program)) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    copy_tree(&sarif_data("semgrep-repo"), &repo);
    std::fs::copy(
        sarif_data("semgrep-rules.yml"),
        work.path().join("rules.yml"),
    )
    .unwrap();
    let scanned = Command::new(&semgrep)
        .args([
            "scan",
            "--metrics=off",
            "--disable-version-check",
            "--sarif",
            "--quiet",
        ])
        .args(["--config", "../rules.yml", "--output", "semgrep.sarif", "."])
        .current_dir(&repo)
        .env("HOME", work.path())
        .env("XDG_CONFIG_HOME", work.path().join(".config"))
        .env("XDG_CACHE_HOME", work.path().join(".cache"))
        .output()
        .unwrap();
    assert!(scanned.status.success(), "{}", text(&scanned.stderr));

    let judged = slipway(
        &repo,
        &[
            "scan",
            "sarif",
            "semgrep.sarif",
            "--root",
            ".",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(
        judged.status.code(),
        Some(1),
        "an ERROR rule blocks: {}",
        text(&judged.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&judged.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{report}");
    assert!(
        findings.iter().all(|f| f["tool"] == "Semgrep OSS"),
        "{report}"
    );
    assert!(
        findings
            .iter()
            .all(|f| !f["file"].as_str().unwrap().starts_with('/')),
        "{report}"
    );

    std::fs::write(
        repo.join("slipway.yml"),
        "version: 1\njobs:\n  t:\n    steps:\n      - run: 'true'\ngates:\n  sarif: warn\n",
    )
    .unwrap();
    let judged = slipway(
        &repo,
        &["scan", "sarif", "semgrep.sarif", "--root", "."],
        &[],
    );
    assert_eq!(judged.status.code(), Some(0), "{}", text(&judged.stderr));
}
