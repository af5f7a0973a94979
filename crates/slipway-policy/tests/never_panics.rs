//! Property tests: no input document makes reading or evaluating panic, and the built-in pack
//! never fails (conflicts, type errors) on an input that fits the contract.

mod common;

use proptest::prelude::*;
use serde_json::Value;
use slipway_policy::{DecisionPoint, Input, PolicyError, PolicySet, evaluate};
use std::sync::OnceLock;

fn set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(PolicySet::builtin)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "[a-z0-9:._ -]{0,12}".prop_map(Value::String),
        Just(Value::String("sha256:".to_owned() + &"a".repeat(64))),
        Just(Value::String("2026-11-22T08:00:00Z".into())),
        prop_oneof![
            Just("pass"),
            Just("warn"),
            Just("fail"),
            Just("off"),
            Just("promote")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer of the good fixture: its objects, arrays and leaves.
fn pointers() -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    walk(child, format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{index}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&common::fixture("good"), String::new(), &mut out);
    out.retain(|p| !p.is_empty());
    out
}

fn point() -> impl Strategy<Value = DecisionPoint> {
    prop_oneof![
        Just(DecisionPoint::Release),
        Just(DecisionPoint::Promote),
        Just(DecisionPoint::Rollback),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn reading_any_json_never_panics(value in json_value(), text in ".{0,64}") {
        let _ = Input::from_json("input.json", &value.to_string());
        let _ = Input::from_json("input.json", &text);
    }

    #[test]
    fn evaluating_a_mutated_bundle_never_panics_nor_errs(
        changes in prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4),
        point in point(),
    ) {
        let pointers = pointers();
        let mut document = common::fixture("good");
        for (index, value) in changes {
            if let Some(slot) = document.pointer_mut(index.get(&pointers).as_str()) {
                *slot = value;
            }
        }
        if let Ok(input) = serde_json::from_value::<Input>(document) {
            match evaluate(set(), point, &input) {
                Ok(decision) => prop_assert_eq!(decision.allow, decision.deny.is_empty()),
                // Only the contract check may refuse; the pack itself must never fail.
                Err(PolicyError::Input { .. }) => {}
                Err(other) => prop_assert!(false, "{}", other),
            }
        }
    }

    #[test]
    fn evaluating_arbitrary_typed_facts_never_errs(
        digest in prop_oneof![Just("sha256:".to_owned() + &"a".repeat(64)), "[a-z0-9:]{0,20}"],
        strings in prop::collection::vec("[a-zA-Z0-9:/._ -]{0,16}", 8),
        numbers in prop::collection::vec(any::<u64>(), 6),
        flags in prop::collection::vec(any::<bool>(), 10),
        point in point(),
    ) {
        let mut document = common::fixture("bad");
        let s = |i: usize| Value::String(strings[i].clone());
        let set_at = |document: &mut Value, pointer: &str, value: Value| {
            *document.pointer_mut(pointer).unwrap() = value;
        };
        set_at(&mut document, "/artifact/digest", Value::String(digest));
        set_at(&mut document, "/signatures/0/subject", s(0));
        set_at(&mut document, "/signatures/0/trusted", Value::Bool(flags[0]));
        set_at(&mut document, "/provenance/present", Value::Bool(flags[1]));
        set_at(&mut document, "/provenance/subjects/0", s(1));
        set_at(&mut document, "/sbom/present", Value::Bool(flags[2]));
        set_at(&mut document, "/sbom/components", Value::from(numbers[0]));
        set_at(&mut document, "/scans/0/subject", s(2));
        set_at(&mut document, "/scans/0/counts/block", Value::from(numbers[1]));
        set_at(&mut document, "/base_images/0/line", Value::from(numbers[2]));
        set_at(&mut document, "/base_images/0/file", s(3));
        set_at(&mut document, "/tests/failed", Value::from(numbers[3]));
        set_at(&mut document, "/environment/production", Value::Bool(flags[3]));
        set_at(&mut document, "/environment/soak/required_seconds", Value::from(numbers[4]));
        set_at(&mut document, "/environment/approval/required", Value::from(numbers[5]));
        set_at(&mut document, "/environment/approval/exclude_author", Value::Bool(flags[4]));
        set_at(&mut document, "/approvals/0/actor", s(4));
        set_at(&mut document, "/history/known_bad", Value::Bool(flags[5]));
        set_at(&mut document, "/history/previous_environment/seconds_since", Value::from(numbers[4] / 2));
        set_at(&mut document, "/history/previous_environment/healthy", Value::Bool(flags[6]));
        if flags[7] {
            set_at(&mut document, "/history/previous_environment", Value::Null);
        }
        if flags[8] {
            set_at(&mut document, "/environment/after", Value::Array(Vec::new()));
        }
        let input: Input = serde_json::from_value(document).unwrap();
        match evaluate(set(), point, &input) {
            Ok(decision) => prop_assert_eq!(decision.allow, decision.deny.is_empty()),
            Err(PolicyError::Input { .. }) => {}
            Err(other) => prop_assert!(false, "{}", other),
        }
    }
}
