//! Reading and ingesting untrusted SARIF never panics, whatever the bytes.

use proptest::prelude::*;
use slipway_sarif::{ingest, ingest_with_root, read};
use std::path::Path;

const SEEDS: [&str; 2] = [
    include_str!("data/codeql-like.sarif"),
    include_str!("data/clippy-sarif.sarif"),
];

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(log) = read("fuzz.sarif", &bytes) {
            ingest(&log);
        }
    }

    #[test]
    fn mutated_fixtures(seed in 0..SEEDS.len(), cut in any::<prop::sample::Index>(),
                        insert in "[-0-9a-z{}\\[\\]\",:%/.]{0,12}") {
        let text = SEEDS[seed];
        let mut position = cut.index(text.len() + 1);
        while !text.is_char_boundary(position) {
            position -= 1;
        }
        let mutated = format!("{}{}{}", &text[..position], insert, &text[position..]);
        if let Ok(log) = read("fuzz.sarif", mutated.as_bytes()) {
            ingest_with_root(&log, Path::new("/home/runner/work/app/app"));
        }
    }

    #[test]
    fn odd_values_in_a_valid_shape(index in any::<i64>(), uri in "\\PC{0,24}", base in "\\PC{0,16}",
                                   message in "\\PC{0,24}", argument in "\\PC{0,8}") {
        let log = serde_json::json!({
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "t", "rules": [{"id": "r", "messageStrings": {"m": {"text": message}}}]},
                         "extensions": [{"name": "e"}]},
                "originalUriBaseIds": {"B": {"uri": base, "uriBaseId": "B"}},
                "artifacts": [{"location": {"uri": uri}}],
                "results": [
                    {"ruleIndex": index, "message": {"id": "m", "arguments": [argument]},
                     "locations": [{"physicalLocation": {"artifactLocation": {"index": index}}}]},
                    {"rule": {"index": index, "toolComponent": {"index": index}}, "message": {"text": message},
                     "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "B"}}}]}
                ]
            }]
        });
        let log = read("odd.sarif", log.to_string().as_bytes()).unwrap();
        let findings = ingest_with_root(&log, Path::new("/"));
        prop_assert_eq!(findings.len(), 2);
    }
}
