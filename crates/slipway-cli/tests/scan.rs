//! `slipway scan` and `slipway db` through the real binary, on the hand-written advisories and
//! fixture projects of `slipway-osv` and small trees made here.

mod common;

use common::{slipway, text};
use std::path::{Path, PathBuf};

fn osv_data(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../slipway-osv/tests/data")
        .join(part)
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

/// A state directory holding the hand-written advisories.
fn database() -> tempfile::TempDir {
    let state = tempfile::tempdir().unwrap();
    let output = slipway(
        state.path(),
        &[
            "db",
            "import",
            osv_data("advisories").to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let imported = json(&output);
    assert_eq!(imported["records"], 13, "{imported}");
    assert_eq!(imported["rejected"], serde_json::json!([]), "{imported}");
    state
}

#[test]
fn db_import_is_idempotent_and_status_counts_per_ecosystem() {
    let state = database();
    let dir = state.path().to_str().unwrap();
    let again = slipway(
        state.path(),
        &[
            "db",
            "import",
            osv_data("advisories").to_str().unwrap(),
            "--state-dir",
            dir,
            "--json",
        ],
        &[],
    );
    let again = json(&again);
    assert_eq!(
        (again["inserted"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(13))
    );

    let status = slipway(
        state.path(),
        &["db", "status", "--state-dir", dir, "--json"],
        &[("SLIPWAY_NOW", "2026-11-22")],
    );
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status = json(&status);
    let ecosystems: Vec<&str> = status["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ecosystem"].as_str().unwrap())
        .collect();
    for expected in ["Alpine", "Debian", "Go", "PyPI", "crates.io", "npm"] {
        assert!(ecosystems.contains(&expected), "{ecosystems:?}");
    }
    let warning = status["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("PyPI") && warning.contains("days old"),
        "records from 2024 are stale at 2026-11-22: {status}"
    );
    assert!(
        !warning.contains("crates.io"),
        "a record dated 2099 is not stale: {warning}"
    );

    let empty = tempfile::tempdir().unwrap();
    let status = slipway(
        empty.path(),
        &[
            "db",
            "status",
            "--state-dir",
            empty.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        text(&status.stderr).contains("slipway db import"),
        "{}",
        text(&status.stderr)
    );
}

#[test]
fn vulnerable_lockfiles_fail_the_gate_and_fixed_ones_pass() {
    let state = database();
    let dir = state.path().to_str().unwrap();
    let vulnerable = osv_data("projects/vulnerable");
    let output = slipway(
        state.path(),
        &[
            "scan",
            "deps",
            vulnerable.to_str().unwrap(),
            "--state-dir",
            dir,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let report = json(&output);
    let found: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["advisory"].as_str().unwrap(),
                f["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(found.contains(&("RUSTSEC-2099-0001", "1.2.0")), "{found:?}");
    assert!(found.contains(&("TEST-NPM-1", "2.1.0")), "{found:?}");
    let critical = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["advisory"] == "TEST-CRATE-V4")
        .unwrap();
    assert_eq!(critical["severity"], "critical");
    assert_eq!(critical["severity_source"], "cvss_v4");
    assert_eq!(report["verdict"], "fail");

    let fixed = osv_data("projects/fixed");
    let output = slipway(
        state.path(),
        &[
            "scan",
            "deps",
            fixed.to_str().unwrap(),
            "--state-dir",
            dir,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(json(&output)["findings"], serde_json::json!([]));
}

#[test]
fn a_warn_gate_and_a_waiver_let_vulnerabilities_through() {
    let state = database();
    let dir = state.path().to_str().unwrap();
    let project = tempfile::tempdir().unwrap();
    common::copy_tree(&osv_data("projects/vulnerable"), project.path());
    std::fs::write(
        project.path().join("slipway.yml"),
        "version: 1\njobs:\n  t:\n    steps:\n      - run: 'true'\ngates:\n  vulnerabilities: { block: [critical] }\n",
    )
    .unwrap();
    std::fs::create_dir_all(project.path().join(".slipway")).unwrap();
    std::fs::write(
        project.path().join(".slipway/waivers.yml"),
        "waivers:\n  - id: TEST-CRATE-V4\n    owner: alice\n    reason: parser never sees input\n    expires: 2026-12-01\n  - id: TEST-NPM-1\n    scope: 'pkg:npm/*'\n    owner: bob\n    reason: build-time only\n    expires: 2026-12-01\n",
    )
    .unwrap();
    let scan = |now: &str| {
        slipway(
            project.path(),
            &["scan", "deps", ".", "--state-dir", dir],
            &[("SLIPWAY_NOW", now)],
        )
    };
    let output = scan("2026-11-22");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("waived by .slipway/waivers.yml:2 (owner alice"),
        "{stderr}"
    );
    assert!(
        stderr.contains("high severity does not block (gates.vulnerabilities.block: [critical])"),
        "{stderr}"
    );

    let output = scan("2026-12-02");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("waiver for `TEST-CRATE-V4` expired on 2026-12-01"),
        "{stderr}"
    );
}

#[test]
fn os_packages_of_a_root_filesystem_match_distro_advisories() {
    let state = database();
    let dir = state.path().to_str().unwrap();
    for (rootfs, expected, code) in [
        ("rootfs/debian-vulnerable", Some("DSA-TEST-12"), 1),
        ("rootfs/debian-fixed", None, 0),
        // No severity in the record: reported, and it warns rather than blocks.
        ("rootfs/alpine-vulnerable", Some("ALPINE-TEST-1"), 0),
        ("rootfs/alpine-fixed", None, 0),
    ] {
        let output = slipway(
            state.path(),
            &[
                "scan",
                "image",
                osv_data(rootfs).to_str().unwrap(),
                "--state-dir",
                dir,
                "--format",
                "json",
            ],
            &[],
        );
        assert_eq!(
            output.status.code(),
            Some(code),
            "{rootfs}: {}",
            text(&output.stderr)
        );
        let report = json(&output);
        let advisories: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["advisory"].as_str().unwrap())
            .collect();
        match expected {
            Some(id) => assert!(advisories.contains(&id), "{rootfs}: {advisories:?}"),
            None => assert!(advisories.is_empty(), "{rootfs}: {advisories:?}"),
        }
    }
}

#[test]
fn secrets_json_has_the_documented_shape_with_relative_paths() {
    let tree = tempfile::tempdir().unwrap();
    let key = ["AKIA", "Q3EGRT7", "LN2XW5Y", "VB"].concat();
    std::fs::create_dir_all(tree.path().join("config")).unwrap();
    std::fs::write(
        tree.path().join("config/deploy.env"),
        format!("REGION=eu-west-1\nAWS_KEY_ID={key}\n"),
    )
    .unwrap();
    std::fs::write(tree.path().join("README.md"), "nothing to see\n").unwrap();
    let output = slipway(
        tree.path(),
        &["scan", "secrets", ".", "--format", "json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(!stdout.contains(&key), "the secret must not be printed");
    let report = json(&output);
    assert_eq!(report["scanned_files"], 2);
    assert!(report["scanned_bytes"].as_u64().unwrap() > 40);
    let finding = &report["findings"][0];
    assert_eq!(finding["file"], "config/deploy.env");
    assert_eq!(finding["line"], 2);
    assert_eq!(finding["column"], 12);
    assert!(finding["commit"].is_null());
    assert_eq!(finding["fingerprint"].as_str().unwrap().len(), 32);
    assert!(
        finding["rule"].as_str().unwrap().starts_with("aws"),
        "{finding}"
    );
    assert!(
        finding["excerpt"].as_str().unwrap().contains("AKIA"),
        "{finding}"
    );
}

#[test]
fn pins_flag_an_unpinned_base_image_with_its_position() {
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(
        tree.path().join("Dockerfile"),
        "FROM debian:12-slim\nRUN true\n",
    )
    .unwrap();
    let output = slipway(tree.path(), &["scan", "pins", ".", "--format", "json"], &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "pins warn by default: {}",
        text(&output.stderr)
    );
    let report = json(&output);
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "unpinned-base-image");
    assert_eq!(
        (finding["file"].as_str(), finding["line"].as_u64()),
        (Some("Dockerfile"), Some(1))
    );
    assert_eq!(report["verdict"], "warn");
}
