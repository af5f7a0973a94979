//! Failures found before any request: a bad layout, a bad argument, a used destination. The
//! target is a closed port, so reaching the network would show as a different error.

use slipway_registry::{Error, Reference, pull_to_layout, push_layout};

use crate::support::{self, Evidence, fast_options, write_layout};

fn closed_target(tag: &str) -> Reference {
    format!("127.0.0.1:{}/app:{tag}", support::free_port())
        .parse()
        .expect("reference")
}

#[tokio::test]
async fn a_directory_that_is_no_layout_is_named_with_the_fix() {
    let work = tempfile::tempdir().expect("tempdir");
    let digest = support::sha256(b"nothing");
    let error = push_layout(work.path(), &digest, &closed_target("v1"), &fast_options())
        .await
        .expect_err("no layout");
    let message = error.to_string();
    assert!(matches!(error, Error::Layout { .. }), "{error:?}");
    assert!(message.contains("oci-layout"), "{message}");
    assert!(
        message.contains("is this an OCI image layout directory?"),
        "{message}"
    );
}

#[tokio::test]
async fn invalid_index_json_is_reported_with_line_and_column() {
    let work = tempfile::tempdir().expect("tempdir");
    let fixture = write_layout(work.path(), "v1", &[], 0);
    std::fs::write(
        work.path().join("index.json"),
        "{\n  \"schemaVersion\": 2,\n  \"manifests\": [ oops ]\n}\n",
    )
    .expect("break index.json");
    let error = push_layout(
        work.path(),
        &fixture.image_digest,
        &closed_target("v1"),
        &fast_options(),
    )
    .await
    .expect_err("invalid index.json");
    let message = error.to_string();
    assert!(message.contains("index.json:3:"), "{message}");
    assert!(message.contains("`index.json` is not valid"), "{message}");
}

#[tokio::test]
async fn an_image_missing_from_the_index_lists_what_is_there() {
    let work = tempfile::tempdir().expect("tempdir");
    let fixture = write_layout(work.path(), "v1", &[Evidence::Provenance], 0);
    let absent = support::sha256(b"another image");
    let error = push_layout(work.path(), &absent, &closed_target("v1"), &fast_options())
        .await
        .expect_err("absent image");
    let message = error.to_string();
    assert!(
        message.contains(&format!("it lists no manifest {absent}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("{} (v1)", fixture.image_digest)),
        "{message}"
    );
}

#[tokio::test]
async fn a_corrupted_local_blob_is_refused_before_anything_is_sent() {
    let work = tempfile::tempdir().expect("tempdir");
    let fixture = write_layout(work.path(), "v1", &[Evidence::Bundle], 0);
    let evidence_manifest = &fixture.referrers[0].0;
    let manifest_path = work
        .path()
        .join("blobs/sha256")
        .join(&evidence_manifest["sha256:".len()..]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("referrer")).expect("JSON");
    let evidence_blob = manifest["layers"][0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    let evidence_path = work
        .path()
        .join("blobs/sha256")
        .join(&evidence_blob["sha256:".len()..]);
    let mut bytes = std::fs::read(&evidence_path).expect("evidence");
    bytes[0] = b'[';
    std::fs::write(&evidence_path, &bytes).expect("corrupt");

    let error = push_layout(
        work.path(),
        &fixture.image_digest,
        &closed_target("v1"),
        &fast_options(),
    )
    .await
    .expect_err("corrupt evidence");
    assert!(
        matches!(&error, Error::DigestMismatch { expected, actual, .. }
            if *expected == evidence_blob && *actual == support::sha256(&bytes)),
        "{error:?}"
    );
    assert!(error.to_string().contains("layout blob"), "{error}");
}

#[tokio::test]
async fn bad_arguments_are_refused_with_the_fix() {
    let work = tempfile::tempdir().expect("tempdir");
    let fixture = write_layout(work.path(), "v1", &[], 0);

    let error = push_layout(
        work.path(),
        "sha256:1234",
        &closed_target("v1"),
        &fast_options(),
    )
    .await
    .expect_err("short digest");
    assert!(
        error.to_string().contains("64 lowercase hex digits"),
        "{error}"
    );

    let other = support::sha256(b"other");
    let pinned: Reference = format!("127.0.0.1:{}/app:v1@{other}", support::free_port())
        .parse()
        .expect("reference");
    let error = push_layout(work.path(), &fixture.image_digest, &pinned, &fast_options())
        .await
        .expect_err("target pinned to another digest");
    assert!(
        error
            .to_string()
            .contains("drop the digest from the target"),
        "{error}"
    );

    let untagged: Reference = format!("127.0.0.1:{}/app", support::free_port())
        .parse()
        .expect("reference");
    let error = pull_to_layout(&untagged, &work.path().join("out"), &fast_options())
        .await
        .expect_err("nothing to pull");
    assert!(
        error.to_string().contains("neither a tag nor a digest"),
        "{error}"
    );
}

#[tokio::test]
async fn pull_never_writes_into_a_non_empty_directory() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("keep.txt"), "mine").expect("file");
    let error = pull_to_layout(&closed_target("v1"), work.path(), &fast_options())
        .await
        .expect_err("non-empty destination");
    assert!(
        matches!(error, Error::DestinationNotEmpty { .. }),
        "{error:?}"
    );
    assert_eq!(
        std::fs::read_to_string(work.path().join("keep.txt")).expect("kept"),
        "mine"
    );
}
