//! Versions of the toolchains a run saw, recorded with the run so a red build can be
//! explained by "the compiler changed". Asking `rustc -V` costs tens of milliseconds, so
//! answers are cached in the state directory, keyed by each binary's path and modification
//! time.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOOLS: &[(&str, &[&str])] = &[
    ("rustc", &["-V"]),
    ("cargo", &["-V"]),
    ("node", &["-v"]),
    ("python3", &["-V"]),
    ("git", &["--version"]),
];

pub fn versions(state_dir: &Path) -> Value {
    let cache_path = state_dir.join("toolchains.json");
    let cache: Map<String, Value> = std::fs::read_to_string(&cache_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut fresh = Map::new();
    let mut versions = Map::new();
    for (tool, args) in TOOLS {
        let Some(path) = find(tool) else { continue };
        let stamp = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let key = format!("{}@{stamp}", path.display());
        let version = match cache.get(&key).and_then(Value::as_str) {
            Some(version) => version.to_string(),
            None => match ask(&path, args) {
                Some(version) => version,
                None => continue,
            },
        };
        fresh.insert(key, Value::String(version.clone()));
        versions.insert((*tool).to_string(), Value::String(version));
    }
    if fresh != cache {
        let _ = std::fs::create_dir_all(state_dir);
        let _ = std::fs::write(&cache_path, Value::Object(fresh).to_string());
    }
    Value::Object(versions)
}

fn find(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Runs `tool args` with a timeout; the first line of its output.
fn ask(path: &Path, args: &[&str]) -> Option<String> {
    use std::io::Read;
    use wait_timeout::ChildExt;
    let mut child = std::process::Command::new(path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let status = match child.wait_timeout(Duration::from_secs(5)).ok()? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
    };
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    status
        .success()
        .then(|| out.lines().next().unwrap_or("").trim().to_string())
        .filter(|s| !s.is_empty())
}
