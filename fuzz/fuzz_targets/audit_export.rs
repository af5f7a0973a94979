//! Any bytes, read as an audit log export: reading the header, verifying every entry line and
//! its checkpoints, must not panic; and any JSON read as an event's details either is refused
//! or hashes, with canonical bytes that read back as the same JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_audit::{
    Entry, Event, ExportReader, ZERO_HASH, canonical_bytes, normalize_details, verify_export,
};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = ExportReader::new(data, Path::new("fuzz.jsonl")) {
        let _ = verify_export(reader, None);
    }
    let Ok(details) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(details) = normalize_details(details) else {
        return;
    };
    let event = Event::new("fuzz", "fuzz.input", "subject", details);
    let entry = Entry::chain(1, 0, &event, ZERO_HASH).expect("normalised details always chain");
    let bytes = canonical_bytes(&entry).expect("a chained entry always encodes");
    let back: serde_json::Value = serde_json::from_slice(&bytes).expect("canonical bytes are JSON");
    assert_eq!(back["details"], entry.details);
});
