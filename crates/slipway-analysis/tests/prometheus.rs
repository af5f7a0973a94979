//! PromQL analyses against a real Prometheus server (Debian's `prometheus`), started by the
//! test on a free loopback port with its own storage, scraping a small exporter served by the
//! test every second. Answers the analysis cannot judge (NaN, no series, several series, a
//! refused query, a range vector) come from the same real server.
//!
//! The server comes from `scripts/deps/analysis.sh`. When it is missing the test fails if `CI`
//! is `true`, and otherwise prints a `skipped:` notice and returns.

mod common;

use common::{Reply, Routes, Windows, serve, template_from};
use slipway_analysis::prometheus::{QueryResult, read_response};
use slipway_analysis::{Measurement, Settings, Target, Verdict, measure};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const PROMETHEUS: &str = "/usr/bin/prometheus";
/// How long the server may take to start and to scrape a change; polled, never slept out.
const WAIT_LIMIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);
const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/// A Prometheus process, killed when the test ends however it ends.
struct Server {
    child: Child,
    url: String,
    _storage: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_prometheus(exporter: SocketAddr) -> Option<Server> {
    let found = Path::new(PROMETHEUS).exists();
    common::require("prometheus", found.then_some(()))?;
    let storage = tempfile::tempdir().unwrap();
    let config = storage.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{exporter}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            storage.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _storage: storage,
    };
    let ready = format!("{}/-/ready", server.url);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        if client
            .get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some(server);
        }
        assert!(Instant::now() < deadline, "Prometheus did not become ready");
        tokio::time::sleep(POLL).await;
    }
}

/// Polls the query API until `query` returns this value (bounded by [`WAIT_LIMIT`]).
async fn wait_for(server: &Server, query: &str, expected: &str) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut last = String::new();
    loop {
        let mut url = reqwest::Url::parse(&format!("{}/api/v1/query", server.url)).unwrap();
        url.query_pairs_mut().append_pair("query", query);
        if let Ok(response) = client.get(url).send().await {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            if let Ok(answer) = read_response(status, &body)
                && let QueryResult::Number { raw, .. } = answer.result
            {
                if raw == expected {
                    return;
                }
                last = raw;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never answered {expected} to `{query}` (last: {last:?})"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Text exposition of a request counter and a latency histogram per version.
fn exposition(versions: &[(&str, [u64; 7], u64)]) -> String {
    let mut text = String::from(
        "# HELP app_requests_total Requests answered.\n# TYPE app_requests_total counter\n",
    );
    for (version, buckets, errors) in versions {
        let total = buckets[6];
        text += &format!(
            "app_requests_total{{version=\"{version}\",code=\"200\"}} {}\n",
            total - errors
        );
        text += &format!("app_requests_total{{version=\"{version}\",code=\"500\"}} {errors}\n");
    }
    text += "# HELP app_request_duration_seconds Request latency.\n# TYPE app_request_duration_seconds histogram\n";
    for (version, buckets, _) in versions {
        for (le, count) in BUCKETS.iter().zip(buckets) {
            text += &format!(
                "app_request_duration_seconds_bucket{{version=\"{version}\",le=\"{le}\"}} {count}\n"
            );
        }
        text += &format!("app_request_duration_seconds_sum{{version=\"{version}\"}} 1\n");
        text += &format!(
            "app_request_duration_seconds_count{{version=\"{version}\"}} {}\n",
            buckets[6]
        );
    }
    text
}

const HEALTHY: [u64; 7] = [90, 98, 100, 100, 100, 100, 100];
const SLOW: [u64; 7] = [95, 100, 110, 140, 170, 195, 200];

fn analysis(query: &str, conditions: &str) -> slipway_analysis::Template {
    let yaml = format!(
        "version: 1\njobs:\n  build:\n    steps:\n      - run: make\nanalysis:\n  promql:\n    provider: prometheus\n    query: '{query}'\n{conditions}"
    );
    template_from(&yaml, "promql")
}

async fn measured(
    template: &slipway_analysis::Template,
    server: &Server,
    canary: &str,
) -> Measurement {
    let settings = Settings {
        prometheus_url: Some(server.url.clone()),
        http_timeout: Duration::from_secs(5),
    };
    let target = Target {
        stable: Some("v1".into()),
        environment: Some("production".into()),
        ..Target::new(canary, SystemTime::now())
    };
    measure(template, &target, &Windows::default(), &settings).await
}

#[tokio::test]
async fn promql_latency_analysis_passes_healthy_and_fails_slow() {
    let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
    let set_metrics = |v2: [u64; 7]| {
        routes.lock().unwrap().insert(
            "/metrics".into(),
            Reply::text(exposition(&[("v2", v2, 1), ("v3", SLOW, 30)])),
        );
    };
    set_metrics(HEALTHY);
    let exporter = serve(routes.clone()).await;
    let Some(server) = start_prometheus(exporter).await else {
        return;
    };
    wait_for(
        &server,
        "sum(app_request_duration_seconds_count{version=\"v2\"})",
        "100",
    )
    .await;

    let p95 = analysis(
        "histogram_quantile(0.95, sum by (le) (app_request_duration_seconds_bucket{version=\"{{ canary }}\"}))",
        "    success: \"value < 0.25\"\n",
    );
    let healthy = measured(&p95, &server, "v2").await;
    assert_eq!(healthy.verdict, Verdict::Pass, "{}", healthy.explanation);
    // 95th of 100: in the (0.05, 0.1] bucket, 5 of its 8 observations in.
    assert!(
        (healthy.value.unwrap() - 0.08125).abs() < 1e-9,
        "{:?}",
        healthy.value
    );
    assert_eq!(healthy.samples, 1);
    assert_eq!(
        healthy.explanation,
        "Prometheus value 0.08125 passed `value < 0.25`"
    );
    assert_eq!(
        healthy.details["query"],
        "histogram_quantile(0.95, sum by (le) (app_request_duration_seconds_bucket{version=\"v2\"}))"
    );
    assert_eq!(healthy.details["http_status"], 200);

    let slow = measured(&p95, &server, "v3").await;
    assert_eq!(slow.verdict, Verdict::Fail, "{}", slow.explanation);
    assert!(slow.value.unwrap() > 0.25);

    // The exporter's v2 turns slow; once Prometheus has scraped it, the analysis fails.
    set_metrics(SLOW);
    wait_for(
        &server,
        "sum(app_request_duration_seconds_count{version=\"v2\"})",
        "200",
    )
    .await;
    let turned = measured(&p95, &server, "v2").await;
    assert_eq!(turned.verdict, Verdict::Fail, "{}", turned.explanation);

    // The error-rate counter, through both conditions.
    let errors = analysis(
        "sum(app_requests_total{version=\"{{ canary }}\",code=\"500\"}) / sum(app_requests_total{version=\"{{ canary }}\"})",
        "    success: \"value < 0.05\"\n    failure: \"value >= 0.1\"\n",
    );
    let v2 = measured(&errors, &server, "v2").await;
    assert_eq!((v2.verdict, v2.value), (Verdict::Pass, Some(0.005)));
    let v3 = measured(&errors, &server, "v3").await;
    assert_eq!((v3.verdict, v3.value), (Verdict::Fail, Some(0.15)));
}

#[tokio::test]
async fn answers_without_one_finite_number_are_never_a_pass() {
    let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
    routes.lock().unwrap().insert(
        "/metrics".into(),
        Reply::text(exposition(&[("v2", HEALTHY, 0), ("v3", SLOW, 0)])),
    );
    let exporter = serve(routes).await;
    let Some(server) = start_prometheus(exporter).await else {
        return;
    };
    wait_for(&server, "count(app_request_duration_seconds_count)", "2").await;
    let failure_only = "    failure: \"value > 0.1\"\n";

    // A ratio over no errors and no traffic: 0/0 = NaN, which `value > 0.1` would let pass.
    let nan = measured(
        &analysis(
            "sum(app_requests_total{code=\"500\",version=\"v2\"}) / sum(app_requests_total{code=\"500\",version=\"v2\"})",
            failure_only,
        ),
        &server,
        "v2",
    )
    .await;
    assert_eq!(nan.verdict, Verdict::Inconclusive, "{}", nan.explanation);
    assert_eq!(nan.value, None);
    assert_eq!(
        nan.explanation,
        "inconclusive: Prometheus returned NaN, which no condition can judge (often a ratio over no traffic)"
    );
    let infinite = measured(
        &analysis("scalar(vector(1)) / 0", failure_only),
        &server,
        "v2",
    )
    .await;
    assert_eq!(
        infinite.verdict,
        Verdict::Inconclusive,
        "{}",
        infinite.explanation
    );
    assert_eq!(infinite.details["raw_value"], "+Inf");

    let empty = measured(
        &analysis(
            "sum(app_requests_total{version=\"{{ canary }}\"})",
            failure_only,
        ),
        &server,
        "v9",
    )
    .await;
    assert_eq!(empty.verdict, Verdict::Inconclusive);
    assert_eq!(
        empty.explanation,
        "inconclusive: no data: the query returned no series"
    );
    assert_eq!(empty.samples, 0);

    let several = measured(
        &analysis("app_request_duration_seconds_count", failure_only),
        &server,
        "v2",
    )
    .await;
    assert_eq!(several.verdict, Verdict::Error);
    assert_eq!(
        several.explanation,
        "error: the query returned 2 series; an analysis needs exactly one (aggregate with sum(), avg() or max())"
    );

    let refused = measured(
        &analysis("sum(app_requests_total", failure_only),
        &server,
        "v2",
    )
    .await;
    assert_eq!(refused.verdict, Verdict::Error);
    assert!(
        refused
            .explanation
            .starts_with("error: Prometheus refused the query (bad_data): "),
        "{}",
        refused.explanation
    );
    assert_eq!(refused.details["http_status"], 400);

    let range = measured(
        &analysis(
            "app_requests_total{code=\"500\",version=\"v2\"}[1m]",
            failure_only,
        ),
        &server,
        "v2",
    )
    .await;
    assert_eq!(range.verdict, Verdict::Error);
    assert!(
        range.explanation.contains("range vector"),
        "{}",
        range.explanation
    );

    let scalar = measured(
        &analysis(
            "scalar(sum(app_requests_total{version=\"{{ canary }}\"})) / 2000",
            failure_only,
        ),
        &server,
        "v2",
    )
    .await;
    assert_eq!(scalar.verdict, Verdict::Pass, "{}", scalar.explanation);
    assert_eq!(scalar.value, Some(0.05));
    assert_eq!(scalar.details.get("series"), None);
}

#[tokio::test]
async fn unreachable_and_slow_servers_are_errors_within_the_timeout() {
    let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
    routes.lock().unwrap().insert(
        "/api/v1/query".into(),
        Reply {
            delay: Duration::from_secs(30),
            ..Reply::json(200, "{}")
        },
    );
    let slow = serve(routes).await;
    let template = analysis("up", "    success: \"value == 1\"\n");
    let target = Target::new("v2", SystemTime::now());
    let settings = Settings {
        prometheus_url: Some(format!("http://user:hunter22@{slow}")),
        http_timeout: Duration::from_millis(500),
    };
    let started = Instant::now();
    let timed_out = measure(&template, &target, &Windows::default(), &settings).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(timed_out.verdict, Verdict::Error);
    assert_eq!(
        timed_out.explanation,
        format!("error: GET http://{slow}/api/v1/query?… timed out after 0.5s")
    );
    assert!(
        !serde_json::to_string(&timed_out)
            .unwrap()
            .contains("hunter22")
    );

    let closed = Settings {
        prometheus_url: Some(format!("http://127.0.0.1:{}", free_port())),
        http_timeout: Duration::from_secs(2),
    };
    let refused = measure(&template, &target, &Windows::default(), &closed).await;
    assert_eq!(refused.verdict, Verdict::Error);
    assert!(
        refused.explanation.contains("failed"),
        "{}",
        refused.explanation
    );

    let unconfigured = measure(
        &template,
        &target,
        &Windows::default(),
        &Settings::default(),
    )
    .await;
    assert_eq!(
        unconfigured.explanation,
        "error: no Prometheus server is configured for this analysis: set its `address`"
    );
}
