//! Real backends and helpers shared by the proxy's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use slipway_proxy::{Backend, ProxyConfig, ProxyHandle, Routes, Stickiness};
use tokio::net::TcpListener;

/// How a test backend answers.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Answer 500 to every n-th request (1-based) of the default path.
    pub fail_every: Option<u64>,
    /// Wait this long before answering the default path.
    pub delay: Duration,
    /// Answer the default path (and finish `/stream`) only after taking a permit from this
    /// semaphore, so a test decides when requests finish.
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
}

/// A real HTTP/1.1 server on loopback that answers with its name. Paths:
/// - `/headers`: JSON of the method, URI and request headers it received;
/// - `/echo`: streams the request body back;
/// - `/stream`: sends `first\n`, waits for a permit of `gate` (or 400 ms), sends `second\n`;
/// - `/first-chunk`: answers with the first chunk of the request body without waiting for the
///   rest;
/// - `/sleep/<ms>`: answers after `<ms>` milliseconds;
/// - anything else: its name, after `delay`, or 500 on every `fail_every`-th request.
///
/// Every answer carries `x-backend: <name>` and a few hop-by-hop headers the proxy must drop.
pub struct TestBackend {
    pub name: String,
    pub addr: SocketAddr,
    pub connections: Arc<AtomicU64>,
    pub requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type BackendBody = Either<Full<Bytes>, Either<Incoming, Channel<Bytes, Infallible>>>;

pub async fn backend(name: &str, behaviour: Behaviour) -> TestBackend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let state = Arc::new((name.to_owned(), behaviour, Arc::clone(&requests)));
    let accepted = Arc::clone(&connections);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            accepted.fetch_add(1, Ordering::SeqCst);
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let state = Arc::clone(&state);
                    async move {
                        Ok::<_, Infallible>(answer(&state.0, &state.1, &state.2, request).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestBackend {
        name: name.to_owned(),
        addr,
        connections,
        requests,
        task,
    }
}

async fn answer(
    name: &str,
    behaviour: &Behaviour,
    requests: &AtomicU64,
    request: Request<Incoming>,
) -> Response<BackendBody> {
    let number = requests.fetch_add(1, Ordering::SeqCst) + 1;
    let path = request.uri().path().to_owned();
    let (status, body): (StatusCode, BackendBody) = if path == "/headers" {
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let json = serde_json::json!({
            "method": request.method().as_str(),
            "uri": request.uri().to_string(),
            "headers": headers,
        });
        (
            StatusCode::OK,
            Either::Left(Full::new(Bytes::from(json.to_string()))),
        )
    } else if path == "/echo" {
        (
            StatusCode::OK,
            Either::Right(Either::Left(request.into_body())),
        )
    } else if path == "/stream" {
        let (mut sender, body) = Channel::<Bytes, Infallible>::new(1);
        let gate = behaviour.gate.clone();
        tokio::spawn(async move {
            let _ = sender.send_data(Bytes::from_static(b"first\n")).await;
            match gate {
                Some(gate) => gate.acquire().await.unwrap().forget(),
                None => tokio::time::sleep(Duration::from_millis(400)).await,
            }
            let _ = sender.send_data(Bytes::from_static(b"second\n")).await;
        });
        (StatusCode::OK, Either::Right(Either::Right(body)))
    } else if path == "/first-chunk" {
        let mut body = request.into_body();
        let first = loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        break data;
                    }
                }
                _ => break Bytes::new(),
            }
        };
        // Keep reading the rest in the background so the connection stays usable.
        tokio::spawn(async move { while body.frame().await.is_some() {} });
        (StatusCode::OK, Either::Left(Full::new(first)))
    } else if let Some(ms) = path.strip_prefix("/sleep/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        (
            StatusCode::OK,
            Either::Left(Full::new(Bytes::from(name.to_owned()))),
        )
    } else {
        if !behaviour.delay.is_zero() {
            tokio::time::sleep(behaviour.delay).await;
        }
        if let Some(gate) = &behaviour.gate {
            gate.acquire().await.unwrap().forget();
        }
        let fail = behaviour
            .fail_every
            .is_some_and(|n| number.is_multiple_of(n));
        let status = if fail {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        (
            status,
            Either::Left(Full::new(Bytes::from(name.to_owned()))),
        )
    };
    Response::builder()
        .status(status)
        .header("x-backend", name)
        .header("connection", "x-backend-hop")
        .header("x-backend-hop", "must not reach the client")
        .header("keep-alive", "timeout=5")
        .body(body)
        .unwrap()
}

/// An address on which nothing listens: connecting is refused.
pub async fn refused_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

pub fn config(environment: &str) -> ProxyConfig {
    ProxyConfig {
        environment: environment.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        stickiness: None,
        upstream_timeout: Duration::from_secs(5),
    }
}

pub fn sticky_config(environment: &str, stickiness: Stickiness) -> ProxyConfig {
    ProxyConfig {
        stickiness: Some(stickiness),
        ..config(environment)
    }
}

/// Stable and canary, the canary last (the order the proxy expects for stickiness).
pub fn split(stable: &TestBackend, canary: &TestBackend, canary_bp: u32) -> Routes {
    Routes {
        backends: vec![
            Backend::new(&stable.name, 10_000 - canary_bp, vec![stable.addr]),
            Backend::new(&canary.name, canary_bp, vec![canary.addr]),
        ],
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

pub fn url(proxy: &ProxyHandle, path: &str) -> String {
    format!("http://{}{path}", proxy.address())
}

/// Sends `count` GET requests with `concurrency` at a time; returns how many each version
/// answered (by the `x-slipway-version` header, checked against the body the backend sent).
pub async fn spread(
    proxy: &ProxyHandle,
    count: usize,
    concurrency: usize,
) -> BTreeMap<String, usize> {
    let client = client();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let next = Arc::clone(&next);
        let url = url(proxy, "/");
        tasks.push(tokio::spawn(async move {
            let mut seen = BTreeMap::<String, usize>::new();
            while next.fetch_add(1, Ordering::SeqCst) < count as u64 {
                let response = client.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                let version = version_of(&response);
                let body = response.text().await.unwrap();
                assert_eq!(
                    body, version,
                    "the version header names the backend that answered"
                );
                *seen.entry(version).or_default() += 1;
            }
            seen
        }));
    }
    let mut total = BTreeMap::new();
    for task in tasks {
        for (version, n) in task.await.unwrap() {
            *total.entry(version).or_default() += n;
        }
    }
    total
}

pub fn version_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-slipway-version")
        .expect("x-slipway-version on every response")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Where test tools live: `$SLIPWAY_TEST_TOOLS`, else `<target dir>/test-tools`.
pub fn test_tools() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLIPWAY_TEST_TOOLS") {
        return PathBuf::from(dir);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let tools = target.join("test-tools");
    if tools.exists() {
        tools
    } else {
        workspace.join("target/test-tools")
    }
}

/// `Some(path)` of a tool, or `None` after printing the skip notice; panics under `CI=true`.
pub fn require_tool(name: &str, path: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(path) = path.filter(|p| p.exists()) {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{name} is required under CI=true (run scripts/deps/rollout.sh)");
    }
    eprintln!("skipped: {name} not installed (run scripts/deps/install.sh)");
    None
}

/// A Debian binary on PATH.
pub fn on_path(binary: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(binary))
            .find(|candidate| candidate.is_file())
    })
}
