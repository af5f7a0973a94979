//! The scanner: rules plus an allowlist, applied to buffers, directory trees and git ranges.

use crate::allowlist::Allowlist;
use crate::engine;
use crate::error::Error;
use crate::report::{AllowedFinding, Finding, Report};
use crate::rules::{Rule, RuleSet};
use crate::walk::{self, Skip};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The default size cap per file: larger files are skipped and counted.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 20;
/// The default timeout of each git command.
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// What a scan includes. The default skips binary and vendored files and files over
/// [`DEFAULT_MAX_FILE_SIZE`], and uses every available core.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Scan `vendor/`, `node_modules/`, `third_party/` and minified files too.
    pub include_vendored: bool,
    /// Scan files that look binary too.
    pub include_binary: bool,
    /// Scan files `.gitignore` leaves out too (directory scans respect it by default).
    pub include_ignored: bool,
    /// The size cap per file in bytes (`None`: [`DEFAULT_MAX_FILE_SIZE`]).
    pub max_file_size: Option<u64>,
    /// Worker threads (`None`: the available parallelism).
    pub threads: Option<usize>,
}

impl ScanOptions {
    pub(crate) fn size_cap(&self) -> u64 {
        self.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE)
    }

    pub(crate) fn worker_count(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1)
    }
}

enum Rules {
    Builtin(&'static RuleSet),
    Custom(Arc<RuleSet>),
}

/// Secret scanner: the rules, an allowlist and the git timeout. Cheap to share across threads.
pub struct Scanner {
    rules: Rules,
    allowlist: Allowlist,
    git_timeout: Duration,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("rules", &self.rules().len())
            .field("git_timeout", &self.git_timeout)
            .finish_non_exhaustive()
    }
}

impl Scanner {
    /// The embedded rules and an empty allowlist.
    pub fn builtin() -> Scanner {
        Scanner {
            rules: Rules::Builtin(RuleSet::builtin()),
            allowlist: Allowlist::empty(),
            git_timeout: DEFAULT_GIT_TIMEOUT,
        }
    }

    /// Rules from a rules file in the embedded file's format (`file` names it in errors).
    /// Every regex is compiled and checked here.
    pub fn from_rules_toml(file: &Path, text: &str) -> Result<Scanner, Error> {
        Ok(Scanner {
            rules: Rules::Custom(Arc::new(RuleSet::parse(file, text)?)),
            allowlist: Allowlist::empty(),
            git_timeout: DEFAULT_GIT_TIMEOUT,
        })
    }

    /// The same scanner with `allowlist` applied to every finding.
    pub fn with_allowlist(self, allowlist: Allowlist) -> Scanner {
        Scanner { allowlist, ..self }
    }

    /// The same scanner with another timeout for each git command.
    pub fn with_git_timeout(self, git_timeout: Duration) -> Scanner {
        Scanner {
            git_timeout,
            ..self
        }
    }

    /// The rules, in file order (for SARIF rule metadata).
    pub fn rules(&self) -> &[Rule] {
        &self.set().rules
    }

    /// The allowlist in use.
    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    pub(crate) fn set(&self) -> &RuleSet {
        match &self.rules {
            Rules::Builtin(set) => set,
            Rules::Custom(set) => set,
        }
    }

    pub(crate) fn git_timeout(&self) -> Duration {
        self.git_timeout
    }

    /// Scans one file's content (`file` is the path to report, relative and `/`-separated)
    /// and returns the findings the allowlist does not excuse, in position order. Nothing is
    /// skipped: binary and size checks are the caller's (see [`Scanner::scan_blob`]).
    pub fn scan_bytes(&self, file: &str, bytes: &[u8]) -> Vec<Finding> {
        self.scan_bytes_with_allowed(file, bytes).0
    }

    /// Like [`Scanner::scan_bytes`], also returning the findings the allowlist excused.
    pub fn scan_bytes_with_allowed(
        &self,
        file: &str,
        bytes: &[u8],
    ) -> (Vec<Finding>, Vec<AllowedFinding>) {
        let set = self.set();
        let candidates = engine::candidates(set, file, bytes);
        if candidates.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let mut findings = Vec::new();
        let mut allowed = Vec::new();
        for located in engine::locate(set, file, bytes, &candidates) {
            let finding = located.finding;
            let excuse = if located.inline_allowed {
                Some(crate::report::AllowedBy::InlineComment)
            } else {
                self.allowlist
                    .excuse(&finding.rule, &finding.file, &finding.fingerprint)
            };
            match excuse {
                Some(allowed_by) => allowed.push(AllowedFinding {
                    finding,
                    allowed_by,
                }),
                None => findings.push(finding),
            }
        }
        (findings, allowed)
    }

    /// Scans one file's content as part of a larger scan (an artifact layer's entry, a stored
    /// log): binary, vendored and oversized content is skipped and counted per `options`.
    pub fn scan_blob(&self, file: &str, bytes: &[u8], options: &ScanOptions) -> Report {
        let mut report = Report::default();
        match walk::classify(
            file,
            Some(bytes),
            u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            options,
        ) {
            Some(Skip::Binary) => report.skipped.binary += 1,
            Some(Skip::Vendored) => report.skipped.vendored += 1,
            Some(Skip::TooLarge) => report.skipped.too_large += 1,
            None => {
                let (findings, allowed) = self.scan_bytes_with_allowed(file, bytes);
                report.findings = findings;
                report.allowed = allowed;
                report.scanned_files = 1;
                report.scanned_bytes = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                report.sort();
            }
        }
        report
    }

    /// Scans the tree under `root` in parallel; paths in the report are relative to `root`.
    pub fn scan_dir(&self, root: &Path, options: &ScanOptions) -> Result<Report, Error> {
        walk::scan_dir(self, root, options)
    }

    /// Scans the lines added by the commits of `range` (`A..B`, `A...B`, or a single commit,
    /// which means that commit alone) in the repository at `repo`, reporting each finding's
    /// commit and author and its line in the file as that commit left it.
    pub fn scan_git(
        &self,
        repo: &Path,
        range: &str,
        options: &ScanOptions,
    ) -> Result<Report, Error> {
        crate::git::scan_git(self, repo, range, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn scanner_is_send_and_sync() {
        assert_send_sync::<Scanner>();
    }
}
