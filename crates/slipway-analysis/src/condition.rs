//! `success` and `failure` conditions: expressions of the pipeline's own language over the
//! measured `value` and the number of `samples` behind it.

use slipway_pipeline::expr::{self, EvalError, Expr, ExprKind, Scope, Value};

/// The names a condition may read.
pub const CONDITION_VARIABLES: &[&str] = &["value", "samples"];

/// Functions that make sense over a number; the status functions and `hashFiles` belong to jobs.
const CONDITION_FUNCTIONS: &[&str] = &["startsWith", "endsWith", "contains"];

/// A parsed condition, e.g. `value < 0.01` or `${{ value <= 250 && samples >= 100 }}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    expr: Expr,
}

/// Why a condition cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    /// What is wrong, naming the offending part.
    pub message: String,
    /// Byte offset where the offending part starts within the condition text.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
}

impl Condition {
    /// Parses a condition written bare or wrapped whole in `${{ }}`. It may read only `value`
    /// and `samples`, and call only `startsWith`, `endsWith` and `contains`.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let (expr, offset) = expr::parse_condition(text).map_err(|error| ConditionError {
            message: match error.help {
                Some(help) => format!("{} ({help})", error.message),
                None => error.message,
            },
            start: error.start,
            end: error.end,
        })?;
        let mut problem = None;
        expr::walk(&expr, &mut |node| {
            if problem.is_some() {
                return;
            }
            let message = match &node.kind {
                ExprKind::Context(name) if !CONDITION_VARIABLES.contains(&name.as_str()) => {
                    format!("`{name}` is not known here; a condition reads `value` and `samples`")
                }
                ExprKind::Call(name, _) if !CONDITION_FUNCTIONS.contains(&name.as_str()) => {
                    format!(
                        "`{name}()` cannot be used in an analysis condition; use comparisons over `value` and `samples`"
                    )
                }
                _ => return,
            };
            problem = Some(ConditionError {
                message,
                start: node.start + offset,
                end: node.end + offset,
            });
        });
        match problem {
            Some(problem) => Err(problem),
            None => Ok(Condition {
                text: text.trim().to_string(),
                expr,
            }),
        }
    }

    /// The condition as written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the condition holds for a measured value. Callers pass finite values only:
    /// a missing or non-finite measurement is inconclusive before any condition is asked.
    pub fn holds(&self, value: f64, samples: u64) -> Result<bool, EvalError> {
        let mut scope = Scope::default();
        scope
            .contexts
            .insert("value".to_string(), Value::Number(value));
        // Sample counts stay far below 2^53, where f64 is exact.
        scope
            .contexts
            .insert("samples".to_string(), Value::Number(samples as f64));
        Ok(scope.eval(&self.expr)?.truthy())
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_the_value() {
        let condition = Condition::parse("value < 0.01").unwrap();
        assert!(condition.holds(0.0, 10).unwrap());
        assert!(condition.holds(0.0099, 10).unwrap());
        assert!(!condition.holds(0.01, 10).unwrap());
        assert!(!condition.holds(0.5, 10).unwrap());
    }

    #[test]
    fn reads_samples_and_accepts_the_wrapped_form() {
        let condition = Condition::parse("${{ value <= 250 && samples >= 100 }}").unwrap();
        assert!(condition.holds(250.0, 100).unwrap());
        assert!(!condition.holds(250.0, 99).unwrap());
        assert!(!condition.holds(251.0, 1000).unwrap());
        assert_eq!(condition.text(), "${{ value <= 250 && samples >= 100 }}");
    }

    #[test]
    fn rejects_unknown_names_with_their_position() {
        let error = Condition::parse("valu < 1").unwrap_err();
        assert!(error.message.contains("`valu` is not known"), "{error}");
        assert_eq!((error.start, error.end), (0, 4));
        let error = Condition::parse("${{ value < 1 && event.branch == 'x' }}").unwrap_err();
        assert!(error.message.contains("`event`"), "{error}");
        assert_eq!(error.start, 17);
    }

    #[test]
    fn rejects_job_functions_and_bad_syntax() {
        let error = Condition::parse("success()").unwrap_err();
        assert!(
            error.message.contains("`success()` cannot be used"),
            "{error}"
        );
        let error = Condition::parse("value <").unwrap_err();
        assert!(!error.message.is_empty());
    }
}
