//! Errors: each names the file (and the line and column of a syntax error) and says how to
//! go on.

use thiserror::Error;

/// What went wrong reading advisories or matching a version.
#[derive(Debug, Error)]
pub enum Error {
    /// The file is not valid JSON, YAML or TOML, or does not have the OSV shape.
    #[error(
        "{file}:{line}:{column}: not a valid OSV record ({format}): {message}; fix or remove the file"
    )]
    Syntax {
        /// The file, as given.
        file: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based column.
        column: usize,
        /// `JSON`, `YAML` or `TOML`.
        format: &'static str,
        /// What the parser said.
        message: String,
    },
    /// The file parsed but does not describe an advisory the way its format requires.
    #[error("{file}: {message}")]
    Invalid {
        /// The file, as given.
        file: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A zip archive could not be read.
    #[error("{path}: not a readable zip archive of OSV records: {message}")]
    Zip {
        /// The archive (and the entry, when one entry is broken).
        path: String,
        /// The reason.
        message: String,
    },
    /// Neither a range nor the `versions` list matched, and some ranges could not be
    /// evaluated: the answer is unknown rather than "not affected".
    #[error("cannot tell whether {package} {version} is affected by {advisory}: {}", reasons.join("; "))]
    Undecided {
        /// The advisory id.
        advisory: String,
        /// The package name.
        package: String,
        /// The version asked about.
        version: String,
        /// Why each skipped range was skipped.
        reasons: Vec<String>,
    },
}

/// The 1-based line and column of a byte offset in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.chars().count(), |newline| {
            before.get(newline + 1..).unwrap_or("").chars().count()
        })
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
