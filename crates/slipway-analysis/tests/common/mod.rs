//! Shared by the integration tests: finding test tools, a small HTTP server, a traffic source.
#![allow(dead_code)] // each test binary uses a different part

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use slipway_analysis::{TrafficSource, TrafficWindow};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Where `scripts/deps/analysis.sh` installs: `$SLIPWAY_TEST_TOOLS`, else
/// `$CARGO_TARGET_DIR/test-tools`, else the workspace's `target/test-tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools"))
}

/// `Some(value)` when the tool is there; otherwise fails under `CI=true`, or skips with a notice.
pub fn require<T>(tool: &str, found: Option<T>) -> Option<T> {
    if found.is_some() {
        return found;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{tool} not installed (run scripts/deps/install.sh)"
    );
    eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
    None
}

/// What the test server answers: status, content type, body, and a delay before answering.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(body: String) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; version=0.0.4",
            body,
            delay: Duration::ZERO,
        }
    }
}

/// Path → reply, changeable while the server runs.
pub type Routes = Arc<Mutex<HashMap<String, Reply>>>;

/// Starts an HTTP/1 server on 127.0.0.1 with a free port; it lives as long as the runtime.
pub async fn serve(routes: Routes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let routes = routes.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let reply = routes.lock().unwrap().get(request.uri().path()).cloned();
                    async move {
                        let reply = reply.unwrap_or_else(|| Reply::json(404, "{}"));
                        tokio::time::sleep(reply.delay).await;
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(StatusCode::from_u16(reply.status).unwrap())
                                .header("content-type", reply.content_type)
                                .body(Full::new(Bytes::from(reply.body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

/// A traffic source with fixed windows per version, standing in for the proxy's counters.
#[derive(Default)]
pub struct Windows(pub HashMap<String, TrafficWindow>);

impl Windows {
    pub fn with(mut self, version: &str, window: TrafficWindow) -> Windows {
        self.0.insert(version.to_string(), window);
        self
    }
}

impl TrafficSource for Windows {
    fn window(&self, version: &str, _since: SystemTime) -> TrafficWindow {
        self.0.get(version).cloned().unwrap_or_default()
    }
}

/// A window of `requests` requests, `errors` of them 5xx, with these latencies.
pub fn window(requests: u64, errors: u64, latencies_ms: Vec<f64>) -> TrafficWindow {
    TrafficWindow {
        requests,
        errors_5xx: errors,
        latencies_ms,
    }
}

/// Loads a pipeline file and reads `analysis.<name>` of it.
pub fn template_from(yaml: &str, name: &str) -> slipway_analysis::Template {
    let loaded = slipway_pipeline::load("slipway.yml", yaml, &slipway_pipeline::NoTemplates);
    let analyses = loaded
        .pipeline
        .analysis
        .as_ref()
        .expect("an analysis section");
    slipway_analysis::Template::from_pipeline(name, &analyses[name])
        .unwrap_or_else(|error| panic!("{error}"))
}
