//! Writing: the exact bytes of a built log (snapshot), rule metadata, determinism and
//! GitHub's upload limits.

mod common;

use common::{entry, rule, sample_run};
use serde_json::Value;
use slipway_sarif::{Level, Log, RunBuilder, limits};

#[test]
fn built_log_snapshot() {
    let json = String::from_utf8(Log::new(vec![sample_run()]).to_json()).unwrap();
    assert!(json.ends_with("}\n"));
    insta::assert_snapshot!(json);
}

#[test]
fn same_input_same_bytes() {
    assert_eq!(
        Log::new(vec![sample_run()]).to_json(),
        Log::new(vec![sample_run()]).to_json()
    );
}

#[test]
fn rules_sorted_and_indexed() {
    let log: Value = serde_json::from_slice(&Log::new(vec![sample_run()]).to_json()).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["generic-api-key", "private-key"]);
    for result in run["results"].as_array().unwrap() {
        match result["ruleIndex"].as_u64() {
            Some(index) => assert_eq!(rules[index as usize]["id"], result["ruleId"]),
            None => assert_eq!(result["ruleId"], "unlisted-rule"),
        }
    }
}

#[test]
fn security_severity_and_tags() {
    let mut builder = RunBuilder::new("t", "1", "t/");
    let mut many = rule("many-tags", Level::Warning, Some(12.0));
    many.tags = (0..30).map(|n| format!("tag-{n}")).collect();
    let mut plain = rule("no-severity", Level::Note, None);
    plain.tags = vec!["style".into(), "style".into()];
    builder.rule(many).rule(plain);
    let run = builder.build();
    let rules = run.tool.driver.rules.unwrap();
    let properties = rules[0].properties.as_ref().unwrap();
    assert_eq!(properties["security-severity"], "10.0", "clamped to 10");
    let tags = properties["tags"].as_array().unwrap();
    assert_eq!(tags.len(), limits::TAGS_PER_RULE);
    assert_eq!(tags[0], "security", "added first so the cap never drops it");
    let properties = rules[1].properties.as_ref().unwrap();
    assert_eq!(properties["tags"], serde_json::json!(["style"]));
    assert!(properties.get("security-severity").is_none());
}

#[test]
fn limits_truncate_results_least_severe_first() {
    let mut builder = RunBuilder::new("slipway-osv", "0.1.0", "slipway/osv/");
    builder
        .rule(rule("vulnerable-dependency", Level::Error, Some(8.0)))
        .rule(rule("outdated-dependency", Level::Note, None));
    let total = 26_000;
    for n in 0..total {
        // Every 26th result is a note: 1,000 notes, 25,000 errors.
        let rule_id = if n % 26 == 25 {
            "outdated-dependency"
        } else {
            "vulnerable-dependency"
        };
        builder.result(entry(rule_id, &format!("pkg/{n}/Cargo.lock"), 1));
    }
    let mut log = Log::new(vec![builder.build()]);
    let notes = log.enforce_limits();
    assert_eq!(
        notes,
        [
            "slipway-osv: kept 25000 of 26000 results, the most severe first: GitHub code scanning \
          accepts at most 25000 results per run"
        ]
    );
    let results = log.runs[0].results.as_ref().unwrap();
    assert_eq!(results.len(), limits::RESULTS_PER_RUN);
    assert!(
        results
            .iter()
            .all(|r| r.rule_id.as_deref() == Some("vulnerable-dependency")),
        "the notes were dropped"
    );
    let order: Vec<&str> = results
        .iter()
        .take(3)
        .map(|r| {
            r.locations.as_ref().unwrap()[0]
                .physical_location
                .as_ref()
                .unwrap()
                .artifact_location
                .as_ref()
                .unwrap()
                .uri
                .as_deref()
                .unwrap()
        })
        .collect();
    assert_eq!(
        order,
        ["pkg/0/Cargo.lock", "pkg/1/Cargo.lock", "pkg/2/Cargo.lock"]
    );
    let recorded = &log.runs[0].properties.as_ref().unwrap()["slipway/limits"];
    assert_eq!(recorded, &serde_json::json!(notes));
    assert!(
        log.enforce_limits().is_empty(),
        "a second pass cuts nothing"
    );
}

#[test]
fn limits_on_runs_and_locations() {
    let mut run = sample_run();
    let location = run.results.as_ref().unwrap()[0].locations.as_ref().unwrap()[0].clone();
    run.results.as_mut().unwrap()[0].locations = Some(vec![location; 1_001]);
    let mut log = Log::new(vec![run; 21]);
    let notes = log.enforce_limits();
    assert_eq!(log.runs.len(), limits::RUNS);
    assert!(
        notes[0].contains("kept the first 20 of 21 runs"),
        "{notes:?}"
    );
    assert_eq!(
        notes.len(),
        1 + limits::RUNS,
        "one location note per kept run"
    );
    assert!(
        notes[1].contains("kept the first 1000 of 1001 locations"),
        "{notes:?}"
    );
}

#[test]
fn small_logs_are_not_touched() {
    let mut log = Log::new(vec![sample_run()]);
    let before = log.clone();
    assert!(log.enforce_limits().is_empty());
    assert_eq!(log, before);
}
