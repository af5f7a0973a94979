//! Rollout analysis: measurements from the proxy, Prometheus and web checks, baseline statistics and verdicts.
//!
//! A [`Template`] comes from the pipeline file's `analysis:` section
//! ([`Template::from_pipeline`]). The delivery controller calls [`measure`] every `interval`,
//! stores each [`Measurement`] and feeds it to a [`Tally`], whose [`Outcome`] says when the
//! analysis run has succeeded, failed (roll back) or become inconclusive (pause for a human).
//!
//! Low traffic is never a pass: below `min-samples` a measurement is inconclusive for lack of
//! data, and a missing, `NaN` or infinite value is inconclusive before any condition is asked.

mod condition;
mod error;
mod http;
mod measure;
mod placeholder;
pub mod prometheus;
mod proxy;
pub mod stats;
mod tally;
mod template;
mod web;

pub use condition::{CONDITION_VARIABLES, Condition, ConditionError};
pub use error::AnalysisError;
pub use http::redact as redact_url;
pub use measure::{
    DEFAULT_HTTP_TIMEOUT, Measurement, Settings, Target, TrafficSource, TrafficWindow, Verdict,
    measure,
};
pub use placeholder::RUNTIME_PLACEHOLDERS;
pub use tally::{Outcome, Tally};
pub use template::{
    Baseline, DEFAULT_CONFIDENCE, DEFAULT_CONSECUTIVE_ERROR_LIMIT, DEFAULT_COUNT,
    DEFAULT_FAILURE_LIMIT, DEFAULT_INCONCLUSIVE_LIMIT, DEFAULT_INTERVAL, DEFAULT_PROXY_MIN_SAMPLES,
    Provider, ProxyMetric, Template,
};
pub use web::JsonPath;
