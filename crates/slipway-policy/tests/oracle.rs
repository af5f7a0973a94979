//! The built-in pack under two Rego implementations: regorus (what Slipway runs) and rego-cpp
//! (through regopy, installed by scripts/deps/policy.sh). Over the known-good and known-bad
//! bundles and every bundle between them that differs by one fact, both must give every rule
//! the same number of deny and warn reasons. (Counts, not texts: rego-cpp 1.5.2 quotes strings
//! a built-in computed when `sprintf` formats them again; the pack's tests pin the texts.)

mod common;

use common::{crate_dir, fixture};
use serde_json::{Value, json};
use slipway_policy::{DecisionPoint, Input, PolicySet, evaluate};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tools_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("test-tools"))
        })
        .unwrap_or_else(|| crate_dir().join("../../target/test-tools"))
}

/// The venv's python when regopy is importable; otherwise fails under CI, or skips.
fn regopy() -> Option<PathBuf> {
    let python = tools_dir().join("venv/bin/python");
    let found = python.is_file()
        && Command::new(&python)
            .args(["-c", "import regopy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if found {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("regopy not installed (run scripts/deps/install.sh)");
    }
    eprintln!("skipped: regopy not installed (run scripts/deps/install.sh)");
    None
}

/// Every leaf pointer of `value`.
fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{at}/{k}"), out)),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// The good and bad bundles, each with every single fact taken from the other, and a few
/// shapes the fixtures do not have.
fn bundles() -> Vec<Value> {
    let good = fixture("good");
    let bad = fixture("bad");
    let mut bundles = vec![good.clone(), bad.clone()];
    for (base, donor) in [(&good, &bad), (&bad, &good)] {
        let mut pointers = Vec::new();
        leaves(base, String::new(), &mut pointers);
        for pointer in pointers {
            if let Some(value) = donor.pointer(&pointer) {
                let mut variant = base.clone();
                *variant.pointer_mut(&pointer).unwrap() = value.clone();
                bundles.push(variant);
            }
        }
    }
    let edits = [
        ("/history/previous_environment", Value::Null),
        ("/environment/after", json!([])),
        ("/history/previous_environment/seconds_since", Value::Null),
        ("/scans", json!([])),
        ("/signatures", json!([])),
        ("/verification/checks", json!([])),
        ("/environment/soak/required_seconds", json!(86400)),
    ];
    for (pointer, value) in edits {
        for base in [&good, &bad] {
            let mut variant = base.clone();
            *variant.pointer_mut(pointer).unwrap() = value.clone();
            bundles.push(variant);
        }
    }
    // What `collect_evidence` reports when no trusted key signed anything: every envelope
    // unread (no subject), so no provenance, SBOM or report is present.
    let mut unread = good.clone();
    unread["signatures"] = ["provenance", "sbom-spdx", "security-gates"]
        .map(|kind| json!({"kind": kind, "key_id": "laptop", "trusted": false, "subject": ""}))
        .into();
    unread["provenance"] = json!({"present": false, "subjects": [], "builder_id": null,
        "build_type": null, "development_key": false});
    unread["sbom"] = json!({"present": false, "subjects": [], "components": 0});
    unread["scans"] = json!([]);
    bundles.push(unread);
    bundles
}

#[test]
fn regorus_and_rego_cpp_agree_on_every_builtin_rule() {
    let Some(python) = regopy() else {
        return;
    };
    let set = PolicySet::builtin();
    let packages: BTreeMap<String, String> = set
        .rules()
        .into_iter()
        .map(|rule| {
            let file = rule.name.as_deref().unwrap().replace('-', "_");
            (rule.id, format!("data.slipway.builtin.{file}"))
        })
        .collect();
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(crate_dir().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rego") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            modules.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    assert_eq!(modules.len(), 13);
    let bundles = bundles();
    // Only bundles that fit the contract are judged; the point is promote, where every rule runs.
    let bundles: Vec<Value> = bundles
        .into_iter()
        .filter(|b| serde_json::from_value::<Input>(b.clone()).is_ok())
        .collect();
    assert!(bundles.len() > 80, "{}", bundles.len());
    let request = json!({
        "modules": modules,
        "data": {"slipway": {"params": {"min_soak_seconds": 600}}},
        "packages": packages,
        "inputs": bundles,
    });
    let oracle = run_python(&python, &request.to_string());
    let expected: Vec<BTreeMap<String, BTreeMap<String, usize>>> =
        serde_json::from_str(&oracle).unwrap();
    assert_eq!(expected.len(), bundles.len());
    let mut reasons_compared = 0;
    for (bundle, expected) in bundles.iter().zip(expected) {
        let input: Input = serde_json::from_value(bundle.clone()).unwrap();
        let decision = evaluate(&set, DecisionPoint::Promote, &input).unwrap();
        for (kind, reasons) in [("deny", &decision.deny), ("warn", &decision.warn)] {
            let mut ours: BTreeMap<String, usize> = BTreeMap::new();
            for reason in reasons.iter() {
                *ours.entry(reason.rule.clone()).or_default() += 1;
            }
            let theirs: BTreeMap<String, usize> = expected
                .iter()
                .map(|(rule, by_kind)| (rule.clone(), by_kind[kind]))
                .filter(|(_, count)| *count > 0)
                .collect();
            assert_eq!(ours, theirs, "{kind} differs for {bundle}");
            reasons_compared += reasons.len();
        }
    }
    assert!(reasons_compared > 300, "{reasons_compared}");
}

fn run_python(python: &PathBuf, request: &str) -> String {
    let script = crate_dir().join("tests/oracle/rego_cpp.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let request = request.to_owned();
    // Feed and drain in threads so that neither side blocks on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).map(|_| text)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            child.kill().unwrap();
            panic!("rego-cpp did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    writer.join().unwrap().unwrap();
    let stdout = reader.join().unwrap().unwrap();
    let stderr = errors.join().unwrap().unwrap();
    assert!(status.success(), "rego-cpp failed: {stderr}");
    stdout
}
