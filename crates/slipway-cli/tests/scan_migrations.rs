//! `slipway scan migrations` and the migrations gate through the real binary, on scratch
//! migration directories and git repositories.

mod common;

use common::{git, repo, slipway, text};
use std::path::Path;

const CREATE_USERS: &str =
    "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text);\n";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

#[test]
fn text_names_file_line_column_rule_and_help_and_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("0001_users.sql", CREATE_USERS),
            (
                "0002_drop_email.sql",
                "-- email moves to a table of its own\n  ALTER TABLE users DROP COLUMN email;\n",
            ),
            (
                "0002_drop_email.down.sql",
                "ALTER TABLE users ADD COLUMN email text;",
            ),
        ],
    );
    let output = slipway(dir.path(), &["scan", "migrations"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("0002_drop_email.sql:2:3: drop-column: drops column `users.email`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  help: expand → migrate → contract"),
        "{stdout}"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("skipped 0002_drop_email.down.sql"),
        "{stderr}"
    );
    assert!(stderr.contains("gate migrations: fail"), "{stderr}");

    for flags in [&["--json"][..], &["--format", "json"][..]] {
        let args: Vec<&str> = ["scan", "migrations", "."]
            .iter()
            .chain(flags)
            .copied()
            .collect();
        let output = slipway(dir.path(), &args, &[]);
        assert_eq!(output.status.code(), Some(1));
        let value = json(&output);
        let object = value.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), ["findings"]);
        let findings = value["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        assert_eq!(finding["rule"], "drop-column");
        assert_eq!(finding["file"], "0002_drop_email.sql");
        assert_eq!(finding["line"], 2);
        assert_eq!(finding["column"], 3);
        assert_eq!(finding["object"], "users.email");
        assert_eq!(finding["disposition"], "block");
        assert!(finding["message"].as_str().unwrap().contains("users.email"));
        assert!(
            finding["help"]
                .as_str()
                .unwrap()
                .contains("slipway: contract users.email")
        );
    }
}

#[test]
fn the_release_is_the_last_migration_or_every_one_added_since_base() {
    let repo = repo(
        "version: 1\njobs:\n  build:\n    steps: [{ run: make }]\n",
        &[
            ("db/migrations/0001_users.sql", CREATE_USERS),
            (
                "db/migrations/0002_index.sql",
                "CREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n",
            ),
        ],
    );
    git(repo.path(), &["tag", "v1"]);
    write(
        repo.path(),
        &[
            (
                "db/migrations/0003_full_name.sql",
                "ALTER TABLE users ADD COLUMN full_name text;\nUPDATE users SET full_name = name;\n",
            ),
            (
                "db/migrations/0004_drop_name.sql",
                "ALTER TABLE users DROP COLUMN name;\n",
            ),
        ],
    );
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "full name"]);

    // Without --base the last migration alone is the release: a plain drop.
    let last = slipway(
        repo.path(),
        &["scan", "migrations", "db/migrations", "--json"],
        &[],
    );
    assert_eq!(last.status.code(), Some(1));
    let rules: Vec<String> = json(&last)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["rule"], f["file"]))
        .collect();
    assert_eq!(rules, [r#""drop-column" "0004_drop_name.sql""#]);

    // Since v1, the expand and the contract ship together.
    let since = slipway(
        repo.path().join("db").as_path(),
        &["scan", "migrations", "migrations", "--base", "v1", "--json"],
        &[],
    );
    assert_eq!(since.status.code(), Some(1), "{}", text(&since.stderr));
    let rules: Vec<String> = json(&since)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["rule"], f["file"]))
        .collect();
    assert_eq!(
        rules,
        [r#""contract-in-same-release" "0004_drop_name.sql""#]
    );

    let text_output = slipway(
        repo.path(),
        &["scan", "migrations", "db/migrations", "--base", "v1"],
        &[],
    );
    let stderr = text(&text_output.stderr);
    assert!(
        stderr.contains(
            "release: migrations added since v1 (0003_full_name.sql, 0004_drop_name.sql)"
        ),
        "{stderr}"
    );

    let unknown = slipway(
        repo.path(),
        &[
            "scan",
            "migrations",
            "db/migrations",
            "--base",
            "no-such-tag",
        ],
        &[],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no-such-tag"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[("0001_a.sql", CREATE_USERS), ("1_b.sql", "SELECT 1;")],
    );
    let duplicate = slipway(dir.path(), &["scan", "migrations"], &[]);
    assert_eq!(duplicate.status.code(), Some(2));
    let stderr = text(&duplicate.stderr);
    assert!(
        stderr.contains("0001_a.sql") && stderr.contains("1_b.sql"),
        "{stderr}"
    );

    let missing = slipway(dir.path(), &["scan", "migrations", "nowhere"], &[]);
    assert_eq!(missing.status.code(), Some(2));

    let outside_git = slipway(
        dir.path(),
        &["scan", "migrations", ".", "--base", "v1"],
        &[],
    );
    assert_eq!(outside_git.status.code(), Some(2));
    assert!(text(&outside_git.stderr).contains("not in a git repository"));
}

#[test]
fn the_correct_expand_contract_sequence_passes() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../slipway-migrations/tests/fixtures/expand-contract");
    let output = slipway(
        &fixtures,
        &["scan", "migrations", fixtures.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).is_empty());
}

#[test]
fn the_pipeline_gate_decides_block_or_warn_and_scan_all_includes_it() {
    let migrations = [
        ("migrations/0001_users.sql", CREATE_USERS),
        (
            "migrations/0002_rename.sql",
            "ALTER TABLE users RENAME COLUMN name TO full_name;\n",
        ),
    ];
    let warn = repo(
        "version: 1\njobs:\n  build:\n    steps: [{ run: make }]\ngates:\n  migrations: warn\n",
        &migrations,
    );
    let output = slipway(warn.path(), &["scan", "migrations", "migrations"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with(
            "0002_rename.sql:1:1: rename-column: renames column `users.name` to `full_name`"
        ),
        "{stdout}"
    );
    assert!(
        stdout.lines().next().unwrap().ends_with("(warning)"),
        "{stdout}"
    );

    let block = repo(
        "version: 1\njobs:\n  build:\n    steps: [{ run: make }]\n",
        &migrations,
    );
    let state = tempfile::tempdir().unwrap();
    let all = slipway(
        block.path(),
        &[
            "scan",
            "all",
            "--state-dir",
            state.path().to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(all.status.code(), Some(1), "{}", text(&all.stderr));
    let report = json(&all);
    let gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "migrations")
        .expect("a migrations gate");
    assert_eq!(gate["verdict"], "fail");
    assert_eq!(gate["mode"], "block");
    let finding = &gate["findings"][0];
    assert_eq!(finding["rule"], "rename-column");
    assert_eq!(finding["location"]["file"], "migrations/0002_rename.sql");
    assert_eq!(finding["id"], "rename-column:migrations/0002_rename.sql:1");
    assert!(
        gate["input"]["scanned"][0]
            .as_str()
            .unwrap()
            .starts_with("migrations (2 migrations; release: the last migration: 0002_rename.sql)")
    );

    // A waiver by id lets the release through, and says so.
    write(
        block.path(),
        &[(
            ".slipway/waivers.yml",
            "waivers:\n  - id: rename-column:migrations/0002_rename.sql:1\n    owner: dba\n    reason: the column is read through a view\n    expires: 2026-12-31\n",
        )],
    );
    let waived = slipway(
        block.path(),
        &["scan", "migrations", "migrations"],
        &[("SLIPWAY_NOW", "2026-11-22")],
    );
    assert_eq!(waived.status.code(), Some(0), "{}", text(&waived.stderr));
    assert!(
        text(&waived.stdout).contains("waived by"),
        "{}",
        text(&waived.stdout)
    );
}
