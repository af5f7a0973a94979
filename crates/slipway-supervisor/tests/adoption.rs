//! Re-adoption by a new supervisor over the same runtime directory.

mod common;

use std::time::Duration;

use common::{
    PATIENCE, Scene, eventually, hello_service, http_get, next_event, processes_of, running,
};
use slipway_supervisor::{Adoption, EventKind, InstanceRecord, Supervisor, SupervisorError, proc};

const GRACE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_new_supervisor_adopts_the_live_instance_and_restarts_it_when_it_dies() {
    let scene = Scene::new();
    let spec = scene.hello("staging/r3/0");
    let port = spec.port;

    let first = Supervisor::new(&scene.runtime()).unwrap();
    first.start(spec.clone()).await.unwrap();
    first.wait_ready("staging/r3/0", PATIENCE).await.unwrap();
    let pid = first.pid("staging/r3/0").unwrap();
    first.shutdown(GRACE).await;
    assert!(running(pid), "shutdown leaves the process running");
    let refused = first.start(scene.shell("late", "true")).await.unwrap_err();
    assert!(matches!(refused, SupervisorError::ShutDown));

    let second = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = second.events();
    let recorded = second.recorded().unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].is_alive());
    assert_eq!(
        second.adopt_or_start(spec.clone()).await.unwrap(),
        Adoption::Adopted { pid }
    );
    next_event(&mut events, "staging/r3/0", "Adopted", |kind| {
        *kind == EventKind::Adopted { pid }
    })
    .await;
    second.wait_ready("staging/r3/0", PATIENCE).await.unwrap();
    assert_eq!(
        processes_of(hello_service(), port),
        vec![pid],
        "no duplicate was started"
    );
    // Asking again is idempotent.
    assert_eq!(
        second.adopt_or_start(spec).await.unwrap(),
        Adoption::Adopted { pid }
    );

    // The adopted process is not our child; its death is noticed through /proc.
    proc::signal_group(pid, libc::SIGKILL);
    let exited = next_event(&mut events, "staging/r3/0", "Exited", |kind| {
        matches!(kind, EventKind::Exited { .. })
    })
    .await;
    assert_eq!(
        exited.kind,
        EventKind::Exited {
            pid,
            code: None,
            signal: None
        }
    );
    let started = next_event(&mut events, "staging/r3/0", "Started", |kind| {
        matches!(kind, EventKind::Started { .. })
    })
    .await;
    let EventKind::Started { pid: replacement } = started.kind else {
        unreachable!()
    };
    assert_ne!(replacement, pid);
    second.wait_ready("staging/r3/0", PATIENCE).await.unwrap();
    assert_eq!(second.recorded().unwrap()[0].pid, replacement);
    second.stop_all(GRACE).await.unwrap();
    assert!(processes_of(hello_service(), port).is_empty());
}

#[tokio::test]
async fn a_dead_recorded_instance_is_started_again() {
    let scene = Scene::new();
    let spec = scene.hello("dies-while-away");

    let first = Supervisor::new(&scene.runtime()).unwrap();
    first.start(spec.clone()).await.unwrap();
    let pid = first.pid("dies-while-away").unwrap();
    first.shutdown(GRACE).await;
    proc::signal_group(pid, libc::SIGKILL);
    eventually("the process is dead", || !running(pid)).await;

    let second = Supervisor::new(&scene.runtime()).unwrap();
    assert!(!second.recorded().unwrap()[0].is_alive());
    let Adoption::Started { pid: fresh } = second.adopt_or_start(spec).await.unwrap() else {
        panic!("a dead process cannot be adopted");
    };
    assert_ne!(fresh, pid);
    second
        .wait_ready("dies-while-away", PATIENCE)
        .await
        .unwrap();
    second.stop_all(GRACE).await.unwrap();
}

#[tokio::test]
async fn a_record_whose_start_time_differs_is_not_adopted_nor_killed() {
    let scene = Scene::new();
    let spec = scene.shell("reused-pid", "sleep 600");

    let first = Supervisor::new(&scene.runtime()).unwrap();
    first.start(spec.clone()).await.unwrap();
    let pid = first.pid("reused-pid").unwrap();
    first.shutdown(GRACE).await;

    // As if the recorded process had died and its pid gone to an unrelated process.
    let record_path = std::fs::read_dir(scene.runtime())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut record = InstanceRecord::from_json(&std::fs::read(&record_path).unwrap()).unwrap();
    record.start_time += 1;
    std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();

    let second = Supervisor::new(&scene.runtime()).unwrap();
    let adoption = second.adopt_or_start(spec).await.unwrap();
    let Adoption::Started { pid: fresh } = adoption else {
        panic!("a pid with another start time was adopted: {adoption:?}");
    };
    assert_ne!(fresh, pid);
    assert!(running(pid), "the unrelated process was left alone");
    proc::signal_group(pid, libc::SIGKILL);
    second.stop_all(GRACE).await.unwrap();
    assert!(!running(fresh));
}

#[tokio::test]
async fn a_process_from_another_spec_is_replaced() {
    let scene = Scene::new();
    let old = scene.hello("production/r7/0");
    let mut new = old.clone();
    new.env.insert("HELLO_VERSION".into(), "v2".into());

    let first = Supervisor::new(&scene.runtime()).unwrap();
    first.start(old).await.unwrap();
    first.wait_ready("production/r7/0", PATIENCE).await.unwrap();
    let pid = first.pid("production/r7/0").unwrap();
    first.shutdown(GRACE).await;

    let second = Supervisor::new(&scene.runtime()).unwrap();
    let Adoption::Started { pid: fresh } = second.adopt_or_start(new.clone()).await.unwrap() else {
        panic!("a process from another spec was adopted");
    };
    assert_ne!(fresh, pid);
    assert!(!running(pid));
    second
        .wait_ready("production/r7/0", PATIENCE)
        .await
        .unwrap();
    let response = http_get(new.port, "/api/hello");
    assert!(response.contains(r#""version":"v2""#), "{response}");
    second.stop_all(GRACE).await.unwrap();
}

#[tokio::test]
async fn a_recorded_instance_can_be_stopped_without_adopting_it() {
    let scene = Scene::new();
    let spec = scene.shell("orphan", "sleep 600");
    let first = Supervisor::new(&scene.runtime()).unwrap();
    first.start(spec).await.unwrap();
    let pid = first.pid("orphan").unwrap();
    first.shutdown(GRACE).await;

    let second = Supervisor::new(&scene.runtime()).unwrap();
    let mut events = second.events();
    assert_eq!(second.recorded().unwrap()[0].pid, pid);
    second.stop("orphan", GRACE).await.unwrap();
    next_event(&mut events, "orphan", "Stopped", |kind| {
        *kind == EventKind::Stopped
    })
    .await;
    eventually("the process is gone", || !running(pid)).await;
    assert!(second.recorded().unwrap().is_empty());

    let unknown = second.stop("orphan", GRACE).await.unwrap_err();
    assert!(
        matches!(unknown, SupervisorError::UnknownInstance { .. }),
        "{unknown}"
    );
}

#[tokio::test]
async fn stop_all_after_shutdown_still_stops_the_detached_processes() {
    let scene = Scene::new();
    let supervisor = Supervisor::new(&scene.runtime()).unwrap();
    supervisor
        .start(scene.shell("left-running", "sleep 600"))
        .await
        .unwrap();
    let pid = supervisor.pid("left-running").unwrap();
    supervisor.shutdown(GRACE).await;
    assert!(running(pid));

    supervisor.stop_all(GRACE).await.unwrap();
    eventually("the process is gone", || !running(pid)).await;
    assert_eq!(
        supervisor.status("left-running"),
        Some(slipway_supervisor::InstanceStatus::Stopped)
    );
    assert!(supervisor.recorded().unwrap().is_empty());
}
