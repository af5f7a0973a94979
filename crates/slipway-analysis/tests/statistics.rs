//! The baseline statistics checked against SciPy (`scipy.stats.mannwhitneyu`, asymptotic with
//! continuity correction, exact, and its automatic choice between them) and statsmodels
//! (`proportions_ztest`, one-sided) on generated samples: normal-ish, skewed, heavily tied,
//! tiny and large, shifted and not.
//!
//! The oracle comes from `scripts/deps/analysis.sh`. When it is missing the test fails if `CI`
//! is `true`, and otherwise prints a `skipped:` notice and returns.

mod common;

use serde_json::{Value, json};
use slipway_analysis::stats::{MwuMethod, mann_whitney_u, two_proportion_z_test};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use wait_timeout::ChildExt as _;

const ORACLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A small deterministic generator (xorshift64*), so the cases are the same on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Latency-like: a log-normal-ish value around `median` milliseconds.
    fn latency(&mut self, median: f64) -> f64 {
        let normal: f64 = (0..12).map(|_| self.next()).sum::<f64>() - 6.0;
        median * (0.4 * normal).exp()
    }
}

struct Case {
    first: Vec<f64>,
    second: Vec<f64>,
    method: &'static str,
}

fn cases() -> Vec<Case> {
    let mut random = Random(0x5eed_1234_abcd_0001);
    let mut cases = Vec::new();
    let sizes = [
        (1, 1),
        (2, 3),
        (3, 8),
        (5, 5),
        (8, 40),
        (9, 9),
        (20, 25),
        (50, 50),
        (200, 150),
        (1000, 1200),
    ];
    for (n1, n2) in sizes {
        for shift in [1.0, 1.15, 1.6] {
            let first: Vec<f64> = (0..n1).map(|_| random.latency(100.0 * shift)).collect();
            let second: Vec<f64> = (0..n2).map(|_| random.latency(100.0)).collect();
            // Rounded to whole milliseconds: many ties, as real latency histograms have.
            let tied = |v: &Vec<f64>| v.iter().map(|x| (x / 10.0).round() * 10.0).collect();
            for method in ["asymptotic", "auto"] {
                cases.push(Case {
                    first: first.clone(),
                    second: second.clone(),
                    method,
                });
                cases.push(Case {
                    first: tied(&first),
                    second: tied(&second),
                    method,
                });
            }
            if n1.min(n2) <= 8 || n1 * n2 <= 2500 {
                cases.push(Case {
                    first,
                    second,
                    method: "exact",
                });
            }
        }
    }
    cases
}

fn proportions() -> Vec<[u64; 4]> {
    vec![
        [10, 1000, 10, 1000],
        [12, 1000, 10, 1000],
        [40, 1000, 10, 1000],
        [5, 1000, 20, 1000],
        [1, 25, 0, 400],
        [3, 20, 1, 300],
        [250, 10_000, 180, 12_000],
        [999, 1000, 990, 1000],
        [7, 90, 3, 110],
    ]
}

fn oracle_python() -> Option<PathBuf> {
    let python = common::tools_dir().join("venv/bin/python");
    let found = python.exists()
        && Command::new(&python)
            .args(["-c", "import scipy.stats, statsmodels.stats.proportion"])
            .output()
            .is_ok_and(|o| o.status.success());
    common::require(
        "python packages scipy, statsmodels",
        found.then_some(python),
    )
}

fn run_oracle(python: &Path, input: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (input_path, output_path) = (dir.path().join("in.json"), dir.path().join("out.json"));
    std::fs::write(&input_path, serde_json::to_vec(input).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/statistics.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(&input_path)
        .arg(&output_path)
        .spawn()
        .unwrap();
    let status = match child.wait_timeout(ORACLE_TIMEOUT).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            panic!("the statistics oracle took longer than {ORACLE_TIMEOUT:?}");
        }
    };
    assert!(status.success(), "the statistics oracle failed: {status}");
    serde_json::from_slice(&std::fs::read(output_path).unwrap()).unwrap()
}

fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 1e-12 + 1e-9 * theirs.abs()
}

#[test]
fn statistics_match_scipy_and_statsmodels() {
    let Some(python) = oracle_python() else {
        return;
    };
    let cases = cases();
    let proportions = proportions();
    let input = json!({
        "mann_whitney": cases.iter().map(|c| json!({
            "first": c.first, "second": c.second, "method": c.method,
        })).collect::<Vec<_>>(),
        "proportions": proportions,
    });
    let expected = run_oracle(&python, &input);

    let mut exact_seen = 0;
    for (index, (case, reference)) in cases
        .iter()
        .zip(expected["mann_whitney"].as_array().unwrap())
        .enumerate()
    {
        let method = match case.method {
            "asymptotic" => MwuMethod::Asymptotic,
            "exact" => MwuMethod::Exact,
            _ => MwuMethod::Auto,
        };
        let ours = mann_whitney_u(&case.first, &case.second, method).unwrap();
        exact_seen += usize::from(ours.method == MwuMethod::Exact);
        let (u, p) = (
            reference["u"].as_f64().unwrap(),
            reference["p"].as_f64().unwrap(),
        );
        assert_eq!(
            ours.u,
            u,
            "case {index} ({} vs {} values, {}): U",
            case.first.len(),
            case.second.len(),
            case.method
        );
        assert!(
            close(ours.p_value, p),
            "case {index} ({} vs {} values, {}, ours {:?}): p {} vs SciPy {p}",
            case.first.len(),
            case.second.len(),
            case.method,
            ours.method,
            ours.p_value
        );
        let pairs = (case.first.len() * case.second.len()) as f64;
        assert!(close(ours.rank_biserial, 2.0 * u / pairs - 1.0));
    }
    assert!(
        exact_seen > 10,
        "the exact distribution was used {exact_seen} times"
    );

    for (counts, reference) in proportions
        .iter()
        .zip(expected["proportions"].as_array().unwrap())
    {
        let [e1, n1, e2, n2] = *counts;
        let ours = two_proportion_z_test(e1, n1, e2, n2).unwrap();
        let (z, p) = (
            reference["z"].as_f64().unwrap(),
            reference["p"].as_f64().unwrap(),
        );
        assert!(
            close(ours.z.unwrap(), z),
            "{counts:?}: z {:?} vs {z}",
            ours.z
        );
        assert!(
            close(ours.p_value, p),
            "{counts:?}: p {} vs {p}",
            ours.p_value
        );
    }
}
