//! Delivery end to end: the bundled example built once per variant, `slipway up` in the
//! background (stopped however the test ends), and a load generator that records every
//! response.

use super::{copy_tree, git, text};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How long a rollout may take to reach what a test waits for; polled, never slept out.
pub const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Writes the example's pipeline with `environments` (and whatever else follows the jobs,
/// such as `analysis:` and `secrets:`) in place of its own; `artifact_env` is baked into the
/// artifact's image config (e.g. an error rate), so each variant is its own digest.
pub fn write_pipeline(dir: &Path, artifact_env: &str, environments: &str) {
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-service/slipway.yml"),
    )
    .unwrap();
    let jobs = original.split("\n# Build once").next().unwrap();
    // Each variant differs only here, so the build's path filter must not skip it.
    let jobs = jobs.replace(
        "    paths: [\"src/**\", \"Cargo.toml\", \"Cargo.lock\"]\n",
        "",
    );
    let jobs = jobs.replace(
        "      entrypoint: [\"hello-service\"]",
        &format!("      entrypoint: [\"hello-service\"]\n      env: {{ {artifact_env} }}"),
    );
    std::fs::write(dir.join("slipway.yml"), format!("{jobs}{environments}")).unwrap();
}

/// A git repository holding a copy of the example, nothing committed yet.
pub fn new_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-service");
    copy_tree(&source, dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    dir
}

pub fn slipway(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_ACTOR", "dev@example.org")
        .env_remove("SLIPWAY_STATE_DIR")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap()
}

/// Commits the example with `artifact_env` and `environments` and builds it; returns the
/// artifact digest.
pub fn build(dir: &Path, artifact_env: &str, environments: &str) -> String {
    write_pipeline(dir, artifact_env, environments);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", artifact_env]);
    let output = slipway(dir, &["run", "--job", "build", "--json"]);
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    text(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "run_artifact")
        .map(|e| e["digest"].as_str().unwrap().to_owned())
        .expect("the run made an artifact")
}

pub fn promote(dir: &Path, digest: &str, env: &str, extra: &[&str]) -> Value {
    let mut args = vec!["promote", digest, "--to", env, "--json"];
    args.extend_from_slice(extra);
    let output = slipway(dir, &args);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("promote printed no JSON: {}", text(&output.stderr)))
}

pub fn rollout(dir: &Path, env: &str) -> Value {
    serde_json::from_slice(&slipway(dir, &["rollout", "status", env, "--json"]).stdout).unwrap()
}

pub fn environment(dir: &Path, env: &str) -> Value {
    serde_json::from_slice(&slipway(dir, &["env", "status", env, "--json"]).stdout).unwrap()
}

/// Polls the rollout status until `done` holds (bounded; fails with the last status).
pub fn wait_for(dir: &Path, env: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        let status = rollout(dir, env);
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{env}: still waiting for {what}: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn phase_is(phase: &'static str) -> impl Fn(&Value) -> bool {
    move |s: &Value| s["phase"] == phase
}

/// The events of a rollout status of one kind.
pub fn events<'a>(status: &'a Value, kind: &str) -> Vec<&'a Value> {
    status["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// `slipway up` in the background, stopped (SIGTERM, then waited for) when dropped.
pub struct Up {
    child: Child,
    addresses: Vec<(String, SocketAddr)>,
    /// Kept open so that what `up` prints later never meets a closed pipe.
    _stdout: ChildStdout,
}

impl Up {
    pub fn start(dir: &Path, environments: &[&str]) -> Up {
        Up::start_with(dir, environments, &[])
    }

    /// `slipway up` with `vars` added to its environment (where `from: env` secrets are read).
    pub fn start_with(dir: &Path, environments: &[&str], vars: &[(&str, &str)]) -> Up {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .arg("up")
            .args(environments)
            .arg("--json")
            .current_dir(dir)
            .env_remove("SLIPWAY_STATE_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut addresses = Vec::new();
        let mut buffer = Vec::new();
        let mut byte = [0u8; 1];
        while addresses.len() < environments.len() {
            assert_eq!(stdout.read(&mut byte).unwrap(), 1, "slipway up ended early");
            if byte[0] != b'\n' {
                buffer.push(byte[0]);
                continue;
            }
            let line: Value = serde_json::from_slice(&buffer).unwrap();
            buffer.clear();
            let address = line["address"]
                .as_str()
                .unwrap()
                .trim_start_matches("http://");
            addresses.push((
                line["environment"].as_str().unwrap().to_owned(),
                address.parse().unwrap(),
            ));
        }
        Up {
            child,
            addresses,
            _stdout: stdout,
        }
    }

    pub fn address(&self, env: &str) -> SocketAddr {
        self.addresses.iter().find(|(e, _)| e == env).unwrap().1
    }

    /// Whether `slipway up` still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One response as a client saw it; `status` 0 when there was none (`version` then says why).
#[derive(Clone, Debug)]
pub struct Sample {
    pub at_ms: i64,
    pub status: u16,
    pub version: String,
}

/// A steady load of GET /api/hello at `rate` requests per second; every response recorded.
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A response read whole: status (0 when there was none), head and body.
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// GETs `path` (with its query) with the extra header lines `headers`; every step bounded.
/// `Err` names the step that failed.
pub fn request(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, &'static str> {
    let mut stream =
        TcpStream::connect_timeout(&address, Duration::from_secs(5)).map_err(|_| "connect")?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "\r\n";
    stream.write_all(request.as_bytes()).map_err(|_| "write")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|_| "read")?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Response {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

pub fn get(address: SocketAddr, path: &str) -> Sample {
    let at_ms = now_ms();
    match request(address, path, &[]) {
        Ok(response) => Sample {
            at_ms,
            status: response.status,
            version: response
                .header("x-slipway-version")
                .unwrap_or_default()
                .to_owned(),
        },
        Err(step) => Sample {
            at_ms,
            status: 0,
            version: step.to_owned(),
        },
    }
}

impl Load {
    /// `rate` requests per second, spread over a few workers (one below 4 per second). The
    /// workers keep one schedule, so they send together and are idle together.
    pub fn start(address: SocketAddr, rate: f64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let workers: u32 = if rate < 4.0 { 1 } else { 4 };
        let interval = Duration::from_secs_f64(f64::from(workers) / rate);
        let start = Instant::now();
        let threads = (0..workers)
            .map(|_| {
                let (stop, samples) = (stop.clone(), samples.clone());
                std::thread::spawn(move || {
                    let mut next = start;
                    while !stop.load(Ordering::Relaxed) {
                        let sample = get(address, "/api/hello");
                        samples.lock().unwrap().push(sample);
                        next += interval;
                        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
                            std::thread::sleep(Duration::from_millis(20).min(interval));
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            samples,
            threads,
        }
    }

    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        Arc::try_unwrap(self.samples).unwrap().into_inner().unwrap()
    }
}

pub fn release_of(status: &Value) -> String {
    status["release"].as_str().unwrap().to_owned()
}

/// Promotes `digest` to `env` and waits for the rollout to succeed.
pub fn release(dir: &Path, digest: &str, env: &str) -> Value {
    let outcome = promote(dir, digest, env, &[]);
    assert_eq!(outcome["status"], "started", "{outcome:#}");
    let status = wait_for(dir, env, "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == digest
    });
    assert_eq!(status["canary"], Value::Null);
    status
}
