//! NuGet versions, following NuGet.Versioning's `NuGetVersion` and `VersionComparer`
//! (<https://learn.microsoft.com/nuget/concepts/package-versioning>).
//!
//! A version is `MAJOR[.MINOR[.PATCH[.REVISION]]][-LABEL[.LABEL...]][+METADATA]`: up to four
//! numbers (missing ones are zero, leading zeros allowed: `1.01 == 1.1.0.0`), then SemVer 2
//! pre-release labels compared case-insensitively (numeric labels numerically and below
//! alphanumeric ones; no labels above any labels). Metadata is ignored.

use super::go::{Identifier, compare_prereleases};
use super::number::{Number, is_digits};
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct NuGetKey {
    numbers: [Number; 4],
    labels: Vec<Identifier>,
}

impl Ord for NuGetKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers
            .cmp(&other.numbers)
            .then_with(|| compare_prereleases(&self.labels, &other.labels))
    }
}

impl PartialOrd for NuGetKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn check_identifiers(text: &str, what: &str) -> Result<(), String> {
    for identifier in text.split('.') {
        if identifier.is_empty() {
            return Err(format!("{what} {text:?} has an empty part"));
        }
        if let Some(bad) = identifier
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "{what} {text:?} has {bad:?}; only ASCII letters, digits, '-' and '.' are allowed"
            ));
        }
    }
    Ok(())
}

pub(super) fn parse(text: &str) -> Result<NuGetKey, String> {
    let (rest, metadata) = match text.split_once('+') {
        Some((rest, metadata)) => (rest, Some(metadata)),
        None => (text, None),
    };
    if let Some(metadata) = metadata {
        check_identifiers(metadata, "metadata")?;
    }
    let (core, labels) = match rest.split_once('-') {
        Some((core, labels)) => (core, Some(labels)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 4 {
        return Err(format!("{core:?} has more than four numbers"));
    }
    let mut numbers: [Number; 4] = std::array::from_fn(|_| Number::zero());
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if !is_digits(part) {
            return Err(format!("{part:?} in {core:?} is not a number"));
        }
        *slot = Number::from_digits(part);
    }
    let labels = match labels {
        Some(labels) => {
            check_identifiers(labels, "pre-release label")?;
            labels
                .split('.')
                .map(|label| {
                    if is_digits(label) {
                        Identifier::Numeric(Number::from_digits(label))
                    } else {
                        Identifier::Alphanumeric(label.to_ascii_lowercase())
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    Ok(NuGetKey { numbers, labels })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn four_numbers_and_case_insensitive_labels() {
        assert_eq!(parse("1.0").unwrap(), parse("1.0.0.0").unwrap());
        assert_eq!(parse("1.01").unwrap(), parse("1.1.0").unwrap());
        assert!(parse("1.0.0.1").unwrap() > parse("1.0.0").unwrap());
        assert_eq!(
            parse("1.0.0-BETA").unwrap(),
            parse("1.0.0-beta+abc").unwrap()
        );
        assert!(parse("1.0.0-beta.2").unwrap() < parse("1.0.0-beta.10").unwrap());
        assert!(parse("1.0.0-rc").unwrap() < parse("1.0.0").unwrap());
        assert!(parse("1.0.0.0.0").is_err());
        assert!(parse("1.x").is_err());
    }
}
