//! Policy tests, OPA style: every rule named `test_*` is a test that passes when it evaluates
//! to `true`. Tests set their input with `with input as ...`; JSON files beside them are
//! fixtures, readable as `data.fixtures.<file stem>`.

use crate::overrides::Overrides;
use crate::set::{Module, PolicySet, compile, query_value, read_tree};
use crate::{PolicyError, builtin};
use regorus::unstable::{Rule, RuleHead};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// How a test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    /// It evaluated to `true`.
    Pass,
    /// It evaluated to something else, or was undefined.
    Fail,
    /// Evaluating it failed (a built-in error, a conflict, the time limit).
    Error,
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The test rule: `data.<package>.test_<name>`.
    pub name: String,
    /// The file it is written in.
    pub file: String,
    /// The line of its first definition.
    pub line: u32,
    /// How it ended.
    pub outcome: TestOutcome,
    /// What it evaluated to, or the error, when it did not pass.
    pub message: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// The results of a test run, built-in tests first, each suite in file and line order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// Every test.
    pub tests: Vec<TestResult>,
    /// How many passed.
    pub passed: usize,
    /// How many failed or erred.
    pub failed: usize,
}

impl TestReport {
    /// Whether every test passed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// Runs the built-in pack's tests (against the pack with default parameters), then the tests in
/// `dir` (default: the set's policy directory) against the whole set with its parameters.
///
/// `.rego` files in `dir` that are not already part of the set are loaded for the run; `.json`
/// files there are fixtures at `data.fixtures.<stem>`.
pub fn run_tests(set: &PolicySet, dir: Option<&Path>) -> Result<TestReport, PolicyError> {
    let mut report = TestReport::default();

    let (builtin_tests, builtin_fixtures): (Vec<_>, Vec<_>) = builtin::test_files()
        .into_iter()
        .partition(|(path, _)| path.ends_with(".rego"));
    let mut modules = builtin::modules();
    let first_test = modules.len();
    modules.extend(builtin_tests.into_iter().map(|(path, text)| Module {
        path,
        text,
        builtin: true,
    }));
    let builtin_fixtures = fixtures(builtin_fixtures)?;
    let engine = compile(&modules, &Overrides::default().params(), &builtin_fixtures)?;
    run_suite(engine, &modules[first_test..], &mut report);

    let user_dir = dir.or(set.policy_dir());
    if let Some(user_dir) = user_dir {
        let mut modules = set.modules().to_vec();
        let in_set = set
            .policy_dir()
            .and_then(|d| d.canonicalize().ok())
            .zip(user_dir.canonicalize().ok())
            .is_some_and(|(a, b)| a == b);
        if !in_set {
            for (path, text) in read_tree(user_dir, "rego")? {
                modules.push(Module {
                    path: path.display().to_string(),
                    text,
                    builtin: false,
                });
            }
        }
        let fixture_files = read_tree(user_dir, "json")?
            .into_iter()
            .map(|(path, text)| (path.display().to_string(), text))
            .collect();
        let user_fixtures = fixtures(fixture_files)?;
        let engine = compile(&modules, &set.overrides().params(), &user_fixtures)?;
        let user_modules: Vec<Module> = modules.into_iter().filter(|m| !m.builtin).collect();
        run_suite(engine, &user_modules, &mut report);
    }
    Ok(report)
}

/// Fixtures by file stem; two files with the same stem would shadow each other.
fn fixtures(
    files: Vec<(String, String)>,
) -> Result<BTreeMap<String, serde_json::Value>, PolicyError> {
    let mut found: BTreeMap<String, (String, serde_json::Value)> = BTreeMap::new();
    for (path, text) in files {
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| PolicyError::File {
                file: path.clone(),
                line: error.line().max(1) as u64,
                column: error.column().max(1) as u64,
                message: error.to_string(),
                help: "a fixture is one JSON document".into(),
            })?;
        let stem = Path::new(&path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((other, _)) = found.get(&stem) {
            return Err(PolicyError::File {
                file: path.clone(),
                line: 1,
                column: 1,
                message: format!("the fixture `{stem}` is also defined by {other}"),
                help:
                    "fixtures are named by file stem (`data.fixtures.<stem>`); rename one of them"
                        .into(),
            });
        }
        found.insert(stem, (path, value));
    }
    Ok(found
        .into_iter()
        .map(|(stem, (_, value))| (stem, value))
        .collect())
}

/// Runs every `test_*` rule of `modules` in `engine`.
fn run_suite(mut engine: regorus::Engine, modules: &[Module], report: &mut TestReport) {
    let paths: Vec<&str> = modules.iter().map(|m| m.path.as_str()).collect();
    let mut tests: Vec<(String, String, u32)> = Vec::new();
    for module in engine.get_modules().iter() {
        let file = module.package.span.source.get_path().clone();
        if !paths.contains(&file.as_str()) {
            continue;
        }
        let package = crate::calls::package_path(module);
        for rule in &module.policy {
            let (refr, line) = match rule.as_ref() {
                Rule::Spec {
                    head: RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. },
                    span,
                    ..
                } => (refr, span.line),
                _ => continue,
            };
            let name = crate::calls::compact(refr.span().text());
            if !name.starts_with("test_")
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            let full = format!("{package}.{name}");
            if !tests.iter().any(|(n, _, _)| *n == full) {
                tests.push((full, file.clone(), line));
            }
        }
    }
    for (name, file, line) in tests {
        let started = Instant::now();
        let (outcome, message) = match query_value(&mut engine, &name) {
            Ok(Some(serde_json::Value::Bool(true))) => (TestOutcome::Pass, None),
            Ok(Some(other)) => (TestOutcome::Fail, Some(format!("evaluated to {other}"))),
            Ok(None) => (
                TestOutcome::Fail,
                Some("undefined: a condition did not hold".to_owned()),
            ),
            Err(error) => (TestOutcome::Error, Some(error)),
        };
        match outcome {
            TestOutcome::Pass => report.passed += 1,
            TestOutcome::Fail | TestOutcome::Error => report.failed += 1,
        }
        report.tests.push(TestResult {
            name,
            file,
            line,
            outcome,
            message,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }
}
