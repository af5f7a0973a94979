//! Waivers (`.slipway/waivers.yml`): a finding suppressed, by name, for a bounded time, with an
//! owner and a reason.
//!
//! ```yaml
//! waivers:
//!   - id: GHSA-h5c8-rqwp-cp95        # a finding id, advisory id or alias, or rule id
//!     scope: "pkg:pypi/jinja2@*"      # optional: a glob over the finding's file or package
//!     owner: alice@example.com
//!     reason: templates are never built from user input
//!     expires: 2026-12-31             # at most 90 days out
//! ```
//!
//! A waiver is good through the end of its `expires` day (UTC). An expired waiver, one more
//! than [`MAX_DAYS`] out, or one missing its owner or reason suppresses nothing and is itself
//! a failing finding: a gate must not pass on a waiver nobody stands behind.

use crate::finding::{Finding, Gate, Grade, Location};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location as YamlLocation, Spanned};
use std::path::Path;

/// Where waivers live, relative to the repository root.
pub const WAIVERS_FILE: &str = ".slipway/waivers.yml";

/// The longest a waiver may run, counted from the day it is evaluated.
pub const MAX_DAYS: u64 = 90;

const SHAPE_HINT: &str = "waivers.yml holds `waivers:`, a list of entries with `id`, `owner`, `reason`, `expires` (YYYY-MM-DD) and an optional `scope` glob";

/// A waiver file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}\n  help: {help}")]
pub struct WaiverFileError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub help: String,
}

/// One waiver as written.
#[derive(Clone, Debug, Serialize)]
pub struct Waiver {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub owner: String,
    pub reason: String,
    pub expires: NaiveDate,
    /// Where it is written: `.slipway/waivers.yml:4`.
    pub at: String,
    #[serde(skip)]
    scope_matcher: Option<globset::GlobMatcher>,
}

impl PartialEq for Waiver {
    /// Two waivers are the same entry when they are written at the same place.
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.id == other.id
    }
}

impl Waiver {
    /// Whether this waiver covers the finding (by any of its names, within the scope).
    pub fn covers(&self, finding: &Finding) -> bool {
        if !finding.names().any(|name| name == self.id) {
            return false;
        }
        match &self.scope_matcher {
            None => true,
            Some(matcher) => [&finding.location.file, &finding.location.package]
                .into_iter()
                .flatten()
                .any(|place| matcher.is_match(place)),
        }
    }

    /// Whether it is still good at `now`: through the end of its `expires` day.
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        now.date_naive() <= self.expires
    }
}

/// The waivers of a repository: the good ones and what is wrong with the others.
#[derive(Clone, Debug, Default)]
pub struct Waivers {
    /// Waivers that may suppress findings (well-formed and within the 90-day bound).
    pub entries: Vec<Waiver>,
    /// Entries that suppress nothing and fail the gate, as findings.
    pub problems: Vec<Finding>,
    /// The file they came from, relative to the repository root (when there was one).
    pub file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waivers: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    id: Option<Spanned<String>>,
    scope: Option<Spanned<String>>,
    owner: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
}

impl Waivers {
    /// Reads `.slipway/waivers.yml` under `root`; no file means no waivers.
    pub fn load(root: &Path, now: DateTime<Utc>) -> Result<Waivers, WaiverFileError> {
        let path = root.join(WAIVERS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Waivers::parse(WAIVERS_FILE, &text, now),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Waivers::default()),
            Err(error) => Err(WaiverFileError {
                file: WAIVERS_FILE.into(),
                line: 1,
                column: 1,
                message: format!("cannot read the file: {error}"),
                help: "make it readable, or remove it".into(),
            }),
        }
    }

    /// Reads waiver text; `file` names it in messages. Entries are judged at `now`.
    pub fn parse(file: &str, text: &str, now: DateTime<Utc>) -> Result<Waivers, WaiverFileError> {
        let raw: RawFile = if text.trim().is_empty() {
            RawFile {
                waivers: Vec::new(),
            }
        } else {
            serde_saphyr::from_str(text).map_err(|error| {
                let (line, column) = error
                    .location()
                    .map_or((1, 1), |at| (at.line().max(1), at.column().max(1)));
                let message = error.without_snippet().to_string();
                WaiverFileError {
                    file: file.to_string(),
                    line,
                    column,
                    message: message
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    help: SHAPE_HINT.to_string(),
                }
            })?
        };
        let mut waivers = Waivers {
            file: Some(file.to_string()),
            ..Waivers::default()
        };
        let latest = now.date_naive().checked_add_days(Days::new(MAX_DAYS));
        for entry in raw.waivers {
            let at = entry.referenced;
            match judge(file, entry.value, &at, latest) {
                Ok(waiver) if waiver.active_at(now) => waivers.entries.push(waiver),
                Ok(waiver) => waivers.problems.push(problem(
                    file,
                    &at,
                    &waiver.id,
                    format!(
                        "waiver for `{}` expired on {} (owner {})",
                        waiver.id, waiver.expires, waiver.owner
                    ),
                    "fix the finding, or renew the waiver with a new `expires` date (at most 90 days out) and a current reason",
                )),
                Err((location, message, help)) => {
                    waivers
                        .problems
                        .push(problem(file, &location, "waiver", message, help))
                }
            }
        }
        Ok(waivers)
    }
}

type Rejection = (YamlLocation, String, &'static str);

/// Checks one entry: every field present, the date real and within the bound, the scope a glob.
fn judge(
    file: &str,
    raw: RawWaiver,
    at: &YamlLocation,
    latest: Option<NaiveDate>,
) -> Result<Waiver, Rejection> {
    let required = |field: Option<Spanned<String>>, name: &str, help: &'static str| match field {
        Some(value) if !value.value.trim().is_empty() => Ok(value),
        Some(value) => Err((value.referenced, format!("`{name}` is empty"), help)),
        None => Err((*at, format!("waiver has no `{name}`"), help)),
    };
    let id = required(
        raw.id,
        "id",
        "name the finding: its id, the advisory id or an alias (CVE-...), or the rule id",
    )?;
    let owner = required(
        raw.owner,
        "owner",
        "say who answers for this waiver, e.g. `owner: alice@example.com`",
    )?;
    let reason = required(
        raw.reason,
        "reason",
        "say why the finding is acceptable until the waiver expires",
    )?;
    let expires = required(
        raw.expires,
        "expires",
        "give the last day the waiver holds, e.g. `expires: 2026-12-31`",
    )?;
    let date = NaiveDate::parse_from_str(expires.value.trim(), "%Y-%m-%d").map_err(|_| {
        (
            expires.referenced,
            format!("`expires: {}` is not a date", expires.value),
            "write the date as YYYY-MM-DD",
        )
    })?;
    if latest.is_some_and(|latest| date > latest) {
        return Err((
            expires.referenced,
            format!(
                "waiver for `{}` runs until {date}, more than {MAX_DAYS} days out",
                id.value
            ),
            "waivers are bounded: set `expires` at most 90 days ahead and renew it when it runs out",
        ));
    }
    let scope_matcher = match &raw.scope {
        Some(scope) => Some(
            globset::GlobBuilder::new(scope.value.trim())
                .literal_separator(false)
                .build()
                .map_err(|error| {
                    (
                        scope.referenced,
                        format!("`scope: {}` is not a glob: {}", scope.value, error.kind()),
                        "write a glob over file paths or package URLs, e.g. `src/**` or `pkg:pypi/jinja2@*`",
                    )
                })?
                .compile_matcher(),
        ),
        None => None,
    };
    Ok(Waiver {
        id: id.value.trim().to_string(),
        scope: raw.scope.map(|s| s.value.trim().to_string()),
        owner: owner.value.trim().to_string(),
        reason: reason.value.trim().to_string(),
        expires: date,
        at: format!("{file}:{}", at.line()),
        scope_matcher,
    })
}

/// A waiver file that cannot be read, as a finding: the gate fails rather than run without
/// the waivers someone meant to apply, or pass on waivers nobody can read.
pub fn unreadable(error: &WaiverFileError) -> Finding {
    Finding {
        gate: Gate::Waivers,
        id: format!("waiver:{}", error.file),
        rule: "malformed-waiver".into(),
        aliases: Vec::new(),
        grade: Grade::Finding,
        title: format!("cannot read the waivers: {}", error.message),
        location: Location {
            file: Some(error.file.clone()),
            line: u32::try_from(error.line).ok(),
            column: u32::try_from(error.column).ok(),
            ..Location::default()
        },
        fixable: false,
        help: Some(error.help.clone()),
    }
}

fn problem(file: &str, at: &YamlLocation, subject: &str, message: String, help: &str) -> Finding {
    Finding {
        gate: Gate::Waivers,
        id: format!("waiver:{file}:{}", at.line()),
        rule: if subject == "waiver" {
            "malformed-waiver".into()
        } else {
            "expired-waiver".into()
        },
        aliases: Vec::new(),
        grade: Grade::Finding,
        title: message,
        location: Location {
            file: Some(file.to_string()),
            line: u32::try_from(at.line()).ok(),
            column: u32::try_from(at.column()).ok(),
            ..Location::default()
        },
        fixable: false,
        help: Some(help.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(date: &str) -> DateTime<Utc> {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
    }

    fn vulnerability(id: &str, package: &str) -> Finding {
        Finding {
            gate: Gate::Vulnerabilities,
            id: format!("{id}@{package}"),
            rule: id.into(),
            aliases: vec!["CVE-2020-28493".into()],
            grade: Grade::Finding,
            title: "t".into(),
            location: Location {
                package: Some(package.into()),
                ..Location::default()
            },
            fixable: true,
            help: None,
        }
    }

    const FILE: &str = "waivers:
  - id: CVE-2020-28493
    scope: 'pkg:pypi/jinja2@*'
    owner: alice@example.com
    reason: not reachable
    expires: 2026-12-31
";

    #[test]
    fn a_waiver_covers_by_alias_within_scope_through_its_last_day() {
        let waivers = Waivers::parse("w.yml", FILE, at("2026-11-22")).unwrap();
        assert!(waivers.problems.is_empty(), "{:?}", waivers.problems);
        let waiver = &waivers.entries[0];
        assert_eq!(waiver.at, "w.yml:2");
        assert!(waiver.covers(&vulnerability("PYSEC-2021-66", "pkg:pypi/jinja2@2.11.2")));
        assert!(!waiver.covers(&vulnerability("PYSEC-2021-66", "pkg:pypi/flask@0.12.2")));
        assert!(waiver.active_at(at("2026-12-31")));
        assert!(!waiver.active_at(at("2027-01-01")));
    }

    #[test]
    fn an_expired_waiver_is_a_problem_not_a_waiver() {
        let waivers = Waivers::parse("w.yml", FILE, at("2027-01-01")).unwrap();
        assert!(waivers.entries.is_empty());
        assert_eq!(waivers.problems.len(), 1);
        let problem = &waivers.problems[0];
        assert_eq!(problem.rule, "expired-waiver");
        assert!(
            problem.title.contains("expired on 2026-12-31"),
            "{}",
            problem.title
        );
        assert_eq!(problem.location.to_string(), "w.yml:2:5");
    }

    #[test]
    fn waivers_more_than_ninety_days_out_or_incomplete_are_problems() {
        let far = FILE.replace("2026-12-31", "2027-06-01");
        let waivers = Waivers::parse("w.yml", &far, at("2026-11-22")).unwrap();
        assert!(waivers.entries.is_empty());
        assert!(waivers.problems[0].title.contains("more than 90 days"));
        assert_eq!(waivers.problems[0].location.line, Some(6));

        let no_owner = FILE.replace("    owner: alice@example.com\n", "");
        let waivers = Waivers::parse("w.yml", &no_owner, at("2026-11-22")).unwrap();
        assert_eq!(waivers.problems[0].title, "waiver has no `owner`");
        assert_eq!(waivers.problems[0].rule, "malformed-waiver");

        let bad_date = FILE.replace("2026-12-31", "31/12/2026");
        let waivers = Waivers::parse("w.yml", &bad_date, at("2026-11-22")).unwrap();
        assert!(waivers.problems[0].title.contains("is not a date"));
    }

    #[test]
    fn unreadable_files_say_where() {
        let error =
            Waivers::parse("w.yml", "waivers:\n  - id: [unclosed\n", at("2026-11-22")).unwrap_err();
        assert_eq!(error.file, "w.yml");
        assert!(error.line >= 2, "{error}");
        let error =
            Waivers::parse("w.yml", "waivers:\n  - idd: x\n", at("2026-11-22")).unwrap_err();
        assert!(error.message.contains("idd"), "{error}");
        assert!(
            Waivers::parse("w.yml", "", at("2026-11-22"))
                .unwrap()
                .entries
                .is_empty()
        );
    }
}
