//! A finding's severity: the base score computed from the newest CVSS vector the record
//! carries, else the database's own label, else unknown.

use crate::cvss::{self, Severity};
use crate::record::{Affected, Record, SeverityEntry};
use serde::Serialize;

/// Where a finding's severity came from.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SeveritySource {
    /// Computed from a CVSS v4.0 vector.
    CvssV4,
    /// Computed from a CVSS v3.0/v3.1 vector.
    CvssV3,
    /// Computed from a CVSS v2 vector.
    CvssV2,
    /// The database's label (GHSA's `MODERATE`, a distribution's `medium`).
    Database,
    /// The record says nothing usable; the severity is [`Severity::None`].
    Unknown,
}

/// A severity with its score and evidence.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rating {
    pub severity: Severity,
    pub score: Option<f64>,
    pub vector: Option<String>,
    pub source: SeveritySource,
}

const CVSS_KINDS: [(&str, SeveritySource); 3] = [
    ("CVSS_V4", SeveritySource::CvssV4),
    ("CVSS_V3", SeveritySource::CvssV3),
    ("CVSS_V2", SeveritySource::CvssV2),
];

/// Rates `record` for the affected entries that matched. Vectors of the newest CVSS version
/// win (record-level and per-package alike); when several share that version the highest
/// score counts. A vector that does not score is passed over, not trusted as a label.
pub(crate) fn rate(record: &Record, matched: &[&Affected]) -> Rating {
    let entries: Vec<&SeverityEntry> = record
        .severity
        .iter()
        .chain(matched.iter().flat_map(|affected| affected.severity.iter()))
        .collect();
    for (kind, source) in CVSS_KINDS {
        let best = entries
            .iter()
            .filter(|entry| entry.kind.eq_ignore_ascii_case(kind))
            .filter_map(|entry| cvss::score(entry.score.trim()).ok())
            .max_by(|a, b| a.base_score.total_cmp(&b.base_score));
        if let Some(best) = best {
            return Rating {
                severity: best.severity,
                score: Some(best.base_score),
                vector: Some(best.vector),
                source,
            };
        }
    }
    let labels = label_candidates(record, matched, &entries);
    match labels
        .into_iter()
        .filter_map(|label| Severity::parse(&label))
        .max()
    {
        Some(severity) => Rating {
            severity,
            score: None,
            vector: None,
            source: SeveritySource::Database,
        },
        None => Rating {
            severity: Severity::None,
            score: None,
            vector: None,
            source: SeveritySource::Unknown,
        },
    }
}

/// Labels databases write: `database_specific.severity` (GHSA), per package
/// `ecosystem_specific.severity` / `database_specific.severity`, and non-CVSS `severity[]`
/// entries (`Ubuntu`).
fn label_candidates(
    record: &Record,
    matched: &[&Affected],
    entries: &[&SeverityEntry],
) -> Vec<String> {
    let label = |value: Option<&serde_json::Value>| {
        value
            .and_then(|v| v.get("severity"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let mut labels: Vec<String> = Vec::new();
    labels.extend(label(record.database_specific.as_ref()));
    for affected in matched {
        labels.extend(label(affected.ecosystem_specific.as_ref()));
        labels.extend(label(affected.database_specific.as_ref()));
    }
    labels.extend(
        entries
            .iter()
            .filter(|entry| !entry.kind.to_ascii_uppercase().starts_with("CVSS_"))
            .map(|entry| entry.score.clone()),
    );
    labels
}
