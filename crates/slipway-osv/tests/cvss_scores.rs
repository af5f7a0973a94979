//! CVSS scores against the specifications' examples and, for hundreds of random vectors of
//! every version, against the PyPI `cvss` package (one Python process per batch, reading one
//! vector per line). Invalid vectors are errors naming the metric at fault.
//!
//! The oracle comes from `scripts/deps/osv.sh`. When it is missing the oracle test fails if
//! `CI` is `true`, and otherwise prints a `skipped:` notice and returns.

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use slipway_osv::cvss::{CvssError, CvssVersion, Severity, score};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

const ORACLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Random vectors per CVSS version.
const PER_VERSION: usize = 300;

#[test]
fn specification_examples() {
    let cases = [
        // CVSS v3.1 specification, section 7 examples (and NVD's CVE-2014-0160 scoring).
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            Severity::Critical,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            7.5,
            Severity::High,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            6.1,
            Severity::Medium,
        ),
        (
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            7.8,
            Severity::High,
        ),
        (
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N",
            0.0,
            Severity::None,
        ),
        (
            "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
            1.6,
            Severity::Low,
        ),
        (
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            10.0,
            Severity::Critical,
        ),
        // CVSS v4.0 specification examples (FIRST calculator).
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
            Severity::Critical,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
            Severity::High,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
            Severity::None,
        ),
        // CVSS v2.0 guide, section 3.3.1 (CVE-2002-0392) and NVD's bands.
        ("AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, Severity::High),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, Severity::High),
        ("(AV:L/AC:H/Au:N/C:C/I:C/A:C)", 6.2, Severity::Medium),
    ];
    for (vector, expected, severity) in cases {
        let scored = score(vector).unwrap_or_else(|error| panic!("{vector}: {error}"));
        assert_eq!(scored.base_score, expected, "{vector}");
        assert_eq!(scored.severity, severity, "{vector}");
        assert_eq!(scored.vector, vector);
    }
    assert_eq!(
        score("AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap().version,
        CvssVersion::V2
    );
    assert_eq!(
        score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
            .unwrap()
            .version,
        CvssVersion::V3_0
    );
}

#[test]
fn invalid_vectors_name_the_metric() {
    let missing = |vector: &str, metric: &str| {
        let error = score(vector).unwrap_err();
        assert!(
            matches!(&error, CvssError::MissingMetric { metric: m, .. } if m == metric),
            "{vector}: {error:?}"
        );
        assert!(error.to_string().contains(metric), "{error}");
    };
    missing("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "A");
    missing("CVSS:3.0/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV");
    missing(
        "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "AT",
    );
    missing("AV:N/AC:L/C:P/I:P/A:P", "Au");

    let error = score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap_err();
    assert!(
        matches!(&error, CvssError::InvalidValue { metric, value, .. } if metric == "AV" && value == "X"),
        "{error:?}"
    );
    let error = score("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap_err();
    assert!(
        matches!(&error, CvssError::DuplicateMetric { metric, .. } if metric == "AV"),
        "{error:?}"
    );
    let error = score("CVSS:3.1/AV:N/ZZ:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap_err();
    assert!(
        matches!(&error, CvssError::UnknownMetric { metric, .. } if metric == "ZZ"),
        "{error:?}"
    );
    let error = score("CVSS:3.1/AV:N/AC/PR:N").unwrap_err();
    assert!(
        matches!(&error, CvssError::Malformed { part, .. } if part == "AC"),
        "{error:?}"
    );
    let error = score("CVSS:5.0/AV:N").unwrap_err();
    assert!(
        matches!(error, CvssError::UnsupportedVersion { .. }),
        "{error:?}"
    );
    assert_eq!(score("  ").unwrap_err(), CvssError::Empty);
}

proptest! {
    /// Arbitrary text is an error or a score in range, never a panic.
    #[test]
    fn arbitrary_vectors_never_panic(text in "(CVSS:[34]\\.[01]/)?([A-Za-z]{1,3}:[A-Za-z]{1,2}/?){0,14}") {
        if let Ok(scored) = score(&text) {
            prop_assert!((0.0..=10.0).contains(&scored.base_score));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Random vectors against the PyPI `cvss` package.

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(options)
}

fn metric(name: &'static str, values: &'static [&'static str]) -> impl Strategy<Value = String> {
    pick(values).prop_map(move |value| format!("{name}:{value}"))
}

fn v3_vector(version: &'static str) -> impl Strategy<Value = String> {
    (
        metric("AV", &["N", "A", "L", "P"]),
        metric("AC", &["L", "H"]),
        metric("PR", &["N", "L", "H"]),
        metric("UI", &["N", "R"]),
        metric("S", &["U", "C"]),
        metric("C", &["H", "L", "N"]),
        metric("I", &["H", "L", "N"]),
        metric("A", &["H", "L", "N"]),
    )
        .prop_map(move |(av, ac, pr, ui, s, c, i, a)| {
            format!("CVSS:{version}/{av}/{ac}/{pr}/{ui}/{s}/{c}/{i}/{a}")
        })
}

fn v4_vector() -> impl Strategy<Value = String> {
    let base = (
        metric("AV", &["N", "A", "L", "P"]),
        metric("AC", &["L", "H"]),
        metric("AT", &["N", "P"]),
        metric("PR", &["N", "L", "H"]),
        metric("UI", &["N", "P", "A"]),
        metric("VC", &["H", "L", "N"]),
        metric("VI", &["H", "L", "N"]),
        metric("VA", &["H", "L", "N"]),
        metric("SC", &["H", "L", "N"]),
        metric("SI", &["H", "L", "N"]),
        metric("SA", &["H", "L", "N"]),
    );
    // Threat and supplemental metrics, as real records sometimes carry them.
    let extra = (
        proptest::option::of(metric("E", &["A", "P", "U", "X"])),
        proptest::option::of(metric("S", &["N", "P", "X"])),
    );
    (base, extra).prop_map(
        |((av, ac, at, pr, ui, vc, vi, va, sc, si, sa), (exploit, safety))| {
            let mut vector =
                format!("CVSS:4.0/{av}/{ac}/{at}/{pr}/{ui}/{vc}/{vi}/{va}/{sc}/{si}/{sa}");
            for part in [exploit, safety].into_iter().flatten() {
                vector.push('/');
                vector.push_str(&part);
            }
            vector
        },
    )
}

fn v2_vector() -> impl Strategy<Value = String> {
    (
        metric("AV", &["L", "A", "N"]),
        metric("AC", &["H", "M", "L"]),
        metric("Au", &["M", "S", "N"]),
        metric("C", &["N", "P", "C"]),
        metric("I", &["N", "P", "C"]),
        metric("A", &["N", "P", "C"]),
    )
        .prop_map(|(av, ac, au, c, i, a)| format!("{av}/{ac}/{au}/{c}/{i}/{a}"))
}

fn generate(strategy: impl Strategy<Value = String>, count: usize) -> Vec<String> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn tools_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools"))
}

/// The venv's Python when it has the `cvss` package; otherwise fails under CI, or skips.
fn python_with_cvss() -> Option<PathBuf> {
    let python = tools_dir().join("venv/bin/python");
    let found = python.exists()
        && Command::new(&python)
            .args(["-c", "import cvss"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    if found {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("python package cvss not installed (run scripts/deps/install.sh)");
    }
    eprintln!("skipped: python package cvss not installed (run scripts/deps/install.sh)");
    None
}

/// Scores every vector with the `cvss` package in one process: one `score severity` line each.
fn oracle_scores(python: &Path, vectors: &[String]) -> Vec<(f64, String)> {
    let script = r#"
import sys
from cvss import CVSS2, CVSS3, CVSS4
for line in sys.stdin:
    vector = line.strip()
    if vector.startswith("CVSS:4.0/"):
        c = CVSS4(vector)
        print(c.base_score, c.severity)
    elif vector.startswith("CVSS:3."):
        c = CVSS3(vector)
        print(c.base_score, c.severities()[0])
    else:
        c = CVSS2(vector)
        print(c.base_score, c.severities()[0])
"#;
    let output_dir = tempfile::tempdir().unwrap();
    let stdout_path = output_dir.path().join("stdout");
    let stderr_path = output_dir.path().join("stderr");
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = vectors.iter().map(|vector| format!("{vector}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let status = match child.wait_timeout(ORACLE_TIMEOUT).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the cvss oracle did not finish within {ORACLE_TIMEOUT:?}");
        }
    };
    writer.join().unwrap().unwrap();
    assert!(
        status.success(),
        "the cvss oracle failed: {}",
        std::fs::read_to_string(&stderr_path).unwrap()
    );
    std::fs::read_to_string(&stdout_path)
        .unwrap()
        .lines()
        .map(|line| {
            let (number, severity) = line.split_once(' ').unwrap();
            (number.parse().unwrap(), severity.to_lowercase())
        })
        .collect()
}

#[test]
fn random_vectors_score_as_the_cvss_package_does() {
    let Some(python) = python_with_cvss() else {
        return;
    };
    let mut vectors = generate(v3_vector("3.1"), PER_VERSION);
    vectors.extend(generate(v3_vector("3.0"), PER_VERSION));
    vectors.extend(generate(v4_vector(), PER_VERSION));
    vectors.extend(generate(v2_vector(), PER_VERSION));
    let expected = oracle_scores(&python, &vectors);
    assert_eq!(expected.len(), vectors.len());
    let mut differences = Vec::new();
    for (vector, (oracle_score, oracle_severity)) in vectors.iter().zip(&expected) {
        let ours = score(vector).unwrap_or_else(|error| panic!("{vector}: {error}"));
        if (ours.base_score - oracle_score).abs() > 0.05
            || ours.severity.as_str() != oracle_severity
        {
            differences.push(format!(
                "{vector}: cvss {oracle_score} {oracle_severity}, ours {} {}",
                ours.base_score, ours.severity
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} vectors score differently:\n{}",
        differences.len(),
        vectors.len(),
        differences.join("\n")
    );
    let distinct: std::collections::HashSet<u64> =
        expected.iter().map(|(value, _)| value.to_bits()).collect();
    assert!(distinct.len() > 40, "the vectors must cover many scores");
}
