//! SemVer 2.0.0 (<https://semver.org/spec/v2.0.0.html>), as crates.io and npm order versions.
//!
//! Parsing is the `semver` crate's; the ordering is SemVer §11: major, minor and patch
//! numerically, then a version with a pre-release below the same version without one, and
//! pre-release identifiers field by field (numeric ones numerically and below alphanumeric
//! ones). Build metadata (`+...`) is ignored, so `1.0.0+a == 1.0.0+b`.
//!
//! Two liberties, both read by npm too: a leading `v`, and a partial version of only digits
//! (`1`, `1.2`, and OSV's `introduced: "0"`) standing for the missing numbers as zeros.

use ::semver::Prerelease;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct SemverKey {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Prerelease,
}

pub(super) fn parse(text: &str) -> Result<SemverKey, String> {
    let unprefixed = text.strip_prefix('v').unwrap_or(text);
    let padded;
    let full = match unprefixed.split('.').count() {
        1 | 2 if unprefixed.split('.').all(super::number::is_digits) => {
            padded = format!(
                "{unprefixed}{}",
                ".0".repeat(3 - unprefixed.split('.').count())
            );
            padded.as_str()
        }
        _ => unprefixed,
    };
    let version = ::semver::Version::parse(full).map_err(|error| error.to_string())?;
    Ok(SemverKey {
        major: version.major,
        minor: version.minor,
        patch: version.patch,
        pre: version.pre,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn partial_versions_pad_with_zeros_and_build_metadata_is_ignored() {
        assert_eq!(parse("0").unwrap(), parse("0.0.0").unwrap());
        assert_eq!(parse("1.2").unwrap(), parse("v1.2.0").unwrap());
        assert_eq!(parse("1.0.0+a").unwrap(), parse("1.0.0+b").unwrap());
        assert!(parse("1.0.0-rc.1").unwrap() < parse("1.0.0").unwrap());
        assert!(parse("1.2-rc.1").is_err());
        assert!(parse("01.2.3").is_err());
    }
}
