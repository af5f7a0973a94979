//! Unbounded decimal numbers, as the version schemes compare them.

use std::cmp::Ordering;

/// A non-negative decimal number of any length: its digits without leading zeros (`"0"` for
/// zero). Version numbers are compared numerically, and some ecosystems carry numbers longer
/// than any machine integer (dates, build stamps), so the digits are kept, not parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Number(String);

impl Number {
    /// The number written by `digits`, which holds ASCII digits only.
    pub(super) fn from_digits(digits: &str) -> Number {
        let trimmed = digits.trim_start_matches('0');
        Number(if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        })
    }

    pub(super) fn zero() -> Number {
        Number("0".to_owned())
    }

    pub(super) fn is_zero(&self) -> bool {
        self.0 == "0"
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether `text` is one or more ASCII digits.
pub(super) fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_whatever_their_length() {
        let n = Number::from_digits;
        assert_eq!(n("007"), n("7"));
        assert_eq!(n("000"), Number::zero());
        assert!(n("10") > n("9"));
        assert!(n("123456789012345678901234567890") > n("99999999999999999999"));
        assert!(n("0").is_zero());
    }
}
