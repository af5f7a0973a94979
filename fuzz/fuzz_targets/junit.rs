//! Any bytes, read as a JUnit report: counting must return counts or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(counts) = slipway_runner::reports::count_junit(data) {
        assert!(counts.failures + counts.errors + counts.skipped <= counts.tests);
    }
});
