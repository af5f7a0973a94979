//! Blue-green with pre-promotion analysis through `slipway up`: green starts beside blue and
//! is judged on its own address before it takes any traffic. A healthy green takes all of it
//! at once; a bad green never takes any, blue keeps serving, and its digest is known bad.

mod common;

use common::delivery::{
    Load, Up, build, environment, events, new_repo, phase_is, promote, release, release_of,
    wait_for,
};
use serde_json::Value;

const ENVIRONMENTS: &str = r#"
environments:
  blue-green:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      blue-green:
        scale-down-delay: 1s
        pre-promotion-analysis: green-answers

analysis:
  green-answers:
    provider: web
    url: "{{ canary }}/api/hello"
    success: "value == 1"
    interval: 1s
    count: 3
"#;

/// Milliseconds since the epoch of a measurement's `at`.
fn at_ms(measurement: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(measurement["at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

#[test]
fn pre_promotion_analysis_switches_a_healthy_green_and_never_a_bad_one() {
    let repo = new_repo();
    let dir = repo.path();
    let blue = build(dir, "HELLO_VERSION: \"blue\"", ENVIRONMENTS);
    let green = build(dir, "HELLO_VERSION: \"green\"", ENVIRONMENTS);
    let bad = build(
        dir,
        "HELLO_VERSION: \"bad\", HELLO_ERROR_RATE: \"1\"",
        ENVIRONMENTS,
    );
    let up = Up::start(dir, &["blue-green"]);
    release(dir, &blue, "blue-green");

    // Healthy green: three passing checks against its own address, then all traffic at once.
    let load = Load::start(up.address("blue-green"), 40.0);
    assert_eq!(promote(dir, &green, "blue-green", &[])["status"], "started");
    let switched = wait_for(dir, "blue-green", "switch", |s| {
        s["phase"] == "succeeded" && s["stable"] == green.as_str()
    });
    let samples = load.finish();
    let green_release = release_of(&switched);
    let measurements: Vec<&Value> = switched["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["analysis"] == "green-answers")
        .collect();
    assert_eq!(measurements.len(), 3, "{switched:#}");
    assert!(measurements.iter().all(|m| m["verdict"] == "pass"));
    let judged_at = measurements.iter().map(|m| at_ms(m)).max().unwrap();
    assert!(
        samples.iter().all(|s| s.status == 200),
        "every response succeeded"
    );
    let first_green = samples
        .iter()
        .filter(|s| s.version == green_release)
        .map(|s| s.at_ms)
        .min()
        .expect("green took traffic");
    // A client's clock reading precedes the proxy's routing by its connect time; half the
    // measurement interval is far more than that and far less than one measurement.
    assert!(
        first_green > judged_at - 500,
        "green served a request at {first_green} before its last check at {judged_at}"
    );
    assert_eq!(samples.last().unwrap().version, green_release);
    assert_eq!(environment(dir, "blue-green")["serving"], green.as_str());

    // Bad green: its first check fails; it never serves, and blue keeps every request.
    let load = Load::start(up.address("blue-green"), 40.0);
    assert_eq!(promote(dir, &bad, "blue-green", &[])["status"], "started");
    let aborted = wait_for(dir, "blue-green", "abort", phase_is("aborted"));
    // Traffic after the abort still goes to blue alone.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let samples = load.finish();
    let bad_release = release_of(&aborted);
    assert!(
        samples
            .iter()
            .all(|s| s.status == 200 && s.version == green_release),
        "a request left blue: {:?}",
        samples.iter().find(|s| s.version != green_release)
    );
    assert!(!samples.iter().any(|s| s.version == bad_release));
    let reason = events(&aborted, "aborted")[0]["detail"]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("pre-promotion analysis failed"), "{reason}");
    assert!(events(&aborted, "weight").is_empty(), "never switched");
    assert!(
        aborted["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["verdict"] == "fail" && m["value"] == 0.0),
        "{aborted:#}"
    );
    let status = environment(dir, "blue-green");
    assert_eq!(status["serving"], green.as_str());
    assert_eq!(status["known_bad"][0]["digest"], bad.as_str());
    assert_eq!(
        status["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == bad_release.as_str())
            .unwrap()["status"],
        "aborted"
    );
    let again = promote(dir, &bad, "blue-green", &[]);
    assert_eq!(again["status"], "refused", "{again:#}");
    drop(up);
}
