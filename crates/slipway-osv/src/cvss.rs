//! CVSS base scores, computed from the vector rather than trusted from a label.
//!
//! [`score`] reads a CVSS v2.0, v3.0, v3.1 or v4.0 vector and computes its score with the
//! RustSec `cvss` crate: the v3.x base equations with each version's rounding (3.0 rounds up
//! to one decimal, 3.1 uses the specification's floating-point-safe Roundup), the v4.0
//! macro-vector lookup with severity distances, and the v2.0 base equation. Every mandatory
//! base metric must be present; an error names the metric that is missing or invalid.
//!
//! [`Severity`] is the qualitative rating; [`Severity::parse`] reads the labels databases use
//! (`MODERATE`, `important`, ...), the fallback when a record carries no vector.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr as _;

/// A qualitative severity, ordered `None < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No impact (score 0.0).
    None,
    /// Score 0.1–3.9.
    Low,
    /// Score 4.0–6.9.
    Medium,
    /// Score 7.0–8.9.
    High,
    /// Score 9.0–10.0.
    Critical,
}

impl Severity {
    /// The CVSS v3.x/v4.0 rating of a score: 0.0 None, 0.1–3.9 Low, 4.0–6.9 Medium,
    /// 7.0–8.9 High, 9.0–10.0 Critical. A score that is not a number rates None.
    pub fn from_score(score: f64) -> Severity {
        if score.is_nan() || score < 0.1 {
            Severity::None
        } else if score < 4.0 {
            Severity::Low
        } else if score < 7.0 {
            Severity::Medium
        } else if score < 9.0 {
            Severity::High
        } else {
            Severity::Critical
        }
    }

    /// Reads a database's severity label, case-insensitively: `none`, `low` (also
    /// `negligible`), `medium` (also `moderate`), `high` (also `important`), `critical`.
    /// `None` for any other label, such as `unknown`.
    pub fn parse(label: &str) -> Option<Severity> {
        match label.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Severity::None),
            "low" | "negligible" => Some(Severity::Low),
            "medium" | "moderate" => Some(Severity::Medium),
            "high" | "important" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// The lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CVSS version a vector is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CvssVersion {
    /// CVSS v2.0 (no prefix: `AV:N/AC:L/Au:N/C:P/I:P/A:P`).
    V2,
    /// `CVSS:3.0/...`
    V3_0,
    /// `CVSS:3.1/...`
    V3_1,
    /// `CVSS:4.0/...`
    V4_0,
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CvssVersion::V2 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        })
    }
}

/// A vector's computed score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CvssScore {
    /// The vector's CVSS version.
    pub version: CvssVersion,
    /// The score, 0.0–10.0 with one decimal. For v4.0 it covers every metric the vector
    /// gives (CVSS-B for a base-only vector, CVSS-BT/BE/BTE otherwise), as the v4.0 equations do.
    pub base_score: f64,
    /// The rating of the score. For v2.0 it follows NVD's v2 bands (0.0–3.9 Low, 4.0–6.9
    /// Medium, 7.0–10.0 High), since v2.0 defines no None or Critical.
    pub severity: Severity,
    /// The vector as given (trimmed).
    pub vector: String,
}

/// Why a vector cannot be scored.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum CvssError {
    /// The vector is empty.
    #[error("empty CVSS vector: give one such as CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    Empty,
    /// The `CVSS:x.y` prefix names a version that is not scored.
    #[error(
        "CVSS vector {vector:?} has version {version:?}; the versions scored are 2.0 (no prefix), 3.0, 3.1 and 4.0"
    )]
    UnsupportedVersion {
        /// The vector as given.
        vector: String,
        /// The version or prefix found.
        version: String,
    },
    /// A part of the vector is not `METRIC:VALUE`.
    #[error(
        "CVSS vector {vector:?} has a malformed part {part:?}; parts are METRIC:VALUE separated by '/'"
    )]
    Malformed {
        /// The vector as given.
        vector: String,
        /// The part that is not `METRIC:VALUE`.
        part: String,
    },
    /// A metric name the version does not define.
    #[error("CVSS vector {vector:?} has an unknown metric {metric:?}")]
    UnknownMetric {
        /// The vector as given.
        vector: String,
        /// The unknown metric name.
        metric: String,
    },
    /// A mandatory base metric is absent.
    #[error(
        "CVSS vector {vector:?} is missing the mandatory metric {metric}; add {metric}:<value>"
    )]
    MissingMetric {
        /// The vector as given.
        vector: String,
        /// The missing metric's abbreviation (`AV`, `AT`, ...).
        metric: String,
    },
    /// A metric appears twice.
    #[error("CVSS vector {vector:?} gives the metric {metric} more than once")]
    DuplicateMetric {
        /// The vector as given.
        vector: String,
        /// The repeated metric's abbreviation.
        metric: String,
    },
    /// A metric has a value the version does not define.
    #[error("CVSS vector {vector:?} has an invalid value {value:?} for the metric {metric}")]
    InvalidValue {
        /// The vector as given.
        vector: String,
        /// The metric's abbreviation.
        metric: String,
        /// The value given.
        value: String,
    },
    /// Anything else the parser rejected.
    #[error("CVSS vector {vector:?} is invalid: {reason}")]
    Invalid {
        /// The vector as given.
        vector: String,
        /// The parser's explanation.
        reason: String,
    },
}

/// The base metrics each version requires (v4.0's are checked by the `cvss` crate itself).
const V2_BASE: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

/// Computes the score of a CVSS vector: `CVSS:3.1/AV:N/...`, `CVSS:3.0/...`, `CVSS:4.0/...`,
/// or a v2.0 vector without prefix (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, also in parentheses).
pub fn score(vector: &str) -> Result<CvssScore, CvssError> {
    let trimmed = vector.trim();
    if trimmed.is_empty() {
        return Err(CvssError::Empty);
    }
    let unwrapped = trimmed
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(trimmed);
    let version = version_of(unwrapped, trimmed)?;
    check_parts(unwrapped, trimmed, version)?;
    let parsed = cvss::Cvss::from_str(unwrapped).map_err(|error| convert_error(error, trimmed))?;
    let base_score = match &parsed {
        cvss::Cvss::CvssV20(vector) => vector.score().value(),
        cvss::Cvss::CvssV30(vector) | cvss::Cvss::CvssV31(vector) => vector.base_score().value(),
        cvss::Cvss::CvssV40(vector) => vector.score().value(),
        _ => {
            return Err(CvssError::UnsupportedVersion {
                vector: trimmed.to_owned(),
                version: version.to_string(),
            });
        }
    };
    let severity = match version {
        CvssVersion::V2 if base_score >= 7.0 => Severity::High,
        CvssVersion::V2 if base_score >= 4.0 => Severity::Medium,
        CvssVersion::V2 => Severity::Low,
        _ => Severity::from_score(base_score),
    };
    Ok(CvssScore {
        version,
        base_score,
        severity,
        vector: trimmed.to_owned(),
    })
}

fn version_of(vector: &str, original: &str) -> Result<CvssVersion, CvssError> {
    let first = vector.split('/').next().unwrap_or_default();
    match first.split_once(':') {
        Some(("CVSS", "3.0")) => Ok(CvssVersion::V3_0),
        Some(("CVSS", "3.1")) => Ok(CvssVersion::V3_1),
        Some(("CVSS", "4.0")) => Ok(CvssVersion::V4_0),
        Some(("CVSS", other)) => Err(CvssError::UnsupportedVersion {
            vector: original.to_owned(),
            version: other.to_owned(),
        }),
        _ => Ok(CvssVersion::V2),
    }
}

/// Checks the `METRIC:VALUE` shape and the mandatory v2/v3 base metrics, which the `cvss`
/// crate would otherwise score as if their weight were 0.
fn check_parts(vector: &str, original: &str, version: CvssVersion) -> Result<(), CvssError> {
    let mut names = Vec::new();
    for part in vector.split('/') {
        match part.split_once(':') {
            Some((name, value)) if !name.is_empty() && !value.is_empty() => names.push(name),
            _ => {
                return Err(CvssError::Malformed {
                    vector: original.to_owned(),
                    part: part.to_owned(),
                });
            }
        }
    }
    let required: &[&str] = match version {
        CvssVersion::V2 => &V2_BASE,
        CvssVersion::V3_0 | CvssVersion::V3_1 => &V3_BASE,
        CvssVersion::V4_0 => &[],
    };
    match required.iter().find(|metric| !names.contains(metric)) {
        Some(metric) => Err(CvssError::MissingMetric {
            vector: original.to_owned(),
            metric: (*metric).to_owned(),
        }),
        None => Ok(()),
    }
}

fn convert_error(error: cvss::Error, vector: &str) -> CvssError {
    let vector = vector.to_owned();
    match error {
        cvss::Error::InvalidMetricV3 { metric_type, value } => CvssError::InvalidValue {
            vector,
            metric: metric_type.name().to_owned(),
            value,
        },
        cvss::Error::InvalidMetricV2 { metric_type, value } => CvssError::InvalidValue {
            vector,
            metric: metric_type.name().to_owned(),
            value,
        },
        cvss::Error::InvalidMetricV4 { metric_type, value } => CvssError::InvalidValue {
            vector,
            metric: metric_type.name().to_owned(),
            value,
        },
        cvss::Error::DuplicateMetricV2 { metric_type } => CvssError::DuplicateMetric {
            vector,
            metric: metric_type.name().to_owned(),
        },
        cvss::Error::DuplicateMetricV3 { metric_type } => CvssError::DuplicateMetric {
            vector,
            metric: metric_type.name().to_owned(),
        },
        cvss::Error::DuplicateMetricV4 { metric_type } => CvssError::DuplicateMetric {
            vector,
            metric: metric_type.name().to_owned(),
        },
        cvss::Error::MissingMandatoryMetricV2 { metric_type } => CvssError::MissingMetric {
            vector,
            metric: metric_type.name().to_owned(),
        },
        cvss::Error::MissingMandatoryMetricV4 { metric_type } => CvssError::MissingMetric {
            vector,
            metric: metric_type.name().to_owned(),
        },
        cvss::Error::UnknownMetric { name } => CvssError::UnknownMetric {
            vector,
            metric: name,
        },
        cvss::Error::InvalidComponent { component } => CvssError::Malformed {
            vector,
            part: component,
        },
        cvss::Error::UnsupportedVersion { version } => {
            CvssError::UnsupportedVersion { vector, version }
        }
        cvss::Error::InvalidPrefix { prefix } => CvssError::UnsupportedVersion {
            vector,
            version: prefix,
        },
        other => CvssError::Invalid {
            vector,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands_and_labels() {
        assert_eq!(Severity::from_score(0.0), Severity::None);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
        assert_eq!(Severity::from_score(3.9), Severity::Low);
        assert_eq!(Severity::from_score(4.0), Severity::Medium);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(9.0), Severity::Critical);
        assert_eq!(Severity::from_score(f64::NAN), Severity::None);
        assert_eq!(Severity::parse("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::parse("important"), Some(Severity::High));
        assert_eq!(Severity::parse("unknown"), None);
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::None);
    }

    #[test]
    fn missing_v3_base_metric_is_named() {
        let error = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H").unwrap_err();
        assert!(
            matches!(&error, CvssError::MissingMetric { metric, .. } if metric == "S"),
            "{error}"
        );
    }
}
