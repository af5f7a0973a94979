//! Starting, probing, logging and stopping real processes.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{PATIENCE, Scene, eventually, http_get, next_event, running};
use slipway_supervisor::{EventKind, InstanceStatus, Supervisor, SupervisorError};

#[tokio::test]
async fn hello_service_starts_becomes_ready_serves_and_stops() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    let spec = scene.hello("production/r1/0");
    let (port, log) = (spec.port, spec.log_path.clone());

    supervisor.start(spec).await.unwrap();
    let started = next_event(&mut events, "production/r1/0", "Started", |kind| {
        matches!(kind, EventKind::Started { .. })
    })
    .await;
    let EventKind::Started { pid } = started.kind else {
        unreachable!()
    };
    supervisor
        .wait_ready("production/r1/0", PATIENCE)
        .await
        .unwrap();
    next_event(&mut events, "production/r1/0", "Ready", |kind| {
        *kind == EventKind::Ready
    })
    .await;
    assert_eq!(
        supervisor.status("production/r1/0"),
        Some(InstanceStatus::Ready)
    );
    assert_eq!(supervisor.pid("production/r1/0"), Some(pid));

    let response = http_get(port, "/api/hello");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""version":"v1""#), "{response}");

    let records = supervisor.recorded().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].pid, records[0].port), (pid, port));
    assert!(records[0].is_alive());

    // The process runs in a session of its own, away from the test's.
    let stat = slipway_supervisor::proc::read_stat(pid).unwrap();
    assert_eq!(stat.pgrp, i64::from(pid));

    let grace = Duration::from_secs(30);
    let stopping = Instant::now();
    supervisor.stop("production/r1/0", grace).await.unwrap();
    assert!(
        stopping.elapsed() < grace,
        "hello-service ends on SIGTERM, no SIGKILL needed"
    );
    next_event(&mut events, "production/r1/0", "Stopped", |kind| {
        *kind == EventKind::Stopped
    })
    .await;
    eventually("the process is gone", || !running(pid)).await;
    assert_eq!(
        supervisor.status("production/r1/0"),
        Some(InstanceStatus::Stopped)
    );
    assert!(supervisor.recorded().unwrap().is_empty());
    assert_eq!(
        supervisor.instances(),
        vec![("production/r1/0".to_string(), InstanceStatus::Stopped)]
    );

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(&format!(
            "hello-service listening on http://127.0.0.1:{port}"
        )),
        "{logged}"
    );
}

#[tokio::test]
async fn the_environment_is_exactly_the_spec_plus_port() {
    // SAFETY: set before the runtime starts any thread that reads the environment.
    unsafe { std::env::set_var("SLIPWAY_SUPERVISOR_CANARY", "must-not-leak") };
    assert_eq!(
        std::env::var("SLIPWAY_SUPERVISOR_CANARY").as_deref(),
        Ok("must-not-leak")
    );
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    let mut spec = scene.shell("env", "");
    spec.program = "/usr/bin/env".into();
    spec.args.clear();
    spec.env.insert("ONLY_THIS".into(), "1".into());
    spec.restart.max_restarts = Some(0);
    let (port, log) = (spec.port, spec.log_path.clone());

    supervisor.start(spec).await.unwrap();
    next_event(&mut events, "env", "GaveUp", |kind| {
        matches!(kind, EventKind::GaveUp { .. })
    })
    .await;

    let logged = std::fs::read_to_string(&log).unwrap();
    let variables: BTreeSet<&str> = logged.lines().collect();
    let port_line = format!("PORT={port}");
    let expected = BTreeSet::from(["ONLY_THIS=1", "PATH=/usr/bin:/bin", port_line.as_str()]);
    assert_eq!(variables, expected);
    assert!(!logged.contains("must-not-leak"));
}

#[tokio::test]
async fn stdout_and_stderr_are_appended_across_restarts() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    let mut spec = scene.shell("logs", r#"echo "out on $PORT"; echo "err" >&2; exit 1"#);
    spec.restart.max_restarts = Some(1);
    let (port, log) = (spec.port, spec.log_path.clone());
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "kept from before\n").unwrap();

    supervisor.start(spec).await.unwrap();
    next_event(&mut events, "logs", "GaveUp", |kind| {
        matches!(kind, EventKind::GaveUp { .. })
    })
    .await;

    let logged = std::fs::read_to_string(&log).unwrap();
    let out = format!("out on {port}");
    assert_eq!(
        logged.lines().collect::<Vec<_>>(),
        ["kept from before", &out, "err", &out, "err"]
    );
}

#[tokio::test]
async fn a_busy_port_and_a_duplicate_id_are_refused() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();

    let busy = scene.shell("busy", "sleep 600");
    let holder = std::net::TcpListener::bind(("127.0.0.1", busy.port)).unwrap();
    let error = supervisor.start(busy.clone()).await.unwrap_err();
    assert!(matches!(error, SupervisorError::PortInUse { port, .. } if port == busy.port));
    assert!(error.to_string().contains("free_port"), "{error}");
    assert_eq!(supervisor.status("busy"), None);
    drop(holder);

    supervisor.start(busy.clone()).await.unwrap();
    let error = supervisor.start(busy.clone()).await.unwrap_err();
    assert!(
        matches!(error, SupervisorError::AlreadyRunning { .. }),
        "{error}"
    );

    // A second supervisor over the same directory sees the record and refuses too.
    let other = Supervisor::new(&scene.runtime()).unwrap();
    let error = other.start(busy).await.unwrap_err();
    assert!(
        matches!(error, SupervisorError::AlreadyRunning { .. }),
        "{error}"
    );

    supervisor.stop_all(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn programs_that_cannot_start_are_named() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();

    let mut missing = scene.shell("missing", "");
    missing.program = "bin/no-such-server".into();
    let error = supervisor.start(missing).await.unwrap_err().to_string();
    assert!(
        error.contains("no-such-server") && error.contains("does not exist"),
        "{error}"
    );

    let mut nowhere = scene.shell("nowhere", "true");
    nowhere.working_dir = scene.dir.path().join("not-unpacked");
    let error = supervisor.start(nowhere).await.unwrap_err().to_string();
    assert!(
        error.contains("working directory does not exist"),
        "{error}"
    );

    let mut invalid = scene.shell("invalid", "true");
    invalid.env.insert("PORT".into(), "1".into());
    let error = supervisor.start(invalid).await.unwrap_err().to_string();
    assert!(error.contains("PORT"), "{error}");

    assert!(supervisor.instances().is_empty());
}

#[tokio::test]
async fn not_ready_names_the_probe_its_last_answer_and_the_log() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut spec = scene.hello("never-ready");
    spec.readiness = Some(common::fast_probe("/no-such-page"));
    let log = spec.log_path.clone();

    supervisor.start(spec).await.unwrap();
    let not_ready = supervisor
        .wait_ready("never-ready", Duration::from_secs(2))
        .await
        .unwrap_err();
    let reason = not_ready.reason;
    assert!(reason.contains("/no-such-page"), "{reason}");
    assert!(reason.contains("answered HTTP 404"), "{reason}");
    assert!(reason.contains("status starting"), "{reason}");
    assert!(reason.contains(&log.display().to_string()), "{reason}");

    let unknown = supervisor
        .wait_ready("nobody", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(unknown.reason.contains("nobody"), "{}", unknown.reason);
    supervisor.stop_all(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn failing_readiness_makes_an_instance_unready_without_restarting_it() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = supervisor.events();
    // hello-service answers until the test creates the file `freeze`; then it is frozen
    // (SIGSTOP) and answers nothing.
    let mut spec = scene.shell(
        "freezes",
        r#""$HELLO_BIN" & while [ ! -e freeze ]; do sleep 0.05; done; kill -STOP $!; sleep 600"#,
    );
    spec.env.insert(
        "HELLO_BIN".into(),
        common::hello_service().display().to_string(),
    );
    spec.readiness = Some(slipway_supervisor::Probe {
        timeout: Duration::from_millis(300),
        ..common::fast_probe("/readyz")
    });

    supervisor.start(spec).await.unwrap();
    let pid = supervisor.pid("freezes").unwrap();
    supervisor.wait_ready("freezes", PATIENCE).await.unwrap();
    std::fs::write(scene.dir.path().join("freeze"), "").unwrap();
    let unready = next_event(&mut events, "freezes", "Unready", |kind| {
        matches!(kind, EventKind::Unready { .. } | EventKind::Exited { .. })
    })
    .await;
    assert!(
        matches!(unready.kind, EventKind::Unready { .. }),
        "{unready:?}"
    );
    assert_eq!(supervisor.status("freezes"), Some(InstanceStatus::Unready));
    assert_eq!(
        supervisor.pid("freezes"),
        Some(pid),
        "readiness never restarts"
    );

    // SIGCONT after SIGTERM lets the frozen process die without waiting for SIGKILL.
    let grace = Duration::from_secs(30);
    let stopping = Instant::now();
    supervisor.stop("freezes", grace).await.unwrap();
    assert!(stopping.elapsed() < grace);
    assert!(!slipway_supervisor::proc::group_has_running_members(pid));
}
