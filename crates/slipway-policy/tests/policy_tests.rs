//! `run_tests`: OPA-style `test_*` rules with `with input as ...` and JSON fixtures.

mod common;

use common::{crate_dir, repo, write};
use slipway_policy::{Overrides, PolicyError, PolicySet, TestOutcome, run_tests};
use std::path::Path;

/// A copy of the built-in pack's tests as a repository's tests: the package moved out of the
/// reserved name space, the fixtures beside it.
fn copy_pack_tests(to: &Path) {
    let from = crate_dir().join("policies/tests");
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "package slipway.builtin.pack_test",
            "package copied.pack_test",
        );
        std::fs::write(to.join(path.file_name().unwrap()), text).unwrap();
    }
}

#[test]
fn the_shipped_tests_pass_and_a_broken_expectation_fails() {
    let set = PolicySet::builtin();
    let dir = tempfile::tempdir().unwrap();
    copy_pack_tests(dir.path());
    let report = run_tests(&set, Some(dir.path())).unwrap();
    assert!(
        report.ok(),
        "{:?}",
        report
            .tests
            .iter()
            .filter(|t| t.outcome != TestOutcome::Pass)
            .collect::<Vec<_>>()
    );
    let builtin = report
        .tests
        .iter()
        .filter(|t| t.name.starts_with("data.slipway.builtin.pack_test."))
        .count();
    let copied = report
        .tests
        .iter()
        .filter(|t| t.name.starts_with("data.copied.pack_test."))
        .count();
    assert!(builtin >= 40, "{builtin}");
    assert_eq!(builtin, copied);
    assert_eq!(report.passed, builtin + copied);

    // Flip one expectation: exactly that test fails, and says where it is.
    let test_file = dir.path().join("pack_test.rego");
    let text = std::fs::read_to_string(&test_file).unwrap();
    let flipped = text.replace(
        "builtin.not_known_bad.deny == {sprintf(\"%s is marked bad for production\", [digest])}",
        "count(builtin.not_known_bad.deny) == 0",
    );
    assert_ne!(flipped, text);
    std::fs::write(&test_file, flipped).unwrap();
    let report = run_tests(&set, Some(dir.path())).unwrap();
    assert!(!report.ok());
    let failed: Vec<_> = report
        .tests
        .iter()
        .filter(|t| t.outcome != TestOutcome::Pass)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0].name,
        "data.copied.pack_test.test_a_digest_marked_bad_is_denied"
    );
    assert_eq!(failed[0].outcome, TestOutcome::Fail);
    assert!(
        failed[0].file.ends_with("pack_test.rego"),
        "{}",
        failed[0].file
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("test_a_digest_marked_bad_is_denied"))
        .unwrap()
        + 1;
    assert_eq!(failed[0].line as usize, line);
    assert_eq!(report.failed, 1);
}

#[test]
fn repository_tests_see_its_policies_fixtures_and_parameters() {
    let repo = repo(&[
        (".slipway/policy.yml", "params:\n  min-soak: 1h\n"),
        (
            ".slipway/policies/owner.rego",
            "package policies.owner\nimport rego.v1\n\ndeny contains \"no owner\" if not input.environment.config.owner\n",
        ),
        (
            ".slipway/policies/owner_test.rego",
            "package policies.owner_test\nimport rego.v1\nimport data.policies.owner\n\n\
             test_owner_required if {\n  owner.deny == {\"no owner\"} with input as data.fixtures.unowned\n}\n\n\
             test_params_come_from_the_policy_file if data.slipway.params.min_soak_seconds == 3600\n\n\
             test_wrong if {\n  count(owner.deny) == 0 with input as data.fixtures.unowned\n}\n\n\
             test_errs if {\n  x := 1 / 0\n  x > 0\n}\n",
        ),
        (
            ".slipway/policies/fixtures/unowned.json",
            "{\"environment\": {\"config\": {}}}",
        ),
    ]);
    let set = PolicySet::load(repo.path(), &Overrides::load(repo.path()).unwrap()).unwrap();
    let report = run_tests(&set, None).unwrap();
    let outcome = |name: &str| {
        report
            .tests
            .iter()
            .find(|t| t.name == format!("data.policies.owner_test.{name}"))
            .unwrap_or_else(|| panic!("{name} did not run"))
    };
    assert_eq!(outcome("test_owner_required").outcome, TestOutcome::Pass);
    assert_eq!(
        outcome("test_params_come_from_the_policy_file").outcome,
        TestOutcome::Pass
    );
    assert_eq!(outcome("test_wrong").outcome, TestOutcome::Fail);
    assert_eq!(
        outcome("test_wrong").file,
        ".slipway/policies/owner_test.rego"
    );
    assert_eq!(outcome("test_wrong").line, 11);
    let errs = outcome("test_errs");
    assert_eq!(errs.outcome, TestOutcome::Error, "{errs:?}");
    assert!(
        errs.message
            .as_deref()
            .unwrap_or_default()
            .contains("owner_test.rego:16:10: divide by zero"),
        "{errs:?}"
    );
    assert_eq!(report.failed, 2);
}

#[test]
fn a_malformed_fixture_points_at_its_line() {
    let repo = repo(&[(".slipway/policies/broken.json", "{\n  \"a\": [1,\n}\n")]);
    let set = PolicySet::load(repo.path(), &Overrides::default()).unwrap();
    match run_tests(&set, None) {
        Err(PolicyError::File { file, line, .. }) => {
            assert!(file.ends_with(".slipway/policies/broken.json"), "{file}");
            assert_eq!(line, 3);
        }
        other => panic!("{other:?}"),
    }
    let repo2 = repo_with_duplicate_fixtures();
    let set = PolicySet::load(repo2.path(), &Overrides::default()).unwrap();
    match run_tests(&set, None) {
        Err(PolicyError::File { message, .. }) => {
            assert!(message.contains("also defined"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

fn repo_with_duplicate_fixtures() -> tempfile::TempDir {
    let repo = repo(&[]);
    write(repo.path(), ".slipway/policies/a/x.json", "{}");
    write(repo.path(), ".slipway/policies/b/x.json", "{}");
    repo
}
