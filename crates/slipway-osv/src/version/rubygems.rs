//! RubyGems versions, following `Gem::Version` (rubygems `lib/rubygems/version.rb`).
//!
//! A version matches `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`; each `-` is
//! read as `.pre.`. The text splits into segments, runs of digits (numbers) and runs of
//! letters (strings). A version with any letter is a pre-release. Comparison uses the
//! canonical segments: trailing zeros are dropped from the numeric part before the first string
//! and from the rest, so `1.0 == 1` and `1.0.a == 1.a`. Segments then compare in order, a
//! missing one counting as 0: numbers numerically, strings by bytes, and a string below a
//! number, so `1.0.a < 1.0 < 1.0.1`.

use super::number::{Number, is_digits};
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct GemKey(Vec<Segment>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Segment {
    Number(Number),
    Text(String),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(number) if number.is_zero())
    }
}

fn compare_segments(a: &Segment, b: &Segment) -> Ordering {
    match (a, b) {
        (Segment::Number(a), Segment::Number(b)) => a.cmp(b),
        (Segment::Text(a), Segment::Text(b)) => a.cmp(b),
        (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
        (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
    }
}

impl Ord for GemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number(Number::zero());
        let length = self.0.len().max(other.0.len());
        (0..length)
            .map(|index| {
                let left = self.0.get(index).unwrap_or(&zero);
                let right = other.0.get(index).unwrap_or(&zero);
                compare_segments(left, right)
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for GemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_part(text: &str, allow_hyphen: bool) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || (allow_hyphen && c == '-'))
}

/// Checks `Gem::Version::ANCHORED_VERSION_PATTERN`.
fn check_pattern(text: &str) -> Result<(), String> {
    let (release, prerelease) = match text.split_once('-') {
        Some((release, prerelease)) => (release, Some(prerelease)),
        None => (text, None),
    };
    let mut parts = release.split('.');
    let first = parts.next().unwrap_or_default();
    if !is_digits(first) {
        return Err("a version starts with a number".into());
    }
    if let Some(bad) = parts.find(|part| !is_part(part, false)) {
        return Err(format!(
            "segment {bad:?} must be ASCII letters and digits, separated by '.'"
        ));
    }
    if let Some(prerelease) = prerelease
        && let Some(bad) = prerelease.split('.').find(|part| !is_part(part, true))
    {
        return Err(format!(
            "pre-release part {bad:?} after '-' must be ASCII letters, digits and '-'"
        ));
    }
    Ok(())
}

/// `Gem::Version#_segments`: runs of digits and runs of letters.
fn segments(text: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
        rest = &rest[start..];
        let digits = rest.starts_with(|c: char| c.is_ascii_digit());
        let end = rest
            .find(|c: char| {
                if digits {
                    !c.is_ascii_digit()
                } else {
                    !c.is_ascii_alphabetic()
                }
            })
            .unwrap_or(rest.len());
        let (run, after) = rest.split_at(end);
        segments.push(if digits {
            Segment::Number(Number::from_digits(run))
        } else {
            Segment::Text(run.to_owned())
        });
        rest = after;
    }
    segments
}

/// `Gem::Version#canonical_segments`.
fn canonical(segments: Vec<Segment>) -> Vec<Segment> {
    let string_start = segments
        .iter()
        .position(|segment| matches!(segment, Segment::Text(_)))
        .unwrap_or(segments.len());
    let mut numeric = segments;
    let mut strings = numeric.split_off(string_start);
    for part in [&mut numeric, &mut strings] {
        while part.last().is_some_and(Segment::is_zero) {
            part.pop();
        }
    }
    numeric.extend(strings);
    numeric
}

pub(super) fn parse(text: &str) -> Result<GemKey, String> {
    check_pattern(text)?;
    let with_pre = text.replace('-', ".pre.");
    Ok(GemKey(canonical(segments(&with_pre))))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn prereleases_and_canonical_segments() {
        let v = |text| parse(text).unwrap();
        assert!(v("1.0.a") < v("1.0"));
        assert!(v("1.0") < v("1.0.1"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.a"), v("1.a"));
        assert_eq!(v("1.0-1"), v("1.0.pre.1"));
        assert!(v("1.0.b1") > v("1.0.a2"));
        assert!(parse("a.1").is_err());
        assert!(parse("1..2").is_err());
    }
}
