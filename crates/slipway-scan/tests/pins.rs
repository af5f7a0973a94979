//! Pinning checks over the fixture trees of `tests/data/pins/`, one tree per rule family,
//! each with files that must be reported (at an exact file:line:column) and files that must
//! not.

use slipway_scan::pins::{Error, PinReport, check, rules};
use std::path::{Path, PathBuf};

fn tree(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pins")
        .join(name)
}

fn report(name: &str) -> PinReport {
    check(&tree(name)).unwrap()
}

/// `rule file:line:column` for every finding, in report order.
fn located(report: &PinReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| format!("{} {}:{}:{}", f.rule, f.file, f.line, f.column))
        .collect()
}

fn message<'a>(report: &'a PinReport, file: &str, line: u32) -> &'a str {
    report
        .findings
        .iter()
        .find(|f| f.file == file && f.line == line)
        .map(|f| f.message.as_str())
        .unwrap_or_else(|| panic!("no finding at {file}:{line}"))
}

#[test]
fn base_images_need_a_digest() {
    let report = report("docker");
    assert_eq!(
        located(&report),
        [
            "unpinned-base-image Containerfile.prod:3:3",
            "unpinned-base-image Dockerfile:6:6",
            "unpinned-base-image Dockerfile:17:6",
            "unpinned-base-image Dockerfile:20:6",
            "unpinned-base-image Dockerfile:22:6",
            "unpinned-base-image services/api.Dockerfile:1:6",
        ]
    );
    // Dockerfile, Containerfile.prod, pinned/Dockerfile, services/api.Dockerfile; not the
    // .dockerignore, nor anything under node_modules/ or vendor/.
    assert_eq!(report.checked_files, 4);
    assert!(message(&report, "Dockerfile", 6).contains("`rust:1.83` with the ARG defaults"));
    assert!(message(&report, "Dockerfile", 17).contains("`debian:12-slim`"));
    assert!(message(&report, "Dockerfile", 20).contains("`sha256:abc`"));
    assert!(message(&report, "Dockerfile", 22).contains("build argument `NOVALUE`"));
    assert!(report.findings.iter().all(|f| f.help.contains("@sha256:")));
}

#[test]
fn actions_need_a_commit() {
    let report = report("actions");
    assert_eq!(
        located(&report),
        [
            "unpinned-action .github/workflows/ci.yml:8:34",
            "unpinned-action .github/workflows/ci.yml:13:15",
            "unpinned-action .github/workflows/ci.yml:16:15",
            "unpinned-action .github/workflows/ci.yml:18:50",
        ]
    );
    assert!(message(&report, ".github/workflows/ci.yml", 8).contains("`v4`"));
    assert!(message(&report, ".github/workflows/ci.yml", 16).contains("no ref"));
    assert!(message(&report, ".github/workflows/ci.yml", 18).starts_with("reusable workflow"));
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].file, ".github/workflows/broken.yaml");
    assert!(
        report.skipped[0].reason.contains("line 3 column 14"),
        "{:?}",
        report.skipped
    );
}

#[test]
fn git_templates_need_a_commit() {
    let report = report("templates");
    assert_eq!(
        located(&report),
        [
            "unpinned-template ci/local.yml:2:57",
            "unpinned-template slipway.yml:4:56",
            "unpinned-template slipway.yml:6:15",
        ]
    );
    assert!(message(&report, "slipway.yml", 4).contains("`v1.4.2`, which can be moved"));
    assert!(message(&report, "slipway.yml", 6).contains("names no ref"));
    assert_eq!(
        report.checked_files, 2,
        "slipway.yml and the local template it includes"
    );
}

#[test]
fn lockfiles_missing_and_out_of_sync() {
    let report = report("lockfiles");
    assert_eq!(
        located(&report),
        [
            "lockfile-out-of-sync cargo-workspace/crates/app/Cargo.toml:9:1",
            "lockfile-out-of-sync cargo-workspace/crates/app/Cargo.toml:10:1",
            "missing-lockfile cargo-workspace/crates/standalone/Cargo.toml:1:1",
            "missing-lockfile missing/cargo-ws/Cargo.toml:2:1",
            "missing-lockfile missing/go/go.mod:5:1",
            "missing-lockfile missing/js/package.json:4:3",
            "missing-lockfile missing/php/composer.json:2:5",
            "missing-lockfile missing/pipenv/Pipfile:5:1",
            "missing-lockfile missing/poetry/pyproject.toml:4:1",
            "missing-lockfile missing/py/pyproject.toml:4:1",
            "missing-lockfile missing/ruby/Gemfile:3:1",
            "lockfile-out-of-sync npm-project/package.json:6:5",
            "lockfile-out-of-sync npm-project/package.json:13:5",
        ]
    );
    let app = "cargo-workspace/crates/app/Cargo.toml";
    assert_eq!(
        message(&report, app, 9),
        "dependency `anyhow` is not in cargo-workspace/Cargo.lock: the lockfile was not updated after it was added"
    );
    assert_eq!(
        message(&report, app, 10),
        "dependency `itoa` requires `2`, but cargo-workspace/Cargo.lock locks 1.0.11"
    );
    assert_eq!(
        message(&report, "npm-project/package.json", 6),
        "`lodash` is locked at 3.10.1, which is outside package.json's range `^4.17.0`"
    );
    assert!(message(&report, "npm-project/package.json", 13).contains("`new-dep`"));
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].file, "missing/broken/Cargo.toml");
    assert!(
        report.skipped[0].reason.contains("line 1, column 9"),
        "{:?}",
        report.skipped
    );
}

#[test]
fn in_sync_trees_are_clean() {
    for name in [
        "lockfiles/cargo-single",
        "lockfiles/npm-in-sync",
        "lockfiles/npm-workspace",
        "docker/pinned",
    ] {
        let report = report(name);
        assert_eq!(located(&report), Vec::<String>::new(), "{name}");
        assert!(report.checked_files > 0, "{name}");
    }
}

#[test]
fn a_new_dependency_shows_up_once_added() {
    // The same workspace as the fixture, changed the way a developer would: add a
    // dependency to a member without running cargo.
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    let fixture = tree("lockfiles/cargo-single");
    for file in ["Cargo.toml", "Cargo.lock", "local/Cargo.toml"] {
        let target = root.join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(fixture.join(file), &target).unwrap();
    }
    assert!(check(root).unwrap().findings.is_empty());
    let manifest = root.join("local/Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[dependencies]\nregex = \"1.10\"\nlibc = \"0.3\"\n");
    std::fs::write(&manifest, text).unwrap();
    // Make it a workspace member, whose dependencies are checked against the lockfile.
    let mut root_manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    root_manifest.push_str("\n[workspace]\nmembers = [\"local\"]\n");
    std::fs::write(root.join("Cargo.toml"), root_manifest).unwrap();
    let report = check(root).unwrap();
    assert_eq!(
        located(&report),
        [
            "lockfile-out-of-sync local/Cargo.toml:7:1",
            "lockfile-out-of-sync local/Cargo.toml:8:1",
        ]
    );
    assert!(
        report.findings[1]
            .message
            .contains("requires `0.3`, but Cargo.lock locks 0.2.155")
    );
}

#[test]
fn a_missing_root_is_an_error() {
    let error = check(Path::new("/nonexistent/slipway-pins")).unwrap_err();
    assert!(matches!(error, Error::NotADirectory { .. }));
    assert!(error.to_string().contains("not a directory"), "{error}");
}

#[test]
fn every_finding_names_a_known_rule_with_help() {
    let known: Vec<&str> = rules().iter().map(|rule| rule.id).collect();
    for name in ["docker", "actions", "templates", "lockfiles"] {
        for finding in report(name).findings {
            assert!(known.contains(&finding.rule), "{}", finding.rule);
            let rule = rules().iter().find(|rule| rule.id == finding.rule).unwrap();
            assert_eq!(finding.help, rule.help);
        }
    }
}
