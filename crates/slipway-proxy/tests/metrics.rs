//! The admin listener: `/metrics` read back by real parsers of the Prometheus text format,
//! and `/api/versions`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{
    Behaviour, backend, client, config, on_path, require_tool, split, spread, test_tools,
};
use slipway_proxy::{Backend, Routes, start};

async fn admin_get(proxy: &slipway_proxy::ProxyHandle, path: &str) -> reqwest::Response {
    let admin = proxy.admin_address().expect("admin listener configured");
    client()
        .get(format!("http://{admin}{path}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_with_prometheus_parse() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend(
        "canary",
        Behaviour {
            fail_every: Some(4),
            ..Behaviour::default()
        },
    )
    .await;
    let proxy = start(config("prod"), split(&stable, &canary, 2500))
        .await
        .unwrap();
    let client = client();
    for _ in 0..80 {
        client.get(common::url(&proxy, "/")).send().await.unwrap();
    }
    let response = admin_get(&proxy, "/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let matching: Vec<_> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .collect();
        assert_eq!(matching.len(), 1, "{name} {labels:?} in\n{text}");
        match &matching[0].value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            other => panic!("{name}: unexpected {other:?}"),
        }
    };
    let canary_labels = [("environment", "prod"), ("version", "canary")];
    assert_eq!(
        value(
            "slipway_proxy_requests_total",
            &[
                ("environment", "prod"),
                ("version", "canary"),
                ("code", "2xx")
            ]
        ),
        15.0
    );
    assert_eq!(
        value(
            "slipway_proxy_requests_total",
            &[
                ("environment", "prod"),
                ("version", "canary"),
                ("code", "5xx")
            ]
        ),
        5.0
    );
    assert_eq!(
        value(
            "slipway_proxy_requests_total",
            &[
                ("environment", "prod"),
                ("version", "stable"),
                ("code", "2xx")
            ]
        ),
        60.0
    );
    assert_eq!(value("slipway_proxy_route_weight", &canary_labels), 0.25);
    assert_eq!(value("slipway_proxy_in_flight", &canary_labels), 0.0);
    let histogram = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "slipway_proxy_request_duration_seconds"
                && s.labels.get("version") == Some("canary")
        })
        .expect("the canary's histogram");
    match &histogram.value {
        prometheus_parse::Value::Histogram(buckets) => {
            let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
            assert_eq!(
                bounds,
                vec![
                    0.001,
                    0.0025,
                    0.005,
                    0.01,
                    0.025,
                    0.05,
                    0.1,
                    0.25,
                    0.5,
                    1.0,
                    2.5,
                    5.0,
                    10.0,
                    f64::INFINITY
                ]
            );
            assert_eq!(buckets.last().unwrap().count, 20.0);
            assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
        }
        other => panic!("not a histogram: {other:?}"),
    }
    proxy.shutdown().await;
}

/// Label values with every character the format escapes.
async fn tricky_proxy() -> (slipway_proxy::ProxyHandle, common::TestBackend) {
    let tricky = backend("v\"1\\x", Behaviour::default()).await;
    let proxy = start(
        config("env \"quoted\" back\\slash\nnew line"),
        Routes {
            backends: vec![
                Backend::new("v\"1\\x", 10_000, vec![tricky.addr]),
                Backend::new("retired", 0, vec![]),
            ],
        },
    )
    .await
    .unwrap();
    spread(&proxy, 10, 2).await;
    (proxy, tricky)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_labels_read_back_with_the_reference_python_parser() {
    let python = test_tools().join("venv/bin/python");
    let Some(python) = require_tool("python prometheus-client", Some(python)) else {
        return;
    };
    let has_parser = Command::new(&python)
        .args(["-c", "import prometheus_client.parser"])
        .status()
        .is_ok_and(|status| status.success());
    if !has_parser && require_tool("python prometheus-client", None).is_none() {
        return;
    }
    let (proxy, _backend) = tricky_proxy().await;
    let text = admin_get(&proxy, "/metrics").await.text().await.unwrap();
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        out.append([family.name, family.type, sample.name, sample.labels, sample.value])
print(json.dumps(out))
"#;
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let environment = "env \"quoted\" back\\slash\nnew line";
    let find = |name: &str, version: &str, extra: Option<(&str, &str)>| -> f64 {
        samples
            .iter()
            .find(|s| {
                s[2] == name
                    && s[3]["environment"] == environment
                    && s[3]["version"] == version
                    && extra.is_none_or(|(k, v)| s[3][k] == v)
            })
            .unwrap_or_else(|| panic!("{name} {version} not parsed back"))[4]
            .as_f64()
            .unwrap()
    };
    assert_eq!(
        find(
            "slipway_proxy_requests_total",
            "v\"1\\x",
            Some(("code", "2xx"))
        ),
        10.0
    );
    assert_eq!(find("slipway_proxy_route_weight", "v\"1\\x", None), 1.0);
    assert_eq!(find("slipway_proxy_route_weight", "retired", None), 0.0);
    assert_eq!(
        find(
            "slipway_proxy_request_duration_seconds_count",
            "v\"1\\x",
            None
        ),
        10.0
    );
    let families: std::collections::BTreeMap<String, String> = samples
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap().to_owned(),
                s[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        families,
        [
            ("slipway_proxy_in_flight", "gauge"),
            ("slipway_proxy_request_duration_seconds", "histogram"),
            ("slipway_proxy_requests", "counter"),
            ("slipway_proxy_requests_cancelled", "counter"),
            ("slipway_proxy_route_weight", "gauge"),
            ("slipway_proxy_upstream_errors", "counter"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_nothing_to_complain_about() {
    let Some(promtool) = require_tool("promtool", on_path("promtool")) else {
        return;
    };
    let (proxy, _backend) = tricky_proxy().await;
    let text = proxy.prometheus_text();
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {said}\n{text}");
    assert!(said.trim().is_empty(), "promtool lint: {said}");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_describes_every_version() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend("canary", Behaviour::default()).await;
    let proxy = start(config("staging"), split(&stable, &canary, 1000))
        .await
        .unwrap();
    spread(&proxy, 20, 2).await;
    // The canary leaves the routes but keeps its recent traffic in the snapshot.
    proxy
        .set_routes(Routes::single("stable", vec![stable.addr]))
        .unwrap();
    let response = admin_get(&proxy, "/api/versions").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(json["environment"], "staging");
    let versions = json["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], "stable");
    assert_eq!(versions[0]["weight_bp"], 10_000);
    assert_eq!(versions[0]["routed"], true);
    assert_eq!(versions[0]["instances"][0], stable.addr.to_string());
    assert_eq!(versions[0]["totals"]["requests"], 18);
    assert_eq!(versions[1]["version"], "canary");
    assert_eq!(versions[1]["routed"], false);
    assert_eq!(versions[1]["weight_bp"], 0);
    assert_eq!(versions[1]["last_minute"]["requests"], 2);
    assert_eq!(versions[1]["in_flight"], 0);
    assert!(versions[0]["last_minute"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert!(versions[0]["totals"]["latency"]["buckets"][13]["le_seconds"].is_null());
    assert_eq!(proxy.snapshot().versions[1].totals.requests, 2);

    let missing = admin_get(&proxy, "/nope").await;
    assert_eq!(missing.status(), 404);
    let admin = proxy.admin_address().unwrap();
    let post = client()
        .post(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    proxy.shutdown().await;
}
