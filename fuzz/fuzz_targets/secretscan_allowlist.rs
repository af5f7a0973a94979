//! Any text, read as an allowlist file: parsing must not panic, and a rejection must be
//! located inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_secretscan::{Allowlist, Error};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(Error::Allowlist { line, column, .. }) =
        Allowlist::parse(Path::new(".slipway/secrets-allow.yml"), &text)
    {
        assert!(line >= 1 && column >= 1);
    }
});
