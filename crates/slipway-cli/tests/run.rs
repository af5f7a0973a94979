//! `slipway run` against scratch repositories: the real binary, real processes, real git.

mod common;

use common::{git, repo, slipway, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `--json` event stream of a run, parsed.
fn events(output: &Output) -> Vec<serde_json::Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn finished<'a>(events: &'a [serde_json::Value], job: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "job_finished" && e["job"] == job)
        .unwrap_or_else(|| panic!("no job_finished for {job} in {events:#?}"))
}

/// Starts `slipway ARGS` in the background and returns once its run has begun writing events.
fn spawn_run(dir: &Path, args: &[&str]) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !state_files(dir).iter().any(|p| p.ends_with("events.jsonl")) {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn state_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join(".slipway")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path)
            } else {
                out.push(path)
            }
        }
    }
    out
}

#[test]
fn independent_jobs_run_in_parallel() {
    let dir = repo(
        "version: 1\njobs:\n  a:\n    steps: [{ run: sleep 1 }]\n  b:\n    steps: [{ run: sleep 1 }]\n",
        &[],
    );
    let timed = |jobs: &str| {
        let start = Instant::now();
        let output = slipway(dir.path(), &["run", "--jobs", jobs], &[]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        start.elapsed()
    };
    let side_by_side = timed("2");
    let one_at_a_time = timed("1");
    // Two one-second jobs side by side take about one second, one at a time about two: a
    // ratio, so a loaded machine slows both alike.
    assert!(
        side_by_side.as_secs_f64() < one_at_a_time.as_secs_f64() * 0.8,
        "side by side {side_by_side:?}, one at a time {one_at_a_time:?}"
    );
}

#[test]
fn fail_fast_cancels_running_jobs_and_kills_their_processes() {
    let dir = repo(
        r#"version: 1
jobs:
  slow:
    steps:
      - run: echo $$ > "$SLIPWAY_WORKSPACE/../slow.pid"; sleep 30
  broken:
    steps: [{ run: "sleep 0.5; exit 1" }]
  after:
    needs: [broken]
    steps: [{ run: echo never }]
  cleanup:
    needs: [broken]
    if: always()
    steps: [{ run: echo cleaning }]
"#,
        &[],
    );
    let start = Instant::now();
    let output = slipway(
        dir.path(),
        &["run", "--jobs", "3", "--json", "--keep-workspaces"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "the slow job was not cancelled"
    );
    let events = events(&output);
    assert_eq!(finished(&events, "broken")["status"], "failure");
    assert_eq!(finished(&events, "slow")["status"], "cancelled");
    assert_eq!(finished(&events, "cleanup")["status"], "success");
    // `after` needs the failed job: it never starts.
    let after = events
        .iter()
        .find(|e| e["job"] == "after")
        .expect("an event for `after`");
    assert_eq!(after["event"], "job_skipped", "{after}");
    assert_eq!(after["reason"], "need `broken` failed");
    let pid_file = state_files(dir.path())
        .into_iter()
        .find(|p| p.ends_with("slow.pid"))
        .expect("slow wrote its pid");
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc_kill(pid, 0) } == 0;
    assert!(!alive, "the cancelled job's process {pid} is still running");
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

#[test]
fn timeouts_kill_grandchildren_and_are_reported_apart_from_failures() {
    let dir = repo(
        r#"version: 1
jobs:
  hang:
    timeout: 1s
    steps:
      - run: bash -c 'sleep 60 & echo $! > "$SLIPWAY_WORKSPACE/../grandchild.pid"; wait'
"#,
        &[],
    );
    let start = Instant::now();
    let output = slipway(dir.path(), &["run", "--json", "--keep-workspaces"], &[]);
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(output.status.code(), Some(1));
    let events = events(&output);
    assert_eq!(finished(&events, "hang")["status"], "timed_out");
    let pid_file = state_files(dir.path())
        .into_iter()
        .find(|p| p.ends_with("grandchild.pid"))
        .unwrap();
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signal 0 only asks whether the process exists.
    assert!(
        unsafe { libc_kill(pid, 0) } != 0,
        "grandchild {pid} survived the timeout"
    );
}

#[test]
fn retries_count_attempts_for_declared_classes_only() {
    let dir = repo(
        r#"version: 1
jobs:
  flaky:
    retry: { max: 3, backoff: { initial: 10ms, max: 50ms }, on: [75] }
    steps:
      - run: |
          n=$(cat "$SLIPWAY_WORKSPACE/../count" 2>/dev/null || echo 0)
          echo $((n + 1)) > "$SLIPWAY_WORKSPACE/../count"
          [ "$n" -ge 2 ] || exit 75
  step-level:
    steps:
      - run: |
          n=$(cat "$SLIPWAY_WORKSPACE/step-count" 2>/dev/null || echo 0)
          echo $((n + 1)) > "$SLIPWAY_WORKSPACE/step-count"
          [ "$n" -ge 1 ] || exit 75
        retry: { max: 2, backoff: { initial: 10ms }, on: [75] }
  allowed:
    continue-on-error: true
    steps: [{ run: exit 9 }]
  wrong-code:
    fail-fast: false
    retry: { max: 3, backoff: { initial: 10ms }, on: [75] }
    steps: [{ run: exit 1 }]
"#,
        &[],
    );
    let output = slipway(dir.path(), &["run", "--json"], &[]);
    let events = events(&output);
    let flaky = finished(&events, "flaky");
    assert_eq!(flaky["status"], "success");
    assert_eq!(flaky["attempts"], 3);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "job_retrying" && e["job"] == "flaky")
            .count(),
        2
    );
    assert_eq!(finished(&events, "wrong-code")["attempts"], 1);
    assert_eq!(finished(&events, "step-level")["status"], "success");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "step_retrying" && e["job"] == "step-level")
            .count(),
        1
    );
    // A continue-on-error failure is recorded, and the run's result does not depend on it.
    assert_eq!(finished(&events, "allowed")["status"], "failure");
    let show = slipway(dir.path(), &["show", "1", "--json"], &[]);
    let detail: serde_json::Value = serde_json::from_str(&text(&show.stdout)).unwrap();
    let flaky = detail["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_id"] == "flaky")
        .unwrap();
    assert_eq!(flaky["attempt_log"].as_array().unwrap().len(), 3);
    assert_eq!(flaky["attempt_log"][0]["exit_code"], 75);
}

#[test]
fn matrix_path_filters_and_conditions() {
    let dir = repo(
        r#"version: 1
jobs:
  unit:
    matrix: { n: [1, 2, 3] }
    steps: [{ run: "echo unit-${{ matrix.n }}" }]
  docs:
    paths: ["docs/**"]
    steps: [{ run: echo docs }]
  publish:
    needs: [unit, docs]
    if: ${{ event.branch == 'main' }}
    steps: [{ run: echo publish }]
  never:
    needs: [unit]
    if: event.branch == 'other'
    steps: [{ run: echo never }]
"#,
        &[("src/lib.rs", "")],
    );
    let output = slipway(dir.path(), &["run", "--json"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let events = events(&output);
    for n in 1..=3 {
        assert_eq!(
            finished(&events, &format!("unit (n={n})"))["status"],
            "success"
        );
    }
    let lines: Vec<&str> = events.iter().filter_map(|e| e["line"].as_str()).collect();
    assert!(lines.contains(&"unit-2"), "{lines:?}");
    // The first commit adds every file, so docs/** is unaffected only when no docs exist.
    let skipped: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "job_skipped")
        .collect();
    assert!(
        skipped.iter().any(
            |e| e["job"] == "docs" && e["reason"].as_str().unwrap().starts_with("not affected")
        )
    );
    assert_eq!(finished(&events, "publish")["status"], "success");
    assert!(
        skipped
            .iter()
            .any(|e| e["job"] == "never" && e["reason"].as_str().unwrap().starts_with("if:"))
    );
}

#[test]
fn workspaces_hold_the_commit_not_the_working_tree() {
    let dir = repo(
        "version: 1\njobs:\n  look:\n    steps: [{ run: cat file.txt }]\n",
        &[("file.txt", "committed")],
    );
    std::fs::write(dir.path().join("file.txt"), "edited").unwrap();
    let output = slipway(dir.path(), &["run", "--json"], &[]);
    let lines: Vec<String> = events(&output)
        .iter()
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    assert_eq!(lines, ["committed"]);
    let output = slipway(dir.path(), &["run", "--json", "--dirty"], &[]);
    let lines: Vec<String> = events(&output)
        .iter()
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    assert_eq!(lines, ["edited"]);
    let show = slipway(dir.path(), &["show", "2", "--json"], &[]);
    let detail: serde_json::Value = serde_json::from_str(&text(&show.stdout)).unwrap();
    assert_eq!(detail["run"]["dirty"], true);
}

const SECRET: &str = "s3cr3t-Value/with+chars&more";
const PEM_LINE: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";

#[test]
fn secrets_leave_no_trace_in_output_or_state() {
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{PEM_LINE}\nAAAABBBBCCCCDDDDEEEE\n-----END PRIVATE KEY-----"
    );
    let dir = repo(
        r#"version: 1
jobs:
  leak:
    secrets: [TOKEN, KEY]
    steps:
      - name: whole
        run: echo "token=$TOKEN"
      - name: base64
        run: printf %s "$TOKEN" | base64 -w0; echo
      - name: split write
        run: printf '%s' "${TOKEN:0:9}"; sleep 0.2; printf '%s\n' "${TOKEN:9}"
      - name: json
        run: |
          python3 -c 'import json,os; print(json.dumps({"t": os.environ["TOKEN"] + "\n"}))'
      - name: url
        run: |
          python3 -c 'import os,urllib.parse; print(urllib.parse.quote(os.environ["TOKEN"], safe=""))'
      - name: multi-line
        run: echo "$KEY"
      - name: error
        run: |
          echo "fatal: bad credential $TOKEN" >&2; exit 2
secrets:
  TOKEN: { from: env, name: TEST_TOKEN }
  KEY: { from: env, name: TEST_KEY }
"#,
        &[],
    );
    let output = slipway(
        dir.path(),
        &["run", "--json"],
        &[("TEST_TOKEN", SECRET), ("TEST_KEY", &pem)],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let human = slipway(
        dir.path(),
        &["run"],
        &[("TEST_TOKEN", SECRET), ("TEST_KEY", &pem)],
    );
    let logs = slipway(dir.path(), &["logs", "1"], &[]);
    let show = slipway(dir.path(), &["show", "2", "--json"], &[]);
    use base64_forms::*;
    let forms = forms(SECRET);
    let mut everything = vec![
        text(&output.stdout),
        text(&output.stderr),
        text(&human.stdout),
        text(&human.stderr),
        text(&logs.stdout),
        text(&show.stdout),
    ];
    for file in state_files(dir.path()) {
        everything.push(String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned());
    }
    for blob in &everything {
        for form in forms.iter().chain([PEM_LINE.to_string()].iter()) {
            assert!(
                !blob.contains(form.as_str()),
                "a form of the secret leaked: {form}\n{blob}"
            );
        }
    }
    assert!(
        text(&logs.stdout).contains("token=***"),
        "{}",
        text(&logs.stdout)
    );
    assert!(
        text(&human.stderr).contains("fatal: bad credential ***"),
        "{}",
        text(&human.stderr)
    );
}

/// The encodings a leak is searched for, computed independently of the masker.
mod base64_forms {
    pub fn forms(secret: &str) -> Vec<String> {
        let b64 = base64(secret.as_bytes());
        vec![
            secret.to_string(),
            b64.clone(),
            b64.trim_end_matches('=').to_string(),
            secret
                .replace('/', "%2F")
                .replace('+', "%2B")
                .replace('&', "%26"),
        ]
    }

    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[test]
fn a_runner_killed_with_sigkill_leaves_an_interrupted_run() {
    let dir = repo(
        "version: 1\njobs:\n  slow:\n    steps: [{ run: sleep 30 }]\n",
        &[],
    );
    let mut child = spawn_run(dir.path(), &["run", "--json"]);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let output = slipway(dir.path(), &["runs", "--json"], &[]);
    let runs: serde_json::Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    assert_eq!(runs["runs"][0]["status"], "interrupted", "{runs:#}");
    let show = slipway(dir.path(), &["show", "1", "--json"], &[]);
    let detail: serde_json::Value = serde_json::from_str(&text(&show.stdout)).unwrap();
    assert_eq!(detail["jobs"][0]["status"], "interrupted");
}

#[test]
fn sandboxed_jobs_cannot_reach_the_network() {
    if !common::have_bwrap() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pipeline = format!(
        r#"version: 1
jobs:
  open:
    steps:
      - run: exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected
  closed:
    sandbox: true
    steps:
      - run: exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected
  readonly:
    sandbox: true
    steps:
      - run: touch /usr/slipway-sandbox-probe
"#
    );
    let dir = repo(&pipeline, &[]);
    let output = slipway(dir.path(), &["run", "--json"], &[]);
    let events = events(&output);
    assert_eq!(finished(&events, "open")["status"], "success");
    assert_eq!(finished(&events, "closed")["status"], "failure");
    assert_eq!(finished(&events, "readonly")["status"], "failure");
    let show = slipway(dir.path(), &["show", "1", "--json"], &[]);
    assert!(
        text(&show.stdout).contains("\"sandbox\": false"),
        "the run-level flag records --sandbox only"
    );
    drop(listener);
}

#[test]
fn rerun_failed_reuses_the_jobs_that_passed() {
    let dir = repo(
        r#"version: 1
jobs:
  build:
    steps: [{ run: "echo build-ran" }]
  test:
    needs: [build]
    steps: [{ run: "test -f \"$MARKER\" || exit 4" }]
  deploy:
    needs: [test]
    steps: [{ run: echo deploy-ran }]
"#,
        &[],
    );
    let marker = dir.path().join("fixed");
    let env = [("MARKER_UNUSED", "")];
    // `MARKER` reaches the step through the pipeline's env only if declared; use a path the
    // step can test instead: the repository itself, outside the workspace.
    let pipeline = std::fs::read_to_string(dir.path().join("slipway.yml"))
        .unwrap()
        .replace("$MARKER", &marker.display().to_string());
    std::fs::write(dir.path().join("slipway.yml"), pipeline).unwrap();
    git(dir.path(), &["commit", "-qam", "marker path"]);
    let first = slipway(dir.path(), &["run", "--json"], &env);
    assert_eq!(first.status.code(), Some(1));
    std::fs::write(&marker, "").unwrap();
    let again = slipway(dir.path(), &["rerun", "1", "--failed", "--json"], &env);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let events = events(&again);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "job_reused" && e["job"] == "build")
    );
    let lines: Vec<&str> = events.iter().filter_map(|e| e["line"].as_str()).collect();
    assert!(
        !lines.contains(&"build-ran"),
        "build's steps ran again: {lines:?}"
    );
    assert!(lines.contains(&"deploy-ran"));
    let show = slipway(dir.path(), &["show", "1", "--json"], &[]);
    let detail: serde_json::Value = serde_json::from_str(&text(&show.stdout)).unwrap();
    assert_eq!(detail["run"]["attempt"], 2);
    assert_eq!(detail["run"]["status"], "success");
    let build = detail["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_id"] == "build")
        .unwrap();
    assert_eq!(build["reused"], true);
}

#[test]
fn debug_on_failure_keeps_the_workspace_and_prints_a_shell_command() {
    let dir = repo(
        "version: 1\nenv: { GREETING: hi }\njobs:\n  broken:\n    secrets: [TOKEN]\n    steps: [{ run: 'echo state > left-behind; exit 1' }]\nsecrets:\n  TOKEN: { from: env, name: T }\n",
        &[],
    );
    let output = slipway(
        dir.path(),
        &["run", "--debug-on-failure"],
        &[("T", "very-secret-token")],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let command = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("debug: "))
        .expect("a debug command")
        .to_string();
    assert!(command.contains("GREETING=hi"), "{command}");
    assert!(
        !command.contains("very-secret-token") && !command.contains("TOKEN="),
        "{command}"
    );
    let shell = Command::new("bash")
        .arg("-c")
        .arg(format!("{command} -c 'cat left-behind; echo $GREETING'"))
        .output()
        .unwrap();
    assert_eq!(text(&shell.stdout), "state\nhi\n");
}

#[test]
fn a_newer_run_cancels_the_older_one_in_its_concurrency_group() {
    let dir = repo(
        "version: 1\nconcurrency: { group: \"${{ event.ref }}\", cancel-in-progress: true }\njobs:\n  slow:\n    steps: [{ run: '[ \"$SLIPWAY_RUN_NUMBER\" != 1 ] || sleep 30' }]\n",
        &[],
    );
    let mut first = spawn_run(dir.path(), &["run", "--json"]);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let second = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["run", "--json"])
        .current_dir(dir.path())
        .env("SLIPWAY_TEST_QUICK", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = first.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "the older run stops as if interrupted"
    );
    assert!(start.elapsed() < Duration::from_secs(15));
    let second = second.wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let output = slipway(dir.path(), &["show", "1", "--json"], &[]);
    let detail: serde_json::Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    assert_eq!(detail["run"]["status"], "cancelled");
    assert!(
        detail["run"]["note"]
            .as_str()
            .unwrap()
            .contains("concurrency group"),
        "{detail:#}"
    );
    let output = slipway(dir.path(), &["show", "2", "--json"], &[]);
    let detail: serde_json::Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    assert!(
        detail["run"]["note"]
            .as_str()
            .unwrap()
            .starts_with("cancelled run #1"),
        "{detail:#}"
    );
}

#[test]
fn outputs_reach_the_jobs_that_need_them_and_missing_ones_fail() {
    let dir = repo(
        r#"version: 1
jobs:
  build:
    steps: [{ run: "mkdir -p out && echo artifact-bytes > out/app" }]
    outputs: [out/app]
  use:
    needs: [build]
    steps: [{ run: cat out/app }]
  forgetful:
    fail-fast: false
    steps: [{ run: "true" }]
    outputs: [never/made]
"#,
        &[],
    );
    let output = slipway(dir.path(), &["run", "--json", "--jobs", "1"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let events = events(&output);
    assert_eq!(finished(&events, "use")["status"], "success");
    assert!(
        events
            .iter()
            .any(|e| e["job"] == "use" && e["line"] == "artifact-bytes")
    );
    let forgetful = finished(&events, "forgetful");
    assert_eq!(forgetful["status"], "failure");
    assert!(
        forgetful["reason"].as_str().unwrap().contains("never/made"),
        "{forgetful}"
    );

    // A re-run of `use` alone gets build's stored outputs without running build again.
    let again = slipway(dir.path(), &["rerun", "1", "--job", "use", "--json"], &[]);
    let events = events_of(&again);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "job_reused" && e["job"] == "build"),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["job"] == "use" && e["line"] == "artifact-bytes")
    );
}

fn events_of(output: &Output) -> Vec<serde_json::Value> {
    events(output)
}

#[test]
fn caches_hit_fall_back_to_restore_keys_and_miss() {
    let dir = repo(
        r#"version: 1
jobs:
  deps:
    cache:
      key: "deps-${{ hashFiles('lock.txt') }}"
      restore-keys: ["deps-"]
      paths: [vendor]
    steps:
      - run: |
          if [ -f vendor/built ]; then echo "restored: $(cat vendor/built)"; else echo fresh; fi
          mkdir -p vendor && cat lock.txt > vendor/built
"#,
        &[("lock.txt", "v1")],
    );
    let cache_event = |output: &Output| {
        let events = events(output);
        let cache = events
            .iter()
            .find(|e| e["event"] == "cache")
            .cloned()
            .expect("a cache event");
        let lines: Vec<String> = events
            .iter()
            .filter_map(|e| e["line"].as_str().map(str::to_string))
            .collect();
        (cache["result"].as_str().unwrap().to_string(), lines)
    };
    let (result, lines) = cache_event(&slipway(dir.path(), &["run", "--json"], &[]));
    assert_eq!(
        (result.as_str(), lines.as_slice()),
        ("miss", &["fresh".to_string()][..])
    );
    let (result, lines) = cache_event(&slipway(dir.path(), &["run", "--json"], &[]));
    assert_eq!(
        (result.as_str(), lines.as_slice()),
        ("hit", &["restored: v1".to_string()][..])
    );
    std::fs::write(dir.path().join("lock.txt"), "v2").unwrap();
    git(dir.path(), &["commit", "-qam", "bump"]);
    let (result, lines) = cache_event(&slipway(dir.path(), &["run", "--json"], &[]));
    assert_eq!(
        (result.as_str(), lines.as_slice()),
        ("partial", &["restored: v1".to_string()][..])
    );
    let (result, _) = cache_event(&slipway(dir.path(), &["run", "--json"], &[]));
    assert_eq!(result, "hit", "the partial hit saved the new key");
}

#[test]
fn a_cache_never_carries_a_secret() {
    let dir = repo(
        r#"version: 1
jobs:
  leaky:
    secrets: [TOKEN]
    cache: { key: leaky-v1, paths: [stash] }
    steps:
      - run: mkdir -p stash && echo "$TOKEN" > stash/token
secrets:
  TOKEN: { from: env, name: LEAKY_TOKEN }
"#,
        &[],
    );
    let output = slipway(
        dir.path(),
        &["run"],
        &[("LEAKY_TOKEN", "cache-me-not-1234")],
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(
        text(&output.stderr).contains("not saved"),
        "{}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stderr).contains("stash/token"),
        "{}",
        text(&output.stderr)
    );
    let second = slipway(
        dir.path(),
        &["run", "--json"],
        &[("LEAKY_TOKEN", "cache-me-not-1234")],
    );
    let events = events(&second);
    assert_eq!(
        events.iter().find(|e| e["event"] == "cache").unwrap()["result"],
        "miss"
    );
    for file in state_files(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("cache-me-not-1234"),
            "{}",
            file.display()
        );
    }
}

#[test]
fn logs_follow_a_running_run_until_it_ends() {
    let dir = repo(
        "version: 1\njobs:\n  talk:\n    steps:\n      - run: |\n          echo first\n          sleep 1\n          echo second\n      - name: quiet\n        run: echo third\n",
        &[],
    );
    let mut run = spawn_run(dir.path(), &["run"]);
    let followed = slipway(dir.path(), &["logs", "1", "--follow"], &[]);
    assert!(run.wait().unwrap().success());
    assert_eq!(
        text(&followed.stdout),
        "[talk] first\n[talk] second\n[talk] third\n"
    );
    let step = slipway(
        dir.path(),
        &["logs", "1", "--job", "talk", "--step", "quiet"],
        &[],
    );
    assert_eq!(text(&step.stdout), "third\n");
}

/// A KV v2 read endpoint on loopback: answers one 503, then the secret.
fn vault_server(value: &'static str) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (index, stream) in listener.incoming().take(2).enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut token = String::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header
                    .strip_prefix("X-Vault-Token: ")
                    .or_else(|| header.strip_prefix("x-vault-token: "))
                {
                    token = value.trim().to_string();
                }
            }
            seen.push(format!("{} token={token}", request_line.trim()));
            let (status, body) = if index == 0 {
                ("503 Service Unavailable", "{}".to_string())
            } else {
                (
                    "200 OK",
                    format!(
                        r#"{{"data":{{"data":{{"key":"{value}"}},"metadata":{{"version":1}}}}}}"#
                    ),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
        seen
    });
    (address, handle)
}

#[test]
fn vault_secrets_are_fetched_with_recorded_retries_and_masked() {
    let (address, server) = vault_server("vault-held-value-77");
    let dir = repo(
        "version: 1\njobs:\n  use:\n    secrets: [API_KEY]\n    steps: [{ run: 'echo key=$API_KEY' }]\nsecrets:\n  API_KEY: { from: vault, path: kv/data/ci/api, field: key }\n",
        &[],
    );
    let output = slipway(
        dir.path(),
        &["run", "--json"],
        &[
            ("VAULT_ADDR", &address),
            ("VAULT_TOKEN", "root-token-for-test"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let requests = server.join().unwrap();
    assert_eq!(
        requests[1],
        "GET /v1/kv/data/ci/api HTTP/1.1 token=root-token-for-test"
    );
    let events = events(&output);
    let fetches: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "secret_fetch")
        .collect();
    assert_eq!(fetches.len(), 2, "{events:#?}");
    assert_eq!(fetches[0]["outcome"], "status(503)");
    assert!(events.iter().any(|e| e["line"] == "key=***"));
    let all = text(&output.stdout) + &text(&output.stderr);
    assert!(!all.contains("vault-held-value-77") && !all.contains("root-token-for-test"));
}
