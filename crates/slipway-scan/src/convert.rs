//! Each scanner's results as [`Finding`]s.

use crate::finding::{Finding, Gate, Grade, Location};
use crate::pins::PinReport;
use slipway_osv::VulnFinding;
use slipway_osv::cvss::Severity;
use slipway_pipeline::model::{SarifLevel, VulnerabilitySeverity};

/// Secrets found by `slipway-secretscan`. `prefix` names what was scanned when it is not the
/// source tree (`artifact:`, `log:`), so a waiver scope can tell them apart.
pub fn secrets(report: &slipway_secretscan::Report, prefix: &str) -> Vec<Finding> {
    report
        .findings
        .iter()
        .map(|found| {
            let file = format!("{prefix}{}", found.file);
            Finding {
                gate: Gate::Secrets,
                id: found.fingerprint.clone(),
                rule: found.rule.clone(),
                aliases: Vec::new(),
                grade: Grade::Finding,
                title: format!("{} secret: {}", found.rule, found.excerpt),
                location: Location {
                    file: Some(file),
                    line: Some(found.line),
                    column: Some(found.column),
                    package: None,
                    commit: found.commit.clone(),
                },
                fixable: false,
                help: Some(
                    "revoke and rotate the credential, remove it from the code (and history), and read it from a secret store at run time".into(),
                ),
            }
        })
        .collect()
}

/// The gate's severity of an advisory match: the computed CVSS score when there is a vector,
/// else the database's label, else unknown.
pub fn vulnerability_severity(found: &VulnFinding) -> VulnerabilitySeverity {
    if found.severity_source == slipway_osv::SeveritySource::Unknown {
        return VulnerabilitySeverity::Unknown;
    }
    match found.severity {
        Severity::Critical => VulnerabilitySeverity::Critical,
        Severity::High => VulnerabilitySeverity::High,
        Severity::Medium => VulnerabilitySeverity::Medium,
        Severity::Low | Severity::None => VulnerabilitySeverity::Low,
    }
}

/// Known vulnerabilities of packages.
pub fn vulnerabilities(found: &[VulnFinding]) -> Vec<Finding> {
    found
        .iter()
        .map(|v| {
            let fixed = if v.fixed.is_empty() {
                "no fixed version".to_string()
            } else {
                format!("fixed in {}", v.fixed.join(", "))
            };
            let score = v.score.map(|s| format!(" {s:.1}")).unwrap_or_default();
            let summary = v
                .summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            let informational = v
                .informational
                .as_deref()
                .map(|kind| format!(" [informational: {kind}]"))
                .unwrap_or_default();
            let help = match v.fixed.first() {
                Some(first) => format!("upgrade {} to {first} or later", v.package),
                None => "no release fixes it yet: remove the dependency, or waive the finding with a reason and an expiry".into(),
            };
            Finding {
                gate: Gate::Vulnerabilities,
                id: format!("{}@{}", v.advisory, v.purl),
                rule: v.advisory.clone(),
                aliases: v.aliases.clone(),
                grade: Grade::Severity(vulnerability_severity(v)),
                title: format!(
                    "{} {}{score} in {} {} ({fixed}){informational}{summary}",
                    v.advisory,
                    crate::finding::severity_label(vulnerability_severity(v)),
                    v.package,
                    v.version
                ),
                location: Location {
                    file: v.sources.first().cloned(),
                    package: Some(v.purl.clone()),
                    ..Location::default()
                },
                fixable: !v.fixed.is_empty(),
                help: Some(help),
            }
        })
        .collect()
}

/// Pinning problems.
pub fn pins(report: &PinReport) -> Vec<Finding> {
    report
        .findings
        .iter()
        .map(|p| Finding {
            gate: Gate::Pins,
            id: format!("{}:{}:{}", p.rule, p.file, p.line),
            rule: p.rule.to_string(),
            aliases: Vec::new(),
            grade: Grade::Finding,
            title: p.message.clone(),
            location: Location {
                file: Some(p.file.clone()),
                line: Some(p.line),
                column: Some(p.column),
                ..Location::default()
            },
            fixable: true,
            help: Some(p.help.clone()),
        })
        .collect()
}

/// Migrations that break the previous release. `prefix` is the migrations directory relative
/// to the scanned root (`db/migrations/`), so locations and waiver ids name files as the
/// repository does.
pub fn migrations(report: &slipway_migrations::Report, prefix: &str) -> Vec<Finding> {
    report
        .findings
        .iter()
        .map(|m| {
            let file = format!("{prefix}{}", m.file);
            Finding {
                gate: Gate::Migrations,
                id: format!("{}:{file}:{}", m.rule, m.line),
                rule: m.rule.as_str().to_string(),
                aliases: Vec::new(),
                grade: Grade::Finding,
                title: format!("{}: {}", m.rule, m.message),
                location: Location {
                    file: Some(file),
                    line: Some(m.line),
                    column: Some(m.column),
                    ..Location::default()
                },
                fixable: true,
                help: Some(m.help.clone()),
            }
        })
        .collect()
}

/// A migrations directory that could not be checked at all (duplicate versions, unreadable
/// files): a finding, so the gate cannot pass without its migrations being checked.
pub fn unreadable_migrations(dir: &str, error: &slipway_migrations::Error) -> Finding {
    Finding {
        gate: Gate::Migrations,
        id: format!("unreadable-migrations:{dir}"),
        rule: "unreadable-migrations".into(),
        aliases: Vec::new(),
        grade: Grade::Finding,
        title: format!("the migrations in {dir} cannot be checked: {error}"),
        location: Location {
            file: Some(dir.to_string()),
            ..Location::default()
        },
        fixable: true,
        help: Some(
            "fix the directory so every migration has its own version and can be read".into(),
        ),
    }
}

/// Results of other scanners' SARIF files.
pub fn sarif(ingested: &[slipway_sarif::Ingested]) -> Vec<Finding> {
    ingested
        .iter()
        .map(|r| {
            let level = match r.level {
                slipway_sarif::Level::Error => SarifLevel::Error,
                slipway_sarif::Level::Warning => SarifLevel::Warning,
                slipway_sarif::Level::Note | slipway_sarif::Level::None => SarifLevel::Note,
            };
            Finding {
                gate: Gate::Sarif,
                id: r.fingerprint.clone(),
                rule: format!("{}/{}", r.tool, r.rule),
                aliases: vec![r.rule.clone()],
                grade: Grade::Level(level),
                title: format!("{}: {}", r.tool, first_line(&r.message)),
                location: Location {
                    file: r.file.clone(),
                    line: r.line,
                    column: r.column,
                    ..Location::default()
                },
                fixable: false,
                help: None,
            }
        })
        .collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
