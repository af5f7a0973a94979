//! Recent traffic of one version in 100 ms slots kept for 15 minutes: exact request and 5xx
//! counts per slot, and a bounded uniform sample of raw latencies per slot, so that
//! `window(version, since)` answers from memory that does not grow with the request rate.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Width of one slot: the resolution of `since` in a window.
pub const SLOT: Duration = Duration::from_millis(100);
/// How far back windows reach.
pub const RETENTION: Duration = Duration::from_secs(15 * 60);
/// Raw latency samples kept per slot (a uniform sample of the slot's requests beyond that).
pub const SAMPLES_PER_SLOT: usize = 128;
/// Raw latency samples a window returns at most (the newest ones).
pub const MAX_WINDOW_SAMPLES: usize = 10_000;

const SLOT_MS: u64 = 100;
const SLOTS: usize = (15 * 60 * 1000 / SLOT_MS) as usize;

/// The traffic of one version over a time window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrafficWindow {
    /// Requests answered in the window (all status codes; exact).
    pub requests: u64,
    /// Of those, answered with a 5xx status, the proxy's own 502/504 included (exact).
    pub errors_5xx: u64,
    /// Raw latency samples in milliseconds, oldest first: every request while a 100 ms slot
    /// saw at most 128, a uniform sample of the slot beyond that, and the newest 10,000 overall.
    pub latencies_ms: Vec<f64>,
    /// Median of `latencies_ms` (nearest rank); `None` without samples.
    pub p50_ms: Option<f64>,
    /// 95th percentile of `latencies_ms` (nearest rank).
    pub p95_ms: Option<f64>,
    /// 99th percentile of `latencies_ms` (nearest rank).
    pub p99_ms: Option<f64>,
}

impl TrafficWindow {
    /// The share of requests answered with a 5xx status, `None` without requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors_5xx as f64 / self.requests as f64)
    }
}

#[derive(Default)]
struct Slot {
    /// Which 100 ms period since the epoch the slot holds; a slot with another number is stale.
    number: u64,
    requests: u64,
    errors_5xx: u64,
    samples: Vec<f32>,
}

/// The ring of slots of one version.
pub(crate) struct SampleRing {
    slots: Box<[Mutex<Slot>]>,
}

impl SampleRing {
    pub(crate) fn new() -> Self {
        SampleRing {
            slots: (0..SLOTS).map(|_| Mutex::new(Slot::default())).collect(),
        }
    }

    fn slot(&self, number: u64) -> std::sync::MutexGuard<'_, Slot> {
        let index = usize::try_from(number % SLOTS as u64).unwrap_or(0);
        let slot = &self.slots[index.min(SLOTS - 1)];
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one answered request that finished at `now`.
    pub(crate) fn record(&self, now: SystemTime, latency: Duration, is_5xx: bool) {
        let number = epoch_millis(now) / SLOT_MS;
        let mut slot = self.slot(number);
        if slot.number != number {
            slot.number = number;
            slot.requests = 0;
            slot.errors_5xx = 0;
            slot.samples.clear();
        }
        slot.requests += 1;
        slot.errors_5xx += u64::from(is_5xx);
        let latency_ms = (latency.as_secs_f64() * 1000.0) as f32;
        if slot.samples.len() < SAMPLES_PER_SLOT {
            slot.samples.push(latency_ms);
        } else {
            // Reservoir sampling (algorithm R): the kept samples stay a uniform sample of
            // every request of the slot, so percentiles under load are not biased to its start.
            let seen = slot.requests;
            let pick = mix(number ^ seen.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % seen;
            if let Some(kept) = usize::try_from(pick)
                .ok()
                .and_then(|pick| slot.samples.get_mut(pick))
            {
                *kept = latency_ms;
            }
        }
    }

    /// The traffic that finished since `since` (the 100 ms slot holding `since` counts whole),
    /// up to `now`, at most 15 minutes back.
    pub(crate) fn window(&self, since: SystemTime, now: SystemTime) -> TrafficWindow {
        let newest = epoch_millis(now) / SLOT_MS;
        let oldest_kept = newest.saturating_sub(SLOTS as u64 - 1);
        let first = (epoch_millis(since) / SLOT_MS).max(oldest_kept);
        let mut window = TrafficWindow::default();
        let mut newest_first: Vec<f64> = Vec::new();
        let mut number = newest;
        while number >= first {
            let slot = self.slot(number);
            if slot.number == number {
                window.requests += slot.requests;
                window.errors_5xx += slot.errors_5xx;
                let room = MAX_WINDOW_SAMPLES.saturating_sub(newest_first.len());
                newest_first.extend(
                    slot.samples
                        .iter()
                        .rev()
                        .take(room)
                        .map(|&ms| f64::from(ms)),
                );
            }
            drop(slot);
            if number == 0 {
                break;
            }
            number -= 1;
        }
        newest_first.reverse();
        let mut sorted = newest_first.clone();
        sorted.sort_by(f64::total_cmp);
        window.p50_ms = percentile(&sorted, 0.50);
        window.p95_ms = percentile(&sorted, 0.95);
        window.p99_ms = percentile(&sorted, 0.99);
        window.latencies_ms = newest_first;
        window
    }
}

/// Nearest-rank percentile of sorted samples.
pub(crate) fn percentile(sorted: &[f64], quantile: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

pub(crate) fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// splitmix64's finaliser: a cheap, well-spread pseudo-random number from a counter.
fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
    }

    #[test]
    fn counts_are_exact_and_since_is_honoured() {
        let ring = SampleRing::new();
        for i in 0..1000_u64 {
            // One request per millisecond for a second, every tenth a 5xx.
            ring.record(at(i), Duration::from_millis(i % 50), i % 10 == 0);
        }
        let all = ring.window(at(0), at(1000));
        assert_eq!((all.requests, all.errors_5xx), (1000, 100));
        let second_half = ring.window(at(500), at(1000));
        assert_eq!((second_half.requests, second_half.errors_5xx), (500, 50));
        // The slot holding `since` counts whole.
        assert_eq!(ring.window(at(550), at(1000)).requests, 500);
        assert_eq!(ring.window(at(2000), at(3000)).requests, 0);
    }

    #[test]
    fn samples_are_bounded_per_slot_and_per_window() {
        let ring = SampleRing::new();
        for i in 0..1000_u64 {
            ring.record(at(i / 10), Duration::from_millis(5), false);
        }
        let window = ring.window(at(0), at(100));
        assert_eq!(window.requests, 1000);
        // 1000 requests in 100 ms: one slot's worth of samples kept.
        assert_eq!(window.latencies_ms.len(), SAMPLES_PER_SLOT);
        assert_eq!(window.p50_ms, Some(5.0));

        let busy = SampleRing::new();
        for i in 0..20_000_u64 {
            busy.record(at(i * 10), Duration::from_millis(i % 100), false);
        }
        let window = busy.window(at(0), at(200_000));
        assert_eq!(window.requests, 20_000);
        assert_eq!(window.latencies_ms.len(), MAX_WINDOW_SAMPLES);
        // The newest samples are kept, oldest first: the last request had 99 ms.
        assert_eq!(window.latencies_ms.last(), Some(&99.0));
    }

    #[test]
    fn reservoir_keeps_a_uniform_sample() {
        let ring = SampleRing::new();
        // 10,000 requests in one slot: the first half fast, the second half slow.
        for i in 0..10_000_u64 {
            let ms = if i < 5_000 { 1 } else { 100 };
            ring.record(at(0), Duration::from_millis(ms), false);
        }
        let window = ring.window(at(0), at(0));
        let slow = window.latencies_ms.iter().filter(|&&ms| ms > 50.0).count();
        // A first-come sample would hold no slow request at all.
        assert!(
            (32..=96).contains(&slow),
            "{slow} slow of {SAMPLES_PER_SLOT}"
        );
    }

    #[test]
    fn old_slots_expire_with_the_retention() {
        let ring = SampleRing::new();
        ring.record(at(0), Duration::from_millis(1), false);
        let later = at(RETENTION.as_millis() as u64 + 1000);
        assert_eq!(ring.window(at(0), later).requests, 0);
        // The same ring index, reused for a newer period, forgets the old one.
        ring.record(
            at(RETENTION.as_millis() as u64),
            Duration::from_millis(1),
            true,
        );
        let window = ring.window(at(0), at(RETENTION.as_millis() as u64));
        assert_eq!((window.requests, window.errors_5xx), (1, 1));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(50.0));
        assert_eq!(percentile(&sorted, 0.99), Some(99.0));
        assert_eq!(percentile(&sorted, 1.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 0.5), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
