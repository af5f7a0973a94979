//! Git range scans against real scratch repositories built with the git CLI.

mod common;

use common::{Rng, fill, tool_available};
use slipway_secretscan::{Error, ScanOptions, Scanner};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn git(repo: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn commit_file(repo: &Path, name: &str, content: &str, message: &str) -> String {
    let path = repo.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

struct History {
    _dir: tempfile::TempDir,
    repo: std::path::PathBuf,
    commits: Vec<String>,
    token: String,
}

/// c0 creates `config.env`; c1 adds a token on line 3; c2 changes line 2 only (the token is
/// unchanged context); c3 removes the token.
fn history() -> History {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let repo = dir.path().to_path_buf();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.name", "Ada Lovelace"]);
    git(&repo, &["config", "user.email", "ada@example.org"]);
    git(&repo, &["config", "commit.gpgsign", "false"]);
    let token = fill("ghp_{gh}", &mut Rng::seeded("git-history"));
    let c0 = commit_file(&repo, "config.env", "A=1\nB=2\n", "start");
    let c1 = commit_file(
        &repo,
        "config.env",
        &format!("A=1\nB=2\nGITHUB_TOKEN={token}\n"),
        "add token",
    );
    let c2 = commit_file(
        &repo,
        "config.env",
        &format!("A=1\nB=3\nGITHUB_TOKEN={token}\n"),
        "change B",
    );
    let c3 = commit_file(&repo, "config.env", "A=1\nB=3\n", "remove token");
    History {
        _dir: dir,
        repo,
        commits: vec![c0, c1, c2, c3],
        token,
    }
}

#[test]
fn a_removed_secret_is_still_found_in_the_range_with_commit_and_author() {
    if !tool_available("git") {
        return;
    }
    let history = history();
    let range = format!("{}..HEAD", history.commits[0]);
    let report = Scanner::builtin()
        .scan_git(&history.repo, &range, &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.rule, "github-pat");
    assert_eq!(finding.file, "config.env");
    assert_eq!(finding.line, 3);
    assert_eq!(finding.column, 14);
    assert_eq!(finding.commit.as_deref(), Some(history.commits[1].as_str()));
    assert_eq!(
        finding.author.as_deref(),
        Some("Ada Lovelace <ada@example.org>")
    );
    assert!(!finding.excerpt.contains(&history.token));
    // The same fingerprint as a tree scan of the file would give.
    let tree = Scanner::builtin().scan_bytes(
        "config.env",
        format!("GITHUB_TOKEN={}\n", history.token).as_bytes(),
    );
    assert_eq!(tree[0].fingerprint, finding.fingerprint);
    // Three commits with added lines in config.env (c1, c2 and none for c3's deletion).
    assert_eq!(report.scanned_files, 2);
}

#[test]
fn lines_only_in_context_are_not_reported() {
    if !tool_available("git") {
        return;
    }
    let history = history();
    let range = format!("{}..HEAD", history.commits[1]);
    let report = Scanner::builtin()
        .scan_git(&history.repo, &range, &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.scanned_files, 1);
}

#[test]
fn a_single_commit_means_that_commit_alone() {
    if !tool_available("git") {
        return;
    }
    let history = history();
    let scanner = Scanner::builtin();
    let added = scanner
        .scan_git(&history.repo, &history.commits[1], &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(added.findings.len(), 1);
    let later = scanner
        .scan_git(&history.repo, &history.commits[2], &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(later.findings.is_empty());
    // The root commit works too (it has no parent to exclude).
    let root = scanner
        .scan_git(&history.repo, &history.commits[0], &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(root.scanned_files, 1);
}

#[test]
fn unusual_paths_and_vendored_files() {
    if !tool_available("git") {
        return;
    }
    let history = history();
    let token = fill("npm_{gh}", &mut Rng::seeded("git-paths"));
    let base = git(&history.repo, &["rev-parse", "HEAD"]);
    std::fs::create_dir_all(history.repo.join("vendor/lib")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        history.repo.join("vendor/lib/x.env"),
        format!("T={token}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    commit_file(
        &history.repo,
        "conf dir/café \"q\".env",
        &format!("\nNPM_TOKEN={token}\n"),
        "odd path",
    );
    let report = Scanner::builtin()
        .scan_git(
            &history.repo,
            &format!("{base}..HEAD"),
            &ScanOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].file, "conf dir/café \"q\".env");
    assert_eq!(report.findings[0].line, 2);
    assert_eq!(report.skipped.vendored, 1);
}

#[test]
fn errors_name_the_command_and_never_the_content() {
    if !tool_available("git") {
        return;
    }
    let history = history();
    let error = Scanner::builtin()
        .scan_git(&history.repo, "no-such-ref..HEAD", &ScanOptions::default())
        .err()
        .unwrap_or_else(|| panic!("a bad range must fail"));
    let message = error.to_string();
    assert!(matches!(error, Error::Git { .. }), "{message}");
    assert!(
        message.contains("git ") && message.contains("no-such-ref..HEAD"),
        "{message}"
    );
    assert!(!message.contains(&history.token));
    let refused = Scanner::builtin().scan_git(&history.repo, "--all", &ScanOptions::default());
    assert!(matches!(refused, Err(Error::InvalidRange { .. })));
}

#[test]
fn a_git_call_past_its_timeout_is_stopped() {
    if !tool_available("git") {
        return;
    }
    let history = history();
    let error = Scanner::builtin()
        .with_git_timeout(Duration::from_nanos(1))
        .scan_git(
            &history.repo,
            &format!("{}..HEAD", history.commits[0]),
            &ScanOptions::default(),
        )
        .err()
        .unwrap_or_else(|| panic!("a 1 ns timeout must stop git"));
    assert!(matches!(error, Error::GitTimeout { .. }), "{error}");
    assert!(error.to_string().contains("did not finish"), "{error}");
}
