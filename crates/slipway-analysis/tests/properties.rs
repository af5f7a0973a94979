//! Property tests: untrusted input (pipeline text, Prometheus answers, JSON paths) never
//! panics; the statistics keep their invariants; too little data is never a pass.

mod common;

use common::{Windows, window};
use proptest::prelude::*;
use slipway_analysis::prometheus::read_response;
use slipway_analysis::stats::{MwuMethod, mann_whitney_u, two_proportion_z_test};
use slipway_analysis::{Condition, JsonPath, ProxyMetric, Settings, Target, Template, Verdict};
use std::time::{Duration, SystemTime};

fn yaml_scalar(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn conditions_never_panic(text in ".{0,40}", value in any::<f64>(), samples in any::<u64>()) {
        if let Ok(condition) = Condition::parse(&text) {
            let _ = condition.holds(value, samples);
        }
    }

    #[test]
    fn conditions_from_the_language_never_panic(
        text in "(value|samples|[0-9.]{1,4}|'[a-z]{0,3}'|[<>=!&|() ]{1,2}|contains\\(|,){1,12}",
        value in any::<f64>(),
    ) {
        if let Ok(condition) = Condition::parse(&text) {
            let _ = condition.holds(value, 3);
        }
    }

    #[test]
    fn json_paths_never_panic(path in "[$.a-z0-9\\[\\]]{0,16}", document in "[\\[\\]{}\"a-z0-9:,. ]{0,60}") {
        if let (Ok(path), Ok(document)) = (JsonPath::parse(&path), serde_json::from_str(&document)) {
            let _ = path.lookup(&document);
        }
    }

    #[test]
    fn prometheus_answers_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = read_response(status, &body);
    }

    #[test]
    fn prometheus_shaped_answers_never_panic(
        kind in "(vector|scalar|matrix|string|other)",
        values in proptest::collection::vec("(NaN|\\+Inf|-Inf|[0-9.e+-]{0,6}|x)", 0..4),
        status in "(success|error)",
    ) {
        let result = match kind.as_str() {
            "scalar" => serde_json::json!([1.0, values.first().cloned().unwrap_or_default()]),
            _ => serde_json::Value::Array(
                values.iter().map(|v| serde_json::json!({"metric": {"a": "b"}, "value": [1.5, v]})).collect(),
            ),
        };
        let body = serde_json::json!({
            "status": status, "data": {"resultType": kind, "result": result}, "error": "bad", "errorType": "x",
        });
        let _ = read_response(200, body.to_string().as_bytes());
    }

    #[test]
    fn templates_from_any_text_never_panic(
        provider in "(proxy|prometheus|web|other)",
        text in ".{0,30}",
        path in "[$.a-z0-9]{0,10}",
        number in any::<i64>(),
        confidence in any::<f64>(),
    ) {
        let yaml = format!(
            "version: 1\njobs:\n  b:\n    steps:\n      - run: x\nanalysis:\n  a:\n    provider: {provider}\n    metric: {m}\n    query: {t}\n    url: {t}\n    json-path: {p}\n    success: {t}\n    failure: {t}\n    count: {number}\n    min-samples: {number}\n    compare: baseline\n    confidence: {confidence:?}\n    args: {{ x: {t} }}\n",
            m = yaml_scalar(&text), t = yaml_scalar(&text), p = yaml_scalar(&path),
        );
        let loaded = slipway_pipeline::load("slipway.yml", &yaml, &slipway_pipeline::NoTemplates);
        if let Some(analyses) = &loaded.pipeline.analysis {
            for (name, template) in analyses {
                if let Err(error) = Template::from_pipeline(name, template) {
                    let _ = error.to_diagnostic().located(&loaded.sources);
                }
            }
        }
    }

    #[test]
    fn mann_whitney_keeps_its_invariants(
        first in proptest::collection::vec(0u16..50, 1..40),
        second in proptest::collection::vec(0u16..50, 1..40),
    ) {
        let first: Vec<f64> = first.into_iter().map(f64::from).collect();
        let second: Vec<f64> = second.into_iter().map(f64::from).collect();
        for method in [MwuMethod::Auto, MwuMethod::Asymptotic, MwuMethod::Exact] {
            let forward = mann_whitney_u(&first, &second, method).unwrap();
            let backward = mann_whitney_u(&second, &first, method).unwrap();
            let pairs = (first.len() * second.len()) as f64;
            prop_assert!((0.0..=1.0).contains(&forward.p_value));
            prop_assert_eq!(forward.u + backward.u, pairs);
            prop_assert!((forward.p_value - backward.p_value).abs() < 1e-12);
            prop_assert!((-1.0..=1.0).contains(&forward.rank_biserial));
            prop_assert!((forward.rank_biserial + backward.rank_biserial).abs() < 1e-12);
        }
    }

    #[test]
    fn more_canary_errors_never_look_better(errors in 0u64..100, requests in 100u64..1000, stable in 0u64..100) {
        let fewer = two_proportion_z_test(errors, requests, stable, 1000).unwrap();
        let more = two_proportion_z_test(errors + 1, requests, stable, 1000).unwrap();
        prop_assert!((0.0..=1.0).contains(&fewer.p_value));
        prop_assert!(more.p_value <= fewer.p_value + 1e-12);
    }

    #[test]
    fn too_little_data_is_never_a_pass(
        requests in 0u64..60,
        error_share in 0.0f64..=1.0,
        latencies in proptest::collection::vec(prop_oneof![Just(f64::NAN), Just(f64::INFINITY), 0.0f64..1000.0], 0..60),
        metric in proptest::sample::select(ProxyMetric::ALL.to_vec()),
        min_samples in 0u64..60,
        baseline in any::<bool>(),
    ) {
        let errors = (requests as f64 * error_share).floor() as u64;
        let condition = if baseline && metric != ProxyMetric::RequestRate {
            "    compare: baseline\n"
        } else {
            ""
        };
        let yaml = format!(
            "version: 1\njobs:\n  b:\n    steps:\n      - run: x\nanalysis:\n  a:\n    provider: proxy\n    metric: {metric}\n    failure: \"value > 1000000\"\n    min-samples: {min_samples}\n{condition}"
        );
        let template = common::template_from(&yaml, "a");
        let traffic = Windows::default()
            .with("canary", window(requests, errors, latencies.clone()))
            .with("stable", window(requests / 2, 0, latencies));
        let target = Target {
            stable: Some("stable".into()),
            ..Target::new("canary", SystemTime::now() - Duration::from_secs(10))
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let measurement = runtime.block_on(slipway_analysis::measure(&template, &target, &traffic, &Settings::default()));
        if requests < min_samples || (template.baseline.is_some() && requests / 2 < min_samples.max(1)) {
            prop_assert_eq!(measurement.verdict, Verdict::Inconclusive);
            prop_assert_eq!(measurement.value, None);
        }
        if let Some(value) = measurement.value {
            prop_assert!(value.is_finite());
        }
        prop_assert!(serde_json::to_string(&measurement).is_ok());
    }
}
