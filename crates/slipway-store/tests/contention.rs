//! Two processes on one SQLite store — a run packaging an artifact beside `slipway up`
//! writing heartbeats — each with its own connection: a transaction that reads before it
//! writes must wait for the other writer, not fail with `database is locked`.

use slipway_store::{AuditEvent, NewArtifact, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_then_write_transactions_wait_for_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    // Two stores are two pools, so two connections, as two processes would have.
    let packaging = Store::open_in(dir.path()).await.unwrap();
    let heartbeat = Store::open_in(dir.path()).await.unwrap();
    const EACH: usize = 150;
    let writer = tokio::spawn(async move {
        for n in 0..EACH {
            heartbeat
                .append_audit(&AuditEvent::new(
                    "controller",
                    "rollout.heartbeat",
                    "dev",
                    serde_json::json!({ "n": n }),
                ))
                .await
                .unwrap();
        }
    });
    for n in 0..EACH {
        let artifact = NewArtifact {
            digest: format!("sha256:{n:064x}"),
            name: "app".into(),
            run_id: None,
            repository: "file:///repo".into(),
            commit_sha: "0".repeat(40),
            git_ref: "refs/heads/main".into(),
            event: "push".into(),
            size: 1,
            blobs: vec![format!("sha256:{n:064x}")],
        };
        // `record_artifact` reads whether the digest exists, then inserts.
        packaging
            .record_artifact(&artifact, &format!("tag-{n}"))
            .await
            .unwrap_or_else(|e| panic!("artifact {n}: {e}"));
    }
    writer.await.unwrap();
    assert_eq!(
        packaging.audit_head().await.unwrap().unwrap().0,
        EACH as i64
    );
}
