//! Delivery end to end: the bundled example built once per version, promoted through
//! environments served by `slipway up` (real processes behind the built-in proxy), with a load
//! generator checking every response.

mod common;

use common::delivery::{
    Load, Sample, Up, environment, get, new_repo, phase_is, promote, release, release_of, slipway,
    wait_for,
};
use common::text;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const ENVIRONMENTS: &str = r#"
environments:
  dev:
    readiness: { path: /readyz, interval: 100ms }
  staging:
    after: dev
    readiness: { path: /readyz, interval: 100ms }
    verify:
      - name: smoke
        probe: { path: /api/hello, interval: 100ms, duration: 1s }
  production:
    after: staging
    instances: 2
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 5
          - analysis: { use: error-rate }
          - weight: 25
          - analysis: { use: error-rate }
          - weight: 100
  canary:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 5
          - analysis: { use: error-rate }
          - weight: 100
  blue-green:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      blue-green:
        scale-down-delay: 30s
        post-promotion-analysis: error-rate
  rolling:
    instances: 2
    readiness: { path: /readyz, interval: 100ms }
    progress-deadline: 3s
    strategy: rolling
  quiet:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 50
          - analysis: { use: error-rate }
          - weight: 100

analysis:
  error-rate:
    provider: proxy
    metric: error_rate
    success: "value < 0.02"
    interval: 2s
    count: 3
    min-samples: 30
"#;

/// Commits the example with the test environments and `artifact_env`, and builds it.
fn build(dir: &Path, artifact_env: &str) -> String {
    common::delivery::build(dir, artifact_env, ENVIRONMENTS)
}

#[test]
fn one_build_is_promoted_through_three_environments_with_a_canary_under_load() {
    let repo = new_repo();
    let dir = repo.path();
    let first = build(dir, "HELLO_VERSION: \"1\"");
    let up = Up::start(dir, &["dev", "staging", "production"]);
    for env in ["dev", "staging", "production"] {
        release(dir, &first, env);
    }

    let second = build(dir, "HELLO_VERSION: \"2\"");
    assert_ne!(first, second);
    release(dir, &second, "dev");
    let staged = release(dir, &second, "staging");
    assert!(
        staged["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "verify" && e["detail"]["ok"] == true),
        "the smoke probe ran: {staged:#}"
    );

    let load = Load::start(up.address("production"), 300.0);
    std::thread::sleep(Duration::from_secs(1));
    let started = promote(dir, &second, "production", &[]);
    assert_eq!(started["status"], "started", "{started:#}");
    let canary = started["release"]["id"].as_str().unwrap().to_owned();
    let at_five = wait_for(dir, "production", "weight 5", |s| s["weight"] == 5);
    assert_eq!(at_five["canary"], second.as_str());
    assert_eq!(at_five["stable"], first.as_str());
    wait_for(dir, "production", "weight 25", |s| s["weight"] == 25);
    let done = wait_for(dir, "production", "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == second.as_str()
    });
    std::thread::sleep(Duration::from_millis(500));
    let samples = load.finish();

    // Every response was a success, and the canary's share grew with its weight.
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(failed.is_empty(), "failed responses: {failed:?}");
    let by_canary = samples.iter().filter(|s| s.version == canary).count();
    assert!(
        by_canary > 0 && by_canary < samples.len(),
        "{by_canary} of {}",
        samples.len()
    );
    assert_eq!(samples.last().unwrap().version, canary);
    let measurements = done["measurements"].as_array().unwrap();
    assert_eq!(measurements.len(), 6, "{done:#}");
    for m in measurements {
        assert_eq!(m["verdict"], "pass", "{m}");
        assert!(m["samples"].as_i64().unwrap() >= 30, "{m}");
    }

    // The same digest runs in all three environments, and each is its last known good.
    for env in ["dev", "staging", "production"] {
        let status = environment(dir, env);
        assert_eq!(status["serving"], second.as_str(), "{env}: {status:#}");
        assert_eq!(status["last_known_good"], second.as_str());
    }
    drop(up);
}

#[test]
fn bad_releases_are_aborted_switched_back_or_stopped_and_never_deployed_again() {
    let repo = new_repo();
    let dir = repo.path();
    let good = build(dir, "HELLO_VERSION: \"good\"");
    let up = Up::start(dir, &["canary", "blue-green", "rolling"]);
    for env in ["canary", "blue-green", "rolling"] {
        release(dir, &good, env);
    }
    let failing = build(dir, "HELLO_VERSION: \"failing\", HELLO_ERROR_RATE: \"0.1\"");
    let never_ready = build(dir, "HELLO_VERSION: \"unready\", HELLO_READY: \"false\"");

    // Canary: the proxy's error rate fails the analysis; the canary loses its traffic at once.
    let load = Load::start(up.address("canary"), 300.0);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(promote(dir, &failing, "canary", &[])["status"], "started");
    let aborted = wait_for(dir, "canary", "abort", phase_is("aborted"));
    std::thread::sleep(Duration::from_secs(1));
    let samples = load.finish();
    let canary = release_of(&aborted);
    let abort = aborted["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "aborted")
        .unwrap();
    let zero_at = abort["detail"]["weight_zero_at_ms"].as_i64().unwrap();
    let first_bad = samples
        .iter()
        .filter(|s| s.status >= 500)
        .map(|s| s.at_ms)
        .min()
        .expect("the failing release answered some 500s");
    let failed_by_clients = samples.iter().filter(|s| s.status != 200).count();
    let canary_after_zero = samples
        .iter()
        .filter(|s| s.version == canary && s.at_ms > zero_at + 50)
        .count();
    eprintln!(
        "abort: {} ms from the first 5xx a client saw to 0% canary weight; {failed_by_clients} of {} requests failed",
        zero_at - first_bad,
        samples.len()
    );
    assert!(zero_at > first_bad);
    assert_eq!(
        canary_after_zero, 0,
        "the canary kept serving after its weight went to 0"
    );
    assert!(
        samples.iter().all(|s| s.status == 200 || s.status == 500),
        "only the release's own 500s failed"
    );
    assert!(
        aborted["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["verdict"] == "fail")
    );
    assert_eq!(aborted["stable"], good.as_str());
    let known_bad = environment(dir, "canary");
    assert_eq!(known_bad["known_bad"][0]["digest"], failing.as_str());
    assert_eq!(known_bad["serving"], good.as_str());
    let again = promote(dir, &failing, "canary", &[]);
    assert_eq!(again["status"], "refused");
    assert!(
        again["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "known-bad" && c["ok"] == false)
    );

    // Blue-green: all traffic switches to green; post-promotion analysis fails; back to blue.
    let load = Load::start(up.address("blue-green"), 300.0);
    assert_eq!(
        promote(dir, &failing, "blue-green", &[])["status"],
        "started"
    );
    let switched_back = wait_for(dir, "blue-green", "switch back", phase_is("aborted"));
    std::thread::sleep(Duration::from_millis(500));
    let samples = load.finish();
    assert_eq!(switched_back["stable"], good.as_str());
    let green = release_of(&switched_back);
    assert!(
        samples.iter().any(|s| s.version == green),
        "green took traffic"
    );
    assert!(!samples.last().unwrap().version.is_empty());
    assert_ne!(samples.last().unwrap().version, green, "blue serves again");

    // Rolling: the new instances never become ready; the deadline stops them, the old serve on.
    assert_eq!(
        promote(dir, &never_ready, "rolling", &[])["status"],
        "started"
    );
    let stopped = wait_for(dir, "rolling", "abort", phase_is("aborted"));
    assert!(
        stopped["note"]
            .as_str()
            .unwrap()
            .contains("not ready after the progress deadline"),
        "{stopped:#}"
    );
    let serving = get(up.address("rolling"), "/api/hello");
    assert_eq!(serving.status, 200);
    assert_eq!(environment(dir, "rolling")["serving"], good.as_str());
    drop(up);
}

#[test]
fn low_traffic_pauses_as_inconclusive_and_rollback_returns_to_last_known_good() {
    let repo = new_repo();
    let dir = repo.path();
    let first = build(dir, "HELLO_VERSION: \"1\"");
    let up = Up::start(dir, &["quiet"]);
    release(dir, &first, "quiet");
    let second = build(dir, "HELLO_VERSION: \"2\"");

    // Three requests a minute: far below min-samples. Not a pass, not a crash: a pause.
    let load = Load::start(up.address("quiet"), 3.0 / 60.0);
    assert_eq!(promote(dir, &second, "quiet", &[])["status"], "started");
    let paused = wait_for(dir, "quiet", "pause", phase_is("paused"));
    load.finish();
    let measurement = &paused["measurements"][0];
    assert_eq!(measurement["verdict"], "inconclusive", "{paused:#}");
    assert_eq!(measurement["value"], Value::Null);
    assert!(measurement["samples"].as_i64().unwrap() < 30);
    assert!(
        paused["paused_reason"]
            .as_str()
            .unwrap()
            .contains("inconclusive")
    );

    // A person decides: resume goes on to 100%.
    let resumed = slipway(dir, &["rollout", "resume", "quiet"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    wait_for(dir, "quiet", "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == second.as_str()
    });

    // One command back to the last known good before it, through verify-then-switch.
    let back = slipway(dir, &["rollback", "quiet", "--json"]);
    let back: Value = serde_json::from_slice(&back.stdout).unwrap();
    assert_eq!(back["status"], "started", "{back:#}");
    assert_eq!(back["digest"], first.as_str());
    assert_eq!(back["release"]["kind"], "rollback");
    assert!(
        back["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "verify" && c["ok"] == true)
    );
    wait_for(dir, "quiet", "rollback", |s| {
        s["stable"] == first.as_str() && s["phase"] == "succeeded"
    });
    assert_eq!(get(up.address("quiet"), "/api/hello").status, 200);
    drop(up);
}
