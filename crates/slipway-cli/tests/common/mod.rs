//! Helpers shared by the integration tests: the real binary, real git, scratch repositories.
#![allow(dead_code)]

pub mod delivery;

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

/// A committed copy of the bundled example (without its build output and state).
pub fn example_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-service");
    copy_tree(&example, dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "hello-service"]);
    dir
}

/// The configuration a repository keeps in `.slipway/` (the rest there is state).
const SLIPWAY_CONFIG: [&str; 4] = ["waivers.yml", "secrets-allow.yml", "policy.yml", "policies"];

/// Copies a tree without build output; a `.slipway/` inside it keeps only its configuration.
pub fn copy_tree(from: &Path, to: &Path) {
    copy_filtered(from, to, false);
}

fn copy_filtered(from: &Path, to: &Path, config_only: bool) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || (config_only && !SLIPWAY_CONFIG.iter().any(|c| name == *c)) {
            continue;
        }
        if name == ".slipway" && entry.file_type().unwrap().is_dir() {
            let target = to.join(&name);
            std::fs::create_dir_all(&target).unwrap();
            copy_filtered(&entry.path(), &target, true);
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_filtered(&entry.path(), &target, false);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
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

/// Where `scripts/deps/*.sh` install test oracles: `$SLIPWAY_TEST_TOOLS`, else
/// `$CARGO_TARGET_DIR/test-tools`, else the workspace's `target/test-tools`.
pub fn tools_dir() -> std::path::PathBuf {
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|dir| std::path::PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools"))
}

/// `Some(value)` when the tool is installed; otherwise fails under `CI=true`, or skips the
/// calling test with a notice.
pub fn require<T>(tool: &str, found: Option<T>) -> Option<T> {
    if found.is_some() {
        return found;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{tool} not installed (run scripts/deps/install.sh)"
    );
    eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
    None
}
