//! Values from a Prometheus server's instant queries (`GET /api/v1/query`).
//!
//! A result must be one number: a `scalar`, or a `vector` of exactly one series. An empty
//! vector is "no data" (inconclusive), several series an error naming the count (aggregate
//! with `sum()` or `max()`), `NaN` and infinities inconclusive. Each series counts as one
//! sample; to require traffic, put the requirement in the query
//! (`... and on() sum(increase(http_requests_total[5m])) > 50` is empty, so inconclusive,
//! below 50 requests).

use crate::http;
use crate::measure::{Observation, Observed, Settings, Target};
use crate::placeholder;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// The API's answer: <https://prometheus.io/docs/prometheus/latest/querying/api/>.
#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    data: Option<QueryData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<Series>),
    Scalar(SampleValue),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: SampleValue,
}

/// `[<unix time>, "<value>"]`: values are strings so `NaN` and `+Inf` survive JSON.
#[derive(Deserialize)]
struct SampleValue(serde::de::IgnoredAny, String);

/// Runs the query (with `{{ canary }}`, `{{ stable }}` and `{{ environment }}` filled in)
/// against the template's `address`, else `settings.prometheus_url`, within
/// `settings.http_timeout`.
pub(crate) async fn observe(
    query: &str,
    address: Option<&str>,
    target: &Target,
    settings: &Settings,
) -> Observation {
    let mut details = Map::new();
    let read = query_value(query, address, target, settings, &mut details).await;
    Observation::single(read, details)
}

async fn query_value(
    query: &str,
    address: Option<&str>,
    target: &Target,
    settings: &Settings,
    details: &mut Map<String, Json>,
) -> Result<Observed, String> {
    let query = fill_runtime(query, target, false)?;
    details.insert("query".into(), json!(query));
    let base = address
        .or(settings.prometheus_url.as_deref())
        .ok_or("no Prometheus server is configured for this analysis: set its `address`")?;
    let mut url = reqwest::Url::parse(base)
        .map_err(|error| format!("the configured Prometheus URL is not a URL: {error}"))?;
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.query_pairs_mut().append_pair("query", &query);
    let response = http::get(url, settings.http_timeout).await?;
    details.insert("http_status".into(), json!(response.status));
    let answer = read_response(response.status, &response.body)?;
    if !answer.warnings.is_empty() {
        details.insert("warnings".into(), json!(answer.warnings));
    }
    if let Some(series) = answer.series {
        details.insert("series".into(), json!(series));
    }
    Ok(match answer.result {
        QueryResult::NoData => {
            Observed::Inconclusive("no data: the query returned no series".into())
        }
        QueryResult::Number { raw, value, labels } => {
            if let Some(labels) = labels {
                details.insert("labels".into(), json!(labels));
            }
            details.insert("raw_value".into(), json!(raw));
            if value.is_finite() {
                Observed::Value {
                    value,
                    described: format!(
                        "Prometheus value {}",
                        slipway_pipeline::expr::format_number(value)
                    ),
                }
            } else {
                Observed::Inconclusive(format!(
                    "Prometheus returned {raw}, which no condition can judge (often a ratio over no traffic)"
                ))
            }
        }
    })
}

/// A Prometheus answer reduced to what an analysis judges.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The number, or its absence.
    pub result: QueryResult,
    /// How many series a vector result had (`None` for a scalar).
    pub series: Option<usize>,
    /// Warnings Prometheus attached to the answer.
    pub warnings: Vec<String>,
}

/// The one number of a query, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    /// A scalar, or the value of the only series with its labels. `value` may be `NaN` or
    /// infinite (`raw` is what Prometheus wrote: `NaN`, `+Inf`).
    Number {
        /// The value as Prometheus wrote it.
        raw: String,
        /// The value parsed.
        value: f64,
        /// The series' labels (`None` for a scalar).
        labels: Option<BTreeMap<String, String>>,
    },
    /// An empty vector.
    NoData,
}

/// Reads an answer of `GET /api/v1/query`. The error is a plain sentence: the query was
/// refused (with Prometheus's message), the result has several series or is not a number,
/// or the body is not the API's JSON.
pub fn read_response(status: u16, body: &[u8]) -> Result<Answer, String> {
    let parsed: ApiResponse = match serde_json::from_slice(body) {
        Ok(parsed) => parsed,
        Err(error) if (200..300).contains(&status) => {
            return Err(format!(
                "Prometheus answered JSON this analysis cannot read: {error}"
            ));
        }
        Err(_) => return Err(format!("Prometheus answered HTTP {status}")),
    };
    if parsed.status != "success" {
        return Err(format!(
            "Prometheus refused the query ({}): {}",
            parsed.error_type.as_deref().unwrap_or("error"),
            parsed.error.as_deref().unwrap_or("no message")
        ));
    }
    let (raw, labels, series) = match parsed.data {
        None => return Err("Prometheus answered success without data".into()),
        Some(QueryData::Scalar(sample)) => (sample.1, None, None),
        Some(QueryData::Vector(all)) => {
            let count = all.len();
            let mut all = all.into_iter();
            match (all.next(), count) {
                (Some(only), 1) => (only.value.1, Some(only.metric), Some(1)),
                (None, _) => {
                    return Ok(Answer {
                        result: QueryResult::NoData,
                        series: Some(0),
                        warnings: parsed.warnings,
                    });
                }
                (Some(_), count) => {
                    return Err(format!(
                        "the query returned {count} series; an analysis needs exactly one (aggregate with sum(), avg() or max())"
                    ));
                }
            }
        }
        Some(QueryData::Matrix(_)) => {
            return Err("the query returned a range vector; write an instant query (for example wrap it in rate(...[5m]) or last_over_time(...[5m]))".into());
        }
        Some(QueryData::String(_)) => {
            return Err("the query returned a string, not a number".into());
        }
    };
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("Prometheus answered a value that is not a number: `{raw}`"))?;
    Ok(Answer {
        result: QueryResult::Number { raw, value, labels },
        series,
        warnings: parsed.warnings,
    })
}

/// Fills the runtime placeholders. `canary_is_address`: in web URLs `{{ canary }}` is the
/// canary's base address rather than its version.
pub(crate) fn fill_runtime(
    text: &str,
    target: &Target,
    canary_is_address: bool,
) -> Result<String, String> {
    let filled = placeholder::fill(text, &|name| match name {
        "canary" if canary_is_address => target.canary_address.clone(),
        "canary" => Some(target.canary.clone()),
        "stable" => target.stable.clone(),
        "environment" => target.environment.clone(),
        _ => None,
    });
    filled.map_err(|error| match error {
        placeholder::PlaceholderError::Unknown { name } => match name.as_str() {
            "canary" => {
                "`{{ canary }}` needs the canary's address, and the rollout has none".into()
            }
            "stable" => {
                "`{{ stable }}` needs a stable version, and the rollout has none (a first release)"
                    .into()
            }
            "environment" => {
                "`{{ environment }}` needs an environment, and the measurement has none".into()
            }
            _ => format!("unknown placeholder `{{{{ {name} }}}}`"),
        },
        placeholder::PlaceholderError::Unclosed { at } => {
            format!("`{{{{` at byte {at} has no closing `}}}}`")
        }
    })
}
