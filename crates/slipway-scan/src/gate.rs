//! Gate policies: findings in, pass / warn / fail out, with the reason for every finding.

use crate::finding::{Finding, Gate, Grade, level_label, severity_label};
use crate::waivers::{Waiver, Waivers};
use serde::Serialize;
use slipway_pipeline::model::{GateMode, Gates, SarifLevel, VulnerabilitySeverity};

/// The policy of every gate, with the defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GatePolicy {
    pub secrets: GateMode,
    pub vulnerabilities: GateMode,
    /// Severities that block when `vulnerabilities` is `block`.
    pub vulnerability_block: Vec<VulnerabilitySeverity>,
    /// Block only vulnerabilities that have a fixed version.
    pub fixable_only: bool,
    pub pins: GateMode,
    pub sarif: GateMode,
    /// Levels that block when `sarif` is `block`.
    pub sarif_block: Vec<SarifLevel>,
    /// Migrations that break the previous release (default `block`).
    pub migrations: GateMode,
    /// The migrations directory `gates.migrations.dir` names; `None`: every directory named
    /// `migrations` that holds migrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations_dir: Option<String>,
}

impl Default for GatePolicy {
    /// Secrets block, critical and high vulnerabilities block, SARIF errors block, migrations
    /// that break the previous release block, the rest warns.
    fn default() -> Self {
        GatePolicy {
            secrets: GateMode::Block,
            vulnerabilities: GateMode::Block,
            vulnerability_block: vec![VulnerabilitySeverity::Critical, VulnerabilitySeverity::High],
            fixable_only: false,
            pins: GateMode::Warn,
            sarif: GateMode::Block,
            sarif_block: vec![SarifLevel::Error],
            migrations: GateMode::Block,
            migrations_dir: None,
        }
    }
}

impl GatePolicy {
    /// The policy a pipeline's `gates:` section declares.
    pub fn from_pipeline(gates: Option<&Gates>) -> GatePolicy {
        let mut policy = GatePolicy::default();
        let Some(gates) = gates else {
            return policy;
        };
        if let Some(mode) = &gates.secrets {
            policy.secrets = mode.value;
        }
        if let Some(mode) = &gates.pins {
            policy.pins = mode.value;
        }
        if let Some(vulnerabilities) = &gates.vulnerabilities {
            if let Some(mode) = &vulnerabilities.mode {
                policy.vulnerabilities = mode.value;
            }
            if let Some(block) = &vulnerabilities.block {
                policy.vulnerability_block = block.iter().map(|s| s.value).collect();
            }
            if let Some(fixable) = &vulnerabilities.fixable_only {
                policy.fixable_only = fixable.value;
            }
        }
        if let Some(sarif) = &gates.sarif {
            if let Some(mode) = &sarif.mode {
                policy.sarif = mode.value;
            }
            if let Some(block) = &sarif.block {
                policy.sarif_block = block.iter().map(|l| l.value).collect();
            }
        }
        if let Some(migrations) = &gates.migrations {
            if let Some(mode) = &migrations.mode {
                policy.migrations = mode.value;
            }
            if let Some(dir) = &migrations.dir {
                policy.migrations_dir = Some(dir.value.clone());
            }
        }
        policy
    }

    /// The mode of one gate. Waiver problems always block.
    pub fn mode(&self, gate: Gate) -> GateMode {
        match gate {
            Gate::Secrets => self.secrets,
            Gate::Vulnerabilities => self.vulnerabilities,
            Gate::Pins => self.pins,
            Gate::Sarif => self.sarif,
            Gate::Migrations => self.migrations,
            Gate::Waivers => GateMode::Block,
        }
    }

    /// Whether a finding blocks under this policy (before waivers), and why.
    fn judge(&self, finding: &Finding) -> (Disposition, String) {
        let gate = finding.gate.as_str();
        match self.mode(finding.gate) {
            GateMode::Off => (Disposition::Warn, format!("gate `{gate}` is off")),
            GateMode::Warn => (
                Disposition::Warn,
                format!("gate `{gate}` warns (gates.{gate}: warn)"),
            ),
            GateMode::Block => match finding.grade {
                Grade::Severity(severity) => {
                    let listed = self.vulnerability_block.contains(&severity);
                    let list = self
                        .vulnerability_block
                        .iter()
                        .map(|s| severity_label(*s))
                        .collect::<Vec<_>>()
                        .join(", ");
                    if !listed {
                        (
                            Disposition::Warn,
                            format!(
                                "{} severity does not block (gates.vulnerabilities.block: [{list}])",
                                severity_label(severity)
                            ),
                        )
                    } else if self.fixable_only && !finding.fixable {
                        (
                            Disposition::Warn,
                            "no fixed version exists (gates.vulnerabilities.fixable-only: true)"
                                .into(),
                        )
                    } else {
                        (
                            Disposition::Block,
                            format!(
                                "{} severity blocks (gates.vulnerabilities.block: [{list}])",
                                severity_label(severity)
                            ),
                        )
                    }
                }
                Grade::Level(level) => {
                    let list = self
                        .sarif_block
                        .iter()
                        .map(|l| level_label(*l))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let verb = if self.sarif_block.contains(&level) {
                        Disposition::Block
                    } else {
                        Disposition::Warn
                    };
                    let word = if verb == Disposition::Block {
                        "blocks"
                    } else {
                        "does not block"
                    };
                    (
                        verb,
                        format!(
                            "level {} {word} (gates.sarif.block: [{list}])",
                            level_label(level)
                        ),
                    )
                }
                Grade::Finding if finding.gate == Gate::Waivers => (
                    Disposition::Block,
                    "a waiver that is expired or malformed always blocks".into(),
                ),
                Grade::Finding => (
                    Disposition::Block,
                    format!("gate `{gate}` blocks (gates.{gate}: block)"),
                ),
            },
        }
    }
}

/// What a finding does to its gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    Block,
    Warn,
    /// Suppressed by a waiver in force.
    Waived,
}

/// A gate's or the whole evaluation's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// A finding and what the policy made of it.
#[derive(Clone, Debug, Serialize)]
pub struct Decided {
    #[serde(flatten)]
    pub finding: Finding,
    pub disposition: Disposition,
    pub reason: String,
    /// The waiver that suppressed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

/// What one scan contributed: whether it ran, what it looked at, and a note when it could not
/// do all of its work (no advisory database, for example).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScanInput {
    /// What was scanned: `source`, `commits 1a2b..3c4d`, `artifact sha256:...`, `logs`.
    pub scanned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ScanInput {
    /// Appends a note to the ones already there.
    pub fn add_note(&mut self, note: Option<String>) {
        if let Some(note) = note {
            self.note = Some(match self.note.take() {
                Some(before) => format!("{before}; {note}"),
                None => note,
            });
        }
    }
}

/// One gate's result.
#[derive(Clone, Debug, Serialize)]
pub struct GateOutcome {
    pub gate: Gate,
    pub mode: GateMode,
    pub verdict: Verdict,
    pub input: ScanInput,
    pub findings: Vec<Decided>,
}

impl GateOutcome {
    pub fn count(&self, disposition: Disposition) -> usize {
        self.findings
            .iter()
            .filter(|d| d.disposition == disposition)
            .count()
    }
}

/// The whole evaluation: every gate, the waivers used and the overall verdict.
#[derive(Clone, Debug, Serialize)]
pub struct GateReport {
    pub verdict: Verdict,
    pub evaluated_at: String,
    pub policy: GatePolicy,
    pub gates: Vec<GateOutcome>,
    /// Waivers that suppressed at least one finding.
    pub waivers_applied: Vec<Waiver>,
}

impl GateReport {
    /// The findings that fail the gates.
    pub fn blocking(&self) -> impl Iterator<Item = &Decided> {
        self.gates
            .iter()
            .flat_map(|g| &g.findings)
            .filter(|d| d.disposition == Disposition::Block)
    }
}

/// The findings of the scans that ran, keyed by gate, with what each looked at.
#[derive(Clone, Debug, Default)]
pub struct ScanResults {
    pub gates: Vec<(Gate, ScanInput, Vec<Finding>)>,
}

impl ScanResults {
    pub fn add(&mut self, gate: Gate, input: ScanInput, findings: Vec<Finding>) {
        match self.gates.iter_mut().find(|(g, _, _)| *g == gate) {
            Some((_, existing, list)) => {
                existing.scanned.extend(input.scanned);
                existing.add_note(input.note);
                list.extend(findings);
            }
            None => self.gates.push((gate, input, findings)),
        }
    }
}

/// Applies the policy and the waivers to every finding.
pub fn evaluate(
    policy: &GatePolicy,
    results: ScanResults,
    waivers: &Waivers,
    evaluated_at: String,
) -> GateReport {
    let mut results = results;
    if !waivers.problems.is_empty() {
        results.add(
            Gate::Waivers,
            ScanInput {
                scanned: waivers.file.iter().cloned().collect(),
                note: None,
            },
            waivers.problems.clone(),
        );
    }
    let mut applied: Vec<Waiver> = Vec::new();
    let mut gates: Vec<GateOutcome> = results
        .gates
        .into_iter()
        .map(|(gate, input, findings)| {
            let mut decided: Vec<Decided> = findings
                .into_iter()
                .map(|finding| {
                    let (disposition, reason) = policy.judge(&finding);
                    let waiver = (gate != Gate::Waivers)
                        .then(|| waivers.entries.iter().find(|w| w.covers(&finding)))
                        .flatten();
                    match waiver {
                        Some(waiver) => {
                            if !applied.contains(waiver) {
                                applied.push(waiver.clone());
                            }
                            Decided {
                                reason: format!(
                                    "waived by {} (owner {}, until {}): {}",
                                    waiver.at, waiver.owner, waiver.expires, waiver.reason
                                ),
                                finding,
                                disposition: Disposition::Waived,
                                waiver: Some(waiver.clone()),
                            }
                        }
                        None => Decided {
                            finding,
                            disposition,
                            reason,
                            waiver: None,
                        },
                    }
                })
                .collect();
            decided.sort_by(|a, b| {
                rank(a.disposition)
                    .cmp(&rank(b.disposition))
                    .then_with(|| a.finding.location.file.cmp(&b.finding.location.file))
                    .then_with(|| a.finding.location.line.cmp(&b.finding.location.line))
                    .then_with(|| a.finding.id.cmp(&b.finding.id))
            });
            let verdict = if decided.iter().any(|d| d.disposition == Disposition::Block) {
                Verdict::Fail
            } else if decided.iter().any(|d| d.disposition == Disposition::Warn)
                || input.note.is_some()
            {
                Verdict::Warn
            } else {
                Verdict::Pass
            };
            GateOutcome {
                gate,
                mode: policy.mode(gate),
                verdict,
                input,
                findings: decided,
            }
        })
        .collect();
    gates.sort_by_key(|g| g.gate);
    let verdict = gates
        .iter()
        .map(|g| g.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    GateReport {
        verdict,
        evaluated_at,
        policy: policy.clone(),
        gates,
        waivers_applied: applied,
    }
}

fn rank(disposition: Disposition) -> u8 {
    match disposition {
        Disposition::Block => 0,
        Disposition::Warn => 1,
        Disposition::Waived => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use chrono::{TimeZone, Utc};

    fn finding(gate: Gate, id: &str, grade: Grade, fixable: bool) -> Finding {
        Finding {
            gate,
            id: id.into(),
            rule: id.into(),
            aliases: Vec::new(),
            grade,
            title: format!("{id} found"),
            location: Location {
                file: Some("src/main.rs".into()),
                line: Some(3),
                ..Location::default()
            },
            fixable,
            help: None,
        }
    }

    fn results(findings: Vec<Finding>) -> ScanResults {
        let mut results = ScanResults::default();
        for f in findings {
            results.add(f.gate, ScanInput::default(), vec![f]);
        }
        results
    }

    #[test]
    fn defaults_block_secrets_and_serious_vulnerabilities_and_warn_on_the_rest() {
        let report = evaluate(
            &GatePolicy::default(),
            results(vec![
                finding(Gate::Secrets, "aws-access-key", Grade::Finding, false),
                finding(
                    Gate::Vulnerabilities,
                    "GHSA-1",
                    Grade::Severity(VulnerabilitySeverity::High),
                    true,
                ),
                finding(
                    Gate::Vulnerabilities,
                    "GHSA-2",
                    Grade::Severity(VulnerabilitySeverity::Medium),
                    true,
                ),
                finding(Gate::Pins, "unpinned-base-image", Grade::Finding, false),
            ]),
            &Waivers::default(),
            "now".into(),
        );
        assert_eq!(report.verdict, Verdict::Fail);
        let verdicts: Vec<(Gate, Verdict)> =
            report.gates.iter().map(|g| (g.gate, g.verdict)).collect();
        assert_eq!(
            verdicts,
            [
                (Gate::Secrets, Verdict::Fail),
                (Gate::Vulnerabilities, Verdict::Fail),
                (Gate::Pins, Verdict::Warn)
            ]
        );
        let medium = &report.gates[1].findings[1];
        assert_eq!(medium.disposition, Disposition::Warn);
        assert_eq!(
            medium.reason,
            "medium severity does not block (gates.vulnerabilities.block: [critical, high])"
        );
    }

    #[test]
    fn fixable_only_and_warn_modes_relax_the_gate() {
        let policy = GatePolicy {
            fixable_only: true,
            secrets: GateMode::Warn,
            ..GatePolicy::default()
        };
        let report = evaluate(
            &policy,
            results(vec![
                finding(Gate::Secrets, "s", Grade::Finding, false),
                finding(
                    Gate::Vulnerabilities,
                    "GHSA-1",
                    Grade::Severity(VulnerabilitySeverity::Critical),
                    false,
                ),
            ]),
            &Waivers::default(),
            "now".into(),
        );
        assert_eq!(report.verdict, Verdict::Warn);
    }

    #[test]
    fn waivers_suppress_and_their_problems_block() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let text = "waivers:
  - id: aws-access-key
    owner: alice
    reason: rotated already
    expires: 2026-12-01
  - id: GHSA-9
    owner: bob
    reason: old
    expires: 2026-11-01
";
        let waivers = Waivers::parse(".slipway/waivers.yml", text, now).unwrap();
        let report = evaluate(
            &GatePolicy::default(),
            results(vec![finding(
                Gate::Secrets,
                "aws-access-key",
                Grade::Finding,
                false,
            )]),
            &waivers,
            "now".into(),
        );
        assert_eq!(report.gates[0].findings[0].disposition, Disposition::Waived);
        assert_eq!(report.waivers_applied.len(), 1);
        assert_eq!(report.gates[1].gate, Gate::Waivers);
        assert_eq!(report.gates[1].verdict, Verdict::Fail);
        assert_eq!(report.verdict, Verdict::Fail);
    }
}
