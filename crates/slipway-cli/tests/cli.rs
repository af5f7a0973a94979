//! Drives the real `slipway` binary against scratch repositories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn slipway(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SLIPWAY_ACTOR")
        .output()
        .expect("the slipway binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A scratch git repository with an identity, so commits work anywhere.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.email", "dev@example.org"]);
    git(dir.path(), &["config", "user.name", "Dev"]);
    git(dir.path(), &["config", "commit.gpgsign", "false"]);
    dir
}

fn write(dir: &Path, path: &str, text: &str) -> PathBuf {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(&full, text).unwrap();
    full
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

const BROKEN: &str = "version: 1\njobs:\n  fmt:\n    steps: [{ run: cargo fmt }]\n  build:\n    neds: [fmt]\n    steps:\n      - run: cargo build\n  test:\n    needs: [bild]\n    timeout: 10 minutes\n    steps: [{ run: cargo test }]\n";

#[test]
fn lint_renders_every_problem_with_source_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "slipway.yml", BROKEN);
    let output = slipway(dir.path(), &["lint"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("lint_human", stdout(&output));
}

#[test]
fn lint_json_is_one_object_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pipelines/ci.yml", BROKEN);
    let output = slipway(
        dir.path(),
        &["lint", "--file", "pipelines/ci.yml", "--json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "one JSON object on one line");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["ok"], false);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 3);
    let first = &diagnostics[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "E004");
    assert_eq!(first["file"], "pipelines/ci.yml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(6), Some(5))
    );
    assert_eq!(first["help"], "did you mean `needs`?");
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "severity", "code", "message", "file", "line", "column", "help"
        ]
    );
}

#[test]
fn lint_short_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "slipway.yml", BROKEN);
    let output = slipway(dir.path(), &["lint", "--short"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output).lines().next().unwrap(),
        "slipway.yml:6:5: error[E004]: unknown key `neds` in `jobs.build` (help: did you mean `needs`?)"
    );

    write(
        dir.path(),
        "slipway.yml",
        "version: 1\ndefaults: { timeout: 2h }\njobs:\n  a:\n    steps: [{ run: 'true' }]\n",
    );
    let output = slipway(dir.path(), &["lint", "--json"]);
    assert_eq!(output.status.code(), Some(0), "warnings alone pass");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["diagnostics"][0]["code"], "W101");

    let empty = tempfile::tempdir().unwrap();
    let output = slipway(empty.path(), &["lint"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no slipway.yml"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("slipway init"));

    let output = slipway(dir.path(), &["lint", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));

    write(dir.path(), "binary.yml", "version: 1\n\u{0}\u{ff}");
    std::fs::write(dir.path().join("binary.yml"), b"version: 1\n\xff\xfe").unwrap();
    let output = slipway(dir.path(), &["lint", "--file", "binary.yml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not UTF-8"), "{}", stderr(&output));
}

const PIPELINE: &str = r#"version: 1
on:
  push: { branches: [main] }
jobs:
  fmt:
    stage: validate
    steps: [{ run: cargo fmt --check }]
  unit:
    needs: [fmt]
    matrix: { rust: [stable, beta] }
    steps: [{ run: cargo test }]
  docs:
    needs: [fmt]
    paths: ["docs/**"]
    steps: [{ run: mdbook build }]
  publish:
    needs: [docs, unit]
    if: ${{ event.branch == 'main' }}
    steps: [{ run: ./publish.sh }]
"#;

#[test]
fn plan_reads_changed_files_from_git() {
    let dir = repo();
    write(dir.path(), "slipway.yml", PIPELINE);
    write(dir.path(), "src/lib.rs", "");
    commit_all(dir.path(), "one");
    write(dir.path(), "src/lib.rs", "// changed");
    commit_all(dir.path(), "two");

    let output = slipway(dir.path(), &["plan", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let jobs = plan["jobs"].as_array().unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "fmt",
            "unit (rust=stable)",
            "unit (rust=beta)",
            "docs",
            "publish"
        ]
    );
    let docs = &jobs[3];
    assert_eq!(docs["runs"], false);
    assert_eq!(
        docs["skip_reason"],
        "not affected: no changed file matches `paths`"
    );
    assert_eq!(
        jobs[4]["runs"], true,
        "a job that was not affected satisfies its dependents"
    );
    assert_eq!(jobs[4]["level"], 2);
    assert_eq!(
        plan["critical_path"],
        serde_json::json!(["fmt", "unit (rust=stable)", "publish"])
    );
    let keys: Vec<&str> = jobs[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["id", "stage", "needs", "level", "runs", "skip_reason"]
    );

    // Against a base: the docs change on a branch is visible.
    git(dir.path(), &["checkout", "-q", "-b", "feature"]);
    write(dir.path(), "docs/index.md", "# docs");
    commit_all(dir.path(), "docs");
    write(dir.path(), "README.md", "readme");
    commit_all(dir.path(), "readme");
    let output = slipway(
        dir.path(),
        &["plan", "--json", "--base", "main", "--branch", "main"],
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(plan["jobs"][3]["runs"], true, "{plan:#}");

    // The human view and Graphviz.
    let output = slipway(
        dir.path(),
        &["plan", "--changed-files", "src/a.rs", "--branch", "dev"],
    );
    let text = stdout(&output);
    assert!(text.contains("skip  fmt"), "{text}");
    assert!(
        text.contains("event filter: branch `dev` matches no `on.push.branches`"),
        "{text}"
    );
    let output = slipway(
        dir.path(),
        &["plan", "--dot", "--changed-files", "src/a.rs"],
    );
    assert!(stdout(&output).starts_with("digraph pipeline {"));
}

#[test]
fn plan_refuses_a_pipeline_with_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "slipway.yml", BROKEN);
    let output = slipway(dir.path(), &["plan", "--changed-files", "a"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("3 errors"), "{}", stderr(&output));
}

#[test]
fn schema_is_draft_2020_12_and_accepts_the_bundled_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = slipway(&root, &["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = serde_json::json!({"version": 1, "jobs": {"a": {"steps": [{"run": "true"}], "timeout": "5m"}}});
    assert!(validator.is_valid(&good));
    let bad = serde_json::json!({"version": 1, "jobs": {"a": {"stage": "nope", "steps": []}}});
    assert!(!validator.is_valid(&bad));
}

#[test]
fn init_writes_a_pipeline_that_lints_clean() {
    let dir = repo();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    write(
        dir.path(),
        "package.json",
        r#"{"scripts": {"test": "node --test"}}"#,
    );
    let output = slipway(dir.path(), &["init"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("detected: cargo, npm"),
        "{}",
        stdout(&output)
    );
    let gitignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(gitignore.contains("/.slipway/"));
    assert!(dir.path().join(".slipway/schema.json").exists());
    let output = slipway(dir.path(), &["lint", "--json"]);
    assert_eq!(stdout(&output).trim(), r#"{"ok":true,"diagnostics":[]}"#);
    let output = slipway(dir.path(), &["init"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--force"));
    assert_eq!(
        slipway(dir.path(), &["init", "--force"]).status.code(),
        Some(0)
    );
    let gitignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore.matches("/.slipway/*").count(), 1, "added once");
}

#[test]
fn includes_local_and_pinned_git_templates() {
    // A template repository, tagged.
    let templates = repo();
    write(
        templates.path(),
        "rust.yml",
        "jobs:\n  clippy:\n    stage: validate\n    steps: [{ run: cargo clippy }]\n",
    );
    commit_all(templates.path(), "template");
    git(templates.path(), &["tag", "v1.0.0"]);
    let url = format!("file://{}", templates.path().display());

    let dir = repo();
    write(
        dir.path(),
        "ci/common.yml",
        "env: { A: from-template }\njobs:\n  fmt:\n    steps: [{ run: cargo fmt --check }]\n",
    );
    let pipeline = format!(
        "version: 1\ninclude:\n  - template: ci/common.yml\n  - template: git+{url}//rust.yml@v1.0.0\njobs:\n  test:\n    needs: [fmt, clippy]\n    steps: [{{ run: cargo test }}]\n"
    );
    write(dir.path(), "slipway.yml", &pipeline);
    let output = slipway(
        dir.path(),
        &["plan", "--json", "--changed-files", "src/lib.rs"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let ids: Vec<&str> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fmt", "clippy", "test"]);

    // The same ref unpinned is refused; a missing tag is a template error.
    write(
        dir.path(),
        "slipway.yml",
        &pipeline.replace("@v1.0.0", "@main"),
    );
    let output = slipway(dir.path(), &["lint", "--short"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("error[E021]"),
        "{}",
        stdout(&output)
    );
    write(
        dir.path(),
        "slipway.yml",
        &pipeline.replace("@v1.0.0", "@v9.9.9"),
    );
    let output = slipway(dir.path(), &["lint", "--short"]);
    assert!(
        stdout(&output).contains("error[E028]"),
        "{}",
        stdout(&output)
    );
}
