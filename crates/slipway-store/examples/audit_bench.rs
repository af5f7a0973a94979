//! The audit log benchmark's store side (bench/audit/run.sh):
//!
//! - `audit_bench append STATE_DIR N`: N run status changes, each one transaction that updates
//!   the run and appends its `run.finished` entry; prints `{"appends", "seconds"}`.
//! - `audit_bench fill STATE_DIR N`: appends N chained entries the fast way (10,000 per
//!   transaction, straight into the tables) to build a large log to verify.
//! - `audit_bench read STATE_DIR PAGE`: reads the whole log a page of PAGE entries at a time,
//!   without verifying it: what reading alone costs.
//! - `audit_bench chain STATE_DIR PAGE`: reads and verifies the chain (no checkpoints) the way
//!   `slipway audit verify` does, pages of PAGE entries: reading and checking together.

use slipway_audit::{Anchor, ChainVerifier, Entry, Event, ZERO_HASH};
use slipway_store::{NewRun, Store, now_ms};
use sqlx::Row;
use std::path::PathBuf;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(dir), Some(count)) = (args.get(1), args.get(2), args.get(3)) else {
        return Err("usage: audit_bench append|fill|read|chain STATE_DIR N".into());
    };
    let dir = PathBuf::from(dir);
    let count: i64 = count.parse()?;
    let store = Store::open_in(&dir).await?;
    let started = Instant::now();
    match mode.as_str() {
        "append" => append(&store, count).await?,
        "fill" => fill(&dir, count).await?,
        "read" => {
            let entries = read(&store, count).await?;
            println!("{}", serde_json::json!({"entries": entries}));
        }
        "chain" => {
            let verifier = ChainVerifier::new(Anchor::genesis(), Vec::new(), &[]);
            let report = store
                .scan_audit(0, count, verifier, |verifier, entry| verifier.push(entry))
                .await?
                .finish();
            println!("{}", serde_json::to_string(&report)?);
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    println!(
        "{}",
        serde_json::json!({"mode": mode, "entries": count, "seconds": started.elapsed().as_secs_f64()})
    );
    Ok(())
}

async fn append(store: &Store, count: i64) -> Result<(), Box<dyn std::error::Error>> {
    let run = store
        .create_run(&NewRun {
            repository: "/bench/repo".into(),
            commit_sha: "a".repeat(40),
            git_ref: "refs/heads/main".into(),
            event: "push".into(),
            actor: "bench@example.org".into(),
            pipeline_path: "slipway.yml".into(),
            pipeline_sha256: "b".repeat(64),
            dirty: false,
            sandbox: false,
            runner_version: "bench".into(),
            toolchains: serde_json::json!({}),
            concurrency_group: None,
        })
        .await?;
    for n in 0..count {
        let status = if n % 2 == 0 { "success" } else { "failure" };
        store.set_run_status(&run.id, status, Some("bench")).await?;
    }
    Ok(())
}

async fn fill(dir: &std::path::Path, count: i64) -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("slipway.db").display());
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&pool)
        .await?;
    let (mut seq, mut prev): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
    if seq == 0 {
        prev = ZERO_HASH.to_owned();
    }
    let start_ms = now_ms();
    let end = seq + count;
    while seq < end {
        let mut tx = pool.begin().await?;
        for _ in 0..10_000.min(end - seq) {
            seq += 1;
            let event = Event::new(
                format!("dev{}@example.org", seq % 17),
                [
                    "run.created",
                    "gates.evaluated",
                    "run.finished",
                    "release.promoted",
                ][(seq % 4) as usize],
                format!("sha256:{:064x}", seq * 7919),
                serde_json::json!({"run": format!("r-{seq}"), "verdict": "pass", "blocking": 0, "warnings": seq % 3}),
            );
            let entry = Entry::chain(seq, start_ms + seq, &event, &prev)?;
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(entry.seq)
            .bind(entry.at_ms)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.subject)
            .bind(entry.details.to_string())
            .bind(&entry.prev)
            .bind(&entry.hash)
            .execute(&mut *tx)
            .await?;
            prev = entry.hash;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn read(store: &Store, page: i64) -> Result<i64, Box<dyn std::error::Error>> {
    let mut after = 0;
    let mut entries = 0;
    loop {
        let rows = store.audit_page(after, page).await?;
        let Some(last) = rows.last() else {
            return Ok(entries);
        };
        after = last.seq;
        entries += rows.len() as i64;
    }
}
