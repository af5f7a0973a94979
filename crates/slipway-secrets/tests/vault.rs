//! The Vault provider against a small KV v2 server on 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use slipway_secrets::{
    AttemptOutcome, Provider, Resolution, ResolveContext, SecretError, resolve_all,
};

const TOKEN: &str = "s.test-token-0123456789";
const API_KEY: &str = "api-key-value-42";

/// What the server does for one path.
#[derive(Clone)]
struct Entry {
    /// `data.data` of the KV v2 answer.
    data: serde_json::Value,
    /// Statuses answered (in order) before the data is served.
    fail_first: Vec<u16>,
    delay: Duration,
}

struct TestVault {
    addr: String,
    /// Request heads received, in order.
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl TestVault {
    /// Serves `GET /v1/<path>` for the given entries: 403 without the right
    /// token, 404 for unknown paths, the KV v2 read answer otherwise. The
    /// thread ends when the value is dropped, or after 20 s in any case.
    fn start(entries: Vec<(&str, Entry)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut entries: HashMap<String, Entry> = entries
            .into_iter()
            .map(|(path, entry)| (format!("/v1/{path}"), entry))
            .collect();
        let (seen, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &mut entries, &seen),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            addr,
            requests,
            stop,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for TestVault {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, entries: &mut HashMap<String, Entry>, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reader = BufReader::new(&stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push_str(&line),
        }
    }
    seen.lock().expect("lock").push(head.clone());
    let target = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let token_ok = head
        .lines()
        .any(|l| l.eq_ignore_ascii_case(&format!("x-vault-token: {TOKEN}")));

    let (status, body, delay) = match entries.get_mut(&target) {
        _ if !token_ok => (
            403,
            r#"{"errors":["permission denied"]}"#.to_owned(),
            Duration::ZERO,
        ),
        None => (404, r#"{"errors":[]}"#.to_owned(), Duration::ZERO),
        Some(entry) if !entry.fail_first.is_empty() => {
            let status = entry.fail_first.remove(0);
            (
                status,
                r#"{"errors":["try later"]}"#.to_owned(),
                Duration::ZERO,
            )
        }
        Some(entry) => {
            let body = serde_json::json!({
                "request_id": "r1",
                "lease_duration": 0,
                "data": { "data": entry.data, "metadata": { "version": 3 } },
            });
            (200, body.to_string(), entry.delay)
        }
    };
    thread::sleep(delay);
    let mut stream = &stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

fn entry(data: serde_json::Value) -> Entry {
    Entry {
        data,
        fail_first: Vec::new(),
        delay: Duration::ZERO,
    }
}

fn context(vault: &TestVault, token: &str) -> ResolveContext {
    ResolveContext::from_map([
        ("VAULT_ADDR", vault.addr.as_str()),
        ("VAULT_TOKEN", token),
        ("VAULT_NAMESPACE", "team-a"),
    ])
    .with_retry_base_delay(Duration::from_millis(20))
}

fn api_key(path: &str, field: &str) -> Vec<(String, Provider)> {
    vec![(
        "API_KEY".to_owned(),
        Provider::Vault {
            path: path.to_owned(),
            field: field.to_owned(),
        },
    )]
}

fn assert_clean(error: &SecretError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains(TOKEN), "token in error: {text}");
    assert!(!text.contains(API_KEY), "value in error: {text}");
}

fn failed(resolution: &Resolution) -> &SecretError {
    let error = resolution
        .result
        .as_ref()
        .expect_err("resolution should fail");
    assert_clean(error);
    error
}

fn outcomes(resolution: &Resolution) -> Vec<AttemptOutcome> {
    resolution.attempts.iter().map(|a| a.outcome).collect()
}

#[tokio::test]
async fn reads_a_field_with_token_and_namespace_headers() {
    let vault = TestVault::start(vec![(
        "kv/data/ci/api",
        entry(serde_json::json!({ "key": API_KEY, "other": "x" })),
    )]);
    let resolution = resolve_all(&api_key("kv/data/ci/api", "key"), &context(&vault, TOKEN)).await;
    let secrets = resolution.result.expect("resolved");
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].0, "API_KEY");
    assert_eq!(secrets[0].1.expose(), API_KEY);
    assert_eq!(format!("{:?}", secrets[0].1), "Secret(API_KEY, ***)");
    assert_eq!(resolution.attempts.len(), 1);
    assert_eq!(resolution.attempts[0].outcome, AttemptOutcome::Answered);
    assert_eq!(resolution.attempts[0].attempt, 1);
    assert_eq!(resolution.attempts[0].delay_ms, 0);

    let requests = vault.requests();
    let head = requests.first().expect("one request");
    assert!(
        head.starts_with("GET /v1/kv/data/ci/api HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("x-vault-namespace: team-a"),
        "{head}"
    );
}

#[tokio::test]
async fn forbidden_is_reported_with_a_hint_and_not_retried() {
    let vault = TestVault::start(vec![(
        "kv/data/ci/api",
        entry(serde_json::json!({ "key": API_KEY })),
    )]);
    let resolution = resolve_all(
        &api_key("kv/data/ci/api", "key"),
        &context(&vault, "s.wrong-token"),
    )
    .await;
    assert_eq!(
        failed(&resolution).to_string(),
        "secret `API_KEY`: vault returned 403 for kv/data/ci/api (check VAULT_TOKEN's policy)"
    );
    assert_eq!(outcomes(&resolution), [AttemptOutcome::Status(403)]);
}

#[tokio::test]
async fn missing_path_is_a_404_with_a_hint() {
    let vault = TestVault::start(vec![]);
    let resolution = resolve_all(&api_key("kv/ci/api", "key"), &context(&vault, TOKEN)).await;
    let message = failed(&resolution).to_string();
    assert!(
        message
            .starts_with("secret `API_KEY`: vault returned 404 for kv/ci/api (nothing is stored"),
        "{message}"
    );
    assert_eq!(outcomes(&resolution), [AttemptOutcome::Status(404)]);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let mut flaky = entry(serde_json::json!({ "key": API_KEY }));
    flaky.fail_first = vec![500, 429];
    let vault = TestVault::start(vec![("kv/data/ci/api", flaky)]);
    let resolution = resolve_all(&api_key("kv/data/ci/api", "key"), &context(&vault, TOKEN)).await;
    let secrets = resolution.result.as_ref().expect("resolved after retries");
    assert_eq!(secrets[0].1.expose(), API_KEY);
    assert_eq!(
        outcomes(&resolution),
        [
            AttemptOutcome::Status(500),
            AttemptOutcome::Status(429),
            AttemptOutcome::Answered
        ]
    );
    let delays: Vec<u64> = resolution.attempts.iter().map(|a| a.delay_ms).collect();
    // 20 ms then 40 ms, each plus up to 50 % jitter.
    assert!((20..=30).contains(&delays[0]), "{delays:?}");
    assert!((40..=60).contains(&delays[1]), "{delays:?}");
    assert_eq!(delays[2], 0);
    assert_eq!(vault.requests().len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let mut down = entry(serde_json::json!({ "key": API_KEY }));
    down.fail_first = vec![503; 10];
    let vault = TestVault::start(vec![("kv/data/ci/api", down)]);
    let resolution = resolve_all(&api_key("kv/data/ci/api", "key"), &context(&vault, TOKEN)).await;
    assert_eq!(
        failed(&resolution).to_string(),
        "secret `API_KEY`: vault returned 503 for kv/data/ci/api after 3 attempts"
    );
    assert_eq!(resolution.attempts.len(), 3);
    assert_eq!(vault.requests().len(), 3);
}

#[tokio::test]
async fn missing_and_non_string_fields_are_named() {
    let vault = TestVault::start(vec![(
        "kv/data/ci/api",
        entry(serde_json::json!({ "user": "ci", "port": 5432 })),
    )]);
    let resolution = resolve_all(&api_key("kv/data/ci/api", "key"), &context(&vault, TOKEN)).await;
    assert_eq!(
        failed(&resolution).to_string(),
        "secret `API_KEY`: field `key` not found at kv/data/ci/api (fields there: port, user)"
    );
    let resolution = resolve_all(&api_key("kv/data/ci/api", "port"), &context(&vault, TOKEN)).await;
    assert!(matches!(
        failed(&resolution),
        SecretError::VaultFieldNotString { kind: "number", .. }
    ));
}

#[tokio::test]
async fn a_slow_server_hits_the_timeout_once() {
    let mut slow = entry(serde_json::json!({ "key": API_KEY }));
    slow.delay = Duration::from_secs(2);
    let vault = TestVault::start(vec![("kv/data/ci/api", slow)]);
    let ctx = context(&vault, TOKEN).with_vault_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let resolution = resolve_all(&api_key("kv/data/ci/api", "key"), &ctx).await;
    let elapsed = started.elapsed();
    assert_eq!(
        failed(&resolution).to_string(),
        "secret `API_KEY`: vault did not answer for kv/data/ci/api within 300 ms"
    );
    assert_eq!(outcomes(&resolution), [AttemptOutcome::Timeout]);
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
}

#[tokio::test]
async fn connection_failures_are_retried_and_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let ctx = ResolveContext::from_map([
        ("VAULT_ADDR", format!("http://127.0.0.1:{port}")),
        ("VAULT_TOKEN", TOKEN.to_owned()),
    ])
    .with_retry_base_delay(Duration::from_millis(10));
    let resolution = resolve_all(&api_key("kv/data/ci/api", "key"), &ctx).await;
    let message = failed(&resolution).to_string();
    assert!(
        message.starts_with(
            "secret `API_KEY`: vault request for kv/data/ci/api failed after 3 attempt(s): "
        ),
        "{message}"
    );
    assert_eq!(outcomes(&resolution), [AttemptOutcome::Connect; 3]);
}

#[tokio::test]
async fn vault_settings_are_required_only_for_vault_secrets() {
    let requests = api_key("kv/data/ci/api", "key");
    let resolution = resolve_all(&requests, &ResolveContext::from_map([("X", "y")])).await;
    assert_eq!(
        failed(&resolution).to_string(),
        "VAULT_ADDR is not set but secret `API_KEY` comes from vault"
    );
    let resolution = resolve_all(
        &requests,
        &ResolveContext::from_map([("VAULT_ADDR", "http://127.0.0.1:1")]),
    )
    .await;
    assert_eq!(
        failed(&resolution).to_string(),
        "VAULT_TOKEN is not set but secret `API_KEY` comes from vault"
    );
    let resolution = resolve_all(
        &requests,
        &ResolveContext::from_map([("VAULT_ADDR", "vault:8200"), ("VAULT_TOKEN", TOKEN)]),
    )
    .await;
    assert!(matches!(
        failed(&resolution),
        SecretError::VaultConfig {
            var: "VAULT_ADDR",
            ..
        }
    ));
    assert!(resolution.attempts.is_empty());

    // Without Vault secrets, VAULT_ADDR is not looked at.
    let env_only = vec![(
        "TOKEN".to_owned(),
        Provider::Env {
            name: "CI_TOKEN".to_owned(),
        },
    )];
    let resolution = resolve_all(
        &env_only,
        &ResolveContext::from_map([("CI_TOKEN", "abcd1234")]),
    )
    .await;
    assert!(resolution.result.is_ok());
}
