//! Rendering diagnostics for people (source line and caret) and for machines (JSON).

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use slipway_pipeline::source::SourceMap;
use slipway_pipeline::{Diagnostic, Severity};
use std::fmt;
use std::io::IsTerminal;

/// One diagnostic with its source, in the shape miette renders.
struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let code = self.diagnostic.code;
        Some(Box::new(format!("{} {}", code.code(), code.name())))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span;
        let len = span.len().max(usize::from(
            span.is_empty() && (span.start as usize) < self.source.inner().len(),
        ));
        let label =
            LabeledSpan::new_with_span(None, SourceSpan::new((span.start as usize).into(), len));
        Some(Box::new(std::iter::once(label)))
    }
}

/// Renders diagnostics with the source line and a caret under the problem.
pub fn human(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_context_lines(1);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let file = sources.get(diagnostic.span.source);
        let rendered = Rendered {
            diagnostic,
            source: NamedSource::new(&file.name, file.text.clone()).with_language("yaml"),
        };
        if handler.render_report(&mut out, &rendered).is_err() {
            let located = diagnostic.located(sources);
            out.push_str(&short_line(&located));
            out.push('\n');
        }
    }
    out
}

pub fn short_line(d: &slipway_pipeline::LocatedDiagnostic) -> String {
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let help = d
        .help
        .as_ref()
        .map(|h| format!(" (help: {h})"))
        .unwrap_or_default();
    format!(
        "{}:{}:{}: {severity}[{}]: {}{help}",
        d.file, d.line, d.column, d.code, d.message
    )
}

/// `3 errors, 1 warning`.
pub fn counts(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
