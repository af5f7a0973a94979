//! RustSec advisories (`crates/<crate>/RUSTSEC-*.md` of rustsec/advisory-db) converted to OSV.
//!
//! The file opens with a fenced TOML block (`[advisory]`, `[versions]`, optional
//! `[affected]`); the first `# ` heading after it is the title, the rest the description.
//! RustSec says which versions are *not* affected (`patched` and `unaffected`, Cargo version
//! requirements); a version is affected when it matches none of them. The conversion turns
//! those requirements into half-open intervals, joins them, and writes their complement as
//! one OSV `SEMVER` range, so matching needs nothing RustSec-specific. The `fixed` events
//! are then exactly the lower bounds of the unaffected intervals.

use crate::error::{Error, line_column};
use crate::record::{Affected, Event, Package, Range, Record, Reference, SeverityEntry};
use semver::{Comparator, Op, Prerelease, Version, VersionReq};
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Deserialize)]
struct FrontMatter {
    advisory: AdvisoryTable,
    #[serde(default)]
    versions: VersionsTable,
    #[serde(default)]
    affected: Option<toml::Table>,
}

#[derive(Deserialize)]
struct AdvisoryTable {
    id: String,
    package: String,
    date: toml::Value,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<toml::Value>,
    #[serde(default)]
    license: Option<String>,
}

#[derive(Deserialize, Default)]
struct VersionsTable {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Converts a RustSec advisory to an OSV record.
pub(crate) fn parse(name: &str, text: &str) -> Result<Record, Error> {
    let (toml_start, toml_text, rest) = front_block(name, text)?;
    let front: FrontMatter = toml::from_str(toml_text).map_err(|error| {
        let offset = toml_start + error.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        Error::Syntax {
            file: name.to_string(),
            line,
            column,
            format: "TOML",
            message: error.message().trim().to_string(),
        }
    })?;
    let advisory = front.advisory;
    let date = timestamp(name, "date", &advisory.date)?;
    let withdrawn = advisory
        .withdrawn
        .as_ref()
        .map(|value| timestamp(name, "withdrawn", value))
        .transpose()?;
    let requirement = |field: &str, requirement: &String| {
        VersionReq::parse(requirement).map_err(|error| {
            let offset = text
                .get(toml_start..)
                .and_then(|block| block.find(&format!("\"{requirement}\"")))
                .map_or(toml_start, |found| toml_start + found + 1);
            let (line, column) = line_column(text, offset);
            Error::Syntax {
                file: name.to_string(),
                line,
                column,
                format: "TOML",
                message: format!(
                    "[versions] {field}: `{requirement}` is not a Cargo version requirement ({error})"
                ),
            }
        })
    };
    let mut unaffected = Vec::new();
    for patched in &front.versions.patched {
        unaffected.push(requirement("patched", patched)?);
    }
    for also in &front.versions.unaffected {
        unaffected.push(requirement("unaffected", also)?);
    }
    let (summary, details) = title_and_body(rest);

    let mut affected_database = Map::new();
    if !advisory.categories.is_empty() {
        affected_database.insert("categories".into(), json!(advisory.categories));
    }
    if let Some(cvss) = &advisory.cvss {
        affected_database.insert("cvss".into(), json!(cvss));
    }
    if let Some(informational) = &advisory.informational {
        affected_database.insert("informational".into(), json!(informational));
    }
    let ecosystem_specific = front
        .affected
        .and_then(|table| serde_json::to_value(table).ok())
        .map(|affects| json!({ "affects": affects }));
    let affected = Affected {
        package: Some(Package {
            ecosystem: "crates.io".into(),
            name: advisory.package.clone(),
            purl: Some(format!("pkg:cargo/{}", advisory.package)),
        }),
        severity: Vec::new(),
        ranges: vec![Range {
            kind: "SEMVER".into(),
            repo: None,
            events: affected_events(&unaffected),
            database_specific: None,
        }],
        versions: Vec::new(),
        ecosystem_specific,
        database_specific: (!affected_database.is_empty())
            .then_some(Value::Object(affected_database)),
    };

    let mut references = vec![
        Reference {
            kind: "PACKAGE".into(),
            url: format!("https://crates.io/crates/{}", advisory.package),
        },
        Reference {
            kind: "ADVISORY".into(),
            url: format!("https://rustsec.org/advisories/{}.html", advisory.id),
        },
    ];
    references.extend(advisory.url.iter().map(|url| Reference {
        kind: "REPORT".into(),
        url: url.clone(),
    }));
    references.extend(advisory.references.iter().map(|url| Reference {
        kind: "WEB".into(),
        url: url.clone(),
    }));

    let severity = advisory
        .cvss
        .iter()
        .map(|vector| SeverityEntry {
            kind: cvss_kind(vector).into(),
            score: vector.clone(),
        })
        .collect();
    let mut database = Map::new();
    database.insert("source".into(), json!("rustsec"));
    if let Some(license) = &advisory.license {
        database.insert("license".into(), json!(license));
    }
    if !advisory.keywords.is_empty() {
        database.insert("keywords".into(), json!(advisory.keywords));
    }
    Ok(Record {
        schema_version: Some("1.7.0".into()),
        id: advisory.id,
        modified: date.clone(),
        published: Some(date),
        withdrawn,
        aliases: advisory.aliases,
        upstream: Vec::new(),
        related: advisory.related,
        summary,
        details,
        affected: vec![affected],
        severity,
        references,
        credits: Vec::new(),
        database_specific: Some(Value::Object(database)),
    })
}

/// The TOML between the opening ```` ```toml ```` fence and the closing ```` ``` ````: its
/// byte offset in `text`, the TOML itself, and the Markdown after the block.
fn front_block<'a>(name: &str, text: &'a str) -> Result<(usize, &'a str, &'a str), Error> {
    let missing = |what: &str| Error::Invalid {
        file: name.to_string(),
        message: format!(
            "not a RustSec advisory: {what} (the file must open with a ```toml block holding [advisory] and [versions])"
        ),
    };
    let leading = text.len() - text.trim_start().len();
    let opening = text
        .get(leading..)
        .filter(|start| start.starts_with("```toml"))
        .ok_or_else(|| missing("no opening ```toml fence"))?;
    let body_start = leading
        + opening
            .find('\n')
            .ok_or_else(|| missing("nothing after the fence"))?
        + 1;
    let body = text.get(body_start..).unwrap_or_default();
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if line.trim_end() == "```" {
            let toml_text = body.get(..offset).unwrap_or_default();
            let rest = body.get(offset + line.len()..).unwrap_or_default();
            return Ok((body_start, toml_text, rest));
        }
        offset += line.len();
    }
    Err(missing("no closing ``` fence"))
}

/// `2022-03-08` as the RFC 3339 time RustSec's own OSV export writes (noon UTC).
fn timestamp(name: &str, field: &str, value: &toml::Value) -> Result<String, Error> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) => datetime.to_string(),
        other => {
            return Err(Error::Invalid {
                file: name.to_string(),
                message: format!(
                    "[advisory] {field} must be a date like \"2022-03-08\", not {}",
                    other.type_str()
                ),
            });
        }
    };
    let text = text.trim();
    Ok(if text.len() == 10 {
        format!("{text}T12:00:00Z")
    } else {
        text.to_string()
    })
}

fn title_and_body(markdown: &str) -> (Option<String>, Option<String>) {
    let mut lines = markdown.lines();
    let mut title = None;
    for line in lines.by_ref() {
        if let Some(heading) = line.strip_prefix("# ") {
            title = Some(heading.trim().to_string());
            break;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let body: Vec<&str> = lines.collect();
    let body = body.join("\n").trim().to_string();
    let body = if title.is_none() {
        markdown.trim().to_string()
    } else {
        body
    };
    (title, (!body.is_empty()).then_some(body))
}

fn cvss_kind(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:4") {
        "CVSS_V4"
    } else if vector.starts_with("CVSS:3") {
        "CVSS_V3"
    } else {
        "CVSS_V2"
    }
}

/// A half-open interval of versions: `[lower, upper)`, `None` meaning unbounded.
type Interval = (Option<Version>, Option<Version>);

/// The complement of the union of the requirements, as OSV events.
fn affected_events(unaffected: &[VersionReq]) -> Vec<Event> {
    let mut intervals: Vec<Interval> = unaffected.iter().filter_map(requirement_interval).collect();
    intervals.sort_by(|a, b| compare_lower(&a.0, &b.0));
    let mut merged: Vec<Interval> = Vec::new();
    for (lower, upper) in intervals {
        if let Some(last) = merged.last_mut()
            && last
                .1
                .as_ref()
                .is_none_or(|end| lower.as_ref().is_none_or(|start| start <= end))
        {
            last.1 = match (&last.1, upper) {
                (None, _) | (_, None) => None,
                (Some(a), Some(b)) => Some(if *a >= b { a.clone() } else { b }),
            };
            continue;
        }
        merged.push((lower, upper));
    }
    let mut events = Vec::new();
    let mut affected_from: Option<Option<Version>> = Some(None);
    for (lower, upper) in merged {
        if let Some(start) = affected_from.take() {
            let gap = match (&start, &lower) {
                (_, None) => false,
                (None, Some(b)) => *b > version(0, 0, 0, Prerelease::EMPTY),
                (Some(a), Some(b)) => a < b,
            };
            if gap {
                events.push(introduced(&start));
                events.push(Event {
                    fixed: lower.as_ref().map(Version::to_string),
                    ..Event::default()
                });
            }
        }
        affected_from = upper.map(Some);
    }
    if let Some(start) = affected_from {
        events.push(introduced(&start));
    }
    events
}

fn introduced(start: &Option<Version>) -> Event {
    Event {
        introduced: Some(
            start
                .as_ref()
                .map_or_else(|| "0".to_string(), Version::to_string),
        ),
        ..Event::default()
    }
}

fn compare_lower(a: &Option<Version>, b: &Option<Version>) -> std::cmp::Ordering {
    match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

/// The versions a requirement accepts, as one interval (the intersection of its
/// comparators); `None` when it accepts nothing.
fn requirement_interval(requirement: &VersionReq) -> Option<Interval> {
    let mut lower: Option<Version> = None;
    let mut upper: Option<Version> = None;
    for comparator in &requirement.comparators {
        let (low, high) = comparator_interval(comparator)?;
        if let Some(low) = low
            && lower.as_ref().is_none_or(|current| low > *current)
        {
            lower = Some(low);
        }
        if let Some(high) = high
            && upper.as_ref().is_none_or(|current| high < *current)
        {
            upper = Some(high);
        }
    }
    match (&lower, &upper) {
        (Some(low), Some(high)) if low >= high => None,
        _ => Some((lower, upper)),
    }
}

fn version(major: u64, minor: u64, patch: u64, pre: Prerelease) -> Version {
    Version {
        major,
        minor,
        patch,
        pre,
        build: semver::BuildMetadata::EMPTY,
    }
}

/// The smallest version above `v` (`1.2.3` → `1.2.4-0`, `1.0.0-rc.1` → `1.0.0-rc.1.0`).
fn successor(v: &Version) -> Option<Version> {
    if v.pre.is_empty() {
        let pre = Prerelease::new("0").unwrap_or(Prerelease::EMPTY);
        Some(version(v.major, v.minor, v.patch.checked_add(1)?, pre))
    } else {
        let pre = Prerelease::new(&format!("{}.0", v.pre)).ok()?;
        Some(version(v.major, v.minor, v.patch, pre))
    }
}

fn next_major(major: u64) -> Option<Version> {
    Some(version(major.checked_add(1)?, 0, 0, Prerelease::EMPTY))
}

fn next_minor(major: u64, minor: u64) -> Option<Version> {
    Some(version(major, minor.checked_add(1)?, 0, Prerelease::EMPTY))
}

/// Cargo's meaning of one comparator as an interval; `None` for an operator this semver
/// version added after this code was written (the requirement then accepts nothing, so the
/// advisory errs towards "affected").
fn comparator_interval(c: &Comparator) -> Option<Interval> {
    let major = c.major;
    let low = version(
        major,
        c.minor.unwrap_or(0),
        c.patch.unwrap_or(0),
        c.pre.clone(),
    );
    // The end of the span a partial version names: `1.2` → `1.3.0`, `1` → `2.0.0`.
    let span_end = || match (c.minor, c.patch) {
        (Some(_), Some(_)) => successor(&low),
        (Some(minor), None) => next_minor(major, minor),
        (None, _) => next_major(major),
    };
    Some(match c.op {
        Op::Exact | Op::Wildcard => (Some(low.clone()), span_end()),
        Op::Greater => match span_end() {
            Some(end) => (Some(end), None),
            None => return None,
        },
        Op::GreaterEq => (Some(low), None),
        Op::Less => (None, Some(low)),
        Op::LessEq => (None, span_end()),
        Op::Tilde => {
            let end = match c.minor {
                Some(minor) => next_minor(major, minor),
                None => next_major(major),
            };
            (Some(low), end)
        }
        Op::Caret => {
            let end = match (c.minor, c.patch) {
                _ if major > 0 => next_major(major),
                (None, _) => next_major(major),
                (Some(0), Some(patch)) => patch
                    .checked_add(1)
                    .map(|p| version(0, 0, p, Prerelease::EMPTY)),
                (Some(minor), _) => next_minor(0, minor),
            };
            (Some(low), end)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(requirements: &[&str]) -> Vec<(String, String)> {
        let requirements: Vec<VersionReq> = requirements
            .iter()
            .map(|r| VersionReq::parse(r).unwrap())
            .collect();
        affected_events(&requirements)
            .into_iter()
            .map(|event| match (event.introduced, event.fixed) {
                (Some(v), None) => ("introduced".to_string(), v),
                (None, Some(v)) => ("fixed".to_string(), v),
                other => panic!("unexpected event {other:?}"),
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn patched_lower_bounds_become_fixed_events() {
        assert_eq!(
            events(&[">= 1.5.5"]),
            pairs(&[("introduced", "0"), ("fixed", "1.5.5")])
        );
        assert_eq!(
            events(&["^0.3.17", ">= 0.4.2"]),
            pairs(&[
                ("introduced", "0"),
                ("fixed", "0.3.17"),
                ("introduced", "0.4.0"),
                ("fixed", "0.4.2")
            ])
        );
    }

    #[test]
    fn unaffected_ranges_open_later_windows() {
        assert_eq!(
            events(&["< 0.2.0", ">= 0.2.5"]),
            pairs(&[("introduced", "0.2.0"), ("fixed", "0.2.5")])
        );
        assert_eq!(events(&[]), pairs(&[("introduced", "0")]));
        assert_eq!(events(&["<= 1.0.0"]), pairs(&[("introduced", "1.0.1-0")]));
        assert_eq!(events(&["*"]), pairs(&[]));
    }

    #[test]
    fn caret_tilde_and_wildcards_follow_cargo() {
        let interval = |r: &str| {
            let (low, high) = requirement_interval(&VersionReq::parse(r).unwrap()).unwrap();
            (low.map(|v| v.to_string()), high.map(|v| v.to_string()))
        };
        let some = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
        assert_eq!(interval("^1.2.3"), some("1.2.3", "2.0.0"));
        assert_eq!(interval("^0.2.3"), some("0.2.3", "0.3.0"));
        assert_eq!(interval("^0.0.3"), some("0.0.3", "0.0.4"));
        assert_eq!(interval("^0.0"), some("0.0.0", "0.1.0"));
        assert_eq!(interval("~1.2"), some("1.2.0", "1.3.0"));
        assert_eq!(interval("1.2.*"), some("1.2.0", "1.3.0"));
        assert_eq!(interval("=1.2.3"), some("1.2.3", "1.2.4-0"));
        assert_eq!(interval(">1.2"), (Some("1.3.0".into()), None));
        assert_eq!(interval(">= 1.0, < 1.4"), some("1.0.0", "1.4.0"));
        assert!(requirement_interval(&VersionReq::parse(">2, <1").unwrap()).is_none());
    }

    #[test]
    fn a_full_advisory_converts() {
        let text = "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"demo\"\ndate = 2099-01-02\naliases = [\"CVE-2099-1\"]\ninformational = \"unsound\"\n\n[versions]\npatched = [\">= 1.1.0\"]\n```\n\n# Title here\n\nBody line.\n";
        let record = parse("RUSTSEC-2099-0001.md", text).unwrap();
        assert_eq!(record.modified, "2099-01-02T12:00:00Z");
        assert_eq!(record.summary.as_deref(), Some("Title here"));
        assert_eq!(record.details.as_deref(), Some("Body line."));
        assert_eq!(
            record.affected[0].database_specific,
            Some(json!({"informational": "unsound"}))
        );
    }

    #[test]
    fn bad_requirements_and_toml_are_located() {
        let text = "```toml\n[advisory]\nid = \"R\"\npackage = \"p\"\ndate = \"2020-01-01\"\n[versions]\npatched = [\"=> 1\"]\n```\n";
        let error = parse("r.md", text).unwrap_err().to_string();
        assert!(error.starts_with("r.md:7:13:"), "{error}");
        let error = parse("r.md", "```toml\n[advisory\n```\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("r.md:2:"), "{error}");
        let error = parse("r.md", "# just markdown\n").unwrap_err().to_string();
        assert!(error.contains("```toml"), "{error}");
    }
}
