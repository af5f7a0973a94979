//! Any bytes, read as a registry reference (`host[:port]/repository[:tag][@digest]`): parsing
//! must not panic, and whatever parses must print back as the same text and parse again the
//! same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_registry::Reference;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(reference) = text.parse::<Reference>() {
        let printed = reference.to_string();
        assert_eq!(printed, text);
        let again: Reference = printed.parse().expect("a printed reference parses");
        assert_eq!(again, reference);
    }
});
