//! Go module versions, following `golang.org/x/mod/semver` (<https://go.dev/ref/mod#versions>).
//!
//! A version is `vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`; `v1` and `v1.2` are shorthands
//! for `v1.0.0` and `v1.2.0`. The `v` is optional here because OSV's Go records omit it (and
//! write `introduced: "0"`). Numbers have no leading zeros and no size limit. Ordering is
//! SemVer's: pseudo-versions such as `v0.0.0-20220906165146-f3363e06e74c` are pre-releases
//! and sort by their timestamp, and build metadata, `+incompatible` included, is ignored.

use super::number::{Number, is_digits};
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct GoKey {
    major: Number,
    minor: Number,
    patch: Number,
    prerelease: Vec<Identifier>,
}

/// One dot-separated pre-release identifier; numeric ones sort first (SemVer §11.4.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Identifier {
    Numeric(Number),
    Alphanumeric(String),
}

impl Ord for GoKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.major, &self.minor, &self.patch)
            .cmp(&(&other.major, &other.minor, &other.patch))
            .then_with(|| compare_prereleases(&self.prerelease, &other.prerelease))
    }
}

impl PartialOrd for GoKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// SemVer §11.3–11.4: no pre-release sorts above any pre-release; otherwise field by field,
/// and a shorter list of equal leading fields sorts first.
pub(super) fn compare_prereleases(a: &[Identifier], b: &[Identifier]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

/// Reads `-a.b.c` style identifiers (without the `-`); `strict_numbers` rejects leading zeros.
pub(super) fn parse_identifiers(text: &str, what: &str) -> Result<Vec<Identifier>, String> {
    text.split('.')
        .map(|identifier| {
            if identifier.is_empty() {
                return Err(format!("{what} has an empty identifier"));
            }
            if let Some(bad) = identifier
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!(
                    "{what} identifier {identifier:?} has {bad:?}; only ASCII letters, digits and '-' are allowed"
                ));
            }
            if is_digits(identifier) {
                if identifier.len() > 1 && identifier.starts_with('0') {
                    return Err(format!(
                        "numeric {what} identifier {identifier:?} has a leading zero"
                    ));
                }
                Ok(Identifier::Numeric(Number::from_digits(identifier)))
            } else {
                Ok(Identifier::Alphanumeric(identifier.to_owned()))
            }
        })
        .collect()
}

fn parse_number(text: &str, what: &str) -> Result<Number, String> {
    if !is_digits(text) {
        return Err(format!("{what} {text:?} is not a number"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(format!("{what} {text:?} has a leading zero"));
    }
    Ok(Number::from_digits(text))
}

pub(super) fn parse(text: &str) -> Result<GoKey, String> {
    let unprefixed = text.strip_prefix('v').unwrap_or(text);
    let (rest, build) = match unprefixed.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (unprefixed, None),
    };
    if let Some(build) = build {
        for identifier in build.split('.') {
            if identifier.is_empty()
                || !identifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!(
                    "build metadata {build:?} must be dot-separated ASCII letters, digits and '-'"
                ));
            }
        }
    }
    let (core, prerelease) = match rest.split_once('-') {
        Some((core, prerelease)) => (core, Some(prerelease)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    if numbers.len() > 3 {
        return Err(format!("{core:?} has more than three numbers"));
    }
    if numbers.len() < 3 && (prerelease.is_some() || build.is_some()) {
        return Err("a pre-release or build needs all three numbers (vMAJOR.MINOR.PATCH)".into());
    }
    let number = |index: usize, what: &str| match numbers.get(index) {
        Some(text) => parse_number(text, what),
        None => Ok(Number::zero()),
    };
    Ok(GoKey {
        major: number(0, "major version")?,
        minor: number(1, "minor version")?,
        patch: number(2, "patch version")?,
        prerelease: match prerelease {
            Some(text) => parse_identifiers(text, "pre-release")?,
            None => Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn shorthands_prefix_and_build_metadata() {
        assert_eq!(parse("v1").unwrap(), parse("1.0.0").unwrap());
        assert_eq!(parse("v1.2").unwrap(), parse("v1.2.0").unwrap());
        assert_eq!(
            parse("v2.0.0+incompatible").unwrap(),
            parse("2.0.0").unwrap()
        );
        assert!(parse("0.0.0-20220906165146-f3363e06e74c").unwrap() < parse("0.0.1").unwrap());
        assert!(parse("v1.2-pre").is_err());
        assert!(parse("v01.2.3").is_err());
    }
}
