//! Against ferro-oci-server, a registry implementing the OCI 1.1 referrers API: it answers
//! `OCI-Subject` when a manifest with a subject is pushed and lists referrers at
//! `/v2/<name>/referrers/<digest>`, so no referrers tag is written.

use serde_json::Value;
use slipway_registry::{Reference, ReferrersPath, pull_to_layout, push_layout};

use crate::support::{
    self, Evidence, Registry, fast_options, listed, verified_layout, write_layout,
};

#[tokio::test]
async fn referrers_go_through_the_api_when_the_registry_has_it() {
    let Some(bin) = support::ferro_bin() else {
        return;
    };
    let registry = Registry::ferro(&bin);
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let fixture = write_layout(
        &layout,
        "2.0.0",
        &[Evidence::Provenance, Evidence::Bundle],
        0,
    );
    let target: Reference = format!("{}/team/app:2.0.0", registry.address())
        .parse()
        .expect("reference");

    let pushed = push_layout(&layout, &fixture.image_digest, &target, &fast_options())
        .await
        .expect("push");
    assert_eq!(pushed.referrers_path, Some(ReferrersPath::Api));
    assert_eq!(pushed.referrers.len(), 2);

    // The registry indexed the referrers itself, and no fallback tag was written.
    let referrers_url = format!(
        "http://{}/v2/team/app/referrers/{}",
        registry.address(),
        fixture.image_digest
    );
    let listing_bytes = reqwest::get(&referrers_url)
        .await
        .expect("referrers request")
        .bytes()
        .await
        .expect("referrers body");
    let listing: Value = serde_json::from_slice(&listing_bytes).expect("referrers JSON");
    assert_eq!(
        listed(&listing),
        fixture
            .referrers
            .iter()
            .map(|(digest, kind)| (digest.clone(), Some(kind.clone())))
            .collect()
    );
    let tag = format!("sha256-{}", &fixture.image_digest["sha256:".len()..]);
    assert_eq!(
        support::http_status(registry.port, &format!("/v2/team/app/manifests/{tag}")),
        Some(404),
        "the referrers API makes the tag schema unnecessary"
    );

    let pulled_dir = work.path().join("pulled");
    let pulled = pull_to_layout(&target, &pulled_dir, &fast_options())
        .await
        .expect("pull");
    assert_eq!(pulled.referrers_path, ReferrersPath::Api);
    assert_eq!(pulled.image_digest, fixture.image_digest);
    let mut pulled_digests: Vec<String> =
        pulled.referrers.iter().map(|r| r.digest.clone()).collect();
    pulled_digests.sort();
    let mut expected: Vec<String> = fixture.referrers.iter().map(|(d, _)| d.clone()).collect();
    expected.sort();
    assert_eq!(pulled_digests, expected);
    let index = verified_layout(&pulled_dir);
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        index["manifests"][0]["digest"],
        fixture.image_digest.as_str()
    );
    assert_eq!(index["manifests"][0]["size"], fixture.image_size);
}
