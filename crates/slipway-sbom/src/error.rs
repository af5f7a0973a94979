//! The crate's error type: what went wrong, where, and how to fix it.

use std::path::PathBuf;

/// Why a scan, a parse or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file is not valid in its own syntax (JSON, TOML, YAML, XML or line format).
    #[error("{path}:{line}:{column}: {message} (hint: {hint})")]
    Syntax {
        /// The file, relative to the scanned directory.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the parser found wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A document setting given by the caller is malformed (a timestamp, a digest).
    #[error("invalid {what} `{value}`: {reason} (hint: {hint})")]
    Setting {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A file parsed but does not have the shape its format requires.
    #[error("{path}: {message} (hint: {hint})")]
    Invalid {
        /// The file, relative to the scanned directory.
        path: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl Error {
    pub(crate) fn syntax(
        path: &str,
        (line, column): (usize, usize),
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Syntax {
            path: path.to_string(),
            line,
            column,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn invalid(path: &str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.to_string(),
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A `serde_json` error, which carries its own line and column.
    pub(crate) fn json(path: &str, error: &serde_json::Error, hint: &str) -> Self {
        Error::syntax(
            path,
            (error.line().max(1), error.column().max(1)),
            strip_position(&error.to_string()),
            hint,
        )
    }

    /// A `toml` error, located through its byte span.
    pub(crate) fn toml(path: &str, text: &str, error: &toml::de::Error, hint: &str) -> Self {
        let position = error
            .span()
            .map_or((1, 1), |span| crate::text::line_col(text, span.start));
        Error::syntax(path, position, error.message().trim(), hint)
    }

    /// A `serde-saphyr` error, located by the YAML parser.
    pub(crate) fn yaml(path: &str, error: &serde_saphyr::Error, hint: &str) -> Self {
        let position = error.location().map_or((1, 1), |location| {
            (
                usize::try_from(location.line())
                    .unwrap_or(usize::MAX)
                    .max(1),
                usize::try_from(location.column())
                    .unwrap_or(usize::MAX)
                    .max(1),
            )
        });
        let message = error.to_string();
        let message = message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        Error::syntax(path, position, message, hint)
    }
}

/// `serde_json` appends " at line L column C"; the position goes in front instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}
