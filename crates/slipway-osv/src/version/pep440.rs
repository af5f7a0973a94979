//! PEP 440 (<https://peps.python.org/pep-0440/>), as PyPI orders versions, with the legacy
//! fallback PyPI's advisory data needs.
//!
//! Valid PEP 440 versions are parsed, normalised and ordered by the `pep440_rs` crate: epochs
//! first, then the release numbers with trailing zeros insignificant (`1.0 == 1.0.0`), then
//! `.devN < aN < bN < rcN < (final) < .postN`, then local versions (`1.0 < 1.0+local`).
//! Spelling variants normalise as PEP 440 says (`1.0-1 == 1.0.post1`, `1.0alpha1 == 1.0a1`).
//!
//! PyPI also holds releases whose versions predate PEP 440 (`0.3m1`, `2.0.0-final`,
//! `2013-01-21T20:33:09+0100`), and advisories list them. Like OSV.dev, which parses PyPI
//! versions with `packaging_legacy`, such a text is read as a `LegacyVersion`: setuptools'
//! old `parse_version` key, sorting below every PEP 440 version. Only text with whitespace or
//! control characters is rejected.

use std::str::FromStr as _;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Pep440Key {
    /// A pre-PEP 440 version: `packaging`'s `_legacy_cmpkey` parts (epoch -1, so below all).
    Legacy(Vec<String>),
    Modern(pep440_rs::Version),
}

pub(super) fn parse(text: &str) -> Result<Pep440Key, String> {
    match pep440_rs::Version::from_str(text) {
        Ok(version) => Ok(Pep440Key::Modern(version)),
        Err(error) => {
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(error.to_string());
            }
            Ok(Pep440Key::Legacy(legacy_key(text)))
        }
    }
}

/// `packaging.version._parse_version_parts`: digit runs, letter runs, `.` and `-` are parts,
/// and so is any text between them; a few words are renamed so they sort as intended.
fn legacy_parts(text: &str) -> Vec<String> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Letter,
        Separator,
        Other,
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_ascii_lowercase() {
            Class::Letter
        } else if c == '.' || c == '-' {
            Class::Separator
        } else {
            Class::Other
        }
    };
    let lower = text.to_lowercase();
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_class = None;
    for c in lower.chars() {
        let next = class(c);
        let joins = current_class == Some(next) && next != Class::Separator;
        if !joins && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(c);
        current_class = Some(next);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    let mut parts: Vec<String> = pieces
        .into_iter()
        .filter_map(|piece| {
            let renamed = match piece.as_str() {
                "pre" | "preview" | "rc" => "c".to_owned(),
                "-" => "final-".to_owned(),
                "dev" => "@".to_owned(),
                _ => piece,
            };
            if renamed.is_empty() || renamed == "." {
                None
            } else if renamed.starts_with(|c: char| c.is_ascii_digit()) {
                Some(format!("{renamed:0>8}"))
            } else {
                Some(format!("*{renamed}"))
            }
        })
        .collect();
    parts.push("*final".to_owned());
    parts
}

/// `packaging.version._legacy_cmpkey` (without the constant epoch).
fn legacy_key(text: &str) -> Vec<String> {
    let mut key: Vec<String> = Vec::new();
    for part in legacy_parts(text) {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while key.last().is_some_and(|last| last == "*final-") {
                    key.pop();
                }
            }
            while key.last().is_some_and(|last| last == "00000000") {
                key.pop();
            }
        }
        key.push(part);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn normalised_spellings_are_equal() {
        assert_eq!(parse("1.0").unwrap(), parse("1.0.0").unwrap());
        assert_eq!(parse("1.0-1").unwrap(), parse("1.0.post1").unwrap());
        assert!(parse("1.0.dev0").unwrap() < parse("1.0a1").unwrap());
        assert!(parse("1!0.1").unwrap() > parse("2.0").unwrap());
        assert!(parse("not a version").is_err());
    }

    #[test]
    fn legacy_versions_sort_below_pep440_versions() {
        let legacy = parse("0.3m1").unwrap();
        assert!(legacy < parse("0.0.dev0").unwrap());
        assert!(parse("0.3m1").unwrap() < parse("0.3m2").unwrap());
        assert_eq!(parse("1.0.0-final").unwrap(), parse("1-final").unwrap());
    }
}
