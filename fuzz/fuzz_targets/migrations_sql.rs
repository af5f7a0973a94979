//! Any bytes, read as one migration file: splitting and linting must not panic, and every
//! statement and finding must point inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_migrations::split::split;
use slipway_migrations::lint_sql;

fuzz_target!(|data: &[u8]| {
    // Lossy, not `from_utf8`: the CLI reads migration files the same way.
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    for statement in split(&text).statements {
        assert_eq!(
            text.get(statement.offset..statement.offset + statement.text.len()),
            Some(statement.text)
        );
    }
    let report = lint_sql("fuzz.sql", &text);
    for finding in &report.findings {
        assert!(finding.line >= 1 && finding.line as usize <= lines);
        assert!(finding.column >= 1);
    }
});
