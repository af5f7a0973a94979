//! Clean workspaces: the commit's tree exported from git once per run, copied fresh for every
//! job attempt, never the developer's working tree (unless `--dirty` says so, loudly).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WorkspaceError {
    #[error("cannot export commit {commit} from git: {reason}")]
    Export { commit: String, reason: String },
    #[error("cannot prepare workspace {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Git(#[from] slipway_vcs::GitError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WorkspaceError + '_ {
    move |source| WorkspaceError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes the tree of `commit` into `dest` (created empty).
pub fn export(repo: &Path, commit: &str, dest: &Path) -> Result<(), WorkspaceError> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(io(dest))?;
    }
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    let export_error = |reason: String| WorkspaceError::Export {
        commit: commit.to_string(),
        reason,
    };
    let mut git = Command::new("git")
        .args(["archive", "--format=tar", commit])
        .current_dir(repo)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| export_error(format!("cannot start git: {e}")))?;
    let stdout = git
        .stdout
        .take()
        .ok_or_else(|| export_error("no output pipe".into()))?;
    let mut archive = tar::Archive::new(stdout);
    let unpacked = archive.unpack(dest);
    // tar stops at the end-of-archive marker; git may still be writing its record padding.
    // Closing the pipe early would kill git with SIGPIPE, so read what is left first.
    let _ = std::io::copy(&mut archive.into_inner(), &mut std::io::sink());
    let output = git
        .wait_with_output()
        .map_err(|e| export_error(e.to_string()))?;
    if !output.status.success() {
        return Err(export_error(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    unpacked.map_err(|e| export_error(format!("unpacking the tree: {e}")))?;
    Ok(())
}

/// Copies uncommitted changes of the working tree over an exported tree: modified and
/// untracked (not ignored) files are copied, deleted ones removed. Returns the paths touched.
pub fn overlay_dirty(repo: &Path, dest: &Path) -> Result<Vec<String>, WorkspaceError> {
    let timeout = slipway_vcs::LOCAL_TIMEOUT;
    let changed = slipway_vcs::git(
        repo,
        &["diff", "--name-only", "-z", "--no-renames", "HEAD"],
        timeout,
    )?;
    let untracked = slipway_vcs::git(
        repo,
        &["ls-files", "--others", "--exclude-standard", "-z"],
        timeout,
    )?;
    let mut touched = Vec::new();
    for path in changed
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|p| !p.is_empty())
    {
        let from = repo.join(path);
        let to = dest.join(path);
        if from.symlink_metadata().is_ok() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            copy_entry(&from, &to)?;
        } else if to.symlink_metadata().is_ok() {
            std::fs::remove_file(&to).map_err(io(&to))?;
        }
        touched.push(path.to_string());
    }
    touched.sort();
    touched.dedup();
    Ok(touched)
}

/// A fresh copy of `source` at `dest` (replacing whatever was there).
pub fn fresh_copy(source: &Path, dest: &Path) -> Result<(), WorkspaceError> {
    if dest.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(dest).map_err(io(dest))?;
    }
    copy_tree(source, dest)
}

fn copy_tree(source: &Path, dest: &Path) -> Result<(), WorkspaceError> {
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    for entry in std::fs::read_dir(source).map_err(io(source))? {
        let entry = entry.map_err(io(source))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let kind = entry.file_type().map_err(io(&from))?;
        if kind.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            copy_entry(&from, &to)?;
        }
    }
    Ok(())
}

fn copy_entry(from: &Path, to: &Path) -> Result<(), WorkspaceError> {
    let meta = from.symlink_metadata().map_err(io(from))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(io(from))?;
        let _ = std::fs::remove_file(to);
        std::os::unix::fs::symlink(target, to).map_err(io(to))?;
    } else if meta.is_dir() {
        copy_tree(from, to)?;
    } else {
        // std::fs::copy keeps permissions (the executable bit) and uses copy_file_range.
        std::fs::copy(from, to).map_err(io(from))?;
    }
    Ok(())
}

/// Removes a workspace; a failure to clean up is reported, not fatal.
pub fn remove(path: &Path) -> Option<String> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(format!("cannot remove workspace {}: {e}", path.display())),
    }
}

/// `hashFiles(patterns...)`: SHA-256 over the SHA-256 of every matching file's contents, in
/// path order; empty string when nothing matches (the familiar semantics).
pub fn hash_files(root: &Path, patterns: &[String]) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let globs = patterns
        .iter()
        .map(|p| {
            slipway_pipeline::paths::compile_glob(p)
                .map_err(|e| format!("invalid pattern `{p}`: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::new();
    collect_files(root, root, &mut files).map_err(|e| e.to_string())?;
    files.sort();
    let mut outer = Sha256::new();
    let mut any = false;
    for relative in files {
        if !globs.iter().any(|g| g.is_match(&relative)) {
            continue;
        }
        let mut file =
            std::fs::File::open(root.join(&relative)).map_err(|e| format!("{relative}: {e}"))?;
        let mut inner = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = file
                .read(&mut buffer)
                .map_err(|e| format!("{relative}: {e}"))?;
            if n == 0 {
                break;
            }
            inner.update(&buffer[..n]);
        }
        outer.update(inner.finalize());
        any = true;
    }
    Ok(if any {
        hex(&outer.finalize())
    } else {
        String::new()
    })
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                collect_files(root, &path, out)?;
            }
        } else if kind.is_file()
            && let Ok(relative) = path.strip_prefix(root)
        {
            out.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A filesystem-safe name for a job id (`unit (rust=stable)` → `unit-rust-stable`), unique
/// within a run thanks to a short hash of the id.
pub fn slug(job_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let readable: String = job_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let digest = Sha256::digest(job_id.as_bytes());
    format!(
        "{}-{}",
        readable.chars().take(48).collect::<String>(),
        &hex(&digest)[..6]
    )
}

/// Writes a file through a temporary name and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp: PathBuf = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_and_distinct() {
        let a = slug("unit (rust=stable)");
        assert!(a.starts_with("unit-rust-stable-"), "{a}");
        assert_ne!(slug("a b"), slug("a-b"));
    }

    #[test]
    fn hash_files_matches_patterns_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/Cargo.lock"), "y").unwrap();
        let one = hash_files(dir.path(), &["Cargo.lock".into()]).unwrap();
        let all = hash_files(dir.path(), &["**/Cargo.lock".into()]).unwrap();
        assert_eq!(one.len(), 64);
        assert_ne!(one, all);
        assert_eq!(hash_files(dir.path(), &["nothing".into()]).unwrap(), "");
        std::fs::write(dir.path().join("Cargo.lock"), "changed").unwrap();
        assert_ne!(hash_files(dir.path(), &["Cargo.lock".into()]).unwrap(), one);
    }
}
