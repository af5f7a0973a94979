//! Maven versions, following `org.apache.maven.artifact.versioning.ComparableVersion` as
//! shipped in Maven 3.8/3.9 (<https://maven.apache.org/pom.html#version-order-specification>).
//!
//! The text is lowercased and split into items at `.`, at `-`, and where digits meet letters;
//! a `-`, or a change between letters and digits, opens a sub-list. Numbers compare
//! numerically; qualifiers as `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final
//! = release < sp < any other qualifier (alphabetically)`, with `a1`, `b1`, `m1` read as
//! `alpha-1`, `beta-1`, `milestone-1`. Trailing "null" items (`0`, `""`, empty lists) are
//! dropped, so `1.0.0 == 1`, `1-ga == 1`. Between kinds: number > sub-list > qualifier, and a
//! missing item compares as null (`1.1 > 1`, `1-rc < 1 < 1-sp`, `1-1 < 1.1`). Where Maven's
//! own answers form a cycle (a qualifier meeting a sub-list), the order is made total; see
//! [`compare_lists`].
//!
//! Digits are ASCII digits only (Java's `Character.isDigit` also accepts other scripts'
//! digits), and qualifiers compare by Unicode scalar values (Java compares UTF-16 units); the
//! two differ only outside ASCII.

use super::number::Number;
use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct MavenKey(Vec<Item>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Item {
    Number(Number),
    /// A qualifier, already mapped to its comparable form (see [`comparable_qualifier`]).
    Qualifier(String),
    List(Vec<Item>),
}

/// The known qualifiers in order; the empty qualifier is the release.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: &str = "5";

/// `StringItem.comparableQualifier`: the index of a known qualifier, or "7-" + the qualifier,
/// so plain string comparison gives the qualifier order.
fn comparable_qualifier(qualifier: &str) -> String {
    match QUALIFIERS.iter().position(|known| *known == qualifier) {
        Some(index) => index.to_string(),
        None => format!("{}-{qualifier}", QUALIFIERS.len()),
    }
}

/// `new StringItem(value, followedByDigit)`: single-letter shorthands, then aliases.
fn qualifier(value: &str, followed_by_digit: bool) -> Item {
    let expanded = match (followed_by_digit, value) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        _ => value,
    };
    let aliased = match expanded {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Qualifier(comparable_qualifier(aliased))
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Number(number) => number.is_zero(),
            Item::Qualifier(comparable) => comparable == RELEASE_INDEX,
            Item::List(items) => items.is_empty(),
        }
    }

    /// `Item.compareTo(null)`: how the item compares with a missing one.
    fn compare_to_missing(&self) -> Ordering {
        match self {
            Item::Number(number) => {
                if number.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Qualifier(comparable) => comparable.as_str().cmp(RELEASE_INDEX),
            Item::List(items) => items
                .iter()
                .map(Item::compare_to_missing)
                .find(|ordering| ordering.is_ne())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn compare(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Number(a), Item::Number(b)) => a.cmp(b),
            (Item::Number(_), _) => Ordering::Greater,
            (Item::Qualifier(_), Item::Number(_)) => Ordering::Less,
            (Item::Qualifier(a), Item::Qualifier(b)) => a.cmp(b),
            (Item::Qualifier(_), Item::List(_)) => Ordering::Less,
            (Item::List(_), Item::Number(_)) => Ordering::Less,
            (Item::List(_), Item::Qualifier(_)) => Ordering::Greater,
            (Item::List(a), Item::List(b)) => compare_lists(a, b),
        }
    }
}

/// How each suffix `items[i..]` compares with nothing: the first item that is not null decides.
fn suffix_signs(items: &[Item]) -> Vec<Ordering> {
    let mut signs = vec![Ordering::Equal; items.len()];
    let mut after = Ordering::Equal;
    for (sign, item) in signs.iter_mut().zip(items).rev() {
        let own = item.compare_to_missing();
        if own.is_ne() {
            after = own;
        }
        *sign = after;
    }
    signs
}

/// `ListItem.compareTo`, made a total order. Maven compares items of different kinds by kind
/// alone (qualifier < list < number) but a version that runs out by how the other's remaining
/// items compare with nothing; the two rules disagree when a qualifier meets a sub-list, and
/// Maven's order then has cycles (`a < 0.alpha < 0 < a`). Comparing, at each position, how the
/// two remaining suffixes compare with nothing first, and only then the items, is a total
/// order that gives Maven's answer wherever Maven's answers are consistent.
fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    let (signs_a, signs_b) = (suffix_signs(a), suffix_signs(b));
    let length = a.len().max(b.len());
    for index in 0..length {
        let sign_a = signs_a.get(index).copied().unwrap_or(Ordering::Equal);
        let sign_b = signs_b.get(index).copied().unwrap_or(Ordering::Equal);
        if sign_a != sign_b {
            return sign_a.cmp(&sign_b);
        }
        if let (Some(left), Some(right)) = (a.get(index), b.get(index)) {
            let ordering = left.compare(right);
            if ordering.is_ne() {
                return ordering;
            }
        }
    }
    Ordering::Equal
}

impl Ord for MavenKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.0, &other.0)
    }
}

impl PartialOrd for MavenKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `ListItem.normalize`: drop null items from the end, looking through trailing sub-lists.
fn normalize(items: &mut Vec<Item>) {
    let mut index = items.len();
    while index > 0 {
        index -= 1;
        if items[index].is_null() {
            items.remove(index);
        } else if !matches!(items[index], Item::List(_)) {
            break;
        }
    }
}

fn parse_item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        Item::Number(Number::from_digits(text))
    } else {
        qualifier(text, false)
    }
}

/// Builds the nested lists of `ComparableVersion.parseVersion`. Lists are kept as a stack of
/// open lists; closing one attaches it to its parent, which is where Maven normalises it too.
struct Builder {
    open: Vec<Vec<Item>>,
}

impl Builder {
    fn current(&mut self) -> &mut Vec<Item> {
        if self.open.is_empty() {
            self.open.push(Vec::new());
        }
        let last = self.open.len() - 1;
        &mut self.open[last]
    }

    fn add(&mut self, item: Item) {
        self.current().push(item);
    }

    fn open_list(&mut self) {
        self.open.push(Vec::new());
    }

    fn current_is_empty(&mut self) -> bool {
        self.current().is_empty()
    }

    fn finish(mut self) -> Vec<Item> {
        while self.open.len() > 1 {
            let mut list = self.open.pop().unwrap_or_default();
            normalize(&mut list);
            self.add(Item::List(list));
        }
        let mut root = self.open.pop().unwrap_or_default();
        normalize(&mut root);
        root
    }
}

pub(super) fn parse(text: &str) -> Result<MavenKey, String> {
    if let Some(bad) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{bad:?} is not allowed in a version"));
    }
    let lower = text.to_lowercase();
    let mut builder = Builder {
        open: vec![Vec::new()],
    };
    let mut is_digit = false;
    let mut start = 0;
    for (index, c) in lower.char_indices() {
        match c {
            '.' | '-' => {
                if index == start {
                    builder.add(Item::Number(Number::zero()));
                } else {
                    builder.add(parse_item(is_digit, &lower[start..index]));
                }
                start = index + 1;
                if c == '-' {
                    builder.open_list();
                }
            }
            _ if c.is_ascii_digit() => {
                if !is_digit && index > start {
                    // "1.0.0.X1 < 1.0.0-X2": a qualifier after a '.' starts a sub-list too.
                    if !builder.current_is_empty() {
                        builder.open_list();
                    }
                    builder.add(qualifier(&lower[start..index], true));
                    start = index;
                    builder.open_list();
                }
                is_digit = true;
            }
            _ => {
                if is_digit && index > start {
                    builder.add(parse_item(true, &lower[start..index]));
                    start = index;
                    builder.open_list();
                }
                is_digit = false;
            }
        }
    }
    if lower.len() > start {
        let rest = &lower[start..];
        if !is_digit && !builder.current_is_empty() {
            builder.open_list();
        }
        builder.add(parse_item(is_digit, rest));
    }
    Ok(MavenKey(builder.finish()))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn qualifier_order_and_trailing_zeros() {
        let v = |text| parse(text).unwrap();
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1-ga"), v("1"));
        assert_eq!(v("1.0-final"), v("1.release"));
        assert_eq!(v("1-a1"), v("1-alpha-1"));
        assert_eq!(v("1-cr1"), v("1-rc-1"));
        let ordered = [
            "1-alpha1",
            "1-beta1",
            "1-milestone1",
            "1-rc1",
            "1-snapshot",
            "1",
            "1-sp",
            "1-xyz",
            "1-1",
            "1.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert!(parse("1 .0").is_err());
    }
}
