use crate::support::{local_store, snapshot, write};
use slipway_cas::{
    CacheStore, Digest, Error, Lookup, PackOptions, PathSpec, Roots, SaveOutcome, SavedPaths,
};
use std::time::Duration;
use tempfile::TempDir;

fn keys(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// Saves a distinct tiny blob under `key`, a few ms after the previous save so `created` differs.
async fn save(cache: &CacheStore, key: &str) -> Digest {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let digest = cache
        .blobs()
        .put_bytes(key.as_bytes().to_vec())
        .await
        .unwrap();
    assert_eq!(
        cache.save(key, &digest, key.len() as u64).await.unwrap(),
        SaveOutcome::Saved
    );
    digest
}

#[tokio::test]
async fn exact_key_hits_and_unknown_keys_miss() {
    let (_dir, store) = local_store();
    let cache = CacheStore::new(store);
    let digest = save(&cache, "cargo-linux-abc123").await;
    let hit = cache
        .lookup("cargo-linux-abc123", &keys(&["cargo-linux-"]))
        .await
        .unwrap();
    assert_eq!(
        hit,
        Lookup::Hit {
            key: "cargo-linux-abc123".into(),
            digest
        }
    );
    assert_eq!(hit.status(), "hit");
    let miss = cache
        .lookup("npm-linux-abc", &keys(&["npm-"]))
        .await
        .unwrap();
    assert_eq!(miss, Lookup::Miss);
    assert_eq!((miss.status(), miss.digest()), ("miss", None));
    let entry = cache.entry("cargo-linux-abc123").await.unwrap().unwrap();
    assert_eq!((entry.digest, entry.size), (digest, 18));
}

#[tokio::test]
async fn restore_keys_fall_back_to_the_newest_match_of_the_first_matching_prefix() {
    let (_dir, store) = local_store();
    let cache = CacheStore::new(store);
    save(&cache, "cargo-linux-old").await;
    let newest_linux = save(&cache, "cargo-linux-mid").await;
    let newest_any = save(&cache, "cargo-macos-new").await;
    save(&cache, "npm-linux-newest").await;

    let lookup = cache
        .lookup("cargo-linux-fresh", &keys(&["cargo-linux-", "cargo-"]))
        .await
        .unwrap();
    assert_eq!(
        lookup,
        Lookup::Partial {
            matched_key: "cargo-linux-mid".into(),
            digest: newest_linux
        }
    );
    assert_eq!(lookup.status(), "partial");
    let lookup = cache
        .lookup("cargo-windows-x", &keys(&["cargo-windows-", "cargo-"]))
        .await
        .unwrap();
    assert_eq!(
        lookup,
        Lookup::Partial {
            matched_key: "cargo-macos-new".into(),
            digest: newest_any
        }
    );

    // An entry whose blob was deleted is passed over.
    cache.blobs().delete(&newest_linux).await.unwrap();
    let lookup = cache
        .lookup("cargo-linux-fresh", &keys(&["cargo-linux-"]))
        .await
        .unwrap();
    assert!(
        matches!(lookup, Lookup::Partial { ref matched_key, .. } if matched_key == "cargo-linux-old")
    );
    assert_eq!(cache.entries().await.unwrap().len(), 4);
}

#[tokio::test]
async fn keys_are_immutable() {
    let (_dir, store) = local_store();
    let cache = CacheStore::new(store);
    let first = save(&cache, "key").await;
    let other = cache
        .blobs()
        .put_bytes(&b"other content"[..])
        .await
        .unwrap();
    assert_eq!(
        cache.save("key", &other, 13).await.unwrap(),
        SaveOutcome::AlreadyExists
    );
    assert_eq!(cache.entry("key").await.unwrap().unwrap().digest, first);

    let absent = Digest::of(b"never stored");
    assert!(matches!(
        cache.save("new-key", &absent, 1).await,
        Err(Error::BlobNotFound(_))
    ));
    assert!(matches!(
        cache.lookup("", &[]).await,
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        cache.lookup("k", &keys(&[""])).await,
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        cache.save(&"k".repeat(513), &first, 1).await,
        Err(Error::InvalidKey { .. })
    ));
}

#[tokio::test]
async fn save_paths_then_restore_into_a_fresh_workspace_and_home() {
    let (_dir, store) = local_store();
    let cache = CacheStore::new(store);
    let job = TempDir::new().unwrap();
    let roots = Roots::workspace(job.path().join("ws")).with_home(job.path().join("home"));
    write(&job.path().join("ws/target/debug/app"), b"binary");
    write(
        &job.path().join("home/.cargo/registry/cache/serde.crate"),
        b"crate",
    );
    let paths: Vec<PathSpec> = ["target", "~/.cargo/registry", "not-built"]
        .iter()
        .map(|p| PathSpec::parse(p).unwrap())
        .collect();

    let saved = cache
        .save_paths("k1", &roots, &paths, &PackOptions::default())
        .await
        .unwrap();
    let SavedPaths::Saved(packed) = saved else {
        panic!("expected Saved, got {saved:?}")
    };
    assert_eq!(packed.missing, vec![PathSpec::parse("not-built").unwrap()]);
    assert!(matches!(
        cache
            .save_paths("k1", &roots, &paths, &PackOptions::default())
            .await
            .unwrap(),
        SavedPaths::AlreadyExists
    ));
    let nothing = [PathSpec::parse("nope").unwrap()];
    assert!(matches!(
        cache
            .save_paths("k2", &roots, &nothing, &PackOptions::default())
            .await
            .unwrap(),
        SavedPaths::NothingToSave
    ));
    assert!(cache.entry("k2").await.unwrap().is_none());

    let next = TempDir::new().unwrap();
    let next_roots = Roots::workspace(next.path().join("ws")).with_home(next.path().join("home"));
    let lookup = cache.lookup("k1", &[]).await.unwrap();
    let restored = cache.restore(&lookup, &next_roots).await.unwrap().unwrap();
    assert_eq!(
        (restored.files, restored.bytes_out, restored.bytes_in),
        (2, 11, packed.bytes_out)
    );
    assert_eq!(
        snapshot(&next.path().join("ws")),
        snapshot(&job.path().join("ws"))
    );
    assert_eq!(
        snapshot(&next.path().join("home")),
        snapshot(&job.path().join("home"))
    );
    assert!(
        cache
            .restore(&Lookup::Miss, &next_roots)
            .await
            .unwrap()
            .is_none()
    );
}
