//! Delivery records — releases, environment state, approvals, rollout events, measurements,
//! known-bad digests — and the audit entries written with them: one test body on SQLite and on
//! a real PostgreSQL server, including writers on several connections at once and transitions
//! that fail midway.

mod common;

use common::Postgres;
use serde_json::json;
use slipway_store::{
    AuditEntry, AuditFilter, EnvironmentState, KnownBad, MeasurementRecord, NewRelease,
    NewRolloutEvent, NewRun, Store, StoreError, Transition, now_ms,
};
use std::sync::Arc;

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:x}").repeat(64))
}

fn new_release(environment: &str, digest: &str, status: &str) -> NewRelease {
    NewRelease {
        environment: environment.into(),
        digest: digest.into(),
        kind: "promote".into(),
        status: status.into(),
        actor: "dev@example.org".into(),
        previous_digest: None,
        break_glass_reason: None,
        commit_authors: vec!["a@example.org".into(), "b@example.org".into()],
        config: json!({"strategy": {"canary": {"steps": [{"weight": 20}, {"pause": {}}]}}, "ratio": 0.5}),
    }
}

fn state(environment: &str, canary: Option<&str>, phase: &str, weight: i64) -> EnvironmentState {
    EnvironmentState {
        environment: environment.into(),
        stable_release: Some(format!("{environment}-stable")),
        canary_release: canary.map(str::to_owned),
        phase: phase.into(),
        step: weight / 20,
        weight,
        step_started_at: Some(1_700_000_000_123),
        paused_reason: None,
        request: None,
        request_actor: None,
        last_known_good: Some(digest(9)),
        address: Some("127.0.0.1:8080".into()),
        controller_pid: None,
        controller_seen_at: None,
        updated_at: 0,
    }
}

fn event(release_id: &str, kind: &str, detail: serde_json::Value) -> NewRolloutEvent {
    NewRolloutEvent {
        release_id: release_id.into(),
        kind: kind.into(),
        actor: "controller".into(),
        detail,
    }
}

/// Audit entries appended after entry `after`, in seq order.
async fn entries_after(store: &Store, after: i64) -> Vec<AuditEntry> {
    store
        .audit_entries(&AuditFilter {
            after_seq: Some(after),
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

/// Waits (bounded) until the store's clock has moved past `since`, so that "newest first"
/// has a newest.
async fn next_millisecond(since: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while now_ms() <= since {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock stands still"
        );
        tokio::task::yield_now().await;
    }
}

/// Every public delivery function, in the order a promotion, a canary and an abort use them.
async fn exercise(store: &Store) {
    let start = store.audit_head_record().await.unwrap();

    // Releases: creation, lookup by id and by prefix, superseding of unapproved ones.
    let first = store
        .create_release(&new_release("staging", &digest(1), "awaiting-approval"))
        .await
        .unwrap();
    assert!(first.id.starts_with("staging-") && !first.is_final());
    assert_eq!(first.finished_at, None);
    assert_eq!(store.release(&first.id).await.unwrap(), first);
    assert_eq!(store.release("staging-").await.unwrap(), first);
    assert!(matches!(
        store.release("nowhere-").await,
        Err(StoreError::NoRelease(_))
    ));
    next_millisecond(first.created_at).await;
    let second = store
        .create_release(&new_release("staging", &digest(2), "awaiting-approval"))
        .await
        .unwrap();
    let superseded = store.release(&first.id).await.unwrap();
    assert_eq!(superseded.status, "superseded");
    assert_eq!(
        superseded.note.as_deref(),
        Some("a newer release was created")
    );
    assert_eq!(superseded.finished_at, Some(second.created_at));
    assert!(matches!(
        store.release("staging-").await,
        Err(StoreError::AmbiguousRelease(_))
    ));
    next_millisecond(second.created_at).await;
    let production = store
        .create_release(&NewRelease {
            kind: "rollback".into(),
            previous_digest: Some(digest(2)),
            break_glass_reason: Some("incident 7".into()),
            ..new_release("production", &digest(1), "succeeded")
        })
        .await
        .unwrap();
    assert!(production.is_final() && production.finished_at == Some(production.created_at));
    assert_eq!(store.release(&production.id).await.unwrap(), production);
    assert_eq!(
        store.environment_releases("staging", 10).await.unwrap(),
        [second.clone(), superseded.clone()]
    );
    assert_eq!(
        store.environment_releases("staging", 1).await.unwrap(),
        std::slice::from_ref(&second)
    );
    assert_eq!(
        store.digest_releases(&digest(1)).await.unwrap(),
        [production.clone(), superseded]
    );

    // Approvals: once per actor.
    let approval = store
        .add_approval(&second.id, "alice@example.org", Some("looks good"))
        .await
        .unwrap();
    store
        .add_approval(&second.id, "alice@example.org", Some("again"))
        .await
        .unwrap();
    store
        .add_approval(&second.id, "bob@example.org", None)
        .await
        .unwrap();
    let approvals = store.approvals(&second.id).await.unwrap();
    assert_eq!(approvals.len(), 2);
    assert_eq!(approvals[0], approval);
    assert_eq!(
        (approvals[1].actor.as_str(), approvals[1].comment.as_deref()),
        ("bob@example.org", None)
    );
    assert!(store.approvals(&first.id).await.unwrap().is_empty());

    // A canary step: state, release status and event in one transition.
    assert_eq!(store.environment_state("staging").await.unwrap(), None);
    let stepped = state("staging", Some(&second.id), "progressing", 20);
    let written = store
        .apply_transition(
            "staging",
            &Transition {
                state: Some(stepped.clone()),
                release_status: Some((second.id.clone(), "progressing".into(), None)),
                event: Some(event(
                    &second.id,
                    "step",
                    json!({"weight": 20, "ratio": 0.25, "why": "step 1"}),
                )),
                known_bad: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            written.environment.as_str(),
            written.kind.as_str(),
            written.step,
            written.weight
        ),
        ("staging", "step", 1, 20)
    );
    let stored = store.environment_state("staging").await.unwrap().unwrap();
    assert!(stored.updated_at > 0 && stored.updated_at <= written.created_at);
    assert_eq!(
        stored,
        EnvironmentState {
            updated_at: stored.updated_at,
            ..stepped.clone()
        }
    );
    let progressing = store.release(&second.id).await.unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.finished_at),
        ("progressing", None)
    );

    // The controller's heartbeat, and a request left for it.
    store
        .controller_heartbeat("staging", Some(4242), Some("127.0.0.1:9090"))
        .await
        .unwrap();
    let seen = store.environment_state("staging").await.unwrap().unwrap();
    assert_eq!(seen.controller_pid, Some(4242));
    assert!(seen.controller_seen_at.is_some_and(|at| at > 0));
    assert_eq!(seen.address.as_deref(), Some("127.0.0.1:9090"));
    store
        .controller_heartbeat("staging", None, None)
        .await
        .unwrap();
    let gone = store.environment_state("staging").await.unwrap().unwrap();
    assert_eq!((gone.controller_pid, gone.controller_seen_at), (None, None));
    assert_eq!(gone.address.as_deref(), Some("127.0.0.1:9090"));
    assert!(
        store
            .request_rollout("staging", "abort", "alice@example.org")
            .await
            .unwrap()
    );
    assert!(
        !store
            .request_rollout("nowhere", "abort", "alice@example.org")
            .await
            .unwrap()
    );
    let requested = store.environment_state("staging").await.unwrap().unwrap();
    assert_eq!(
        (
            requested.request.as_deref(),
            requested.request_actor.as_deref()
        ),
        (Some("abort"), Some("alice@example.org"))
    );

    // Measurements, with and without a value, exactly as taken.
    let measurements = [
        MeasurementRecord {
            release_id: second.id.clone(),
            analysis: "error-rate".into(),
            value: Some(0.012_345_678_901_234_5),
            samples: 412,
            verdict: "passed".into(),
            body: json!({"sentence": "1.2% errors over 412 requests", "value": 0.012_345_678_901_234_5}),
            created_at: 1_700_000_001_000,
        },
        MeasurementRecord {
            release_id: second.id.clone(),
            analysis: "latency".into(),
            value: None,
            samples: 3,
            verdict: "inconclusive".into(),
            body: json!({"sentence": "3 samples, fewer than 20"}),
            created_at: 1_700_000_002_000,
        },
        MeasurementRecord {
            release_id: second.id.clone(),
            analysis: "error-rate".into(),
            value: Some(-1.5e300),
            samples: 9_007_199_254_740_993,
            verdict: "failed".into(),
            body: json!({}),
            created_at: 1_700_000_003_000,
        },
    ];
    for measurement in measurements.iter().rev() {
        store.record_measurement(measurement).await.unwrap();
    }
    assert_eq!(store.measurements(&second.id).await.unwrap(), measurements);
    assert!(store.measurements(&first.id).await.unwrap().is_empty());
    // Missing values, then real ones, over every connection of the pool.
    let values = [None; 8]
        .into_iter()
        .chain((1..=8).map(|n| Some(f64::from(n) / 4.0)));
    for value in values {
        store
            .record_measurement(&MeasurementRecord {
                release_id: first.id.clone(),
                value,
                ..measurements[0].clone()
            })
            .await
            .unwrap();
    }
    let values: Vec<Option<f64>> = store
        .measurements(&first.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.value)
        .collect();
    assert_eq!(values.len(), 16);
    assert_eq!(values.iter().flatten().sum::<f64>(), 9.0);

    // The abort: known bad, release aborted, canary out; a repeated mark replaces the reason.
    store
        .apply_transition(
            "staging",
            &Transition {
                state: Some(state("staging", None, "aborted", 0)),
                release_status: Some((
                    second.id.clone(),
                    "aborted".into(),
                    Some("error-rate failed".into()),
                )),
                event: Some(event(&second.id, "aborted", json!({"verdict": "failed"}))),
                known_bad: Some((digest(2), "error-rate failed".into())),
            },
        )
        .await
        .unwrap();
    let aborted = store.release(&second.id).await.unwrap();
    assert_eq!(aborted.status, "aborted");
    assert_eq!(aborted.note.as_deref(), Some("error-rate failed"));
    assert!(aborted.finished_at.is_some() && aborted.is_final());
    let bad = store.known_bad("staging").await.unwrap();
    assert_eq!(bad.len(), 1);
    assert_eq!(
        bad[0],
        KnownBad {
            environment: "staging".into(),
            digest: digest(2),
            release_id: second.id.clone(),
            reason: "error-rate failed".into(),
            created_at: bad[0].created_at,
        }
    );
    store
        .apply_transition(
            "staging",
            &Transition {
                event: Some(event(&second.id, "verify", json!({}))),
                known_bad: Some((digest(2), "verification failed".into())),
                ..Transition::default()
            },
        )
        .await
        .unwrap();
    let bad = store.known_bad("staging").await.unwrap();
    assert_eq!(
        bad.iter().map(|b| b.reason.as_str()).collect::<Vec<_>>(),
        ["verification failed"]
    );
    assert!(store.known_bad("production").await.unwrap().is_empty());
    // A transition without an event writes none, and no audit entry.
    let before_quiet = store.audit_head_record().await.unwrap();
    assert_eq!(
        store
            .apply_transition(
                "production",
                &Transition {
                    state: Some(state("production", None, "idle", 0)),
                    ..Transition::default()
                },
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.audit_head_record().await.unwrap(), before_quiet);
    assert_eq!(
        store
            .environment_states()
            .await
            .unwrap()
            .iter()
            .map(|s| s.environment.as_str())
            .collect::<Vec<_>>(),
        ["production", "staging"]
    );

    let events = store.rollout_events(&second.id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["step", "aborted", "verify"],
        "events come back in the order they were written"
    );
    assert_eq!(events[0], written);
    assert_eq!(
        events[0].detail,
        json!({"weight": 20, "ratio": 0.25, "why": "step 1"})
    );

    // The audit log holds every decision, in order, with its details.
    let logged = entries_after(store, start).await;
    assert_eq!(
        actions(&logged),
        [
            "release.created",
            "release.created",
            "release.created",
            "release.approved",
            "release.approved",
            "rollout.step",
            "rollout.abort-requested",
            "rollout.aborted",
            "rollout.verify",
        ]
    );
    assert_eq!(logged[2].subject, production.id);
    assert_eq!(logged[2].details["break_glass_reason"], json!("incident 7"));
    assert_eq!(logged[3].details, json!({"comment": "looks good"}));
    assert_eq!(
        logged[5].details,
        json!({
            "environment": "staging", "step": 1, "weight": 20, "release_status": "progressing",
            "known_bad": null, "detail": {"weight": 20, "ratio": "0.25", "why": "step 1"},
        })
    );
    assert_eq!(logged[6].subject, "staging");
    assert_eq!(logged[7].details["known_bad"], json!(digest(2)));
}

/// Transitions that fail after their first writes leave nothing behind: not the state change,
/// not the event, not the known-bad mark, not the audit entry.
async fn exercise_failed_transitions(store: &Store) {
    let release = store
        .create_release(&new_release("qa", &digest(3), "progressing"))
        .await
        .unwrap();
    let before = state("qa", Some(&release.id), "progressing", 20);
    store
        .apply_transition(
            "qa",
            &Transition {
                state: Some(before.clone()),
                event: Some(event(&release.id, "step", json!({}))),
                ..Transition::default()
            },
        )
        .await
        .unwrap();
    let state_before = store.environment_state("qa").await.unwrap();
    let head_before = store.audit_head().await.unwrap();
    let count_before = store.audit_head_record().await.unwrap();
    let events_before = store.rollout_events(&release.id).await.unwrap();

    // The state is written first, then the release is not there.
    let missing_release = store
        .apply_transition(
            "qa",
            &Transition {
                state: Some(state("qa", None, "aborted", 0)),
                release_status: Some(("qa-no-such-release".into(), "aborted".into(), None)),
                event: Some(event(&release.id, "aborted", json!({}))),
                known_bad: Some((digest(3), "failed".into())),
            },
        )
        .await;
    assert!(
        matches!(missing_release, Err(StoreError::NoRelease(ref id)) if id == "qa-no-such-release"),
        "{missing_release:?}"
    );
    // State, release status, known-bad mark and event are written, then the audit entry is
    // refused (an action must be dotted lowercase words).
    let refused_entry = store
        .apply_transition(
            "qa",
            &Transition {
                state: Some(state("qa", None, "aborted", 0)),
                release_status: Some((release.id.clone(), "aborted".into(), None)),
                event: Some(event(&release.id, "Not An Action", json!({}))),
                known_bad: Some((digest(3), "failed".into())),
            },
        )
        .await;
    assert!(
        matches!(refused_entry, Err(StoreError::Audit(_))),
        "{refused_entry:?}"
    );

    assert_eq!(store.environment_state("qa").await.unwrap(), state_before);
    assert_eq!(store.release(&release.id).await.unwrap(), release);
    assert!(store.known_bad("qa").await.unwrap().is_empty());
    assert_eq!(
        store.rollout_events(&release.id).await.unwrap(),
        events_before
    );
    assert_eq!(store.audit_head().await.unwrap(), head_before);
    assert_eq!(store.audit_head_record().await.unwrap(), count_before);

    // The store is still usable after the rollbacks, and the chain continues from the head.
    store
        .apply_transition(
            "qa",
            &Transition {
                release_status: Some((release.id.clone(), "succeeded".into(), None)),
                event: Some(event(&release.id, "succeeded", json!({}))),
                ..Transition::default()
            },
        )
        .await
        .unwrap();
    let next = entries_after(store, count_before).await;
    assert_eq!(actions(&next), ["rollout.succeeded"]);
    assert_eq!(next[0].prev, head_before.unwrap().1);
}

fn new_run(worker: usize) -> NewRun {
    NewRun {
        repository: "/repos/concurrent".into(),
        commit_sha: "c".repeat(40),
        git_ref: "refs/heads/main".into(),
        event: "push".into(),
        actor: format!("worker{worker}@example.org"),
        pipeline_path: "slipway.yml".into(),
        pipeline_sha256: "d".repeat(64),
        dirty: false,
        sandbox: false,
        runner_version: "test".into(),
        toolchains: json!({}),
        concurrency_group: None,
    }
}

const WORKERS: usize = 6;
const ROUNDS: usize = 8;

/// One writer: per round a release, an approval, a transition with its event, a plain audit
/// entry, and a run created and finished — six audit entries, in separate
/// transactions that race the other writers'.
async fn write_concurrently(store: Arc<Store>, worker: usize) -> usize {
    let environment = format!("env-{worker}");
    let mut appended = 0;
    for round in 0..ROUNDS {
        let release = store
            .create_release(&new_release(&environment, &digest(4), "progressing"))
            .await
            .unwrap();
        store
            .add_approval(&release.id, "alice@example.org", None)
            .await
            .unwrap();
        store
            .apply_transition(
                &environment,
                &Transition {
                    state: Some(state(
                        &environment,
                        Some(&release.id),
                        "progressing",
                        round as i64,
                    )),
                    release_status: Some((release.id.clone(), "succeeded".into(), None)),
                    event: Some(event(&release.id, "succeeded", json!({"round": round}))),
                    known_bad: None,
                },
            )
            .await
            .unwrap();
        store
            .append_audit(&slipway_store::AuditEvent::new(
                format!("worker{worker}"),
                "test.appended",
                environment.clone(),
                json!({"round": round}),
            ))
            .await
            .unwrap();
        let run = store.create_run(&new_run(worker)).await.unwrap();
        store
            .set_run_status(&run.id, "success", None)
            .await
            .unwrap();
        appended += 6;
    }
    appended
}

/// Writers on several connections (and two stores, as two processes would have) append at
/// once: seq stays dense, the chain verifies, run numbers stay unique, nothing is lost.
async fn exercise_concurrent_writers(store: Arc<Store>, other: Arc<Store>) {
    let start = store.audit_head_record().await.unwrap();
    let writers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let store = if worker % 2 == 0 { &store } else { &other };
            tokio::spawn(write_concurrently(Arc::clone(store), worker))
        })
        .collect();
    let mut appended = 0;
    for writer in writers {
        appended += writer.await.unwrap();
    }
    assert_eq!(appended, WORKERS * ROUNDS * 6);
    let report = common::verify_log(&store, &[]).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, start + appended as i64);
    assert_eq!(
        store.audit_head_record().await.unwrap(),
        start + appended as i64
    );
    let logged = entries_after(&other, start).await;
    assert_eq!(logged.len(), appended);
    for worker in 0..WORKERS {
        let environment = format!("env-{worker}");
        let releases = store.environment_releases(&environment, 100).await.unwrap();
        assert_eq!(releases.len(), ROUNDS);
        assert!(releases.iter().all(|r| r.status == "succeeded"));
        let state = other
            .environment_state(&environment)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.weight, ROUNDS as i64 - 1);
    }
    let mut numbers: Vec<i64> = store
        .runs(1000)
        .await
        .unwrap()
        .iter()
        .filter(|run| run.repository == "/repos/concurrent")
        .map(|run| run.number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=(WORKERS * ROUNDS) as i64).collect::<Vec<_>>());
}

async fn exercise_all(store: Arc<Store>, other: Arc<Store>) {
    exercise(&store).await;
    exercise_failed_transitions(&other).await;
    exercise_concurrent_writers(store, other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_in(dir.path()).await.unwrap());
    let other = Arc::new(Store::open_in(dir.path()).await.unwrap());
    exercise_all(store, other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    let Some(server) = Postgres::start() else {
        return;
    };
    let store = Arc::new(Store::open(&server.url).await.unwrap());
    let other = Arc::new(Store::open(&server.url).await.unwrap());
    exercise_all(store, other).await;
}
