//! Routing and the endpoints, including the fault injection that canary
//! analysis tests rely on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::{Config, Latency};
use crate::http::{json_escape, parse_query, Request, Response};
use crate::rng::XorShift64;

/// State shared by all connections.
pub struct App {
    version: String,
    error_rate: f64,
    latency: Latency,
    rng: Mutex<XorShift64>,
    started: Instant,
    served: AtomicU64,
    ready: AtomicBool,
    starts_ready: bool,
    /// `Bearer <HELLO_API_KEY>`, the `Authorization` value `/api/*` requires when set.
    expected_authorization: Option<String>,
}

enum Route {
    Health,
    Ready,
    Hello,
    Info,
}

impl App {
    /// `seed` is passed resolved (rather than read from `config.seed`) so the
    /// caller can log the seed it chose from the clock.
    pub fn new(config: &Config, seed: u64) -> App {
        App {
            version: config.version.clone(),
            error_rate: config.error_rate,
            latency: config.latency,
            rng: Mutex::new(XorShift64::new(seed)),
            started: Instant::now(),
            served: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            starts_ready: config.ready,
            expected_authorization: config
                .api_key
                .as_ref()
                .map(|key| format!("Bearer {}", key.0)),
        }
    }

    /// Whether the server marks itself ready once it accepts connections
    /// (`HELLO_READY=false` keeps it unready, for rollout tests).
    pub fn starts_ready(&self) -> bool {
        self.starts_ready
    }

    /// `/readyz` answers 503 until this is set; the server sets it once it
    /// is accepting connections.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn handle(&self, req: &Request) -> Response {
        let served = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        let route = match req.path.as_str() {
            "/healthz" => Route::Health,
            "/readyz" => Route::Ready,
            "/api/hello" => Route::Hello,
            "/api/info" => Route::Info,
            _ => return Response::error(404, "not found"),
        };
        if req.method != "GET" && req.method != "HEAD" {
            let mut response = Response::error(405, "method not allowed");
            response.allow = Some("GET, HEAD");
            return response;
        }
        match route {
            Route::Health => Response::text(200, "ok"),
            Route::Ready if self.ready.load(Ordering::Relaxed) => Response::text(200, "ready"),
            Route::Ready => Response::text(503, "not ready"),
            Route::Hello | Route::Info if !self.authorized(req) => {
                Response::error(401, "missing or wrong API key (Authorization: Bearer ...)")
            }
            Route::Hello => self.api(|| self.hello(req)),
            Route::Info => self.api(|| self.info(served)),
        }
    }

    /// Whether the request may use `/api/*`: always without `HELLO_API_KEY`, otherwise only
    /// with the key. The comparison takes the same time wherever the first difference is.
    fn authorized(&self, req: &Request) -> bool {
        let Some(expected) = &self.expected_authorization else {
            return true;
        };
        let given = req.authorization.as_deref().unwrap_or("").as_bytes();
        let expected = expected.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |difference, (a, b)| difference | (a ^ b))
                == 0
    }

    /// Applies the configured latency and error rate around an `/api/*`
    /// handler. Probes stay fast and healthy on purpose: a "bad release"
    /// should fail its canary analysis, not its health checks.
    fn api(&self, respond: impl FnOnce() -> Response) -> Response {
        let (fail, delay) = self.draw_faults();
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        if fail {
            Response::error(500, "injected failure (HELLO_ERROR_RATE)")
        } else {
            respond()
        }
    }

    fn draw_faults(&self) -> (bool, Duration) {
        // Poisoning cannot leave the generator inconsistent; keep serving.
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let fail = rng.next_f64() < self.error_rate;
        let Latency { min_ms, max_ms } = self.latency;
        let delay_ms = if min_ms == max_ms {
            min_ms
        } else {
            rng.between(min_ms, max_ms)
        };
        (fail, Duration::from_millis(delay_ms))
    }

    fn hello(&self, req: &Request) -> Response {
        let Ok(params) = parse_query(req.query.as_deref().unwrap_or("")) else {
            return Response::error(400, "invalid query string");
        };
        let name = params
            .iter()
            .find(|(key, _)| key == "name")
            .map(|(_, value)| value.as_str())
            .filter(|name| !name.is_empty())
            .unwrap_or("world");
        Response::json(
            200,
            format!(
                r#"{{"message":"hello, {}","version":"{}"}}"#,
                json_escape(name),
                json_escape(&self.version)
            ),
        )
    }

    fn info(&self, served: u64) -> Response {
        Response::json(
            200,
            format!(
                r#"{{"version":"{}","uptime_seconds":{},"requests_served":{}}}"#,
                json_escape(&self.version),
                self.started.elapsed().as_secs(),
                served
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(config: Config) -> App {
        let app = App::new(&config, 42);
        app.set_ready(true);
        app
    }

    fn get(app: &App, target: &str) -> Response {
        request(app, "GET", target)
    }

    fn request(app: &App, method: &str, target: &str) -> Response {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (target, None),
        };
        app.handle(&Request {
            method: method.to_string(),
            path: path.to_string(),
            query,
            keep_alive: true,
            authorization: None,
        })
    }

    #[test]
    fn api_key_guards_the_api_but_not_the_probes() {
        let app = app(Config {
            api_key: Some(crate::config::ApiKey("s3cret-key".into())),
            ..Config::default()
        });
        let with = |authorization: Option<&str>| {
            app.handle(&Request {
                method: "GET".into(),
                path: "/api/hello".into(),
                query: None,
                keep_alive: true,
                authorization: authorization.map(str::to_string),
            })
            .status
        };
        assert_eq!(with(None), 401);
        assert_eq!(with(Some("Bearer s3cret-kez")), 401);
        assert_eq!(with(Some("Bearer s3cret-key-longer")), 401);
        assert_eq!(with(Some("Bearer s3cret-key")), 200);
        assert_eq!(get(&app, "/api/info").status, 401);
        assert_eq!(get(&app, "/healthz").status, 200);
        assert_eq!(get(&app, "/readyz").status, 200);
    }

    fn versioned(version: &str) -> Config {
        Config {
            version: version.to_string(),
            ..Config::default()
        }
    }

    #[test]
    fn probes() {
        let app = app(Config::default());
        assert_eq!(get(&app, "/healthz"), Response::text(200, "ok"));
        assert_eq!(get(&app, "/readyz").status, 200);
        app.set_ready(false);
        assert_eq!(get(&app, "/readyz").status, 503);
        assert_eq!(get(&app, "/healthz").status, 200);
    }

    #[test]
    fn hello() {
        let app = app(versioned("1.2.3"));
        let body = |target| get(&app, target).body;
        assert_eq!(
            body("/api/hello"),
            r#"{"message":"hello, world","version":"1.2.3"}"#
        );
        assert_eq!(
            body("/api/hello?name="),
            r#"{"message":"hello, world","version":"1.2.3"}"#
        );
        assert_eq!(
            body("/api/hello?name=Ada+Lovelace"),
            r#"{"message":"hello, Ada Lovelace","version":"1.2.3"}"#
        );
        assert_eq!(
            body("/api/hello?x=1&name=%22quoted%22%5C%0A"),
            r#"{"message":"hello, \"quoted\"\\\n","version":"1.2.3"}"#
        );
        let response = get(&app, "/api/hello");
        assert_eq!(response.status, 200);
        assert_eq!(response.content_type, "application/json");
        assert_eq!(get(&app, "/api/hello?name=%zz").status, 400);
    }

    #[test]
    fn version_is_escaped_too() {
        let app = app(versioned("v\"1\""));
        assert!(get(&app, "/api/hello")
            .body
            .contains(r#""version":"v\"1\"""#));
    }

    #[test]
    fn info_counts_requests() {
        let app = app(versioned("9"));
        get(&app, "/healthz");
        get(&app, "/nope");
        assert_eq!(
            get(&app, "/api/info").body,
            r#"{"version":"9","uptime_seconds":0,"requests_served":3}"#
        );
    }

    #[test]
    fn unknown_paths_and_methods() {
        let app = app(Config::default());
        let not_found = get(&app, "/api/hello/extra");
        assert_eq!(not_found.status, 404);
        assert_eq!(not_found.body, r#"{"error":"not found"}"#);
        assert_eq!(get(&app, "/").status, 404);
        assert_eq!(request(&app, "DELETE", "/nope").status, 404);

        let wrong = request(&app, "POST", "/api/hello");
        assert_eq!(wrong.status, 405);
        assert_eq!(wrong.allow, Some("GET, HEAD"));
        assert_eq!(request(&app, "get", "/healthz").status, 405);
        assert_eq!(request(&app, "HEAD", "/healthz").status, 200);
    }

    fn with_error_rate(rate: f64) -> App {
        app(Config {
            error_rate: rate,
            ..Config::default()
        })
    }

    fn failures(app: &App, draws: usize) -> usize {
        (0..draws).filter(|_| app.draw_faults().0).count()
    }

    #[test]
    fn error_rate_sampling() {
        assert_eq!(failures(&with_error_rate(0.0), 10_000), 0);
        assert_eq!(failures(&with_error_rate(1.0), 10_000), 10_000);
        // 0.1 over 10,000 draws: standard deviation is 30, so ±150 is 5σ.
        let failed = failures(&with_error_rate(0.1), 10_000);
        assert!((850..=1150).contains(&failed), "{failed} failures");
    }

    #[test]
    fn error_rate_is_deterministic_for_a_seed() {
        let pattern = |app: &App| (0..64).map(|_| app.draw_faults().0).collect::<Vec<_>>();
        assert_eq!(
            pattern(&with_error_rate(0.5)),
            pattern(&with_error_rate(0.5))
        );
    }

    #[test]
    fn injected_errors_hit_api_routes_only() {
        let app = with_error_rate(1.0);
        let hello = get(&app, "/api/hello");
        assert_eq!(hello.status, 500);
        assert!(hello.body.contains("HELLO_ERROR_RATE"));
        assert_eq!(get(&app, "/api/info").status, 500);
        assert_eq!(get(&app, "/healthz").status, 200);
        assert_eq!(get(&app, "/readyz").status, 200);
        assert_eq!(get(&app, "/missing").status, 404);
    }

    #[test]
    fn latency_draws_stay_in_range() {
        let app = app(Config {
            latency: Latency {
                min_ms: 20,
                max_ms: 50,
            },
            ..Config::default()
        });
        let delays: Vec<u64> = (0..1_000)
            .map(|_| app.draw_faults().1.as_millis() as u64)
            .collect();
        assert!(delays.iter().all(|d| (20..=50).contains(d)));
        assert!(delays.contains(&20) && delays.contains(&50));

        let fixed = app_with_fixed_latency(7);
        assert_eq!(fixed.draw_faults().1, Duration::from_millis(7));
    }

    fn app_with_fixed_latency(ms: u64) -> App {
        app(Config {
            latency: Latency {
                min_ms: ms,
                max_ms: ms,
            },
            ..Config::default()
        })
    }

    #[test]
    fn latency_is_applied_to_api_routes() {
        let app = app_with_fixed_latency(200);
        let started = Instant::now();
        assert_eq!(get(&app, "/healthz").status, 200);
        assert!(started.elapsed() < Duration::from_millis(200));
        assert_eq!(get(&app, "/api/hello").status, 200);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
