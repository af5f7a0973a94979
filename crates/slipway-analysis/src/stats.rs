//! The statistics behind `compare: baseline`.
//!
//! - Latency: the Mann-Whitney U test (two-sided), computed as SciPy's
//!   `scipy.stats.mannwhitneyu` does: average ranks for ties, the normal approximation with tie
//!   correction and continuity correction, or the exact distribution of U when one sample has
//!   at most 8 values and there are no ties (SciPy's `method="auto"` rule). Its effect size is
//!   the rank-biserial correlation `r = 2·U₁/(n₁·n₂) − 1` (Cliff's delta): +1 when every canary
//!   request was slower than every stable one, 0 when neither is slower.
//! - Error rate: the two-proportion z-test with a pooled variance, one-sided (the first
//!   sample's rate larger), as statsmodels' `proportions_ztest(alternative="larger")`.

use serde::{Deserialize, Serialize};

/// Below this absolute rank-biserial correlation an effect is negligible: Romano et al.
/// (2006)'s threshold for Cliff's delta (negligible < 0.147 ≤ small < 0.33 ≤ medium < 0.474
/// ≤ large). A canary that is significantly but negligibly slower passes.
pub const NEGLIGIBLE_EFFECT: f64 = 0.147;

/// Sizes up to which the exact distribution of U is computed (the smaller sample's size,
/// and the product of both): beyond, the normal approximation is accurate and cheaper.
const EXACT_SMALLER_MAX: usize = 8;
const EXACT_PRODUCT_MAX: usize = 1_000_000;
/// Coefficient updates the exact distribution may take (smaller size × (product + 1)).
const EXACT_WORK_MAX: usize = 50_000_000;

/// How the p-value of a Mann-Whitney U test is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MwuMethod {
    /// Exact when one sample has at most 8 values and nothing is tied; else asymptotic.
    Auto,
    /// The normal approximation with tie and continuity corrections.
    Asymptotic,
    /// The exact distribution of U (ignores ties, as SciPy's does); falls back to the
    /// asymptotic method when the distribution would be too large to enumerate.
    Exact,
}

/// The result of a two-sided Mann-Whitney U test of `first` against `second`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// U of the first sample: how many (first, second) pairs have the first larger, ties
    /// counting one half. SciPy's `statistic`.
    pub u: f64,
    /// The standardised statistic of the asymptotic method (`None` for the exact method, or
    /// when every value is tied and the variance is zero).
    pub z: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The method actually used (`Auto` resolved).
    pub method: MwuMethod,
    /// Rank-biserial correlation, −1 to 1; positive when the first sample tends larger.
    pub rank_biserial: f64,
    /// Common-language effect size: the probability that a value of the first sample is
    /// larger than one of the second (ties counting one half), `U / (n₁·n₂)`.
    pub common_language: f64,
    /// Size of the first sample.
    pub n_first: usize,
    /// Size of the second sample.
    pub n_second: usize,
}

/// Two-sided Mann-Whitney U test. `None` when either sample is empty or holds a non-finite
/// value (filter those out first: there is no rank for NaN).
pub fn mann_whitney_u(first: &[f64], second: &[f64], method: MwuMethod) -> Option<MannWhitney> {
    let (n1, n2) = (first.len(), second.len());
    if n1 == 0 || n2 == 0 || first.iter().chain(second).any(|v| !v.is_finite()) {
        return None;
    }
    let (rank_sum_first, tie_sizes) = rank_sum(first, second);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u1 = rank_sum_first - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1f * n2f - u1;
    let u = u1.max(u2);
    let has_ties = tie_sizes.iter().any(|&t| t > 1);
    let exact_possible = n1.min(n2) <= EXACT_SMALLER_MAX || method == MwuMethod::Exact;
    let try_exact = match method {
        MwuMethod::Auto => exact_possible && !has_ties,
        MwuMethod::Exact => true,
        MwuMethod::Asymptotic => false,
    };
    let exact = if try_exact && n1.saturating_mul(n2) <= EXACT_PRODUCT_MAX {
        exact_survival(u, n1, n2)
    } else {
        None
    };
    let (z, p, used) = match exact {
        Some(sf) => (None, 2.0 * sf, MwuMethod::Exact),
        None => {
            let n = n1f + n2f;
            let tie_term: f64 = tie_sizes
                .iter()
                .map(|&t| {
                    let t = t as f64;
                    t * t * t - t
                })
                .sum();
            let variance = n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
            if variance > 0.0 {
                let z = (u - n1f * n2f / 2.0 - 0.5) / variance.sqrt();
                (Some(z), 2.0 * normal_sf(z), MwuMethod::Asymptotic)
            } else {
                // Every value is tied: no evidence of any difference.
                (None, 1.0, MwuMethod::Asymptotic)
            }
        }
    };
    Some(MannWhitney {
        u: u1,
        z,
        p_value: p.clamp(0.0, 1.0),
        method: used,
        rank_biserial: 2.0 * u1 / (n1f * n2f) - 1.0,
        common_language: u1 / (n1f * n2f),
        n_first: n1,
        n_second: n2,
    })
}

/// The rank sum of `first` in the pooled sample (ties get their average rank) and the sizes
/// of every group of equal values.
fn rank_sum(first: &[f64], second: &[f64]) -> (f64, Vec<usize>) {
    let mut pooled: Vec<(f64, bool)> = first
        .iter()
        .map(|&v| (v, true))
        .chain(second.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_first = 0.0;
    let mut tie_sizes = Vec::new();
    let mut start = 0;
    while start < pooled.len() {
        let value = pooled[start].0;
        let end = pooled[start..]
            .iter()
            .position(|(v, _)| *v != value)
            .map_or(pooled.len(), |offset| start + offset);
        // Ranks are 1-based: positions start..end share the mean of start+1 ..= end.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let from_first = pooled[start..end].iter().filter(|(_, f)| *f).count();
        rank_sum_first += average_rank * from_first as f64;
        tie_sizes.push(end - start);
        start = end;
    }
    (rank_sum_first, tie_sizes)
}

/// P(U ≥ u) under the null hypothesis, from the exact distribution of U for samples of sizes
/// m and n: the number of arrangements with U = k is the coefficient of qᵏ in the Gaussian
/// binomial [m+n choose m]_q = ∏ᵢ₌₁..ₘ (1 − q^(n+i)) / (1 − qⁱ). Counted in exact integers;
/// `None` when they would overflow.
fn exact_survival(u: f64, m: usize, n: usize) -> Option<f64> {
    let (m, n) = (m.min(n), m.max(n));
    let max_u = m.checked_mul(n)?;
    if m.checked_mul(max_u + 1)? > EXACT_WORK_MAX {
        return None;
    }
    let mut counts = vec![0i128; max_u + 1];
    *counts.first_mut()? = 1;
    for i in 1..=m {
        // Multiply by (1 − q^(n+i)), from the top so each coefficient is read before it
        // changes. Terms above m·n are dropped: the quotients below never need them.
        let shift = n + i;
        for k in (shift..=max_u).rev() {
            let lower = *counts.get(k - shift)?;
            let slot = counts.get_mut(k)?;
            *slot = slot.checked_sub(lower)?;
        }
        // Divide by (1 − qⁱ): a running sum with stride i.
        for k in i..=max_u {
            let lower = *counts.get(k - i)?;
            let slot = counts.get_mut(k)?;
            *slot = slot.checked_add(lower)?;
        }
    }
    let total = counts
        .iter()
        .try_fold(0i128, |acc, c| acc.checked_add(*c))?;
    // U takes whole or half values; the exact distribution is over whole values (no ties).
    let from = u.ceil().max(0.0) as usize;
    let tail = counts.get(from..).map_or(Some(0i128), |rest| {
        rest.iter().try_fold(0i128, |acc, c| acc.checked_add(*c))
    })?;
    Some(tail as f64 / total as f64)
}

/// The result of a one-sided two-proportion z-test: is the first rate larger?
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoProportion {
    /// The standardised difference of the rates (`None` when the pooled variance is zero:
    /// no events at all, or only events).
    pub z: Option<f64>,
    /// One-sided p-value for "the first rate is larger".
    pub p_value: f64,
    /// The first sample's rate.
    pub rate_first: f64,
    /// The second sample's rate.
    pub rate_second: f64,
}

/// Two-proportion z-test with a pooled variance, one-sided: `events_first / n_first` larger
/// than `events_second / n_second`. `None` when a sample is empty or has more events than
/// trials.
pub fn two_proportion_z_test(
    events_first: u64,
    n_first: u64,
    events_second: u64,
    n_second: u64,
) -> Option<TwoProportion> {
    if n_first == 0 || n_second == 0 || events_first > n_first || events_second > n_second {
        return None;
    }
    let (e1, n1, e2, n2) = (
        events_first as f64,
        n_first as f64,
        events_second as f64,
        n_second as f64,
    );
    let (rate_first, rate_second) = (e1 / n1, e2 / n2);
    let pooled = (e1 + e2) / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    let (z, p_value) = if variance > 0.0 {
        let z = (rate_first - rate_second) / variance.sqrt();
        (Some(z), normal_sf(z))
    } else {
        (None, 1.0)
    };
    Some(TwoProportion {
        z,
        p_value,
        rate_first,
        rate_second,
    })
}

/// The standard normal survival function P(Z > z), accurate in the far tail (through `erfc`,
/// not `1 − cdf`).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail_matches_known_values() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_sf(1.959_963_984_540_054) - 0.025).abs() < 1e-12);
        assert!((normal_sf(-1.644_853_626_951_472_2) - 0.95).abs() < 1e-12);
        // Far tail keeps relative precision.
        let tail = normal_sf(10.0);
        assert!((tail / 7.619_853_024_160_527e-24 - 1.0).abs() < 1e-10);
    }

    #[test]
    fn ranks_ties_by_their_average() {
        // Pooled sorted: 1 2 2 3 → ranks 1, 2.5, 2.5, 4; the first sample holds 1 and one 2.
        let (sum, ties) = rank_sum(&[2.0, 1.0], &[3.0, 2.0]);
        assert_eq!(sum, 3.5);
        assert_eq!(ties, vec![1, 2, 1]);
    }

    #[test]
    fn exact_distribution_counts_arrangements() {
        // m = n = 2: U ∈ {0,1,2,2,3,4} over the C(4,2) = 6 arrangements.
        assert_eq!(exact_survival(0.0, 2, 2), Some(1.0));
        assert_eq!(exact_survival(2.0, 2, 2), Some(4.0 / 6.0));
        assert_eq!(exact_survival(4.0, 2, 2), Some(1.0 / 6.0));
        assert_eq!(exact_survival(5.0, 2, 2), Some(0.0));
    }

    #[test]
    fn completely_separated_samples_are_significant_and_large() {
        let slow: Vec<f64> = (0..30).map(|i| 200.0 + f64::from(i)).collect();
        let fast: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i)).collect();
        let result = mann_whitney_u(&slow, &fast, MwuMethod::Auto).unwrap();
        assert_eq!(result.u, 900.0);
        assert_eq!(result.rank_biserial, 1.0);
        assert_eq!(result.method, MwuMethod::Asymptotic);
        assert!(result.p_value < 1e-9);
    }

    #[test]
    fn identical_samples_show_no_difference() {
        let same = [5.0; 25];
        let result = mann_whitney_u(&same, &same, MwuMethod::Auto).unwrap();
        assert_eq!(result.p_value, 1.0);
        assert_eq!(result.rank_biserial, 0.0);
        assert_eq!(result.z, None);
    }

    #[test]
    fn refuses_empty_and_non_finite_samples() {
        assert!(mann_whitney_u(&[], &[1.0], MwuMethod::Auto).is_none());
        assert!(mann_whitney_u(&[f64::NAN], &[1.0], MwuMethod::Auto).is_none());
        assert!(two_proportion_z_test(0, 0, 1, 10).is_none());
        assert!(two_proportion_z_test(11, 10, 1, 10).is_none());
    }

    #[test]
    fn proportions_without_events_show_no_difference() {
        let result = two_proportion_z_test(0, 100, 0, 100).unwrap();
        assert_eq!((result.z, result.p_value), (None, 1.0));
        let worse = two_proportion_z_test(20, 100, 2, 100).unwrap();
        assert!(worse.p_value < 0.001);
        let better = two_proportion_z_test(2, 100, 20, 100).unwrap();
        assert!(better.p_value > 0.999);
    }
}
