//! Our linter against squawk (`squawk-cli`, installed by scripts/deps/migrations.sh), an
//! independent PostgreSQL migration linter, on the same fixtures. Per fixture file the two
//! must report the same (rule, line) pairs once squawk's rule names are mapped to ours, except
//! for the known disagreements below — each with its reason, and each still observed (a
//! disagreement that went away fails the test, so the table stays true). docs/migrations.md
//! carries the same table.

use slipway_migrations::{Finding, Release, Rule, discover, lint_sql, scan_dir};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

/// Squawk rules that check what one of ours checks.
const SAME_CHECK: &[(&str, Rule)] = &[
    ("ban-drop-column", Rule::DropColumn),
    ("ban-drop-table", Rule::DropTable),
    ("renaming-column", Rule::RenameColumn),
    ("renaming-table", Rule::RenameTable),
    ("changing-column-type", Rule::AlterColumnType),
    (
        "adding-required-field",
        Rule::AddColumnNotNullWithoutDefault,
    ),
    ("adding-not-nullable-field", Rule::SetNotNull),
    (
        "constraint-missing-not-valid",
        Rule::AddConstraintWithoutNotValid,
    ),
    (
        "adding-foreign-key-constraint",
        Rule::AddConstraintWithoutNotValid,
    ),
    (
        "disallowed-unique-constraint",
        Rule::AddUniqueConstraintWithoutIndex,
    ),
    (
        "adding-serial-primary-key-field",
        Rule::AddUniqueConstraintWithoutIndex,
    ),
    (
        "require-concurrent-index-creation",
        Rule::CreateIndexNotConcurrently,
    ),
    (
        "require-concurrent-index-deletion",
        Rule::DropIndexNotConcurrently,
    ),
    (
        "ban-concurrent-index-creation-in-transaction",
        Rule::ConcurrentIndexInTransaction,
    ),
    ("syntax-error", Rule::ParseError),
];

/// Squawk rules outside what we check, and why. A squawk rule in neither list fails the
/// test, so a new one gets a decision.
const OUT_OF_SCOPE: &[(&str, &str)] = &[
    (
        "require-lock-timeout",
        "session settings, not schema compatibility: a missing lock_timeout does not break the previous release",
    ),
    (
        "require-statement-timeout",
        "session settings, not schema compatibility",
    ),
    (
        "prefer-robust-stmts",
        "re-runnability (IF [NOT] EXISTS) of a failed migration, not compatibility with the previous release",
    ),
    (
        "prefer-text-field",
        "a type preference (varchar(n) → text), not a break",
    ),
    ("prefer-bigint-over-int", "a type preference"),
    ("prefer-bigint-over-smallint", "a type preference"),
    ("prefer-identity", "a type preference (serial → identity)"),
    ("prefer-timestamptz", "a type preference"),
    ("ban-char-field", "a type preference"),
];

/// Where the two disagree, on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    OnlySquawk,
    OnlySlipway,
}

/// (fixture, line, rule, who reports it, why).
const KNOWN_DISAGREEMENTS: &[(&str, u32, Rule, Side, &str)] = &[
    (
        "rules/drop-column.sql",
        6,
        Rule::DropColumn,
        Side::OnlySquawk,
        "squawk has no release notion: the column belongs to a table created in the same release, which the previous release never used",
    ),
    (
        "rules/drop-table.sql",
        4,
        Rule::DropTable,
        Side::OnlySquawk,
        "squawk has no release notion: the table was created in the same release",
    ),
    (
        "rules/contract-in-same-release.sql",
        4,
        Rule::DropColumn,
        Side::OnlySquawk,
        "squawk reports the drop as ban-drop-column; we report it as the more specific contract-in-same-release",
    ),
    (
        "rules/contract-in-same-release.sql",
        4,
        Rule::ContractInSameRelease,
        Side::OnlySlipway,
        "squawk has no release notion, so no rule about expand and contract in one release",
    ),
    (
        "rules/add-unique-constraint-without-index.sql",
        1,
        Rule::AddConstraintWithoutNotValid,
        Side::OnlySquawk,
        "squawk's constraint-missing-not-valid also fires on UNIQUE, which PostgreSQL cannot add NOT VALID; we point to CREATE UNIQUE INDEX CONCURRENTLY + USING INDEX instead",
    ),
    (
        "rules/invalid-contract-marker.sql",
        1,
        Rule::InvalidContractMarker,
        Side::OnlySlipway,
        "squawk has no contract markers",
    ),
    (
        "rules/invalid-contract-marker.sql",
        4,
        Rule::InvalidContractMarker,
        Side::OnlySlipway,
        "squawk has no contract markers",
    ),
    (
        "rules/parse-error.sql",
        11,
        Rule::ParseError,
        Side::OnlySquawk,
        "squawk reads the data lines after COPY … FROM stdin as SQL; PostgreSQL (and we) read them as data up to `\\.`",
    ),
    (
        "rules/parse-error.sql",
        12,
        Rule::ParseError,
        Side::OnlySquawk,
        "the same COPY data line",
    ),
    (
        "rules/parse-error.sql",
        19,
        Rule::ParseError,
        Side::OnlySquawk,
        "squawk's parser, misled by the COPY data, runs to the end of the file",
    ),
    (
        "rules/parse-error.sql",
        15,
        Rule::ParseError,
        Side::OnlySlipway,
        "squawk, already lost in the COPY data, does not reach this statement",
    ),
    (
        "rules/parse-error.sql",
        18,
        Rule::DropTable,
        Side::OnlySlipway,
        "squawk skips every rule in a file with a syntax error; we keep checking the statements after it",
    ),
    (
        "expand-contract/0005_drop_name.sql",
        3,
        Rule::DropColumn,
        Side::OnlySquawk,
        "a marked contract one release after the code stopped using the column: correct, but squawk has no release notion or markers",
    ),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tools_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| workspace().join("target/test-tools"))
}

fn squawk() -> Option<PathBuf> {
    let program = tools_dir().join("venv/bin/squawk");
    if program.is_file() {
        return Some(program);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("squawk not installed (run scripts/deps/install.sh)");
    }
    eprintln!("skipped: squawk not installed (run scripts/deps/install.sh)");
    None
}

/// squawk's findings on one file as (our rule, 1-based line).
fn run_squawk(program: &Path, file: &Path) -> Reported {
    let mut child = Command::new(program)
        .args(["--reporter", "json"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let status = match child.wait_timeout(Duration::from_secs(60)).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("squawk did not finish within 60 s on {}", file.display());
        }
    };
    let text = reader.join().unwrap().unwrap();
    // squawk exits 1 when it found something; anything else is a failure to run.
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "squawk failed on {}: {status}\n{text}",
        file.display()
    );
    let results: Vec<serde_json::Value> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("squawk's JSON on {}: {e}\n{text}", file.display()));
    let mut found = BTreeSet::new();
    for result in results {
        let name = result["rule_name"].as_str().unwrap().to_string();
        // squawk's lines are 0-based.
        let line = u32::try_from(result["line"].as_u64().unwrap()).unwrap() + 1;
        if let Some((_, rule)) = SAME_CHECK.iter().find(|(n, _)| *n == name) {
            found.insert((*rule, line));
        } else {
            assert!(
                OUT_OF_SCOPE.iter().any(|(n, _)| *n == name),
                "squawk rule `{name}` ({}:{line}) is in neither SAME_CHECK nor OUT_OF_SCOPE: decide which",
                file.display()
            );
        }
    }
    found
}

/// (rule, line) pairs one linter reports on one file.
type Reported = BTreeSet<(Rule, u32)>;

fn ours(findings: &[Finding]) -> Reported {
    findings.iter().map(|f| (f.rule, f.line)).collect()
}

/// Every fixture with what we report on it: rule fixtures alone, the expand → contract
/// sequence one release (migration) at a time.
fn fixtures() -> Vec<(String, PathBuf, Reported)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut rules: Vec<PathBuf> = std::fs::read_dir(root.join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    rules.sort();
    for path in rules {
        let name = format!("rules/{}", path.file_name().unwrap().to_string_lossy());
        let sql = std::fs::read_to_string(&path).unwrap();
        out.push((name.clone(), path, ours(&lint_sql(&name, &sql).findings)));
    }
    let sequence = root.join("expand-contract");
    let migrations = discover(&sequence).unwrap().migrations;
    for (index, migration) in migrations.iter().enumerate() {
        let release = Release::NewSince {
            reference: format!("release-{index}"),
            existing: migrations[..index].iter().map(|m| m.path.clone()).collect(),
        };
        let report = scan_dir(&sequence, &release).unwrap();
        let mine = report
            .findings
            .iter()
            .filter(|f| f.file == migration.path)
            .cloned()
            .collect::<Vec<_>>();
        out.push((
            format!("expand-contract/{}", migration.path),
            sequence.join(&migration.path),
            ours(&mine),
        ));
    }
    out
}

#[test]
fn squawk_agrees_on_every_fixture_except_the_known_disagreements() {
    let Some(program) = squawk() else {
        return;
    };
    let mut observed = BTreeSet::new();
    let mut unexplained = Vec::new();
    for (name, path, mine) in fixtures() {
        let theirs = run_squawk(&program, &path);
        for (rule, line) in theirs.difference(&mine) {
            observed.insert((name.clone(), *line, *rule, Side::OnlySquawk));
        }
        for (rule, line) in mine.difference(&theirs) {
            observed.insert((name.clone(), *line, *rule, Side::OnlySlipway));
        }
        // Agreement must be real: each rule fixture is flagged by both for its own rule,
        // unless the table explains why squawk has no such rule.
        if let Some(rule) = name
            .strip_prefix("rules/")
            .and_then(|n| n.strip_suffix(".sql"))
            .and_then(Rule::from_id)
        {
            let both = mine.intersection(&theirs).any(|(r, _)| *r == rule);
            let explained = KNOWN_DISAGREEMENTS.iter().any(|(file, _, r, side, _)| {
                *file == name && *r == rule && *side == Side::OnlySlipway
            });
            if !both && !explained {
                unexplained.push(format!("{name}: neither agrees on `{rule}`"));
            }
        }
    }
    let known: BTreeSet<(String, u32, Rule, Side)> = KNOWN_DISAGREEMENTS
        .iter()
        .map(|(file, line, rule, side, _)| (file.to_string(), *line, *rule, *side))
        .collect();
    for (file, line, rule, side) in observed.difference(&known) {
        unexplained.push(format!(
            "{file}:{line}: {rule} reported {side:?}, not in the table"
        ));
    }
    for (file, line, rule, side) in known.difference(&observed) {
        unexplained.push(format!(
            "{file}:{line}: {rule} {side:?} is in the table but no longer observed"
        ));
    }
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}
