//! Tallying measurements into an outcome: failure, inconclusive and consecutive-error limits,
//! and `count`, by Argo Rollouts' rules.

mod common;

use common::template_from;
use slipway_analysis::{Measurement, Outcome, Tally, Template, Verdict};

fn analysis(limits: &str) -> Template {
    let yaml = format!(
        "version: 1\njobs:\n  build:\n    steps:\n      - run: make\nanalysis:\n  errors:\n    provider: proxy\n    metric: error_rate\n    success: \"value < 0.01\"\n{limits}"
    );
    template_from(&yaml, "errors")
}

fn measurement(verdict: Verdict) -> Measurement {
    Measurement {
        analysis: "errors".into(),
        value: None,
        samples: 0,
        verdict,
        condition: String::new(),
        explanation: format!("a {verdict} measurement"),
        at: "2026-01-01T00:00:00.000Z".into(),
        details: serde_json::Value::Null,
    }
}

/// Records the verdicts in order and returns the outcome after each.
fn run(template: &Template, verdicts: &[Verdict]) -> Vec<Outcome> {
    let mut tally = Tally::new(template);
    verdicts
        .iter()
        .map(|v| tally.record(&measurement(*v)))
        .collect()
}

use Verdict::{Error, Fail, Inconclusive, Pass};

#[test]
fn succeeds_after_count_passing_measurements() {
    let template = analysis("    count: 3\n");
    let outcomes = run(&template, &[Pass, Pass, Pass]);
    assert_eq!(
        outcomes,
        vec![Outcome::Running, Outcome::Running, Outcome::Succeeded]
    );
}

#[test]
fn default_limits_fail_on_the_first_failure_and_pause_on_the_first_inconclusive() {
    let template = analysis("    count: 5\n");
    let outcomes = run(&template, &[Pass, Fail]);
    assert_eq!(
        outcomes.last().unwrap(),
        &Outcome::Failed {
            reason:
                "analysis `errors`: 1 of 2 measurements failed, more than the failure-limit of 0; last: a fail measurement"
                    .into()
        }
    );
    let outcomes = run(&template, &[Inconclusive]);
    assert_eq!(
        outcomes,
        vec![Outcome::Inconclusive {
            reason: "analysis `errors`: 1 of 1 measurements inconclusive, more than the inconclusive-limit of 0; last: a inconclusive measurement".into()
        }]
    );
}

#[test]
fn failures_within_the_limit_still_succeed() {
    let template = analysis("    count: 4\n    failure-limit: 1\n    inconclusive-limit: 1\n");
    let outcomes = run(&template, &[Fail, Inconclusive, Pass, Pass]);
    assert_eq!(outcomes.last().unwrap(), &Outcome::Succeeded);
    let outcomes = run(&template, &[Fail, Pass, Fail]);
    assert!(matches!(outcomes.last().unwrap(), Outcome::Failed { .. }));
}

#[test]
fn errors_do_not_count_and_too_many_in_a_row_fail() {
    let template = analysis("    count: 2\n    consecutive-error-limit: 2\n");
    // Errors interleaved with passes reset the streak; they do not count towards `count`.
    let outcomes = run(&template, &[Error, Error, Pass, Error, Error, Pass]);
    assert_eq!(
        outcomes,
        vec![
            Outcome::Running,
            Outcome::Running,
            Outcome::Running,
            Outcome::Running,
            Outcome::Running,
            Outcome::Succeeded
        ]
    );
    let outcomes = run(&template, &[Pass, Error, Error, Error]);
    assert_eq!(
        outcomes.last().unwrap(),
        &Outcome::Failed {
            reason: "analysis `errors`: 3 errors in a row, more than the consecutive-error-limit of 2; last: a error measurement".into()
        }
    );
}

#[test]
fn default_consecutive_error_limit_fails_on_the_fifth_error() {
    let template = analysis("    count: 10\n");
    let outcomes = run(&template, &[Error; 5]);
    assert!(outcomes[..4].iter().all(|o| *o == Outcome::Running));
    assert!(
        matches!(&outcomes[4], Outcome::Failed { reason } if reason.contains("5 errors in a row"))
    );
}

#[test]
fn a_final_outcome_does_not_change() {
    let template = analysis("    count: 1\n");
    let mut tally = Tally::new(&template);
    assert_eq!(tally.record(&measurement(Pass)), Outcome::Succeeded);
    assert_eq!(tally.record(&measurement(Fail)), Outcome::Succeeded);
    assert_eq!(tally.outcome(), Outcome::Succeeded);
    assert_eq!((tally.taken(), tally.passed(), tally.failed()), (1, 1, 0));
}

#[test]
fn outcomes_serialise_with_their_state() {
    let failed = Outcome::Failed {
        reason: "too slow".into(),
    };
    assert_eq!(
        serde_json::to_string(&failed).unwrap(),
        r#"{"state":"failed","reason":"too slow"}"#
    );
    assert_eq!(
        serde_json::to_string(&Outcome::Running).unwrap(),
        r#"{"state":"running"}"#
    );
}
