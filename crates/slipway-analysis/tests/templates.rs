//! `Template::from_pipeline` over real pipeline files: defaults, every provider, and errors
//! that point at the line and column of the offending value.

mod common;

use common::template_from;
use slipway_analysis::{
    AnalysisError, Baseline, DEFAULT_CONSECUTIVE_ERROR_LIMIT, DEFAULT_INTERVAL, Provider,
    ProxyMetric, Template,
};
use std::time::Duration;

const HEADER: &str = "version: 1\njobs:\n  build:\n    steps:\n      - run: make\nanalysis:\n";

fn pipeline(analysis: &str) -> String {
    format!("{HEADER}{analysis}")
}

/// The error of reading `analysis.<name>`, located as `file:line:col: message (help)`.
fn error_of(analysis: &str, name: &str) -> String {
    let text = pipeline(analysis);
    let loaded = slipway_pipeline::load("slipway.yml", &text, &slipway_pipeline::NoTemplates);
    let analyses = loaded.pipeline.analysis.as_ref().unwrap();
    let error: AnalysisError = Template::from_pipeline(name, &analyses[name]).unwrap_err();
    let located = error.to_diagnostic().located(&loaded.sources);
    format!(
        "{}:{}:{}: {} {}: {} (help: {})",
        located.file,
        located.line,
        located.column,
        located.severity_name(),
        located.code,
        located.message,
        located.help.unwrap_or_default()
    )
}

trait SeverityName {
    fn severity_name(&self) -> &'static str;
}

impl SeverityName for slipway_pipeline::LocatedDiagnostic {
    fn severity_name(&self) -> &'static str {
        match self.severity {
            slipway_pipeline::Severity::Error => "error",
            slipway_pipeline::Severity::Warning => "warning",
        }
    }
}

#[test]
fn proxy_template_gets_documented_defaults() {
    let template = template_from(
        &pipeline(
            "  errors:\n    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n",
        ),
        "errors",
    );
    assert_eq!(template.name, "errors");
    assert_eq!(
        template.provider,
        Provider::Proxy {
            metric: ProxyMetric::ErrorRate
        }
    );
    assert_eq!(template.success.as_ref().unwrap().text(), "value < 0.01");
    assert!(template.failure.is_none());
    assert_eq!(template.interval, DEFAULT_INTERVAL);
    assert_eq!(template.interval, Duration::from_secs(30));
    assert_eq!(template.count, 1);
    assert_eq!(template.failure_limit, 0);
    assert_eq!(template.inconclusive_limit, 0);
    assert_eq!(
        template.consecutive_error_limit,
        DEFAULT_CONSECUTIVE_ERROR_LIMIT
    );
    assert_eq!(template.consecutive_error_limit, 4);
    assert_eq!(template.min_samples, 20);
    assert_eq!(template.baseline, None);
}

#[test]
fn every_key_is_read() {
    let template = template_from(
        &pipeline(
            "  latency:\n    provider: proxy\n    metric: latency_p95\n    success: \"value < 300\"\n    failure: \"value > 1000\"\n    interval: 10s\n    count: 6\n    failure-limit: 1\n    inconclusive-limit: 2\n    consecutive-error-limit: 3\n    min-samples: 50\n    compare: baseline\n    confidence: 0.99\n",
        ),
        "latency",
    );
    assert_eq!(
        template.provider,
        Provider::Proxy {
            metric: ProxyMetric::LatencyP95
        }
    );
    assert_eq!(template.failure.as_ref().unwrap().text(), "value > 1000");
    assert_eq!(template.interval, Duration::from_secs(10));
    assert_eq!(
        (
            template.count,
            template.failure_limit,
            template.inconclusive_limit
        ),
        (6, 1, 2)
    );
    assert_eq!(template.consecutive_error_limit, 3);
    assert_eq!(template.min_samples, 50);
    assert_eq!(template.baseline, Some(Baseline { confidence: 0.99 }));
}

#[test]
fn baseline_defaults_to_95_percent_confidence() {
    let template = template_from(
        &pipeline(
            "  errors:\n    provider: proxy\n    metric: error_rate\n    success: \"value < 0.05\"\n    compare: baseline\n",
        ),
        "errors",
    );
    assert_eq!(template.baseline, Some(Baseline { confidence: 0.95 }));
}

#[test]
fn prometheus_query_gets_its_args_and_keeps_runtime_placeholders() {
    let template = template_from(
        &pipeline(
            "  p99:\n    provider: prometheus\n    query: 'histogram_quantile(0.99, sum(rate(http_seconds_bucket{job=\"{{ args.job }}\",version=\"{{canary}}\"}[{{ args.window }}])) by (le))'\n    success: \"value < 0.3\"\n    args:\n      job: api\n      window: 2m\n",
        ),
        "p99",
    );
    assert_eq!(
        template.provider,
        Provider::Prometheus {
            query: "histogram_quantile(0.99, sum(rate(http_seconds_bucket{job=\"api\",version=\"{{ canary }}\"}[2m])) by (le))".into(),
            address: None,
        }
    );
    assert_eq!(template.min_samples, 0);
}

#[test]
fn prometheus_template_reads_its_server_address() {
    let template = template_from(
        &pipeline(
            "  up:\n    provider: prometheus\n    query: up\n    address: http://127.0.0.1:9090/\n    success: \"value == 1\"\n",
        ),
        "up",
    );
    assert_eq!(
        template.provider,
        Provider::Prometheus {
            query: "up".into(),
            address: Some("http://127.0.0.1:9090/".into()),
        }
    );
}

#[test]
fn web_template_reads_url_and_json_path() {
    let template = template_from(
        &pipeline(
            "  health:\n    provider: web\n    url: \"{{ canary }}/health?env={{ environment }}\"\n    json-path: $.checks.ready\n    success: \"value == 1\"\n",
        ),
        "health",
    );
    assert_eq!(
        template.provider,
        Provider::Web {
            url: "{{ canary }}/health?env={{ environment }}".into(),
            json_path: Some("$.checks.ready".into()),
        }
    );
}

#[test]
fn errors_point_at_the_value_and_say_how_to_fix_it() {
    let cases = [
        (
            "  e:\n    provider: proxy\n    metric: eror_rate\n    success: \"value < 1\"\n",
            "slipway.yml:9:13: error E006: analysis `e`: invalid `metric`: `eror_rate` is not a proxy metric (help: did you mean `error_rate`? The proxy measures error_rate, latency_p50, latency_p95, latency_p99, request_rate)",
        ),
        (
            "  e:\n    provider: prometheus\n    query: 'up{job=\"{{ args.job }}\"}'\n    success: \"value == 1\"\n",
            "slipway.yml:9:12: error E006: analysis `e`: unknown placeholder `{{ args.job }}` in `query` (help: define it: `args: { job: ... }`)",
        ),
        (
            "  e:\n    provider: prometheus\n    query: 'up{v=\"{{ canary_version }}\"}'\n    success: \"value == 1\"\n",
            "slipway.yml:9:12: error E006: analysis `e`: unknown placeholder `{{ canary_version }}` in `query` (help: known placeholders: `{{ args.NAME }}`, `{{ canary }}`, `{{ stable }}`, `{{ environment }}`)",
        ),
        (
            "  e:\n    provider: prometheus\n    query: 'up{v=\"{{ args.jb }}\"}'\n    success: \"value == 1\"\n    args: { job: api }\n",
            "slipway.yml:9:12: error E006: analysis `e`: unknown placeholder `{{ args.jb }}` in `query` (help: define `jb` under `args` (defined: job))",
        ),
        (
            "  e:\n    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01 && event.branch == 'main'\"\n",
            "slipway.yml:10:14: error E014: invalid `success` condition in analysis `e`: `event` is not known here; a condition reads `value` and `samples` (help: )",
        ),
        (
            "  e:\n    provider: web\n    url: http://x/\n    success: \"value == 1\"\n    compare: baseline\n",
            "slipway.yml:11:14: error E006: analysis `e`: invalid `compare`: a baseline comparison needs the proxy's per-request data (help: use `provider: proxy`, or compare inside the PromQL query)",
        ),
        (
            "  e:\n    provider: proxy\n    metric: request_rate\n    success: \"value > 1\"\n    compare: baseline\n",
            "slipway.yml:11:14: error E006: analysis `e`: invalid `compare`: request rates follow the traffic weights, so canary and stable always differ (help: compare `error_rate` or a latency metric, or remove `compare`)",
        ),
        (
            "  e:\n    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n    compare: baseline\n    confidence: 1.5\n",
            "slipway.yml:12:17: error E006: analysis `e`: invalid `confidence`: 1.5 is out of range (help: use a value from 0.5 to 0.999, e.g. 0.95)",
        ),
        (
            "  e:\n    provider: prometheus\n    query: up\n    success: \"value == 1\"\n    min-samples: 20\n",
            "slipway.yml:11:18: error E006: analysis `e`: invalid `min-samples`: a Prometheus measurement is one sample (one series) (help: require traffic in the query itself, e.g. `<query> and on() sum(increase(http_requests_total[5m])) > 50`: with too little traffic the result is empty and the measurement inconclusive)",
        ),
        (
            "  e:\n    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n    count: 0\n",
            "slipway.yml:11:12: error E006: analysis `e`: invalid `count`: 0 is out of range (help: use a whole number from 1 to 4294967295)",
        ),
        (
            "  e:\n    provider: web\n    url: http://x/\n    json-path: data..ok\n    success: \"value == 1\"\n",
            "slipway.yml:10:16: error E006: analysis `e`: invalid `json-path`: `data..ok` has an empty field name (two dots, or a dot at an end) (help: write a dotted path such as `data.ok` or `$.checks.0.healthy`)",
        ),
        (
            "  e:\n    provider: prometheus\n    query: up\n    address: 127.0.0.1:9090\n    success: \"value == 1\"\n",
            "slipway.yml:10:14: error E006: analysis `e`: invalid `address`: not an http(s) URL with a host (help: write the server's base URL, e.g. `address: http://127.0.0.1:9090`)",
        ),
        (
            "  e:\n    provider: proxy\n    metric: error_rate\n    address: http://127.0.0.1:9090\n    success: \"value < 1\"\n",
            "slipway.yml:10:14: error E006: analysis `e`: invalid `address`: only a `prometheus` analysis asks a server (help: remove `address`)",
        ),
        (
            "  e:\n    provider: proxy\n    metric: error_rate\n",
            "slipway.yml:8:15: error E026: analysis `e` needs `success` (help: add a condition over the measured value, e.g. `success: \"value < 0.01\"` (or a `failure` condition))",
        ),
    ];
    for (analysis, expected) in cases {
        assert_eq!(error_of(analysis, "e"), expected, "for:\n{analysis}");
    }
}
