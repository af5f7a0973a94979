//! The in-memory index of advisories and the dependency scan over an inventory.

use crate::cvss::Severity;
use crate::matching::{ecosystem_covers, evaluate, normalize_name, split_ecosystem};
use crate::record::{Affected, Record};
use crate::severity::{SeveritySource, rate};
use serde::Serialize;
use slipway_sbom::{Component, Ecosystem, Inventory};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// One vulnerable package found by a scan.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct VulnFinding {
    /// The advisory id.
    pub advisory: String,
    /// Other ids of the vulnerability (CVE, GHSA).
    pub aliases: Vec<String>,
    /// The advisory's one-line summary.
    pub summary: Option<String>,
    /// The OSV ecosystem the package was matched in (`PyPI`, `Debian:12`).
    pub ecosystem: String,
    /// The package as OSV names it.
    pub package: String,
    /// The component's package URL.
    pub purl: String,
    /// The installed version, as the lockfile or package database records it.
    pub version: String,
    /// Versions that fix it (the `fixed` events above the installed version of the ranges
    /// that matched; for RustSec, the lower bounds of `patched`), sorted; empty when there is
    /// no fix.
    pub fixed: Vec<String>,
    /// The severity (`None` when unknown).
    pub severity: Severity,
    /// The CVSS base score, computed from `vector`.
    pub score: Option<f64>,
    /// The CVSS vector the score was computed from.
    pub vector: Option<String>,
    /// Where the severity came from.
    pub severity_source: SeveritySource,
    /// Package URLs from a root package to this one; empty when the lockfile records no
    /// dependency graph.
    pub path: Vec<String>,
    /// The lockfiles or package databases the component was read from.
    pub sources: Vec<String>,
    /// RustSec's `informational` kind (`unmaintained`, `unsound`, `notice`): not a
    /// vulnerability as such, for the gate to weigh.
    pub informational: Option<String>,
    /// Always false: withdrawn records never match; kept so reports can say so explicitly.
    pub withdrawn: bool,
}

/// A range that could not be evaluated during a scan.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct MatchNote {
    /// The advisory id.
    pub advisory: String,
    /// The component's package URL.
    pub purl: String,
    /// Why the range was skipped.
    pub reason: String,
}

/// Everything a scan found: the findings and the ranges it could not evaluate.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct ScanReport {
    /// Findings sorted by package URL, then advisory id.
    pub findings: Vec<VulnFinding>,
    /// Skipped ranges, in the same order.
    pub notes: Vec<MatchNote>,
}

/// Advisories grouped by (ecosystem family, normalised package name), ready to match.
#[derive(Clone, Debug, Default)]
pub struct Index {
    records: Vec<Record>,
    /// (family, normalised name) → (record, affected entry) positions.
    by_package: HashMap<(String, String), Vec<(usize, usize)>>,
}

impl Index {
    /// Builds the index. Withdrawn records are left out (they never match); when two records
    /// share an id the one with the later `modified` is kept.
    pub fn new(records: impl IntoIterator<Item = Record>) -> Index {
        let mut newest: BTreeMap<String, Record> = BTreeMap::new();
        for record in records {
            if record.is_withdrawn() {
                continue;
            }
            match newest.get(&record.id) {
                Some(kept) if time_key(&kept.modified) >= time_key(&record.modified) => {}
                _ => {
                    newest.insert(record.id.clone(), record);
                }
            }
        }
        let records: Vec<Record> = newest.into_values().collect();
        let mut by_package: HashMap<(String, String), Vec<(usize, usize)>> = HashMap::new();
        for (record_index, record) in records.iter().enumerate() {
            for (affected_index, affected) in record.affected.iter().enumerate() {
                if let Some(package) = &affected.package {
                    let key = package_key(&package.ecosystem, &package.name);
                    by_package
                        .entry(key)
                        .or_default()
                        .push((record_index, affected_index));
                }
            }
        }
        Index {
            records,
            by_package,
        }
    }

    /// The records indexed (withdrawn ones excluded), sorted by id.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// How many records are indexed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is indexed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Matches every component of the inventory; see [`Index::scan_report`].
    pub fn scan(&self, inventory: &Inventory) -> Vec<VulnFinding> {
        self.scan_report(inventory).findings
    }

    /// Matches every component of the inventory whose ecosystem OSV covers, and reports the
    /// ranges it could not evaluate. One finding per (advisory, component); a component in
    /// several lockfiles is one component with several `sources`.
    pub fn scan_report(&self, inventory: &Inventory) -> ScanReport {
        let mut report = ScanReport::default();
        let mut paths: Option<DependencyPaths> = None;
        for component in &inventory.components {
            let Some((ecosystem, name)) = osv_package(component) else {
                continue;
            };
            let version = osv_version(component);
            let key = package_key(&ecosystem, &name);
            let Some(candidates) = self.by_package.get(&key) else {
                continue;
            };
            // Several affected entries of one record can name the same package.
            let mut per_record: BTreeMap<usize, Vec<&Affected>> = BTreeMap::new();
            for &(record_index, affected_index) in candidates {
                if let Some(affected) = self
                    .records
                    .get(record_index)
                    .and_then(|record| record.affected.get(affected_index))
                {
                    per_record.entry(record_index).or_default().push(affected);
                }
            }
            for (record_index, entries) in per_record {
                let Some(record) = self.records.get(record_index) else {
                    continue;
                };
                let mut matched = Vec::new();
                let mut fixed = Vec::new();
                let mut notes = Vec::new();
                for affected in entries {
                    let Some(package) = &affected.package else {
                        continue;
                    };
                    if !ecosystem_covers(&package.ecosystem, &ecosystem) {
                        continue;
                    }
                    let evaluation = evaluate(affected, &package.ecosystem, &version);
                    notes.extend(evaluation.notes);
                    if evaluation.affected {
                        matched.push(affected);
                        fixed.extend(evaluation.fixed);
                    }
                }
                if matched.is_empty() {
                    report
                        .notes
                        .extend(notes.into_iter().map(|reason| MatchNote {
                            advisory: record.id.clone(),
                            purl: component.purl.clone(),
                            reason,
                        }));
                    continue;
                }
                fixed.sort();
                fixed.dedup();
                let rating = rate(record, &matched);
                let informational = matched.iter().find_map(|affected| {
                    affected
                        .database_specific
                        .as_ref()?
                        .get("informational")?
                        .as_str()
                        .map(str::to_string)
                });
                let path = paths
                    .get_or_insert_with(|| DependencyPaths::new(inventory))
                    .path_to(&component.purl);
                report.findings.push(VulnFinding {
                    advisory: record.id.clone(),
                    aliases: record.aliases.clone(),
                    summary: record.summary.clone(),
                    ecosystem: ecosystem.clone(),
                    package: name.clone(),
                    purl: component.purl.clone(),
                    version: component.version.clone(),
                    fixed,
                    severity: rating.severity,
                    score: rating.score,
                    vector: rating.vector,
                    severity_source: rating.source,
                    path,
                    sources: component.sources.clone(),
                    informational,
                    withdrawn: false,
                });
            }
        }
        report
            .findings
            .sort_by(|a, b| (&a.purl, &a.advisory).cmp(&(&b.purl, &b.advisory)));
        report
    }
}

/// Orders RFC 3339 times with and without fractional seconds (`…:23Z` before `…:23.5Z`,
/// which string order gets wrong).
fn time_key(time: &str) -> (&str, &str) {
    let time = time.trim().trim_end_matches(['Z', 'z']);
    time.split_once('.').unwrap_or((time, ""))
}

/// The index key of a package: (ecosystem family, normalised name). The store keys its
/// `advisory_packages` rows the same way.
pub fn package_key(ecosystem: &str, name: &str) -> (String, String) {
    (
        split_ecosystem(ecosystem).0.to_string(),
        normalize_name(ecosystem, name),
    )
}

/// The index keys of every package a record names, deduplicated: what the store indexes.
pub fn record_keys(record: &Record) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = record
        .affected
        .iter()
        .filter_map(|affected| affected.package.as_ref())
        .map(|package| package_key(&package.ecosystem, &package.name))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The index keys of every component of an inventory, deduplicated: what to ask the store
/// for before a scan.
pub fn inventory_keys(inventory: &Inventory) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = inventory
        .components
        .iter()
        .filter_map(osv_package)
        .map(|(ecosystem, name)| package_key(&ecosystem, &name))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The OSV ecosystem and package name of a component: `crates.io`, `npm` (`@scope/name`),
/// `PyPI`, `Go` (module path), `RubyGems`, `Maven` (`group:artifact`), `Packagist`
/// (`vendor/name`), `Debian:<major>` / `Ubuntu:<release>` by source package, and
/// `Alpine:v<major.minor>` by origin. A distribution package whose release is unknown gets
/// the bare family (`Debian`), which every release's records cover.
pub fn osv_package(component: &Component) -> Option<(String, String)> {
    let name = component.display_name();
    Some(match component.ecosystem {
        Ecosystem::Cargo => ("crates.io".into(), name),
        Ecosystem::Npm => ("npm".into(), name),
        Ecosystem::Pypi => ("PyPI".into(), name),
        Ecosystem::Golang => ("Go".into(), name),
        Ecosystem::Gem => ("RubyGems".into(), name),
        Ecosystem::Maven => ("Maven".into(), name),
        Ecosystem::Composer => ("Packagist".into(), name),
        Ecosystem::Deb => {
            let source = property(component, "slipway:deb:source")
                .and_then(|source| source.split_whitespace().next())
                .unwrap_or(&component.name);
            let namespace = component.namespace.as_deref().unwrap_or("debian");
            let release = distro_release(&component.purl);
            let ecosystem = match (namespace, release) {
                ("ubuntu", Some((id, version))) if id == "ubuntu" => format!("Ubuntu:{version}"),
                ("ubuntu", _) => "Ubuntu".to_string(),
                (_, Some((id, version))) if id == "debian" => {
                    let major = version.split('.').next().unwrap_or(&version).to_string();
                    format!("Debian:{major}")
                }
                _ => "Debian".to_string(),
            };
            (ecosystem, source.to_string())
        }
        Ecosystem::Apk => {
            let origin = property(component, "slipway:apk:origin").unwrap_or(&component.name);
            let namespace = component.namespace.as_deref().unwrap_or("alpine");
            let ecosystem = match (namespace, distro_release(&component.purl)) {
                ("wolfi", _) => "Wolfi".to_string(),
                ("chainguard", _) => "Chainguard".to_string(),
                (_, Some((id, version))) if id == "alpine" => {
                    let mut parts = version.split('.');
                    match (parts.next(), parts.next()) {
                        (Some(major), Some(minor)) => format!("Alpine:v{major}.{minor}"),
                        _ => "Alpine".to_string(),
                    }
                }
                _ => "Alpine".to_string(),
            };
            (ecosystem, origin.to_string())
        }
    })
}

/// The version to match: the source package's version for a Debian binary package built
/// from a differently versioned source (`Source: glibc (2.36-9)`), otherwise the installed
/// version.
pub fn osv_version(component: &Component) -> String {
    if component.ecosystem == Ecosystem::Deb
        && let Some(source) = property(component, "slipway:deb:source")
        && let Some((_, rest)) = source.split_once('(')
        && let Some((version, _)) = rest.split_once(')')
        && !version.trim().is_empty()
    {
        return version.trim().to_string();
    }
    component.version.clone()
}

fn property<'a>(component: &'a Component, name: &str) -> Option<&'a str> {
    component
        .properties
        .iter()
        .find(|property| property.name == name)
        .map(|property| property.value.as_str())
}

/// The `distro` qualifier of a purl (`debian-12`) as (id, version).
fn distro_release(purl: &str) -> Option<(String, String)> {
    let (_, query) = purl.split_once('?')?;
    let query = query.split('#').next().unwrap_or(query);
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("distro="))?;
    let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
    let (id, version) = value.split_once('-')?;
    (!id.is_empty() && !version.is_empty()).then(|| (id.to_ascii_lowercase(), version.to_string()))
}

/// Shortest paths from the roots of the dependency graph: components that record their
/// dependencies and that nothing depends on. A breadth-first search from all roots at once,
/// roots and edges in purl order, so ties break the same way every time.
struct DependencyPaths {
    parent: HashMap<String, Option<String>>,
}

impl DependencyPaths {
    fn new(inventory: &Inventory) -> Self {
        let depended_on: HashSet<&str> = inventory
            .components
            .iter()
            .filter_map(|component| component.dependencies.as_ref())
            .flatten()
            .map(String::as_str)
            .collect();
        let edges: HashMap<&str, &[String]> = inventory
            .components
            .iter()
            .filter_map(|component| {
                Some((component.purl.as_str(), component.dependencies.as_deref()?))
            })
            .collect();
        let mut roots: Vec<&str> = inventory
            .components
            .iter()
            .filter(|component| {
                component.dependencies.is_some() && !depended_on.contains(component.purl.as_str())
            })
            .map(|component| component.purl.as_str())
            .collect();
        roots.sort_unstable();
        let mut parent: HashMap<String, Option<String>> = HashMap::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        for root in roots {
            parent.insert(root.to_string(), None);
            queue.push_back(root);
        }
        while let Some(node) = queue.pop_front() {
            let mut children: Vec<&String> = edges
                .get(node)
                .map(|dependencies| dependencies.iter().collect())
                .unwrap_or_default();
            children.sort_unstable();
            for child in children {
                if !parent.contains_key(child.as_str()) {
                    parent.insert(child.clone(), Some(node.to_string()));
                    queue.push_back(child.as_str());
                }
            }
        }
        DependencyPaths { parent }
    }

    /// The purls from a root to `purl`, both included; empty when `purl` is not reachable.
    fn path_to(&self, purl: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut current = Some(purl.to_string());
        while let Some(node) = current {
            let Some(parent) = self.parent.get(&node) else {
                return Vec::new();
            };
            path.push(node);
            current = parent.clone();
            if path.len() > self.parent.len() {
                return Vec::new();
            }
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_copy_of_a_record_wins() {
        let record = |modified: &str, summary: &str| {
            let mut record: Record = serde_json::from_value(serde_json::json!({
                "id": "X-1", "modified": modified, "summary": summary
            }))
            .unwrap();
            record.summary = Some(summary.to_string());
            record
        };
        let index = Index::new([
            record("2024-01-01T00:00:00.5Z", "newer"),
            record("2024-01-01T00:00:00Z", "older"),
        ]);
        assert_eq!(index.len(), 1);
        assert_eq!(index.records()[0].summary.as_deref(), Some("newer"));
    }

    #[test]
    fn distro_qualifiers_are_read_from_purls() {
        assert_eq!(
            distro_release("pkg:deb/debian/curl@7.88.1-10%2Bdeb12u7?arch=amd64&distro=debian-12"),
            Some(("debian".into(), "12".into()))
        );
        assert_eq!(
            distro_release("pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"),
            Some(("alpine".into(), "3.20.3".into()))
        );
        assert_eq!(distro_release("pkg:deb/debian/curl@1"), None);
        assert_eq!(
            distro_release("pkg:apk/wolfi/a@1?distro=wolfi%2Drolling"),
            Some(("wolfi".into(), "rolling".into()))
        );
    }
}
