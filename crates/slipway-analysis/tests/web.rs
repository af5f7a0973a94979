//! Web checks against a real HTTP server started by the test: status checks, JSON fields,
//! placeholders, timeouts, and URLs whose credentials must never show.

mod common;

use common::{Reply, Routes, Windows, serve, template_from};
use slipway_analysis::{Settings, Target, Template, Verdict, measure};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

fn analysis(url: &str, extra: &str) -> Template {
    let yaml = format!(
        "version: 1\njobs:\n  build:\n    steps:\n      - run: make\nanalysis:\n  smoke:\n    provider: web\n    url: \"{url}\"\n    success: \"value == 1\"\n{extra}"
    );
    template_from(&yaml, "smoke")
}

async fn server(routes: &[(&str, Reply)]) -> String {
    let table: Routes = Arc::new(Mutex::new(HashMap::new()));
    for (path, reply) in routes {
        table
            .lock()
            .unwrap()
            .insert(path.to_string(), reply.clone());
    }
    format!("http://{}", serve(table).await)
}

fn settings(timeout: Duration) -> Settings {
    Settings {
        prometheus_url: None,
        http_timeout: timeout,
    }
}

fn target(address: &str) -> Target {
    Target {
        canary_address: Some(address.to_string()),
        environment: Some("staging".into()),
        ..Target::new("v2", SystemTime::now())
    }
}

#[tokio::test]
async fn status_checks_pass_on_2xx_and_fail_otherwise() {
    let base = server(&[
        ("/healthz", Reply::json(204, "")),
        ("/broken", Reply::json(503, "{}")),
    ])
    .await;
    let healthy = measure(
        &analysis("{{ canary }}/healthz", ""),
        &target(&base),
        &Windows::default(),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(
        (healthy.verdict, healthy.value, healthy.samples),
        (Verdict::Pass, Some(1.0), 1)
    );
    assert_eq!(
        healthy.explanation,
        format!("GET {base}/healthz answered HTTP 204 passed `value == 1`")
    );
    assert_eq!(healthy.details["http_status"], 204);
    let broken = measure(
        &analysis("{{ canary }}/broken", ""),
        &target(&base),
        &Windows::default(),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert_eq!((broken.verdict, broken.value), (Verdict::Fail, Some(0.0)));
}

#[tokio::test]
async fn json_path_reads_numbers_and_booleans() {
    let base = server(&[
        (
            "/status/staging",
            Reply::json(200, r#"{"data":{"ok":true,"ratio":0.25,"none":null,"name":"x"},"checks":[{"ok":false}]}"#),
        ),
        ("/text", Reply::json(200, "not json")),
        ("/down", Reply::json(500, r#"{"data":{"ok":true}}"#)),
    ])
    .await;
    let check = |url: &str, path: &str| {
        let template = analysis(url, &format!("    json-path: \"{path}\"\n"));
        let target = target(&base);
        async move {
            measure(
                &template,
                &target,
                &Windows::default(),
                &settings(Duration::from_secs(5)),
            )
            .await
        }
    };
    let ok = check("{{ canary }}/status/{{ environment }}", "$.data.ok").await;
    assert_eq!((ok.verdict, ok.value), (Verdict::Pass, Some(1.0)));
    assert_eq!(
        ok.explanation,
        format!("`$.data.ok` = 1 from GET {base}/status/staging passed `value == 1`")
    );
    let ratio = check("{{ canary }}/status/{{ environment }}", "data.ratio").await;
    assert_eq!((ratio.verdict, ratio.value), (Verdict::Fail, Some(0.25)));
    let indexed = check("{{ canary }}/status/{{ environment }}", "checks.0.ok").await;
    assert_eq!(indexed.value, Some(0.0));
    let null = check("{{ canary }}/status/{{ environment }}", "data.none").await;
    assert_eq!(null.verdict, Verdict::Inconclusive);
    let missing = check("{{ canary }}/status/{{ environment }}", "data.gone").await;
    assert_eq!(missing.verdict, Verdict::Error);
    assert_eq!(
        missing.explanation,
        format!("error: the response of GET {base}/status/staging has no `data.gone`")
    );
    let string = check("{{ canary }}/status/{{ environment }}", "data.name").await;
    assert_eq!(string.verdict, Verdict::Error);
    assert!(
        string
            .explanation
            .contains("is a string, not a number or a boolean")
    );
    let text = check("{{ canary }}/text", "data.ok").await;
    assert_eq!(text.verdict, Verdict::Error);
    assert!(
        text.explanation.contains("something other than JSON"),
        "{}",
        text.explanation
    );
    let down = check("{{ canary }}/down", "data.ok").await;
    assert_eq!(down.verdict, Verdict::Error);
    assert!(
        down.explanation.contains("answered HTTP 500"),
        "{}",
        down.explanation
    );
}

#[tokio::test]
async fn a_slow_endpoint_is_an_error_after_the_timeout() {
    let base = server(&[(
        "/slow",
        Reply {
            delay: Duration::from_secs(30),
            ..Reply::json(200, "{}")
        },
    )])
    .await;
    let started = Instant::now();
    let result = measure(
        &analysis("{{ canary }}/slow?token=s3cr3t-value", ""),
        &target(&base),
        &Windows::default(),
        &settings(Duration::from_millis(300)),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(result.verdict, Verdict::Error);
    assert_eq!(result.value, None);
    assert_eq!(
        result.explanation,
        format!("error: GET {base}/slow?… timed out after 0.3s")
    );
    assert!(
        !serde_json::to_string(&result)
            .unwrap()
            .contains("s3cr3t-value")
    );
}

#[tokio::test]
async fn missing_addresses_are_errors_that_say_what_is_missing() {
    let result = measure(
        &analysis("{{ canary }}/healthz", ""),
        &Target::new("v2", SystemTime::now()),
        &Windows::default(),
        &settings(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(result.verdict, Verdict::Error);
    assert_eq!(
        result.explanation,
        "error: `{{ canary }}` needs the canary's address, and the rollout has none"
    );
}
