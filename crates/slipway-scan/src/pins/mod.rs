//! Pinning checks: what a build pulls in must be named by content, not by a name that can
//! move. Container base images need a digest, pipeline templates and GitHub Actions a full
//! commit, dependency manifests a lockfile that agrees with them.
//!
//! Each rule reads its files with a real parser (TOML, JSON, YAML through `slipway-pipeline`
//! and `serde-saphyr`) and reports only what is certain; a file that cannot be parsed is
//! listed in [`PinReport::skipped`] with the parser's reason instead.

mod actions;
mod docker;
mod lockfiles;
mod templates;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// One pinning problem.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PinFinding {
    /// One of the ids of [`rules`].
    pub rule: &'static str,
    /// Relative to the scanned root, `/`-separated.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// What is unpinned and why it matters.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// A file a rule wanted to read but could not parse.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Relative to the scanned root.
    pub file: String,
    /// The parser's complaint, with its position.
    pub reason: String,
}

/// Everything [`check`] found.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PinReport {
    /// Sorted by file, line, column and rule.
    pub findings: Vec<PinFinding>,
    /// Files read by at least one rule.
    pub checked_files: u64,
    /// Files that could not be parsed, so their rules did not run.
    pub skipped: Vec<Skipped>,
}

/// A rule's metadata, for SARIF and documentation.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinRule {
    /// Stable id.
    pub id: &'static str,
    /// One sentence.
    pub description: &'static str,
    /// How to fix a finding.
    pub help: &'static str,
}

/// `FROM` without a digest.
pub const UNPINNED_BASE_IMAGE: &str = "unpinned-base-image";
/// A git pipeline template not pinned to a commit.
pub const UNPINNED_TEMPLATE: &str = "unpinned-template";
/// A GitHub Action not pinned to a commit.
pub const UNPINNED_ACTION: &str = "unpinned-action";
/// A dependency manifest without a lockfile.
pub const MISSING_LOCKFILE: &str = "missing-lockfile";
/// A lockfile that does not satisfy its manifest.
pub const LOCKFILE_OUT_OF_SYNC: &str = "lockfile-out-of-sync";

const RULES: [PinRule; 5] = [
    PinRule {
        id: UNPINNED_BASE_IMAGE,
        description: "A container build's FROM names an image by tag, which can be moved to other content.",
        help: "Pin the image by digest: `FROM image:tag@sha256:<64 hex>` (find it with `docker buildx imagetools inspect image:tag`); keep the tag for readers.",
    },
    PinRule {
        id: UNPINNED_TEMPLATE,
        description: "A pipeline includes a git template by branch or tag instead of a full commit.",
        help: "Include the template at a full 40-character commit: `git+URL//path@<commit>`.",
    },
    PinRule {
        id: UNPINNED_ACTION,
        description: "A GitHub Actions workflow uses an action or reusable workflow by branch or tag instead of a full commit.",
        help: "Pin `uses:` to the full 40-character commit sha of the release and keep the tag in a comment: `uses: owner/repo@<sha> # v4.1.1`.",
    },
    PinRule {
        id: MISSING_LOCKFILE,
        description: "A dependency manifest has no lockfile, so every install may resolve different versions.",
        help: "Generate the lockfile with the package manager (`cargo generate-lockfile`, `npm install`, `poetry lock`, `uv lock`, `bundle lock`, `go mod tidy`, `composer update --lock`) and commit it.",
    },
    PinRule {
        id: LOCKFILE_OUT_OF_SYNC,
        description: "A lockfile no longer matches its manifest: a dependency is missing from it or locked at a version the manifest does not allow.",
        help: "Update the lockfile with the package manager (`cargo update -w`, `npm install`) and commit it together with the manifest.",
    },
];

/// The rules, in a stable order.
pub fn rules() -> &'static [PinRule] {
    &RULES
}

fn help_of(rule: &str) -> String {
    RULES
        .iter()
        .find(|candidate| candidate.id == rule)
        .map(|candidate| candidate.help.to_string())
        .unwrap_or_default()
}

/// Why a pinning check could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The root is missing or not a directory.
    #[error("{}: cannot check pins: not a directory; pass the repository's root", path.display())]
    NotADirectory {
        /// The root given.
        path: PathBuf,
    },
    /// Walking the tree failed.
    #[error("{}: cannot check pins: {source}", path.display())]
    Walk {
        /// Where the walk failed.
        path: PathBuf,
        /// The walk's error.
        #[source]
        source: walkdir::Error,
    },
}

/// Directories never looked into: dependencies and build output, not the project's own files.
const SKIPPED_DIRECTORIES: [&str; 4] = ["node_modules", "vendor", "target", ".git"];

/// Checks every rule under `root`.
pub fn check(root: &Path) -> Result<PinReport, Error> {
    if !root.is_dir() {
        return Err(Error::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let files = walk(root)?;
    let mut scan = Scan {
        root,
        files: &files,
        report: PinReport::default(),
    };
    docker::check(&mut scan);
    actions::check(&mut scan);
    templates::check(&mut scan);
    lockfiles::check(&mut scan);
    let mut report = scan.report;
    report.findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule))
    });
    report.findings.dedup();
    report.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    report.skipped.dedup();
    Ok(report)
}

/// Every file under `root`, relative and `/`-separated, sorted.
fn walk(root: &Path) -> Result<Vec<String>, Error> {
    let mut files = Vec::new();
    let entries = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            !(entry.depth() > 0
                && entry.file_type().is_dir()
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| SKIPPED_DIRECTORIES.contains(&name)))
        });
    for entry in entries {
        let entry = entry.map_err(|source| Error::Walk {
            path: source
                .path()
                .map_or_else(|| root.to_path_buf(), Path::to_path_buf),
            source,
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        if let Ok(relative) = entry.path().strip_prefix(root) {
            let parts: Option<Vec<&str>> = relative
                .components()
                .map(|component| component.as_os_str().to_str())
                .collect();
            // Paths that are not UTF-8 cannot be named in a finding; no manifest is named so.
            if let Some(parts) = parts {
                files.push(parts.join("/"));
            }
        }
    }
    // Sorted as strings (not per directory, as the walk is) for `Scan::exists`.
    files.sort();
    Ok(files)
}

/// The state the rules share while checking one tree.
struct Scan<'a> {
    root: &'a Path,
    files: &'a [String],
    report: PinReport,
}

impl Scan<'_> {
    /// Reads a file as text, counting it as checked; a failure is recorded as skipped.
    fn read(&mut self, file: &str) -> Option<String> {
        match std::fs::read(self.root.join(file)) {
            Ok(bytes) => {
                self.report.checked_files += 1;
                match String::from_utf8(bytes) {
                    Ok(text) => Some(text),
                    Err(_) => {
                        self.skip(file, "not UTF-8 text".to_string());
                        None
                    }
                }
            }
            Err(error) => {
                self.skip(file, format!("cannot read: {error}"));
                None
            }
        }
    }

    fn exists(&self, file: &str) -> bool {
        self.files
            .binary_search_by(|f| f.as_str().cmp(file))
            .is_ok()
    }

    fn skip(&mut self, file: &str, reason: String) {
        self.report.skipped.push(Skipped {
            file: file.to_string(),
            reason,
        });
    }

    fn find(&mut self, rule: &'static str, file: &str, position: Position, message: String) {
        self.report.findings.push(PinFinding {
            rule,
            file: file.to_string(),
            line: position.line,
            column: position.column,
            message,
            help: help_of(rule),
        });
    }
}

/// A 1-based line and character column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    line: u32,
    column: u32,
}

impl Position {
    const START: Position = Position { line: 1, column: 1 };

    /// The line and character column of a byte offset in `text`.
    fn of_offset(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = text.get(..offset).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let line = before.matches('\n').count() + 1;
        let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// The directory part of a relative path (`""` at the root).
fn parent(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(directory, _)| directory)
}

/// The last component of a relative path.
fn file_name(file: &str) -> &str {
    file.rsplit_once('/').map_or(file, |(_, name)| name)
}

/// `directory/name`, or `name` at the root.
fn join(directory: &str, name: &str) -> String {
    if directory.is_empty() {
        name.to_string()
    } else {
        format!("{directory}/{name}")
    }
}

/// A full git commit id.
fn is_commit(reference: &str) -> bool {
    reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let text = "ab\nçd x\n";
        assert_eq!(Position::of_offset(text, 0), Position::START);
        assert_eq!(
            Position::of_offset(text, 3),
            Position { line: 2, column: 1 }
        );
        // `ç` is two bytes: the `x` at byte 7 is the fourth character of line 2.
        assert_eq!(
            Position::of_offset(text, 7),
            Position { line: 2, column: 4 }
        );
        assert_eq!(
            Position::of_offset(text, 99),
            Position { line: 3, column: 1 }
        );
    }

    #[test]
    fn rule_ids_are_unique_and_have_help() {
        let mut ids: Vec<&str> = rules().iter().map(|rule| rule.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules().len());
        assert!(rules().iter().all(|rule| !rule.help.is_empty()));
    }

    #[test]
    fn paths() {
        assert_eq!(parent("a/b/Cargo.toml"), "a/b");
        assert_eq!(parent("Cargo.toml"), "");
        assert_eq!(file_name("a/b/Cargo.toml"), "Cargo.toml");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", "x"), "a/x");
        assert!(is_commit(&"0a".repeat(20)));
        assert!(!is_commit("v4"));
    }
}
