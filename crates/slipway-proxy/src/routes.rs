//! Routes (which versions answer, with which weight, on which instances) and how one request
//! picks its version: a precomputed smooth weighted round-robin for ordinary requests, a
//! hash-to-bucket map for sticky ones.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::Authority;
use serde::Serialize;

use crate::error::{ProxyError, RouteError};
use crate::metrics::{InFlight, VersionMetrics};

/// 100% in basis points: the weights of all backends add up to this.
pub const FULL_WEIGHT_BP: u32 = 10_000;

/// Where one environment's traffic goes.
///
/// List backends oldest first: the stable (or blue) version first, the new (canary or green)
/// version last. Sticky clients are assigned from the end of the list backwards, so a client
/// that landed on the newest version stays there while that version's weight grows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routes {
    /// The versions that may answer; weights must sum to [`FULL_WEIGHT_BP`].
    pub backends: Vec<Backend>,
}

/// One version of the service and the instances that run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    /// The version's name, e.g. a release id: the `version` label of every metric and the value
    /// of the `x-slipway-version` response header.
    pub version: String,
    /// Share of the traffic in basis points, `0..=10000` (1 bp = 0.01%). Exact, not rounded to
    /// instances: 100 bp sends exactly 1 request in 100 here.
    pub weight_bp: u32,
    /// Addresses of the version's instances, served round-robin. An instance that refuses the
    /// connection is skipped for that request (idempotent requests without a body are retried
    /// once on the next instance) and counted as an upstream connect error.
    pub instances: Vec<SocketAddr>,
}

/// How a client is pinned to one version across requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stickiness {
    /// The value of this request header (e.g. `x-user-id`) decides the version.
    Header(String),
    /// The value of this cookie decides the version.
    Cookie(String),
}

impl Backend {
    /// A backend of `version` with `weight_bp` basis points over `instances`.
    pub fn new(version: impl Into<String>, weight_bp: u32, instances: Vec<SocketAddr>) -> Self {
        Backend {
            version: version.into(),
            weight_bp,
            instances,
        }
    }
}

impl Routes {
    /// All traffic to one version.
    pub fn single(version: impl Into<String>, instances: Vec<SocketAddr>) -> Self {
        Routes {
            backends: vec![Backend::new(version, FULL_WEIGHT_BP, instances)],
        }
    }

    /// The weight of `version`, if it is listed.
    pub fn weight_bp(&self, version: &str) -> Option<u32> {
        self.backends
            .iter()
            .find(|backend| backend.version == version)
            .map(|backend| backend.weight_bp)
    }

    /// Checks every rule: versions named, distinct and fit for a header; each weight within
    /// `0..=10000`; weights summing to exactly 10000; an instance for every version with a
    /// non-zero weight. No backends at all is valid: nothing serves yet, every request
    /// answers 503.
    pub fn validate(&self) -> Result<(), RouteError> {
        if self.backends.is_empty() {
            return Ok(());
        }
        let mut seen = HashSet::new();
        for (index, backend) in self.backends.iter().enumerate() {
            if backend.version.is_empty() {
                return Err(RouteError::EmptyVersion { index });
            }
            if HeaderValue::from_str(&backend.version).is_err() {
                return Err(RouteError::InvalidVersion {
                    version: backend.version.clone(),
                });
            }
            if !seen.insert(backend.version.as_str()) {
                return Err(RouteError::DuplicateVersion {
                    version: backend.version.clone(),
                });
            }
            if backend.weight_bp > FULL_WEIGHT_BP {
                return Err(RouteError::WeightOutOfRange {
                    version: backend.version.clone(),
                    weight_bp: backend.weight_bp,
                });
            }
        }
        let sum_bp: u64 = self.backends.iter().map(|b| u64::from(b.weight_bp)).sum();
        if sum_bp != u64::from(FULL_WEIGHT_BP) {
            let weights = self
                .backends
                .iter()
                .map(|b| format!("{}={}", b.version, b.weight_bp))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(RouteError::WeightSum { sum_bp, weights });
        }
        if let Some(backend) = self
            .backends
            .iter()
            .find(|b| b.weight_bp > 0 && b.instances.is_empty())
        {
            return Err(RouteError::NoInstances {
                version: backend.version.clone(),
                weight_bp: backend.weight_bp,
            });
        }
        Ok(())
    }
}

/// One instance address, with the URI authority the upstream client needs, built once per
/// route change rather than per request.
pub(crate) struct Instance {
    pub(crate) addr: SocketAddr,
    pub(crate) authority: Authority,
    /// Its requests in flight, shared with the proxy's registry.
    pub(crate) in_flight: Arc<InFlight>,
}

/// A backend as the request path uses it.
pub(crate) struct LiveBackend {
    pub(crate) version_header: HeaderValue,
    pub(crate) instances: Box<[Instance]>,
    next_instance: AtomicUsize,
    pub(crate) metrics: Arc<VersionMetrics>,
}

impl LiveBackend {
    /// The index of the instance for the next request (round-robin).
    pub(crate) fn next_instance(&self) -> usize {
        let len = self.instances.len().max(1);
        self.next_instance.fetch_add(1, Ordering::Relaxed) % len
    }
}

/// Routes compiled for the request path. Swapped whole on every route change, so a request
/// sees either the old table or the new one, never a mix.
pub(crate) struct RouteTable {
    pub(crate) routes: Routes,
    pub(crate) backends: Box<[LiveBackend]>,
    /// One period of the smooth weighted round-robin sequence (backend indices); every window
    /// of `schedule.len()` consecutive picks holds each backend exactly its weight's share.
    schedule: Box<[u32]>,
    cursor: AtomicUsize,
    /// `(end, backend)`: sticky buckets below `end` (and at or above the previous entry's end)
    /// belong to `backend`. Newest backend first.
    sticky_ranges: Box<[(u32, u32)]>,
}

impl RouteTable {
    /// Validates `routes` and builds the table; `metrics_for` supplies each version's metrics
    /// and `in_flight_of` each instance's in-flight count.
    pub(crate) fn compile(
        routes: Routes,
        mut metrics_for: impl FnMut(&str) -> Arc<VersionMetrics>,
        mut in_flight_of: impl FnMut(SocketAddr) -> Arc<InFlight>,
    ) -> Result<Self, ProxyError> {
        routes.validate()?;
        let mut backends = Vec::with_capacity(routes.backends.len());
        for backend in &routes.backends {
            let version_header = HeaderValue::from_str(&backend.version).map_err(|_| {
                RouteError::InvalidVersion {
                    version: backend.version.clone(),
                }
            })?;
            let instances = backend
                .instances
                .iter()
                .map(|&addr| Instance {
                    addr,
                    authority: authority_of(addr),
                    in_flight: in_flight_of(addr),
                })
                .collect();
            backends.push(LiveBackend {
                version_header,
                instances,
                next_instance: AtomicUsize::new(0),
                metrics: metrics_for(&backend.version),
            });
        }
        let weights: Vec<u32> = routes.backends.iter().map(|b| b.weight_bp).collect();
        Ok(RouteTable {
            schedule: smooth_weighted_schedule(&weights).into_boxed_slice(),
            sticky_ranges: sticky_ranges(&weights).into_boxed_slice(),
            cursor: AtomicUsize::new(0),
            backends: backends.into_boxed_slice(),
            routes,
        })
    }

    /// Continues `previous`'s round-robin position when both tables split traffic the same
    /// way (same schedule), so that re-applying the weights, or changing only instances, keeps
    /// every window of 10000 requests exact across the change.
    pub(crate) fn continue_from(&self, previous: &RouteTable) {
        if self.schedule == previous.schedule {
            self.cursor
                .store(previous.cursor.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// The backend for the next non-sticky request.
    pub(crate) fn pick_weighted(&self) -> &LiveBackend {
        let len = self.schedule.len().max(1);
        let position = self.cursor.fetch_add(1, Ordering::Relaxed) % len;
        let index = self.schedule.get(position).copied().unwrap_or(0);
        self.backend(index)
    }

    /// The backend of a sticky client whose key is `key`.
    pub(crate) fn pick_sticky(&self, key: &[u8]) -> &LiveBackend {
        let bucket = sticky_bucket(key);
        let index = self
            .sticky_ranges
            .iter()
            .find(|(end, _)| bucket < *end)
            .or(self.sticky_ranges.last())
            .map_or(0, |&(_, index)| index);
        self.backend(index)
    }

    /// Whether no version serves (the routes are empty).
    pub(crate) fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }

    fn backend(&self, index: u32) -> &LiveBackend {
        let index = usize::try_from(index).unwrap_or(0);
        // Indices come from the compiled weights, so they are in range; callers check
        // `is_empty` first.
        &self.backends[index.min(self.backends.len().saturating_sub(1))]
    }
}

/// `ip:port` (or `[ip6]:port`) as a URI authority. Infallible for a socket address; the
/// fallback keeps this free of panics all the same.
fn authority_of(addr: SocketAddr) -> Authority {
    Authority::from_maybe_shared(Bytes::from(addr.to_string()))
        .unwrap_or_else(|_| Authority::from_static("127.0.0.1"))
}

/// One period of nginx's smooth weighted round-robin over `weights` (indices into `weights`).
///
/// Weights are first divided by their greatest common divisor, so the period is as short as it
/// can be (1% against 99% repeats every 100 picks). Within each period every backend appears
/// exactly its reduced weight times, so every window of `period` consecutive picks, and every
/// window of 10000, holds each backend exactly `weight_bp` times per 10000. Zero weights never
/// appear.
pub(crate) fn smooth_weighted_schedule(weights: &[u32]) -> Vec<u32> {
    let divisor = weights
        .iter()
        .copied()
        .filter(|&w| w > 0)
        .fold(0, greatest_common_divisor);
    if divisor == 0 {
        return Vec::new();
    }
    let reduced: Vec<i64> = weights.iter().map(|&w| i64::from(w / divisor)).collect();
    let period: i64 = reduced.iter().sum();
    let mut current = vec![0_i64; reduced.len()];
    let mut schedule = Vec::with_capacity(usize::try_from(period).unwrap_or(0));
    for _ in 0..period {
        let mut best: Option<usize> = None;
        for (index, weight) in reduced.iter().enumerate() {
            if *weight == 0 {
                continue;
            }
            current[index] += weight;
            if best.is_none_or(|b| current[index] > current[b]) {
                best = Some(index);
            }
        }
        if let Some(best) = best {
            current[best] -= period;
            schedule.push(u32::try_from(best).unwrap_or(0));
        }
    }
    schedule
}

fn greatest_common_divisor(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        greatest_common_divisor(b, a % b)
    }
}

/// Bucket ranges for sticky clients: the last backend gets the lowest buckets, so a client
/// on the newest version stays on it as that version's weight grows.
fn sticky_ranges(weights: &[u32]) -> Vec<(u32, u32)> {
    let mut end = 0;
    weights
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, weight)| **weight > 0)
        .map(|(index, weight)| {
            end += weight;
            (end, u32::try_from(index).unwrap_or(0))
        })
        .collect()
}

/// A stable bucket `0..10000` for a sticky key: the same key lands in the same bucket in every
/// process and every release (FNV-1a, then a 64-bit finaliser so that keys differing only in
/// their last character spread over all buckets).
pub(crate) fn sticky_bucket(key: &[u8]) -> u32 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    for &byte in key {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    // Multiply-high maps the hash onto 0..10000 without modulo bias worth mentioning.
    let bucket = (u128::from(hash) * u128::from(FULL_WEIGHT_BP)) >> 64;
    u32::try_from(bucket).unwrap_or(0)
}

/// What identifies a sticky client, checked once at start.
#[derive(Debug, Clone)]
pub(crate) enum StickyKey {
    Header(HeaderName),
    Cookie(Box<[u8]>),
}

impl StickyKey {
    pub(crate) fn compile(stickiness: &Stickiness) -> Result<Self, ProxyError> {
        match stickiness {
            Stickiness::Header(name) => HeaderName::from_bytes(name.as_bytes())
                .map(StickyKey::Header)
                .map_err(|_| ProxyError::Config {
                    field: "stickiness",
                    reason: format!(
                        "{name:?} is not a valid header name: use letters, digits and '-'"
                    ),
                }),
            Stickiness::Cookie(name) => {
                let valid = !name.is_empty() && name.bytes().all(is_cookie_name_byte);
                if valid {
                    Ok(StickyKey::Cookie(name.as_bytes().into()))
                } else {
                    Err(ProxyError::Config {
                        field: "stickiness",
                        reason: format!(
                            "{name:?} is not a valid cookie name: use letters, digits and '-', '_', '.'"
                        ),
                    })
                }
            }
        }
    }

    /// The client's key in `headers`; `None` (or an empty value) means not sticky.
    pub(crate) fn find<'a>(&self, headers: &'a HeaderMap) -> Option<&'a [u8]> {
        let value = match self {
            StickyKey::Header(name) => headers.get(name).map(HeaderValue::as_bytes),
            StickyKey::Cookie(name) => headers
                .get_all(hyper::header::COOKIE)
                .iter()
                .find_map(|header| cookie_value(header.as_bytes(), name)),
        }?;
        (!value.is_empty()).then_some(value)
    }
}

/// RFC 6265 §4.1.1 token characters, the ones a cookie name may use.
fn is_cookie_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// The value of cookie `name` in one `Cookie` header (`a=1; b="2"`), quotes removed.
pub(crate) fn cookie_value<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    header.split(|&byte| byte == b';').find_map(|pair| {
        let pair = trim_spaces(pair);
        let equals = pair.iter().position(|&byte| byte == b'=')?;
        let (key, value) = pair.split_at(equals);
        if trim_spaces(key) != name {
            return None;
        }
        let value = trim_spaces(value.get(1..)?);
        Some(
            value
                .strip_prefix(b"\"")
                .and_then(|inner| inner.strip_suffix(b"\""))
                .unwrap_or(value),
        )
    })
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(start), Some(end)) => bytes.get(start..=end).unwrap_or_default(),
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn routes(weights: &[(&str, u32)]) -> Routes {
        Routes {
            backends: weights
                .iter()
                .map(|(v, w)| Backend::new(*v, *w, vec![addr(1)]))
                .collect(),
        }
    }

    fn counts(schedule: &[u32], backends: usize) -> Vec<u32> {
        let mut counts = vec![0; backends];
        for &index in schedule {
            counts[index as usize] += 1;
        }
        counts
    }

    #[test]
    fn validation_names_what_is_wrong() {
        assert_eq!(routes(&[]).validate(), Ok(()), "nothing serves yet");
        let err = routes(&[("stable", 9000), ("canary", 900)])
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "weights sum to 9900 bp (stable=9000, canary=900); they must sum to exactly 10000 bp (100%): adjust them"
        );
        assert_eq!(
            routes(&[("a", 10001)]).validate(),
            Err(RouteError::WeightOutOfRange {
                version: "a".into(),
                weight_bp: 10001
            })
        );
        assert_eq!(
            routes(&[("a", 5000), ("a", 5000)]).validate(),
            Err(RouteError::DuplicateVersion {
                version: "a".into()
            })
        );
        assert_eq!(
            routes(&[("", 10000)]).validate(),
            Err(RouteError::EmptyVersion { index: 0 })
        );
        assert_eq!(
            routes(&[("bad\nversion", 10000)]).validate(),
            Err(RouteError::InvalidVersion {
                version: "bad\nversion".into()
            })
        );
        let mut no_instances = routes(&[("stable", 9000), ("canary", 1000)]);
        no_instances.backends[1].instances.clear();
        assert_eq!(
            no_instances.validate(),
            Err(RouteError::NoInstances {
                version: "canary".into(),
                weight_bp: 1000
            })
        );
        // A version at weight 0 may have no instances: it is being retired or prepared.
        no_instances.backends[0].weight_bp = 10000;
        no_instances.backends[1].weight_bp = 0;
        assert_eq!(no_instances.validate(), Ok(()));
        // Weights far beyond u32 range in sum do not wrap around.
        assert!(matches!(
            routes(&[("a", 10000), ("b", 10000), ("c", 10000)]).validate(),
            Err(RouteError::WeightSum { sum_bp: 30000, .. })
        ));
    }

    #[test]
    fn an_unchanged_split_keeps_its_place_across_a_route_change() {
        let compile = |routes: Routes| {
            RouteTable::compile(
                routes,
                |version| Arc::new(VersionMetrics::new("test", version)),
                |_| Arc::default(),
            )
            .unwrap()
        };
        let old = compile(routes(&[("stable", 9900), ("canary", 100)]));
        let position_of_canary = |table: &RouteTable| {
            (0..100)
                .position(|_| std::ptr::eq(table.pick_weighted(), &table.backends[1]))
                .unwrap()
        };
        // Right after the canary's turn: a restarted schedule gives it a turn again `first`
        // picks later, a continued one only a full period (99 picks) later.
        let first = position_of_canary(&old);
        assert_ne!(first, 99);
        let mut moved = routes(&[("stable", 9900), ("canary", 100)]);
        moved.backends[0].instances.push(addr(2));
        let continued = compile(moved);
        continued.continue_from(&old);
        assert_eq!(position_of_canary(&continued), 99);
        let changed = compile(routes(&[("stable", 9800), ("canary", 200)]));
        changed.continue_from(&old);
        assert_eq!(
            changed.cursor.load(Ordering::Relaxed),
            0,
            "a new split starts afresh"
        );
    }

    #[test]
    fn one_percent_is_one_request_in_every_hundred() {
        let schedule = smooth_weighted_schedule(&[9900, 100]);
        assert_eq!(schedule.len(), 100);
        assert_eq!(counts(&schedule, 2), vec![99, 1]);
    }

    #[test]
    fn zero_weights_never_appear() {
        let schedule = smooth_weighted_schedule(&[0, 10000, 0]);
        assert_eq!(schedule, vec![1]);
    }

    #[test]
    fn smooth_means_interleaved() {
        // nginx's example: weights 5, 1, 1 give a a b a c a a, not a a a a a b c.
        assert_eq!(
            smooth_weighted_schedule(&[5, 1, 1]),
            vec![0, 0, 1, 0, 2, 0, 0]
        );
    }

    #[test]
    fn sticky_ranges_put_the_newest_version_first() {
        assert_eq!(sticky_ranges(&[9500, 500]), vec![(500, 1), (10000, 0)]);
        assert_eq!(sticky_ranges(&[0, 10000]), vec![(10000, 1)]);
        assert_eq!(sticky_ranges(&[5000, 0, 5000]), vec![(5000, 2), (10000, 0)]);
    }

    #[test]
    fn sticky_buckets_spread_evenly_and_never_move() {
        assert_eq!(sticky_bucket(b"user-1"), sticky_bucket(b"user-1"));
        let mut tenths = [0_u32; 10];
        for user in 0..10_000 {
            let bucket = sticky_bucket(format!("user-{user}").as_bytes());
            assert!(bucket < FULL_WEIGHT_BP);
            tenths[(bucket / 1000) as usize] += 1;
        }
        // 1000 expected per tenth; 4 standard deviations is about 120.
        for count in tenths {
            assert!((880..=1120).contains(&count), "uneven spread: {tenths:?}");
        }
    }

    #[test]
    fn cookie_values_are_found_trimmed_and_unquoted() {
        let header = b"theme=dark; slipway-user=abc ;quoted=\"q v\"; empty=; x";
        assert_eq!(cookie_value(header, b"slipway-user"), Some(&b"abc"[..]));
        assert_eq!(cookie_value(header, b"quoted"), Some(&b"q v"[..]));
        assert_eq!(cookie_value(header, b"empty"), Some(&b""[..]));
        assert_eq!(cookie_value(header, b"missing"), None);
        assert_eq!(cookie_value(header, b"x"), None);
        assert_eq!(cookie_value(b"a=b=c", b"a"), Some(&b"b=c"[..]));
    }

    #[test]
    fn sticky_names_are_checked() {
        assert!(StickyKey::compile(&Stickiness::Header("x-user".into())).is_ok());
        let err = StickyKey::compile(&Stickiness::Header("bad header".into())).unwrap_err();
        assert!(err.to_string().contains("not a valid header name"), "{err}");
        let err = StickyKey::compile(&Stickiness::Cookie("a;b".into())).unwrap_err();
        assert!(err.to_string().contains("not a valid cookie name"), "{err}");
        assert!(StickyKey::compile(&Stickiness::Cookie(String::new())).is_err());
    }

    /// Weight vectors of 1 to 6 backends summing to 10000, zeros allowed.
    fn weight_vectors() -> impl Strategy<Value = Vec<u32>> {
        prop::collection::vec(0_u32..=10_000, 0..6).prop_map(|cuts| {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut weights = Vec::with_capacity(cuts.len() + 1);
            let mut previous = 0;
            for cut in cuts {
                weights.push(cut - previous);
                previous = cut;
            }
            weights.push(FULL_WEIGHT_BP - previous);
            weights
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn every_10000_consecutive_picks_are_exact(weights in weight_vectors(), offset in 0_usize..20_000) {
            let table = RouteTable::compile(
                Routes { backends: weights.iter().enumerate().map(|(i, w)| Backend::new(format!("v{i}"), *w, vec![addr(1)])).collect() },
                |version| Arc::new(VersionMetrics::new("test", version)),
                |_| Arc::default(),
            ).unwrap();
            for _ in 0..offset {
                table.pick_weighted();
            }
            let mut seen = vec![0_u32; weights.len()];
            for _ in 0..FULL_WEIGHT_BP {
                let picked = table.pick_weighted();
                let index = table.backends.iter().position(|b| std::ptr::eq(b, picked)).unwrap();
                seen[index] += 1;
            }
            prop_assert_eq!(seen, weights);
        }

        #[test]
        fn one_percent_windows_hold_exactly_one(offset in 0_usize..200) {
            let schedule = smooth_weighted_schedule(&[9900, 100]);
            let cycle: Vec<u32> = schedule.iter().cycle().skip(offset).take(100).copied().collect();
            prop_assert_eq!(counts(&cycle, 2), vec![99, 1]);
        }

        #[test]
        fn a_sticky_client_on_the_canary_stays_as_it_grows(key in prop::collection::vec(any::<u8>(), 1..40), low in 1_u32..10_000, extra in 0_u32..10_000) {
            let high = (low + extra).min(FULL_WEIGHT_BP);
            let compile = |canary: u32| RouteTable::compile(
                routes(&[("stable", FULL_WEIGHT_BP - canary), ("canary", canary)]),
                |version| Arc::new(VersionMetrics::new("test", version)),
                |_| Arc::default(),
            ).unwrap();
            let before = compile(low);
            let after = compile(high);
            let on_canary = |table: &RouteTable| std::ptr::eq(table.pick_sticky(&key), &table.backends[1]);
            if on_canary(&before) {
                prop_assert!(on_canary(&after));
            }
        }

        #[test]
        fn cookie_lookup_never_panics(header in prop::collection::vec(any::<u8>(), 0..200), name in "[a-z]{1,8}") {
            let _ = cookie_value(&header, name.as_bytes());
        }

        #[test]
        fn cookie_lookup_finds_what_was_set(name in "[a-z]{1,8}", value in "[a-zA-Z0-9]{0,16}", before in "[A-Z]{1,8}") {
            let header = format!("{before}=1; {name}={value}; zz=2");
            prop_assert_eq!(cookie_value(header.as_bytes(), name.as_bytes()), Some(value.as_bytes()));
        }
    }
}
