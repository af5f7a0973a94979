//! Any bytes, scanned as one file's content with the builtin rules: no panic, and every
//! finding's position and excerpt stay within bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_secretscan::Scanner;

fuzz_target!(|data: &[u8]| {
    let scanner = Scanner::builtin();
    for finding in scanner.scan_bytes("fuzz.txt", data) {
        assert!(finding.line >= 1 && finding.column >= 1);
        assert!(finding.end_line >= finding.line);
        assert!(finding.excerpt.chars().count() <= 200);
    }
});
