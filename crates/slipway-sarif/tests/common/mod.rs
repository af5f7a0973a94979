//! Shared by the test files: a sample run with every kind of metadata, and the oracles.

#![allow(dead_code)]

use serde_json::json;
use slipway_sarif::{Level, ResultEntry, RuleMeta, Run, RunBuilder};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

pub fn rule(id: &str, level: Level, severity: Option<f64>) -> RuleMeta {
    RuleMeta {
        id: id.into(),
        name: id
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default()
            })
            .collect(),
        short_description: format!("{id} short description"),
        full_description: Some(format!("{id}: the long description of the rule.")),
        help: Some(format!("Fix `{id}` like **this**.")),
        help_uri: Some(format!("https://slipway.dev/rules/{id}")),
        level,
        security_severity: severity,
        tags: vec!["supply-chain".into()],
        precision: Some("high".into()),
    }
}

pub fn entry(rule_id: &str, uri: &str, line: u32) -> ResultEntry {
    ResultEntry {
        rule_id: rule_id.into(),
        level: None,
        message: format!("{rule_id} found in {uri}"),
        uri: uri.into(),
        start_line: line,
        start_column: Some(3),
        end_line: Some(line),
        end_column: Some(9),
        fingerprint: Some(format!("{rule_id}:{uri}:{line}")),
        properties: Default::default(),
    }
}

/// Two rules added out of order, a result with a level override, one with properties and a
/// Windows-style path, one for a rule without metadata.
pub fn sample_run() -> Run {
    let mut builder = RunBuilder::new("slipway-secrets", "0.1.0", "slipway/secrets/");
    builder
        .information_uri("https://slipway.dev")
        .rule(rule("private-key", Level::Error, Some(9.5)))
        .rule(rule("generic-api-key", Level::Warning, Some(7.25)))
        .result(entry("private-key", "config/deploy.pem", 1))
        .result(ResultEntry {
            level: Some(Level::Note),
            properties: json!({"entropy": 4.2, "commit": "a".repeat(40)})
                .as_object()
                .cloned()
                .unwrap(),
            ..entry("generic-api-key", ".\\src\\settings.py", 14)
        })
        .result(ResultEntry {
            start_line: 0,
            start_column: None,
            end_line: None,
            end_column: None,
            fingerprint: None,
            ..entry("unlisted-rule", "README.md", 0)
        });
    builder.build()
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tools_dir() -> PathBuf {
    // The deps scripts install into the target directory, wherever cargo puts it.
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| workspace().join("target/test-tools"))
}

/// `Some(value)` when the tool is there; otherwise fails under CI, or skips with a notice.
pub fn require<T>(tool: &str, found: Option<T>) -> Option<T> {
    if found.is_some() {
        return found;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{tool} not installed (run scripts/deps/install.sh)");
    }
    eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
    None
}

/// check-jsonschema and the SARIF 2.1.0 schema `scripts/deps/sarif.sh` recorded.
pub fn schema_validator() -> Option<(PathBuf, PathBuf)> {
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

pub fn semgrep() -> Option<PathBuf> {
    let program = tools_dir().join("semgrep-venv/bin/semgrep");
    require("semgrep", program.is_file().then_some(program))
}

/// Runs a command to completion or kills it after `timeout`.
pub fn run(command: &mut Command, timeout: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    // Output is read on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes)
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut bytes).map(|_| bytes)
    });
    let status = match child.wait_timeout(timeout).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{command:?} did not finish within {timeout:?}");
        }
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

/// Validates SARIF bytes against the official schema: `Ok` or the validator's complaint.
pub fn validate(program: &Path, schema: &Path, sarif: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.sarif");
    std::fs::write(&file, sarif).unwrap();
    let output = run(
        // The published schema's `run.language` pattern has a stray `]`, which only
        // ECMAScript's non-unicode mode accepts.
        Command::new(program)
            .args(["--regex-variant", "nonunicode"])
            .arg("--schemafile")
            .arg(schema)
            .arg(&file),
        Duration::from_secs(120),
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
