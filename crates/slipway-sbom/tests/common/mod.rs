//! Helpers shared by the integration tests: fixture paths, a fixed document header, and
//! outside programs run under a timeout.

#![allow(dead_code)]

use slipway_sbom::{DocumentInfo, Timestamp};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

/// Every fixture directory under `tests/fixtures` that is inventoried as a source tree.
pub const SOURCE_FIXTURES: [&str; 5] = ["rust", "npm", "python", "go", "monorepo"];

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
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

/// A fixed header, so documents are comparable across runs.
pub fn info(name: &str) -> DocumentInfo {
    DocumentInfo {
        subject_name: name.to_string(),
        subject_version: Some("1.0.0".into()),
        subject_sha256: None,
        timestamp: Timestamp::parse_rfc3339("2025-01-01T10:04:31Z").unwrap(),
        tool_version: "0.1.0".into(),
    }
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

pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to completion, killing it after `timeout`.
pub fn run(command: &mut Command, timeout: Duration) -> Ran {
    let mut child = match command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            return Ran {
                success: false,
                stdout: String::new(),
                stderr: format!("cannot start {command:?}: {error}"),
            };
        }
    };
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
    let status = child.wait_timeout(timeout).unwrap();
    let status = match status {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {timeout:?}");
        }
    };
    Ran {
        success: status.success(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Copies a directory tree (regular files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
