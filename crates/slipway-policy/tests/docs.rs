//! docs/policy.md keeps a row per built-in rule, with its name and points, and documents every
//! field of the input.

mod common;

use common::crate_dir;
use slipway_policy::{Input, PolicySet};

fn docs() -> String {
    std::fs::read_to_string(crate_dir().join("../../docs/policy.md")).unwrap()
}

#[test]
fn every_builtin_rule_has_its_row() {
    let docs = docs();
    for rule in PolicySet::builtin().rules() {
        let points: Vec<&str> = rule.points.iter().map(|p| p.as_str()).collect();
        let row = format!(
            "| {} | {} | {} |",
            rule.id,
            rule.name.as_deref().unwrap(),
            points.join(", ")
        );
        assert!(docs.contains(&row), "docs/policy.md lacks `{row}`");
    }
}

#[test]
fn every_input_field_is_documented() {
    let docs = docs();
    let schema = Input::json_schema();
    let mut missing = Vec::new();
    for (name, _) in schema["properties"].as_object().unwrap() {
        if !docs.contains(&format!("| `{name}")) {
            missing.push(name.clone());
        }
    }
    for (definition, body) in schema["$defs"].as_object().unwrap() {
        for (field, _) in body["properties"].as_object().into_iter().flatten() {
            let mentioned = ["`", "[]`", ",", "}"]
                .iter()
                .any(|after| docs.contains(&format!("{field}{after}")));
            if !mentioned {
                missing.push(format!("{definition}.{field}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented input fields: {missing:?}");
}
