//! Lint diagnostics: a stable code, a severity, a span and an optional fix.

use crate::source::{SourceMap, Span};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $name:literal, $summary:literal; )*) => {
        /// Every diagnostic Slipway's pipeline checks can emit. Codes are a stable contract:
        /// never renumber, only add.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant ),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$( Code::$variant ),*];

            /// The stable code, e.g. `E012`.
            pub fn code(self) -> &'static str {
                match self { $( Code::$variant => $code ),* }
            }

            /// The stable kebab-case name, e.g. `unknown-job`.
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name ),* }
            }

            /// One line on what the check catches, for `docs/diagnostics.md` and `--explain`.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary ),* }
            }
        }
    };
}

codes! {
    YamlSyntax = "E001", "yaml-syntax", "The file is not valid YAML.";
    DuplicateKey = "E002", "duplicate-key", "A mapping names the same key twice; YAML parsers silently keep one of them.";
    TabIndentation = "E003", "tab-indentation", "A tab character is used for indentation, which YAML forbids.";
    UnknownKey = "E004", "unknown-key", "A key that the pipeline format does not define (often a typo).";
    WrongType = "E005", "wrong-type", "A value of the wrong type, e.g. a list where a string is expected.";
    InvalidValue = "E006", "invalid-value", "A value outside the allowed set or range.";
    UnknownStage = "E007", "unknown-stage", "A job names a stage that is not one of the cost classes.";
    InvalidDuration = "E008", "invalid-duration", "A duration that is not of the form `90s`, `15m` or `1h30m`.";
    InvalidCron = "E009", "invalid-cron", "A schedule or freeze window whose cron expression does not parse.";
    InvalidGlob = "E010", "invalid-glob", "A path filter whose glob pattern does not parse.";
    DuplicateJob = "E011", "duplicate-job", "Two jobs share one id.";
    UnknownJob = "E012", "unknown-job", "`needs` or an expression names a job that does not exist.";
    DependencyCycle = "E013", "dependency-cycle", "Jobs need each other in a cycle, so none of them can start.";
    ExpressionSyntax = "E014", "expression-syntax", "An expression inside `${{ }}` does not parse.";
    UnknownFunction = "E015", "unknown-function", "An expression calls a function that does not exist or with the wrong arguments.";
    UnknownContext = "E016", "unknown-context", "An expression reads a context or property that does not exist.";
    MatrixUnknownAxis = "E017", "matrix-unknown-axis", "A matrix `include`/`exclude` entry or a `matrix.*` reference names an axis the matrix does not define.";
    MatrixTooLarge = "E018", "matrix-too-large", "A matrix expands to more than 256 jobs.";
    UndeclaredSecret = "E019", "undeclared-secret", "A job uses a secret that is not declared under the top-level `secrets`.";
    StepWithoutRun = "E020", "step-without-run", "A step has nothing to run.";
    UnpinnedTemplate = "E021", "unpinned-template", "A git template is not pinned to a release tag `vX.Y.Z` or a full commit.";
    InvalidRetryOn = "E022", "invalid-retry-on", "`retry.on` names a failure class other than `infra`, `timeout` or an exit code.";
    UnknownEnvironment = "E023", "unknown-environment", "A `deploy` or `after` names an environment that is not defined.";
    EnvironmentCycle = "E024", "environment-cycle", "Environments come `after` each other in a cycle.";
    UnknownAnalysis = "E025", "unknown-analysis", "A rollout step uses an analysis template that is not defined under `analysis`.";
    MissingKey = "E026", "missing-key", "A required key is missing.";
    UnsupportedVersion = "E027", "unsupported-version", "The file declares a format version this Slipway does not read.";
    TemplateUnavailable = "E028", "template-unavailable", "An included template could not be read or fetched.";
    EmptyJob = "E029", "empty-job", "A job has neither steps nor a deploy.";
    InvalidName = "E030", "invalid-name", "A job, environment or analysis id uses characters outside `A-Za-z0-9_-`.";
    DuplicateArtifact = "E031", "duplicate-artifact", "More than one job declares the run's artifact; a run produces one.";
    LongDefaultTimeout = "W101", "long-default-timeout", "A job without a `timeout` falls back to a default over 60 minutes.";
    CancelWithoutGroup = "W102", "cancel-without-group", "`cancel-in-progress` without a `group` has nothing to cancel.";
    UnusedSecret = "W103", "unused-secret", "A declared secret is used by no job.";
    AlwaysFalseCondition = "W104", "constant-condition", "An `if` is a constant, so the job or step always or never runs.";
}

impl Code {
    pub fn severity(self) -> Severity {
        if self.code().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

/// One problem found in a pipeline file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// A fix suggestion, shown as `help:`.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Resolves the span to a file name and 1-based line and column.
    pub fn located(&self, sources: &SourceMap) -> LocatedDiagnostic {
        let file = sources.get(self.span.source);
        let (line, column) = file.line_col(self.span.start as usize);
        LocatedDiagnostic {
            severity: self.severity,
            code: self.code.code().to_string(),
            message: self.message.clone(),
            file: file.name.clone(),
            line,
            column,
            help: self.help.clone(),
        }
    }
}

/// A diagnostic as `lint --json` prints it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LocatedDiagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub help: Option<String>,
}

/// Sorts diagnostics by file, position and code so output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.span.source, d.span.start, d.code, d.message.clone()));
}

/// The closest candidate to `wrong`, when it is close enough to be a likely typo.
pub fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&wrong_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<_> = Code::ALL.iter().map(|c| c.code()).collect();
        let names: HashSet<_> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(codes.len(), Code::ALL.len());
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("neds", ["needs", "steps", "env"]), Some("needs"));
        assert_eq!(suggest("timout", ["timeout", "matrix"]), Some("timeout"));
        assert_eq!(suggest("zzz", ["needs", "steps"]), None);
    }
}
