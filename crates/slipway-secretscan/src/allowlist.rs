//! The repository's allowlist: findings excused by fingerprint, by path glob or by rule, in a
//! YAML file (`.slipway/secrets-allow.yml` by default).
//!
//! ```yaml
//! fingerprints:
//!   - 3f1c0e5a9b7d2c4e6f8a0b1c2d3e4f5a
//!   - fingerprint: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
//!     reason: revoked key kept in a test fixture
//! paths:
//!   - tests/fixtures/**
//! rules:
//!   - generic-password
//! ```

use crate::error::Error;
use crate::paths::PathMatcher;
use crate::report::AllowedBy;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where [`Allowlist::load`] looks, relative to the repository root.
pub const DEFAULT_ALLOWLIST_PATH: &str = ".slipway/secrets-allow.yml";

/// Length of a fingerprint in hex characters.
const FINGERPRINT_LEN: usize = 32;

/// Findings to excuse rather than report.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    fingerprints: HashMap<String, Option<String>>,
    path_globs: Vec<(String, PathMatcher)>,
    rules: HashSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowlist {
    #[serde(default)]
    fingerprints: Vec<Spanned<RawFingerprint>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFingerprint {
    Plain(String),
    // YAML reads an all-digit fingerprint as a number; kept to say what is wrong with it.
    Number(f64),
    WithReason {
        fingerprint: String,
        #[serde(default)]
        reason: Option<String>,
    },
}

const SHAPE_HINT: &str = "the file is a mapping with optional `fingerprints:` (32-hex-character strings or `{fingerprint, reason}`), `paths:` (globs) and `rules:` (rule ids)";

impl Allowlist {
    /// An allowlist that excuses nothing.
    pub fn empty() -> Allowlist {
        Allowlist::default()
    }

    /// Reads the allowlist text of `file` (named in errors, which carry line and column).
    pub fn parse(file: &Path, text: &str) -> Result<Allowlist, Error> {
        let error_at = |location: &Location, message: String| Error::Allowlist {
            file: file.to_path_buf(),
            line: usize::try_from(location.line())
                .unwrap_or(usize::MAX)
                .max(1),
            column: usize::try_from(location.column())
                .unwrap_or(usize::MAX)
                .max(1),
            message,
        };
        if text.trim().is_empty() {
            return Ok(Allowlist::empty());
        }
        let raw: RawAllowlist = serde_saphyr::from_str(text).map_err(|error| {
            let (line, column) = error.location().map_or((1, 1), |location| {
                (
                    usize::try_from(location.line()).unwrap_or(usize::MAX).max(1),
                    usize::try_from(location.column())
                        .unwrap_or(usize::MAX)
                        .max(1),
                )
            });
            let message = error.without_snippet().to_string();
            let first_line = message.lines().next().unwrap_or_default().trim();
            let first_line = first_line
                .rfind(" at line ")
                .and_then(|index| first_line.get(..index))
                .unwrap_or(first_line);
            let message = if first_line.contains("RawFingerprint") {
                "a fingerprint entry must be a string of 32 hex characters or a mapping `{fingerprint, reason}`".to_string()
            } else {
                format!("{first_line}; {SHAPE_HINT}")
            };
            Error::Allowlist {
                file: file.to_path_buf(),
                line,
                column,
                message,
            }
        })?;
        let mut allowlist = Allowlist::empty();
        for entry in raw.fingerprints {
            let (fingerprint, reason) = match entry.value {
                RawFingerprint::Plain(fingerprint) => (fingerprint, None),
                RawFingerprint::Number(number) => (number.to_string(), None),
                RawFingerprint::WithReason {
                    fingerprint,
                    reason,
                } => (fingerprint, reason),
            };
            let fingerprint = fingerprint.trim().to_ascii_lowercase();
            if fingerprint.len() != FINGERPRINT_LEN
                || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(error_at(
                    &entry.referenced,
                    format!(
                        "{fingerprint:?} is not a fingerprint; copy the 32 hex characters of a finding's `fingerprint`"
                    ),
                ));
            }
            allowlist.fingerprints.insert(fingerprint, reason);
        }
        for glob in raw.paths {
            let matcher =
                PathMatcher::new(std::slice::from_ref(&glob.value)).map_err(|message| {
                    error_at(
                        &glob.referenced,
                        format!("{message}; write a glob such as `tests/fixtures/**` or `*.pem`"),
                    )
                })?;
            allowlist.path_globs.push((glob.value, matcher));
        }
        for rule in raw.rules {
            let id = rule.value.trim().to_string();
            if id.is_empty() {
                return Err(error_at(
                    &rule.referenced,
                    "empty rule id; write a rule id such as `generic-password`".into(),
                ));
            }
            allowlist.rules.insert(id);
        }
        Ok(allowlist)
    }

    /// Reads `file`; a missing file is an error (the caller named it).
    pub fn read(file: &Path) -> Result<Allowlist, Error> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        Allowlist::parse(file, &text)
    }

    /// Reads `<repo_root>/.slipway/secrets-allow.yml`; a missing file is an empty allowlist.
    pub fn load(repo_root: &Path) -> Result<Allowlist, Error> {
        let file: PathBuf = repo_root.join(DEFAULT_ALLOWLIST_PATH);
        match std::fs::read_to_string(&file) {
            Ok(text) => Allowlist::parse(&file, &text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Allowlist::empty()),
            Err(source) => Err(Error::Io { path: file, source }),
        }
    }

    /// Adds a fingerprint (with an optional reason).
    pub fn allow_fingerprint(&mut self, fingerprint: &str, reason: Option<String>) {
        self.fingerprints
            .insert(fingerprint.trim().to_ascii_lowercase(), reason);
    }

    /// Disables a rule.
    pub fn disable_rule(&mut self, rule: &str) {
        self.rules.insert(rule.to_string());
    }

    /// Whether nothing is excused (inline comments still are).
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty() && self.path_globs.is_empty() && self.rules.is_empty()
    }

    /// The rule ids this allowlist disables that are not in `known` (likely typos).
    pub fn unknown_rules<'a>(&'a self, known: &[crate::Rule]) -> Vec<&'a str> {
        let mut unknown: Vec<&str> = self
            .rules
            .iter()
            .filter(|id| !known.iter().any(|rule| &rule.id == *id))
            .map(String::as_str)
            .collect();
        unknown.sort_unstable();
        unknown
    }

    /// Why a finding is excused, if it is.
    pub(crate) fn excuse(&self, rule: &str, file: &str, fingerprint: &str) -> Option<AllowedBy> {
        if let Some(reason) = self.fingerprints.get(fingerprint) {
            return Some(AllowedBy::Fingerprint {
                reason: reason.clone(),
            });
        }
        if let Some((glob, _)) = self
            .path_globs
            .iter()
            .find(|(_, matcher)| matcher.is_match(file))
        {
            return Some(AllowedBy::Path { glob: glob.clone() });
        }
        if self.rules.contains(rule) {
            return Some(AllowedBy::Rule);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Allowlist, Error> {
        Allowlist::parse(Path::new(".slipway/secrets-allow.yml"), text)
    }

    #[test]
    fn reads_all_three_kinds() {
        let allowlist = parse(
            "fingerprints:\n  - 0123456789ABCDEF0123456789abcdef\n  - fingerprint: ffffffffffffffffffffffffffffffff\n    reason: fixture\npaths:\n  - tests/**\nrules: [generic-password]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            allowlist.excuse("x", "src/a.rs", "0123456789abcdef0123456789abcdef"),
            Some(AllowedBy::Fingerprint { reason: None })
        );
        assert_eq!(
            allowlist.excuse("x", "src/a.rs", "ffffffffffffffffffffffffffffffff"),
            Some(AllowedBy::Fingerprint {
                reason: Some("fixture".into())
            })
        );
        assert_eq!(
            allowlist.excuse("x", "tests/a/b.rs", "00000000000000000000000000000000"),
            Some(AllowedBy::Path {
                glob: "tests/**".into()
            })
        );
        assert_eq!(
            allowlist.excuse(
                "generic-password",
                "src/a.rs",
                "00000000000000000000000000000000"
            ),
            Some(AllowedBy::Rule)
        );
        assert_eq!(
            allowlist.excuse("x", "src/a.rs", "00000000000000000000000000000000"),
            None
        );
    }

    #[test]
    fn empty_text_is_empty() {
        assert!(parse("").map(|a| a.is_empty()).unwrap_or(false));
        assert!(
            parse("# nothing yet\n")
                .map(|a| a.is_empty())
                .unwrap_or(false)
        );
    }

    #[test]
    fn errors_carry_line_and_column() {
        let error = parse("fingerprints:\n  - not-a-fingerprint\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with(
                ".slipway/secrets-allow.yml:2:5: \"not-a-fingerprint\" is not a fingerprint"
            ),
            "{error}"
        );
        let error = parse("paths:\n  - ok/**\n  - \"a[b\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with(".slipway/secrets-allow.yml:3:5: invalid glob"),
            "{error}"
        );
        let error = parse("fingerprints: [\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with(".slipway/secrets-allow.yml:"), "{error}");
        let error = parse("rulez: [a]\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with(".slipway/secrets-allow.yml:1:1: unknown field"),
            "{error}"
        );
    }
}
