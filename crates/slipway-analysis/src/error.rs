//! Problems in an analysis template, each pointing at the value that causes it.

use slipway_pipeline::diagnostic::{Code, Diagnostic};
use slipway_pipeline::source::Span;

/// Why an analysis template from the pipeline file cannot be used. Every variant carries the
/// span of the offending value (or of the analysis name when a key is missing), so
/// [`AnalysisError::to_diagnostic`] renders it with file, line and column.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// A key the template needs is absent.
    #[error("analysis `{analysis}` needs `{key}`: {help}")]
    MissingKey {
        /// The analysis's name.
        analysis: String,
        /// The key in the file.
        key: &'static str,
        /// How to fix it.
        help: String,
        /// Where the problem is.
        span: Span,
    },
    /// A key has a value outside what it accepts.
    #[error("analysis `{analysis}`: invalid `{key}`: {message} ({help})")]
    InvalidValue {
        /// The analysis's name.
        analysis: String,
        /// The key in the file.
        key: &'static str,
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// Where the problem is.
        span: Span,
    },
    /// A `success` or `failure` condition does not parse.
    #[error("analysis `{analysis}`: `{key}` condition `{text}` does not parse: {message}")]
    Condition {
        /// The analysis's name.
        analysis: String,
        /// The key in the file.
        key: &'static str,
        /// The condition as written.
        text: String,
        /// What is wrong, naming the offending part.
        message: String,
        /// Where the condition is.
        span: Span,
    },
    /// A `{{ NAME }}` placeholder in a query or URL that nothing fills in.
    #[error("analysis `{analysis}`: unknown placeholder `{{{{ {name} }}}}` in `{key}` ({help})")]
    UnknownPlaceholder {
        /// The analysis's name.
        analysis: String,
        /// The key in the file.
        key: &'static str,
        /// The placeholder's name, e.g. `args.job`.
        name: String,
        /// How to fix it.
        help: String,
        /// Where the problem is.
        span: Span,
    },
}

impl AnalysisError {
    /// Where in the pipeline file the problem is.
    pub fn span(&self) -> Span {
        match self {
            AnalysisError::MissingKey { span, .. }
            | AnalysisError::InvalidValue { span, .. }
            | AnalysisError::Condition { span, .. }
            | AnalysisError::UnknownPlaceholder { span, .. } => *span,
        }
    }

    /// The problem as a pipeline diagnostic, so it renders like `slipway lint` output (resolve
    /// it with [`Diagnostic::located`] against the loaded pipeline's source map).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let (code, message, help) = match self {
            AnalysisError::MissingKey {
                analysis,
                key,
                help,
                ..
            } => (
                Code::MissingKey,
                format!("analysis `{analysis}` needs `{key}`"),
                Some(help.clone()),
            ),
            AnalysisError::InvalidValue {
                analysis,
                key,
                message,
                help,
                ..
            } => (
                Code::InvalidValue,
                format!("analysis `{analysis}`: invalid `{key}`: {message}"),
                Some(help.clone()),
            ),
            AnalysisError::Condition {
                analysis,
                key,
                message,
                ..
            } => (
                Code::ExpressionSyntax,
                format!("invalid `{key}` condition in analysis `{analysis}`: {message}"),
                None,
            ),
            AnalysisError::UnknownPlaceholder {
                analysis,
                key,
                name,
                help,
                ..
            } => (
                Code::InvalidValue,
                format!("analysis `{analysis}`: unknown placeholder `{{{{ {name} }}}}` in `{key}`"),
                Some(help.clone()),
            ),
        };
        Diagnostic::new(code, self.span(), message).with_help_opt(help)
    }
}
