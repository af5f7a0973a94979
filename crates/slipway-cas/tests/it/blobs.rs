use crate::support::{local_store, rich_tree, snapshot, write};
use slipway_cas::{BlobStore, Digest, Error, PackOptions, PathSpec, Roots, pack, unpack};
use std::fs;
use tempfile::TempDir;

#[tokio::test]
async fn bytes_round_trip_and_the_store_lists_and_deletes() {
    let (_dir, store) = local_store();
    let hello = store.put_bytes(&b"hello"[..]).await.unwrap();
    assert_eq!(hello, Digest::of(b"hello"));
    assert_eq!(
        store.put_bytes(&b"hello"[..]).await.unwrap(),
        hello,
        "a second put is a no-op"
    );
    let empty = store.put_bytes(Vec::new()).await.unwrap();
    assert_eq!(&store.get_bytes(&hello).await.unwrap()[..], b"hello");
    assert!(store.get_bytes(&empty).await.unwrap().is_empty());
    let mut both = vec![hello, empty];
    both.sort();
    assert_eq!(store.list().await.unwrap(), both);

    store.delete(&hello).await.unwrap();
    store.delete(&hello).await.unwrap();
    assert!(!store.exists(&hello).await.unwrap());
    assert!(store.exists(&empty).await.unwrap());
    assert!(matches!(store.get_bytes(&hello).await, Err(Error::BlobNotFound(d)) if d == hello));
}

#[tokio::test]
async fn files_round_trip_and_a_corrupted_blob_is_refused() {
    let (dir, store) = local_store();
    let src = TempDir::new().unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    write(&src.path().join("layer.bin"), &content);
    let digest = store.put_file(&src.path().join("layer.bin")).await.unwrap();
    assert_eq!(digest, Digest::of(&content));
    assert_eq!(
        store.put_file(&src.path().join("layer.bin")).await.unwrap(),
        digest
    );
    assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);

    let out = src.path().join("out/copy.bin");
    assert_eq!(
        store.get_to_file(&digest, &out).await.unwrap(),
        content.len() as u64
    );
    assert_eq!(fs::read(&out).unwrap(), content);

    let blob = dir.path().join("store/blobs/sha256").join(digest.hex());
    let mut corrupted = content.clone();
    corrupted[1_000_000] ^= 1;
    fs::write(&blob, &corrupted).unwrap();
    fs::write(&out, b"previous").unwrap();
    let err = store.get_to_file(&digest, &out).await.unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { digest: d, actual } if d == digest && actual == Digest::of(&corrupted))
    );
    assert!(
        err.to_string()
            .starts_with(&format!("blob {digest} is corrupted")),
        "{err}"
    );
    assert_eq!(
        fs::read(&out).unwrap(),
        b"previous",
        "the destination is left alone"
    );
    assert!(matches!(
        store.get_bytes(&digest).await,
        Err(Error::Corrupt { .. })
    ));

    let err = store
        .put_file(&src.path().join("absent"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("absent"), "{err}");
}

#[tokio::test]
async fn a_store_without_a_local_directory_stages_and_uploads() {
    // `memory://` exercises the paths S3 will take: uploads in parts and streamed reads.
    let store = BlobStore::open("memory://").unwrap();
    let src = TempDir::new().unwrap();
    let content: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&src.path().join("big.bin"), &content);
    let digest = store.put_file(&src.path().join("big.bin")).await.unwrap();
    assert_eq!(digest, Digest::of(&content));
    let out = src.path().join("copy.bin");
    store.get_to_file(&digest, &out).await.unwrap();
    assert_eq!(fs::read(&out).unwrap(), content);

    rich_tree(&src.path().join("ws"));
    let roots = Roots::workspace(src.path().join("ws"));
    let packed = pack(
        &store,
        &roots,
        &[PathSpec::parse(".").unwrap()],
        &PackOptions::default(),
    )
    .await
    .unwrap();
    let dst = TempDir::new().unwrap();
    unpack(&store, &packed.digest, &Roots::workspace(dst.path()))
        .await
        .unwrap();
    assert_eq!(snapshot(dst.path()), snapshot(&src.path().join("ws")));
    assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
}

#[test]
fn locations() {
    let dir = TempDir::new().unwrap();
    let url = format!("file://{}", dir.path().join("a/b").display());
    BlobStore::open(&url).unwrap();
    assert!(dir.path().join("a/b/staging").is_dir());
    BlobStore::open(dir.path().join("plain").to_str().unwrap()).unwrap();
    for unsupported in ["s3://bucket/prefix", "file://relative/path", "gs://b"] {
        let err = BlobStore::open(unsupported).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedLocation(ref l) if l == unsupported),
            "{err}"
        );
    }
}
