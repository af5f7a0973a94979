//! One shape for what every scanner finds, so one gate policy and one waiver file cover them all.

use serde::Serialize;
use slipway_pipeline::model::{SarifLevel, VulnerabilitySeverity};

/// The gates, in the order reports list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    Secrets,
    Vulnerabilities,
    Pins,
    Sarif,
    /// Migrations that break the previous release (`slipway-migrations`).
    Migrations,
    /// Problems with the waivers themselves: expired, too long, malformed. Always blocking.
    Waivers,
}

impl Gate {
    pub const ALL: [Gate; 6] = [
        Gate::Secrets,
        Gate::Vulnerabilities,
        Gate::Pins,
        Gate::Sarif,
        Gate::Migrations,
        Gate::Waivers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Secrets => "secrets",
            Gate::Vulnerabilities => "vulnerabilities",
            Gate::Pins => "pins",
            Gate::Sarif => "sarif",
            Gate::Migrations => "migrations",
            Gate::Waivers => "waivers",
        }
    }
}

/// How bad a finding is, in its gate's own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum Grade {
    /// A vulnerability's severity.
    Severity(VulnerabilitySeverity),
    /// A SARIF result's level.
    Level(SarifLevel),
    /// Secrets, pins, migrations and waiver problems: the gate's mode alone decides.
    Finding,
}

impl Grade {
    /// The label shown in summaries: `critical`, `error`, or the gate's own word.
    pub fn label(self) -> &'static str {
        match self {
            Grade::Severity(severity) => severity_label(severity),
            Grade::Level(level) => level_label(level),
            Grade::Finding => "finding",
        }
    }
}

pub fn severity_label(severity: VulnerabilitySeverity) -> &'static str {
    match severity {
        VulnerabilitySeverity::Critical => "critical",
        VulnerabilitySeverity::High => "high",
        VulnerabilitySeverity::Medium => "medium",
        VulnerabilitySeverity::Low => "low",
        VulnerabilitySeverity::Unknown => "unknown",
    }
}

pub fn level_label(level: SarifLevel) -> &'static str {
    match level {
        SarifLevel::Error => "error",
        SarifLevel::Warning => "warning",
        SarifLevel::Note => "note",
    }
}

/// Where a finding is: a place in a file, a package, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Relative to the scanned root, with `/`; for artifacts and logs, prefixed by what was
    /// scanned (`artifact:/app/...`, `log:<run>/...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The package URL of a vulnerable package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The commit that added the line, for git-range scans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(column) = self.column {
                    write!(f, ":{column}")?;
                }
            }
            wrote = true;
        }
        if let Some(package) = &self.package {
            if wrote {
                write!(f, " ")?;
            }
            write!(f, "{package}")?;
            wrote = true;
        }
        if let Some(commit) = &self.commit {
            let short = commit.get(..12).unwrap_or(commit);
            write!(f, "{}(commit {short})", if wrote { " " } else { "" })?;
        }
        Ok(())
    }
}

/// One finding of any scanner.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub gate: Gate,
    /// A stable identity a waiver can name: a secret's fingerprint, `<advisory>@<purl>`, a
    /// SARIF result's fingerprint, `<rule>:<file>:<line>` for pins.
    pub id: String,
    /// The rule id, advisory id or check that produced it.
    pub rule: String,
    /// Other names of the rule (CVE and GHSA aliases of an advisory); waivers may use them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub grade: Grade,
    /// One line saying what was found; never contains a secret.
    pub title: String,
    pub location: Location,
    /// Whether a fixed version exists (vulnerabilities).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixable: bool,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Finding {
    /// Every name a waiver's `id` may match.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [self.id.as_str(), self.rule.as_str()]
            .into_iter()
            .chain(self.aliases.iter().map(String::as_str))
    }
}
