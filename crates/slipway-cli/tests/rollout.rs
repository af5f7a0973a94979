//! Delivery end to end: the bundled example built once per version, promoted through
//! environments served by `slipway up` (real processes behind the built-in proxy), with a load
//! generator checking every response.

mod common;

use common::{copy_tree, git, text};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const ENVIRONMENTS: &str = r#"
environments:
  dev:
    readiness: { path: /readyz, interval: 100ms }
  staging:
    after: dev
    readiness: { path: /readyz, interval: 100ms }
    verify:
      - name: smoke
        probe: { path: /api/hello, interval: 100ms, duration: 1s }
  production:
    after: staging
    instances: 2
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 5
          - analysis: { use: error-rate }
          - weight: 25
          - analysis: { use: error-rate }
          - weight: 100
  canary:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 5
          - analysis: { use: error-rate }
          - weight: 100
  blue-green:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      blue-green:
        scale-down-delay: 30s
        post-promotion-analysis: error-rate
  rolling:
    instances: 2
    readiness: { path: /readyz, interval: 100ms }
    progress-deadline: 3s
    strategy: rolling
  quiet:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 50
          - analysis: { use: error-rate }
          - weight: 100

analysis:
  error-rate:
    provider: proxy
    metric: error_rate
    success: "value < 0.02"
    interval: 2s
    count: 3
    min-samples: 30
"#;

/// The example with test environments; `artifact_env` is baked into the artifact's image
/// config (e.g. an error rate), so each variant is its own digest.
fn example(dir: &Path, artifact_env: &str) {
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
    std::fs::write(dir.join("slipway.yml"), format!("{jobs}{ENVIRONMENTS}")).unwrap();
}

fn new_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-service");
    copy_tree(&source, dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    dir
}

fn slipway(dir: &Path, args: &[&str]) -> std::process::Output {
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

/// Commits the example with `artifact_env` and builds it; returns the artifact digest.
fn build(dir: &Path, artifact_env: &str) -> String {
    example(dir, artifact_env);
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

fn promote(dir: &Path, digest: &str, env: &str, extra: &[&str]) -> Value {
    let mut args = vec!["promote", digest, "--to", env, "--json"];
    args.extend_from_slice(extra);
    let output = slipway(dir, &args);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("promote printed no JSON: {}", text(&output.stderr)))
}

fn rollout(dir: &Path, env: &str) -> Value {
    serde_json::from_slice(&slipway(dir, &["rollout", "status", env, "--json"]).stdout).unwrap()
}

fn environment(dir: &Path, env: &str) -> Value {
    serde_json::from_slice(&slipway(dir, &["env", "status", env, "--json"]).stdout).unwrap()
}

/// Polls the rollout status until `done` holds (bounded; fails with the last status).
fn wait_for(dir: &Path, env: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
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

fn phase_is(phase: &'static str) -> impl Fn(&Value) -> bool {
    move |s: &Value| s["phase"] == phase
}

/// `slipway up` in the background, stopped (SIGTERM, then waited for) when dropped.
struct Up {
    child: Child,
    addresses: Vec<(String, SocketAddr)>,
}

impl Up {
    fn start(dir: &Path, environments: &[&str]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .arg("up")
            .args(environments)
            .arg("--json")
            .current_dir(dir)
            .env_remove("SLIPWAY_STATE_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
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
        Up { child, addresses }
    }

    fn address(&self, env: &str) -> SocketAddr {
        self.addresses.iter().find(|(e, _)| e == env).unwrap().1
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

#[derive(Clone, Debug)]
struct Sample {
    at_ms: i64,
    status: u16,
    version: String,
}

/// A steady load of GET /api/hello at `rate` requests per second; every response recorded.
struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn get(address: SocketAddr, path: &str) -> Sample {
    let at_ms = now_ms();
    let failed = |reason: &str| Sample {
        at_ms,
        status: 0,
        version: reason.to_owned(),
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(5)) else {
        return failed("connect");
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return failed("write");
    }
    let mut response = Vec::new();
    if stream.read_to_end(&mut response).is_err() {
        return failed("read");
    }
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let version = response
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-slipway-version")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    Sample {
        at_ms,
        status,
        version,
    }
}

impl Load {
    /// `rate` requests per second, spread over a few workers (one below 4 per second).
    fn start(address: SocketAddr, rate: f64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let workers: u32 = if rate < 4.0 { 1 } else { 4 };
        let interval = Duration::from_secs_f64(f64::from(workers) / rate);
        let threads = (0..workers)
            .map(|_| {
                let (stop, samples) = (stop.clone(), samples.clone());
                std::thread::spawn(move || {
                    let mut next = Instant::now();
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

    fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        Arc::try_unwrap(self.samples).unwrap().into_inner().unwrap()
    }
}

fn release_of(status: &Value) -> String {
    status["release"].as_str().unwrap().to_owned()
}

/// Promotes `digest` to `env` and waits for the rollout to succeed.
fn release(dir: &Path, digest: &str, env: &str) -> Value {
    let outcome = promote(dir, digest, env, &[]);
    assert_eq!(outcome["status"], "started", "{outcome:#}");
    let status = wait_for(dir, env, "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == digest
    });
    assert_eq!(status["canary"], Value::Null);
    status
}

#[test]
fn one_build_is_promoted_through_three_environments_with_a_canary_under_load() {
    let repo = new_repo();
    let dir = repo.path();
    let first = build(dir, "HELLO_VERSION: \"1\"");
    let up = Up::start(dir, &["dev", "staging", "production"]);
    for env in ["dev", "staging", "production"] {
        release(dir, &first, env);
    }

    let second = build(dir, "HELLO_VERSION: \"2\"");
    assert_ne!(first, second);
    release(dir, &second, "dev");
    let staged = release(dir, &second, "staging");
    assert!(
        staged["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "verify" && e["detail"]["ok"] == true),
        "the smoke probe ran: {staged:#}"
    );

    let load = Load::start(up.address("production"), 300.0);
    std::thread::sleep(Duration::from_secs(1));
    let started = promote(dir, &second, "production", &[]);
    assert_eq!(started["status"], "started", "{started:#}");
    let canary = started["release"]["id"].as_str().unwrap().to_owned();
    let at_five = wait_for(dir, "production", "weight 5", |s| s["weight"] == 5);
    assert_eq!(at_five["canary"], second.as_str());
    assert_eq!(at_five["stable"], first.as_str());
    wait_for(dir, "production", "weight 25", |s| s["weight"] == 25);
    let done = wait_for(dir, "production", "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == second.as_str()
    });
    std::thread::sleep(Duration::from_millis(500));
    let samples = load.finish();

    // Every response was a success, and the canary's share grew with its weight.
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.status != 200).collect();
    assert!(failed.is_empty(), "failed responses: {failed:?}");
    let by_canary = samples.iter().filter(|s| s.version == canary).count();
    assert!(
        by_canary > 0 && by_canary < samples.len(),
        "{by_canary} of {}",
        samples.len()
    );
    assert_eq!(samples.last().unwrap().version, canary);
    let measurements = done["measurements"].as_array().unwrap();
    assert_eq!(measurements.len(), 6, "{done:#}");
    for m in measurements {
        assert_eq!(m["verdict"], "pass", "{m}");
        assert!(m["samples"].as_i64().unwrap() >= 30, "{m}");
    }

    // The same digest runs in all three environments, and each is its last known good.
    for env in ["dev", "staging", "production"] {
        let status = environment(dir, env);
        assert_eq!(status["serving"], second.as_str(), "{env}: {status:#}");
        assert_eq!(status["last_known_good"], second.as_str());
    }
    drop(up);
}

#[test]
fn bad_releases_are_aborted_switched_back_or_stopped_and_never_deployed_again() {
    let repo = new_repo();
    let dir = repo.path();
    let good = build(dir, "HELLO_VERSION: \"good\"");
    let up = Up::start(dir, &["canary", "blue-green", "rolling"]);
    for env in ["canary", "blue-green", "rolling"] {
        release(dir, &good, env);
    }
    let failing = build(dir, "HELLO_VERSION: \"failing\", HELLO_ERROR_RATE: \"0.1\"");
    let never_ready = build(dir, "HELLO_VERSION: \"unready\", HELLO_READY: \"false\"");

    // Canary: the proxy's error rate fails the analysis; the canary loses its traffic at once.
    let load = Load::start(up.address("canary"), 300.0);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(promote(dir, &failing, "canary", &[])["status"], "started");
    let aborted = wait_for(dir, "canary", "abort", phase_is("aborted"));
    std::thread::sleep(Duration::from_secs(1));
    let samples = load.finish();
    let canary = release_of(&aborted);
    let abort = aborted["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "aborted")
        .unwrap();
    let zero_at = abort["detail"]["weight_zero_at_ms"].as_i64().unwrap();
    let first_bad = samples
        .iter()
        .filter(|s| s.status >= 500)
        .map(|s| s.at_ms)
        .min()
        .expect("the failing release answered some 500s");
    let failed_by_clients = samples.iter().filter(|s| s.status != 200).count();
    let canary_after_zero = samples
        .iter()
        .filter(|s| s.version == canary && s.at_ms > zero_at + 50)
        .count();
    eprintln!(
        "abort: {} ms from the first 5xx a client saw to 0% canary weight; {failed_by_clients} of {} requests failed",
        zero_at - first_bad,
        samples.len()
    );
    assert!(zero_at > first_bad);
    assert_eq!(
        canary_after_zero, 0,
        "the canary kept serving after its weight went to 0"
    );
    assert!(
        samples.iter().all(|s| s.status == 200 || s.status == 500),
        "only the release's own 500s failed"
    );
    assert!(
        aborted["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["verdict"] == "fail")
    );
    assert_eq!(aborted["stable"], good.as_str());
    let known_bad = environment(dir, "canary");
    assert_eq!(known_bad["known_bad"][0]["digest"], failing.as_str());
    assert_eq!(known_bad["serving"], good.as_str());
    let again = promote(dir, &failing, "canary", &[]);
    assert_eq!(again["status"], "refused");
    assert!(
        again["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "known-bad" && c["ok"] == false)
    );

    // Blue-green: all traffic switches to green; post-promotion analysis fails; back to blue.
    let load = Load::start(up.address("blue-green"), 300.0);
    assert_eq!(
        promote(dir, &failing, "blue-green", &[])["status"],
        "started"
    );
    let switched_back = wait_for(dir, "blue-green", "switch back", phase_is("aborted"));
    std::thread::sleep(Duration::from_millis(500));
    let samples = load.finish();
    assert_eq!(switched_back["stable"], good.as_str());
    let green = release_of(&switched_back);
    assert!(
        samples.iter().any(|s| s.version == green),
        "green took traffic"
    );
    assert!(!samples.last().unwrap().version.is_empty());
    assert_ne!(samples.last().unwrap().version, green, "blue serves again");

    // Rolling: the new instances never become ready; the deadline stops them, the old serve on.
    assert_eq!(
        promote(dir, &never_ready, "rolling", &[])["status"],
        "started"
    );
    let stopped = wait_for(dir, "rolling", "abort", phase_is("aborted"));
    assert!(
        stopped["note"]
            .as_str()
            .unwrap()
            .contains("not ready after the progress deadline"),
        "{stopped:#}"
    );
    let serving = get(up.address("rolling"), "/api/hello");
    assert_eq!(serving.status, 200);
    assert_eq!(environment(dir, "rolling")["serving"], good.as_str());
    drop(up);
}

#[test]
fn low_traffic_pauses_as_inconclusive_and_rollback_returns_to_last_known_good() {
    let repo = new_repo();
    let dir = repo.path();
    let first = build(dir, "HELLO_VERSION: \"1\"");
    let up = Up::start(dir, &["quiet"]);
    release(dir, &first, "quiet");
    let second = build(dir, "HELLO_VERSION: \"2\"");

    // Three requests a minute: far below min-samples. Not a pass, not a crash: a pause.
    let load = Load::start(up.address("quiet"), 3.0 / 60.0);
    assert_eq!(promote(dir, &second, "quiet", &[])["status"], "started");
    let paused = wait_for(dir, "quiet", "pause", phase_is("paused"));
    load.finish();
    let measurement = &paused["measurements"][0];
    assert_eq!(measurement["verdict"], "inconclusive", "{paused:#}");
    assert_eq!(measurement["value"], Value::Null);
    assert!(measurement["samples"].as_i64().unwrap() < 30);
    assert!(
        paused["paused_reason"]
            .as_str()
            .unwrap()
            .contains("inconclusive")
    );

    // A person decides: resume goes on to 100%.
    let resumed = slipway(dir, &["rollout", "resume", "quiet"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    wait_for(dir, "quiet", "success", |s| {
        s["phase"] == "succeeded" && s["stable"] == second.as_str()
    });

    // One command back to the last known good before it, through verify-then-switch.
    let back = slipway(dir, &["rollback", "quiet", "--json"]);
    let back: Value = serde_json::from_slice(&back.stdout).unwrap();
    assert_eq!(back["status"], "started", "{back:#}");
    assert_eq!(back["digest"], first.as_str());
    assert_eq!(back["release"]["kind"], "rollback");
    assert!(
        back["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "verify" && c["ok"] == true)
    );
    wait_for(dir, "quiet", "rollback", |s| {
        s["stable"] == first.as_str() && s["phase"] == "succeeded"
    });
    assert_eq!(get(up.address("quiet"), "/api/hello").status, 200);
    drop(up);
}
