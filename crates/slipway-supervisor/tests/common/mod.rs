//! Shared test fixtures: the hello-service binary, specs, event waits and cleanup.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use slipway_supervisor::{
    EventKind, InstanceSpec, Probe, RestartPolicy, SupervisorEvent, free_port, proc,
};
use tokio::sync::broadcast;

/// An upper bound for anything a test waits for; generous because two cores build and test
/// several crates at once.
pub const PATIENCE: Duration = Duration::from_secs(60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds examples/hello-service once per test process (cargo makes repeat builds cheap).
pub fn hello_service() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"))
            .join("hello");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo)
            .args(["build", "--quiet", "--release", "--manifest-path"])
            .arg(workspace().join("examples/hello-service/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .spawn()
            .expect("cargo runs");
        // A std-only crate builds in seconds; the bound covers a machine busy with builds.
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        let status = loop {
            if let Some(status) = build.try_wait().expect("cargo can be waited for") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = build.kill();
                let _ = build.wait();
                panic!("building hello-service took over 600 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "building hello-service failed");
        // Canonical, so it compares equal to /proc/PID/exe (the default target directory is
        // reached through `..` from this crate).
        target
            .join("release/hello-service")
            .canonicalize()
            .expect("the built binary exists")
    })
}

/// A temporary runtime directory plus a guard that kills whatever its records still name, so
/// a failing test leaves no process behind.
pub struct Scene {
    pub dir: tempfile::TempDir,
}

impl Scene {
    pub fn new() -> Scene {
        Scene {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join("logs").join(format!("{name}.log"))
    }

    /// hello-service with readiness on /readyz and liveness on /healthz.
    pub fn hello(&self, id: &str) -> InstanceSpec {
        let mut spec = self.base(id, hello_service(), &[]);
        spec.env.insert("HELLO_VERSION".into(), "v1".into());
        spec.readiness = Some(fast_probe("/readyz"));
        spec.liveness = Some(fast_probe("/healthz"));
        spec
    }

    /// `/bin/sh -c script`, without probes.
    pub fn shell(&self, id: &str, script: &str) -> InstanceSpec {
        self.base(id, Path::new("/bin/sh"), &["-c", script])
    }

    fn base(&self, id: &str, program: &Path, args: &[&str]) -> InstanceSpec {
        InstanceSpec {
            id: id.into(),
            program: program.into(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            working_dir: self.dir.path().into(),
            env: BTreeMap::from([("PATH".into(), "/usr/bin:/bin".into())]),
            port: free_port().unwrap(),
            log_path: self.log(&id.replace('/', "-")),
            readiness: None,
            liveness: None,
            restart: RestartPolicy {
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(400),
                max_restarts: Some(5),
                stable_after: Duration::from_secs(60),
            },
        }
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.runtime()) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            if let Ok(record) = slipway_supervisor::InstanceRecord::from_json(&bytes)
                && record.is_alive()
            {
                proc::signal_group(record.pid, libc::SIGKILL);
            }
        }
    }
}

pub fn fast_probe(path: &str) -> Probe {
    Probe {
        path: path.into(),
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(500),
        initial_delay: Duration::ZERO,
        success_threshold: 1,
        failure_threshold: 3,
    }
}

/// Waits for the next event of `id` that `accept` picks, skipping others; panics after
/// [`PATIENCE`] naming what was seen.
pub async fn next_event(
    events: &mut broadcast::Receiver<SupervisorEvent>,
    id: &str,
    what: &str,
    accept: impl Fn(&EventKind) -> bool,
) -> SupervisorEvent {
    let mut seen = Vec::new();
    let wait = async {
        loop {
            let event = events.recv().await.expect("event stream open");
            if event.id == id && accept(&event.kind) {
                return event;
            }
            seen.push(format!("{}: {:?}", event.id, event.kind));
        }
    };
    match tokio::time::timeout(PATIENCE, wait).await {
        Ok(event) => event,
        Err(_) => panic!("no {what} event for {id} within {PATIENCE:?}; saw {seen:#?}"),
    }
}

/// Polls `condition` every 20 ms until it holds, panicking after [`PATIENCE`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a process runs (not a zombie) with this pid.
pub fn running(pid: u32) -> bool {
    proc::read_stat(pid).is_some_and(|stat| stat.is_running())
}

/// Running processes of `program` whose environment holds `PORT={port}`: duplicates of an
/// instance show up here.
pub fn processes_of(program: &Path, port: u16) -> Vec<u32> {
    let needle = format!("PORT={port}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| running(pid))
        .filter(|&pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == program)
        })
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&b| b == 0)
                    .any(|var| var == needle.as_bytes())
            })
        })
        .collect()
}

/// GET http://127.0.0.1:{port}{path} with a plain std socket; returns the whole response.
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
