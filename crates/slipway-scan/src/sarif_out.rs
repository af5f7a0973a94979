//! A gate report as SARIF 2.1.0: one run per gate, rule metadata for every rule that fired,
//! and each finding's disposition (blocked, warned, waived) on its result.

use crate::finding::{Gate, Grade};
use crate::gate::{Disposition, GateReport};
use slipway_pipeline::model::{SarifLevel, VulnerabilitySeverity};
use slipway_sarif::{Level, Log, ResultEntry, RuleMeta, RunBuilder};
use std::collections::BTreeMap;

/// Rule metadata the findings alone do not carry.
#[derive(Default)]
pub struct RuleCatalog {
    /// Secret rules: id → (description, severity score).
    pub secrets: BTreeMap<String, (String, f64)>,
}

impl RuleCatalog {
    /// The catalog of the built-in scanners.
    pub fn builtin(scanner: &slipway_secretscan::Scanner) -> RuleCatalog {
        let secrets = scanner
            .rules()
            .iter()
            .map(|rule| {
                let score = match rule.severity {
                    slipway_secretscan::Severity::Critical => 9.5,
                    slipway_secretscan::Severity::High => 8.0,
                    slipway_secretscan::Severity::Medium => 5.5,
                    slipway_secretscan::Severity::Low => 3.0,
                };
                (rule.id.clone(), (rule.description.clone(), score))
            })
            .collect();
        RuleCatalog { secrets }
    }
}

fn tool(gate: Gate) -> &'static str {
    match gate {
        Gate::Secrets => "slipway-secrets",
        Gate::Vulnerabilities => "slipway-deps",
        Gate::Pins => "slipway-pins",
        Gate::Sarif => "slipway-sarif-gate",
        Gate::Migrations => "slipway-migrations",
        Gate::Waivers => "slipway-waivers",
    }
}

fn severity_score(severity: VulnerabilitySeverity) -> f64 {
    match severity {
        VulnerabilitySeverity::Critical => 9.5,
        VulnerabilitySeverity::High => 8.0,
        VulnerabilitySeverity::Medium => 5.5,
        VulnerabilitySeverity::Low => 3.0,
        VulnerabilitySeverity::Unknown => 5.0,
    }
}

/// Writes the report's findings as SARIF. Results of other tools' SARIF (the `sarif` gate) are
/// left out: they already exist as SARIF, under their own tool's name.
pub fn sarif_log(report: &GateReport, catalog: &RuleCatalog) -> Log {
    let version = env!("CARGO_PKG_VERSION");
    let mut runs = Vec::new();
    for outcome in &report.gates {
        if outcome.gate == Gate::Sarif {
            continue;
        }
        let mut run = RunBuilder::new(
            tool(outcome.gate),
            version,
            &format!("slipway/{}/", outcome.gate.as_str()),
        );
        let mut seen = std::collections::BTreeSet::new();
        for decided in &outcome.findings {
            let finding = &decided.finding;
            if seen.insert(finding.rule.clone()) {
                let (description, score) = match (outcome.gate, finding.grade) {
                    (Gate::Secrets, _) => catalog
                        .secrets
                        .get(&finding.rule)
                        .cloned()
                        .unwrap_or_else(|| (finding.rule.clone(), 8.0)),
                    (_, Grade::Severity(severity)) => {
                        (finding.title.clone(), severity_score(severity))
                    }
                    (_, Grade::Level(SarifLevel::Error)) => (finding.title.clone(), 7.0),
                    _ => (finding.title.clone(), 4.0),
                };
                run.rule(RuleMeta {
                    id: finding.rule.clone(),
                    name: pascal_case(&finding.rule),
                    short_description: description,
                    full_description: None,
                    help: finding.help.clone(),
                    help_uri: None,
                    level: Level::Error,
                    security_severity: Some(score),
                    tags: vec![outcome.gate.as_str().to_string()],
                    precision: None,
                });
            }
            let level = match decided.disposition {
                Disposition::Block => Level::Error,
                Disposition::Warn => Level::Warning,
                Disposition::Waived => Level::Note,
            };
            let mut properties = serde_json::Map::new();
            properties.insert(
                "disposition".into(),
                serde_json::to_value(decided.disposition).unwrap_or_default(),
            );
            properties.insert("reason".into(), decided.reason.clone().into());
            if let Some(package) = &finding.location.package {
                properties.insert("package".into(), package.clone().into());
            }
            if let Some(commit) = &finding.location.commit {
                properties.insert("commit".into(), commit.clone().into());
            }
            run.result(ResultEntry {
                rule_id: finding.rule.clone(),
                level: Some(level),
                message: finding.title.clone(),
                uri: finding
                    .location
                    .file
                    .clone()
                    .unwrap_or_else(|| ".".to_string()),
                start_line: finding.location.line.unwrap_or(1).max(1),
                start_column: finding.location.column,
                end_line: None,
                end_column: None,
                fingerprint: Some(finding.id.clone()),
                properties,
            });
        }
        runs.push(run.build());
    }
    let mut log = Log::new(runs);
    log.enforce_limits();
    log
}

/// `aws-access-key` → `AwsAccessKey`; SARIF's `name` is a readable identifier.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}
