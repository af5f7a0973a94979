//! Analysis templates: what to measure, how to judge one measurement and how many to take.

use crate::condition::Condition;
use crate::error::AnalysisError;
use crate::placeholder::{self, PlaceholderError, RUNTIME_PLACEHOLDERS};
use serde::{Deserialize, Serialize};
use slipway_pipeline::diagnostic::suggest;
use slipway_pipeline::model::{AnalysisProvider, AnalysisTemplate};
use slipway_pipeline::source::Span;
use slipway_pipeline::spanned::Spanned;
use std::time::Duration;

/// How often a measurement is taken when the template sets no `interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Measurements taken when the template sets no `count`.
pub const DEFAULT_COUNT: u32 = 1;
/// Failed measurements tolerated by default: the first failure fails the analysis.
pub const DEFAULT_FAILURE_LIMIT: u32 = 0;
/// Inconclusive measurements tolerated by default: the first one pauses for a human.
pub const DEFAULT_INCONCLUSIVE_LIMIT: u32 = 0;
/// Errors in a row tolerated by default (Argo Rollouts' default); the fifth fails the analysis.
pub const DEFAULT_CONSECUTIVE_ERROR_LIMIT: u32 = 4;
/// Requests the proxy must have seen before its metrics mean anything.
pub const DEFAULT_PROXY_MIN_SAMPLES: u64 = 20;
/// Confidence of the baseline comparison when the template sets no `confidence`.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// One analysis, ready to measure: the pipeline file's `analysis.<name>` with defaults applied,
/// conditions parsed and `{{ args.NAME }}` filled in.
///
/// Defaults: `interval` 30s, `count` 1, `failure-limit` 0, `inconclusive-limit` 0,
/// `consecutive-error-limit` 4, `min-samples` 20 for the proxy and 0 for Prometheus and web.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The analysis's name under `analysis:`.
    pub name: String,
    /// Where the value comes from.
    pub provider: Provider,
    /// The measurement passes when this holds (unless `failure` holds too).
    pub success: Option<Condition>,
    /// The measurement fails when this holds.
    pub failure: Option<Condition>,
    /// Time between measurements.
    pub interval: Duration,
    /// Measurements without error that complete the analysis.
    pub count: u32,
    /// Failed measurements tolerated; one more fails the analysis.
    pub failure_limit: u32,
    /// Inconclusive measurements tolerated; one more makes the analysis inconclusive.
    pub inconclusive_limit: u32,
    /// Errors in a row tolerated; one more fails the analysis.
    pub consecutive_error_limit: u32,
    /// Below this many samples a measurement is inconclusive for lack of data.
    pub min_samples: u64,
    /// `compare: baseline`: also judge the canary against the stable version.
    pub baseline: Option<Baseline>,
}

/// Where a measurement's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Provider {
    /// The built-in proxy's traffic counters.
    Proxy {
        /// The metric measured.
        metric: ProxyMetric,
    },
    /// A PromQL instant query; `{{ canary }}`, `{{ stable }}` and `{{ environment }}` are
    /// filled at each measurement (the version names and the environment).
    Prometheus {
        /// The query, `{{ args.NAME }}` already filled.
        query: String,
        /// The server's base URL from the template's `address`; without it the one in
        /// [`Settings`](crate::Settings) is asked.
        address: Option<String>,
    },
    /// An HTTP GET; `{{ canary }}` is the canary's base address, `{{ stable }}` the stable
    /// version and `{{ environment }}` the environment.
    Web {
        /// The URL, `{{ args.NAME }}` already filled.
        url: String,
        /// A dotted path into the JSON response (`data.ok`, `$.data.ok`, `items.0.ok`).
        json_path: Option<String>,
    },
}

/// A metric the built-in proxy measures, named in the file as `error_rate`, `latency_p50`,
/// `latency_p95`, `latency_p99` or `request_rate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyMetric {
    /// Share of requests answered with a 5xx status, 0 to 1.
    ErrorRate,
    /// Median latency in milliseconds.
    LatencyP50,
    /// 95th percentile latency in milliseconds.
    LatencyP95,
    /// 99th percentile latency in milliseconds.
    LatencyP99,
    /// Requests per second since the window started.
    RequestRate,
}

impl ProxyMetric {
    /// Every metric, in the order of their names.
    pub const ALL: [ProxyMetric; 5] = [
        ProxyMetric::ErrorRate,
        ProxyMetric::LatencyP50,
        ProxyMetric::LatencyP95,
        ProxyMetric::LatencyP99,
        ProxyMetric::RequestRate,
    ];

    /// The name used in the pipeline file.
    pub fn name(self) -> &'static str {
        match self {
            ProxyMetric::ErrorRate => "error_rate",
            ProxyMetric::LatencyP50 => "latency_p50",
            ProxyMetric::LatencyP95 => "latency_p95",
            ProxyMetric::LatencyP99 => "latency_p99",
            ProxyMetric::RequestRate => "request_rate",
        }
    }

    /// The metric of a name used in the pipeline file.
    pub fn from_name(name: &str) -> Option<ProxyMetric> {
        ProxyMetric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The quantile of a latency metric (0.5, 0.95, 0.99).
    pub fn latency_quantile(self) -> Option<f64> {
        match self {
            ProxyMetric::LatencyP50 => Some(0.50),
            ProxyMetric::LatencyP95 => Some(0.95),
            ProxyMetric::LatencyP99 => Some(0.99),
            ProxyMetric::ErrorRate | ProxyMetric::RequestRate => None,
        }
    }

    /// How the metric reads in an explanation.
    pub fn describe(self) -> &'static str {
        match self {
            ProxyMetric::ErrorRate => "error rate",
            ProxyMetric::LatencyP50 => "latency p50",
            ProxyMetric::LatencyP95 => "latency p95",
            ProxyMetric::LatencyP99 => "latency p99",
            ProxyMetric::RequestRate => "request rate",
        }
    }
}

impl std::fmt::Display for ProxyMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `compare: baseline`: the canary is also judged against the stable version over the same
/// window, and fails when it is worse with at least this confidence (see [`crate::stats`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Baseline {
    /// 1 minus the significance level, e.g. 0.95; between 0.5 and 0.999.
    pub confidence: f64,
}

impl Template {
    /// Reads `analysis.<name>` of a pipeline file. Errors name the key, point at the value in
    /// the file and say how to fix it; the lint checks (`check.rs`) report the same missing
    /// keys earlier, this repeats them so a template is never half-valid.
    pub fn from_pipeline(
        name: &str,
        template: &AnalysisTemplate,
    ) -> Result<Template, AnalysisError> {
        let reader = Reader {
            analysis: name,
            template,
        };
        reader.read()
    }
}

struct Reader<'a> {
    analysis: &'a str,
    template: &'a AnalysisTemplate,
}

impl Reader<'_> {
    fn read(&self) -> Result<Template, AnalysisError> {
        let template = self.template;
        let provider_kind = template.provider.as_ref().ok_or_else(|| {
            self.missing("provider", "add `provider: proxy`, `prometheus` or `web`")
        })?;
        let provider = match provider_kind.value {
            AnalysisProvider::Proxy => Provider::Proxy {
                metric: self.metric()?,
            },
            AnalysisProvider::Prometheus => Provider::Prometheus {
                query: self.templated(
                    "query",
                    template.query.as_ref(),
                    "add a PromQL instant query, e.g. `query: sum(rate(http_requests_total{code=~\"5..\"}[1m]))`",
                )?,
                address: self.address()?,
            },
            AnalysisProvider::Web => Provider::Web {
                url: self.templated(
                    "url",
                    template.url.as_ref(),
                    "add the URL to call, e.g. `url: \"{{ canary }}/healthz\"`",
                )?,
                json_path: self.json_path()?,
            },
        };
        if !matches!(provider, Provider::Prometheus { .. })
            && let Some(address) = &template.address
        {
            return Err(self.invalid(
                "address",
                address.span,
                "only a `prometheus` analysis asks a server",
                "remove `address`",
            ));
        }
        if !matches!(provider, Provider::Web { .. })
            && let Some(path) = &template.json_path
        {
            return Err(self.invalid(
                "json-path",
                path.span,
                "only a `web` analysis reads a JSON response",
                "remove `json-path`",
            ));
        }
        let success = self.condition("success", template.success.as_ref())?;
        let failure = self.condition("failure", template.failure.as_ref())?;
        if success.is_none() && failure.is_none() {
            return Err(self.missing(
                "success",
                "add a condition over the measured value, e.g. `success: \"value < 0.01\"` (or a `failure` condition)",
            ));
        }
        let min_samples = self.min_samples(&provider)?;
        let baseline = self.baseline(&provider)?;
        Ok(Template {
            name: self.analysis.to_string(),
            provider,
            success,
            failure,
            interval: self.interval()?,
            count: self.count("count", template.count.as_ref(), 1, DEFAULT_COUNT)?,
            failure_limit: self.count(
                "failure-limit",
                template.failure_limit.as_ref(),
                0,
                DEFAULT_FAILURE_LIMIT,
            )?,
            inconclusive_limit: self.count(
                "inconclusive-limit",
                template.inconclusive_limit.as_ref(),
                0,
                DEFAULT_INCONCLUSIVE_LIMIT,
            )?,
            consecutive_error_limit: self.count(
                "consecutive-error-limit",
                template.consecutive_error_limit.as_ref(),
                0,
                DEFAULT_CONSECUTIVE_ERROR_LIMIT,
            )?,
            min_samples,
            baseline,
        })
    }

    fn missing(&self, key: &'static str, help: &str) -> AnalysisError {
        AnalysisError::MissingKey {
            analysis: self.analysis.to_string(),
            key,
            help: help.to_string(),
            span: self.name_span(),
        }
    }

    fn invalid(&self, key: &'static str, span: Span, message: &str, help: &str) -> AnalysisError {
        AnalysisError::InvalidValue {
            analysis: self.analysis.to_string(),
            key,
            message: message.to_string(),
            help: help.to_string(),
            span,
        }
    }

    /// The template has no span of its own; its provider's is the closest to its name.
    fn name_span(&self) -> Span {
        self.template
            .provider
            .as_ref()
            .map(|p| p.span)
            .unwrap_or_default()
    }

    fn metric(&self) -> Result<ProxyMetric, AnalysisError> {
        let names = ProxyMetric::ALL.map(ProxyMetric::name).join(", ");
        let metric =
            self.template.metric.as_ref().ok_or_else(|| {
                self.missing("metric", &format!("add `metric:` with one of {names}"))
            })?;
        ProxyMetric::from_name(metric.trim()).ok_or_else(|| {
            let help = match suggest(metric.trim(), ProxyMetric::ALL.map(ProxyMetric::name)) {
                Some(close) => format!("did you mean `{close}`? The proxy measures {names}"),
                None => format!("the proxy measures {names}"),
            };
            self.invalid(
                "metric",
                metric.span,
                &format!("`{}` is not a proxy metric", metric.value),
                &help,
            )
        })
    }

    /// Fills `{{ args.NAME }}` and checks that every other placeholder is filled at
    /// measurement time.
    fn templated(
        &self,
        key: &'static str,
        text: Option<&Spanned<String>>,
        help: &str,
    ) -> Result<String, AnalysisError> {
        let text = text.ok_or_else(|| self.missing(key, help))?;
        let args = self.template.args.as_ref();
        let arg_names: Vec<&str> = args
            .map(|a| a.keys().map(|k| k.name.as_str()).collect())
            .unwrap_or_default();
        let filled = placeholder::fill(text, &|name| match name.strip_prefix("args.") {
            Some(arg) => args.and_then(|a| a.get(arg)).map(|v| v.value.clone()),
            None => RUNTIME_PLACEHOLDERS
                .contains(&name)
                .then(|| placeholder::keep(name)),
        });
        let error = match filled {
            Ok(filled) => {
                // An argument's value may itself hold placeholders; only runtime ones may remain.
                let check = placeholder::fill(&filled, &|name| {
                    RUNTIME_PLACEHOLDERS.contains(&name).then(String::new)
                });
                match check {
                    Ok(_) => return Ok(filled),
                    Err(error) => error,
                }
            }
            Err(error) => error,
        };
        Err(match error {
            PlaceholderError::Unclosed { at } => self.invalid(
                key,
                text.span,
                &format!("`{{{{` at byte {at} has no closing `}}}}`"),
                "close the placeholder, e.g. `{{ canary }}`",
            ),
            PlaceholderError::Unknown { name } => {
                let help = match name.strip_prefix("args.") {
                    Some(arg) if arg_names.is_empty() => {
                        format!("define it: `args: {{ {arg}: ... }}`")
                    }
                    Some(arg) => format!(
                        "define `{arg}` under `args` (defined: {})",
                        arg_names.join(", ")
                    ),
                    None => format!(
                        "known placeholders: `{{{{ args.NAME }}}}`, {}",
                        RUNTIME_PLACEHOLDERS
                            .iter()
                            .map(|n| format!("`{{{{ {n} }}}}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                AnalysisError::UnknownPlaceholder {
                    analysis: self.analysis.to_string(),
                    key,
                    name,
                    help,
                    span: text.span,
                }
            }
        })
    }

    /// The Prometheus server's base URL: `http` or `https`, checked here so a typo fails when
    /// the template is read rather than at the first measurement.
    fn address(&self) -> Result<Option<String>, AnalysisError> {
        let Some(address) = &self.template.address else {
            return Ok(None);
        };
        let text = address.trim();
        match reqwest::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                Ok(Some(text.to_string()))
            }
            _ => Err(self.invalid(
                "address",
                address.span,
                // Not echoed: the diagnostic points at it, and it may hold credentials.
                "not an http(s) URL with a host",
                "write the server's base URL, e.g. `address: http://127.0.0.1:9090`",
            )),
        }
    }

    fn json_path(&self) -> Result<Option<String>, AnalysisError> {
        let Some(path) = &self.template.json_path else {
            return Ok(None);
        };
        match crate::web::JsonPath::parse(path) {
            Ok(_) => Ok(Some(path.trim().to_string())),
            Err(message) => Err(self.invalid(
                "json-path",
                path.span,
                &message,
                "write a dotted path such as `data.ok` or `$.checks.0.healthy`",
            )),
        }
    }

    fn condition(
        &self,
        key: &'static str,
        text: Option<&Spanned<String>>,
    ) -> Result<Option<Condition>, AnalysisError> {
        let Some(text) = text else {
            return Ok(None);
        };
        Condition::parse(text)
            .map(Some)
            .map_err(|error| AnalysisError::Condition {
                analysis: self.analysis.to_string(),
                key,
                text: text.value.clone(),
                message: error.message,
                span: text.span,
            })
    }

    fn interval(&self) -> Result<Duration, AnalysisError> {
        match &self.template.interval {
            None => Ok(DEFAULT_INTERVAL),
            Some(interval) if interval.value.0.is_zero() => Err(self.invalid(
                "interval",
                interval.span,
                "an interval of zero would measure without pause",
                "use a duration such as `30s`",
            )),
            Some(interval) => Ok(interval.value.0),
        }
    }

    fn count(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        minimum: i64,
        default: u32,
    ) -> Result<u32, AnalysisError> {
        let Some(value) = value else {
            return Ok(default);
        };
        u32::try_from(value.value)
            .ok()
            .filter(|n| i64::from(*n) >= minimum)
            .ok_or_else(|| {
                self.invalid(
                    key,
                    value.span,
                    &format!("{} is out of range", value.value),
                    &format!("use a whole number from {minimum} to {}", u32::MAX),
                )
            })
    }

    fn min_samples(&self, provider: &Provider) -> Result<u64, AnalysisError> {
        let default = match provider {
            Provider::Proxy { .. } => DEFAULT_PROXY_MIN_SAMPLES,
            Provider::Prometheus { .. } | Provider::Web { .. } => 0,
        };
        let Some(value) = &self.template.min_samples else {
            return Ok(default);
        };
        let min_samples = u64::try_from(value.value).map_err(|_| {
            self.invalid(
                "min-samples",
                value.span,
                &format!("{} is negative", value.value),
                "use 0 or more",
            )
        })?;
        match provider {
            Provider::Prometheus { .. } if min_samples > 1 => Err(self.invalid(
                "min-samples",
                value.span,
                "a Prometheus measurement is one sample (one series)",
                "require traffic in the query itself, e.g. `<query> and on() sum(increase(http_requests_total[5m])) > 50`: with too little traffic the result is empty and the measurement inconclusive",
            )),
            Provider::Web { .. } if min_samples > 1 => Err(self.invalid(
                "min-samples",
                value.span,
                "a web check is one sample",
                "use `min-samples: 0` or `1`, or leave it out",
            )),
            _ => Ok(min_samples),
        }
    }

    fn baseline(&self, provider: &Provider) -> Result<Option<Baseline>, AnalysisError> {
        let template = self.template;
        let Some(compare) = &template.compare else {
            if let Some(confidence) = &template.confidence {
                return Err(self.invalid(
                    "confidence",
                    confidence.span,
                    "`confidence` applies only to a baseline comparison",
                    "add `compare: baseline` or remove `confidence`",
                ));
            }
            return Ok(None);
        };
        if compare.trim() != "baseline" {
            return Err(self.invalid(
                "compare",
                compare.span,
                &format!("`{}` is not something to compare with", compare.value),
                "the only comparison is `compare: baseline` (the stable version over the same window)",
            ));
        }
        match provider {
            Provider::Proxy { metric } if *metric != ProxyMetric::RequestRate => {}
            Provider::Proxy { .. } => {
                return Err(self.invalid(
                    "compare",
                    compare.span,
                    "request rates follow the traffic weights, so canary and stable always differ",
                    "compare `error_rate` or a latency metric, or remove `compare`",
                ));
            }
            Provider::Prometheus { .. } | Provider::Web { .. } => {
                return Err(self.invalid(
                    "compare",
                    compare.span,
                    "a baseline comparison needs the proxy's per-request data",
                    "use `provider: proxy`, or compare inside the PromQL query",
                ));
            }
        }
        let confidence = match &template.confidence {
            None => DEFAULT_CONFIDENCE,
            Some(c) if (0.5..=0.999).contains(&c.value) => c.value,
            Some(c) => {
                return Err(self.invalid(
                    "confidence",
                    c.span,
                    &format!("{} is out of range", c.value),
                    "use a value from 0.5 to 0.999, e.g. 0.95",
                ));
            }
        };
        Ok(Some(Baseline { confidence }))
    }
}
