//! Helpers shared by the integration tests: the real binary, real git, scratch repositories.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn slipway(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SLIPWAY_STATE_DIR");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the slipway binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A repository holding `pipeline` as slipway.yml (plus `files`), committed.
pub fn repo(pipeline: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    std::fs::write(dir.path().join("slipway.yml"), pipeline).unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

/// Whether bubblewrap is installed. In CI it must be; elsewhere a missing one skips the
/// calling test with a visible notice.
pub fn have_bwrap() -> bool {
    if Command::new("bwrap").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "bubblewrap must be installed in CI"
    );
    eprintln!("NOTICE: skipping a sandbox test: bubblewrap (bwrap) is not installed");
    false
}
