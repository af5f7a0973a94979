//! The splitter and the linter read untrusted files: they never panic, and what they report
//! points inside the file.

use proptest::prelude::*;
use slipway_migrations::split::split;
use slipway_migrations::{lint_sql, split::Lines};

/// Pieces of SQL that stress the lexical states: quotes, dollar quotes, comments, COPY data.
fn sql_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ALTER TABLE ".to_string()),
        Just("users ".to_string()),
        Just("DROP COLUMN email".to_string()),
        Just("DROP INDEX CONCURRENTLY i".to_string()),
        Just("ADD COLUMN x int NOT NULL".to_string()),
        Just("RENAME TO y".to_string()),
        Just("CREATE INDEX ON t (a)".to_string()),
        Just("CREATE TABLE t (a int)".to_string()),
        Just("BEGIN".to_string()),
        Just("COMMIT".to_string()),
        Just("COPY t FROM stdin".to_string()),
        Just("\\.".to_string()),
        Just("DO ".to_string()),
        Just(";".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("E'\\'".to_string()),
        Just("\"".to_string()),
        Just("$$".to_string()),
        Just("$tag$".to_string()),
        Just("$1".to_string()),
        Just("--".to_string()),
        Just("-- slipway: contract users.email unused since 1".to_string()),
        Just("-- slipway: contract".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("é".to_string()),
        "[a-z_]{1,8}".prop_map(|s| s),
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn sql() -> impl Strategy<Value = String> {
    prop::collection::vec(sql_piece(), 0..40).prop_map(|pieces| pieces.concat())
}

fn check(text: &str) {
    let split = split(text);
    let lines = text.split('\n').count();
    for statement in &split.statements {
        assert_eq!(
            text.get(statement.offset..statement.offset + statement.text.len()),
            Some(statement.text)
        );
        assert!(!statement.text.is_empty());
        assert_eq!(
            Lines::new(text).position(statement.offset),
            (statement.line, statement.column)
        );
    }
    let report = lint_sql("fuzz.sql", text);
    for finding in &report.findings {
        assert!(
            finding.line >= 1 && finding.line as usize <= lines,
            "{finding:?}"
        );
        assert!(finding.column >= 1, "{finding:?}");
        assert!(!finding.message.is_empty() && !finding.help.is_empty());
    }
    for unchecked in &report.unchecked {
        assert!(unchecked.line >= 1 && unchecked.line as usize <= lines);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn sql_like_input_never_panics(text in sql()) {
        check(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }
}

#[test]
fn deep_nesting_is_a_finding_not_a_stack_overflow() {
    let depth = 5_000;
    let text = format!(
        "ALTER TABLE t ADD CONSTRAINT c CHECK ({}1{});",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let report = lint_sql("deep.sql", &text);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == slipway_migrations::Rule::ParseError),
        "{:?}",
        report.findings
    );
}
