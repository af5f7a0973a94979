//! Plans: levels, matrix expansion, event filters, path filters ("not affected" satisfies
//! dependents), condition skips (propagate), and the critical path.

use slipway_pipeline::plan::{Event, EventKind, Plan, PlanInput, SkipKind, plan};
use slipway_pipeline::{NoTemplates, load};

fn event(kind: EventKind, git_ref: &str) -> Event {
    Event {
        kind,
        git_ref: git_ref.into(),
        sha: "a".repeat(40),
        actor: "dev@example.org".into(),
        base: None,
    }
}

fn plan_of(text: &str, event: &Event, changed: Option<&[&str]>) -> Plan {
    let loaded = load("p.yml", text, &NoTemplates);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let changed: Option<Vec<String>> = changed.map(|c| c.iter().map(|s| s.to_string()).collect());
    plan(
        &loaded.pipeline,
        &PlanInput {
            event,
            changed_files: changed.as_deref(),
        },
    )
}

fn job<'p>(plan: &'p Plan, id: &str) -> &'p slipway_pipeline::plan::PlannedJob {
    plan.jobs
        .iter()
        .find(|j| j.id == id)
        .unwrap_or_else(|| panic!("no job {id} in {:#?}", plan.jobs))
}

const PIPELINE: &str = r#"
version: 1
on:
  push: { branches: [main, "release/*"], paths-ignore: ["docs/**"] }
  pull_request: { branches: [main] }
jobs:
  fmt:
    stage: validate
    steps: [{ run: cargo fmt --check }]
  unit:
    needs: [fmt]
    matrix: { rust: [stable, beta] }
    steps: [{ run: cargo test }]
  web:
    needs: [fmt]
    paths: ["web/**"]
    steps: [{ run: npm test }]
  e2e:
    stage: integration
    needs: [web, unit]
    steps: [{ run: ./e2e.sh }]
  deploy:
    stage: deploy
    needs: [e2e]
    if: ${{ event.branch == 'main' && success() }}
    steps: [{ run: ./deploy.sh }]
  after-deploy:
    needs: [deploy]
    steps: [{ run: ./smoke.sh }]
  report:
    needs: [deploy]
    if: always()
    steps: [{ run: ./report.sh }]
"#;

#[test]
fn levels_matrix_and_critical_path() {
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Push, "refs/heads/main"),
        Some(&["src/lib.rs", "web/app.ts"]),
    );
    let ids: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "fmt",
            "unit (rust=stable)",
            "unit (rust=beta)",
            "web",
            "e2e",
            "deploy",
            "after-deploy",
            "report"
        ]
    );
    assert_eq!(job(&plan, "e2e").level, 2);
    assert_eq!(
        job(&plan, "e2e").needs,
        ["web", "unit (rust=stable)", "unit (rust=beta)"]
    );
    assert!(plan.jobs.iter().all(|j| j.runs), "{:#?}", plan.jobs);
    assert_eq!(
        plan.critical_path,
        ["fmt", "web", "e2e", "deploy", "after-deploy"]
    );
}

#[test]
fn a_job_not_affected_by_the_change_satisfies_its_dependents() {
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Push, "refs/heads/main"),
        Some(&["src/lib.rs"]),
    );
    let web = job(&plan, "web");
    assert!(!web.runs);
    assert_eq!(web.skip_kind, Some(SkipKind::NotAffected));
    assert_eq!(
        web.skip_reason.as_deref(),
        Some("not affected: no changed file matches `paths`")
    );
    // e2e needs web; web was not affected, so e2e still runs.
    assert!(job(&plan, "e2e").runs);
    assert!(job(&plan, "deploy").runs);
}

#[test]
fn a_condition_skip_propagates_unless_the_dependent_says_otherwise() {
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Push, "refs/heads/release/1.2"),
        Some(&["src/lib.rs"]),
    );
    let deploy = job(&plan, "deploy");
    assert_eq!(deploy.skip_kind, Some(SkipKind::Condition));
    assert_eq!(
        deploy.skip_reason.as_deref(),
        Some("if: `${{ event.branch == 'main' && success() }}` is false")
    );
    let after = job(&plan, "after-deploy");
    assert!(!after.runs);
    assert_eq!(
        after.skip_reason.as_deref(),
        Some("need `deploy` is skipped")
    );
    // `if: always()` runs whatever happened to its needs.
    assert!(job(&plan, "report").runs);
}

#[test]
fn event_filters() {
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Push, "refs/heads/feature/x"),
        Some(&["src/lib.rs"]),
    );
    assert!(
        plan.jobs
            .iter()
            .all(|j| j.skip_kind == Some(SkipKind::EventFilter))
    );
    assert_eq!(
        plan.jobs[0].skip_reason.as_deref(),
        Some("event filter: branch `feature/x` matches no `on.push.branches`")
    );
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Schedule, "refs/heads/main"),
        None,
    );
    assert_eq!(
        plan.jobs[0].skip_reason.as_deref(),
        Some("event filter: `on` has no `schedule`")
    );
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Push, "refs/heads/main"),
        Some(&["docs/a.md"]),
    );
    assert!(
        plan.jobs
            .iter()
            .all(|j| j.skip_kind == Some(SkipKind::NotAffected))
    );
    let mut pr = event(EventKind::PullRequest, "refs/heads/feature/x");
    pr.base = Some("main".into());
    let plan = plan_of(PIPELINE, &pr, Some(&["src/lib.rs"]));
    assert!(job(&plan, "fmt").runs);
    // `deploy` asks for event.branch == 'main', and a pull request's branch is its head.
    assert!(!job(&plan, "deploy").runs);
}

#[test]
fn unknown_changes_never_skip_by_path() {
    let plan = plan_of(PIPELINE, &event(EventKind::Push, "refs/heads/main"), None);
    assert!(job(&plan, "web").runs);
}

#[test]
fn tags_and_failure_only_jobs() {
    let text = r#"
version: 1
on:
  push: { tags: ["v*"] }
jobs:
  build:
    steps: [{ run: make }]
  on-failure:
    needs: [build]
    if: failure()
    steps: [{ run: ./page.sh }]
"#;
    let plan = plan_of(text, &event(EventKind::Push, "refs/tags/v1.0.0"), None);
    assert!(job(&plan, "build").runs);
    assert!(!job(&plan, "on-failure").runs);
    assert_eq!(plan.critical_path, ["build"]);
    let plan = plan_of(text, &event(EventKind::Push, "refs/heads/main"), None);
    assert_eq!(
        job(&plan, "build").skip_reason.as_deref(),
        Some("event filter: `on.push` lists only tags, and `main` is a branch")
    );
}

#[test]
fn dot_output_marks_skips_and_the_critical_path() {
    let plan = plan_of(
        PIPELINE,
        &event(EventKind::Push, "refs/heads/main"),
        Some(&["src/lib.rs"]),
    );
    let dot = slipway_pipeline::plan::to_dot(&plan);
    assert!(dot.starts_with("digraph pipeline {"));
    assert!(
        dot.contains(r#""web" [label="web\ntest", style="rounded,dashed""#),
        "{dot}"
    );
    assert!(dot.contains(r#""unit (rust=beta)" -> "e2e";"#), "{dot}");
    assert!(dot.contains("\"fmt\" -> \"unit (rust=stable)\" [penwidth=2];"));
}
