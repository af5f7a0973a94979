//! The built-in HTTP reverse proxy: exact weighted routing between versions, stickiness,
//! per-version RED metrics.
//!
//! One proxy runs in front of each environment. [`start`] binds it with its first [`Routes`];
//! the returned [`ProxyHandle`] changes the routes at runtime ([`ProxyHandle::set_routes`] is
//! an atomic swap: the very next request sees the new weights, requests already in flight
//! finish on the instance they started on) and reads each version's traffic
//! ([`ProxyHandle::window`], [`ProxyHandle::totals`], [`ProxyHandle::prometheus_text`]).
//!
//! Weights are exact: ordinary requests follow a smooth weighted round-robin over versions, so
//! every 10,000 consecutive requests give each version exactly its `weight_bp` of them (and 1%
//! is one request in every 100). Sticky requests (a header or cookie, see [`Stickiness`]) hash
//! to one of 10,000 buckets mapped onto the versions by cumulative weight, newest version
//! first, so a client on the canary stays there while its weight grows.
//!
//! Each response carries `x-slipway-version: <version>`. When no instance of the chosen
//! version answers, the proxy answers 502 (connection refused or broken) or 504 (no response
//! head within `upstream_timeout`), and counts it as that version's 5xx.
#![warn(missing_docs)]

mod error;
mod forward;
mod metrics;
mod routes;
mod server;
mod window;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::{ProxyError, RouteError};
pub use forward::VERSION_HEADER;
pub use metrics::{HistogramBucket, LatencyHistogram, StatusClasses, VersionTotals};
pub use routes::{Backend, FULL_WEIGHT_BP, Routes, Stickiness};
pub use window::{MAX_WINDOW_SAMPLES, RETENTION, SAMPLES_PER_SLOT, SLOT, TrafficWindow};

use forward::{ClientConnection, Forwarder, ProxyBody};
use metrics::{Registry, VersionMetrics};
use routes::{RouteTable, StickyKey};

/// How long [`ProxyHandle::shutdown`] lets open exchanges finish before cutting them.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Configuration of one environment's proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The environment's name: the `environment` label of every metric.
    pub environment: String,
    /// Where clients connect; port 0 picks a free port (see [`ProxyHandle::address`]).
    pub listen: SocketAddr,
    /// Where `GET /metrics` (Prometheus text 0.0.4) and `GET /api/versions` (JSON, see
    /// [`VersionsSnapshot`]) are served; `None` serves neither.
    pub admin_listen: Option<SocketAddr>,
    /// How clients are pinned to a version; `None` routes every request by weight.
    pub stickiness: Option<Stickiness>,
    /// Longest wait for one instance to accept the connection and send the response head;
    /// past it the client gets 504.
    pub upstream_timeout: Duration,
}

impl ProxyConfig {
    /// A configuration with no admin listener, no stickiness and a 30 s upstream timeout.
    pub fn new(environment: impl Into<String>, listen: SocketAddr) -> Self {
        ProxyConfig {
            environment: environment.into(),
            listen,
            admin_listen: None,
            stickiness: None,
            upstream_timeout: Duration::from_secs(30),
        }
    }
}

/// Every version the proxy knows of, as served by `GET /api/versions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionsSnapshot {
    /// The environment's name.
    pub environment: String,
    /// Routed versions in route order, then versions that left the routes but still have
    /// recent traffic, by name.
    pub versions: Vec<VersionSnapshot>,
}

/// One version in a [`VersionsSnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionSnapshot {
    /// The version.
    pub version: String,
    /// Its current weight (0 when not routed).
    pub weight_bp: u32,
    /// Whether the current routes list it.
    pub routed: bool,
    /// Its instances in the current routes.
    pub instances: Vec<SocketAddr>,
    /// Requests being answered right now.
    pub in_flight: u64,
    /// Cumulative counts (in JSON the `+Inf` bucket's bound is `null`).
    pub totals: VersionTotals,
    /// The last 60 seconds.
    pub last_minute: WindowSummary,
}

/// A [`TrafficWindow`] without its raw samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSummary {
    /// Requests answered.
    pub requests: u64,
    /// Requests answered with a 5xx status.
    pub errors_5xx: u64,
    /// Median latency in milliseconds.
    pub p50_ms: Option<f64>,
    /// 95th percentile latency in milliseconds.
    pub p95_ms: Option<f64>,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: Option<f64>,
}

impl From<&TrafficWindow> for WindowSummary {
    fn from(window: &TrafficWindow) -> Self {
        WindowSummary {
            requests: window.requests,
            errors_5xx: window.errors_5xx,
            p50_ms: window.p50_ms,
            p95_ms: window.p95_ms,
            p99_ms: window.p99_ms,
        }
    }
}

/// What the request path, the admin listener and the handle share.
struct State {
    environment: String,
    forwarder: Forwarder,
    registry: Registry,
}

impl State {
    fn routes(&self) -> Routes {
        self.forwarder.routes.load().routes.clone()
    }

    fn prometheus_text(&self) -> String {
        self.registry
            .prometheus_text(&self.forwarder.routes.load().routes)
    }

    fn snapshot(&self) -> VersionsSnapshot {
        let routes = self.routes();
        let last_minute_start = SystemTime::now()
            .checked_sub(Duration::from_secs(60))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let describe = |version: &str, metrics: &VersionMetrics| {
            let backend = routes.backends.iter().find(|b| b.version == version);
            VersionSnapshot {
                version: version.to_owned(),
                weight_bp: backend.map_or(0, |b| b.weight_bp),
                routed: backend.is_some(),
                instances: backend.map(|b| b.instances.clone()).unwrap_or_default(),
                in_flight: metrics.in_flight(),
                totals: metrics.totals(),
                last_minute: WindowSummary::from(&metrics.window(last_minute_start)),
            }
        };
        let mut versions: Vec<VersionSnapshot> = routes
            .backends
            .iter()
            .map(|backend| {
                describe(
                    &backend.version,
                    &self.registry.metrics_for(&backend.version),
                )
            })
            .collect();
        for (version, metrics) in self.registry.all() {
            if routes.weight_bp(&version).is_none() {
                versions.push(describe(&version, &metrics));
            }
        }
        VersionsSnapshot {
            environment: self.environment.clone(),
            versions,
        }
    }
}

struct Lifecycle {
    /// `Some(grace)` once shutdown began.
    shutdown: watch::Sender<Option<Duration>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// A running proxy. Cheap to clone; every clone controls the same proxy. The proxy runs on
/// the Tokio runtime that started it until [`ProxyHandle::shutdown`] or until that runtime
/// stops; dropping handles does not stop it.
#[derive(Clone)]
pub struct ProxyHandle {
    state: Arc<State>,
    lifecycle: Arc<Lifecycle>,
    address: SocketAddr,
    admin_address: Option<SocketAddr>,
}

/// Starts a proxy for `routes` as configured, on the current Tokio runtime. Returns once
/// both listeners are bound (so [`ProxyHandle::address`] knows the port picked for port 0).
pub async fn start(config: ProxyConfig, routes: Routes) -> Result<ProxyHandle, ProxyError> {
    if config.upstream_timeout.is_zero() {
        return Err(ProxyError::Config {
            field: "upstream_timeout",
            reason: "must be above zero (e.g. 30 s)".to_owned(),
        });
    }
    let sticky = config
        .stickiness
        .as_ref()
        .map(StickyKey::compile)
        .transpose()?;
    let registry = Registry::new(&config.environment);
    let table = RouteTable::compile(
        routes,
        |version| registry.metrics_for(version),
        |addr| registry.instance(addr),
    )?;
    let state = Arc::new(State {
        environment: config.environment.clone(),
        forwarder: Forwarder {
            routes: ArcSwap::from_pointee(table),
            sticky,
            client: forward::upstream_client(config.upstream_timeout),
            upstream_timeout: config.upstream_timeout,
        },
        registry,
    });

    let listener = server::bind("proxy", config.listen).await?;
    let admin_listener = match config.admin_listen {
        Some(addr) => Some(server::bind("admin", addr).await?),
        None => None,
    };
    let local_address = |listener: &tokio::net::TcpListener, addr: SocketAddr, name| {
        listener.local_addr().map_err(|source| ProxyError::Bind {
            listener: name,
            addr,
            source,
        })
    };
    let address = local_address(&listener, config.listen, "proxy")?;
    let admin_address = match (&admin_listener, config.admin_listen) {
        (Some(listener), Some(addr)) => Some(local_address(listener, addr, "admin")?),
        _ => None,
    };

    let (shutdown, shutdown_watch) = watch::channel(None);
    let mut tasks = Vec::with_capacity(2);
    let proxy_state = Arc::clone(&state);
    tasks.push(server::spawn_serve(
        listener,
        shutdown_watch.clone(),
        move |peer| {
            let state = Arc::clone(&proxy_state);
            let connection = Arc::new(ClientConnection::new(peer));
            move |request: Request<Incoming>| {
                let state = Arc::clone(&state);
                let connection = Arc::clone(&connection);
                async move { state.forwarder.handle(&connection, request).await }
            }
        },
    ));
    if let Some(admin_listener) = admin_listener {
        let admin_state = Arc::clone(&state);
        tasks.push(server::spawn_serve(
            admin_listener,
            shutdown_watch,
            move |_peer| {
                let state = Arc::clone(&admin_state);
                move |request: Request<Incoming>| {
                    let state = Arc::clone(&state);
                    async move { admin(&state, &request) }
                }
            },
        ));
    }
    Ok(ProxyHandle {
        state,
        lifecycle: Arc::new(Lifecycle {
            shutdown,
            tasks: Mutex::new(tasks),
        }),
        address,
        admin_address,
    })
}

/// The admin listener: `GET /metrics` and `GET /api/versions`.
fn admin(state: &State, request: &Request<Incoming>) -> Result<Response<ProxyBody>, Infallible> {
    let path = request.uri().path();
    let known = matches!(path, "/metrics" | "/api/versions");
    let response = if !known {
        plain(
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /api/versions\n",
        )
    } else if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET is allowed\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        response
    } else if path == "/metrics" {
        let mut response = Response::new(ProxyBody::local(state.prometheus_text(), None));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    } else {
        match serde_json::to_vec(&state.snapshot()) {
            Ok(json) => {
                let mut response = Response::new(ProxyBody::local(json, None));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(error) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot encode the snapshot: {error}\n"),
            ),
        }
    };
    Ok(response)
}

fn plain(status: StatusCode, text: impl Into<bytes::Bytes>) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::local(text, None));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl ProxyHandle {
    /// The address clients connect to (the port picked when `listen` had port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The environment this proxy serves (the `environment` label of its metrics).
    pub fn environment(&self) -> &str {
        &self.state.environment
    }

    /// The admin listener's address, if configured.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin_address
    }

    /// Replaces the routes atomically. On return every new request sees the new routes;
    /// requests in flight finish on the instance they started on. Invalid routes are refused
    /// and the old ones stay. When the split is unchanged (the same weights in the same order,
    /// e.g. only instances changed), the weighted round-robin continues where it was.
    pub fn set_routes(&self, routes: Routes) -> Result<(), ProxyError> {
        let registry = &self.state.registry;
        let table = RouteTable::compile(
            routes,
            |version| registry.metrics_for(version),
            |addr| registry.instance(addr),
        )?;
        table.continue_from(&self.state.forwarder.routes.load());
        let routes = table.routes.clone();
        self.state.forwarder.routes.store(Arc::new(table));
        registry.prune(&routes);
        Ok(())
    }

    /// The current routes.
    pub fn routes(&self) -> Routes {
        self.state.routes()
    }

    /// The traffic of `version` that finished since `since` (to 100 ms resolution; the slot
    /// holding `since` counts whole), at most [`RETENTION`] back. Empty for an unknown version.
    pub fn window(&self, version: &str, since: SystemTime) -> TrafficWindow {
        self.state
            .registry
            .get(version)
            .map(|metrics| metrics.window(since))
            .unwrap_or_default()
    }

    /// Cumulative counts of `version` since the proxy started (zeros for an unknown version).
    pub fn totals(&self, version: &str) -> VersionTotals {
        match self.state.registry.get(version) {
            Some(metrics) => metrics.totals(),
            None => metrics::empty_totals(),
        }
    }

    /// Requests of `version` being answered right now.
    pub fn in_flight(&self, version: &str) -> u64 {
        self.state
            .registry
            .get(version)
            .map_or(0, |metrics| metrics.in_flight())
    }

    /// Requests being answered right now by the instance at `addr`.
    pub fn instance_in_flight(&self, addr: SocketAddr) -> u64 {
        self.state
            .registry
            .get_instance(addr)
            .map_or(0, |in_flight| in_flight.get())
    }

    /// Waits until no request is in flight at the instance `addr`; `false` if some still were
    /// after `timeout`. Use after taking the instance out of the routes (a rolling update),
    /// before stopping it: the version's other instances keep serving meanwhile.
    pub async fn instance_drained(&self, addr: SocketAddr, timeout: Duration) -> bool {
        match self.state.registry.get_instance(addr) {
            Some(in_flight) => in_flight.drained(timeout).await,
            None => true,
        }
    }

    /// Waits until no request of `version` is in flight; `false` if some still were after
    /// `timeout`. Use after moving a version's weight to 0, before stopping its instances.
    pub async fn drained(&self, version: &str, timeout: Duration) -> bool {
        match self.state.registry.get(version) {
            Some(metrics) => metrics.drained(timeout).await,
            None => true,
        }
    }

    /// Every version's metrics in the Prometheus text format 0.0.4 (what `GET /metrics`
    /// serves).
    pub fn prometheus_text(&self) -> String {
        self.state.prometheus_text()
    }

    /// Every version's weight, instances and traffic (what `GET /api/versions` serves).
    pub fn snapshot(&self) -> VersionsSnapshot {
        self.state.snapshot()
    }

    /// Stops gracefully: stops accepting, lets open exchanges finish for up to
    /// [`DEFAULT_SHUTDOWN_GRACE`], then cuts what remains. Metrics stay readable through
    /// other clones of the handle.
    pub async fn shutdown(self) {
        self.shutdown_within(DEFAULT_SHUTDOWN_GRACE).await;
    }

    /// [`ProxyHandle::shutdown`] with a grace period of `grace`.
    pub async fn shutdown_within(self, grace: Duration) {
        self.lifecycle.shutdown.send_replace(Some(grace));
        let tasks = std::mem::take(
            &mut *self
                .lifecycle
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for task in tasks {
            let _ = task.await;
        }
    }
}
