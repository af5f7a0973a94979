//! Packaging, the store, layouts: determinism, immutable tags, export/import and tamper checks.

use slipway_artifact::layout::{export, import};
use slipway_artifact::{ArtifactSpec, Artifacts, Compression, Error, Origin};
use slipway_cas::BlobStore;
use slipway_store::{Store, StoreError};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

fn spec(source: &Path) -> ArtifactSpec {
    ArtifactSpec {
        name: "hello".into(),
        source: source.to_owned(),
        entrypoint: vec!["hello".into(), "--port".into(), "8080".into()],
        env: vec![("MODE".into(), "production".into())],
        ports: vec![8080],
        source_date_epoch: 1_700_000_000,
        revision: "a".repeat(40),
        repository: "https://example.org/hello".into(),
        compression: Compression::Gzip,
    }
}

fn origin() -> Origin {
    Origin {
        run_id: Some("r-1".into()),
        repository: "https://example.org/hello".into(),
        commit_sha: "a".repeat(40),
        git_ref: "refs/heads/main".into(),
        event: "push".into(),
    }
}

async fn open(dir: &Path) -> Artifacts {
    let blobs = BlobStore::local(&dir.join("blobs")).unwrap();
    let index = Store::open_in(&dir.join("state")).await.unwrap();
    Artifacts::new(blobs, Arc::new(index))
}

/// A small tree: an executable, a nested data file, a symlink.
fn make_tree(root: &Path, mode: u32) {
    fs::create_dir_all(root.join("static/css")).unwrap();
    fs::write(root.join("hello"), b"#!/bin/sh\necho hello\n").unwrap();
    fs::set_permissions(root.join("hello"), fs::Permissions::from_mode(0o700 | mode)).unwrap();
    fs::write(root.join("static/css/site.css"), b"body { color: black }\n").unwrap();
    fs::set_permissions(
        root.join("static/css/site.css"),
        fs::Permissions::from_mode(0o600 | mode & 0o044),
    )
    .unwrap();
    std::os::unix::fs::symlink("static/css/site.css", root.join("style.css")).unwrap();
}

#[tokio::test]
async fn same_files_give_the_same_digest_whatever_their_mtimes_and_modes() {
    let temp = tempfile::tempdir().unwrap();
    let (first_src, second_src) = (temp.path().join("one"), temp.path().join("two"));
    make_tree(&first_src, 0o077);
    std::thread::sleep(std::time::Duration::from_millis(20));
    make_tree(&second_src, 0o000);
    let first = open(&temp.path().join("a")).await;
    let second = open(&temp.path().join("b")).await;
    let (one, _) = first
        .create(&spec(&first_src), &origin(), "t-1")
        .await
        .unwrap();
    let (two, _) = second
        .create(&spec(&second_src), &origin(), "t-1")
        .await
        .unwrap();
    assert_eq!(one.digest, two.digest);
    assert_eq!(one.files, 2);
    assert_eq!(one.config.config.entrypoint[0], "/app/hello");
    assert_eq!(one.config.created, "2023-11-14T22:13:20Z");

    // Changing one byte changes the digest; so does the commit time.
    fs::write(
        second_src.join("static/css/site.css"),
        b"body { color: blue  }\n",
    )
    .unwrap();
    let (changed, _) = second
        .create(&spec(&second_src), &origin(), "t-2")
        .await
        .unwrap();
    assert_ne!(changed.digest, one.digest);
    let mut later = spec(&first_src);
    later.source_date_epoch += 1;
    let (retimed, _) = first.create(&later, &origin(), "t-3").await.unwrap();
    assert_ne!(retimed.digest, one.digest);
}

#[tokio::test]
async fn zstd_layers_are_deterministic_too() {
    let temp = tempfile::tempdir().unwrap();
    make_tree(&temp.path().join("src"), 0);
    let mut zstd = spec(&temp.path().join("src"));
    zstd.compression = Compression::Zstd;
    let store = open(&temp.path().join("s")).await;
    let (one, _) = store.create(&zstd, &origin(), "z-1").await.unwrap();
    let (two, _) = store.create(&zstd, &origin(), "z-1").await.unwrap();
    assert_eq!(one.digest, two.digest);
    assert_eq!(
        one.manifest.layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let dest = temp.path().join("unpacked");
    assert_eq!(
        store
            .unpack(&one.manifest, &one.config, &dest)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        fs::read(dest.join("app/static/css/site.css")).unwrap(),
        b"body { color: black }\n"
    );
}

#[tokio::test]
async fn a_tag_never_moves_to_another_digest() {
    let temp = tempfile::tempdir().unwrap();
    let src = temp.path().join("src");
    make_tree(&src, 0);
    let store = open(&temp.path().join("s")).await;
    let (first, _) = store.create(&spec(&src), &origin(), "abc-1").await.unwrap();
    fs::write(src.join("hello"), b"changed").unwrap();
    let err = store
        .create(&spec(&src), &origin(), "abc-1")
        .await
        .unwrap_err();
    match err {
        Error::Store(StoreError::TagMoved {
            existing,
            attempted,
            ..
        }) => {
            assert_eq!(existing, first.digest.to_string());
            assert_ne!(attempted, existing);
            let message = Error::Store(StoreError::TagMoved {
                tag: "abc-1".into(),
                existing: existing.clone(),
                attempted: attempted.clone(),
            })
            .to_string();
            assert!(
                message.contains(&existing) && message.contains(&attempted),
                "{message}"
            );
        }
        other => panic!("expected a refused tag, got {other:?}"),
    }
}

#[tokio::test]
async fn a_single_file_source_and_a_missing_one() {
    let temp = tempfile::tempdir().unwrap();
    let bin = temp.path().join("hello");
    fs::write(&bin, b"\x7fELF...").unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let store = open(&temp.path().join("s")).await;
    let (packaged, record) = store.create(&spec(&bin), &origin(), "f-1").await.unwrap();
    assert_eq!(packaged.files, 1);
    assert_eq!(record.tags, ["f-1"]);
    let err = store
        .create(&spec(&temp.path().join("nope")), &origin(), "f-2")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn export_then_import_elsewhere_keeps_digest_tags_and_evidence() {
    let temp = tempfile::tempdir().unwrap();
    let src = temp.path().join("src");
    make_tree(&src, 0);
    let store = open(&temp.path().join("s")).await;
    let (packaged, _) = store.create(&spec(&src), &origin(), "abc-7").await.unwrap();
    let digest = packaged.digest.to_string();
    store
        .attach_evidence(
            &digest,
            slipway_artifact::NewEvidence {
                kind: "provenance".into(),
                predicate_type: "https://slsa.dev/provenance/v1".into(),
                media_type: "application/vnd.dsse.envelope.v1+json".into(),
                bytes: br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}"#.to_vec(),
            },
        )
        .await
        .unwrap();
    let layout = temp.path().join("layout");
    let exported = export(&store, "abc-7", &layout, true).await.unwrap();
    assert_eq!(
        (exported.digest.as_str(), exported.referrers),
        (digest.as_str(), 1)
    );
    assert!(layout.join("oci-layout").is_file());
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "abc-7"
    );
    assert_eq!(
        index["manifests"][1]["artifactType"],
        "application/vnd.dsse.envelope.v1+json"
    );

    // Exporting over a non-empty directory is refused and leaves it alone.
    let err = export(&store, "abc-7", &layout, true).await.unwrap_err();
    assert!(matches!(err, Error::ExportTargetNotEmpty(_)), "{err}");

    let elsewhere = open(&temp.path().join("other")).await;
    let imported = import(&elsewhere, &layout, &origin()).await.unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].digest, digest);
    assert_eq!(imported[0].tags, ["abc-7"]);
    assert_eq!(imported[0].evidence, 1);
    let inspection = elsewhere.inspect("abc-7").await.unwrap();
    assert_eq!(inspection.evidence[0].kind, "provenance");
    assert_eq!(inspection.record.name, "hello");
}

#[tokio::test]
async fn a_damaged_layer_is_caught_on_unpack_and_on_import() {
    let temp = tempfile::tempdir().unwrap();
    let src = temp.path().join("src");
    make_tree(&src, 0);
    let store = open(&temp.path().join("s")).await;
    let (packaged, _) = store.create(&spec(&src), &origin(), "d-1").await.unwrap();
    let layout = temp.path().join("layout");
    export(&store, "d-1", &layout, false).await.unwrap();
    let layer = &packaged.manifest.layers[0].digest;
    let layer_path = layout
        .join("blobs/sha256")
        .join(layer.strip_prefix("sha256:").unwrap());
    let mut bytes = fs::read(&layer_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&layer_path, &bytes).unwrap();
    let elsewhere = open(&temp.path().join("other")).await;
    let err = import(&elsewhere, &layout, &origin()).await.unwrap_err();
    assert!(err.to_string().contains(layer.as_str()), "{err}");

    // In the store itself: the blob is verified when it is read.
    let blob = temp
        .path()
        .join("s/blobs/blobs/sha256")
        .join(layer.strip_prefix("sha256:").unwrap());
    fs::set_permissions(&blob, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&blob, &bytes).unwrap();
    let err = store
        .unpack(&packaged.manifest, &packaged.config, &temp.path().join("u"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(layer.strip_prefix("sha256:").unwrap()),
        "{err}"
    );
}

#[tokio::test]
async fn deleting_an_artifact_frees_only_its_own_blobs() {
    let temp = tempfile::tempdir().unwrap();
    let src = temp.path().join("src");
    make_tree(&src, 0);
    let store = open(&temp.path().join("s")).await;
    let (first, _) = store.create(&spec(&src), &origin(), "x-1").await.unwrap();
    let mut renamed = spec(&src);
    renamed.name = "hello-two".into();
    let (second, _) = store.create(&renamed, &origin(), "x-2").await.unwrap();
    // Same files: the layer is shared, config and manifest are not.
    assert_eq!(first.manifest.layers, second.manifest.layers);
    assert_ne!(first.digest, second.digest);
    let freed = store.delete(&first.digest.to_string()).await.unwrap();
    assert!(
        freed > 0 && freed < first.size,
        "freed {freed} of {}",
        first.size
    );
    let dest = temp.path().join("unpacked");
    store
        .unpack(&second.manifest, &second.config, &dest)
        .await
        .unwrap();
    assert!(dest.join("app/hello").is_file());
}
