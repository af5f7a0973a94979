//! Any bytes, read as the answers an analysis gets over HTTP: a Prometheus query response, and
//! a web check's JSON looked up by a path taken from the first line. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_analysis::JsonPath;
use slipway_analysis::prometheus::read_response;

fuzz_target!(|data: &[u8]| {
    let status = data.first().map_or(200, |b| 100 + u16::from(*b) * 2);
    let _ = read_response(status, data);
    let text = String::from_utf8_lossy(data);
    let (path, body) = text.split_once('\n').unwrap_or((&text, ""));
    if let (Ok(path), Ok(document)) = (
        JsonPath::parse(path),
        serde_json::from_str::<serde_json::Value>(body),
    ) {
        let _ = path.lookup(&document);
    }
});
