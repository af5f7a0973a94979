//! Git for Slipway, through the `git` CLI (present wherever a repository is), with a timeout
//! on every call and errors that say which command failed and why.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use thiserror::Error;
use wait_timeout::ChildExt;

/// Local git operations: generous, but a hung git must not hang Slipway.
pub const LOCAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Fetching a template over the network.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Error)]
pub enum GitError {
    #[error("git is not installed or not on PATH ({0})")]
    Missing(std::io::Error),
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("`git {command}` did not finish within {}s and was stopped", timeout.as_secs())]
    TimedOut { command: String, timeout: Duration },
    #[error("`git {command}`: {source}")]
    Io {
        command: String,
        source: std::io::Error,
    },
}

/// Runs `git args...` in `dir` and returns its standard output.
pub fn git(dir: &Path, args: &[&str], timeout: Duration) -> Result<String, GitError> {
    let command = args.join(" ");
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GitError::Missing(e),
            _ => GitError::Io {
                command: command.clone(),
                source: e,
            },
        })?;
    // Drain both pipes on threads so a chatty git cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(GitError::TimedOut { command, timeout });
        }
        Err(source) => return Err(GitError::Io { command, source }),
    };
    let out = out_reader
        .join()
        .unwrap_or_else(|_| Ok(Vec::new()))
        .map_err(|source| GitError::Io {
            command: command.clone(),
            source,
        })?;
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err).trim().to_string();
        return Err(GitError::Failed {
            command,
            stderr: if stderr.is_empty() {
                format!("exit status {status}")
            } else {
                stderr
            },
        });
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The root of the work tree containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, GitError> {
    git(dir, &["rev-parse", "--show-toplevel"], LOCAL_TIMEOUT).map(|s| PathBuf::from(s.trim()))
}

/// What HEAD is: commit, ref and who is running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub sha: String,
    /// `refs/heads/<branch>`, or the sha itself on a detached HEAD.
    pub git_ref: String,
    pub actor: String,
}

pub fn head(repo: &Path) -> Result<Head, GitError> {
    // One call for both: the commit, then the symbolic name (`HEAD` when detached).
    let out = git(
        repo,
        &["rev-parse", "HEAD", "--symbolic-full-name", "HEAD"],
        LOCAL_TIMEOUT,
    )?;
    let mut lines = out.lines().map(str::trim);
    let sha = lines.next().unwrap_or_default().to_string();
    let git_ref = lines
        .next()
        .filter(|name| name.starts_with("refs/"))
        .map_or_else(|| sha.clone(), str::to_string);
    let actor = std::env::var("SLIPWAY_ACTOR")
        .ok()
        .or_else(|| {
            git(repo, &["config", "user.email"], LOCAL_TIMEOUT)
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    Ok(Head {
        sha,
        git_ref,
        actor,
    })
}

/// The committer time of a commit, in seconds since the epoch: the `SOURCE_DATE_EPOCH` of a
/// build of that commit.
pub fn commit_time(repo: &Path, commit: &str) -> Result<i64, GitError> {
    let out = git(repo, &["show", "-s", "--format=%ct", commit], LOCAL_TIMEOUT)?;
    out.trim().parse().map_err(|_| GitError::Failed {
        command: format!("show -s --format=%ct {commit}"),
        stderr: format!("unexpected output {:?}", out.trim()),
    })
}

/// How the repository names itself to the outside: the URL of its `origin` remote, with any
/// credentials removed, or `file://<path>` when it has none.
pub fn repository_uri(repo: &Path) -> String {
    match git(repo, &["remote", "get-url", "origin"], LOCAL_TIMEOUT) {
        Ok(url) if url.trim().starts_with('/') => format!("file://{}", url.trim()),
        Ok(url) if !url.trim().is_empty() => strip_credentials(url.trim()),
        _ => format!("file://{}", repo.display()),
    }
}

fn strip_credentials(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Files changed by HEAD against its first parent (every file of a root commit), or
/// against the merge base with `base` when given.
pub fn changed_files(repo: &Path, base: Option<&str>) -> Result<Vec<String>, GitError> {
    let Some(base) = base else {
        return changed_files_at(repo, "HEAD");
    };
    let range = format!("{base}...HEAD");
    let output = git(
        repo,
        &["diff", "--name-only", "--no-renames", "-z", &range],
        LOCAL_TIMEOUT,
    )?;
    Ok(output
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// Files changed by `commit` against its first parent (every file of a root commit).
pub fn changed_files_at(repo: &Path, commit: &str) -> Result<Vec<String>, GitError> {
    let parent = format!("{commit}^1");
    let output = if git(
        repo,
        &["rev-parse", "--verify", "-q", &parent],
        LOCAL_TIMEOUT,
    )
    .is_ok()
    {
        git(
            repo,
            &["diff", "--name-only", "--no-renames", "-z", &parent, commit],
            LOCAL_TIMEOUT,
        )?
    } else {
        git(
            repo,
            &["ls-tree", "-r", "--name-only", "-z", commit],
            LOCAL_TIMEOUT,
        )?
    };
    Ok(output
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// The contents of `path` at `commit`.
pub fn show_file(repo: &Path, commit: &str, path: &str) -> Result<String, GitError> {
    git(repo, &["show", &format!("{commit}:{path}")], LOCAL_TIMEOUT)
}

/// Reads `path` at a pinned `reference` of the repository at `url`, fetching into a cache
/// (a bare repository per URL under `cache_dir`). Returns the text and the resolved commit.
pub fn fetch_file(
    cache_dir: &Path,
    url: &str,
    reference: &str,
    path: &str,
) -> Result<(String, String), GitError> {
    let name: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let repo = cache_dir.join(name);
    std::fs::create_dir_all(&repo).map_err(|source| GitError::Io {
        command: "init".into(),
        source,
    })?;
    if !repo.join("HEAD").exists() {
        git(&repo, &["init", "--bare", "-q"], LOCAL_TIMEOUT)?;
    }
    let commit = match git(
        &repo,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("{reference}^{{commit}}"),
        ],
        LOCAL_TIMEOUT,
    ) {
        // A pinned ref already fetched: tags and commits do not move, so the cache is final.
        Ok(commit) => commit.trim().to_string(),
        Err(_) => {
            let refspec = if reference.len() == 40 {
                reference.to_string()
            } else {
                format!("+refs/tags/{reference}:refs/tags/{reference}")
            };
            git(
                &repo,
                &["fetch", "-q", "--no-tags", "--depth", "1", url, &refspec],
                FETCH_TIMEOUT,
            )
            .or_else(|_| {
                git(&repo, &["fetch", "-q", "--tags", url], FETCH_TIMEOUT).map(|_| String::new())
            })?;
            git(
                &repo,
                &["rev-parse", "--verify", &format!("{reference}^{{commit}}")],
                LOCAL_TIMEOUT,
            )?
            .trim()
            .to_string()
        }
    };
    let text = git(&repo, &["show", &format!("{commit}:{path}")], LOCAL_TIMEOUT)?;
    Ok((text, commit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_repository_uri() {
        assert_eq!(
            strip_credentials("https://user:token@git.example.org/acme/app.git"),
            "https://git.example.org/acme/app.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:acme/app.git"),
            "git@github.com:acme/app.git"
        );
    }

    fn run(dir: &Path, args: &[&str]) {
        git(dir, args, LOCAL_TIMEOUT).unwrap();
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init", "-q", "-b", "main"]);
        run(dir.path(), &["config", "user.email", "dev@example.org"]);
        run(dir.path(), &["config", "user.name", "Dev"]);
        run(dir.path(), &["config", "commit.gpgsign", "false"]);
        dir
    }

    #[test]
    fn changed_files_of_root_and_later_commits() {
        let dir = repo();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        run(dir.path(), &["add", "."]);
        run(dir.path(), &["commit", "-q", "-m", "one"]);
        assert_eq!(changed_files(dir.path(), None).unwrap(), ["a.txt"]);
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/b.rs"), "b").unwrap();
        run(dir.path(), &["add", "."]);
        run(dir.path(), &["commit", "-q", "-m", "two"]);
        assert_eq!(changed_files(dir.path(), None).unwrap(), ["src/b.rs"]);
        assert_eq!(
            changed_files(dir.path(), Some("HEAD~1")).unwrap(),
            ["src/b.rs"]
        );
        let head = head(dir.path()).unwrap();
        assert_eq!(head.git_ref, "refs/heads/main");
        assert_eq!(head.actor, "dev@example.org");
    }

    #[test]
    fn fetches_a_pinned_file_and_reports_failures() {
        let origin = repo();
        std::fs::write(origin.path().join("t.yml"), "jobs: {}\n").unwrap();
        run(origin.path(), &["add", "."]);
        run(origin.path(), &["commit", "-q", "-m", "t"]);
        run(origin.path(), &["tag", "v1.0.0"]);
        let cache = tempfile::tempdir().unwrap();
        let url = format!("file://{}", origin.path().display());
        let (text, commit) = fetch_file(cache.path(), &url, "v1.0.0", "t.yml").unwrap();
        assert_eq!(text, "jobs: {}\n");
        assert_eq!(commit.len(), 40);
        let (_, again) = fetch_file(cache.path(), &url, &commit, "t.yml").unwrap();
        assert_eq!(again, commit);
        assert!(fetch_file(cache.path(), &url, "v9.9.9", "t.yml").is_err());
        assert!(fetch_file(cache.path(), &url, "v1.0.0", "missing.yml").is_err());
    }

    #[test]
    fn times_out() {
        let dir = tempfile::tempdir().unwrap();
        // `git -c alias...` with a shell alias that sleeps stands for a hung git.
        let error = git(
            dir.path(),
            &["-c", "alias.hang=!sleep 5", "hang"],
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(matches!(error, GitError::TimedOut { .. }), "{error}");
    }
}
