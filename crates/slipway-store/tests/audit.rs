//! The audit log on SQLite and on a real PostgreSQL server: appends, queries, checkpoints,
//! and two independent stores appending at once.

use serde_json::json;
use slipway_audit::{Anchor, ChainVerifier, VerifyReport, ZERO_HASH};
use slipway_sign::{Algorithm, SigningKey};
use slipway_store::{AuditEvent, AuditFilter, Store};
use std::path::{Path, PathBuf};
use std::process::Command;

fn event(actor: &str, action: &str, subject: &str, details: serde_json::Value) -> AuditEvent {
    AuditEvent::new(actor, action, subject, details)
}

async fn verify(store: &Store, key: &SigningKey) -> VerifyReport {
    let checkpoints = store
        .checkpoints(0)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.signed)
        .collect();
    let mut verifier = ChainVerifier::new(Anchor::genesis(), checkpoints, &[key.public_key()]);
    verifier.expect_count(store.audit_head_record().await.unwrap(), "the head record");
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        if !page.iter().all(|entry| verifier.push(entry)) {
            break;
        }
    }
    verifier.finish()
}

async fn append_many(store: &Store, actor: &str) {
    for n in 0..200 {
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

async fn exercise(store: &Store, other: &Store) {
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
    tokio::join!(append_many(store, "one"), append_many(other, "two"));
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let report = verify(store, &key).await;
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
    let report = verify(store, &key).await;
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
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let other = Store::open_in(dir.path()).await.unwrap();
    exercise(&store, &other).await;
}

#[tokio::test]
async fn postgres() {
    let Some(server) = Postgres::start() else {
        return;
    };
    let store = Store::open(&server.url).await.unwrap();
    let other = Store::open(&server.url).await.unwrap();
    exercise(&store, &other).await;
}

/// A throwaway PostgreSQL cluster on a free loopback port, stopped on drop.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    url: String,
}

impl Postgres {
    /// Starts a cluster, or returns `None` with a notice when PostgreSQL is not installed
    /// (under `CI=true` that is a failure: CI must install it).
    fn start() -> Option<Postgres> {
        let Some(bin) = find_postgres_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL server binaries (initdb, pg_ctl) not found; .ci/run must install the `postgresql` package"
            );
            eprintln!(
                "skipped: postgresql not installed (run scripts/deps/install.sh or install Debian's `postgresql`)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let as_root = is_root();
        if as_root {
            // initdb refuses to run as root; the cluster belongs to the `postgres` user.
            run(
                false,
                Path::new("chown"),
                &["-R", "postgres:postgres", path(dir.path())],
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        run(
            as_root,
            &bin.join("initdb"),
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
            path(dir.path())
        );
        run(
            as_root,
            &bin.join("pg_ctl"),
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&dir.path().join("log")),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        Some(Postgres {
            bin,
            data,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _dir: dir,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        run(
            is_root(),
            &self.bin.join("pg_ctl"),
            &["-D", path(&self.data), "-m", "immediate", "-w", "stop"],
        );
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(as_postgres: bool, program: &Path, args: &[&str]) {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let output = command.args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn find_postgres_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    candidates.sort();
    candidates.reverse();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}
