//! The OSV record (schema 1.7) as serde types. Field names follow the schema; optional lists
//! accept `null` as well as a missing key, because exporters write both.

use serde::{Deserialize, Deserializer, Serialize};

/// One advisory in the OSV format (ossf/osv-schema 1.7).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct Record {
    /// The schema version the record was written against (`1.3.1`); absent in older exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// The advisory id (`PYSEC-2021-66`, `GO-2024-3333`, `RUSTSEC-2022-0013`).
    pub id: String,
    /// When the record last changed (RFC 3339).
    pub modified: String,
    /// When the record was first published (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When the record was withdrawn; a withdrawn record never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability (CVE, GHSA).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    /// Ids of advisories this one was derived from.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    /// Ids of related but different vulnerabilities.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related: Vec<String>,
    /// A one-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The full description (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// The affected packages with their ranges and versions.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub affected: Vec<Affected>,
    /// Record-level severities (CVSS vectors or distribution labels).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    /// Links to advisories, fixes, reports.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    /// Who found or fixed the vulnerability.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credits: Vec<Credit>,
    /// Whatever the publishing database adds (GHSA's `severity` label, Go's `review_status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// One affected package of a record.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct Affected {
    /// The package; absent only in records that describe bare git commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Severities that apply to this package only (schema 1.4).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    /// Affected version ranges.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    /// Affected versions listed one by one.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    /// Ecosystem-defined details (Go's `imports`, a severity label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Database-defined details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A package as OSV names it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
pub struct Package {
    /// The ecosystem, exactly as OSV spells it (`PyPI`, `crates.io`, `Debian:12`).
    pub ecosystem: String,
    /// The name within the ecosystem (module path for Go, `group:artifact` for Maven).
    pub name: String,
    /// The package URL without a version, when the database gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A range of affected versions, written as events along one ordering.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository of a `GIT` range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events in the order the record lists them.
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
    /// Database-defined details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// One event of a range; the schema allows exactly one of the fields per event.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Event {
    /// Affected from this version on (`"0"`: from the first version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// Fixed in this version (exclusive end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The last affected version (inclusive end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// An upper limit on the commits searched (`GIT` ranges only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A severity: a CVSS vector (`CVSS_V3`, `CVSS_V4`, `CVSS_V2`) or a distribution's label
/// (`Ubuntu`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SeverityEntry {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4` or `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector string (or the label, for `Ubuntu`); never a number.
    pub score: String,
}

/// A link with its kind (`ADVISORY`, `FIX`, `WEB`, ...).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The kind of link.
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// Someone credited in the record.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    /// The name.
    pub name: String,
    /// Ways to reach them.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub contact: Vec<String>,
    /// Their role (`FINDER`, `REMEDIATION_DEVELOPER`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Record {
    /// Whether the record has been withdrawn (it then never matches).
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
    }
}

/// Reads `null` as the type's default, so `"aliases": null` is an empty list.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_lists_and_missing_keys_read_as_empty() {
        let record: Record = serde_json::from_str(
            r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":null,
                "affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":null}]}"#,
        )
        .unwrap();
        assert!(record.aliases.is_empty());
        assert!(record.affected[0].ranges.is_empty());
        assert!(!record.is_withdrawn());
    }

    #[test]
    fn serialises_back_without_empty_fields() {
        let text = r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#;
        let record: Record = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&record).unwrap(), text);
    }
}
