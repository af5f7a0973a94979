//! Against Debian's distribution registry 2.8, which lacks the referrers API.

use std::time::{Duration, Instant};

use serde_json::Value;
use slipway_registry::{Error, Reference, ReferrersPath, pull_to_layout, push_layout};

use crate::support::{
    self, Evidence, FaultInjector, Registry, fast_options, listed, verified_layout, write_layout,
};

fn reference(text: &str) -> Reference {
    text.parse().expect("test reference parses")
}

#[tokio::test]
async fn push_is_readable_by_skopeo_and_pulls_back_with_both_referrers() {
    let (Some(bin), Some(skopeo)) = (support::docker_registry_bin(), support::skopeo_bin()) else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(
        &layout,
        "1.4.2",
        &[Evidence::Provenance, Evidence::Bundle],
        0,
    );
    let target = reference(&format!("{}/team/app:1.4.2", registry.address()));

    let report = push_layout(&layout, &fixture.image_digest, &target, &fast_options())
        .await
        .expect("push");
    assert_eq!(report.image_digest, fixture.image_digest);
    // Config, layer, the empty config and two evidence blobs.
    assert_eq!(
        (report.blobs_uploaded, report.blobs_already_present),
        (5, 0)
    );
    assert_eq!(report.referrers_path, Some(ReferrersPath::TagSchema));
    let pushed: Vec<(String, Option<String>)> = report
        .referrers
        .iter()
        .map(|r| (r.digest.clone(), r.artifact_type.clone()))
        .collect();
    let expected: Vec<(String, Option<String>)> = fixture
        .referrers
        .iter()
        .map(|(digest, kind)| (digest.clone(), Some(kind.clone())))
        .collect();
    assert_eq!(pushed, expected);
    assert!(report.attempts.is_empty(), "{:?}", report.attempts);

    // skopeo sees the image with our digest and layer.
    let image_url = format!("docker://{}/team/app:1.4.2", registry.address());
    let inspect: Value = serde_json::from_str(
        &support::run(&skopeo, &["inspect", "--tls-verify=false", &image_url]).await,
    )
    .expect("skopeo inspect JSON");
    assert_eq!(inspect["Digest"], fixture.image_digest.as_str());
    assert_eq!(inspect["Layers"], serde_json::json!([fixture.layer_digest]));

    // skopeo copies it into its own OCI layout without changing the manifest.
    let copy_dir = work.path().join("skopeo-copy");
    let destination = format!("oci:{}:1.4.2", copy_dir.display());
    support::run(
        &skopeo,
        &[
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            &image_url,
            &destination,
        ],
    )
    .await;
    let copied: Value =
        serde_json::from_slice(&std::fs::read(copy_dir.join("index.json")).expect("index.json"))
            .expect("skopeo index.json");
    assert_eq!(
        copied["manifests"][0]["digest"],
        fixture.image_digest.as_str()
    );

    // The referrers tag lists both referrers with their artifact types.
    let tag_url = format!(
        "docker://{}/team/app:sha256-{}",
        registry.address(),
        &fixture.image_digest["sha256:".len()..]
    );
    let tag_index: Value = serde_json::from_str(
        &support::run(
            &skopeo,
            &["inspect", "--raw", "--tls-verify=false", &tag_url],
        )
        .await,
    )
    .expect("referrers index JSON");
    assert_eq!(tag_index["mediaType"], support::INDEX);
    assert_eq!(
        listed(&tag_index),
        fixture
            .referrers
            .iter()
            .map(|(digest, kind)| (digest.clone(), Some(kind.clone())))
            .collect()
    );

    // A second push sends nothing new and does not duplicate the referrers.
    let again = push_layout(&layout, &fixture.image_digest, &target, &fast_options())
        .await
        .expect("second push");
    assert_eq!((again.blobs_uploaded, again.blobs_already_present), (0, 5));
    let tag_index_again: Value = serde_json::from_str(
        &support::run(
            &skopeo,
            &["inspect", "--raw", "--tls-verify=false", &tag_url],
        )
        .await,
    )
    .expect("referrers index JSON");
    assert_eq!(
        tag_index_again["manifests"].as_array().map(Vec::len),
        Some(2)
    );

    // Pull into a fresh layout: same image, both referrers, every blob verified.
    let pulled_dir = work.path().join("pulled");
    let pulled = pull_to_layout(&target, &pulled_dir, &fast_options())
        .await
        .expect("pull");
    assert_eq!(pulled.image_digest, fixture.image_digest);
    assert_eq!(pulled.referrers_path, ReferrersPath::TagSchema);
    assert_eq!(pulled.referrers, report.referrers);
    assert!(pulled.skipped_referrers.is_empty());
    assert_eq!(pulled.blobs_downloaded, 5);
    let index = verified_layout(&pulled_dir);
    // Digests depend on the compressor's exact output; name them instead.
    let mut named = index.to_string().replace(&fixture.image_digest, "<image>");
    for (digest, kind) in &fixture.referrers {
        named = named.replace(digest, &format!("<{kind} referrer>"));
    }
    let named: Value = serde_json::from_str(&named).expect("renamed index");
    insta::assert_json_snapshot!("pulled_index", named);
    for blob in [&fixture.config_digest, &fixture.layer_digest] {
        assert!(
            pulled_dir
                .join("blobs/sha256")
                .join(&blob["sha256:".len()..])
                .is_file(),
            "{blob} was pulled"
        );
    }

    // skopeo reads the pulled layout as the same image.
    let pulled_inspect: Value = serde_json::from_str(
        &support::run(
            &skopeo,
            &["inspect", &format!("oci:{}:1.4.2", pulled_dir.display())],
        )
        .await,
    )
    .expect("skopeo inspect of the pulled layout");
    assert_eq!(pulled_inspect["Digest"], fixture.image_digest.as_str());

    // By digest as well.
    let by_digest = reference(&format!(
        "{}/team/app@{}",
        registry.address(),
        fixture.image_digest
    ));
    let pulled_by_digest =
        pull_to_layout(&by_digest, &work.path().join("by-digest"), &fast_options())
            .await
            .expect("pull by digest");
    assert_eq!(pulled_by_digest.referrers.len(), 2);
}

#[tokio::test]
async fn referrers_tag_is_merged_not_overwritten() {
    let Some(bin) = support::docker_registry_bin() else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let work = tempfile::tempdir().expect("tempdir");
    // The same image, exported twice with a different piece of evidence each time.
    let first = write_layout(&work.path().join("first"), "v1", &[Evidence::Provenance], 0);
    let second = write_layout(&work.path().join("second"), "v1", &[Evidence::Bundle], 0);
    assert_eq!(first.image_digest, second.image_digest);
    let target = reference(&format!("{}/app:v1", registry.address()));

    push_layout(
        &work.path().join("first"),
        &first.image_digest,
        &target,
        &fast_options(),
    )
    .await
    .expect("first push");
    push_layout(
        &work.path().join("second"),
        &second.image_digest,
        &target,
        &fast_options(),
    )
    .await
    .expect("second push");

    let pulled = pull_to_layout(&target, &work.path().join("pulled"), &fast_options())
        .await
        .expect("pull");
    let mut digests: Vec<String> = pulled.referrers.iter().map(|r| r.digest.clone()).collect();
    digests.sort();
    let mut expected = vec![first.referrers[0].0.clone(), second.referrers[0].0.clone()];
    expected.sort();
    assert_eq!(digests, expected);
}

#[tokio::test]
async fn large_blobs_go_up_in_chunks() {
    let (Some(bin), Some(skopeo)) = (support::docker_registry_bin(), support::skopeo_bin()) else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "big", &[Evidence::Provenance], 100_000);
    let layer_size = std::fs::metadata(
        layout
            .join("blobs/sha256")
            .join(&fixture.layer_digest["sha256:".len()..]),
    )
    .expect("layer")
    .len();
    assert!(layer_size > 90_000, "the noise keeps the layer large");
    let options = slipway_registry::RegistryOptions {
        chunk_size: 16 * 1024,
        ..fast_options()
    };
    let target = reference(&format!("{}/big:big", registry.address()));
    push_layout(&layout, &fixture.image_digest, &target, &options)
        .await
        .expect("chunked push");

    let inspect: Value = serde_json::from_str(
        &support::run(
            &skopeo,
            &[
                "inspect",
                "--tls-verify=false",
                &format!("docker://{}/big:big", registry.address()),
            ],
        )
        .await,
    )
    .expect("skopeo inspect JSON");
    assert_eq!(inspect["Digest"], fixture.image_digest.as_str());

    let pulled_dir = work.path().join("pulled");
    pull_to_layout(&target, &pulled_dir, &options)
        .await
        .expect("pull");
    verified_layout(&pulled_dir);
    let pulled_layer = std::fs::metadata(
        pulled_dir
            .join("blobs/sha256")
            .join(&fixture.layer_digest["sha256:".len()..]),
    )
    .expect("pulled layer");
    assert_eq!(pulled_layer.len(), layer_size);
}

#[tokio::test]
async fn pull_refuses_a_corrupted_blob_and_leaves_no_layout() {
    let Some(bin) = support::docker_registry_bin() else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "v1", &[Evidence::Provenance], 0);
    let target = reference(&format!("{}/app:v1", registry.address()));
    push_layout(&layout, &fixture.image_digest, &target, &fast_options())
        .await
        .expect("push");

    // Flip one byte of the layer in the registry's own storage.
    let stored = support::distribution_blob_file(&registry.storage, &fixture.layer_digest);
    let mut bytes = std::fs::read(&stored).expect("stored layer");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let tampered_digest = support::sha256(&bytes);
    std::fs::write(&stored, &bytes).expect("tamper");

    let destination = work.path().join("pulled");
    let error = pull_to_layout(&target, &destination, &fast_options())
        .await
        .expect_err("a tampered layer must be refused");
    assert!(
        matches!(&error, Error::DigestMismatch { expected, actual, .. }
            if *expected == fixture.layer_digest && *actual == tampered_digest),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&fixture.layer_digest), "{message}");
    assert!(message.contains(&tampered_digest), "{message}");
    assert!(message.contains("refusing it"), "{message}");
    assert!(
        !destination.exists(),
        "no layout may appear after a failed pull"
    );
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .expect("work dir")
        .map(|entry| entry.expect("entry").file_name())
        .filter(|name| name.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
}

#[tokio::test]
async fn pull_refuses_a_tampered_manifest() {
    let Some(bin) = support::docker_registry_bin() else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "v1", &[], 0);
    let target = reference(&format!("{}/app:v1", registry.address()));
    let report = push_layout(&layout, &fixture.image_digest, &target, &fast_options())
        .await
        .expect("push");
    assert_eq!(report.referrers_path, None);

    // Rewrite the stored manifest; the tag still names the original digest.
    let stored = support::distribution_blob_file(&registry.storage, &fixture.image_digest);
    let original = std::fs::read_to_string(&stored).expect("stored manifest");
    let tampered = original.replace("\"layers\"", "\"layers\" ");
    std::fs::write(&stored, &tampered).expect("tamper");

    let error = pull_to_layout(&target, &work.path().join("pulled"), &fast_options())
        .await
        .expect_err("a tampered manifest must be refused");
    assert!(
        matches!(&error, Error::DigestMismatch { expected, actual, .. }
            if *expected == fixture.image_digest && *actual == support::sha256(tampered.as_bytes())),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_registry_that_comes_up_late_is_retried_and_recorded() {
    let Some(bin) = support::docker_registry_bin() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "v1", &[Evidence::Provenance], 0);
    let port = support::free_port();
    let target = reference(&format!("127.0.0.1:{port}/app:v1"));

    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        let mut registry = Registry::spawn_distribution(&bin, port, None);
        registry.wait_ready();
        registry
    });
    let options = slipway_registry::RegistryOptions {
        retries: slipway_registry::RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            factor: 2,
            max_backoff: Duration::from_millis(800),
        },
        ..fast_options()
    };
    let report = push_layout(&layout, &fixture.image_digest, &target, &options)
        .await
        .expect("the push succeeds once the registry is up");
    let _registry = starter.join().expect("registry starter");

    assert!(
        !report.attempts.is_empty(),
        "the first requests met a closed port"
    );
    let first = &report.attempts[0];
    assert_eq!(first.attempt, 1);
    assert!(first.what.starts_with("check blob sha256:"), "{first:?}");
    assert!(first.error.contains("connect"), "{first:?}");
    assert_eq!(first.delay, Duration::from_millis(100));
    for (earlier, later) in report.attempts.iter().zip(report.attempts.iter().skip(1)) {
        assert!(
            later.delay >= earlier.delay,
            "backoff never shrinks: {:?}",
            report.attempts
        );
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_honouring_retry_after() {
    let Some(bin) = support::docker_registry_bin() else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let proxy = FaultInjector::start(
        registry.port,
        vec![
            FaultInjector::response(
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                "TOOMANYREQUESTS",
                "slow down",
            ),
            FaultInjector::response("503 Service Unavailable", "", "UNAVAILABLE", "restarting"),
        ],
    )
    .await;
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "v1", &[Evidence::Provenance], 0);
    let target = reference(&format!("127.0.0.1:{}/app:v1", proxy.port));
    let options = slipway_registry::RegistryOptions {
        retries: slipway_registry::RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(50),
            factor: 2,
            max_backoff: Duration::from_secs(2),
        },
        ..fast_options()
    };

    let report = push_layout(&layout, &fixture.image_digest, &target, &options)
        .await
        .expect("the push goes through after the failures");
    let recorded: Vec<(u32, Duration)> = report
        .attempts
        .iter()
        .map(|attempt| (attempt.attempt, attempt.delay))
        .collect();
    // The 429's Retry-After (1 s) wins over the backoff; the 503 gets the second backoff step.
    assert_eq!(
        recorded,
        [(1, Duration::from_secs(1)), (2, Duration::from_millis(100))],
        "{:?}",
        report.attempts
    );
    // The failed requests were HEADs, whose answers carry no body to explain them.
    assert_eq!(report.attempts[0].error, "HTTP 429");
    assert_eq!(report.attempts[1].error, "HTTP 503");
    assert!(report.attempts[0].what.starts_with("check blob sha256:"));
    assert_eq!(report.referrers_path, Some(ReferrersPath::TagSchema));
}

#[tokio::test]
async fn a_closed_port_fails_after_the_bounded_retries() {
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "v1", &[], 0);
    let port = support::free_port();
    let target = reference(&format!("127.0.0.1:{port}/app:v1"));

    let started = Instant::now();
    let error = push_layout(&layout, &fixture.image_digest, &target, &fast_options())
        .await
        .expect_err("nothing listens there");
    let elapsed = started.elapsed();
    match &error {
        Error::Unavailable {
            attempts,
            registry,
            last_error,
            ..
        } => {
            assert_eq!(*attempts, 4, "the first attempt and three retries");
            assert_eq!(registry, &format!("127.0.0.1:{port}"));
            assert!(last_error.contains("connect"), "{last_error}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains("check that it runs and is reachable"),
        "{error}"
    );
    // 50 + 100 + 200 ms of backoff, plus refused connections.
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn basic_auth_accepts_the_right_password_and_names_the_fix_for_a_wrong_one() {
    let (Some(bin), Some(htpasswd)) = (support::docker_registry_bin(), support::htpasswd_bin())
    else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let password = "s3cret-Passw0rd-for-tests";
    let line = support::run(&htpasswd, &["-Bbn", "ci", password]).await;
    let password_file = work.path().join("htpasswd");
    std::fs::write(&password_file, line.trim()).expect("htpasswd file");
    let registry = Registry::distribution(&bin, Some(&password_file));

    let layout = work.path().join("layout");
    let fixture = write_layout(&layout, "v1", &[Evidence::Provenance], 0);
    let target = reference(&format!("{}/app:v1", registry.address()));

    let pushed = push_layout(
        &layout,
        &fixture.image_digest,
        &target,
        &support::with_credentials("ci", password),
    )
    .await
    .expect("push with the right password");
    assert_eq!(pushed.referrers_path, Some(ReferrersPath::TagSchema));

    let wrong_password = "wrong-Passw0rd-for-tests";
    let error = push_layout(
        &layout,
        &fixture.image_digest,
        &target,
        &support::with_credentials("ci", wrong_password),
    )
    .await
    .expect_err("a wrong password is refused");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("refused the credentials of user `ci`")
            && shown.contains("SLIPWAY_REGISTRY_USERNAME/SLIPWAY_REGISTRY_PASSWORD"),
        "{shown}"
    );
    assert!(
        !shown.contains(wrong_password),
        "the password leaked: {shown}"
    );

    let anonymous = pull_to_layout(&target, &work.path().join("anonymous"), &fast_options())
        .await
        .expect_err("anonymous access is refused");
    assert!(
        matches!(anonymous, Error::CredentialsRequired { .. }),
        "{anonymous:?}"
    );
    assert!(anonymous.to_string().contains("SLIPWAY_REGISTRY_PASSWORD"));

    let pulled = pull_to_layout(
        &target,
        &work.path().join("pulled"),
        &support::with_credentials("ci", password),
    )
    .await
    .expect("pull with the right password");
    assert_eq!(pulled.referrers.len(), 1);
}

#[tokio::test]
async fn pulling_an_unknown_tag_says_what_is_missing() {
    let Some(bin) = support::docker_registry_bin() else {
        return;
    };
    let registry = Registry::distribution(&bin, None);
    let work = tempfile::tempdir().expect("tempdir");
    let target = reference(&format!("{}/app:never-pushed", registry.address()));
    let error = pull_to_layout(&target, &work.path().join("pulled"), &fast_options())
        .await
        .expect_err("nothing is there");
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "manifest never-pushed: not found in {} (HTTP 404); check the repository and tag",
            registry.address()
        )
    );
    assert!(!work.path().join("pulled").exists());
}
