//! `pnpm-lock.yaml`: lockfileVersion 6 (`/name@version(peers)` keys, edges and `dev` flags in
//! `packages`) and 9 (`name@version` keys, edges in `snapshots`, dev-ness found by walking
//! from the importers); version 5's `/name/version` keys are read too.

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, Scope, purl};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const HINT: &str = "regenerate it with `pnpm install --lockfile-only`";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PnpmLock {
    lockfile_version: Option<LockfileVersion>,
    #[serde(default)]
    importers: BTreeMap<String, Importer>,
    #[serde(flatten)]
    root: Importer,
    #[serde(default)]
    packages: BTreeMap<String, PackageEntry>,
    #[serde(default)]
    snapshots: BTreeMap<String, Snapshot>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LockfileVersion {
    Text(String),
    Number(f64),
}

/// A workspace project: what it depends on directly.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Importer {
    dependencies: BTreeMap<String, DependencySpec>,
    optional_dependencies: BTreeMap<String, DependencySpec>,
    dev_dependencies: BTreeMap<String, DependencySpec>,
}

/// Version 5 writes the resolved version; 6 and 9 write `{specifier, version}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum DependencySpec {
    Version(String),
    Detailed { version: String },
}

impl DependencySpec {
    fn version(&self) -> &str {
        match self {
            DependencySpec::Version(version) | DependencySpec::Detailed { version } => version,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackageEntry {
    name: Option<String>,
    version: Option<String>,
    resolution: Resolution,
    dev: Option<bool>,
    dependencies: BTreeMap<String, String>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Resolution {
    integrity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Snapshot {
    dependencies: BTreeMap<String, String>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// `/name/version_peers`
    V5,
    /// `/name@version(peers)`
    V6,
    /// `name@version(peers)`, edges in `snapshots`
    V9,
}

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lock: PnpmLock =
        serde_saphyr::from_str(text).map_err(|error| Error::yaml(path, &error, HINT))?;
    let major = match &lock.lockfile_version {
        Some(LockfileVersion::Text(text)) => text.split('.').next().and_then(|m| m.parse().ok()),
        Some(LockfileVersion::Number(number)) if number.is_finite() && *number >= 0.0 => {
            // Truncation is the point: 5.4 is generation 5.
            Some(*number as u32)
        }
        _ => None,
    };
    let generation = match major {
        Some(5) => Generation::V5,
        Some(6..=8) => Generation::V6,
        Some(9..) => Generation::V9,
        _ => {
            return Err(Error::invalid(
                path,
                "unsupported or missing `lockfileVersion` (5, 6 and 9 are read)",
                HINT,
            ));
        }
    };
    let mut parsed = Parsed::default();
    // Package keys without their peer suffix, and the purl each stands for.
    let mut purls: BTreeMap<String, String> = BTreeMap::new();
    for (key, entry) in &lock.packages {
        let base = strip_peers(key, generation);
        let split = split_key(base, generation);
        let name = entry.name.as_deref().or(split.map(|(name, _)| name));
        let version = entry
            .version
            .as_deref()
            .or(split.map(|(_, version)| version));
        match (name, version) {
            (Some(name), Some(version)) => match purl::npm(name, version) {
                Some(purl) => {
                    purls.insert(base.to_string(), purl);
                }
                None => parsed.skip(path, None, format!("{key}: no package URL can be formed")),
            },
            _ => parsed.skip(path, None, format!("{key}: no name and version")),
        }
    }
    // Edges, from `packages` (5, 6) or `snapshots` (9), keyed by package key.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add_edges = |key: &str, deps: &[&BTreeMap<String, String>]| {
        let base = strip_peers(key, generation).to_string();
        let targets = edges.entry(base).or_default();
        for (name, reference) in deps.iter().flat_map(|d| d.iter()) {
            if let Some(target) = dependency_key(name, reference, generation) {
                targets.insert(strip_peers(&target, generation).to_string());
            }
        }
    };
    if generation == Generation::V9 {
        for (key, snapshot) in &lock.snapshots {
            add_edges(
                key,
                &[&snapshot.dependencies, &snapshot.optional_dependencies],
            );
        }
    } else {
        for (key, entry) in &lock.packages {
            add_edges(key, &[&entry.dependencies, &entry.optional_dependencies]);
        }
    }
    let production = reachable(&lock, &edges, generation);
    for (key, entry) in &lock.packages {
        let base = strip_peers(key, generation);
        let Some(purl) = purls.get(base) else {
            continue;
        };
        let name = entry
            .name
            .as_deref()
            .or(split_key(base, generation).map(|(name, _)| name))
            .unwrap_or_default();
        let version = entry
            .version
            .as_deref()
            .or(split_key(base, generation).map(|(_, version)| version))
            .unwrap_or_default();
        let (scope, bare) = purl::npm_parts(name);
        let mut component = Component::new(
            Ecosystem::Npm,
            scope.map(str::to_string),
            bare,
            version,
            purl.clone(),
            path,
        );
        if let Some(integrity) = &entry.resolution.integrity {
            component.hashes = Hash::from_integrity(integrity);
        }
        let development = match (entry.dev, &production) {
            (Some(dev), _) => dev,
            (None, Some(production)) => !production.contains(base),
            (None, None) => false,
        };
        if development {
            component.scope = Scope::Development;
        }
        let dependencies = edges
            .get(base)
            .into_iter()
            .flatten()
            .filter_map(|target| purls.get(target).cloned())
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    Ok(parsed)
}

/// Drops the peer-dependency suffix: `(peer@1)` from 6 on, `_peer@1` in 5.
fn strip_peers(key: &str, generation: Generation) -> &str {
    let end = match generation {
        Generation::V5 => key.find('_'),
        Generation::V6 | Generation::V9 => key.find('('),
    };
    &key[..end.unwrap_or(key.len())]
}

/// `(name, version)` from a package key without peers.
fn split_key(key: &str, generation: Generation) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let (name, version) = match generation {
        Generation::V5 => key.rsplit_once('/')?,
        // The name may start with `@` (a scope), so the split is at the last `@` after it.
        Generation::V6 | Generation::V9 => {
            let at = key.get(1..)?.rfind('@')? + 1;
            (&key[..at], &key[at + 1..])
        }
    };
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// The package key a dependency reference points at, or `None` for links to workspace
/// folders.
fn dependency_key(name: &str, reference: &str, generation: Generation) -> Option<String> {
    if reference.starts_with("link:") || reference.starts_with("file:") {
        return None;
    }
    Some(match generation {
        Generation::V5 if reference.starts_with('/') => reference.to_string(),
        Generation::V5 => format!("/{name}/{reference}"),
        Generation::V6 if reference.starts_with('/') => reference.to_string(),
        Generation::V6 => format!("/{name}@{reference}"),
        // An alias (`other@1.0.0`) names its package; a plain version is `name@version`.
        Generation::V9 if starts_like_version(reference) => format!("{name}@{reference}"),
        Generation::V9 => reference.to_string(),
    })
}

fn starts_like_version(reference: &str) -> bool {
    reference.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Package keys reachable from the importers' production dependencies, or `None` when the
/// lockfile records dev-ness itself (versions 5 and 6 write `dev:` on every package).
fn reachable(
    lock: &PnpmLock,
    edges: &BTreeMap<String, BTreeSet<String>>,
    generation: Generation,
) -> Option<BTreeSet<String>> {
    if generation != Generation::V9 {
        return None;
    }
    let mut queue: VecDeque<String> = VecDeque::new();
    let importers = lock.importers.values().chain(std::iter::once(&lock.root));
    for importer in importers {
        for (name, spec) in importer
            .dependencies
            .iter()
            .chain(&importer.optional_dependencies)
        {
            if let Some(key) = dependency_key(name, spec.version(), generation) {
                queue.push_back(strip_peers(&key, generation).to_string());
            }
        }
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let empty = BTreeSet::new();
    while let Some(key) = queue.pop_front() {
        if seen.insert(key.clone()) {
            queue.extend(edges.get(&key).unwrap_or(&empty).iter().cloned());
        }
    }
    Some(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V9: &str = r#"lockfileVersion: '9.0'

importers:
  .:
    dependencies:
      '@scope/a':
        specifier: ^1.0.0
        version: 1.0.0(react@18.2.0)
    devDependencies:
      d:
        specifier: ^2.0.0
        version: 2.0.0

packages:
  '@scope/a@1.0.0':
    resolution: {integrity: sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=}
    peerDependencies:
      react: '*'
  b@3.1.0:
    resolution: {integrity: sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=}
  react@18.2.0:
    resolution: {integrity: sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=}
  d@2.0.0:
    resolution: {integrity: sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=}

snapshots:
  '@scope/a@1.0.0(react@18.2.0)':
    dependencies:
      b: 3.1.0
      react: 18.2.0
  b@3.1.0: {}
  react@18.2.0: {}
  d@2.0.0:
    dependencies:
      b: 3.1.0
"#;

    const V6: &str = r#"lockfileVersion: '6.0'

dependencies:
  a:
    specifier: ^1.0.0
    version: 1.0.0

packages:

  /a@1.0.0:
    resolution: {integrity: sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=}
    dependencies:
      '@x/b': 2.0.0(a@1.0.0)
    dev: false

  /@x/b@2.0.0(a@1.0.0):
    resolution: {integrity: sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=}
    dev: true
"#;

    fn summary(parsed: &Parsed) -> Vec<(String, Scope, Vec<String>)> {
        parsed
            .components
            .iter()
            .map(|c| {
                (
                    c.purl.clone(),
                    c.scope,
                    c.dependencies.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn version_9_snapshots_and_dev_reachability() {
        let parsed = parse("pnpm-lock.yaml", V9).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                (
                    "pkg:npm/%40scope/a@1.0.0".to_string(),
                    Scope::Required,
                    vec![
                        "pkg:npm/b@3.1.0".to_string(),
                        "pkg:npm/react@18.2.0".to_string()
                    ]
                ),
                ("pkg:npm/b@3.1.0".to_string(), Scope::Required, vec![]),
                (
                    "pkg:npm/d@2.0.0".to_string(),
                    Scope::Development,
                    vec!["pkg:npm/b@3.1.0".to_string()]
                ),
                ("pkg:npm/react@18.2.0".to_string(), Scope::Required, vec![]),
            ]
        );
    }

    #[test]
    fn version_6_keys_and_dev_flags() {
        let parsed = parse("pnpm-lock.yaml", V6).unwrap();
        assert_eq!(
            summary(&parsed),
            [
                (
                    "pkg:npm/%40x/b@2.0.0".to_string(),
                    Scope::Development,
                    vec![]
                ),
                (
                    "pkg:npm/a@1.0.0".to_string(),
                    Scope::Required,
                    vec!["pkg:npm/%40x/b@2.0.0".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn version_5_keys() {
        assert_eq!(
            split_key("/@babel/core/7.22.0", Generation::V5),
            Some(("@babel/core", "7.22.0"))
        );
        assert_eq!(
            strip_peers("/foo/1.0.0_react@18.2.0", Generation::V5),
            "/foo/1.0.0"
        );
    }

    #[test]
    fn errors_are_located() {
        let error = parse(
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  a@1: [\n",
        )
        .unwrap_err();
        assert!(matches!(error, Error::Syntax { line: 3.., .. }), "{error}");
        let error = parse("pnpm-lock.yaml", "packages: {}\n").unwrap_err();
        assert!(error.to_string().contains("lockfileVersion"), "{error}");
    }
}
