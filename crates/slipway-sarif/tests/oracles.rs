//! Checked by other implementations run as real processes: every kind of SARIF this crate
//! writes validates against the official SARIF 2.1.0 JSON schema (check-jsonschema), and
//! SARIF from a real scanner (semgrep, run on a fixture repository) is read and ingested.
//!
//! The oracles come from `scripts/deps/sarif.sh`. When one is missing the test fails if `CI`
//! is `true`, and otherwise prints a `skipped:` notice and returns.

mod common;

use common::{rule, run, sample_run, schema_validator, semgrep, validate};
use slipway_sarif::{Level, Log, RunBuilder, ingest_counted, read};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SEMGREP_TIMEOUT: Duration = Duration::from_secs(300);

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn written_logs_validate_against_the_sarif_schema() {
    let Some((program, schema)) = schema_validator() else {
        return;
    };
    let mut empty = RunBuilder::new("slipway-pins", "0.1.0", "slipway/pins/");
    empty.rule(rule("missing-lockfile", Level::Warning, None));
    // A run cut down by enforce_limits carries the note in its property bag.
    let mut limited = sample_run();
    let location = limited.results.as_ref().unwrap()[0]
        .locations
        .as_ref()
        .unwrap()[0]
        .clone();
    limited.results.as_mut().unwrap()[0].locations = Some(vec![location; 1_001]);
    let mut limited = Log::new(vec![limited]);
    assert_eq!(limited.enforce_limits().len(), 1);
    let codeql = read(
        "codeql-like.sarif",
        &std::fs::read(data("codeql-like.sarif")).unwrap(),
    )
    .unwrap();
    let logs = [
        ("sample", Log::new(vec![sample_run()])),
        ("two runs", Log::new(vec![sample_run(), empty.build()])),
        ("no runs", Log::new(Vec::new())),
        ("after enforce_limits", limited),
        ("a CodeQL log read and written again", codeql),
    ];
    for (name, log) in &logs {
        if let Err(complaint) = validate(&program, &schema, &log.to_json()) {
            panic!("{name}: the SARIF schema rejects what we wrote:\n{complaint}");
        }
    }
    // The oracle does reject: a level the schema does not allow.
    let bad = String::from_utf8(Log::new(vec![sample_run()]).to_json())
        .unwrap()
        .replacen("\"level\": \"error\"", "\"level\": \"fatal\"", 1);
    assert!(validate(&program, &schema, bad.as_bytes()).is_err());
}

#[test]
fn semgrep_sarif_is_ingested() {
    let Some(semgrep) = semgrep() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    copy_tree(&data("semgrep-repo"), &repo);
    // semgrep prefixes rule ids with the directories of an absolute config path.
    std::fs::copy(data("semgrep-rules.yml"), work.path().join("rules.yml")).unwrap();
    let output = run(
        Command::new(&semgrep)
            .args([
                "scan",
                "--metrics=off",
                "--disable-version-check",
                "--sarif",
                "--quiet",
            ])
            .args(["--config", "../rules.yml"])
            .arg(".")
            .current_dir(&repo)
            // semgrep keeps settings and logs under HOME; keep them out of the user's.
            .env("HOME", work.path())
            .env("XDG_CONFIG_HOME", work.path().join(".config"))
            .env("XDG_CACHE_HOME", work.path().join(".cache")),
        SEMGREP_TIMEOUT,
    );
    assert!(
        output.status.success(),
        "semgrep failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = read("semgrep.sarif", &output.stdout).unwrap();
    let ingestion = ingest_counted(&log, Some(&repo));
    assert_eq!(ingestion.suppressed, 1, "the `# nosemgrep` line");
    let mut findings: Vec<_> = ingestion
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str(),
                f.level,
                f.file.as_deref().unwrap_or(""),
                f.line.unwrap_or(0),
                f.column.unwrap_or(0),
            )
        })
        .collect();
    findings.sort();
    assert_eq!(
        findings,
        [
            ("hardcoded-password", Level::Warning, "app.py", 8, 1),
            ("subprocess-shell-true", Level::Error, "app.py", 5, 12),
            (
                "subprocess-shell-true",
                Level::Error,
                "tools/list files.py",
                3,
                1
            ),
        ]
    );
    let first = &ingestion.findings[0];
    assert_eq!(first.tool, "Semgrep OSS");
    assert!(
        ingestion
            .findings
            .iter()
            .any(|f| f.message == "hard-coded password hunter2")
    );
    let fingerprints: std::collections::BTreeSet<_> = ingestion
        .findings
        .iter()
        .map(|f| f.fingerprint.clone())
        .collect();
    assert_eq!(fingerprints.len(), 3, "distinct fingerprints");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
