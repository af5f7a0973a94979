//! A tiny xorshift64* generator: enough for fault injection, and with a fixed
//! `HELLO_SEED` the sequence of draws is the same on every run.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    pub fn new(seed: u64) -> Self {
        // xorshift gets stuck at zero and starts poorly from small seeds such
        // as 1 or 42; one splitmix64 step spreads the seed over all 64 bits.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift64 {
            state: if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z },
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`, so `next_f64() < rate` is never true for 0.0 and
    /// always true for 1.0.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `min..=max` (modulo bias is irrelevant at millisecond ranges).
    pub fn between(&mut self, min: u64, max: u64) -> u64 {
        match (max - min).checked_add(1) {
            Some(span) => min + self.next_u64() % span,
            None => self.next_u64(),
        }
    }
}

/// Seed for runs without `HELLO_SEED`; the process id keeps replicas started
/// in the same instant from failing the same requests.
pub fn seed_from_clock() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = XorShift64::new(42);
        let mut b = XorShift64::new(42);
        let mut c = XorShift64::new(43);
        let xs: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn zero_seed_does_not_get_stuck() {
        let mut rng = XorShift64::new(0);
        let draws: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert!(draws.iter().all(|&x| x != 0), "{draws:?}");
        assert_ne!(draws[0], draws[1]);
    }

    #[test]
    fn floats_stay_in_unit_interval_and_average_half() {
        let mut rng = XorShift64::new(7);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn between_is_inclusive_and_covers_the_range() {
        let mut rng = XorShift64::new(1);
        let mut seen = [false; 4];
        for _ in 0..1_000 {
            let x = rng.between(20, 23);
            assert!((20..=23).contains(&x));
            seen[(x - 20) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(rng.between(5, 5), 5);
        // The full u64 range must not overflow.
        rng.between(0, u64::MAX);
    }
}
