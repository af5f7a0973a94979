//! Measurements from the proxy's traffic: conditions by Argo Rollouts' rules, the sample
//! minimum, empty and non-finite data, and the comparison with the stable version.

mod common;

use common::{Windows, template_from, window};
use slipway_analysis::{Settings, Target, Template, Verdict, measure};
use std::time::{Duration, SystemTime};

fn analysis(body: &str) -> Template {
    let yaml = format!(
        "version: 1\njobs:\n  build:\n    steps:\n      - run: make\nanalysis:\n  check:\n{body}"
    );
    template_from(&yaml, "check")
}

fn target() -> Target {
    Target {
        stable: Some("v1".into()),
        ..Target::new("v2", SystemTime::now() - Duration::from_secs(60))
    }
}

async fn measured(template: &Template, traffic: &Windows) -> slipway_analysis::Measurement {
    measure(template, &target(), traffic, &Settings::default()).await
}

#[tokio::test]
async fn error_rate_passes_and_fails_its_success_condition() {
    let template =
        analysis("    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n");
    let healthy = measured(
        &template,
        &Windows::default().with("v2", window(412, 0, vec![])),
    )
    .await;
    assert_eq!(healthy.verdict, Verdict::Pass);
    assert_eq!(healthy.value, Some(0.0));
    assert_eq!(healthy.samples, 412);
    assert_eq!(healthy.condition, "value < 0.01");
    assert_eq!(
        healthy.explanation,
        "error rate 0.0% over 412 requests passed `value < 0.01`"
    );
    assert_eq!(healthy.analysis, "check");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&healthy.at).is_ok(),
        "{}",
        healthy.at
    );
    assert!(healthy.at.ends_with('Z'));

    let failing = measured(
        &template,
        &Windows::default().with("v2", window(200, 5, vec![])),
    )
    .await;
    assert_eq!(failing.verdict, Verdict::Fail);
    assert_eq!(failing.value, Some(0.025));
    assert_eq!(
        failing.explanation,
        "error rate 2.5% over 200 requests failed `value < 0.01`"
    );
}

#[tokio::test]
async fn below_min_samples_is_inconclusive_never_a_pass() {
    let template =
        analysis("    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n");
    let low = measured(
        &template,
        &Windows::default().with("v2", window(3, 0, vec![])),
    )
    .await;
    assert_eq!(low.verdict, Verdict::Inconclusive);
    assert_eq!(low.value, None);
    assert_eq!(low.samples, 3);
    assert_eq!(
        low.explanation,
        "inconclusive: 3 requests, fewer than the 20 needed"
    );
    let none = measured(&template, &Windows::default()).await;
    assert_eq!(none.verdict, Verdict::Inconclusive);
    assert_eq!(
        none.explanation,
        "inconclusive: 0 requests, fewer than the 20 needed"
    );

    // A failure-only condition would pass a NaN (NaN > x is false): it must not.
    let failure_only = analysis(
        "    provider: proxy\n    metric: error_rate\n    failure: \"value > 0.05\"\n    min-samples: 0\n",
    );
    let empty = measured(&failure_only, &Windows::default()).await;
    assert_eq!(empty.verdict, Verdict::Inconclusive);
    assert_eq!(empty.explanation, "inconclusive: no requests");
    let json = serde_json::to_value(&empty).unwrap();
    assert_eq!(json["value"], serde_json::Value::Null);
    assert_eq!(json["verdict"], "inconclusive");
}

#[tokio::test]
async fn latency_percentiles_ignore_non_finite_samples() {
    let template = analysis(
        "    provider: proxy\n    metric: latency_p95\n    success: \"value < 300\"\n    min-samples: 4\n",
    );
    let latencies = vec![100.0, f64::NAN, 200.0, f64::INFINITY, 300.0, -1.0, 400.0];
    let result = measured(
        &template,
        &Windows::default().with("v2", window(7, 0, latencies)),
    )
    .await;
    // numpy.percentile([100, 200, 300, 400], 95) = 385
    assert_eq!(result.value, Some(385.0));
    assert_eq!(result.verdict, Verdict::Fail);
    assert_eq!(
        result.explanation,
        "latency p95 385 ms over 7 requests failed `value < 300`"
    );

    let no_latencies = measured(
        &template,
        &Windows::default().with("v2", window(10, 0, vec![f64::NAN])),
    )
    .await;
    assert_eq!(no_latencies.verdict, Verdict::Inconclusive);
    assert_eq!(
        no_latencies.explanation,
        "inconclusive: no latency samples among 10 requests"
    );
}

#[tokio::test]
async fn both_conditions_follow_argo_rules() {
    let template = analysis(
        "    provider: proxy\n    metric: latency_p50\n    success: \"value < 100\"\n    failure: \"value > 50\"\n    min-samples: 1\n",
    );
    let latency = |ms: f64| Windows::default().with("v2", window(1, 0, vec![ms]));
    // Both hold: failure wins.
    let both = measured(&template, &latency(75.0)).await;
    assert_eq!(both.verdict, Verdict::Fail);
    assert_eq!(both.condition, "value > 50");
    assert_eq!(
        both.explanation,
        "latency p50 75 ms over 1 request met the failure condition `value > 50`"
    );
    // Only success holds.
    assert_eq!(
        measured(&template, &latency(20.0)).await.verdict,
        Verdict::Pass
    );
    // Neither holds: inconclusive.
    let neither = analysis(
        "    provider: proxy\n    metric: latency_p50\n    success: \"value < 100\"\n    failure: \"value > 200\"\n    min-samples: 1\n",
    );
    let result = measured(&neither, &latency(150.0)).await;
    assert_eq!(result.verdict, Verdict::Inconclusive);
    assert_eq!(result.value, Some(150.0));
    assert_eq!(
        result.explanation,
        "inconclusive: latency p50 150 ms over 1 request met neither the success condition `value < 100` nor the failure condition `value > 200`"
    );
    // Only failure: not holding passes.
    let failure_only = analysis(
        "    provider: proxy\n    metric: latency_p50\n    failure: \"value > 200\"\n    min-samples: 1\n",
    );
    let result = measured(&failure_only, &latency(150.0)).await;
    assert_eq!(result.verdict, Verdict::Pass);
    assert_eq!(
        result.explanation,
        "latency p50 150 ms over 1 request passed: the failure condition `value > 200` did not hold"
    );
}

#[tokio::test]
async fn conditions_may_read_samples() {
    let template = analysis(
        "    provider: proxy\n    metric: error_rate\n    success: \"value < 0.1 && samples >= 100\"\n    min-samples: 0\n",
    );
    let few = measured(
        &template,
        &Windows::default().with("v2", window(50, 0, vec![])),
    )
    .await;
    assert_eq!(few.verdict, Verdict::Fail);
    let enough = measured(
        &template,
        &Windows::default().with("v2", window(100, 0, vec![])),
    )
    .await;
    assert_eq!(enough.verdict, Verdict::Pass);
}

#[tokio::test]
async fn request_rate_is_requests_per_second_of_the_window() {
    let template = analysis(
        "    provider: proxy\n    metric: request_rate\n    failure: \"value < 1\"\n    min-samples: 0\n",
    );
    let result = measured(
        &template,
        &Windows::default().with("v2", window(120, 0, vec![])),
    )
    .await;
    let rate = result.value.unwrap();
    // 120 requests over the 60 s since `since` (plus the test's own run time).
    assert!((1.9..=2.0).contains(&rate), "{rate}");
    assert_eq!(result.verdict, Verdict::Pass);
    let idle = measured(&template, &Windows::default()).await;
    assert_eq!(idle.value, Some(0.0));
    assert_eq!(idle.verdict, Verdict::Fail);
}

#[tokio::test]
async fn inconsistent_traffic_is_an_error() {
    let template =
        analysis("    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n");
    let result = measured(
        &template,
        &Windows::default().with("v2", window(30, 31, vec![])),
    )
    .await;
    assert_eq!(result.verdict, Verdict::Error);
    assert_eq!(
        result.explanation,
        "error: the traffic source reported 31 errors among 30 requests"
    );
}

fn spread(from: f64, count: usize, step: f64) -> Vec<f64> {
    (0..count).map(|i| from + step * i as f64).collect()
}

#[tokio::test]
async fn baseline_fails_a_significantly_slower_canary() {
    let template = analysis(
        "    provider: proxy\n    metric: latency_p95\n    success: \"value < 1000\"\n    compare: baseline\n",
    );
    let traffic = Windows::default()
        .with("v1", window(200, 0, spread(50.0, 200, 0.5)))
        .with("v2", window(200, 0, spread(80.0, 200, 0.5)));
    let result = measured(&template, &traffic).await;
    assert_eq!(result.verdict, Verdict::Fail, "{}", result.explanation);
    assert_eq!(result.condition, "value < 1000; compare: baseline");
    // The value stays the canary's own p95, which the condition alone would pass.
    let canary_p95 = result.value.unwrap();
    assert!((canary_p95 - 174.525).abs() < 1e-9, "{canary_p95}");
    assert!(
        result.explanation.starts_with("latency p95 175 ms over 200 requests passed `value < 1000`, but it is slower than the stable version (175 ms vs 145 ms at p95; Mann-Whitney U: p = "),
        "{}",
        result.explanation
    );
    let comparison = &result.details["comparison"];
    assert_eq!(comparison["n_canary"], 200);
    assert_eq!(comparison["n_stable"], 200);
    assert_eq!(comparison["regression"], true);
    assert!(comparison["p_value"].as_f64().unwrap() < 0.05);
    assert!(comparison["effect_size"].as_f64().unwrap() > 0.147);
}

#[tokio::test]
async fn baseline_passes_equal_or_faster_canaries_and_negligible_differences() {
    let template = analysis(
        "    provider: proxy\n    metric: latency_p95\n    success: \"value < 1000\"\n    compare: baseline\n",
    );
    let same = Windows::default()
        .with("v1", window(200, 0, spread(50.0, 200, 0.5)))
        .with("v2", window(200, 0, spread(50.0, 200, 0.5)));
    assert_eq!(measured(&template, &same).await.verdict, Verdict::Pass);
    let faster = Windows::default()
        .with("v1", window(200, 0, spread(80.0, 200, 0.5)))
        .with("v2", window(200, 0, spread(50.0, 200, 0.5)));
    assert_eq!(measured(&template, &faster).await.verdict, Verdict::Pass);
    // 20 000 requests each, canary 0.1 ms slower on a 0-500 ms spread: significant, negligible.
    let tiny = Windows::default()
        .with("v1", window(20_000, 0, spread(0.0, 20_000, 0.025)))
        .with("v2", window(20_000, 0, spread(5.0, 20_000, 0.025)));
    let result = measured(&template, &tiny).await;
    let comparison = &result.details["comparison"];
    assert!(
        comparison["p_value"].as_f64().unwrap() < 0.05,
        "{comparison}"
    );
    assert!(
        comparison["effect_size"].as_f64().unwrap() < 0.147,
        "{comparison}"
    );
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.explanation);
}

#[tokio::test]
async fn baseline_error_rates_use_a_one_sided_proportion_test() {
    let template = analysis(
        "    provider: proxy\n    metric: error_rate\n    success: \"value < 0.2\"\n    compare: baseline\n",
    );
    let worse = Windows::default()
        .with("v1", window(1000, 10, vec![]))
        .with("v2", window(1000, 40, vec![]));
    let result = measured(&template, &worse).await;
    assert_eq!(result.verdict, Verdict::Fail);
    assert_eq!(result.value, Some(0.04));
    assert!(
        result.explanation.starts_with("error rate 4.0% over 1000 requests passed `value < 0.2`, but it is significantly higher than the stable version's 1.0% over 1000 requests (two-proportion z-test: z = "),
        "{}",
        result.explanation
    );
    let similar = Windows::default()
        .with("v1", window(1000, 10, vec![]))
        .with("v2", window(1000, 12, vec![]));
    assert_eq!(measured(&template, &similar).await.verdict, Verdict::Pass);
}

#[tokio::test]
async fn baseline_needs_enough_data_on_both_sides() {
    let template = analysis(
        "    provider: proxy\n    metric: error_rate\n    success: \"value < 0.2\"\n    compare: baseline\n",
    );
    let thin_stable = Windows::default()
        .with("v1", window(5, 0, vec![]))
        .with("v2", window(500, 0, vec![]));
    let result = measured(&template, &thin_stable).await;
    assert_eq!(result.verdict, Verdict::Inconclusive);
    assert_eq!(
        result.explanation,
        "inconclusive: the stable version has 5 requests, fewer than the 20 needed"
    );
    let first_release = measure(
        &template,
        &Target::new("v2", SystemTime::now()),
        &Windows::default().with("v2", window(500, 0, vec![])),
        &Settings::default(),
    )
    .await;
    assert_eq!(first_release.verdict, Verdict::Inconclusive);
    assert_eq!(
        first_release.explanation,
        "inconclusive: there is no stable version to compare with"
    );
}

#[tokio::test]
async fn measurements_serialise_in_the_shape_rollout_status_shows() {
    let template = analysis(
        "    provider: proxy\n    metric: error_rate\n    success: \"value < 0.05\"\n    compare: baseline\n",
    );
    let traffic = Windows::default()
        .with("v1", window(1000, 10, vec![12.0, 15.0]))
        .with("v2", window(800, 32, vec![14.0, f64::NAN]));
    let mut result = measured(&template, &traffic).await;
    result.at = "[at]".into();
    insta::assert_json_snapshot!("baseline_error_rate_measurement", result);

    let template = analysis(
        "    provider: proxy\n    metric: latency_p99\n    success: \"value < 250\"\n    min-samples: 5\n",
    );
    let traffic =
        Windows::default().with("v2", window(6, 0, vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]));
    let mut result = measured(&template, &traffic).await;
    result.at = "[at]".into();
    insta::assert_json_snapshot!("latency_measurement", result);
}

#[tokio::test]
async fn baseline_without_stable_latencies_or_on_request_rate_is_not_judged() {
    let mut template = analysis(
        "    provider: proxy\n    metric: latency_p50\n    success: \"value < 1000\"\n    compare: baseline\n",
    );
    let traffic = Windows::default()
        .with("v1", window(100, 0, vec![f64::NAN]))
        .with("v2", window(100, 0, spread(10.0, 100, 1.0)));
    let result = measured(&template, &traffic).await;
    assert_eq!(result.verdict, Verdict::Inconclusive);
    assert_eq!(
        result.explanation,
        "inconclusive: the stable version has no latency samples to compare with"
    );
    // `from_pipeline` refuses this combination; a template built by hand gets an error, not a verdict.
    template.provider = slipway_analysis::Provider::Proxy {
        metric: slipway_analysis::ProxyMetric::RequestRate,
    };
    let result = measured(&template, &traffic).await;
    assert_eq!(result.verdict, Verdict::Error);
    assert_eq!(
        result.explanation,
        "error: the request rate cannot be compared with a baseline: it follows the traffic weights"
    );
}
