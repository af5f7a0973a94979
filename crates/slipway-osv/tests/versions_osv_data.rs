//! Every version string real OSV records carry parses under its ecosystem's scheme: PyPI's
//! `ECOSYSTEM` range events and `versions` lists (PEP 440), Go's `SEMVER` range events (Go
//! module versions), and each range's events are in ascending order as the records intend.
//!
//! The records are read from `$SLIPWAY_OSV_DATA`. The data set is
//! not part of the repository, so when it is absent the test skips with a notice, under CI too.

mod common;

use common::osv_data_dir;
use serde_json::Value;
use slipway_osv::version::{Scheme, Version};
use std::path::PathBuf;

struct Tally {
    parsed: usize,
    failures: Vec<String>,
    out_of_order: Vec<String>,
}

/// Parses every version of `range_type` ranges (and the `versions` lists when asked) in the
/// JSON records of `dir`.
fn check_records(dir: &PathBuf, scheme: Scheme, range_type: &str, with_versions: bool) -> Tally {
    let mut tally = Tally {
        parsed: 0,
        failures: Vec::new(),
        out_of_order: Vec::new(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no records in {}", dir.display());
    for file in files {
        let record: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let id = record["id"].as_str().unwrap_or("?").to_owned();
        for affected in record["affected"].as_array().into_iter().flatten() {
            let mut check = |text: &str, context: &str| match Version::parse(scheme, text) {
                Ok(version) => {
                    tally.parsed += 1;
                    Some(version)
                }
                Err(error) => {
                    tally.failures.push(format!("{id} {context}: {error}"));
                    None
                }
            };
            for range in affected["ranges"].as_array().into_iter().flatten() {
                if range["type"] != range_type {
                    continue;
                }
                let mut previous: Option<Version> = None;
                for event in range["events"].as_array().into_iter().flatten() {
                    for (kind, text) in event.as_object().into_iter().flatten() {
                        let Some(text) = text.as_str() else { continue };
                        let Some(version) = check(text, kind) else {
                            continue;
                        };
                        if let Some(previous) = &previous
                            && kind == "introduced"
                            && version < *previous
                        {
                            tally
                                .out_of_order
                                .push(format!("{id}: introduced {version} after {previous}"));
                        }
                        previous = Some(version);
                    }
                }
            }
            if with_versions {
                for text in affected["versions"].as_array().into_iter().flatten() {
                    if let Some(text) = text.as_str() {
                        check(text, "versions");
                    }
                }
            }
        }
    }
    tally
}

#[test]
fn every_pypi_version_parses_as_pep440() {
    let Some(dir) = osv_data_dir() else { return };
    let tally = check_records(&dir.join("PyPI"), Scheme::Pep440, "ECOSYSTEM", true);
    eprintln!("PyPI: {} versions parsed", tally.parsed);
    assert!(
        tally.parsed > 100_000,
        "only {} PyPI versions found",
        tally.parsed
    );
    assert!(
        tally.failures.is_empty(),
        "{} PyPI versions do not parse:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}

#[test]
fn every_go_semver_event_parses_as_a_go_version() {
    let Some(dir) = osv_data_dir() else { return };
    let tally = check_records(&dir.join("Go"), Scheme::Go, "SEMVER", false);
    eprintln!("Go: {} versions parsed", tally.parsed);
    assert!(
        tally.parsed > 10_000,
        "only {} Go versions found",
        tally.parsed
    );
    assert!(
        tally.failures.is_empty(),
        "{} Go versions do not parse:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(
        tally.out_of_order.is_empty(),
        "Go ranges whose events go backwards:\n{}",
        tally.out_of_order.join("\n")
    );
}
