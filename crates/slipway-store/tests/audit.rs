//! The audit log on SQLite and on a real PostgreSQL server: appends, queries, checkpoints,
//! and several tasks on two independent stores appending at once.

mod common;

use common::Postgres;
use serde_json::json;
use slipway_audit::{Anchor, ChainVerifier, VerifyReport, ZERO_HASH};
use slipway_sign::{Algorithm, SigningKey};
use slipway_store::{AuditEntry, AuditEvent, AuditFilter, Store};
use std::sync::Arc;

fn event(actor: &str, action: &str, subject: &str, details: serde_json::Value) -> AuditEvent {
    AuditEvent::new(actor, action, subject, details)
}

/// Appends 50 entries one transaction at a time.
async fn append_many(store: Arc<Store>, actor: &'static str) {
    for n in 0..50 {
        store
            .append_audit(&event(
                actor,
                "test.appended",
                "concurrency",
                json!({"n": n}),
            ))
            .await
            .unwrap();
    }
}

async fn exercise(store_owner: Arc<Store>, other: Arc<Store>, url: &str) {
    let store = &*store_owner;

    assert_eq!(store.audit_head().await.unwrap(), None);
    let first = store
        .append_audit(&event(
            "dev@example.org",
            "run.created",
            "r-1",
            json!({"n": 1}),
        ))
        .await
        .unwrap();
    assert_eq!((first.seq, first.prev.as_str()), (1, ZERO_HASH));
    let second = store
        .append_audit(&event(
            "ci",
            "gates.evaluated",
            "sha256:ab",
            json!({"verdict": "pass", "ratio": 0.5}),
        ))
        .await
        .unwrap();
    assert_eq!((second.seq, second.prev.as_str()), (2, first.hash.as_str()));
    assert_eq!(second.details, json!({"verdict": "pass", "ratio": "0.5"}));
    store
        .append_audit(&event(
            "dev@example.org",
            "release.promoted",
            "rel-1",
            json!({}),
        ))
        .await
        .unwrap();
    // A bad event is refused before anything is written.
    assert!(
        store
            .append_audit(&event("dev", "promoted", "rel-1", json!({})))
            .await
            .is_err()
    );
    assert_eq!(store.audit_head_record().await.unwrap(), 3);

    let by_actor = store
        .audit_entries(&AuditFilter {
            actor: Some("dev@example.org".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_actor.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(by_actor[0], first);
    let by_prefix = store
        .audit_entries(&AuditFilter {
            action: Some("release.*".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_prefix.len(), 1);
    let newest = store
        .audit_entries(&AuditFilter {
            limit: Some(2),
            newest_first: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2]);
    let by_subject = store
        .audit_entries(&AuditFilter {
            subject: Some("sha256:ab".into()),
            since_ms: Some(first.at_ms),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_subject, std::slice::from_ref(&second));
    assert_eq!(store.audit_entry(2).await.unwrap(), Some(second));
    assert_eq!(
        store.audit_first_seq_since(first.at_ms).await.unwrap(),
        Some(1)
    );
    assert_eq!(store.audit_first_seq_since(i64::MAX).await.unwrap(), None);

    // Two stores (as two processes would have) append at once: seq stays dense and the
    // chain valid.
    // Four tasks on each store: on PostgreSQL each store's pool gives them up to four
    // connections; on SQLite each store has one.
    let tasks: Vec<_> = (0..4)
        .flat_map(|_| {
            [
                tokio::spawn(append_many(Arc::clone(&store_owner), "one")),
                tokio::spawn(append_many(Arc::clone(&other), "two")),
            ]
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let report = common::verify_log(store, &[key.public_key()]).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, 403);
    let all = store.audit_page(0, 1000).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=403).collect::<Vec<_>>()
    );
    assert_eq!(all.iter().filter(|e| e.actor == "two").count(), 200);

    // Checkpoints: every 100 entries and at the head; signed, stored once, then none due.
    let due = store.pending_checkpoints(100).await.unwrap();
    assert_eq!(
        due.iter().map(|c| c.count).collect::<Vec<_>>(),
        [100, 200, 300, 400, 403]
    );
    for checkpoint in &due {
        let signed = checkpoint.sign(&key).unwrap();
        assert!(
            store
                .record_checkpoint(&signed, &key.public_key().to_pem())
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_checkpoint(&signed, &key.public_key().to_pem())
                .await
                .unwrap()
        );
    }
    assert!(store.pending_checkpoints(100).await.unwrap().is_empty());
    let stored = store.checkpoints(300).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].public_key_pem, key.public_key().to_pem());
    assert_eq!(stored[2].signed.checkpoint.head, all[402].hash);
    let report = common::verify_log(store, &[key.public_key()]).await;
    assert!(report.ok && report.checkpoints_verified == 5, "{report:?}");
    store
        .append_audit(&event("one", "test.appended", "x", json!({})))
        .await
        .unwrap();
    assert_eq!(
        store
            .pending_checkpoints(100)
            .await
            .unwrap()
            .iter()
            .map(|c| c.count)
            .collect::<Vec<_>>(),
        [404]
    );
    exercise_scan(store, &key, url).await;
}

/// Verifies the log through [`Store::scan_audit`], the way `slipway audit verify` does.
async fn verify_scanned(store: &Store, key: &SigningKey, page: i64) -> VerifyReport {
    let checkpoints = store
        .checkpoints(0)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.signed)
        .collect();
    let mut verifier = ChainVerifier::new(Anchor::genesis(), checkpoints, &[key.public_key()]);
    verifier.expect_count(store.audit_head_record().await.unwrap(), "the head record");
    store
        .scan_audit(0, page, verifier, |verifier, entry| verifier.push(entry))
        .await
        .unwrap()
        .finish()
}

/// A whole-log scan sees exactly what paging sees, stops when told, starts anywhere, and
/// reports an entry whose details were edited into something that is not JSON.
async fn exercise_scan(store: &Store, key: &SigningKey, url: &str) {
    let all = store.audit_page(0, 1000).await.unwrap();
    assert_eq!(all.len(), 404);
    for page in [1, 64, 101, 404, 5000] {
        let scanned = store
            .scan_audit(0, page, Vec::new(), |seen: &mut Vec<AuditEntry>, entry| {
                seen.push(entry.clone());
                true
            })
            .await
            .unwrap();
        assert_eq!(scanned, all, "pages of {page}");
    }
    let first_ten = store
        .scan_audit(0, 3, Vec::new(), |seen: &mut Vec<i64>, entry| {
            seen.push(entry.seq);
            seen.len() < 10
        })
        .await
        .unwrap();
    assert_eq!(first_ten, (1..=10).collect::<Vec<_>>());
    let tail = store
        .scan_audit(400, 3, Vec::new(), |seen: &mut Vec<i64>, entry| {
            seen.push(entry.seq);
            true
        })
        .await
        .unwrap();
    assert_eq!(tail, [401, 402, 403, 404]);
    let good = verify_scanned(store, key, 64).await;
    assert!(good.ok && good.entries == 404, "{good:?}");

    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE audit_log SET details = '{\"n\": 7' WHERE seq = 150")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let edited = verify_scanned(store, key, 64).await;
    assert_eq!(
        (edited.ok, edited.first_bad, edited.entries),
        (false, Some(150), 149),
        "{edited:?}"
    );
    assert!(
        edited
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("entry 150: ")),
        "{edited:?}"
    );
    assert_eq!(
        common::verify_log(store, &[key.public_key()]).await,
        edited,
        "paging and scanning report the same"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_in(dir.path()).await.unwrap());
    let other = Arc::new(Store::open_in(dir.path()).await.unwrap());
    let url = format!("sqlite://{}", dir.path().join("slipway.db").display());
    exercise(store, other, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    let Some(server) = Postgres::start() else {
        return;
    };
    let store = Arc::new(Store::open(&server.url).await.unwrap());
    let other = Arc::new(Store::open(&server.url).await.unwrap());
    exercise(store, other, &server.url).await;
}
