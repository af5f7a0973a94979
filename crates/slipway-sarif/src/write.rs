//! Writing SARIF: one run per tool, rule metadata for code-scanning viewers, and GitHub's
//! upload limits.

use crate::model::{
    ArtifactLocation, AutomationDetails, Level, Location, Log, Message, MultiformatMessageString,
    PhysicalLocation, Region, ReportingConfiguration, ReportingDescriptor, Run, SCHEMA_URI,
    SarifResult, Tool, ToolComponent, VERSION,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The partial-fingerprint key under which Slipway writes a result's stable identity.
pub const FINGERPRINT_KEY: &str = "slipway/v1";

/// GitHub code scanning's documented limits on one uploaded SARIF file.
pub mod limits {
    /// Runs per file.
    pub const RUNS: usize = 20;
    /// Results per run.
    pub const RESULTS_PER_RUN: usize = 25_000;
    /// Rules per run.
    pub const RULES_PER_RUN: usize = 25_000;
    /// Tool extensions per run.
    pub const EXTENSIONS_PER_RUN: usize = 100;
    /// Locations per result.
    pub const LOCATIONS_PER_RESULT: usize = 1_000;
    /// Tags per rule.
    pub const TAGS_PER_RULE: usize = 20;
}

/// What a viewer shows about a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMeta {
    /// Stable across runs (`aws-access-token`).
    pub id: String,
    /// PascalCase (`AwsAccessToken`).
    pub name: String,
    /// One sentence.
    pub short_description: String,
    /// A paragraph.
    pub full_description: Option<String>,
    /// How to fix it; markdown is fine.
    pub help: Option<String>,
    /// Where the rule is documented.
    pub help_uri: Option<String>,
    /// The level of results that do not set one.
    pub level: Level,
    /// 0.0–10.0; written as the `security-severity` string GitHub ranks alerts by.
    pub security_severity: Option<f64>,
    /// `security` is added when `security_severity` is set; at most 20 are written.
    pub tags: Vec<String>,
    /// `very-high`, `high`, `medium` or `low`.
    pub precision: Option<String>,
}

/// One finding to write.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultEntry {
    /// A rule added with [`RunBuilder::rule`].
    pub rule_id: String,
    /// Overrides the rule's level for this result.
    pub level: Option<Level>,
    /// What was found, in one or two sentences.
    pub message: String,
    /// Repository-relative, `/`-separated.
    pub uri: String,
    /// 1-based; 0 (the file as a whole) is written as line 1.
    pub start_line: u32,
    /// 1-based.
    pub start_column: Option<u32>,
    /// 1-based, inclusive.
    pub end_line: Option<u32>,
    /// 1-based, the column after the last character.
    pub end_column: Option<u32>,
    /// Written as `partialFingerprints."slipway/v1"`.
    pub fingerprint: Option<String>,
    /// Written as the result's property bag when not empty.
    pub properties: Map<String, Value>,
}

/// Collects one tool's rules and results into a [`Run`].
#[derive(Clone, Debug)]
pub struct RunBuilder {
    driver: ToolComponent,
    automation_id: String,
    rules: BTreeMap<String, RuleMeta>,
    results: Vec<ResultEntry>,
}

impl RunBuilder {
    /// A run of `tool` at `version`, uploaded under the category `automation_id`.
    pub fn new(tool: &str, version: &str, automation_id: &str) -> Self {
        RunBuilder {
            driver: ToolComponent {
                name: tool.to_string(),
                version: Some(version.to_string()),
                ..ToolComponent::default()
            },
            automation_id: automation_id.to_string(),
            rules: BTreeMap::new(),
            results: Vec::new(),
        }
    }

    /// Sets the driver's `informationUri`.
    pub fn information_uri(&mut self, uri: &str) -> &mut Self {
        self.driver.information_uri = Some(uri.to_string());
        self
    }

    /// Adds a rule; a later rule with the same id replaces the earlier one.
    pub fn rule(&mut self, rule: RuleMeta) -> &mut Self {
        self.rules.insert(rule.id.clone(), rule);
        self
    }

    /// Adds a result; results keep the order they were added in.
    pub fn result(&mut self, result: ResultEntry) -> &mut Self {
        self.results.push(result);
        self
    }

    /// The run: rules sorted by id, every result's `ruleIndex` pointing into them.
    pub fn build(self) -> Run {
        let index: BTreeMap<&str, i64> = self
            .rules
            .keys()
            .enumerate()
            .map(|(position, id)| (id.as_str(), position as i64))
            .collect();
        let results = self
            .results
            .iter()
            .map(|entry| result(entry, index.get(entry.rule_id.as_str()).copied()))
            .collect();
        let rules = self.rules.into_values().map(descriptor).collect();
        Run {
            tool: Tool {
                driver: ToolComponent {
                    rules: Some(rules),
                    ..self.driver
                },
                ..Tool::default()
            },
            automation_details: Some(AutomationDetails {
                id: Some(self.automation_id),
                ..AutomationDetails::default()
            }),
            results: Some(results),
            ..Run::default()
        }
    }
}

fn descriptor(rule: RuleMeta) -> ReportingDescriptor {
    let text = |text: String| MultiformatMessageString {
        text,
        markdown: None,
    };
    let mut properties = Map::new();
    let severity = rule
        .security_severity
        .filter(|severity| severity.is_finite())
        .map(|severity| severity.clamp(0.0, 10.0));
    let mut tags: Vec<String> = Vec::new();
    if severity.is_some() {
        tags.push("security".to_string());
    }
    for tag in rule.tags {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.truncate(limits::TAGS_PER_RULE);
    if !tags.is_empty() {
        properties.insert("tags".into(), tags.into());
    }
    if let Some(severity) = severity {
        properties.insert("security-severity".into(), format!("{severity:.1}").into());
    }
    if let Some(precision) = rule.precision {
        properties.insert("precision".into(), precision.into());
    }
    ReportingDescriptor {
        id: rule.id,
        name: Some(rule.name),
        short_description: Some(text(rule.short_description)),
        full_description: rule.full_description.map(text),
        // Viewers render `markdown` when present and fall back to `text`.
        help: rule.help.map(|help| MultiformatMessageString {
            text: help.clone(),
            markdown: Some(help),
        }),
        help_uri: rule.help_uri,
        default_configuration: Some(ReportingConfiguration {
            level: Some(rule.level),
            ..ReportingConfiguration::default()
        }),
        properties: (!properties.is_empty()).then_some(properties),
        ..ReportingDescriptor::default()
    }
}

fn result(entry: &ResultEntry, rule_index: Option<i64>) -> SarifResult {
    let uri = entry.uri.replace('\\', "/");
    let uri = uri.trim_start_matches("./").to_string();
    let region = Region {
        start_line: Some(entry.start_line.max(1)),
        start_column: entry.start_column.filter(|column| *column > 0),
        end_line: entry
            .end_line
            .filter(|line| *line >= entry.start_line.max(1)),
        end_column: entry.end_column.filter(|column| *column > 0),
        ..Region::default()
    };
    SarifResult {
        rule_id: Some(entry.rule_id.clone()),
        rule_index,
        level: entry.level,
        message: Message {
            text: Some(entry.message.clone()),
            ..Message::default()
        },
        locations: Some(vec![Location {
            physical_location: Some(PhysicalLocation {
                artifact_location: Some(ArtifactLocation {
                    uri: Some(uri),
                    ..ArtifactLocation::default()
                }),
                region: Some(region),
                ..PhysicalLocation::default()
            }),
            ..Location::default()
        }]),
        partial_fingerprints: entry.fingerprint.as_ref().map(|fingerprint| {
            BTreeMap::from([(FINGERPRINT_KEY.to_string(), fingerprint.clone())])
        }),
        properties: (!entry.properties.is_empty()).then(|| entry.properties.clone()),
        ..SarifResult::default()
    }
}

impl Log {
    /// A SARIF 2.1.0 log of these runs.
    pub fn new(runs: Vec<Run>) -> Log {
        Log {
            schema: Some(SCHEMA_URI.to_string()),
            version: VERSION.to_string(),
            runs,
        }
    }

    /// Pretty JSON with a trailing newline; the same log always gives the same bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // The model holds only strings, integers, booleans and string-keyed maps, which
        // serde_json always serialises.
        let mut bytes =
            serde_json::to_vec_pretty(self).expect("a SARIF model always serialises to JSON");
        bytes.push(b'\n');
        bytes
    }

    /// Cuts the log down to GitHub code scanning's limits and says what was cut. Results
    /// over the per-run limit are dropped least severe first; the rest keep their order.
    /// Each note is also recorded in the run's `properties."slipway/limits"`.
    pub fn enforce_limits(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.runs.len() > limits::RUNS {
            notes.push(format!(
                "kept the first {} of {} runs: GitHub code scanning accepts at most {} runs per file",
                limits::RUNS,
                self.runs.len(),
                limits::RUNS
            ));
            self.runs.truncate(limits::RUNS);
        }
        for run in &mut self.runs {
            let run_notes = enforce_run_limits(run);
            if !run_notes.is_empty() {
                let properties = run.properties.get_or_insert_with(Map::new);
                let recorded = properties
                    .entry("slipway/limits")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(recorded) = recorded {
                    recorded.extend(run_notes.iter().cloned().map(Value::String));
                }
            }
            notes.extend(run_notes);
        }
        notes
    }
}

fn enforce_run_limits(run: &mut Run) -> Vec<String> {
    let tool = run.tool.driver.name.clone();
    let mut notes = Vec::new();
    if let Some(extensions) = &mut run.tool.extensions
        && extensions.len() > limits::EXTENSIONS_PER_RUN
    {
        notes.push(format!(
            "{tool}: kept the first {} of {} tool extensions (GitHub's limit per run)",
            limits::EXTENSIONS_PER_RUN,
            extensions.len()
        ));
        extensions.truncate(limits::EXTENSIONS_PER_RUN);
    }
    let components =
        std::iter::once(&mut run.tool.driver).chain(run.tool.extensions.iter_mut().flatten());
    for component in components {
        for rule in component.rules.iter_mut().flatten() {
            if let Some(Value::Array(tags)) = rule
                .properties
                .as_mut()
                .and_then(|properties| properties.get_mut("tags"))
                && tags.len() > limits::TAGS_PER_RULE
            {
                notes.push(format!(
                    "{tool}: rule {} kept the first {} of {} tags (GitHub's limit per rule)",
                    rule.id,
                    limits::TAGS_PER_RULE,
                    tags.len()
                ));
                tags.truncate(limits::TAGS_PER_RULE);
            }
        }
    }
    if let Some(rules) = &mut run.tool.driver.rules
        && rules.len() > limits::RULES_PER_RUN
    {
        notes.push(format!(
            "{tool}: kept {} of {} rules (GitHub's limit per run); results of the dropped rules were removed",
            limits::RULES_PER_RUN,
            rules.len()
        ));
        rules.truncate(limits::RULES_PER_RUN);
        let kept: BTreeSet<String> = rules.iter().map(|rule| rule.id.clone()).collect();
        let driver_rules = rules.len() as i64;
        if let Some(results) = &mut run.results {
            results.retain(|result| {
                let index_ok = result.rule_index.is_none_or(|index| index < driver_rules);
                let id_ok = result.rule_id.as_ref().is_none_or(|id| kept.contains(id))
                    || result
                        .rule
                        .as_ref()
                        .is_some_and(|rule| rule.tool_component.is_some());
                index_ok && id_ok
            });
        }
    }
    if let Some(results) = &mut run.results {
        for result in results.iter_mut() {
            if let Some(locations) = &mut result.locations
                && locations.len() > limits::LOCATIONS_PER_RESULT
            {
                notes.push(format!(
                    "{tool}: a result of rule {} kept the first {} of {} locations (GitHub's limit per result)",
                    result.rule_id.as_deref().unwrap_or("(none)"),
                    limits::LOCATIONS_PER_RESULT,
                    locations.len()
                ));
                locations.truncate(limits::LOCATIONS_PER_RESULT);
            }
        }
        if results.len() > limits::RESULTS_PER_RUN {
            let total = results.len();
            let defaults = default_levels(&run.tool.driver);
            let rank = |result: &SarifResult| {
                result
                    .level
                    .or_else(|| {
                        result
                            .rule_id
                            .as_deref()
                            .and_then(|id| defaults.get(id).copied())
                    })
                    .unwrap_or(Level::Warning)
            };
            // Keep the most severe; a stable sort keeps the original order within a level.
            let mut order: Vec<usize> = (0..total).collect();
            order.sort_by_key(|&position| results.get(position).map(rank));
            let mut keep = vec![false; total];
            for &position in order.iter().take(limits::RESULTS_PER_RUN) {
                if let Some(slot) = keep.get_mut(position) {
                    *slot = true;
                }
            }
            let mut flags = keep.into_iter();
            results.retain(|_| flags.next().unwrap_or(false));
            notes.push(format!(
                "{tool}: kept {} of {} results, the most severe first: GitHub code scanning accepts at most {} results per run",
                limits::RESULTS_PER_RUN,
                total,
                limits::RESULTS_PER_RUN
            ));
        }
    }
    notes
}

fn default_levels(driver: &ToolComponent) -> BTreeMap<&str, Level> {
    driver
        .rules
        .iter()
        .flatten()
        .filter_map(|rule| {
            let level = rule.default_configuration.as_ref()?.level?;
            Some((rule.id.as_str(), level))
        })
        .collect()
}
