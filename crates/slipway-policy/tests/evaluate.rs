mod common;

use common::{fixture, input, patched, repo};
use serde_json::json;
use slipway_policy::{Decision, DecisionPoint, Level, Overrides, PolicyError, PolicySet, evaluate};
use std::collections::BTreeSet;

fn denied_rules(decision: &Decision) -> BTreeSet<String> {
    decision.deny.iter().map(|r| r.rule.clone()).collect()
}

fn warned_rules(decision: &Decision) -> BTreeSet<String> {
    decision.warn.iter().map(|r| r.rule.clone()).collect()
}

fn set_of(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// A rule, the point it is asked at, and the changes to the good bundle that break it.
type Case = (
    &'static str,
    DecisionPoint,
    Vec<(&'static str, serde_json::Value)>,
);

const OTHER: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn the_good_bundle_is_allowed_at_every_point() {
    let set = PolicySet::builtin();
    let good = input(fixture("good"));
    for point in DecisionPoint::ALL {
        let decision = evaluate(&set, point, &good).unwrap();
        assert!(decision.allow, "{point}: {:?}", decision.deny);
        assert!(decision.warn.is_empty(), "{point}: {:?}", decision.warn);
        assert_eq!(decision.point, point);
    }
}

#[test]
fn each_builtin_rule_denies_its_bad_case_and_nothing_else() {
    let set = PolicySet::builtin();
    let cases: Vec<Case> = vec![
        (
            "SLW-P001",
            DecisionPoint::Rollback,
            vec![("/signatures/0/trusted", json!(false))],
        ),
        (
            "SLW-P001",
            DecisionPoint::Release,
            vec![("/verification/ok", json!(false))],
        ),
        (
            "SLW-P002",
            DecisionPoint::Rollback,
            vec![("/provenance/subjects", json!([OTHER]))],
        ),
        (
            "SLW-P003",
            DecisionPoint::Release,
            vec![("/sbom/present", json!(false))],
        ),
        (
            "SLW-P004",
            DecisionPoint::Promote,
            vec![("/scans/0/gates/secrets", json!("fail"))],
        ),
        (
            "SLW-P005",
            DecisionPoint::Release,
            vec![("/scans/0/gates/vulnerabilities", json!("off"))],
        ),
        (
            "SLW-P006",
            DecisionPoint::Release,
            vec![("/base_images/0/pinned", json!(false))],
        ),
        (
            "SLW-P007",
            DecisionPoint::Promote,
            vec![("/approvals/1/is_commit_author", json!(true))],
        ),
        (
            "SLW-P008",
            DecisionPoint::Promote,
            vec![("/history/known_bad", json!(true))],
        ),
        (
            "SLW-P009",
            DecisionPoint::Promote,
            vec![("/history/previous_environment/healthy", json!(false))],
        ),
        (
            "SLW-P010",
            DecisionPoint::Promote,
            vec![("/history/previous_environment/seconds_since", json!(60))],
        ),
        (
            "SLW-P011",
            DecisionPoint::Release,
            vec![("/tests/failed", json!(1))],
        ),
    ];
    let mut covered = BTreeSet::new();
    for (rule, point, changes) in cases {
        let decision = evaluate(&set, point, &patched(&changes)).unwrap();
        assert!(!decision.allow, "{rule} at {point}");
        assert_eq!(
            denied_rules(&decision),
            set_of(&[rule]),
            "{rule} at {point}: {:?}",
            decision.deny
        );
        let reason = &decision.deny[0];
        assert_eq!(reason.source, "builtin");
        assert!(
            reason.remediation.as_deref().is_some_and(|r| r.len() > 20),
            "{rule}"
        );
        assert!(
            reason.message.contains("sha256:aaaa") || reason.message.contains("Dockerfile"),
            "{}",
            reason.message
        );
        covered.insert(rule.to_owned());
    }
    let denying: BTreeSet<String> = set
        .rules()
        .into_iter()
        .filter(|rule| rule.id != "SLW-P012")
        .map(|rule| rule.id)
        .collect();
    assert_eq!(covered, denying);
}

#[test]
fn the_bad_bundle_is_denied_by_every_rule_of_each_point() {
    let set = PolicySet::builtin();
    let bad = input(fixture("bad"));
    let at = |point| evaluate(&set, point, &bad).unwrap();
    assert_eq!(
        denied_rules(&at(DecisionPoint::Release)),
        set_of(&[
            "SLW-P001", "SLW-P002", "SLW-P003", "SLW-P004", "SLW-P005", "SLW-P006", "SLW-P011"
        ])
    );
    let promote = at(DecisionPoint::Promote);
    assert_eq!(
        denied_rules(&promote),
        set_of(&[
            "SLW-P001", "SLW-P002", "SLW-P003", "SLW-P004", "SLW-P005", "SLW-P006", "SLW-P007",
            "SLW-P008", "SLW-P009", "SLW-P010", "SLW-P011",
        ])
    );
    assert_eq!(warned_rules(&promote), set_of(&["SLW-P012"]));
    // Rollback: fewer checks, never past signature and digest verification.
    let rollback = at(DecisionPoint::Rollback);
    assert_eq!(denied_rules(&rollback), set_of(&["SLW-P001", "SLW-P002"]));
    assert!(rollback.warn.is_empty());
}

#[test]
fn the_rules_declare_the_points_they_run_at() {
    let rules = PolicySet::builtin().rules();
    let at = |point| -> BTreeSet<String> {
        rules
            .iter()
            .filter(|rule| rule.points.contains(&point))
            .map(|rule| rule.id.clone())
            .collect()
    };
    assert_eq!(
        at(DecisionPoint::Rollback),
        set_of(&["SLW-P001", "SLW-P002"])
    );
    assert_eq!(at(DecisionPoint::Release).len(), 7);
    assert_eq!(at(DecisionPoint::Promote).len(), 12);
    assert!(
        rules
            .iter()
            .all(|rule| rule.builtin && rule.title.is_some() && rule.name.is_some())
    );
}

#[test]
fn overrides_turn_a_rule_off_or_into_a_warning_but_not_at_rollback() {
    let unpinned = patched(&[
        ("/base_images/0/pinned", json!(false)),
        ("/signatures/0/trusted", json!(false)),
    ]);
    let by_id = Overrides::default()
        .with_rule("SLW-P006", Level::Warn)
        .with_rule("signed-by-trusted-builder", Level::Off);
    let set = PolicySet::from_modules(Vec::new(), &by_id).unwrap();
    let decision = evaluate(&set, DecisionPoint::Release, &unpinned).unwrap();
    assert!(decision.allow, "{:?}", decision.deny);
    assert_eq!(warned_rules(&decision), set_of(&["SLW-P006"]));
    // At rollback the verification rules keep denying whatever the overrides say.
    let rollback = evaluate(&set, DecisionPoint::Rollback, &unpinned).unwrap();
    assert_eq!(denied_rules(&rollback), set_of(&["SLW-P001"]));

    let off = Overrides::default().with_rule("base-images-pinned", Level::Off);
    let set = PolicySet::from_modules(Vec::new(), &off).unwrap();
    let decision = evaluate(&set, DecisionPoint::Release, &unpinned).unwrap();
    assert_eq!(denied_rules(&decision), set_of(&["SLW-P001"]));
    assert!(decision.warn.is_empty());

    // `deny` makes a warning block.
    let dev_key = patched(&[("/provenance/development_key", json!(true))]);
    let strict = Overrides::default().with_rule("SLW-P012", Level::Deny);
    let set = PolicySet::from_modules(Vec::new(), &strict).unwrap();
    let decision = evaluate(&set, DecisionPoint::Promote, &dev_key).unwrap();
    assert_eq!(denied_rules(&decision), set_of(&["SLW-P012"]));
}

#[test]
fn the_policy_file_sets_levels_and_the_soak_minimum() {
    let repo = repo(&[(
        ".slipway/policy.yml",
        "rules:\n  tests-passed: warn\nparams:\n  min-soak: 3h\n",
    )]);
    let overrides = Overrides::load(repo.path()).unwrap();
    let set = PolicySet::load(repo.path(), &overrides).unwrap();
    let doc = patched(&[("/tests/failed", json!(4))]);
    let decision = evaluate(&set, DecisionPoint::Promote, &doc).unwrap();
    assert_eq!(warned_rules(&decision), set_of(&["SLW-P011"]));
    // The fixture soaked 2h: enough for the environment's 15m, not for the policy's 3h.
    assert_eq!(denied_rules(&decision), set_of(&["SLW-P010"]));
    assert!(
        decision.deny[0]
            .message
            .contains("needs 3h0m0s (1h0m0s to go)"),
        "{}",
        decision.deny[0].message
    );

    let zero = repo_with_policy_file("params:\n  min-soak: 0\n");
    let set = PolicySet::load(zero.path(), &Overrides::load(zero.path()).unwrap()).unwrap();
    let short = patched(&[
        ("/environment/soak/required_seconds", json!(0)),
        ("/history/previous_environment/seconds_since", json!(1)),
    ]);
    assert!(
        evaluate(&set, DecisionPoint::Promote, &short)
            .unwrap()
            .allow
    );
    assert!(
        !evaluate(&PolicySet::builtin(), DecisionPoint::Promote, &short)
            .unwrap()
            .allow
    );
}

fn repo_with_policy_file(text: &str) -> tempfile::TempDir {
    repo(&[(".slipway/policy.yml", text)])
}

#[test]
fn an_override_of_an_unknown_rule_points_at_it_with_a_suggestion() {
    let repo = repo_with_policy_file("rules:\n  SLW-P006: warn\n  base-image-pinned: off\n");
    let overrides = Overrides::load(repo.path()).unwrap();
    match PolicySet::load(repo.path(), &overrides) {
        Err(PolicyError::File {
            file,
            line,
            column,
            message,
            help,
        }) => {
            assert_eq!((file.as_str(), line, column), (".slipway/policy.yml", 3, 3));
            assert_eq!(message, "no policy rule is called `base-image-pinned`");
            assert!(
                help.contains("did you mean `base-images-pinned`?"),
                "{help}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn user_policies_add_reasons_in_v0_and_v1_syntax() {
    let repo = repo(&[
        (
            ".slipway/policies/owner.rego",
            "package policies.require_owner\n\nimport rego.v1\n\nmeta := {\"id\": \"ACME-001\", \"points\": [\"promote\"], \"remediation\": \"set config.owner\"}\n\n\
             deny contains msg if {\n  not input.environment.config.owner\n  msg := sprintf(\"%s has no owner\", [input.environment.name])\n}\n",
        ),
        (
            ".slipway/policies/legacy/branch.rego",
            "package legacy.branch\n\ndeny[msg] {\n  input.artifact.ref != \"refs/heads/main\"\n  msg := {\"msg\": sprintf(\"built from %s\", [input.artifact.ref]), \"remediation\": \"build from main\"}\n}\n\nwarn[\"always\"] { true }\n",
        ),
    ]);
    let set = PolicySet::load(repo.path(), &Overrides::default()).unwrap();
    let doc = patched(&[("/artifact/ref", json!("refs/heads/topic"))]);
    let decision = evaluate(&set, DecisionPoint::Promote, &doc).unwrap();
    assert_eq!(
        denied_rules(&decision),
        set_of(&["ACME-001", "legacy.branch"])
    );
    let owner = decision.deny.iter().find(|r| r.rule == "ACME-001").unwrap();
    assert_eq!(owner.message, "production has no owner");
    assert_eq!(owner.remediation.as_deref(), Some("set config.owner"));
    assert_eq!(owner.source, ".slipway/policies/owner.rego");
    let branch = decision
        .deny
        .iter()
        .find(|r| r.rule == "legacy.branch")
        .unwrap();
    assert_eq!(branch.message, "built from refs/heads/topic");
    assert_eq!(branch.remediation.as_deref(), Some("build from main"));
    assert_eq!(branch.source, ".slipway/policies/legacy/branch.rego");
    assert_eq!(warned_rules(&decision), set_of(&["legacy.branch"]));

    // ACME-001 runs at promote only.
    let release = evaluate(&set, DecisionPoint::Release, &doc).unwrap();
    assert_eq!(denied_rules(&release), set_of(&["legacy.branch"]));

    // User rules can be overridden like built-in ones, by id or package.
    let overrides = Overrides::default()
        .with_rule("ACME-001", Level::Off)
        .with_rule("legacy.branch", Level::Warn);
    let set = PolicySet::load(repo.path(), &overrides).unwrap();
    let decision = evaluate(&set, DecisionPoint::Promote, &doc).unwrap();
    assert!(decision.allow);
    assert_eq!(decision.warn.len(), 2);
}

#[test]
fn a_v1_partial_object_rule_counts_its_keys() {
    let repo = repo(&[(
        ".slipway/policies/keys.rego",
        "package keys\nimport rego.v1\ndeny[msg] if {\n  msg := \"from a key\"\n}\n",
    )]);
    let set = PolicySet::load(repo.path(), &Overrides::default()).unwrap();
    let decision = evaluate(&set, DecisionPoint::Release, &input(fixture("good"))).unwrap();
    assert_eq!(decision.deny.len(), 1);
    assert_eq!(decision.deny[0].message, "from a key");
}

#[test]
fn errors_in_a_policy_point_at_their_line() {
    let cases = [
        (
            "package p\nimport rego.v1\n\ndeny contains msg if {\n  msg := [1, 2\n}\n",
            5,
            7,
            "expecting",
        ),
        (
            "package p\nimport rego.v1\n\ndeny contains msg if {\n  input.x\n  msg := concat(\",\", [owner])\n}\n",
            6,
            23,
            "use of undefined variable `owner` is unsafe",
        ),
        (
            "package p\nimport rego.v1\n\ndeny contains msg if {\n  input.x\n  msg := owner_of(input)\n}\n",
            6,
            10,
            "could not find function owner_of",
        ),
        (
            "package p\n\ndeny[msg] {\n  input.x\n  msg := \"a\"\n}\n\nallow {\n  msg := [1,\n}\n",
            8,
            7,
            "",
        ),
    ];
    for (text, line, column, message) in cases {
        let repo = repo(&[(".slipway/policies/p.rego", text)]);
        match PolicySet::load(repo.path(), &Overrides::default()) {
            Err(PolicyError::Rego {
                file,
                line: l,
                column: c,
                message: m,
                ..
            }) => {
                assert_eq!(file, ".slipway/policies/p.rego");
                assert_eq!((l, c), (line, column), "{text}: {m}");
                assert!(m.contains(message), "{m}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn the_slipway_name_space_is_reserved() {
    let repo = repo(&[(
        ".slipway/policies/sneaky.rego",
        "# comment\npackage slipway.builtin.base_images_pinned\nimport rego.v1\ndeny := set()\n",
    )]);
    match PolicySet::load(repo.path(), &Overrides::default()) {
        Err(PolicyError::Rego { line, message, .. }) => {
            assert_eq!(line, 2);
            assert!(message.contains("reserved"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_bundle_digest_follows_policies_and_overrides() {
    let builtin = PolicySet::builtin();
    assert_eq!(builtin.digest(), PolicySet::builtin().digest());
    assert!(builtin.digest().starts_with("sha256:") && builtin.digest().len() == 71);
    let repo = repo(&[(
        ".slipway/policies/a.rego",
        "package a\nimport rego.v1\ndeny contains \"x\" if input.never\n",
    )]);
    let with_policy = PolicySet::load(repo.path(), &Overrides::default()).unwrap();
    assert_ne!(with_policy.digest(), builtin.digest());
    assert_eq!(
        with_policy.digest(),
        PolicySet::load(repo.path(), &Overrides::default())
            .unwrap()
            .digest()
    );
    common::write(
        repo.path(),
        ".slipway/policies/a.rego",
        "package a\nimport rego.v1\ndeny contains \"y\" if input.never\n",
    );
    let changed = PolicySet::load(repo.path(), &Overrides::default()).unwrap();
    assert_ne!(changed.digest(), with_policy.digest());
    let overridden = PolicySet::load(
        repo.path(),
        &Overrides::default().with_rule("SLW-P006", Level::Warn),
    )
    .unwrap();
    assert_ne!(overridden.digest(), changed.digest());
    let decision = evaluate(&changed, DecisionPoint::Release, &input(fixture("good"))).unwrap();
    assert_eq!(decision.bundle_digest, changed.digest());
}

#[test]
fn the_input_digest_is_over_canonical_json_of_the_input_as_evaluated() {
    let set = PolicySet::builtin();
    let good = input(fixture("good"));
    let a = evaluate(&set, DecisionPoint::Promote, &good).unwrap();
    // Key order and whitespace do not matter.
    let text =
        std::fs::read_to_string(common::crate_dir().join("policies/tests/good.json")).unwrap();
    let reordered: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str::<serde_json::Map<_, _>>(&text)
            .unwrap()
            .into_iter()
            .rev()
            .collect();
    let b = evaluate(
        &set,
        DecisionPoint::Promote,
        &input(serde_json::Value::Object(reordered)),
    )
    .unwrap();
    assert_eq!(a.input_digest, b.input_digest);
    // The digest is sha256 over the sorted, compact JSON.
    let mut expected = serde_json::to_value(&good).unwrap();
    expected["decision"] = json!("promote");
    let canonical = slipway_policy::canonical_json(&expected);
    assert!(canonical.starts_with(
        "{\"actor\":{\"name\":\"carol@example.com\",\"source\":\"cli\"},\"approvals\":["
    ));
    use sha2::Digest;
    assert_eq!(
        a.input_digest,
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
        )
    );
    // Any fact, and the point asked, change it.
    let c = evaluate(
        &set,
        DecisionPoint::Promote,
        &patched(&[("/tests/total", json!(121))]),
    )
    .unwrap();
    assert_ne!(a.input_digest, c.input_digest);
    let d = evaluate(&set, DecisionPoint::Release, &good).unwrap();
    assert_ne!(a.input_digest, d.input_digest);
}

#[test]
fn inputs_that_cannot_be_judged_are_refused() {
    let set = PolicySet::builtin();
    let no_env = patched(&[("/environment", json!(null))]);
    assert!(evaluate(&set, DecisionPoint::Release, &no_env).is_ok());
    for point in [DecisionPoint::Promote, DecisionPoint::Rollback] {
        match evaluate(&set, point, &no_env) {
            Err(PolicyError::Input { message, .. }) => {
                assert!(message.contains("environment is null"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
    let bad_digest = patched(&[("/artifact/digest", json!("sha256:ABC"))]);
    assert!(matches!(
        evaluate(&set, DecisionPoint::Release, &bad_digest),
        Err(PolicyError::Input { .. })
    ));
    let bad_time = patched(&[("/time", json!("yesterday"))]);
    assert!(matches!(
        evaluate(&set, DecisionPoint::Release, &bad_time),
        Err(PolicyError::Input { .. })
    ));
}

#[test]
fn a_policy_that_loops_is_stopped_by_the_time_limit() {
    let repo = repo(&[(
        ".slipway/policies/slow.rego",
        "package slow\nimport rego.v1\ndeny contains \"done\" if {\n  count([1 | some i in numbers.range(1, 5000); some j in numbers.range(1, 5000); i != j]) > 0\n}\n",
    )]);
    let mut set = PolicySet::load(repo.path(), &Overrides::default()).unwrap();
    set.set_time_limit(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    let outcome = evaluate(&set, DecisionPoint::Release, &input(fixture("good")));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    match outcome {
        Err(PolicyError::Evaluation { rule, message, .. }) => {
            assert_eq!(rule, "the policies of release");
            assert!(
                message.starts_with("execution exceeded time limit"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_decision_of_the_bad_bundle_reads_as_documented() {
    let mut decision = evaluate(
        &PolicySet::builtin(),
        DecisionPoint::Promote,
        &input(fixture("bad")),
    )
    .unwrap();
    // The time of evaluation and the pack's digest change without the shape changing.
    decision.evaluated_at = "[evaluated_at]".into();
    decision.bundle_digest = "[bundle_digest]".into();
    insta::assert_json_snapshot!(decision);
}

#[test]
fn a_policy_set_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync + Clone + 'static>(_: &T) {}
    let set = PolicySet::builtin();
    shared(&set);
    let handle = std::thread::spawn(move || {
        evaluate(&set, DecisionPoint::Release, &input(fixture("good"))).map(|d| d.allow)
    });
    assert!(handle.join().unwrap().unwrap());
}
