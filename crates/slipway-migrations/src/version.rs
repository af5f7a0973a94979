//! Migration versions: read from file and directory names, ordered by number.
//!
//! Every common layout names a migration by a number that migration tools sort numerically:
//! `0001_create_users.sql`, Flyway's `V2__add_email.sql` (and `V2_1__…` = 2.1), timestamps
//! (`20240101120000_x.sql`), sqlx and golang-migrate's `1_name.up.sql`, and directories per
//! migration (`20240101_x/up.sql`, diesel's `2024-01-01-120000_x/up.sql`, Prisma's
//! `…/migration.sql`). Versions compare component by component as numbers of any length, so
//! `9_x.sql` comes before `10_x.sql` and `0001` equals `1`.

use serde::Serialize;
use std::cmp::Ordering;

/// A migration's version: one or more numeric components, compared numerically.
#[derive(Clone, Debug, Eq, Serialize)]
#[serde(into = "String")]
pub struct Version {
    /// Each component's digits without leading zeros (`"0"` for zero).
    parts: Vec<String>,
    /// As written in the name, for messages.
    text: String,
}

impl Version {
    /// Reads a version written as digits with `.`, `_` or `-` between components, optionally
    /// after a Flyway `V`: `0003`, `V2.1`, `2_1`, `2024-01-01-120000` (diesel writes dates
    /// with dashes; they join into one number). `None` when it is not one.
    pub fn parse(text: &str) -> Option<Version> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix(['V', 'v'])
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(trimmed);
        if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        if !digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return None;
        }
        let parts: Vec<String> = if digits.contains('-') {
            // A diesel timestamp: the dashes separate date fields, not version components.
            vec![normalise(&digits.replace(['-', '_', '.'], ""))]
        } else {
            digits
                .split(['.', '_'])
                .filter(|part| !part.is_empty())
                .map(normalise)
                .collect()
        };
        if parts.is_empty() {
            return None;
        }
        Some(Version {
            parts,
            text: trimmed.to_string(),
        })
    }

    /// The version as its name wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn normalise(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        for (mine, theirs) in self.parts.iter().zip(&other.parts) {
            let order = mine.len().cmp(&theirs.len()).then_with(|| mine.cmp(theirs));
            if order != Ordering::Equal {
                return order;
            }
        }
        self.parts.len().cmp(&other.parts.len())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Version> for String {
    fn from(version: Version) -> String {
        version.text
    }
}

/// What a name inside a migrations directory is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A migration to apply, with its version and descriptive name.
    Up {
        /// The version the name carries.
        version: Version,
        /// The rest of the name (`create_users`).
        name: String,
    },
    /// A reverting migration (`.down.sql`, Flyway's `U…__`): not part of the forward history.
    Down,
    /// A Flyway repeatable migration (`R__…`): no version, re-applied when it changes.
    Repeatable,
    /// No version in the name.
    Unversioned,
}

/// Classifies a `.sql` file name: `0001_x.sql`, `V2__y.sql`, `1_name.up.sql`, `3.sql`.
pub fn classify_file(file_name: &str) -> NameKind {
    let lower = file_name.to_ascii_lowercase();
    let Some(stem) = strip_suffix_ignore_case(file_name, ".sql") else {
        return NameKind::Unversioned;
    };
    if lower.ends_with(".down.sql") || lower.ends_with(".undo.sql") {
        return NameKind::Down;
    }
    let stem = strip_suffix_ignore_case(stem, ".up").unwrap_or(stem);
    if let Some(rest) = stem.strip_prefix(['R', 'r'])
        && rest.starts_with("__")
    {
        return NameKind::Repeatable;
    }
    if let Some((head, name)) = stem.split_once("__")
        && let Some(first) = head.chars().next()
        && matches!(first, 'V' | 'v' | 'U' | 'u')
    {
        let Some(version) = head.get(1..).and_then(Version::parse) else {
            return NameKind::Unversioned;
        };
        if matches!(first, 'U' | 'u') {
            return NameKind::Down;
        }
        return NameKind::Up {
            version,
            name: name.to_string(),
        };
    }
    split_leading_version(stem)
}

/// Classifies a directory holding one migration (`20240101_x`, `2024-01-01-120000_x`).
pub fn classify_dir(dir_name: &str) -> NameKind {
    split_leading_version(dir_name)
}

/// `<digits>[_-.<more digits>]…[_<name>]`: the leading number and the rest as the name.
fn split_leading_version(text: &str) -> NameKind {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(text.len());
    let head = text[..end].trim_end_matches('-');
    let rest = &text[head.len()..];
    let name = rest.trim_start_matches(['_', '-', '.']);
    match Version::parse(head) {
        Some(version) => NameKind::Up {
            version,
            name: name.to_string(),
        },
        None => NameKind::Unversioned,
    }
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let (head, tail) = (text.get(..split)?, text.get(split..)?);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(name: &str) -> String {
        match classify_file(name) {
            NameKind::Up { version, name } => format!("{:?}:{name}", version.parts),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn reads_every_common_layout() {
        assert_eq!(version("0001_create_users.sql"), r#"["1"]:create_users"#);
        assert_eq!(version("V2__add_email.sql"), r#"["2"]:add_email"#);
        assert_eq!(version("V2_1__fix.sql"), r#"["2", "1"]:fix"#);
        assert_eq!(version("V2.1__fix.sql"), r#"["2", "1"]:fix"#);
        assert_eq!(version("20240101120000_z.sql"), r#"["20240101120000"]:z"#);
        assert_eq!(version("1_name.up.sql"), r#"["1"]:name"#);
        assert_eq!(version("1_name.down.sql"), "Down");
        assert_eq!(version("U3__undo.sql"), "Down");
        assert_eq!(version("R__views.sql"), "Repeatable");
        assert_eq!(version("schema.sql"), "Unversioned");
        assert_eq!(version("7.sql"), r#"["7"]:"#);
        assert!(matches!(
            classify_dir("2024-01-01-120000_create_users"),
            NameKind::Up { ref version, ref name }
                if version.parts == ["20240101120000"] && name == "create_users"
        ));
    }

    #[test]
    fn orders_numerically_not_lexically() {
        let mut versions: Vec<Version> = ["10", "9", "0002", "1.10", "1.9", "1"]
            .iter()
            .filter_map(|v| Version::parse(v))
            .collect();
        versions.sort();
        let texts: Vec<&str> = versions.iter().map(Version::as_str).collect();
        assert_eq!(texts, ["1", "1.9", "1.10", "0002", "9", "10"]);
        assert_eq!(Version::parse("0001"), Version::parse("1"));
        assert_eq!(Version::parse("V3"), Version::parse("3"));
        assert!(Version::parse("abc").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version::parse("V").is_none());
    }
}
