//! Values from the built-in proxy's traffic, and the comparison with the stable version.

use crate::measure::{Observation, Observed, Regression, Target, TrafficSource, TrafficWindow};
use crate::stats::{self, MwuMethod, NEGLIGIBLE_EFFECT};
use crate::template::{Baseline, ProxyMetric};
use serde_json::{Map, Value as Json, json};
use std::time::SystemTime;

/// The canary's value of `metric` over its window since `target.since`. Below `min_samples`
/// requests the observation is inconclusive, never a value.
pub(crate) fn observe(
    metric: ProxyMetric,
    min_samples: u64,
    target: &Target,
    traffic: &dyn TrafficSource,
) -> Observation {
    observe_window(
        metric,
        min_samples,
        target,
        &traffic.window(&target.canary, target.since),
    )
}

fn observe_window(
    metric: ProxyMetric,
    min_samples: u64,
    target: &Target,
    window: &TrafficWindow,
) -> Observation {
    let mut details = Map::new();
    details.insert("metric".into(), json!(metric.name()));
    details.insert("canary".into(), window_details(&target.canary, window));
    let value = match checked(window, min_samples, "") {
        Err(observed) => observed,
        Ok(()) => value_of(metric, window, target.since),
    };
    Observation {
        value,
        samples: window.requests,
        details,
    }
}

/// The canary's value of `metric`, plus a comparison with the stable version over the same
/// window: a one-sided two-proportion z-test for `error_rate`, a two-sided Mann-Whitney U test
/// with the rank-biserial effect size for latencies. A regression is a p-value below
/// `1 - confidence` (and, for latency, the canary slower with an effect of at least
/// [`NEGLIGIBLE_EFFECT`]). Either side below `min_samples` requests is inconclusive.
pub(crate) fn compare(
    metric: ProxyMetric,
    min_samples: u64,
    baseline: Baseline,
    target: &Target,
    traffic: &dyn TrafficSource,
) -> (Observation, Option<Regression>) {
    let canary = traffic.window(&target.canary, target.since);
    let mut observation = observe_window(metric, min_samples, target, &canary);
    if !matches!(observation.value, Observed::Value { .. }) {
        return (observation, None);
    }
    let Some(stable_version) = &target.stable else {
        observation.value =
            Observed::Inconclusive("there is no stable version to compare with".into());
        return (observation, None);
    };
    let stable = traffic.window(stable_version, target.since);
    observation
        .details
        .insert("stable".into(), window_details(stable_version, &stable));
    // A comparison needs at least one request on each side, whatever min-samples says.
    if let Err(observed) = checked(&stable, min_samples.max(1), "the stable version has ") {
        observation.value = observed;
        return (observation, None);
    }
    // Rounded so 1 − 0.95 reads 0.05, not 0.050000000000000044.
    let alpha = ((1.0 - baseline.confidence) * 1e12).round() / 1e12;
    let (comparison, regression) = match (metric, metric.latency_quantile()) {
        (ProxyMetric::ErrorRate, _) => compare_error_rates(&canary, &stable, alpha),
        (_, None) => {
            observation.value = Observed::Error(format!(
                "the {} cannot be compared with a baseline: it follows the traffic weights",
                metric.describe()
            ));
            return (observation, None);
        }
        (_, Some(quantile)) => match compare_latencies(&canary, &stable, quantile, alpha) {
            Some(compared) => compared,
            None => {
                observation.value = Observed::Inconclusive(
                    "the stable version has no latency samples to compare with".into(),
                );
                return (observation, None);
            }
        },
    };
    let mut comparison = comparison;
    if let Some(object) = comparison.as_object_mut() {
        object.insert("confidence".into(), json!(baseline.confidence));
        object.insert("alpha".into(), json!(alpha));
        object.insert("regression".into(), json!(regression.is_some()));
    }
    observation.details.insert("comparison".into(), comparison);
    (observation, regression)
}

/// Inconsistent or too-small windows, as observations; `Ok` when the window can be judged.
fn checked(window: &TrafficWindow, min_samples: u64, subject: &str) -> Result<(), Observed> {
    if window.errors_5xx > window.requests {
        return Err(Observed::Error(format!(
            "the traffic source reported {} errors among {} requests",
            window.errors_5xx, window.requests
        )));
    }
    if window.requests < min_samples {
        return Err(Observed::Inconclusive(format!(
            "{subject}{}, fewer than the {min_samples} needed",
            requests(window.requests)
        )));
    }
    Ok(())
}

fn value_of(metric: ProxyMetric, window: &TrafficWindow, since: SystemTime) -> Observed {
    let over = requests(window.requests);
    match metric {
        ProxyMetric::ErrorRate => {
            if window.requests == 0 {
                return Observed::Inconclusive("no requests".into());
            }
            let value = window.errors_5xx as f64 / window.requests as f64;
            Observed::Value {
                value,
                described: format!("error rate {} over {over}", percent(value)),
            }
        }
        ProxyMetric::LatencyP50 | ProxyMetric::LatencyP95 | ProxyMetric::LatencyP99 => {
            let mut latencies = usable_latencies(window);
            let quantile = metric.latency_quantile().unwrap_or(0.5);
            match percentile(&mut latencies, quantile) {
                Some(value) => Observed::Value {
                    value,
                    described: format!("{} {} over {over}", metric.describe(), millis(value)),
                },
                None => Observed::Inconclusive(format!("no latency samples among {over}")),
            }
        }
        ProxyMetric::RequestRate => {
            let elapsed = SystemTime::now()
                .duration_since(since)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            if elapsed <= 0.0 {
                return Observed::Inconclusive("the measured window has not started yet".into());
            }
            let value = window.requests as f64 / elapsed;
            Observed::Value {
                value,
                described: format!(
                    "request rate {}/s over {over} in {}",
                    significant(value),
                    crate::http::seconds(std::time::Duration::from_secs_f64(elapsed.round()))
                ),
            }
        }
    }
}

fn compare_error_rates(
    canary: &TrafficWindow,
    stable: &TrafficWindow,
    alpha: f64,
) -> (Json, Option<Regression>) {
    let Some(test) = stats::two_proportion_z_test(
        canary.errors_5xx,
        canary.requests,
        stable.errors_5xx,
        stable.requests,
    ) else {
        // Both windows were checked non-empty and consistent above.
        return (json!({ "test": "two-proportion z-test" }), None);
    };
    let comparison = json!({
        "test": "two-proportion z-test (one-sided: canary error rate larger)",
        "z": test.z,
        "p_value": test.p_value,
        "canary_rate": test.rate_first,
        "stable_rate": test.rate_second,
        "n_canary": canary.requests,
        "n_stable": stable.requests,
    });
    let regression = (test.p_value < alpha).then(|| {
        Regression(format!(
            "significantly higher than the stable version's {} over {} (two-proportion z-test: z = {}, p = {} < {})",
            percent(test.rate_second),
            requests(stable.requests),
            test.z.map_or("n/a".to_string(), significant),
            p_value(test.p_value),
            significant(alpha)
        ))
    });
    (comparison, regression)
}

fn compare_latencies(
    canary: &TrafficWindow,
    stable: &TrafficWindow,
    quantile: f64,
    alpha: f64,
) -> Option<(Json, Option<Regression>)> {
    let mut canary_latencies = usable_latencies(canary);
    let mut stable_latencies = usable_latencies(stable);
    let test = stats::mann_whitney_u(&canary_latencies, &stable_latencies, MwuMethod::Auto)?;
    let canary_value = percentile(&mut canary_latencies, quantile);
    let stable_value = percentile(&mut stable_latencies, quantile);
    let comparison = json!({
        "test": "Mann-Whitney U (two-sided)",
        "method": test.method,
        "u": test.u,
        "z": test.z,
        "p_value": test.p_value,
        "effect_size": test.rank_biserial,
        "effect_size_measure": "rank-biserial correlation (positive: canary slower)",
        "negligible_below": NEGLIGIBLE_EFFECT,
        "probability_canary_slower": test.common_language,
        "n_canary": test.n_first,
        "n_stable": test.n_second,
        "canary_quantile_ms": canary_value,
        "stable_quantile_ms": stable_value,
    });
    let slower = test.p_value < alpha && test.rank_biserial >= NEGLIGIBLE_EFFECT;
    let regression = slower.then(|| {
        Regression(format!(
            "slower than the stable version ({} vs {} at p{}; Mann-Whitney U: p = {} < {}, effect size r = {} ≥ {NEGLIGIBLE_EFFECT})",
            canary_value.map_or("n/a".to_string(), millis),
            stable_value.map_or("n/a".to_string(), millis),
            (quantile * 100.0).round(),
            p_value(test.p_value),
            significant(alpha),
            significant(test.rank_biserial),
        ))
    });
    Some((comparison, regression))
}

fn window_details(version: &str, window: &TrafficWindow) -> Json {
    json!({
        "version": version,
        "requests": window.requests,
        "errors_5xx": window.errors_5xx,
        "latency_samples": window.latencies_ms.iter().filter(|v| usable(**v)).count(),
    })
}

fn usable(latency: f64) -> bool {
    latency.is_finite() && latency >= 0.0
}

fn usable_latencies(window: &TrafficWindow) -> Vec<f64> {
    window
        .latencies_ms
        .iter()
        .copied()
        .filter(|v| usable(*v))
        .collect()
}

/// The `quantile` (0 to 1) of `values` by linear interpolation between closest ranks (NumPy's
/// default). Sorts `values`; `None` when empty.
pub(crate) fn percentile(values: &mut [f64], quantile: f64) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let last = values.len().checked_sub(1)?;
    let position = quantile.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let low = *values.get(below)?;
    let high = *values.get((below + 1).min(last))?;
    Some(low + (position - below as f64) * (high - low))
}

fn requests(count: u64) -> String {
    if count == 1 {
        "1 request".into()
    } else {
        format!("{count} requests")
    }
}

/// A rate as a percentage with enough digits to compare with thresholds like 0.1%.
fn percent(rate: f64) -> String {
    let percent = rate * 100.0;
    if percent == 0.0 || percent >= 0.1 {
        format!("{percent:.1}%")
    } else {
        format!("{percent:.3}%")
    }
}

fn millis(value: f64) -> String {
    format!("{} ms", significant(value))
}

/// A number with about three significant digits, without trailing zeros.
fn significant(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = if magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let mut values = vec![4.0, 1.0, 3.0, 2.0];
        // numpy.percentile([1,2,3,4], [50, 95, 99]) = 2.5, 3.85, 3.97
        assert_eq!(percentile(&mut values, 0.5), Some(2.5));
        assert!((percentile(&mut values, 0.95).unwrap() - 3.85).abs() < 1e-12);
        assert!((percentile(&mut values, 0.99).unwrap() - 3.97).abs() < 1e-12);
        assert_eq!(percentile(&mut [7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&mut [], 0.5), None);
    }

    #[test]
    fn numbers_read_plainly() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.0123), "1.2%");
        assert_eq!(percent(0.0004), "0.040%");
        assert_eq!(significant(123.456), "123");
        assert_eq!(significant(12.34), "12.3");
        assert_eq!(significant(0.05), "0.05");
        assert_eq!(p_value(0.0123), "0.0123");
        assert_eq!(p_value(0.00001234), "1.23e-5");
    }
}
