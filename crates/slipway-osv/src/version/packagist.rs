//! Composer (Packagist) versions: `composer/semver`'s `VersionParser::normalize`, then PHP's
//! `version_compare` on the normalised text, which is how Composer's `Comparator` orders them
//! (<https://getcomposer.org/doc/articles/versions.md>).
//!
//! Normalising reads `[v]MAJOR[.MINOR[.PATCH[.BUILD]]]` (missing numbers are 0; up to five
//! digits in MAJOR) or a date `YYYY[.MM[.DD...]]`, then an optional stability
//! (`stable`, `alpha`/`a`, `beta`/`b`, `RC`, `patch`/`pl`/`p`, any case) with optional numbers, then an
//! optional `dev`; build metadata (`+...`) is dropped. `version_compare` then orders
//! `dev < alpha < beta < RC < (a number or the end) < patch`, numbers numerically, and a
//! version that continues with a number above one that ends. Branch names (`dev-main`) are
//! not versions and are rejected.

use super::number::Number;
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct ComposerKey(Vec<Part>);

/// A part of PHP's canonical version: a number, or a special form by its `version_compare`
/// order (`dev` 0, `alpha` 1, `beta` 2, `RC` 3, `#` — a number — 4, `patch` 5; any other word
/// is -1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Part {
    Number(Number),
    Word(i8),
}

const NUMBER_FORM: i8 = 4;

fn word_order(word: &str) -> i8 {
    // `compare_special_version_forms` matches each form as a prefix, in this order.
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", NUMBER_FORM),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-1, |(_, order)| *order)
}

fn compare_parts(a: &Part, b: &Part) -> Ordering {
    match (a, b) {
        (Part::Number(a), Part::Number(b)) => a.cmp(b),
        (Part::Word(a), Part::Word(b)) => a.cmp(b),
        (Part::Number(_), Part::Word(b)) => NUMBER_FORM.cmp(b),
        (Part::Word(a), Part::Number(_)) => a.cmp(&NUMBER_FORM),
    }
}

/// How the remaining part of the longer version compares with the end of the shorter one.
fn compare_with_end(part: &Part) -> Ordering {
    match part {
        Part::Number(_) => Ordering::Greater,
        Part::Word(order) => order.cmp(&NUMBER_FORM),
    }
}

impl Ord for ComposerKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let length = self.0.len().max(other.0.len());
        (0..length)
            .map(|index| match (self.0.get(index), other.0.get(index)) {
                (Some(a), Some(b)) => compare_parts(a, b),
                (Some(a), None) => compare_with_end(a),
                (None, Some(b)) => compare_with_end(b).reverse(),
                (None, None) => Ordering::Equal,
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for ComposerKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Splits leading ASCII digits off `text`.
fn digits(text: &str) -> (&str, &str) {
    let end = text
        .bytes()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// The release numbers of the classical form: `MAJOR{1,5 digits}(.N){0,3}`.
fn classical(text: &str) -> Option<(Vec<Number>, &str)> {
    let (major, mut rest) = digits(text);
    if major.is_empty() || major.len() > 5 {
        return None;
    }
    let mut numbers = vec![Number::from_digits(major)];
    while numbers.len() < 4 {
        let Some(after_dot) = rest.strip_prefix('.') else {
            break;
        };
        let (number, after) = digits(after_dot);
        if number.is_empty() {
            break;
        }
        numbers.push(Number::from_digits(number));
        rest = after;
    }
    numbers.resize(4, Number::zero());
    Some((numbers, rest))
}

/// The date form: `YYYY([.:-]?DD){1,6}([.:-]?D{1,3}){0,2}`, read greedily; Composer turns each
/// separator into a `.`, so only separated runs become separate numbers.
fn date(text: &str) -> Option<(Vec<Number>, &str)> {
    let (year, _) = digits(text);
    if year.len() < 4 {
        return None;
    }
    let mut consumed = 4;
    for (count, shortest, longest) in [(6, 2, 2), (2, 1, 3)] {
        let mut taken = 0;
        while taken < count {
            let rest = &text[consumed..];
            let separator = usize::from(rest.starts_with(['.', ':', '-']));
            let (run, _) = digits(&rest[separator..]);
            if run.len() < shortest {
                break;
            }
            consumed += separator + run.len().min(longest);
            taken += 1;
        }
        if count == 6 && taken == 0 {
            return None;
        }
    }
    let (date, rest) = text.split_at(consumed);
    let numbers = date
        .split(['.', ':', '-'])
        .map(Number::from_digits)
        .collect();
    Some((numbers, rest))
}

/// `expandStability` and the modifier part of `VersionParser::normalize`.
fn modifier(text: &str) -> Result<Vec<Part>, String> {
    let mut rest = text.strip_prefix(['.', '_', '-']).unwrap_or(text);
    let mut parts = Vec::new();
    let mut is_stable = false;
    let lower = rest.to_ascii_lowercase();
    let stabilities = [
        ("stable", "stable"),
        ("beta", "beta"),
        ("b", "beta"),
        ("rc", "RC"),
        ("alpha", "alpha"),
        ("a", "alpha"),
        ("patch", "patch"),
        ("pl", "patch"),
        ("p", "patch"),
    ];
    if let Some((written, expanded)) = stabilities
        .iter()
        .find(|(written, _)| lower.starts_with(written))
    {
        is_stable = rest.starts_with("stable");
        rest = &rest[written.len()..];
        if !is_stable {
            parts.push(Part::Word(word_order(expanded)));
        }
        loop {
            let after_separator = rest.strip_prefix(['.', '-']).unwrap_or(rest);
            let (number, after) = digits(after_separator);
            if number.is_empty() {
                break;
            }
            if !is_stable {
                parts.push(Part::Number(Number::from_digits(number)));
            }
            rest = after;
        }
    }
    let dev = rest.strip_prefix(['.', '-']).unwrap_or(rest);
    let is_dev = dev.eq_ignore_ascii_case("dev");
    if !is_dev && !rest.is_empty() {
        return Err(format!(
            "unexpected {rest:?}; after the numbers Composer allows a stability (alpha, beta, RC, patch, stable) with numbers, and -dev"
        ));
    }
    // `normalize` returns a `stable` version before it looks at `-dev` or the numbers.
    if is_stable {
        return Ok(Vec::new());
    }
    if is_dev {
        parts.push(Part::Word(word_order("dev")));
    }
    Ok(parts)
}

pub(super) fn parse(text: &str) -> Result<ComposerKey, String> {
    if text.to_ascii_lowercase().starts_with("dev-") {
        return Err("a branch name (dev-...) is not an orderable version".into());
    }
    let without_build = match text.split_once('+') {
        Some((version, build)) if !build.is_empty() && !build.contains(char::is_whitespace) => {
            version
        }
        Some(_) => return Err("empty or malformed build metadata after '+'".into()),
        None => text,
    };
    let unprefixed = without_build
        .strip_prefix(['v', 'V'])
        .unwrap_or(without_build);
    if !unprefixed.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a version starts with a number".into());
    }
    let candidates = [classical(unprefixed), date(unprefixed)];
    let mut last_error = String::from("not a Composer version");
    for (numbers, rest) in candidates.into_iter().flatten() {
        match modifier(rest) {
            Ok(suffix) => {
                let mut parts: Vec<Part> = numbers.into_iter().map(Part::Number).collect();
                parts.extend(suffix);
                return Ok(ComposerKey(parts));
            }
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn stabilities_and_padding() {
        let v = |text| parse(text).unwrap();
        assert_eq!(v("1.0"), v("1.0.0.0"));
        assert_eq!(v("v1.2.3"), v("1.2.3+build"));
        assert_eq!(v("1.0.0-b2"), v("1.0.0-beta.2"));
        let ordered = [
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-beta",
            "1.0.0-beta2-dev",
            "1.0.0-beta2",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-p1",
            "1.0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0.0-stable"), v("1.0.0"));
        assert!(parse("dev-main").is_err());
        assert!(parse("1.0.0-foo").is_err());
    }
}
