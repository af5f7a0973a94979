//! The same store behaviour on SQLite and on a real PostgreSQL server started for the test.

mod common;

use common::Postgres;
use slipway_store::{
    AdvisoryRow, AttemptRecord, EcosystemStatus, EvidenceRecord, ImportCounts, JobRecord,
    NewArtifact, NewRun, StepRecord, Store, StoreError,
};

fn new_run(group: Option<&str>) -> NewRun {
    NewRun {
        repository: "/repos/demo".into(),
        commit_sha: "a".repeat(40),
        git_ref: "refs/heads/main".into(),
        event: "push".into(),
        actor: "dev@example.org".into(),
        pipeline_path: "slipway.yml".into(),
        pipeline_sha256: "b".repeat(64),
        dirty: false,
        sandbox: true,
        runner_version: "0.1.0".into(),
        toolchains: serde_json::json!({"git": "git version 2.47.3"}),
        concurrency_group: group.map(str::to_string),
    }
}

fn job(id: &str, status: &str) -> JobRecord {
    JobRecord {
        job_id: id.into(),
        job_key: id.split(' ').next().unwrap().into(),
        matrix: serde_json::json!({}),
        stage: "test".into(),
        status: status.into(),
        attempts: 0,
        ..JobRecord::default()
    }
}

fn new_artifact(digest: &str, blobs: &[&str]) -> NewArtifact {
    NewArtifact {
        digest: digest.into(),
        name: "hello-service".into(),
        run_id: Some("r-1".into()),
        repository: "/repos/demo".into(),
        commit_sha: "a".repeat(40),
        git_ref: "refs/heads/main".into(),
        event: "push".into(),
        size: 1234,
        blobs: blobs.iter().map(|b| b.to_string()).collect(),
    }
}

/// Artifacts, immutable tags, evidence, and what deleting an artifact frees.
async fn exercise_artifacts(store: &Store) {
    let first = format!("sha256:{}", "1".repeat(64));
    let second = format!("sha256:{}", "2".repeat(64));
    let shared_layer = format!("sha256:{}", "a".repeat(64));
    let own_layer = format!("sha256:{}", "b".repeat(64));
    let recorded = store
        .record_artifact(
            &new_artifact(&first, &[&first, &shared_layer, &own_layer]),
            "abc-1",
        )
        .await
        .unwrap();
    assert_eq!(recorded.tags, ["abc-1"]);
    store
        .record_artifact(&new_artifact(&second, &[&second, &shared_layer]), "abc-2")
        .await
        .unwrap();
    // Recording the same tag for the same digest again is fine; moving it is not.
    store
        .record_artifact(&new_artifact(&first, &[&first]), "abc-1")
        .await
        .unwrap();
    match store.tag_artifact("abc-1", &second).await {
        Err(StoreError::TagMoved {
            existing,
            attempted,
            ..
        }) => {
            assert_eq!(
                (existing.as_str(), attempted.as_str()),
                (first.as_str(), second.as_str())
            );
        }
        other => panic!("moving a tag must be refused, got {other:?}"),
    }
    assert_eq!(
        store.resolve_artifact("abc-2").await.unwrap().digest,
        second
    );
    assert_eq!(
        store
            .resolve_artifact(&"1".repeat(12))
            .await
            .unwrap()
            .digest,
        first
    );
    assert!(matches!(
        store.resolve_artifact("no-such-tag").await,
        Err(StoreError::NoArtifact(_))
    ));
    let listed = store.artifacts(10).await.unwrap();
    assert_eq!(listed.len(), 2);

    let envelope = format!("sha256:{}", "e".repeat(64));
    store
        .record_evidence(&EvidenceRecord {
            digest: envelope.clone(),
            subject: first.clone(),
            kind: "provenance".into(),
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            media_type: "application/vnd.dsse.envelope.v1+json".into(),
            size: 99,
            created_at: 1,
        })
        .await
        .unwrap();
    assert_eq!(store.evidence_for(&first).await.unwrap().len(), 1);

    let release = store.record_release("production", &second).await.unwrap();
    assert_eq!(store.releases().await.unwrap(), [release]);

    // Deleting the first frees its own layer, its manifest and its evidence, not the shared layer.
    let freed = store.delete_artifact(&first).await.unwrap();
    let mut expected = vec![first.clone(), own_layer, envelope];
    expected.sort();
    assert_eq!(freed, expected);
    assert!(store.artifact(&first).await.unwrap().is_none());
    assert!(store.evidence_for(&first).await.unwrap().is_empty());
    assert_eq!(
        store.referenced_blobs().await.unwrap(),
        [second.clone(), shared_layer]
    );
}

fn advisory(id: &str, modified: &str, withdrawn: bool, packages: &[(&str, &str)]) -> AdvisoryRow {
    AdvisoryRow {
        id: id.into(),
        modified: modified.into(),
        published: Some("2024-01-01T00:00:00Z".into()),
        withdrawn: withdrawn.then(|| "2024-06-01T00:00:00Z".into()),
        record: serde_json::json!({"id": id, "modified": modified}).to_string(),
        packages: packages
            .iter()
            .map(|(ecosystem, name)| (ecosystem.to_string(), name.to_string()))
            .collect(),
    }
}

/// The advisory database: import counts, replacement by a newer `modified`, idempotent
/// re-import, lookups for many packages at once, and the per-ecosystem status that ignores
/// placeholder dates.
async fn exercise_advisories(store: &Store) {
    let mut rows = vec![
        advisory(
            "PYSEC-1",
            "2024-02-01T00:00:00Z",
            false,
            &[("PyPI", "jinja2")],
        ),
        advisory(
            "GO-1",
            "0001-01-01T00:00:00Z",
            false,
            &[("Go", "golang.org/x/net")],
        ),
        advisory(
            "GO-2",
            "2025-03-01T10:00:00Z",
            false,
            &[("Go", "golang.org/x/net"), ("Go", "stdlib")],
        ),
        advisory(
            "GO-3",
            "2026-01-01T00:00:00Z",
            true,
            &[("Go", "golang.org/x/net")],
        ),
    ];
    // Enough records for several transactions and multi-row statements.
    rows.extend((0..2100).map(|n| {
        advisory(
            &format!("DEB-{n:05}"),
            "2023-05-05T00:00:00Z",
            false,
            &[("Debian", &format!("pkg{}", n % 50))],
        )
    }));
    let counts = store.import_advisories(&rows).await.unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            inserted: 2104,
            updated: 0,
            unchanged: 0
        }
    );
    let again = store.import_advisories(&rows).await.unwrap();
    assert_eq!(
        again,
        ImportCounts {
            inserted: 0,
            updated: 0,
            unchanged: 2104
        }
    );

    // A newer `modified` replaces (fractional seconds are later than whole ones); an older
    // one does not.
    let newer = advisory(
        "PYSEC-1",
        "2024-02-01T00:00:00.5Z",
        false,
        &[("PyPI", "jinja2"), ("PyPI", "markupsafe")],
    );
    let older = advisory("GO-2", "2020-01-01T00:00:00Z", false, &[("Go", "other")]);
    let counts = store
        .import_advisories(&[newer.clone(), older])
        .await
        .unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            inserted: 0,
            updated: 1,
            unchanged: 1
        }
    );

    let found = store
        .advisories_for(&[
            ("PyPI".into(), "markupsafe".into()),
            ("Go".into(), "golang.org/x/net".into()),
            ("Go".into(), "other".into()),
            ("npm".into(), "nothing".into()),
        ])
        .await
        .unwrap();
    let ids: Vec<String> = found
        .iter()
        .map(|json| {
            serde_json::from_str::<serde_json::Value>(json).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ids,
        ["GO-1", "GO-2", "PYSEC-1"],
        "withdrawn GO-3 and the refused older GO-2 keys are not found"
    );
    assert_eq!(found[2], newer.record);
    let many: Vec<(String, String)> = (0..50)
        .map(|n| ("Debian".to_string(), format!("pkg{n}")))
        .collect();
    assert_eq!(store.advisories_for(&many).await.unwrap().len(), 2100);

    let status = store.advisory_status().await.unwrap();
    assert!(
        status
            .iter()
            .all(|s| s.last_imported.is_some_and(|at| at > 0))
    );
    let status: Vec<EcosystemStatus> = status
        .into_iter()
        .map(|s| EcosystemStatus {
            last_imported: None,
            ..s
        })
        .collect();
    assert_eq!(
        status,
        [
            EcosystemStatus {
                ecosystem: "Debian".into(),
                records: 2100,
                withdrawn: 0,
                newest_modified: Some("2023-05-05T00:00:00Z".into()),
                newest_published: Some("2024-01-01T00:00:00Z".into()),
                last_imported: None,
            },
            EcosystemStatus {
                ecosystem: "Go".into(),
                records: 2,
                withdrawn: 1,
                newest_modified: Some("2026-01-01T00:00:00Z".into()),
                newest_published: Some("2024-01-01T00:00:00Z".into()),
                last_imported: None,
            },
            EcosystemStatus {
                ecosystem: "PyPI".into(),
                records: 1,
                withdrawn: 0,
                newest_modified: Some("2024-02-01T00:00:00.5Z".into()),
                newest_published: Some("2024-01-01T00:00:00Z".into()),
                last_imported: None,
            },
        ]
    );
}

/// Exercises the whole API; `raw` runs SQL behind the store's back to simulate a crash.
async fn exercise(store: &Store, url: &str) {
    exercise_artifacts(store).await;
    exercise_advisories(store).await;
    let first = store
        .create_run(&new_run(Some("refs/heads/main")))
        .await
        .unwrap();
    assert_eq!(first.number, 1);
    assert_eq!(first.status, "running");
    assert!(first.sandbox);
    let second = store.create_run(&new_run(None)).await.unwrap();
    assert_eq!(second.number, 2);

    store
        .insert_jobs(
            &first.id,
            1,
            &[job("fmt", "queued"), job("unit (rust=stable)", "queued")],
        )
        .await
        .unwrap();
    let mut done = job("fmt", "success");
    done.attempts = 2;
    done.exit_code = Some(0);
    done.cache = Some("hit".into());
    done.attempt_log = vec![
        AttemptRecord {
            attempt: 1,
            status: "failure".into(),
            exit_code: Some(75),
            failure_class: Some("exit".into()),
            started_at: 1,
            finished_at: 2,
        },
        AttemptRecord {
            attempt: 2,
            status: "success".into(),
            exit_code: Some(0),
            failure_class: None,
            started_at: 3,
            finished_at: 4,
        },
    ];
    done.steps = vec![StepRecord {
        attempt: 2,
        index: 0,
        name: "cargo fmt".into(),
        status: "success".into(),
        exit_code: Some(0),
        started_at: 3,
        finished_at: 4,
    }];
    store.finish_job(&first.id, 1, &done).await.unwrap();

    let jobs = store.jobs(&first.id, 1).await.unwrap();
    let fmt = jobs.iter().find(|j| j.job_id == "fmt").unwrap();
    assert_eq!(fmt, &done);
    assert_eq!(
        jobs.iter()
            .find(|j| j.job_id == "unit (rust=stable)")
            .unwrap()
            .status,
        "queued"
    );

    assert_eq!(
        store
            .active_in_group("/repos/demo", "refs/heads/main")
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .set_run_status(&first.id, "success", None)
        .await
        .unwrap();
    assert!(
        store
            .active_in_group("/repos/demo", "refs/heads/main")
            .await
            .unwrap()
            .is_empty()
    );
    let runs = store.runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(store.run("1").await.unwrap().id, first.id);
    assert!(store.run(&first.id).await.unwrap().finished_at.is_some());
    assert!(store.run("nope").await.is_err());

    assert_eq!(store.start_attempt(&first.id).await.unwrap(), 2);

    // A run whose owner died stays `running` in the table until the store is opened again.
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE runs SET owner = '1:0' WHERE id = $1")
        .bind(&second.id)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let reopened = Store::open(url).await.unwrap();
    let interrupted = reopened.run(&second.id).await.unwrap();
    assert_eq!(interrupted.status, "interrupted");
    assert!(
        interrupted
            .note
            .unwrap()
            .contains("ended without finishing")
    );
    assert_eq!(
        reopened.run(&first.id).await.unwrap().status,
        "running",
        "a live owner's run is left alone"
    );

    // Two runs created, one finished, one found interrupted: four entries, chained.
    let report = common::verify_log(&reopened, &[]).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries, 4);
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(&dir.path().join("state")).await.unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("state/slipway.db").display()
    );
    exercise(&store, &url).await;
}

#[tokio::test]
async fn postgres() {
    let Some(server) = Postgres::start() else {
        return;
    };
    let store = Store::open(&server.url).await.unwrap();
    exercise(&store, &server.url).await;
}
