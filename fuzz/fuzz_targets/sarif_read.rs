//! Any bytes, read as SARIF and ingested: an error or findings, never a panic. What was read
//! is written again and must read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(log) = slipway_sarif::read("fuzz.sarif", data) else {
        return;
    };
    let findings = slipway_sarif::ingest(&log);
    let rooted = slipway_sarif::ingest_with_root(&log, Path::new("/home/runner/work/app/app"));
    assert_eq!(findings.len(), rooted.len());
    let again =
        slipway_sarif::read("again.sarif", &log.to_json()).expect("written SARIF reads back");
    assert_eq!(again, log);
});
