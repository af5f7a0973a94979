//! Alpine package versions, following apk-tools 3's `src/version.c`
//! (<https://gitlab.alpinelinux.org/alpine/apk-tools>).
//!
//! A version is `DIGITS{.DIGITS}[LETTER]{_SUFFIX[DIGITS]}[~HASH][-rDIGITS]`, where a suffix is
//! one of `alpha beta pre rc` (pre-releases, below the plain version) or `cvs svn git hg p`
//! (above it). Versions compare token by token while both have a token of the same kind: the
//! first number numerically, later numbers numerically unless either has a leading zero (then
//! as strings, as Gentoo does), letters and commit hashes as strings, suffixes by the order
//! above, `-rN` numerically. When one version runs out or the kinds differ, a pre-release
//! suffix makes its version smaller, and otherwise the version whose next token comes later in
//! the grammar is smaller (`1.0 < 1.0.1`, `1.0 < 1.0-r1`, `1.0_rc1 < 1.0`, `1.0 < 1.0_p1`).
//! Texts apk's own `apk_version_validate` rejects are errors.

use super::number::Number;
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct ApkKey(Vec<Token>);

/// The suffixes in apk's order; the pre-release ones come before `None` (no suffix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

impl Suffix {
    fn from_name(name: &str) -> Option<Suffix> {
        Some(match name {
            "alpha" => Suffix::Alpha,
            "beta" => Suffix::Beta,
            "pre" => Suffix::Pre,
            "rc" => Suffix::Rc,
            "cvs" => Suffix::Cvs,
            "svn" => Suffix::Svn,
            "git" => Suffix::Git,
            "hg" => Suffix::Hg,
            "p" => Suffix::P,
            _ => return None,
        })
    }
}

/// A token; the variants are in the order of apk's `TOKEN_*` kinds, which decides the
/// comparison when two versions' next tokens are of different kinds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Token {
    InitialDigit(Number),
    /// A later number, kept as written: a leading zero switches it to string comparison.
    Digit(String),
    Letter(u8),
    Suffix(Suffix),
    SuffixNumber(Number),
    CommitHash(String),
    Revision(Number),
}

impl Token {
    fn kind(&self) -> u8 {
        match self {
            Token::InitialDigit(_) => 0,
            Token::Digit(_) => 1,
            Token::Letter(_) => 2,
            Token::Suffix(_) => 3,
            Token::SuffixNumber(_) => 4,
            Token::CommitHash(_) => 5,
            Token::Revision(_) => 6,
        }
    }

    /// `token_cmp` for two tokens of the same kind.
    fn compare_same_kind(&self, other: &Token) -> Ordering {
        match (self, other) {
            (Token::Digit(a), Token::Digit(b)) => {
                if a.starts_with('0') || b.starts_with('0') {
                    a.cmp(b)
                } else {
                    Number::from_digits(a).cmp(&Number::from_digits(b))
                }
            }
            (Token::InitialDigit(a), Token::InitialDigit(b))
            | (Token::SuffixNumber(a), Token::SuffixNumber(b))
            | (Token::Revision(a), Token::Revision(b)) => a.cmp(b),
            (Token::Letter(a), Token::Letter(b)) => a.cmp(b),
            (Token::Suffix(a), Token::Suffix(b)) => a.cmp(b),
            (Token::CommitHash(a), Token::CommitHash(b)) => a.cmp(b),
            _ => self.kind().cmp(&other.kind()),
        }
    }
}

/// The end of a version, after every token kind.
const END_KIND: u8 = 7;

impl Ord for ApkKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut left = self.0.iter();
        let mut right = other.0.iter();
        loop {
            let (a, b) = (left.next(), right.next());
            match (a, b) {
                (None, None) => return Ordering::Equal,
                (Some(a), Some(b)) if a.kind() == b.kind() => {
                    let ordering = a.compare_same_kind(b);
                    if ordering.is_ne() {
                        return ordering;
                    }
                }
                _ => {
                    let is_prerelease = |token: Option<&Token>| matches!(token, Some(Token::Suffix(s)) if *s < Suffix::None);
                    if is_prerelease(a) {
                        return Ordering::Less;
                    }
                    if is_prerelease(b) {
                        return Ordering::Greater;
                    }
                    let kind = |token: Option<&Token>| token.map_or(END_KIND, Token::kind);
                    // The version whose next token comes later in the grammar is the smaller.
                    return kind(b).cmp(&kind(a));
                }
            }
        }
    }
}

impl PartialOrd for ApkKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn take_while(text: &str, accept: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = text
        .bytes()
        .position(|byte| !accept(byte))
        .unwrap_or(text.len());
    text.split_at(end)
}

pub(super) fn parse(text: &str) -> Result<ApkKey, String> {
    let (digits, mut rest) = take_while(text, |byte| byte.is_ascii_digit());
    if digits.is_empty() {
        return Err("a version starts with a number".into());
    }
    let mut tokens = vec![Token::InitialDigit(Number::from_digits(digits))];
    while let Some(first) = rest.chars().next() {
        let previous = tokens.last().map_or(0, Token::kind);
        let misplaced = || {
            format!(
                "{first:?} cannot follow {:?} (apk versions are DIGITS{{.DIGITS}}[letter]{{_suffix[N]}}[~hash][-rN])",
                &text[..text.len() - rest.len()]
            )
        };
        let token = match first {
            'a'..='z' if previous <= 1 => {
                rest = &rest[1..];
                Token::Letter(first as u8)
            }
            '.' if previous <= 1 => {
                let (digits, after) = take_while(&rest[1..], |byte| byte.is_ascii_digit());
                if digits.is_empty() {
                    return Err(format!("'.' must be followed by a number in {text:?}"));
                }
                rest = after;
                Token::Digit(digits.to_owned())
            }
            '0'..='9' if previous == 3 => {
                let (digits, after) = take_while(rest, |byte| byte.is_ascii_digit());
                rest = after;
                Token::SuffixNumber(Number::from_digits(digits))
            }
            '_' if previous <= 4 => {
                let (name, after) = take_while(&rest[1..], |byte| byte.is_ascii_lowercase());
                let suffix = Suffix::from_name(name).ok_or_else(|| {
                    format!(
                        "unknown suffix \"_{name}\"; apk knows _alpha, _beta, _pre, _rc, _cvs, _svn, _git, _hg and _p"
                    )
                })?;
                rest = after;
                Token::Suffix(suffix)
            }
            '~' if previous < 5 => {
                let (hash, after) = take_while(&rest[1..], |byte| {
                    byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
                });
                if hash.is_empty() {
                    return Err(
                        "'~' must be followed by a lowercase hexadecimal commit hash".into(),
                    );
                }
                rest = after;
                Token::CommitHash(hash.to_owned())
            }
            '-' if previous < 6 => {
                let Some(after_r) = rest.strip_prefix("-r") else {
                    return Err("a '-' must start a revision such as -r0".into());
                };
                let (digits, after) = take_while(after_r, |byte| byte.is_ascii_digit());
                if digits.is_empty() {
                    return Err("the revision -r needs a number, such as -r0".into());
                }
                rest = after;
                Token::Revision(Number::from_digits(digits))
            }
            _ => return Err(misplaced()),
        };
        tokens.push(token);
    }
    Ok(ApkKey(tokens))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn suffixes_revisions_and_leading_zeros() {
        let v = |text| parse(text).unwrap();
        assert!(v("1.0_rc1") < v("1.0"));
        assert!(v("1.0") < v("1.0_p1"));
        assert!(v("1.0") < v("1.0-r1"));
        assert!(v("1.0.1") > v("1.0a"));
        assert!(v("1.01") < v("1.1"));
        assert!(v("0.1.0_alpha_pre2") < v("0.1.0_alpha"));
        assert_eq!(v("006"), v("6"));
        assert!(parse("1.0bc").is_err());
        assert!(parse("23_foo").is_err());
        assert!(parse("1.0-1").is_err());
    }
}
