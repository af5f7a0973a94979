//! Whether a version falls in an affected entry: OSV's evaluation of range events, per
//! ecosystem ordering, plus the explicit `versions` list.
//!
//! `GIT` ranges name commits, and a commit cannot be placed relative to a released version
//! without the repository's history (osv.dev resolves them online), so they are ignored here;
//! the same record's `ECOSYSTEM`/`SEMVER` ranges and `versions` list still apply.

use crate::error::Error;
use crate::record::{Affected, Event, Range, Record};
use crate::version::{Scheme, Version};

/// The outcome of checking one version against one affected entry.
#[derive(Debug, Default)]
pub(crate) struct Evaluation {
    /// The version is in a range or in the `versions` list.
    pub affected: bool,
    /// The `fixed` events above the version of the ranges that matched.
    pub fixed: Vec<String>,
    /// Ranges that could not be evaluated, and why.
    pub notes: Vec<String>,
}

/// An OSV ecosystem split into its family (`Debian`) and release (`12`, `22.04:LTS`).
pub(crate) fn split_ecosystem(ecosystem: &str) -> (&str, Option<&str>) {
    match ecosystem.split_once(':') {
        Some((family, release)) if !release.is_empty() => (family, Some(release)),
        Some((family, _)) => (family, None),
        None => (ecosystem, None),
    }
}

/// Whether a record's ecosystem covers the asked one: the same family, and a record without
/// a release covers every release. An ask without a release (a distribution whose release
/// could not be read) is covered by every release of the family: a possible false alarm
/// rather than a missed vulnerability. Releases compare part by part, so `Ubuntu:22.04:LTS`
/// and `Ubuntu:Pro:22.04:LTS` both cover `Ubuntu:22.04`.
pub(crate) fn ecosystem_covers(record_ecosystem: &str, asked: &str) -> bool {
    let (record_family, record_release) = split_ecosystem(record_ecosystem);
    let (asked_family, asked_release) = split_ecosystem(asked);
    if record_family != asked_family {
        return false;
    }
    match (record_release, asked_release) {
        (None, _) | (_, None) => true,
        (Some(record_release), Some(asked_release)) => {
            let asked_parts: Vec<&str> = asked_release.split(':').collect();
            let record_parts: Vec<&str> = record_release.split(':').collect();
            asked_parts.iter().all(|part| record_parts.contains(part))
        }
    }
}

/// The name as the index keys it: PEP 503 for PyPI, lowercase for Packagist (Composer
/// names are case-insensitive), exact elsewhere.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match split_ecosystem(ecosystem).0 {
        "PyPI" => slipway_sbom::pypi_normalize(name),
        "Packagist" => name.trim().to_ascii_lowercase(),
        _ => name.trim().to_string(),
    }
}

/// The version as the records write it: Go's records drop the module version's `v`.
pub(crate) fn record_version<'a>(ecosystem: &str, version: &'a str) -> &'a str {
    let version = version.trim();
    if split_ecosystem(ecosystem).0 == "Go" {
        version.strip_prefix('v').unwrap_or(version)
    } else {
        version
    }
}

/// Whether `version` of the package `name` in `ecosystem` is affected by `record`.
///
/// `ecosystem` is the OSV ecosystem (`PyPI`, `Debian:12`); `name` and `version` are compared
/// after the ecosystem's normalisation (PEP 503 names, Go versions with or without `v`). A
/// withdrawn record never matches. `GIT` ranges are not evaluated (see the module notes).
///
/// # Errors
/// [`Error::Undecided`] when nothing matched but some range could not be evaluated (a
/// version that does not parse under the ecosystem's ordering, an ecosystem without a known
/// ordering): "not affected" would then be a guess.
pub fn matches(record: &Record, ecosystem: &str, name: &str, version: &str) -> Result<bool, Error> {
    if record.is_withdrawn() {
        return Ok(false);
    }
    let wanted = normalize_name(ecosystem, name);
    let mut notes = Vec::new();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        if !ecosystem_covers(&package.ecosystem, ecosystem)
            || normalize_name(&package.ecosystem, &package.name) != wanted
        {
            continue;
        }
        let evaluation = evaluate(affected, &package.ecosystem, version);
        if evaluation.affected {
            return Ok(true);
        }
        notes.extend(evaluation.notes);
    }
    if notes.is_empty() {
        Ok(false)
    } else {
        Err(Error::Undecided {
            advisory: record.id.clone(),
            package: name.to_string(),
            version: version.to_string(),
            reasons: notes,
        })
    }
}

/// Checks `version` against one affected entry whose package is in `ecosystem`.
pub(crate) fn evaluate(affected: &Affected, ecosystem: &str, version: &str) -> Evaluation {
    let version = record_version(ecosystem, version);
    let ecosystem_scheme = Scheme::for_ecosystem(ecosystem);
    let mut evaluation = Evaluation::default();
    for range in &affected.ranges {
        let scheme = match range.kind.as_str() {
            "GIT" => continue,
            "SEMVER" => Scheme::Semver,
            "ECOSYSTEM" => match ecosystem_scheme {
                Some(scheme) => scheme,
                None => {
                    evaluation.notes.push(format!(
                        "no version ordering is known for the ecosystem {ecosystem:?}; its ECOSYSTEM range was skipped"
                    ));
                    continue;
                }
            },
            other => {
                evaluation
                    .notes
                    .push(format!("unknown range type {other:?} skipped"));
                continue;
            }
        };
        match in_range(range, scheme, version) {
            Ok(Some(fixed)) => {
                evaluation.affected = true;
                evaluation.fixed.extend(fixed);
            }
            Ok(None) => {}
            Err(note) => evaluation.notes.push(note),
        }
    }
    if !evaluation.affected && in_versions(&affected.versions, ecosystem_scheme, ecosystem, version)
    {
        evaluation.affected = true;
    }
    evaluation.fixed.sort();
    evaluation.fixed.dedup();
    evaluation
}

/// `Some(fixed versions above it)` when `version` is inside the range; a note when the
/// version or an event does not parse under the range's ordering.
fn in_range(range: &Range, scheme: Scheme, version: &str) -> Result<Option<Vec<String>>, String> {
    let installed = Version::parse(scheme, version)
        .map_err(|error| format!("{} range skipped: {error}", range.kind))?;
    // Each event as (its version, or None for introduced "0"; the event).
    let mut events: Vec<(Option<Version>, &Event)> = Vec::with_capacity(range.events.len());
    for event in &range.events {
        let text = match (&event.introduced, &event.fixed, &event.last_affected) {
            (Some(text), _, _) | (None, Some(text), _) | (None, None, Some(text)) => text,
            // `limit` only bounds GIT ranges.
            (None, None, None) => continue,
        };
        if event.introduced.as_deref() == Some("0") {
            events.push((None, event));
            continue;
        }
        let parsed = Version::parse(scheme, text)
            .map_err(|error| format!("{} range skipped: event {text:?}: {error}", range.kind))?;
        events.push((Some(parsed), event));
    }
    // OSV's algorithm: sort the events by version and walk them; introduced opens,
    // fixed (exclusive) and last_affected (inclusive) close.
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut affected = false;
    for (at, event) in &events {
        if event.introduced.is_some() {
            if at.as_ref().is_none_or(|at| installed >= *at) {
                affected = true;
            }
        } else if event.fixed.is_some() {
            if at.as_ref().is_some_and(|at| installed >= *at) {
                affected = false;
            }
        } else if event.last_affected.is_some() && at.as_ref().is_some_and(|at| installed > *at) {
            affected = false;
        }
    }
    if !affected {
        return Ok(None);
    }
    let fixed = events
        .iter()
        .filter(|(at, event)| {
            event.fixed.is_some() && at.as_ref().is_some_and(|at| *at > installed)
        })
        .filter_map(|(_, event)| event.fixed.clone())
        .collect();
    Ok(Some(fixed))
}

/// Whether the `versions` list names `version`: as written, or equal under the ecosystem's
/// ordering (`1.0` and `1.0.0` in PEP 440).
fn in_versions(
    versions: &[String],
    scheme: Option<Scheme>,
    ecosystem: &str,
    version: &str,
) -> bool {
    if versions.is_empty() {
        return false;
    }
    if versions
        .iter()
        .any(|listed| record_version(ecosystem, listed) == version)
    {
        return true;
    }
    let Some(scheme) = scheme else {
        return false;
    };
    let Ok(installed) = Version::parse(scheme, version) else {
        return false;
    };
    versions.iter().any(|listed| {
        Version::parse(scheme, record_version(ecosystem, listed)).is_ok_and(|v| v == installed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_cover_their_family_and_parts() {
        assert!(ecosystem_covers("Debian", "Debian:12"));
        assert!(ecosystem_covers("Debian:12", "Debian:12"));
        assert!(!ecosystem_covers("Debian:11", "Debian:12"));
        assert!(ecosystem_covers("Debian:11", "Debian"));
        assert!(ecosystem_covers("Ubuntu:Pro:22.04:LTS", "Ubuntu:22.04"));
        assert!(!ecosystem_covers("Ubuntu:20.04:LTS", "Ubuntu:22.04"));
        assert!(!ecosystem_covers("Alpine:v3.19", "Alpine:v3.20"));
        assert!(!ecosystem_covers("PyPI", "npm"));
    }

    #[test]
    fn names_normalise_per_ecosystem() {
        assert_eq!(normalize_name("PyPI", "PyYAML"), "pyyaml");
        assert_eq!(normalize_name("PyPI", "jw.util"), "jw-util");
        assert_eq!(normalize_name("Packagist", "Symfony/HTTP"), "symfony/http");
        assert_eq!(
            normalize_name("Go", "github.com/Foo/bar"),
            "github.com/Foo/bar"
        );
        assert_eq!(record_version("Go", "v0.32.0"), "0.32.0");
        assert_eq!(record_version("npm", "v1"), "v1");
    }
}
