use crate::support::{local_store, snapshot, write};
use slipway_cas::Error;
use slipway_cas::outputs::{materialise, save_outputs};
use tempfile::TempDir;

#[tokio::test]
async fn outputs_are_materialised_at_the_same_paths() {
    let (_dir, store) = local_store();
    let build = TempDir::new().unwrap();
    write(&build.path().join("target/release/app"), b"\x7fELF app");
    write(&build.path().join("dist/site/index.html"), b"<html>");
    write(&build.path().join("scratch.txt"), b"not an output");
    let outputs = vec!["target/release/app".to_owned(), "dist/".to_owned()];
    let saved = save_outputs(&store, build.path(), &outputs).await.unwrap();
    assert_eq!(saved.files, 2);

    let test_job = TempDir::new().unwrap();
    write(&test_job.path().join("README.md"), b"checked out");
    materialise(&store, &saved.digest, test_job.path())
        .await
        .unwrap();
    let got = snapshot(test_job.path());
    assert!(got.contains_key(std::path::Path::new("README.md")));
    assert!(!got.contains_key(std::path::Path::new("scratch.txt")));
    assert_eq!(
        std::fs::read(test_job.path().join("target/release/app")).unwrap(),
        b"\x7fELF app"
    );
    assert_eq!(
        std::fs::read(test_job.path().join("dist/site/index.html")).unwrap(),
        b"<html>"
    );
}

#[tokio::test]
async fn a_missing_output_fails_with_a_clear_message() {
    let (_dir, store) = local_store();
    let build = TempDir::new().unwrap();
    write(&build.path().join("dist/index.html"), b"<html>");
    let outputs = vec!["dist".to_owned(), "target/release/app".to_owned()];
    let err = save_outputs(&store, build.path(), &outputs)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "declared output `target/release/app` does not exist"
    );
    assert!(store.list().await.unwrap().is_empty());

    let err = save_outputs(&store, build.path(), &["~/.cache/x".to_owned()])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
    assert!(
        err.to_string().contains("relative to the workspace"),
        "{err}"
    );
}
