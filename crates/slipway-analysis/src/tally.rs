//! Measurements tallied into the outcome of one analysis run, by Argo Rollouts' rules.

use crate::measure::{Measurement, Verdict};
use crate::template::Template;
use serde::{Deserialize, Serialize};

/// How an analysis run stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Outcome {
    /// More measurements are due.
    Running,
    /// `count` measurements were taken without crossing a limit.
    Succeeded,
    /// Too many failed measurements, or too many errors in a row: roll back.
    Failed {
        /// Which limit was crossed, with the counts.
        reason: String,
    },
    /// Too many inconclusive measurements: pause for a human to decide.
    Inconclusive {
        /// The inconclusive count and the limit.
        reason: String,
    },
}

impl Outcome {
    /// Whether the run is over.
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Running)
    }
}

/// One analysis run: the measurements so far and the limits they are held to.
///
/// The rules, checked after every measurement in this order:
/// 1. more failed measurements than `failure-limit` → [`Outcome::Failed`];
/// 2. more errors in a row than `consecutive-error-limit` → [`Outcome::Failed`] (the reason
///    says "errors"); any measurement that is not an error resets the streak;
/// 3. more inconclusive measurements than `inconclusive-limit` → [`Outcome::Inconclusive`]
///    (the controller pauses for a human);
/// 4. `count` measurements that were not errors → [`Outcome::Succeeded`].
///
/// Errors do not count towards `count` (as Argo Rollouts' `Count` excludes them), so an
/// analysis never succeeds on measurements it could not take. Once final, the outcome does
/// not change: later measurements are ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    analysis: String,
    count: u32,
    failure_limit: u32,
    inconclusive_limit: u32,
    consecutive_error_limit: u32,
    taken: u32,
    passed: u32,
    failed: u32,
    inconclusive: u32,
    errors: u32,
    consecutive_errors: u32,
    last_error: Option<String>,
    /// The explanation of the latest failed measurement: the reason names the value.
    last_failure: Option<String>,
    /// The explanation of the latest inconclusive measurement.
    last_inconclusive: Option<String>,
    outcome: Outcome,
}

impl Tally {
    /// An analysis run of `template` with no measurement yet.
    pub fn new(template: &Template) -> Tally {
        Tally {
            analysis: template.name.clone(),
            count: template.count.max(1),
            failure_limit: template.failure_limit,
            inconclusive_limit: template.inconclusive_limit,
            consecutive_error_limit: template.consecutive_error_limit,
            taken: 0,
            passed: 0,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            consecutive_errors: 0,
            last_error: None,
            last_failure: None,
            last_inconclusive: None,
            outcome: Outcome::Running,
        }
    }

    /// Counts one measurement and returns the outcome after it.
    pub fn record(&mut self, measurement: &Measurement) -> Outcome {
        if self.outcome.is_final() {
            return self.outcome.clone();
        }
        match measurement.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => {
                self.failed += 1;
                self.last_failure = Some(measurement.explanation.clone());
            }
            Verdict::Inconclusive => {
                self.inconclusive += 1;
                self.last_inconclusive = Some(measurement.explanation.clone());
            }
            Verdict::Error => {
                self.errors += 1;
                self.consecutive_errors += 1;
                self.last_error = Some(measurement.explanation.clone());
            }
        }
        if measurement.verdict != Verdict::Error {
            self.taken += 1;
            self.consecutive_errors = 0;
        }
        self.outcome = self.assess();
        self.outcome.clone()
    }

    /// The outcome so far.
    pub fn outcome(&self) -> Outcome {
        self.outcome.clone()
    }

    /// Measurements that were not errors (what `count` counts).
    pub fn taken(&self) -> u32 {
        self.taken
    }

    /// Measurements that passed.
    pub fn passed(&self) -> u32 {
        self.passed
    }

    /// Measurements that failed.
    pub fn failed(&self) -> u32 {
        self.failed
    }

    /// Measurements that were inconclusive.
    pub fn inconclusive(&self) -> u32 {
        self.inconclusive
    }

    /// Measurements that were errors, in all.
    pub fn errors(&self) -> u32 {
        self.errors
    }

    /// Errors since the last measurement that was not one.
    pub fn consecutive_errors(&self) -> u32 {
        self.consecutive_errors
    }

    fn assess(&self) -> Outcome {
        let analysis = &self.analysis;
        if self.failed > self.failure_limit {
            return Outcome::Failed {
                reason: format!(
                    "analysis `{analysis}`: {} of {} measurements failed, more than the failure-limit of {}; last: {}",
                    self.failed,
                    self.taken,
                    self.failure_limit,
                    self.last_failure.as_deref().unwrap_or("no explanation")
                ),
            };
        }
        if self.consecutive_errors > self.consecutive_error_limit {
            return Outcome::Failed {
                reason: format!(
                    "analysis `{analysis}`: {} errors in a row, more than the consecutive-error-limit of {}; last: {}",
                    self.consecutive_errors,
                    self.consecutive_error_limit,
                    self.last_error.as_deref().unwrap_or("no explanation")
                ),
            };
        }
        if self.inconclusive > self.inconclusive_limit {
            return Outcome::Inconclusive {
                reason: format!(
                    "analysis `{analysis}`: {} of {} measurements inconclusive, more than the inconclusive-limit of {}; last: {}",
                    self.inconclusive,
                    self.taken,
                    self.inconclusive_limit,
                    self.last_inconclusive
                        .as_deref()
                        .unwrap_or("no explanation")
                ),
            };
        }
        if self.taken >= self.count {
            return Outcome::Succeeded;
        }
        Outcome::Running
    }
}
