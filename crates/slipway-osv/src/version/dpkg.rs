//! Debian package versions, following dpkg's `parseversion` and `verrevcmp`
//! (deb-version(7), <https://www.debian.org/doc/debian-policy/ch-controlfields.html#version>).
//!
//! A version is `[EPOCH:]UPSTREAM[-REVISION]`: the epoch is a number (absent means 0), the
//! revision follows the last `-` (absent compares like `0`). Epochs compare numerically; the
//! upstream part and then the revision compare as alternating runs of non-digits and digits.
//! Non-digit runs compare character by character where `~` sorts before everything, even the
//! end of the run (`1.0~rc1 < 1.0`), letters before other characters; digit runs compare
//! numerically. Ubuntu uses the same rules.

use super::number::{Number, is_digits};
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct DpkgKey {
    epoch: Number,
    upstream: Vec<Run>,
    revision: Vec<Run>,
}

/// One non-digit run (as dpkg's sort weights) and the number after it. Trailing runs that are
/// empty with a zero number are dropped: dpkg compares them equal to the end of the string, so
/// dropping them makes equal versions structurally equal (and hash alike).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Run {
    weights: Vec<i32>,
    number: Number,
}

/// dpkg's `order()`: `~` first, then the end of a run, then letters, then everything else.
fn weight(byte: u8) -> i32 {
    if byte == b'~' {
        -1
    } else if byte.is_ascii_alphabetic() {
        i32::from(byte)
    } else {
        i32::from(byte) + 256
    }
}

fn runs(text: &str) -> Vec<Run> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let start = index;
        while index < bytes.len() && !bytes[index].is_ascii_digit() {
            index += 1;
        }
        let weights = bytes[start..index]
            .iter()
            .map(|&byte| weight(byte))
            .collect();
        let digits_start = index;
        while index < bytes.len() && bytes[index].is_ascii_digit() {
            index += 1;
        }
        runs.push(Run {
            weights,
            number: Number::from_digits(&text[digits_start..index]),
        });
    }
    while runs
        .last()
        .is_some_and(|run| run.weights.is_empty() && run.number.is_zero())
    {
        runs.pop();
    }
    runs
}

fn compare_weights(a: &[i32], b: &[i32]) -> Ordering {
    let length = a.len().max(b.len());
    (0..length)
        .map(|index| {
            let left = a.get(index).copied().unwrap_or(0);
            let right = b.get(index).copied().unwrap_or(0);
            left.cmp(&right)
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `verrevcmp`: a missing run compares as an empty run with the number 0.
fn compare_runs(a: &[Run], b: &[Run]) -> Ordering {
    let empty = Run {
        weights: Vec::new(),
        number: Number::zero(),
    };
    let length = a.len().max(b.len());
    (0..length)
        .map(|index| {
            let left = a.get(index).unwrap_or(&empty);
            let right = b.get(index).unwrap_or(&empty);
            compare_weights(&left.weights, &right.weights)
                .then_with(|| left.number.cmp(&right.number))
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl Ord for DpkgKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_runs(&self.upstream, &other.upstream))
            .then_with(|| compare_runs(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn check_characters(text: &str, what: &str, extra: &[char]) -> Result<(), String> {
    match text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(c)))
    {
        Some(bad) => Err(format!(
            "{what} {text:?} has {bad:?}; only ASCII letters, digits and {extra:?} are allowed"
        )),
        None => Ok(()),
    }
}

pub(super) fn parse(text: &str) -> Result<DpkgKey, String> {
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => {
            if !is_digits(epoch) {
                return Err(format!("epoch {epoch:?} is not a number"));
            }
            (Number::from_digits(epoch), rest)
        }
        None => (Number::zero(), text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => {
            if revision.is_empty() {
                return Err("the revision after the last '-' is empty".into());
            }
            (upstream, revision)
        }
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err("the upstream version is empty".into());
    }
    check_characters(upstream, "upstream version", &['.', '+', '~', '-'])?;
    check_characters(revision, "revision", &['.', '+', '~'])?;
    Ok(DpkgKey {
        epoch,
        upstream: runs(upstream),
        revision: runs(revision),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn tilde_epoch_and_missing_revision() {
        assert!(parse("1.0~rc1").unwrap() < parse("1.0").unwrap());
        assert!(parse("1:0.1").unwrap() > parse("9.9").unwrap());
        assert_eq!(parse("0:1.0").unwrap(), parse("1.0-0").unwrap());
        assert_eq!(parse("1.00").unwrap(), parse("1.0").unwrap());
        assert!(parse("1.0a").unwrap() < parse("1.0+").unwrap());
        assert!(parse("1.0-").is_err());
        assert!(parse("x:1.0").is_err());
        assert!(parse("1.0 beta").is_err());
    }
}
