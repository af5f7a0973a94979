//! Converting other CI systems' configuration into Slipway pipelines.
//!
//! A conversion never guesses silently: everything that maps onto a Slipway feature with a
//! difference worth knowing becomes a [`NoteKind::Translated`] note, and everything that could
//! not be carried over becomes a [`NoteKind::Untranslated`] note, with the position in the
//! input and, where there is one, a suggestion. The converted pipeline always lints without
//! errors, so the user can start from it and work through the notes.

mod emit;
pub mod github_actions;
mod translate;

use serde::Serialize;

/// The result of a conversion: the pipeline file and what the user should know about it.
#[derive(Debug, Clone, Serialize)]
pub struct Conversion {
    /// The converted `slipway.yml`.
    pub pipeline_yaml: String,
    /// Notes in input order (by line, then column).
    pub notes: Vec<Note>,
}

impl Conversion {
    /// Whether everything was carried over: no [`NoteKind::Untranslated`] note.
    pub fn is_complete(&self) -> bool {
        !self.notes.iter().any(|n| n.kind == NoteKind::Untranslated)
    }
}

/// One remark about the conversion, positioned in the input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// 1-based line in the input.
    pub line: usize,
    /// 1-based column (in characters) in the input.
    pub column: usize,
    pub kind: NoteKind,
    pub message: String,
    /// What to do about it, when there is something to do.
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    /// Mapped onto a Slipway feature; worth knowing, nothing to do.
    Translated,
    /// Could not be converted: the user must act.
    Untranslated,
}

/// The input is not a workflow that can be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ImportError {
    /// 1-based line in the input.
    pub line: usize,
    /// 1-based column (in characters) in the input.
    pub column: usize,
    pub message: String,
}
