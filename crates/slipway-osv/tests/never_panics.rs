//! Property tests: reading untrusted advisory files never panics, matching never panics on
//! whatever versions a record holds, and the RustSec conversion agrees with the `semver`
//! crate's own reading of Cargo requirements.

use proptest::prelude::*;
use slipway_osv::{Index, matches, parse_record};

fn names() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a.json"),
        Just("a.yaml"),
        Just("RUSTSEC-0000-0000.md"),
        Just("no-extension"),
    ]
}

fn version_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        "[0-9]\\.[0-9](a|b|rc|\\.post|\\.dev|-|~|_|\\+)[0-9a-z.]{0,6}",
        "[0-9]:[0-9.]{1,6}-[0-9a-z+.~]{1,8}",
        "v?0\\.0\\.0-[0-9]{14}-[0-9a-f]{12}",
        ".{0,12}",
    ]
}

fn requirement() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just(">="),
        Just(">"),
        Just("<"),
        Just("<="),
        Just("="),
        Just("^"),
        Just("~"),
    ];
    let version = prop_oneof![
        (0u64..4, 0u64..4, 0u64..4).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (0u64..4, 0u64..4).prop_map(|(a, b)| format!("{a}.{b}")),
        (0u64..4).prop_map(|a| format!("{a}")),
    ];
    prop_oneof![
        (op.clone(), version.clone()).prop_map(|(op, v)| format!("{op}{v}")),
        (op.clone(), version.clone(), op, version)
            .prop_map(|(o1, v1, o2, v2)| format!("{o1}{v1}, {o2}{v2}")),
        (0u64..4, 0u64..4).prop_map(|(a, b)| format!("{a}.{b}.*")),
    ]
}

fn rustsec(patched: &[String], unaffected: &[String]) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "```toml\n[advisory]\nid = \"RUSTSEC-0000-0001\"\npackage = \"p\"\ndate = \"2024-01-01\"\n\n[versions]\npatched = [{}]\nunaffected = [{}]\n```\n\n# Title\n",
        list(patched),
        list(unaffected)
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(name in names(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_record(name, &bytes);
    }

    #[test]
    fn arbitrary_text_in_each_format_never_panics(name in names(), prefix in prop_oneof![Just(""), Just("{"), Just("```toml\n"), Just("id: X\n")], text in "\\PC{0,300}") {
        let _ = parse_record(name, format!("{prefix}{text}").as_bytes());
    }

    #[test]
    fn matching_never_panics_on_any_event_versions(
        ecosystem in prop_oneof![Just("PyPI"), Just("npm"), Just("Go"), Just("Debian:12"), Just("Alpine:v3.20"), Just("Maven"), Just("RubyGems"), Just("Packagist"), Just("Nope")],
        kind in prop_oneof![Just("SEMVER"), Just("ECOSYSTEM"), Just("GIT"), Just("OTHER")],
        events in proptest::collection::vec((0usize..4, version_text()), 0..6),
        listed in proptest::collection::vec(version_text(), 0..3),
        installed in version_text(),
    ) {
        let keys = ["introduced", "fixed", "last_affected", "limit"];
        let events: Vec<serde_json::Value> = events
            .iter()
            .map(|(key, version)| serde_json::json!({ keys[*key]: version }))
            .collect();
        let record = serde_json::json!({
            "id": "X-1", "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": ecosystem, "name": "p"},
                          "ranges": [{"type": kind, "events": events}], "versions": listed}]
        });
        let record = parse_record("x.json", record.to_string().as_bytes()).unwrap();
        let _ = matches(&record, ecosystem, "p", &installed);
        let _ = Index::new([record]);
    }

    /// A version is affected exactly when no `patched`/`unaffected` requirement accepts it
    /// (the RustSec rule), as the `semver` crate evaluates the requirements.
    #[test]
    fn rustsec_ranges_agree_with_semver_requirements(
        patched in proptest::collection::vec(requirement(), 0..3),
        unaffected in proptest::collection::vec(requirement(), 0..2),
        version in (0u64..5, 0u64..5, 0u64..5),
    ) {
        let record = parse_record("RUSTSEC-0000-0001.md", rustsec(&patched, &unaffected).as_bytes()).unwrap();
        let version = semver::Version::new(version.0, version.1, version.2);
        let accepted = patched
            .iter()
            .chain(&unaffected)
            .any(|r| semver::VersionReq::parse(r).unwrap().matches(&version));
        let affected = matches(&record, "crates.io", "p", &version.to_string()).unwrap();
        prop_assert_eq!(affected, !accepted, "{} with patched {:?} unaffected {:?}: events {:?}",
            version, patched, unaffected, record.affected[0].ranges[0].events);
    }
}
