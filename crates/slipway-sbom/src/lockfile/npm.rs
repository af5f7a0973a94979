//! `package-lock.json` / `npm-shrinkwrap.json`, lockfileVersion 2 and 3: the flat `packages`
//! map keyed by install path, resolved the way Node resolves `require`.

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, Scope, purl};
use serde::Deserialize;
use std::collections::BTreeMap;

const HINT: &str = "regenerate it with `npm install --package-lock-only` (npm 7 or later)";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageLock {
    lockfile_version: Option<u32>,
    packages: Option<BTreeMap<String, Entry>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    dev: bool,
    link: bool,
    dependencies: BTreeMap<String, serde_json::Value>,
    optional_dependencies: BTreeMap<String, serde_json::Value>,
    peer_dependencies: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lock: PackageLock =
        serde_json::from_str(text).map_err(|error| Error::json(path, &error, HINT))?;
    let mut parsed = Parsed::default();
    let Some(packages) = lock.packages else {
        let version = lock
            .lockfile_version
            .map_or_else(|| "unknown".to_string(), |v| v.to_string());
        parsed.skip(
            path,
            None,
            format!("lockfileVersion {version} has no `packages` map; {HINT} to get version 3"),
        );
        return Ok(parsed);
    };
    let mut purls: BTreeMap<&str, String> = BTreeMap::new();
    for (key, entry) in &packages {
        if key.is_empty() || entry.link {
            continue;
        }
        let Some(name) = entry.name.as_deref().or_else(|| name_from_key(key)) else {
            parsed.skip(path, None, format!("\"{key}\": no package name"));
            continue;
        };
        let Some(version) = entry.version.as_deref() else {
            parsed.skip(path, None, format!("\"{key}\": no version"));
            continue;
        };
        match purl::npm(name, version) {
            Some(purl) => {
                purls.insert(key, purl);
            }
            None => parsed.skip(
                path,
                None,
                format!("\"{key}\": no package URL can be formed"),
            ),
        }
    }
    for (key, entry) in &packages {
        let Some(purl) = purls.get(key.as_str()) else {
            continue;
        };
        let name = entry
            .name
            .as_deref()
            .or_else(|| name_from_key(key))
            .unwrap_or_default();
        let (scope, bare) = purl::npm_parts(name);
        let mut component = Component::new(
            Ecosystem::Npm,
            scope.map(str::to_string),
            bare,
            entry.version.clone().unwrap_or_default(),
            purl.clone(),
            path,
        );
        if let Some(integrity) = &entry.integrity {
            component.hashes = Hash::from_integrity(integrity);
        }
        if entry.dev {
            component.scope = Scope::Development;
        }
        if !key.starts_with("node_modules/") && !key.contains("/node_modules/") {
            component.property("slipway:npm:source", "workspace");
        } else if let Some(resolved) = entry.resolved.as_deref().filter(|r| !r.starts_with("http"))
        {
            component.property("slipway:npm:resolved", resolved);
        }
        let wanted = entry
            .dependencies
            .keys()
            .chain(entry.optional_dependencies.keys())
            .chain(entry.peer_dependencies.keys());
        let dependencies = wanted
            .filter_map(|dependency| resolve(&packages, key, dependency))
            .filter_map(|target| purls.get(target.as_str()).cloned())
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    Ok(parsed)
}

/// The package name an install path implies: whatever follows its last `node_modules/`.
fn name_from_key(key: &str) -> Option<&str> {
    let (_, name) = key.rsplit_once("node_modules/")?;
    (!name.is_empty()).then_some(name)
}

/// The directory whose `node_modules` is searched next: `a/node_modules/b` → `a`,
/// `node_modules/a` and `packages/x` → the root.
fn parent(key: &str) -> Option<&str> {
    if key.is_empty() {
        return None;
    }
    Some(
        key.rfind("/node_modules/")
            .map_or("", |index| &key[..index]),
    )
}

/// Node's lookup: `<dir>/node_modules/<name>` from the requiring package's own directory
/// upwards, following workspace links to their target.
fn resolve(packages: &BTreeMap<String, Entry>, from: &str, name: &str) -> Option<String> {
    let mut dir = Some(from);
    while let Some(current) = dir {
        let candidate = if current.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{current}/node_modules/{name}")
        };
        if let Some(entry) = packages.get(&candidate) {
            if entry.link {
                return entry.resolved.clone();
            }
            return Some(candidate);
        }
        dir = parent(current);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"@types/node": "^20", "a": "^1", "ws-lib": "*"}},
    "node_modules/@types/node": {"version": "20.1.0", "resolved": "https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz",
      "integrity": "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "dev": true},
    "node_modules/a": {"version": "1.0.0", "dependencies": {"b": "^2"}},
    "node_modules/a/node_modules/b": {"version": "2.0.0", "dependencies": {"c": "^1"}},
    "node_modules/b": {"version": "1.0.0"},
    "node_modules/c": {"version": "1.2.3"},
    "node_modules/ws-lib": {"resolved": "packages/ws-lib", "link": true},
    "packages/ws-lib": {"name": "ws-lib", "version": "0.0.1", "dependencies": {"c": "^1"}}
  }
}"#;

    #[test]
    fn nested_scoped_and_workspace_packages() {
        let parsed = parse("package-lock.json", LOCK).unwrap();
        let by_purl: BTreeMap<&str, &Component> = parsed
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c))
            .collect();
        assert_eq!(
            by_purl.keys().copied().collect::<Vec<_>>(),
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/a@1.0.0",
                "pkg:npm/b@1.0.0",
                "pkg:npm/b@2.0.0",
                "pkg:npm/c@1.2.3",
                "pkg:npm/ws-lib@0.0.1",
            ]
        );
        let types = by_purl["pkg:npm/%40types/node@20.1.0"];
        assert_eq!(types.scope, Scope::Development);
        assert_eq!(types.namespace.as_deref(), Some("@types"));
        assert_eq!(
            types.hashes[0].hex,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            by_purl["pkg:npm/a@1.0.0"].dependencies.as_deref(),
            Some(&["pkg:npm/b@2.0.0".to_string()][..]),
            "the nested b wins over the hoisted one"
        );
        assert_eq!(
            by_purl["pkg:npm/b@2.0.0"].dependencies.as_deref(),
            Some(&["pkg:npm/c@1.2.3".to_string()][..]),
            "c is found by walking up"
        );
        assert_eq!(
            by_purl["pkg:npm/ws-lib@0.0.1"].properties[0].value,
            "workspace"
        );
    }

    #[test]
    fn version_1_is_skipped_with_a_reason() {
        let parsed = parse(
            "package-lock.json",
            r#"{"lockfileVersion": 1, "dependencies": {}}"#,
        )
        .unwrap();
        assert!(parsed.components.is_empty());
        assert!(parsed.skipped[0].reason.contains("lockfileVersion 1"));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let error = parse(
            "web/package-lock.json",
            "{\n  \"packages\": {\n    \"x\": [}\n}",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("web/package-lock.json:3:11: expected value (hint: {HINT})")
        );
    }
}
