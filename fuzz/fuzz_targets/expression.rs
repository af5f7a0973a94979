//! Any bytes, read as an expression: every parser entry point, and evaluating whatever parses,
//! must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_pipeline::expr::{self, Scope};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // With a status, `success()` and friends evaluate instead of stopping at "not available".
    let scope = Scope {
        status: Some(Default::default()),
        ..Scope::default()
    };
    if let Ok(parsed) = expr::parse(&text) {
        let _ = scope.eval(&parsed);
    }
    if let Ok(segments) = expr::parse_template(&text) {
        let _ = scope.render(&segments);
    }
    if let Ok((parsed, _)) = expr::parse_condition(&text) {
        let _ = scope.eval(&parsed);
    }
});
