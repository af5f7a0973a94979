//! Serde models of the parts of SARIF 2.1.0 that Slipway reads and writes.
//!
//! Objects below the run keep the members they do not model in `extra`, so a log read and
//! written again loses little. The log and the run themselves do not: a flattened member
//! makes serde buffer the whole object, and a type error deep inside it would then be
//! reported at the end of the file instead of next to the bad value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The `$schema` Slipway writes: SchemaStore's copy of the OASIS SARIF 2.1.0 schema, the URI
/// GitHub's documentation uses.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The only SARIF version read or written.
pub const VERSION: &str = "2.1.0";

/// A SARIF log: one run per tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Log {
    /// The JSON schema the log claims to follow.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Always `2.1.0` (checked by [`crate::read`]).
    pub version: String,
    /// One run per tool invocation.
    #[serde(default)]
    pub runs: Vec<Run>,
}

/// One tool's run: its rules and results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The tool: the driver and any extensions (CodeQL query packs) that hold rules.
    pub tool: Tool,
    /// The upload category: one id per tool, so tools do not close each other's alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation_details: Option<AutomationDetails>,
    /// Definitions of the `uriBaseId`s used by artifact locations (`%SRCROOT%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_uri_base_ids: Option<BTreeMap<String, ArtifactLocation>>,
    /// Files the results refer to by `artifactLocation.index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// How the tool was invoked, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocations: Option<Vec<Value>>,
    /// What the tool found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<SarifResult>>,
    /// Free-form run properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
}

/// `run.tool`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool's main component.
    pub driver: ToolComponent,
    /// Plug-ins and query packs; their rules are referenced through `rule.toolComponent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<ToolComponent>>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A tool's driver or one of its extensions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolComponent {
    /// The component's name (`CodeQL`, `Semgrep OSS`, `clippy`).
    #[serde(default)]
    pub name: String,
    /// The component's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The component's version in SemVer form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_version: Option<String>,
    /// Where the component is documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information_uri: Option<String>,
    /// Message strings shared by all the component's rules, by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_message_strings: Option<BTreeMap<String, MultiformatMessageString>>,
    /// The rules this component can report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<ReportingDescriptor>>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    /// The stable rule id.
    pub id: String,
    /// A PascalCase name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_description: Option<MultiformatMessageString>,
    /// A paragraph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_description: Option<MultiformatMessageString>,
    /// Message templates for results that give `message.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_strings: Option<BTreeMap<String, MultiformatMessageString>>,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<MultiformatMessageString>,
    /// Where the rule is documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    /// The level of results that do not give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_configuration: Option<ReportingConfiguration>,
    /// Tags, `security-severity`, `precision` and anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// Text with an optional markdown form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiformatMessageString {
    /// Plain text.
    #[serde(default)]
    pub text: String,
    /// The same in GitHub-flavoured markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// `defaultConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportingConfiguration {
    /// The default level of the rule's results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Members not modelled here (`enabled`, `rank`, `parameters`).
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A result's severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A serious problem.
    Error,
    /// A problem.
    Warning,
    /// Worth knowing.
    Note,
    /// No severity (passes, informational results).
    None,
}

impl Level {
    /// The lowercase SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
            Level::None => "none",
        }
    }
}

/// `automationDetails`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AutomationDetails {
    /// The category, ending in `/` by GitHub's convention (`slipway/secrets/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// One entry of `run.artifacts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Where the file is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ArtifactLocation>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A SARIF result (named so it does not shadow `std::result::Result`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The rule's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// The rule's position in the driver's `rules`; -1 means not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<i64>,
    /// The rule, possibly in an extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<ReportingDescriptorReference>,
    /// `fail` (the default), `pass`, `notApplicable`, `review`, `open`, `informational`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The result's level; when absent the rule's default applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// What was found.
    #[serde(default)]
    pub message: Message,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<Location>>,
    /// Stable identities across runs, by scheme (`slipway/v1`, `primaryLocationLineHash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_fingerprints: Option<BTreeMap<String, String>>,
    /// Suppressions in source or elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressions: Option<Vec<Suppression>>,
    /// Free-form result properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// Members not modelled here (`codeFlows`, `fingerprints`, `relatedLocations`, …).
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// `result.rule`: which rule of which component.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptorReference {
    /// The rule's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The rule's position in its component's `rules`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
    /// The component holding the rule; absent means the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_component: Option<ToolComponentReference>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// `toolComponent`: an extension by position or name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolComponentReference {
    /// The extension's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The extension's position in `tool.extensions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A result's message: text, or the id of one of the rule's `messageStrings`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// A `messageStrings` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Values for the `{0}`, `{1}`, … placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
}

/// One place a result points at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// A file and region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_location: Option<PhysicalLocation>,
    /// Members not modelled here (`logicalLocations`, `message`).
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A file and a region in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    /// The file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_location: Option<ArtifactLocation>,
    /// The lines and columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// Members not modelled here (`contextRegion`).
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A file: a URI, relative to a `uriBaseId` or absolute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    /// Relative (`src/main.rs`) or absolute (`file:///…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The base a relative `uri` is resolved against (`%SRCROOT%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<String>,
    /// A position in `run.artifacts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// Lines and columns, 1-based.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// First line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    /// First column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    /// Last line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// Column after the last character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    /// Members not modelled here (`snippet`, `charOffset`).
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// A suppression of a result (`// nosemgrep`, a CodeQL alert dismissal).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// `inSource` or `external`.
    #[serde(default)]
    pub kind: String,
    /// `accepted` (also when absent), `underReview` or `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Members not modelled here.
    #[serde(flatten, default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}
