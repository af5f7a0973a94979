//! Reading SARIF as other tools write it: fixtures imitating CodeQL (rules in extensions,
//! `messageStrings`, `uriBaseId`, artifacts by index, suppressions, passes) and clippy-sarif,
//! plus the errors a bad file gets.

use slipway_sarif::{
    Error, Ingested, Level, Log, ResultEntry, RuleMeta, RunBuilder, ingest, ingest_counted,
    ingest_with_root, read,
};
use std::path::Path;

fn fixture(name: &str) -> Log {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    read(name, &bytes).unwrap()
}

#[test]
fn codeql_rules_in_extensions_message_strings_and_base_ids() {
    let log = fixture("codeql-like.sarif");
    let ingestion = ingest_counted(&log, Some(Path::new("/home/runner/work/app/app")));
    assert_eq!(ingestion.suppressed, 1, "the inSource suppression");
    assert_eq!(ingestion.not_problems, 1, "the pass result");
    let findings = &ingestion.findings;
    assert_eq!(findings.len(), 3, "{findings:#?}");

    let injection = &findings[0];
    assert_eq!(injection.tool, "CodeQL");
    assert_eq!(injection.rule, "js/sql-injection");
    assert_eq!(
        injection.level,
        Level::Error,
        "from the extension rule's default"
    );
    assert_eq!(injection.file.as_deref(), Some("src/db.js"));
    assert_eq!((injection.line, injection.column), (Some(12), Some(20)));
    assert_eq!(injection.security_severity, Some(8.8));
    assert_eq!(
        injection.message,
        "This query string depends on a [user-provided value](1)."
    );
    assert_eq!(injection.fingerprint.len(), 64);

    let unused = &findings[1];
    assert_eq!(
        unused.rule, "js/unused-local-variable",
        "id taken from rule.id"
    );
    assert_eq!(
        unused.message, "Unused variable tmp.",
        "messageStrings + arguments"
    );
    assert_eq!(unused.level, Level::Note);
    assert_eq!(
        unused.file.as_deref(),
        Some("src/util.js"),
        "via run.artifacts[1]"
    );
    assert_eq!(unused.line, Some(3));
    assert_eq!(unused.security_severity, None);

    let rejected = &findings[2];
    assert_eq!(
        rejected.line,
        Some(41),
        "a rejected suppression does not hide it"
    );
    assert_eq!(
        rejected.level,
        Level::Error,
        "rule found by toolComponent name and id"
    );
}

#[test]
fn partial_fingerprints_identify_results_across_line_moves() {
    let mut log = fixture("codeql-like.sarif");
    let before = ingest(&log)[0].fingerprint.clone();
    let results = log.runs[0].results.as_mut().unwrap();
    results[0].locations.as_mut().unwrap()[0]
        .physical_location
        .as_mut()
        .unwrap()
        .region
        .as_mut()
        .unwrap()
        .start_line = Some(99);
    assert_eq!(
        ingest(&log)[0].fingerprint,
        before,
        "same partial fingerprints"
    );
    results_mut(&mut log)[0]
        .partial_fingerprints
        .as_mut()
        .unwrap()
        .insert("primaryLocationLineHash".into(), "0000:1".into());
    assert_ne!(ingest(&log)[0].fingerprint, before);
}

fn results_mut(log: &mut Log) -> &mut Vec<slipway_sarif::SarifResult> {
    log.runs[0].results.as_mut().unwrap()
}

#[test]
fn without_a_root_relative_uris_stay_repository_relative() {
    let log = fixture("codeql-like.sarif");
    let findings = ingest(&log);
    assert_eq!(findings[0].file.as_deref(), Some("src/db.js"));
    // A root elsewhere (the scan ran in another checkout) keeps the relative URI too.
    let elsewhere = ingest_with_root(&log, Path::new("/work/app"));
    assert_eq!(elsewhere[0].file.as_deref(), Some("src/db.js"));
}

#[test]
fn a_base_id_naming_a_subdirectory_of_the_root_is_joined() {
    let mut log = fixture("codeql-like.sarif");
    let bases = log.runs[0].original_uri_base_ids.as_mut().unwrap();
    bases.get_mut("%SRCROOT%").unwrap().uri = Some("file:///home/runner/work/app/app/web/".into());
    let findings = ingest_with_root(&log, Path::new("/home/runner/work/app/app"));
    assert_eq!(findings[0].file.as_deref(), Some("web/src/db.js"));
}

/// Rule, level, file, line and column of a finding.
type Summary<'a> = (&'a str, Level, Option<&'a str>, Option<u32>, Option<u32>);

#[test]
fn clippy_sarif_results() {
    let log = fixture("clippy-sarif.sarif");
    let findings = ingest_with_root(&log, Path::new("/home/dev/project/"));
    let summary: Vec<Summary> = findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str(),
                f.level,
                f.file.as_deref(),
                f.line,
                f.column,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "clippy::needless_return",
                Level::Warning,
                Some("src/main.rs"),
                Some(9),
                Some(5)
            ),
            (
                "clippy::absurd_extreme_comparisons",
                Level::Error,
                Some("src/lib.rs"),
                Some(4),
                Some(9)
            ),
            (
                "clippy::cargo_common_metadata",
                Level::Note,
                None,
                None,
                None
            ),
        ]
    );
    assert!(findings.iter().all(|f| f.tool == "clippy"));
    // Outside the root an absolute URI stays absolute.
    let elsewhere = ingest_with_root(&log, Path::new("/srv/other"));
    assert_eq!(
        elsewhere[1].file.as_deref(),
        Some("/home/dev/project/src/lib.rs")
    );
}

#[test]
fn results_without_a_message_fall_back_to_the_rule_text() {
    let text = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t","rules":[
        {"id":"r1","shortDescription":{"text":"Short text"}}]}},
        "results":[{"ruleId":"r1","message":{"id":"missing"}},{"ruleId":"unknown","message":{}}]}]}"#;
    let findings = ingest(&read("t.sarif", text.as_bytes()).unwrap());
    assert_eq!(findings[0].message, "Short text");
    assert_eq!(findings[0].level, Level::Warning, "no level anywhere");
    assert_eq!(findings[1].message, "unknown", "no rule: the id");
}

#[test]
fn what_slipway_writes_reads_back_unchanged() {
    let mut builder = RunBuilder::new("slipway-pins", "0.1.0", "slipway/pins/");
    builder.rule(RuleMeta {
        id: "unpinned-action".into(),
        name: "UnpinnedAction".into(),
        short_description: "GitHub Action not pinned to a commit".into(),
        full_description: None,
        help: Some("Pin `uses:` to a full 40-character commit sha.".into()),
        help_uri: None,
        level: Level::Warning,
        security_severity: Some(5.5),
        tags: vec!["supply-chain".into()],
        precision: Some("very-high".into()),
    });
    builder.result(ResultEntry {
        rule_id: "unpinned-action".into(),
        level: None,
        message: "actions/checkout@v4 can move".into(),
        uri: "./.github/workflows/ci.yml".into(),
        start_line: 7,
        start_column: Some(15),
        end_line: None,
        end_column: None,
        fingerprint: Some("f1".into()),
        properties: Default::default(),
    });
    let log = Log::new(vec![builder.build()]);
    let back = read("roundtrip.sarif", &log.to_json()).unwrap();
    assert_eq!(back, log);
    assert_eq!(
        ingest(&back),
        [Ingested {
            tool: "slipway-pins".into(),
            rule: "unpinned-action".into(),
            level: Level::Warning,
            message: "actions/checkout@v4 can move".into(),
            file: Some(".github/workflows/ci.yml".into()),
            line: Some(7),
            column: Some(15),
            security_severity: Some(5.5),
            fingerprint: "f1".into(),
        }]
    );
}

#[test]
fn json_errors_name_file_line_and_column() {
    let error = read(
        "scan.sarif",
        b"{\n  \"version\": \"2.1.0\",\n  \"runs\": [ }",
    )
    .unwrap_err();
    let Error::Json {
        file, line, column, ..
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!((file.as_str(), *line, *column), ("scan.sarif", 3, 13));
    assert!(
        error
            .to_string()
            .starts_with("scan.sarif:3:13: not a valid SARIF log"),
        "{error}"
    );

    let wrong_type = "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"t\"}},\n\"results\":[\n{\"ruleId\":\"a\",\"level\":\"fatal\",\"message\":{\"text\":\"m\"}}]}]}";
    let error = read("types.sarif", wrong_type.as_bytes()).unwrap_err();
    assert!(error.to_string().starts_with("types.sarif:3:"), "{error}");
    assert!(error.to_string().contains("fatal"), "{error}");
}

#[test]
fn other_versions_are_refused_by_name() {
    for (text, found) in [
        (r#"{"version":"2.0.0","runs":[]}"#, "2.0.0"),
        (
            r#"{"version":"1.0.0","runLogs":[{"toolInfo":{}}],"runs":3}"#,
            "1.0.0",
        ),
        (r#"{"version":"2.1.0-rtm.4","runs":[]}"#, "2.1.0-rtm.4"),
    ] {
        let error = read("old.sarif", text.as_bytes()).unwrap_err();
        assert_eq!(
            error,
            Error::UnsupportedVersion {
                file: "old.sarif".into(),
                found: found.into()
            }
        );
        assert!(error.to_string().contains("Slipway reads SARIF 2.1.0"));
    }
}
