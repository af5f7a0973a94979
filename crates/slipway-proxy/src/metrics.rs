//! Per-version RED metrics: counters and a latency histogram in atomics (the request path takes
//! no lock for them), the recent-traffic ring, and the Prometheus text exposition (format 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use hyper::StatusCode;
use serde::Serialize;
use tokio::sync::Notify;

use crate::routes::{FULL_WEIGHT_BP, Routes};
use crate::window::{RETENTION, SampleRing, TrafficWindow, epoch_millis};

/// Upper bounds of the latency histogram's buckets, in nanoseconds (Prometheus' classic
/// 1 ms .. 10 s series); one more bucket counts everything above 10 s.
const BUCKET_BOUNDS_NANOS: [u64; 13] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];
const BUCKETS: usize = BUCKET_BOUNDS_NANOS.len() + 1;

/// The status classes counted, in the order of `VersionMetrics::by_class`.
const CLASS_LABELS: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// Why a request to an instance failed, for the upstream error counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UpstreamFailure {
    /// The instance refused (or did not accept in time) the connection.
    Connect,
    /// No response head within `upstream_timeout`.
    Timeout,
    /// The connection broke or the response could not be read.
    Protocol,
}

const FAILURE_LABELS: [&str; 3] = ["connect", "timeout", "protocol"];

/// Cumulative counts of one version since the proxy started.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VersionTotals {
    /// Requests answered (any status), the proxy's own 502/504 included.
    pub requests: u64,
    /// Requests answered with a 5xx status, the proxy's own 502/504 included.
    pub errors_5xx: u64,
    /// Requests answered, by status class.
    pub by_class: StatusClasses,
    /// Requests whose client went away before the response head.
    pub cancelled: u64,
    /// Connection attempts an instance refused or did not accept in time (each one counts,
    /// also when a retry on another instance then answered).
    pub upstream_connect_errors: u64,
    /// Requests answered 504 because no response head came within `upstream_timeout`.
    pub upstream_timeouts: u64,
    /// Requests answered 502 because the exchange with the instance broke.
    pub upstream_protocol_errors: u64,
    /// Latency of answered requests, from the request to the response's last byte.
    pub latency: LatencyHistogram,
}

/// Requests by status class (1xx finals count as 2xx).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusClasses {
    /// 1xx and 2xx.
    pub success_2xx: u64,
    /// 3xx.
    pub redirect_3xx: u64,
    /// 4xx.
    pub client_error_4xx: u64,
    /// 5xx.
    pub server_error_5xx: u64,
}

/// A latency histogram with Prometheus' cumulative buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyHistogram {
    /// Cumulative buckets, `le` ascending; the last one is `+Inf` (`f64::INFINITY`).
    pub buckets: Vec<HistogramBucket>,
    /// Observations (equal to the `+Inf` bucket).
    pub count: u64,
    /// Sum of all observations in seconds.
    pub sum_seconds: f64,
}

/// One cumulative histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistogramBucket {
    /// Upper bound in seconds (inclusive).
    pub le_seconds: f64,
    /// Observations at or below `le_seconds`.
    pub cumulative_count: u64,
}

impl LatencyHistogram {
    /// The bucket `(lower, upper]` in seconds that holds the `quantile` (0..=1) observation,
    /// i.e. the histogram's resolution at that quantile; `None` when empty.
    pub fn quantile_bounds(&self, quantile: f64) -> Option<(f64, f64)> {
        if self.count == 0 {
            return None;
        }
        let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut lower = 0.0;
        for bucket in &self.buckets {
            if bucket.cumulative_count >= rank {
                return Some((lower, bucket.le_seconds));
            }
            lower = bucket.le_seconds;
        }
        None
    }
}

/// Totals of a version that never saw a request: zero counts over the usual buckets.
pub(crate) fn empty_totals() -> VersionTotals {
    VersionTotals {
        latency: histogram_from_counts(&[0; BUCKETS], 0),
        ..VersionTotals::default()
    }
}

/// A cumulative histogram from per-bucket counts (the last one above 10 s).
fn histogram_from_counts(counts: &[u64; BUCKETS], sum_nanos: u64) -> LatencyHistogram {
    let mut cumulative = 0;
    let mut buckets = Vec::with_capacity(BUCKETS);
    for (index, count) in counts.iter().enumerate() {
        cumulative += count;
        let le_seconds = BUCKET_BOUNDS_NANOS
            .get(index)
            .map_or(f64::INFINITY, |&nanos| nanos as f64 / 1e9);
        buckets.push(HistogramBucket {
            le_seconds,
            cumulative_count: cumulative,
        });
    }
    LatencyHistogram {
        buckets,
        count: cumulative,
        sum_seconds: sum_nanos as f64 / 1e9,
    }
}

/// Requests in flight through one version or one instance, and a way to wait until none is.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicU64,
    /// Woken each time `count` drops to zero.
    idle: Notify,
}

impl InFlight {
    fn enter(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn leave(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until nothing is in flight, at most `timeout`.
    pub(crate) async fn drained(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a drop to zero in between still wakes us.
            notified.as_mut().enable();
            if self.get() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.get() == 0;
            }
        }
    }
}

/// The live metrics of one version.
pub(crate) struct VersionMetrics {
    /// `environment="…",version="…"`, escaped once.
    labels: String,
    by_class: [AtomicU64; 4],
    cancelled: AtomicU64,
    upstream_failures: [AtomicU64; 3],
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
    in_flight: InFlight,
    last_activity_ms: AtomicU64,
    recent: SampleRing,
}

impl VersionMetrics {
    pub(crate) fn new(environment: &str, version: &str) -> Self {
        let mut labels = String::new();
        labels.push_str("environment=\"");
        escape_label_value(environment, &mut labels);
        labels.push_str("\",version=\"");
        escape_label_value(version, &mut labels);
        labels.push('"');
        VersionMetrics {
            labels,
            by_class: Default::default(),
            cancelled: AtomicU64::new(0),
            upstream_failures: Default::default(),
            buckets: Default::default(),
            sum_nanos: AtomicU64::new(0),
            in_flight: InFlight::default(),
            last_activity_ms: AtomicU64::new(epoch_millis(SystemTime::now())),
            recent: SampleRing::new(),
        }
    }

    /// Starts timing one request sent to `instance`; it counts as in flight, for the version
    /// and for the instance, until the timer is dropped.
    pub(crate) fn start(self: &Arc<Self>, instance: &Arc<InFlight>) -> RequestTimer {
        self.in_flight.enter();
        instance.enter();
        RequestTimer {
            metrics: Arc::clone(self),
            instance: Arc::clone(instance),
            started: Instant::now(),
            status: None,
        }
    }

    pub(crate) fn upstream_failure(&self, failure: UpstreamFailure) {
        let index = failure as usize;
        if let Some(counter) = self.upstream_failures.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight.get()
    }

    fn finish(&self, status: Option<StatusCode>, elapsed: Duration) {
        let now = SystemTime::now();
        match status {
            Some(status) => {
                let class = usize::from(status.as_u16() / 100).clamp(2, 5) - 2;
                if let Some(counter) = self.by_class.get(class) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                let bucket = BUCKET_BOUNDS_NANOS
                    .iter()
                    .position(|&bound| nanos <= bound)
                    .unwrap_or(BUCKETS - 1);
                if let Some(counter) = self.buckets.get(bucket) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
                self.recent.record(now, elapsed, status.is_server_error());
            }
            None => {
                self.cancelled.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.last_activity_ms
            .store(epoch_millis(now), Ordering::Relaxed);
        self.in_flight.leave();
    }

    /// Waits until no request of this version is in flight, at most `timeout`.
    pub(crate) async fn drained(&self, timeout: Duration) -> bool {
        self.in_flight.drained(timeout).await
    }

    pub(crate) fn window(&self, since: SystemTime) -> TrafficWindow {
        self.recent.window(since, SystemTime::now())
    }

    pub(crate) fn totals(&self) -> VersionTotals {
        let by_class = self.by_class.each_ref().map(|c| c.load(Ordering::Relaxed));
        let [
            success_2xx,
            redirect_3xx,
            client_error_4xx,
            server_error_5xx,
        ] = by_class;
        let [connect, timeout, protocol] = self
            .upstream_failures
            .each_ref()
            .map(|c| c.load(Ordering::Relaxed));
        VersionTotals {
            requests: by_class.iter().sum(),
            errors_5xx: server_error_5xx,
            by_class: StatusClasses {
                success_2xx,
                redirect_3xx,
                client_error_4xx,
                server_error_5xx,
            },
            cancelled: self.cancelled.load(Ordering::Relaxed),
            upstream_connect_errors: connect,
            upstream_timeouts: timeout,
            upstream_protocol_errors: protocol,
            latency: self.histogram(),
        }
    }

    fn histogram(&self) -> LatencyHistogram {
        let counts = self.buckets.each_ref().map(|c| c.load(Ordering::Relaxed));
        histogram_from_counts(&counts, self.sum_nanos.load(Ordering::Relaxed))
    }

    fn idle_since(&self, now_ms: u64) -> Option<Duration> {
        if self.in_flight() > 0 {
            return None;
        }
        let last = self.last_activity_ms.load(Ordering::Relaxed);
        Some(Duration::from_millis(now_ms.saturating_sub(last)))
    }
}

/// Times one request and records it when dropped: answered with the status set by
/// [`RequestTimer::answered`], or cancelled when no status was set.
pub(crate) struct RequestTimer {
    metrics: Arc<VersionMetrics>,
    instance: Arc<InFlight>,
    started: Instant,
    status: Option<StatusCode>,
}

impl RequestTimer {
    pub(crate) fn answered(&mut self, status: StatusCode) {
        self.status = Some(status);
    }

    pub(crate) fn metrics(&self) -> &VersionMetrics {
        &self.metrics
    }

    /// The request went on to another instance (a retry after a refused connection).
    pub(crate) fn moved_to(&mut self, instance: &Arc<InFlight>) {
        instance.enter();
        std::mem::replace(&mut self.instance, Arc::clone(instance)).leave();
    }
}

impl Drop for RequestTimer {
    fn drop(&mut self) {
        self.instance.leave();
        self.metrics.finish(self.status, self.started.elapsed());
    }
}

/// Every version's metrics of one proxy, by version name.
pub(crate) struct Registry {
    environment: String,
    versions: Mutex<BTreeMap<String, Arc<VersionMetrics>>>,
    /// Requests in flight per instance address, kept across route changes so an instance
    /// taken out of the routes can be drained.
    instances: Mutex<BTreeMap<SocketAddr, Arc<InFlight>>>,
}

impl Registry {
    pub(crate) fn new(environment: &str) -> Self {
        Registry {
            environment: environment.to_owned(),
            versions: Mutex::new(BTreeMap::new()),
            instances: Mutex::new(BTreeMap::new()),
        }
    }

    fn versions(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<VersionMetrics>>> {
        self.versions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The metrics of `version`, created on first use.
    pub(crate) fn metrics_for(&self, version: &str) -> Arc<VersionMetrics> {
        let mut versions = self.versions();
        if let Some(metrics) = versions.get(version) {
            return Arc::clone(metrics);
        }
        let metrics = Arc::new(VersionMetrics::new(&self.environment, version));
        versions.insert(version.to_owned(), Arc::clone(&metrics));
        metrics
    }

    fn instances(&self) -> std::sync::MutexGuard<'_, BTreeMap<SocketAddr, Arc<InFlight>>> {
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The in-flight count of the instance at `addr`, created on first use.
    pub(crate) fn instance(&self, addr: SocketAddr) -> Arc<InFlight> {
        Arc::clone(self.instances().entry(addr).or_default())
    }

    /// The in-flight count of the instance at `addr`, if it ever was routed to.
    pub(crate) fn get_instance(&self, addr: SocketAddr) -> Option<Arc<InFlight>> {
        self.instances().get(&addr).cloned()
    }

    pub(crate) fn get(&self, version: &str) -> Option<Arc<VersionMetrics>> {
        self.versions().get(version).cloned()
    }

    /// All versions with metrics, by name.
    pub(crate) fn all(&self) -> Vec<(String, Arc<VersionMetrics>)> {
        self.versions()
            .iter()
            .map(|(version, metrics)| (version.clone(), Arc::clone(metrics)))
            .collect()
    }

    /// Forgets versions that left the routes, have nothing in flight and saw no request for
    /// longer than windows reach back, so memory stays bounded over many releases.
    pub(crate) fn prune(&self, routes: &Routes) {
        let now_ms = epoch_millis(SystemTime::now());
        self.versions().retain(|version, metrics| {
            routes.weight_bp(version).is_some()
                || metrics
                    .idle_since(now_ms)
                    .is_none_or(|idle| idle <= RETENTION)
        });
        let routed: std::collections::BTreeSet<SocketAddr> = routes
            .backends
            .iter()
            .flat_map(|backend| backend.instances.iter().copied())
            .collect();
        self.instances()
            .retain(|addr, in_flight| routed.contains(addr) || in_flight.get() > 0);
    }

    /// The Prometheus text exposition (format 0.0.4) of every version.
    pub(crate) fn prometheus_text(&self, routes: &Routes) -> String {
        let versions = self.all();
        let totals: Vec<(String, Arc<VersionMetrics>, VersionTotals)> = versions
            .into_iter()
            .map(|(version, metrics)| {
                let totals = metrics.totals();
                (version, metrics, totals)
            })
            .collect();
        let mut out = String::with_capacity(1024 + totals.len() * 2048);

        family(
            &mut out,
            "slipway_proxy_requests_total",
            "Requests answered by the proxy, by version and status class (the proxy's own 502/504 included).",
            "counter",
        );
        for (_, metrics, totals) in &totals {
            let by_class = [
                totals.by_class.success_2xx,
                totals.by_class.redirect_3xx,
                totals.by_class.client_error_4xx,
                totals.by_class.server_error_5xx,
            ];
            for (code, count) in CLASS_LABELS.iter().zip(by_class) {
                let _ = writeln!(
                    out,
                    "slipway_proxy_requests_total{{{},code=\"{code}\"}} {count}",
                    metrics.labels
                );
            }
        }

        family(
            &mut out,
            "slipway_proxy_request_duration_seconds",
            "Time from receiving a request to sending the last byte of its response.",
            "histogram",
        );
        for (_, metrics, totals) in &totals {
            for bucket in &totals.latency.buckets {
                let le = if bucket.le_seconds.is_finite() {
                    bucket.le_seconds.to_string()
                } else {
                    "+Inf".to_owned()
                };
                let _ = writeln!(
                    out,
                    "slipway_proxy_request_duration_seconds_bucket{{{},le=\"{le}\"}} {}",
                    metrics.labels, bucket.cumulative_count
                );
            }
            let _ = writeln!(
                out,
                "slipway_proxy_request_duration_seconds_sum{{{}}} {}",
                metrics.labels, totals.latency.sum_seconds
            );
            let _ = writeln!(
                out,
                "slipway_proxy_request_duration_seconds_count{{{}}} {}",
                metrics.labels, totals.latency.count
            );
        }

        family(
            &mut out,
            "slipway_proxy_in_flight",
            "Requests of the version being answered right now.",
            "gauge",
        );
        for (_, metrics, _) in &totals {
            let _ = writeln!(
                out,
                "slipway_proxy_in_flight{{{}}} {}",
                metrics.labels,
                metrics.in_flight()
            );
        }

        family(
            &mut out,
            "slipway_proxy_route_weight",
            "Share of new requests routed to the version, 0..1.",
            "gauge",
        );
        for (version, metrics, _) in &totals {
            let weight =
                f64::from(routes.weight_bp(version).unwrap_or(0)) / f64::from(FULL_WEIGHT_BP);
            let _ = writeln!(
                out,
                "slipway_proxy_route_weight{{{}}} {weight}",
                metrics.labels
            );
        }

        family(
            &mut out,
            "slipway_proxy_upstream_errors_total",
            "Failed exchanges with the version's instances, by kind (connect: refused or not accepted in time; timeout: no response head in time; protocol: the exchange broke).",
            "counter",
        );
        for (_, metrics, totals) in &totals {
            let counts = [
                totals.upstream_connect_errors,
                totals.upstream_timeouts,
                totals.upstream_protocol_errors,
            ];
            for (kind, count) in FAILURE_LABELS.iter().zip(counts) {
                let _ = writeln!(
                    out,
                    "slipway_proxy_upstream_errors_total{{{},kind=\"{kind}\"}} {count}",
                    metrics.labels
                );
            }
        }

        family(
            &mut out,
            "slipway_proxy_requests_cancelled_total",
            "Requests whose client went away before the response head.",
            "counter",
        );
        for (_, metrics, totals) in &totals {
            let _ = writeln!(
                out,
                "slipway_proxy_requests_cancelled_total{{{}}} {}",
                metrics.labels, totals.cancelled
            );
        }
        out
    }
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value for the text format: backslash, double quote and line feed.
pub(crate) fn escape_label_value(value: &str, out: &mut String) {
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape_label_value("a\\b\"c\nd", &mut out);
        assert_eq!(out, "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn observations_land_in_the_right_bucket() {
        let metrics = Arc::new(VersionMetrics::new("e", "v"));
        for (status, millis) in [(200, 1), (200, 3), (503, 30), (404, 20_000)] {
            let metrics = Arc::clone(&metrics);
            let mut timer = metrics.start(&Arc::default());
            timer.answered(StatusCode::from_u16(status).unwrap());
            // Backdate the start instead of sleeping.
            timer.started = Instant::now() - Duration::from_millis(millis);
        }
        let totals = metrics.totals();
        assert_eq!(totals.requests, 4);
        assert_eq!(totals.errors_5xx, 1);
        assert_eq!(totals.by_class.client_error_4xx, 1);
        let cumulative: Vec<u64> = totals
            .latency
            .buckets
            .iter()
            .map(|b| b.cumulative_count)
            .collect();
        // le: 1ms 2.5 5 10 25 50 100 250 500 1s 2.5 5 10 +Inf; 1 ms is just above 1 ms once
        // the timer's own time is added, so it lands in 2.5 ms.
        assert_eq!(cumulative, vec![0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4]);
        assert_eq!(totals.latency.count, 4);
        assert_eq!(totals.latency.quantile_bounds(0.5), Some((0.0025, 0.005)));
        assert_eq!(
            totals.latency.quantile_bounds(1.0),
            Some((10.0, f64::INFINITY))
        );
        assert_eq!(metrics.in_flight(), 0);
    }

    #[test]
    fn a_timer_without_status_counts_as_cancelled() {
        let metrics = Arc::new(VersionMetrics::new("e", "v"));
        drop(metrics.start(&Arc::default()));
        let totals = metrics.totals();
        assert_eq!((totals.requests, totals.cancelled), (0, 1));
    }

    #[tokio::test]
    async fn drained_waits_for_the_last_request() {
        let metrics = Arc::new(VersionMetrics::new("e", "v"));
        assert!(metrics.drained(Duration::from_millis(1)).await);
        let instance = Arc::new(InFlight::default());
        let other = Arc::new(InFlight::default());
        let mut timer = metrics.start(&instance);
        assert!(!metrics.drained(Duration::from_millis(20)).await);
        assert!(!instance.drained(Duration::from_millis(20)).await);
        // A retry moves the request: the first instance is drained, the other is not.
        timer.moved_to(&other);
        assert!(instance.drained(Duration::from_millis(1)).await);
        assert_eq!(other.get(), 1);
        let waiter = {
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move { metrics.drained(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(timer);
        assert!(waiter.await.unwrap());
        assert_eq!(other.get(), 0);
    }
}
