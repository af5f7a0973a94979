//! Every rule against its fixture (`tests/fixtures/rules/<rule id>.sql`, each also holding
//! the safe form, which must not be flagged), and the expand → migrate → contract sequence
//! (`tests/fixtures/expand-contract/`) checked release by release.

use slipway_migrations::{Finding, Release, Rule, discover, lint_sql, scan_dir};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}: {}: {}\n  object: {}\n  help: {}\n",
                f.file,
                f.line,
                f.column,
                f.rule,
                f.message,
                f.object.as_deref().unwrap_or("-"),
                f.help
            )
        })
        .collect()
}

#[test]
fn every_rule_has_a_fixture_that_triggers_it_and_nothing_else() {
    let dir = fixtures().join("rules");
    let mut covered = BTreeSet::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let rule = Rule::from_id(&name).unwrap_or_else(|| panic!("{name} names no rule"));
        let sql = std::fs::read_to_string(&path).unwrap();
        let report = lint_sql(&format!("{name}.sql"), &sql);
        let rules: BTreeSet<Rule> = report.findings.iter().map(|f| f.rule).collect();
        assert!(rules.contains(&rule), "{name}: {rules:?}");
        // A fixture's extra findings are the ones its statements really deserve besides.
        let allowed: BTreeSet<Rule> = match rule {
            Rule::InvalidContractMarker => [rule, Rule::DropColumn].into(),
            Rule::ParseError => [rule, Rule::DropTable].into(),
            _ => [rule].into(),
        };
        assert!(rules.is_subset(&allowed), "{name}: {rules:?}");
        covered.insert(rule);
        insta::assert_snapshot!(name.clone(), render(&report.findings));
    }
    let missing: Vec<&str> = Rule::ALL
        .iter()
        .filter(|r| !covered.contains(r))
        .map(|r| r.as_str())
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn statements_the_parser_cannot_read_are_listed_and_the_rest_is_checked() {
    let sql = std::fs::read_to_string(fixtures().join("rules/parse-error.sql")).unwrap();
    let report = lint_sql("parse-error.sql", &sql);
    let parse_errors: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::ParseError)
        .collect();
    assert_eq!(parse_errors.len(), 1, "{:#?}", report.findings);
    assert_eq!(parse_errors[0].line, 15);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::DropTable && f.line == 18)
    );
    // The DO block is listed as unchecked, not dropped; the function and COPY parse.
    assert_eq!(report.unchecked.len(), 1, "{:#?}", report.unchecked);
    assert_eq!(report.unchecked[0].line, 8);
    assert!(report.note().unwrap().contains("parse-error.sql:8:1"));
    assert_eq!(report.statements, 5);
}

#[test]
fn expand_migrate_contract_passes_release_by_release() {
    let dir = fixtures().join("expand-contract");
    let migrations = discover(&dir).unwrap().migrations;
    assert_eq!(migrations.len(), 5);
    // The tree at each release holds the migrations up to it; the release is the newest.
    let tree = tempfile::tempdir().unwrap();
    for (index, migration) in migrations.iter().enumerate() {
        std::fs::copy(dir.join(&migration.path), tree.path().join(&migration.path)).unwrap();
        let release = Release::NewSince {
            reference: format!("release-{index}"),
            existing: migrations[..index].iter().map(|m| m.path.clone()).collect(),
        };
        let report = scan_dir(tree.path(), &release).unwrap();
        assert_eq!(report.release, std::slice::from_ref(&migration.path));
        assert_eq!(report.migrations, index + 1);
        assert!(
            report.findings.is_empty(),
            "{}:\n{}",
            migration.path,
            render(&report.findings)
        );
    }
    let last = scan_dir(&dir, &Release::Last).unwrap();
    assert_eq!(last.release, ["0005_drop_name.sql"]);
    assert!(last.findings.is_empty(), "{}", render(&last.findings));
}

#[test]
fn expand_and_contract_in_one_release_is_flagged() {
    let dir = fixtures().join("expand-contract");
    let release = Release::NewSince {
        reference: "v1".into(),
        existing: ["0001_create_users.sql".to_string()].into(),
    };
    let report = scan_dir(&dir, &release).unwrap();
    assert_eq!(report.release.len(), 4);
    let rules: Vec<(Rule, &str, u32)> = report
        .findings
        .iter()
        .map(|f| (f.rule, f.file.as_str(), f.line))
        .collect();
    assert_eq!(
        rules,
        [(Rule::ContractInSameRelease, "0005_drop_name.sql", 3)],
        "{}",
        render(&report.findings)
    );
    assert!(report.findings[0].message.contains("users.name"));
}

#[test]
fn a_drop_without_a_marker_in_the_release_after_the_expand_is_a_plain_drop() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_users.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0002_expand.sql"),
        "ALTER TABLE users ADD COLUMN full_name text;",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0003_contract.sql"),
        "ALTER TABLE users DROP COLUMN name;\nALTER TABLE users DROP COLUMN full_name;",
    )
    .unwrap();
    let report = scan_dir(dir.path(), &Release::Last).unwrap();
    let rules: Vec<(Rule, u32)> = report.findings.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(rules, [(Rule::DropColumn, 1), (Rule::DropColumn, 2)]);
    assert_eq!(report.findings[0].object.as_deref(), Some("users.name"));
}

#[test]
fn the_model_follows_renames_and_quoted_names() {
    let report = lint_sql(
        "x.sql",
        r#"CREATE TABLE "Events" (id bigint, "Payload" text);
ALTER TABLE "Events" RENAME TO audit_events;
ALTER TABLE audit_events DROP COLUMN "Payload";
ALTER TABLE public.audit_events ALTER COLUMN id SET NOT NULL;
CREATE INDEX audit_events_id_idx ON audit_events (id);
DROP INDEX audit_events_id_idx;
ALTER TABLE "events" DROP COLUMN payload;"#,
    );
    let rules: Vec<(Rule, u32, Option<&str>)> = report
        .findings
        .iter()
        .map(|f| (f.rule, f.line, f.object.as_deref()))
        .collect();
    // Everything touches the table created above except the last line: `"events"` is
    // another table than `"Events"`.
    assert_eq!(rules, [(Rule::DropColumn, 7, Some("events.payload"))]);
}

#[test]
fn create_table_if_not_exists_over_an_existing_table_keeps_it_in_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_users.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0002_again.sql"),
        "CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY);\nALTER TABLE users DROP COLUMN name;",
    )
    .unwrap();
    let report = scan_dir(dir.path(), &Release::Last).unwrap();
    let rules: Vec<(Rule, u32)> = report.findings.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(rules, [(Rule::DropColumn, 2)]);
}
