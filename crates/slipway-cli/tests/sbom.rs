//! `slipway sbom` through the real binary: output, exit codes, the summary line, and
//! reproducible documents for a commit.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

const TIMEOUT: Duration = Duration::from_secs(120);

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(command: &mut Command) -> Ran {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let Some(status) = child.wait_timeout(TIMEOUT).unwrap() else {
        let _ = child.kill();
        panic!("{command:?} did not finish within {TIMEOUT:?}");
    };
    Ran {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn slipway(dir: &Path, args: &[&str]) -> Ran {
    run(Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../slipway-sbom/tests/fixtures")
}

fn git(dir: &Path, args: &[&str]) {
    let ran = run(Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.org")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.org")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"));
    assert_eq!(ran.code, Some(0), "git {args:?}: {}", ran.stderr);
}

/// A committed copy of the npm fixture.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(fixtures().join("npm").join(file), dir.path().join(file)).unwrap();
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(
        dir.path(),
        &["-c", "commit.gpgsign=false", "commit", "-q", "-m", "lock"],
    );
    dir
}

#[test]
fn the_sbom_of_a_commit_is_reproducible() {
    let repo = repository();
    let first = slipway(repo.path(), &["sbom"]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let second = slipway(repo.path(), &["sbom", "."]);
    assert_eq!(first.stdout, second.stdout, "two runs on one commit differ");
    let document: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(document["specVersion"], "1.6");
    assert_eq!(
        document["metadata"]["timestamp"], "2026-01-01T00:00:00Z",
        "the commit time"
    );
    assert_eq!(document["components"].as_array().unwrap().len(), 85);
    let summary = first.stderr.lines().last().unwrap();
    assert!(
        summary.starts_with("sbom: 85 components from 1 lockfiles in ") && summary.ends_with(" ms"),
        "{summary}"
    );
}

#[test]
fn spdx_goes_to_the_output_file() {
    let repo = repository();
    let ran = slipway(
        repo.path(),
        &["sbom", "--format", "spdx", "--output", "sbom.spdx.json"],
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.is_empty());
    let text = std::fs::read_to_string(repo.path().join("sbom.spdx.json")).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    let leftovers: Vec<_> = std::fs::read_dir(repo.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "the temporary file was left behind");
}

#[test]
fn artifact_contents_list_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["sbom", "--contents"])
        .arg(fixtures().join("rootfs"))
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1735725871"));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let document: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(document["metadata"]["timestamp"], "2025-01-01T10:04:31Z");
    let files = document["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "file")
        .count();
    assert_eq!(files, 7);
    assert!(
        ran.stderr
            .contains("16 components from 4 package sources and 7 files"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_broken_lockfile_exits_2_naming_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("svc")).unwrap();
    std::fs::write(
        dir.path().join("svc/Cargo.lock"),
        "version = 4\n[[package]\n",
    )
    .unwrap();
    let ran = slipway(dir.path(), &["sbom", "--output", "out.json"]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr
            .contains("svc/Cargo.lock:2:11: unclosed array table"),
        "{}",
        ran.stderr
    );
    assert!(!dir.path().join("out.json").exists());
    let missing = slipway(dir.path(), &["sbom", "no-such-dir"]);
    assert_eq!(missing.code, Some(2));
}
