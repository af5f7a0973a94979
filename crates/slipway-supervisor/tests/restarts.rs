//! Crashes, backoff, giving up, liveness failures and stopping stubborn processes.

mod common;

use std::time::{Duration, Instant};

use common::{PATIENCE, Scene, eventually, next_event, running};
use slipway_supervisor::{EventKind, InstanceStatus, Supervisor, proc};

#[tokio::test]
async fn a_crashing_program_restarts_with_growing_backoff_then_gives_up() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    let mut spec = scene.shell("crasher", "echo crash; exit 3");
    spec.restart.initial_backoff = Duration::from_millis(40);
    spec.restart.max_backoff = Duration::from_millis(100);
    spec.restart.max_restarts = Some(3);
    let log = spec.log_path.clone();

    supervisor.start(spec).await.unwrap();
    let mut backoffs = Vec::new();
    for attempt in 1..=3 {
        let exited = next_event(&mut events, "crasher", "Exited", |kind| {
            matches!(kind, EventKind::Exited { .. })
        })
        .await;
        assert!(
            matches!(
                exited.kind,
                EventKind::Exited {
                    code: Some(3),
                    signal: None,
                    ..
                }
            ),
            "{exited:?}"
        );
        let restarting = next_event(&mut events, "crasher", "Restarting", |kind| {
            matches!(kind, EventKind::Restarting { .. })
        })
        .await;
        let EventKind::Restarting {
            attempt: seen,
            backoff,
        } = restarting.kind
        else {
            unreachable!()
        };
        assert_eq!(seen, attempt);
        backoffs.push(backoff.as_millis());
        next_event(&mut events, "crasher", "Started", |kind| {
            matches!(kind, EventKind::Started { .. })
        })
        .await;
    }
    assert_eq!(backoffs, [40, 80, 100], "doubling, capped at max_backoff");

    let gave_up = next_event(&mut events, "crasher", "GaveUp", |kind| {
        matches!(kind, EventKind::GaveUp { .. })
    })
    .await;
    let EventKind::GaveUp { reason } = gave_up.kind else {
        unreachable!()
    };
    assert!(reason.contains("gave up after 3 restarts"), "{reason}");
    assert!(reason.contains("exited with code 3"), "{reason}");
    assert!(reason.contains(&log.display().to_string()), "{reason}");
    assert!(matches!(
        supervisor.status("crasher"),
        Some(InstanceStatus::Failed { .. })
    ));
    assert!(
        supervisor.recorded().unwrap().is_empty(),
        "nothing runs, nothing recorded"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().filter(|line| *line == "crash").count(), 4);

    let not_ready = supervisor
        .wait_ready("crasher", PATIENCE)
        .await
        .unwrap_err();
    assert!(not_ready.reason.contains("failed"), "{}", not_ready.reason);
}

#[tokio::test]
async fn staying_up_long_enough_resets_the_restart_count() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    // Ready as soon as it runs (no readiness probe), stable after 100 ms, exits after 400 ms.
    let mut spec = scene.shell("flapping", "sleep 0.4; exit 1");
    spec.restart.stable_after = Duration::from_millis(100);
    spec.restart.max_restarts = Some(1);

    supervisor.start(spec).await.unwrap();
    for _ in 0..3 {
        let restarting = next_event(&mut events, "flapping", "Restarting", |kind| {
            matches!(kind, EventKind::Restarting { .. })
        })
        .await;
        assert!(
            matches!(restarting.kind, EventKind::Restarting { attempt: 1, .. }),
            "{restarting:?}"
        );
    }
    assert!(!matches!(
        supervisor.status("flapping"),
        Some(InstanceStatus::Failed { .. })
    ));
    supervisor.stop_all(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_failing_liveness_probe_kills_the_group_and_restarts() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    // hello-service answers /healthz for a while, then is frozen (SIGSTOP): the port stays
    // open but nothing answers, as with a deadlocked service.
    let mut spec = scene.shell(
        "freezes",
        r#""$HELLO_BIN" & sleep 1; kill -STOP $!; sleep 600"#,
    );
    spec.env.insert(
        "HELLO_BIN".into(),
        common::hello_service().display().to_string(),
    );
    spec.liveness = Some(slipway_supervisor::Probe {
        initial_delay: Duration::from_millis(300),
        timeout: Duration::from_millis(300),
        ..common::fast_probe("/healthz")
    });
    spec.restart.max_restarts = None;

    supervisor.start(spec).await.unwrap();
    let first = supervisor.pid("freezes").unwrap();
    let failed = next_event(&mut events, "freezes", "LivenessFailed", |kind| {
        matches!(kind, EventKind::LivenessFailed { .. })
    })
    .await;
    let EventKind::LivenessFailed { reason } = failed.kind else {
        unreachable!()
    };
    assert!(
        reason.contains("/healthz") && reason.contains("3 failures in a row"),
        "{reason}"
    );
    let exited = next_event(&mut events, "freezes", "Exited", |kind| {
        matches!(kind, EventKind::Exited { .. })
    })
    .await;
    assert!(
        matches!(exited.kind, EventKind::Exited { pid, signal: Some(15), .. } if pid == first),
        "killed by SIGTERM: {exited:?}"
    );
    // The frozen hello-service went with its group.
    assert!(!proc::group_has_running_members(first));
    let restarted = next_event(&mut events, "freezes", "Started", |kind| {
        matches!(kind, EventKind::Started { .. })
    })
    .await;
    assert!(matches!(restarted.kind, EventKind::Started { pid } if pid != first));
    supervisor.stop_all(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn stop_escalates_to_sigkill_for_a_program_ignoring_sigterm() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut spec = scene.shell(
        "stubborn",
        r#"trap "" TERM; echo trapped; while :; do sleep 0.05; done"#,
    );
    let log = spec.log_path.clone();
    spec.restart.max_restarts = None;
    supervisor.start(spec).await.unwrap();
    let pid = supervisor.pid("stubborn").unwrap();
    eventually("the trap is set", || {
        std::fs::read_to_string(&log).is_ok_and(|logged| logged.contains("trapped"))
    })
    .await;

    let grace = Duration::from_millis(300);
    let stopping = Instant::now();
    supervisor.stop("stubborn", grace).await.unwrap();
    assert!(
        stopping.elapsed() >= grace,
        "SIGTERM was ignored, so the grace ran out"
    );
    assert!(!running(pid));
    assert!(!proc::group_has_running_members(pid));
    assert_eq!(supervisor.status("stubborn"), Some(InstanceStatus::Stopped));
}

#[tokio::test]
async fn a_port_taken_before_a_restart_is_reported() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    let mut spec = scene.shell("squatted", "sleep 0.3; exit 1");
    spec.restart.max_restarts = Some(1);
    let port = spec.port;

    supervisor.start(spec).await.unwrap();
    // Someone else takes the port while the instance runs.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let gave_up = next_event(&mut events, "squatted", "GaveUp", |kind| {
        matches!(kind, EventKind::GaveUp { .. })
    })
    .await;
    let EventKind::GaveUp { reason } = gave_up.kind else {
        unreachable!()
    };
    assert!(
        reason.contains(&format!("port {port}")) && reason.contains("in use"),
        "{reason}"
    );
    drop(squatter);
}
