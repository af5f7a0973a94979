//! A rolling update through `slipway up` under load: each old instance leaves the proxy's
//! routes, its in-flight requests finish, and only then is it stopped, so no client request
//! fails. The service answers slowly (`HELLO_LATENCY_MS`), so at any moment a request is
//! likely in flight on the instance being replaced: stopping it first would break it.

mod common;

use common::delivery::{Load, Up, build, environment, events, new_repo, release, release_of};
use std::collections::BTreeSet;

const ENVIRONMENTS: &str = r#"
environments:
  rolling:
    instances: 4
    readiness: { path: /readyz, interval: 100ms }
    strategy: rolling
"#;

#[test]
fn rolling_update_drains_each_old_instance_and_no_request_fails() {
    let repo = new_repo();
    let dir = repo.path();
    let old = build(
        dir,
        "HELLO_VERSION: \"old\", HELLO_LATENCY_MS: \"300\"",
        ENVIRONMENTS,
    );
    let new = build(
        dir,
        "HELLO_VERSION: \"new\", HELLO_LATENCY_MS: \"300\"",
        ENVIRONMENTS,
    );
    let up = Up::start(dir, &["rolling"]);
    let first = release(dir, &old, "rolling");
    let old_release = release_of(&first);

    // Four clients in step, each sending every 500 ms a request that takes 300 ms.
    let load = Load::start(up.address("rolling"), 8.0);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let done = release(dir, &new, "rolling");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let samples = load.finish();
    let new_release = release_of(&done);

    let failed: Vec<_> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {failed:?}",
        failed.len(),
        samples.len()
    );
    let versions: BTreeSet<&str> = samples.iter().map(|s| s.version.as_str()).collect();
    assert_eq!(
        versions,
        BTreeSet::from([old_release.as_str(), new_release.as_str()]),
        "both versions served during the update"
    );
    assert_eq!(samples.last().unwrap().version, new_release);

    // The four old instances left one at a time, each stopped after the requests in flight
    // had finished, not at the drain timeout.
    let drained = events(&done, "drained");
    assert_eq!(drained.len(), 4, "{done:#}");
    for event in &drained {
        assert_eq!(event["detail"]["version"], old_release.as_str(), "{event}");
        assert_eq!(event["detail"]["drained"], true, "{event}");
        assert_eq!(event["detail"]["in_flight_left"], 0, "{event}");
    }
    let waits: Vec<i64> = drained
        .iter()
        .map(|e| e["detail"]["waited_ms"].as_i64().unwrap())
        .collect();
    eprintln!(
        "rolling: {} requests, none failed; drain waits (ms): {waits:?}",
        samples.len()
    );
    assert_eq!(environment(dir, "rolling")["serving"], new.as_str());
    drop(up);
}
