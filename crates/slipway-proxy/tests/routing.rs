//! Weighted and sticky routing, upstream failures and per-version counting, through a real
//! proxy to real backends with a real HTTP client.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use common::{Behaviour, backend, client, config, refused_address, split, spread, url, version_of};
use slipway_proxy::{Backend, ProxyConfig, Routes, Stickiness, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_are_exact_at_1_5_25_and_50_percent() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend("canary", Behaviour::default()).await;
    let proxy = start(config("split"), split(&stable, &canary, 100))
        .await
        .unwrap();
    for canary_bp in [100, 500, 2500, 5000] {
        proxy
            .set_routes(split(&stable, &canary, canary_bp))
            .unwrap();
        let before = proxy.totals("canary").requests;
        // 400 is a whole number of periods for every weight here (100, 20, 4 and 2
        // requests), so the count is exact however the 8 clients interleave.
        let seen = spread(&proxy, 400, 8).await;
        let expected_canary = 400 * canary_bp as usize / 10_000;
        assert_eq!(
            seen,
            BTreeMap::from([
                ("canary".to_owned(), expected_canary),
                ("stable".to_owned(), 400 - expected_canary)
            ]),
            "at {canary_bp} bp"
        );
        assert_eq!(
            proxy.totals("canary").requests - before,
            expected_canary as u64
        );
    }
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_percent_is_exactly_one_request_in_the_first_hundred() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend("canary", Behaviour::default()).await;
    let proxy = start(config("one"), split(&stable, &canary, 100))
        .await
        .unwrap();
    let client = client();
    let mut canary_answers = 0;
    for _ in 0..100 {
        let response = client.get(url(&proxy, "/")).send().await.unwrap();
        canary_answers += usize::from(version_of(&response) == "canary");
    }
    assert_eq!(canary_answers, 1);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_over_three_versions_are_exact() {
    let a = backend("a", Behaviour::default()).await;
    let b = backend("b", Behaviour::default()).await;
    let c = backend("c", Behaviour::default()).await;
    let routes = Routes {
        backends: vec![
            Backend::new("a", 9_563, vec![a.addr]),
            Backend::new("b", 400, vec![b.addr]),
            Backend::new("c", 37, vec![c.addr]),
        ],
    };
    let proxy = start(config("three"), routes).await.unwrap();
    let seen = spread(&proxy, 10_000, 16).await;
    assert_eq!(
        seen,
        BTreeMap::from([
            ("a".to_owned(), 9_563),
            ("b".to_owned(), 400),
            ("c".to_owned(), 37)
        ])
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_of_one_version_share_its_traffic_round_robin() {
    let one = backend("v", Behaviour::default()).await;
    let two = backend("v", Behaviour::default()).await;
    let proxy = start(config("rr"), Routes::single("v", vec![one.addr, two.addr]))
        .await
        .unwrap();
    spread(&proxy, 100, 4).await;
    assert_eq!(one.requests.load(std::sync::atomic::Ordering::SeqCst), 50);
    assert_eq!(two.requests.load(std::sync::atomic::Ordering::SeqCst), 50);
    proxy.shutdown().await;
}

/// Sends one request per key with `header` (or without when `None`); returns the versions.
async fn versions_for(
    proxy: &slipway_proxy::ProxyHandle,
    keys: &[String],
    attach: impl Fn(reqwest::RequestBuilder, &str) -> reqwest::RequestBuilder,
) -> Vec<String> {
    let client = client();
    let mut versions = Vec::with_capacity(keys.len());
    for key in keys {
        let response = attach(client.get(url(proxy, "/")), key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        versions.push(version_of(&response));
    }
    versions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_header_clients_stay_on_the_canary_as_it_grows() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend("canary", Behaviour::default()).await;
    let proxy = start(
        common::sticky_config("sticky", Stickiness::Header("x-user".into())),
        split(&stable, &canary, 500),
    )
    .await
    .unwrap();
    let users: Vec<String> = (0..1000).map(|i| format!("user-{i}")).collect();
    let by_header = |request: reqwest::RequestBuilder, key: &str| request.header("x-user", key);

    let at_5 = versions_for(&proxy, &users, by_header).await;
    // The same client asks again: same version.
    assert_eq!(versions_for(&proxy, &users, by_header).await, at_5);
    let on_canary_at_5 = at_5.iter().filter(|v| *v == "canary").count();
    // 5% of 1000 users: 50 expected; a hash is not exact, 4 standard deviations are ~28.
    assert!(
        (22..=78).contains(&on_canary_at_5),
        "{on_canary_at_5} of 1000 on canary at 5%"
    );

    proxy.set_routes(split(&stable, &canary, 2500)).unwrap();
    let at_25 = versions_for(&proxy, &users, by_header).await;
    for (before, after) in at_5.iter().zip(&at_25) {
        if before == "canary" {
            assert_eq!(after, "canary", "a canary client moved back to stable");
        }
    }
    let on_canary_at_25 = at_25.iter().filter(|v| *v == "canary").count();
    assert!(
        (195..=305).contains(&on_canary_at_25),
        "{on_canary_at_25} of 1000 on canary at 25%"
    );

    // Requests without the header follow the exact weighted round-robin.
    let seen = spread(&proxy, 400, 4).await;
    assert_eq!(seen.get("canary"), Some(&100));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_cookie_clients_keep_their_version() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend("canary", Behaviour::default()).await;
    let proxy = start(
        common::sticky_config("cookie", Stickiness::Cookie("slipway-user".into())),
        split(&stable, &canary, 5000),
    )
    .await
    .unwrap();
    let users: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
    let by_cookie = |request: reqwest::RequestBuilder, key: &str| {
        request.header("cookie", format!("theme=dark; slipway-user={key}; lang=en"))
    };
    let first = versions_for(&proxy, &users, by_cookie).await;
    assert_eq!(versions_for(&proxy, &users, by_cookie).await, first);
    let on_canary = first.iter().filter(|v| *v == "canary").count();
    assert!((60..=140).contains(&on_canary), "{on_canary} of 200 at 50%");
    // A cookie header without the sticky cookie is routed by weight.
    let other = |request: reqwest::RequestBuilder, _: &str| request.header("cookie", "theme=dark");
    let unsticky = versions_for(&proxy, &users[..100], other).await;
    assert_eq!(unsticky.iter().filter(|v| *v == "canary").count(), 50);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_5xx_is_counted_per_version() {
    let stable = backend("stable", Behaviour::default()).await;
    // Every 5th request fails: 20% errors.
    let canary = backend(
        "canary",
        Behaviour {
            fail_every: Some(5),
            ..Behaviour::default()
        },
    )
    .await;
    let started = SystemTime::now();
    let proxy = start(config("errors"), split(&stable, &canary, 5000))
        .await
        .unwrap();
    let client = client();
    let mut answered_500 = 0;
    for _ in 0..400 {
        let response = client.get(url(&proxy, "/")).send().await.unwrap();
        if response.status() == 500 {
            assert_eq!(version_of(&response), "canary");
            answered_500 += 1;
        }
    }
    assert_eq!(answered_500, 40);
    let canary_totals = proxy.totals("canary");
    assert_eq!(canary_totals.requests, 200);
    assert_eq!(canary_totals.errors_5xx, 40);
    assert_eq!(canary_totals.by_class.success_2xx, 160);
    assert_eq!(proxy.totals("stable").errors_5xx, 0);
    let window = proxy.window("canary", started);
    assert_eq!((window.requests, window.errors_5xx), (200, 40));
    assert_eq!(window.error_rate(), Some(0.2));
    assert_eq!(window.latencies_ms.len(), 200);
    // Nothing happened after now.
    assert_eq!(
        proxy
            .window("canary", SystemTime::now() + Duration::from_secs(1))
            .requests,
        0
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_instance_answers_502_and_is_counted() {
    let stable = backend("stable", Behaviour::default()).await;
    let dead = refused_address().await;
    let routes = Routes {
        backends: vec![
            Backend::new("stable", 5000, vec![stable.addr]),
            Backend::new("gone", 5000, vec![dead]),
        ],
    };
    let proxy = start(config("dead"), routes).await.unwrap();
    let client = client();
    let mut statuses = BTreeMap::<(String, u16), usize>::new();
    for _ in 0..20 {
        let response = client.get(url(&proxy, "/")).send().await.unwrap();
        *statuses
            .entry((version_of(&response), response.status().as_u16()))
            .or_default() += 1;
    }
    assert_eq!(
        statuses,
        BTreeMap::from([
            (("gone".to_owned(), 502), 10),
            (("stable".to_owned(), 200), 10)
        ])
    );
    let gone = proxy.totals("gone");
    assert_eq!((gone.requests, gone.errors_5xx), (10, 10));
    assert_eq!(gone.upstream_connect_errors, 10);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_instance_is_skipped_for_idempotent_requests() {
    let live = backend("v", Behaviour::default()).await;
    let dead = refused_address().await;
    let proxy = start(config("skip"), Routes::single("v", vec![dead, live.addr]))
        .await
        .unwrap();
    let client = client();
    for _ in 0..10 {
        let response = client.get(url(&proxy, "/")).send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "GET is retried on the live instance"
        );
    }
    // Half the requests met the dead instance first; each such attempt is counted.
    assert_eq!(proxy.totals("v").upstream_connect_errors, 5);
    assert_eq!(proxy.totals("v").errors_5xx, 0);

    // A POST with a body is not replayed: the ones that meet the dead instance get 502.
    let mut posts = BTreeMap::<u16, usize>::new();
    for _ in 0..10 {
        let response = client
            .post(url(&proxy, "/"))
            .body("payload")
            .send()
            .await
            .unwrap();
        *posts.entry(response.status().as_u16()).or_default() += 1;
    }
    assert_eq!(posts, BTreeMap::from([(200, 5), (502, 5)]));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_gets_504_after_the_upstream_timeout() {
    let slow = backend(
        "slow",
        Behaviour {
            delay: Duration::from_secs(10),
            ..Behaviour::default()
        },
    )
    .await;
    let proxy = start(
        ProxyConfig {
            upstream_timeout: Duration::from_millis(300),
            ..config("timeout")
        },
        Routes::single("slow", vec![slow.addr]),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let response = client().get(url(&proxy, "/")).send().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 504);
    assert_eq!(version_of(&response), "slow");
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let totals = proxy.totals("slow");
    assert_eq!((totals.errors_5xx, totals.upstream_timeouts), (1, 1));
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_percentiles_agree_with_the_histogram() {
    let steady = backend(
        "steady",
        Behaviour {
            delay: Duration::from_millis(30),
            ..Behaviour::default()
        },
    )
    .await;
    let started = SystemTime::now();
    let proxy = start(
        config("latency"),
        Routes::single("steady", vec![steady.addr]),
    )
    .await
    .unwrap();
    let client = client();
    // 90 requests answered after 30 ms, 10 after 300 ms.
    for i in 0..100 {
        let path = if i % 10 == 9 { "/sleep/300" } else { "/" };
        let response = client.get(url(&proxy, path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let window = proxy.window("steady", started);
    assert_eq!(window.requests, 100);
    let p50 = window.p50_ms.unwrap();
    let p99 = window.p99_ms.unwrap();
    assert!((30.0..300.0).contains(&p50), "p50 {p50} ms");
    assert!(p99 >= 300.0, "p99 {p99} ms");
    let histogram = proxy.totals("steady").latency;
    assert_eq!(histogram.count, 100);
    for (quantile, raw_ms) in [(0.5, p50), (0.95, window.p95_ms.unwrap()), (0.99, p99)] {
        let (lower, upper) = histogram.quantile_bounds(quantile).unwrap();
        let raw = raw_ms / 1000.0;
        // The raw sample percentile lies in the histogram bucket of the same quantile
        // (samples are stored as f32 milliseconds: allow that rounding at the edges).
        assert!(
            raw > lower - 1e-6 && raw <= upper + 1e-6,
            "q{quantile}: raw {raw} s outside bucket ({lower}, {upper}]"
        );
    }
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_routes_are_refused_and_the_old_ones_kept() {
    let stable = backend("stable", Behaviour::default()).await;
    let canary = backend("canary", Behaviour::default()).await;
    let proxy = start(config("refuse"), split(&stable, &canary, 1000))
        .await
        .unwrap();
    let mut bad = split(&stable, &canary, 1000);
    bad.backends[1].weight_bp = 2000;
    let err = proxy.set_routes(bad).unwrap_err();
    assert!(err.to_string().contains("weights sum to 11000 bp"), "{err}");
    assert_eq!(proxy.routes(), split(&stable, &canary, 1000));

    // No routes yet is valid: nothing serves, and every request says so with a 503.
    let empty = start(config("empty"), Routes { backends: vec![] })
        .await
        .unwrap();
    let response = reqwest::get(format!("http://{}/", empty.address()))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("no release serves"));
    empty.shutdown().await;

    let taken = proxy.address();
    let err = start(
        ProxyConfig {
            listen: taken,
            ..config("taken")
        },
        split(&stable, &canary, 1000),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot listen on {taken} for the proxy")),
        "{err}"
    );
    let err = start(
        ProxyConfig {
            upstream_timeout: Duration::ZERO,
            ..config("zero")
        },
        split(&stable, &canary, 1000),
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("upstream_timeout"), "{err}");
    proxy.shutdown().await;
}
