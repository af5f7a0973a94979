//! What a scan returns: findings (never holding the secret itself), the findings an
//! allowlist excused and why, and what was scanned or skipped.

use crate::rules::Severity;
use serde::Serialize;

/// One secret found. It holds no copy of the secret: the excerpt shows at most its first four
/// characters, and the fingerprint is a one-way hash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The id of the rule that matched.
    pub rule: String,
    /// The file, relative to the scanned root, `/`-separated.
    pub file: String,
    /// 1-based line where the secret starts.
    pub line: u32,
    /// 1-based column (in characters) where the secret starts.
    pub column: u32,
    /// 1-based line where the secret ends (differs from `line` for multi-line secrets such as
    /// PEM private keys).
    pub end_line: u32,
    /// 1-based column just past the secret's last character, on `end_line`.
    pub end_column: u32,
    /// Lowercase hex SHA-256 of `rule \0 file \0 secret`, first 32 characters: what
    /// allowlists name.
    pub fingerprint: String,
    /// The line around the secret with the secret shortened to its first four characters,
    /// `…` and its length, e.g. `token = "ghp_…(40 chars)"`.
    pub excerpt: String,
    /// The commit that added the line (git scans only).
    pub commit: Option<String>,
    /// `Name <email>` of the commit's author (git scans only).
    pub author: Option<String>,
    /// The rule's severity.
    pub severity: Severity,
    /// Shannon entropy of the secret, for rules with an entropy threshold.
    pub entropy: Option<f32>,
}

impl Finding {
    /// The order every report uses: file, line, column, rule, then commit.
    fn sort_key(&self) -> (&str, u32, u32, &str, Option<&str>) {
        (
            &self.file,
            self.line,
            self.column,
            &self.rule,
            self.commit.as_deref(),
        )
    }
}

/// Why a finding was not reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AllowedBy {
    /// The allowlist names the finding's fingerprint.
    Fingerprint {
        /// The reason written next to the fingerprint, if any.
        reason: Option<String>,
    },
    /// The allowlist has a glob matching the finding's file.
    Path {
        /// The glob as written.
        glob: String,
    },
    /// The allowlist disables the finding's rule.
    Rule,
    /// The line carries a `slipway:allow-secret` comment.
    InlineComment,
}

/// A finding an allowlist excused, kept so that nothing is dropped silently.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AllowedFinding {
    /// The finding as it would have been reported.
    #[serde(flatten)]
    pub finding: Finding,
    /// Which allowlist entry excused it.
    pub allowed_by: AllowedBy,
}

/// Files not scanned, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Binary files: a NUL byte in the first 8 KiB or a known binary extension.
    pub binary: u64,
    /// Files in vendored directories (`vendor/`, `node_modules/`, `third_party/`) and
    /// minified `*.min.js` / `*.min.css`.
    pub vendored: u64,
    /// Files over the size cap.
    pub too_large: u64,
}

/// The result of a scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Reported findings, sorted by file, line, column, rule (then commit).
    pub findings: Vec<Finding>,
    /// Findings an allowlist excused, in the same order.
    pub allowed: Vec<AllowedFinding>,
    /// Files (or, for git scans, per-commit file diffs) scanned.
    pub scanned_files: u64,
    /// Bytes scanned (for git scans, the bytes of added lines).
    pub scanned_bytes: u64,
    /// Files skipped, by reason.
    pub skipped: Skipped,
}

impl Report {
    /// Adds `other` (another layer, another log) to this report, keeping the order.
    pub fn merge(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.allowed.extend(other.allowed);
        self.scanned_files += other.scanned_files;
        self.scanned_bytes += other.scanned_bytes;
        self.skipped.binary += other.skipped.binary;
        self.skipped.vendored += other.skipped.vendored;
        self.skipped.too_large += other.skipped.too_large;
        self.sort();
    }

    /// Puts findings and allowed findings in the deterministic report order.
    pub fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.allowed
            .sort_by(|a, b| a.finding.sort_key().cmp(&b.finding.sort_key()));
    }

    /// Whether nothing was reported (allowed findings do not count).
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}
