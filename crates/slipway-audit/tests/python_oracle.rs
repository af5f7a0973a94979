//! The canonical encoding against an independent one: Python's `json.dumps(sort_keys=True,
//! separators=(",", ":"), ensure_ascii=False)`, the encoding docs/audit.md tells auditors to
//! use, over generated entries with every kind of string, key and number.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value};
use slipway_audit::{Entry, Event, ZERO_HASH};
use std::io::Write;
use std::process::{Command, Stdio};

const HASH_EACH_LINE: &str = r#"
import hashlib, json, sys
def canon(o): return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
for line in sys.stdin:
    e = json.loads(line)
    print(hashlib.sha256(canon({f: e[f] for f in ("seq", "at", "actor", "action", "subject", "details", "prev")})).hexdigest())
"#;

/// Keys within the Basic Multilingual Plane (what entries allow), controls and all.
fn key() -> impl Strategy<Value = String> {
    "[\\x00-\\x7f\\u{80}-\\u{d7ff}\\u{e000}-\\u{ffff}]{0,6}"
}

fn details() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop::collection::vec((key(), tree), 0..5)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        1..i64::from(u32::MAX),
        -62_167_219_200_000..253_402_300_799_999_i64,
        "\\PC{1,12}".prop_filter("not blank", |s: &String| !s.trim().is_empty()),
        "[a-z]{1,5}\\.[a-z_-]{1,8}",
        any::<String>().prop_filter("non-empty", |s| !s.trim().is_empty()),
        details(),
    )
        .prop_map(|(seq, at_ms, actor, action, subject, details)| {
            let event = Event::new(actor, action, subject, details);
            Entry::chain(seq, at_ms, &event, ZERO_HASH).expect("generated events are valid")
        })
}

fn python() -> Option<&'static str> {
    if Command::new("python3").arg("--version").output().is_ok() {
        return Some("python3");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "python3 not installed (run scripts/deps/install.sh)"
    );
    eprintln!("skipped: python3 not installed (run scripts/deps/install.sh)");
    None
}

#[test]
fn python_json_dumps_computes_the_same_hashes() {
    let Some(python) = python() else { return };
    let mut runner = TestRunner::deterministic();
    let strategy = entry();
    let entries: Vec<Entry> = (0..2000)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let mut child = Command::new(python)
        .args(["-c", HASH_EACH_LINE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for entry in &entries {
        input.push_str(&serde_json::to_string(entry).unwrap());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    let hashes: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(hashes.len(), entries.len());
    for (entry, hash) in entries.iter().zip(hashes) {
        assert_eq!(
            entry.hash,
            hash,
            "Python hashes entry {} differently: {}",
            entry.seq,
            String::from_utf8_lossy(&slipway_audit::canonical_bytes(entry).unwrap())
        );
    }
}

proptest! {
    /// The direct encoding of checked entries is byte for byte the RFC 8785 crate's.
    #[test]
    fn the_direct_encoding_is_rfc_8785(entry in entry()) {
        let expected = serde_json_canonicalizer::to_vec(&serde_json::json!({
            "seq": entry.seq,
            "at": entry.at().unwrap(),
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
            "prev": entry.prev,
        }))
        .unwrap();
        prop_assert_eq!(
            String::from_utf8(slipway_audit::canonical_bytes(&entry).unwrap()).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}
