//! One measurement: ask the provider for a value, then judge it against the conditions.

use crate::template::{Provider, Template};
use crate::{prometheus, proxy, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::time::{Duration, SystemTime};

/// The HTTP timeout of Prometheus queries and web checks when none is configured.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How the built-in proxy's traffic reaches the analysis: the delivery controller adapts the
/// proxy to this.
pub trait TrafficSource: Send + Sync {
    /// What the proxy saw for one version (a release id) from `since` until now.
    fn window(&self, version: &str, since: SystemTime) -> TrafficWindow;
}

/// The traffic of one version over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficWindow {
    /// Requests answered (or failed) in the window.
    pub requests: u64,
    /// Of those, answered with a 5xx status or not answered at all.
    pub errors_5xx: u64,
    /// Latencies in milliseconds: every request's, or a uniform sample of them. Non-finite
    /// and negative values are ignored.
    pub latencies_ms: Vec<f64>,
}

/// The rollout being judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The canary's version (release id): the proxy's traffic key, `{{ canary }}` in queries.
    pub canary: String,
    /// The stable version, when there is one: the baseline, `{{ stable }}`.
    pub stable: Option<String>,
    /// Start of the measured window (the step's start, or the last weight change).
    pub since: SystemTime,
    /// The canary's base URL (`http://127.0.0.1:41234`): `{{ canary }}` in web checks.
    pub canary_address: Option<String>,
    /// The environment's name: `{{ environment }}`.
    pub environment: Option<String>,
}

impl Target {
    /// A target with only a canary version, measured from `since`.
    pub fn new(canary: impl Into<String>, since: SystemTime) -> Target {
        Target {
            canary: canary.into(),
            stable: None,
            since,
            canary_address: None,
            environment: None,
        }
    }
}

/// Where measurements reach outside systems.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// Base URL of the Prometheus HTTP API (`http://127.0.0.1:9090`).
    pub prometheus_url: Option<String>,
    /// Timeout of each Prometheus query and web check, connection included.
    pub http_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            prometheus_url: None,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry credentials (`https://user:token@host`).
        f.debug_struct("Settings")
            .field(
                "prometheus_url",
                &self.prometheus_url.as_deref().map(crate::http::redact),
            )
            .field("http_timeout", &self.http_timeout)
            .finish()
    }
}

/// The judgement of one measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The value met the success condition (or did not meet the failure condition).
    Pass,
    /// The value met the failure condition (or did not meet the success condition), or the
    /// canary is significantly worse than the baseline.
    Fail,
    /// Too little data, no data, a non-finite value, or neither condition held.
    Inconclusive,
    /// The value could not be measured (timeout, HTTP error, malformed response).
    Error,
}

impl Verdict {
    /// The lowercase name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Error => "error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One measurement of one analysis, as stored and shown by `slipway rollout status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The analysis's name.
    pub analysis: String,
    /// The measured value; `None` when there is none worth judging (too few samples, no data,
    /// NaN or infinite, an error). With `compare: baseline` it is still the canary's metric;
    /// the comparison's p-value is in `details`.
    pub value: Option<f64>,
    /// How many samples the value stands on (requests for the proxy, series for Prometheus,
    /// 1 for a web check).
    pub samples: u64,
    /// The judgement.
    pub verdict: Verdict,
    /// The condition(s) that decided, as written (`value < 0.01`); empty when none was asked.
    pub condition: String,
    /// The judgement in plain words, with the data behind it.
    pub explanation: String,
    /// When the measurement was taken, RFC 3339 UTC.
    pub at: String,
    /// Provider- and test-specific data: the query, HTTP status, p-value, effect size, sizes.
    pub details: Json,
}

/// What a provider observed, before the conditions are asked.
pub(crate) struct Observation {
    pub value: Observed,
    pub samples: u64,
    pub details: Map<String, Json>,
}

impl Observation {
    /// One reading (a query, a call): one sample when it gave a value, none otherwise; a
    /// failure to read is an error.
    pub(crate) fn single(
        read: std::result::Result<Observed, String>,
        details: Map<String, Json>,
    ) -> Observation {
        let value = read.unwrap_or_else(Observed::Error);
        let samples = u64::from(matches!(value, Observed::Value { .. }));
        Observation {
            value,
            samples,
            details,
        }
    }
}

pub(crate) enum Observed {
    /// A value to judge; `described` reads like "error rate 0.4% over 412 requests".
    Value { value: f64, described: String },
    /// Not enough, or no usable, data; the reason in plain words.
    Inconclusive(String),
    /// Measuring failed; what failed.
    Error(String),
}

/// A regression found by comparing with the baseline, in plain words.
pub(crate) struct Regression(pub String);

/// Takes one measurement of `template` for `target`. Never fails and never panics: a problem
/// reaching the provider is an [`Verdict::Error`] measurement, too little data an
/// [`Verdict::Inconclusive`] one. Prometheus and web calls time out after
/// `settings.http_timeout`; a measurement is not retried here, because the next one comes
/// after `interval` and `consecutive-error-limit` bounds how many may fail in a row.
pub async fn measure(
    template: &Template,
    target: &Target,
    traffic: &dyn TrafficSource,
    settings: &Settings,
) -> Measurement {
    let (observation, regression) = match &template.provider {
        Provider::Proxy { metric } => match template.baseline {
            None => (
                proxy::observe(*metric, template.min_samples, target, traffic),
                None,
            ),
            Some(baseline) => {
                proxy::compare(*metric, template.min_samples, baseline, target, traffic)
            }
        },
        Provider::Prometheus { query, address } => (
            prometheus::observe(query, address.as_deref(), target, settings).await,
            None,
        ),
        Provider::Web { url, json_path } => (
            web::observe(url, json_path.as_deref(), target, settings).await,
            None,
        ),
    };
    judge(template, observation, regression)
}

/// Applies the conditions (Argo Rollouts' rules) and the sample minimum to an observation.
pub(crate) fn judge(
    template: &Template,
    observation: Observation,
    regression: Option<Regression>,
) -> Measurement {
    let Observation {
        value,
        samples,
        details,
    } = observation;
    let (value, verdict, condition, explanation) = match value {
        Observed::Error(reason) => (
            None,
            Verdict::Error,
            String::new(),
            format!("error: {reason}"),
        ),
        Observed::Inconclusive(reason) => (
            None,
            Verdict::Inconclusive,
            String::new(),
            format!("inconclusive: {reason}"),
        ),
        Observed::Value { value, .. } if !value.is_finite() => (
            None,
            Verdict::Inconclusive,
            String::new(),
            format!("inconclusive: the value is {value}, which no condition can judge"),
        ),
        Observed::Value { .. } if samples < template.min_samples => (
            None,
            Verdict::Inconclusive,
            String::new(),
            format!(
                "inconclusive: {samples} samples, fewer than the {} needed",
                template.min_samples
            ),
        ),
        Observed::Value { value, described } => {
            let (verdict, condition, explanation) =
                conditions(template, value, samples, &described);
            match regression {
                Some(Regression(why)) if verdict != Verdict::Error => {
                    let explanation = match verdict {
                        Verdict::Pass => format!("{explanation}, but it is {why}"),
                        Verdict::Fail => format!("{explanation}; it is also {why}"),
                        Verdict::Inconclusive | Verdict::Error => format!("{described} is {why}"),
                    };
                    let condition = if condition.is_empty() {
                        "compare: baseline".to_string()
                    } else {
                        format!("{condition}; compare: baseline")
                    };
                    (Some(value), Verdict::Fail, condition, explanation)
                }
                _ => (Some(value), verdict, condition, explanation),
            }
        }
    };
    Measurement {
        analysis: template.name.clone(),
        value,
        samples,
        verdict,
        condition,
        explanation,
        at: now_rfc3339(),
        details: Json::Object(details),
    }
}

/// Both conditions: failure wins when both hold, neither holding is inconclusive. Only
/// `success`: not holding fails. Only `failure`: not holding passes.
fn conditions(
    template: &Template,
    value: f64,
    samples: u64,
    described: &str,
) -> (Verdict, String, String) {
    let ask = |condition: &crate::Condition| condition.holds(value, samples);
    let quoted = |condition: &crate::Condition| format!("`{}`", condition.text());
    let evaluation_error = |condition: &crate::Condition,
                            error: slipway_pipeline::expr::EvalError| {
        (
            Verdict::Error,
            condition.text().to_string(),
            format!(
                "error: condition {} could not be evaluated: {error}",
                quoted(condition)
            ),
        )
    };
    match (&template.success, &template.failure) {
        (success, Some(failure)) => match ask(failure) {
            Err(error) => evaluation_error(failure, error),
            Ok(true) => (
                Verdict::Fail,
                failure.text().to_string(),
                format!("{described} met the failure condition {}", quoted(failure)),
            ),
            Ok(false) => match success {
                None => (
                    Verdict::Pass,
                    failure.text().to_string(),
                    format!(
                        "{described} passed: the failure condition {} did not hold",
                        quoted(failure)
                    ),
                ),
                Some(success) => match ask(success) {
                    Err(error) => evaluation_error(success, error),
                    Ok(true) => (
                        Verdict::Pass,
                        success.text().to_string(),
                        format!("{described} passed {}", quoted(success)),
                    ),
                    Ok(false) => (
                        Verdict::Inconclusive,
                        format!("{}; {}", success.text(), failure.text()),
                        format!(
                            "inconclusive: {described} met neither the success condition {} nor the failure condition {}",
                            quoted(success),
                            quoted(failure)
                        ),
                    ),
                },
            },
        },
        (Some(success), None) => match ask(success) {
            Err(error) => evaluation_error(success, error),
            Ok(true) => (
                Verdict::Pass,
                success.text().to_string(),
                format!("{described} passed {}", quoted(success)),
            ),
            Ok(false) => (
                Verdict::Fail,
                success.text().to_string(),
                format!("{described} failed {}", quoted(success)),
            ),
        },
        (None, None) => (
            Verdict::Error,
            String::new(),
            "error: the analysis has neither a success nor a failure condition".to_string(),
        ),
    }
}

/// The current time, RFC 3339 in UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
