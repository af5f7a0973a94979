//! PromQL analysis through `slipway up`: a real Prometheus (Debian's `prometheus`), started by
//! the test on a free loopback port with its own storage, scrapes the environment's proxy
//! (`metrics-listen`) every second; a canary step asks it for the canary's p95 latency from the
//! proxy's histogram. A healthy release passes and takes all traffic; a slow one
//! (`HELLO_LATENCY_MS`) is aborted on the value Prometheus returned.
//!
//! The server comes from `scripts/deps/analysis.sh`. When it is missing the test fails if `CI`
//! is `true`, and otherwise prints a `skipped:` notice and returns.

mod common;

use common::delivery::{
    Load, Up, build, environment, events, free_port, new_repo, phase_is, promote, release,
    release_of, request, wait_for,
};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";
/// How long the server may take to start and to hold its first sample; polled.
const PROMETHEUS_WAIT: Duration = Duration::from_secs(60);
/// Above this p95 (ms) the canary fails: a healthy hello-service answers in a few ms, the
/// slow variant in 300 ms.
const P95_LIMIT_MS: f64 = 150.0;
const SLOW_LATENCY_MS: f64 = 300.0;

/// The canary's p95 latency in ms over the last 10 s, from the proxy's histogram.
const P95_QUERY: &str = "1000 * histogram_quantile(0.95, sum by (le) (rate(slipway_proxy_request_duration_seconds_bucket{environment=\"{{ environment }}\",version=\"{{ canary }}\"}[10s])))";

fn environments(metrics: SocketAddr, prometheus: &str) -> String {
    format!(
        r#"
environments:
  production:
    metrics-listen: {metrics}
    readiness: {{ path: /readyz, interval: 100ms }}
    strategy:
      canary:
        steps:
          - weight: 50
          - pause: 4s
          - analysis: {{ use: p95-latency }}
          - weight: 100

analysis:
  p95-latency:
    provider: prometheus
    address: {prometheus}
    query: '{P95_QUERY}'
    success: "value < {P95_LIMIT_MS}"
    interval: 2s
    count: 3
    inconclusive-limit: 2
"#
    )
}

/// A Prometheus process, killed when the test ends however it ends.
struct Prometheus {
    child: Child,
    address: SocketAddr,
    _storage: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus on `address`, scraping `target` every second; returns once it is
    /// ready. `None` (after the skip notice) when it is not installed.
    fn start(address: SocketAddr, target: SocketAddr) -> Option<Prometheus> {
        common::require("prometheus", Path::new(PROMETHEUS).exists().then_some(()))?;
        let storage = tempfile::tempdir().unwrap();
        let config = storage.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: slipway\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                storage.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let server = Prometheus {
            child,
            address,
            _storage: storage,
        };
        let deadline = Instant::now() + PROMETHEUS_WAIT;
        while !request(address, "/-/ready", &[]).is_ok_and(|r| r.status == 200) {
            assert!(Instant::now() < deadline, "Prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }

    /// The instant query's result vector (empty when Prometheus has no such series yet).
    fn query(&self, promql: &str) -> Vec<Value> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let Ok(response) = request(self.address, &path, &[]) else {
            return Vec::new();
        };
        let answer: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `promql` returns a series: Prometheus holds a first sample only a few
    /// seconds after it started scraping.
    fn wait_for_series(&self, promql: &str) {
        let deadline = Instant::now() + PROMETHEUS_WAIT;
        while self.query(promql).is_empty() {
            assert!(
                Instant::now() < deadline,
                "Prometheus never returned a series for `{promql}`"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Percent-encodes everything but unreserved characters, for a query string.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn p95_measurements(status: &Value) -> Vec<&Value> {
    status["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["analysis"] == "p95-latency")
        .collect()
}

#[test]
fn prometheus_analysis_passes_a_healthy_canary_and_aborts_a_slow_one() {
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let prometheus_address = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let environments = environments(metrics, &format!("http://{prometheus_address}"));
    let Some(prometheus) = Prometheus::start(prometheus_address, metrics) else {
        return;
    };
    let repo = new_repo();
    let dir = repo.path();
    let first = build(dir, "HELLO_VERSION: \"1\"", &environments);
    let healthy = build(dir, "HELLO_VERSION: \"2\"", &environments);
    let slow = build(
        dir,
        &format!("HELLO_VERSION: \"3\", HELLO_LATENCY_MS: \"{SLOW_LATENCY_MS}\""),
        &environments,
    );

    let up = Up::start(dir, &["production"]);
    release(dir, &first, "production");
    prometheus.wait_for_series("slipway_proxy_requests_total{environment=\"production\"}");

    // Healthy: three measurements from Prometheus pass, then all traffic moves.
    let load = Load::start(up.address("production"), 40.0);
    assert_eq!(
        promote(dir, &healthy, "production", &[])["status"],
        "started"
    );
    let done = wait_for(dir, "production", "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == healthy.as_str()
    });
    let samples = load.finish();
    assert!(
        samples.iter().all(|s| s.status == 200),
        "every response succeeded"
    );
    let passed = p95_measurements(&done);
    assert_eq!(
        passed.iter().filter(|m| m["verdict"] == "pass").count(),
        3,
        "{done:#}"
    );
    for m in passed.iter().filter(|m| m["verdict"] == "pass") {
        let value = m["value"].as_f64().unwrap();
        assert!(value < P95_LIMIT_MS, "{m}");
        assert_eq!(m["samples"], 1, "one series: {m}");
        assert!(
            m["explanation"]
                .as_str()
                .unwrap()
                .starts_with("Prometheus value "),
            "{m}"
        );
    }

    let healthy_p95: Vec<f64> = passed.iter().filter_map(|m| m["value"].as_f64()).collect();

    // Slow: Prometheus reports the canary's p95 above the limit; the rollout is aborted.
    let load = Load::start(up.address("production"), 40.0);
    assert_eq!(promote(dir, &slow, "production", &[])["status"], "started");
    let aborted = wait_for(dir, "production", "abort", phase_is("aborted"));
    load.finish();
    let canary = release_of(&aborted);
    let failed: Vec<&Value> = p95_measurements(&aborted)
        .into_iter()
        .filter(|m| m["verdict"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{aborted:#}");
    let value = failed[0]["value"].as_f64().unwrap();
    assert!(
        value > SLOW_LATENCY_MS * 0.9,
        "the p95 Prometheus computed for a 300 ms release: {value}"
    );
    eprintln!(
        "prometheus: healthy canary p95 {healthy_p95:?} ms; slow canary p95 {value} ms (limit {P95_LIMIT_MS} ms)"
    );
    let explanation = failed[0]["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with("Prometheus value ") && explanation.contains("failed"),
        "{explanation}"
    );
    let abort = events(&aborted, "aborted");
    let reason = abort[0]["detail"]["reason"].as_str().unwrap();
    assert!(reason.contains("analysis failed"), "{reason}");
    assert!(reason.contains("Prometheus value"), "{reason}");

    // The value came from Prometheus: it holds the slow canary's latency under its version.
    let held = prometheus.query(&format!(
        "histogram_quantile(0.95, sum by (le) (slipway_proxy_request_duration_seconds_bucket{{version=\"{canary}\"}}))"
    ));
    assert_eq!(
        held.len(),
        1,
        "Prometheus holds the canary's histogram: {held:?}"
    );
    let held: f64 = held[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(held * 1000.0 > SLOW_LATENCY_MS * 0.9, "{held}");

    let status = environment(dir, "production");
    assert_eq!(status["serving"], healthy.as_str());
    assert_eq!(status["known_bad"][0]["digest"], slow.as_str());
    drop(up);
}
