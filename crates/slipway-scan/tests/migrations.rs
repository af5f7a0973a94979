//! The migrations gate over a tree: directories found or named, the release taken from the
//! event's range, and directories that cannot be read, with real git repositories.

use slipway_scan::scans::scan_migrations;
use slipway_scan::{Gate, GatePolicy, ScanResults, Verdict, Waivers, evaluate};
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn write(dir: &Path, path: &str, content: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
}

fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    dir
}

fn rules(findings: &[slipway_scan::Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{} {}", f.rule, f.location))
        .collect()
}

#[test]
fn the_release_of_a_run_is_what_its_range_adds_in_every_migrations_directory() {
    let repo = repository();
    write(
        repo.path(),
        "db/migrations/0001_users.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n",
    );
    write(
        repo.path(),
        "services/billing/migrations/1_invoices.up.sql",
        "CREATE TABLE invoices (id bigint PRIMARY KEY, total int);\n",
    );
    write(
        repo.path(),
        "node_modules/x/migrations/1_a.sql",
        "DROP TABLE users;\n",
    );
    let base = commit(repo.path(), "first release");
    write(
        repo.path(),
        "db/migrations/0002_full_name.sql",
        "ALTER TABLE users ADD COLUMN full_name text;\n",
    );
    write(
        repo.path(),
        "db/migrations/0003_drop_name.sql",
        "ALTER TABLE users DROP COLUMN name;\n",
    );
    write(
        repo.path(),
        "services/billing/migrations/2_total.up.sql",
        "ALTER TABLE invoices ALTER COLUMN total TYPE bigint;\n",
    );
    let head = commit(repo.path(), "second release");

    // The gate sees an export of the commit, outside the repository.
    let export = tempfile::tempdir().unwrap();
    let archive = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "git archive {head} | tar -x -C {}",
            export.path().display()
        ))
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(archive.success());

    let range = format!("{base}..{head}");
    let (input, findings) = scan_migrations(export.path(), repo.path(), Some(&range), None);
    assert_eq!(
        rules(&findings),
        [
            "contract-in-same-release db/migrations/0003_drop_name.sql:1:1",
            "alter-column-type services/billing/migrations/2_total.up.sql:1:1",
        ]
    );
    assert_eq!(input.scanned.len(), 2, "{:?}", input.scanned);
    assert!(
        input.scanned[0].contains("release: migrations added since"),
        "{:?}",
        input.scanned
    );
    assert_eq!(input.note, None);

    // Without a range the last migration of each directory is the release.
    let (_, findings) = scan_migrations(export.path(), repo.path(), None, None);
    assert_eq!(
        rules(&findings),
        [
            "drop-column db/migrations/0003_drop_name.sql:1:1",
            "alter-column-type services/billing/migrations/2_total.up.sql:1:1",
        ]
    );

    // The pipeline may name the directory; a base git cannot read falls back, with a note.
    let (input, findings) = scan_migrations(
        export.path(),
        repo.path(),
        Some("0000000000000000000000000000000000000000..HEAD"),
        Some("services/billing/migrations"),
    );
    assert_eq!(
        rules(&findings),
        ["alter-column-type services/billing/migrations/2_total.up.sql:1:1"]
    );
    assert!(
        input
            .note
            .as_deref()
            .is_some_and(|n| n.contains("the last migration was checked")),
        "{input:?}"
    );
}

#[test]
fn an_unreadable_directory_blocks_and_a_clean_tree_passes() {
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "migrations/0001_a.sql", "SELECT 1;\n");
    write(tree.path(), "migrations/1_b.sql", "SELECT 1;\n");
    let (input, findings) = scan_migrations(tree.path(), tree.path(), None, None);
    assert_eq!(rules(&findings), ["unreadable-migrations migrations"]);
    let mut results = ScanResults::default();
    results.add(Gate::Migrations, input, findings);
    let report = evaluate(
        &GatePolicy::default(),
        results,
        &Waivers::default(),
        "now".into(),
    );
    assert_eq!(report.verdict, Verdict::Fail);
    assert_eq!(report.gates[0].gate, Gate::Migrations);

    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "README.md", "no migrations here\n");
    let (input, findings) = scan_migrations(clean.path(), clean.path(), None, None);
    assert!(findings.is_empty());
    assert_eq!(
        input.scanned,
        ["no migrations directory in the source tree"]
    );
}
