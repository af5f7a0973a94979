//! The input document's JSON Schema: generated from the types, kept current in
//! `schema/policy-input-v1.json`, and it accepts the shipped fixtures.

mod common;

use common::{crate_dir, fixture};
use slipway_policy::Input;

#[test]
fn the_published_schema_is_current() {
    let path = crate_dir().join("../../schema/policy-input-v1.json");
    let generated = serde_json::to_string_pretty(&Input::json_schema()).unwrap() + "\n";
    if std::env::var_os("SLIPWAY_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "schema/policy-input-v1.json is stale: run `SLIPWAY_UPDATE_SCHEMA=1 cargo test -p slipway-policy --test schema`"
    );
}

#[test]
fn the_fixtures_fit_the_schema_and_a_missing_fact_does_not() {
    let validator = jsonschema::validator_for(&Input::json_schema()).unwrap();
    for name in ["good", "bad"] {
        let document = fixture(name);
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
    let mut missing = fixture("good");
    missing["history"]
        .as_object_mut()
        .unwrap()
        .remove("known_bad");
    assert!(!validator.is_valid(&missing));
    assert!(Input::from_json("x.json", &missing.to_string()).is_err());
    let mut unknown = fixture("good");
    unknown["artifact"]["digests"] = serde_json::json!([]);
    assert!(!validator.is_valid(&unknown));
    let mut wrong = fixture("good");
    wrong["scans"][0]["gates"]["secrets"] = serde_json::json!("skipped");
    assert!(!validator.is_valid(&wrong));
}

#[test]
fn a_malformed_input_file_is_reported_at_its_line() {
    let text = "{\n  \"decision\": \"promote\",\n  \"time\": 5\n}\n";
    match Input::from_json("in.json", text) {
        Err(slipway_policy::PolicyError::File {
            file,
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!((file.as_str(), line, column), ("in.json", 3, 11));
            assert!(message.contains("invalid type"), "{message}");
            assert!(!message.contains("at line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
