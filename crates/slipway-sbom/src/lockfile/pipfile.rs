//! `Pipfile.lock`: the `default` and `develop` sections, `==` pins and their hashes.

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, Scope, purl};
use serde::Deserialize;
use std::collections::BTreeMap;

const HINT: &str = "regenerate it with `pipenv lock`";

#[derive(Deserialize)]
struct PipfileLock {
    #[serde(default)]
    default: BTreeMap<String, Entry>,
    #[serde(default)]
    develop: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
}

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lock: PipfileLock =
        serde_json::from_str(text).map_err(|error| Error::json(path, &error, HINT))?;
    let mut parsed = Parsed::default();
    let sections = [
        (&lock.default, Scope::Required),
        (&lock.develop, Scope::Development),
    ];
    for (entries, scope) in sections {
        for (name, entry) in entries {
            let Some(version) = entry.version.as_deref().and_then(|v| v.strip_prefix("==")) else {
                parsed.skip(
                    path,
                    None,
                    format!("{name}: not pinned with `==` (a VCS, path or editable entry)"),
                );
                continue;
            };
            let Some(purl) = purl::pypi(name, version) else {
                parsed.skip(path, None, format!("{name}: no package URL can be formed"));
                continue;
            };
            let mut component =
                Component::new(Ecosystem::Pypi, None, name.as_str(), version, purl, path);
            component.hashes = entry
                .hashes
                .iter()
                .filter_map(|hash| Hash::from_prefixed_hex(hash))
                .collect();
            component.scope = scope;
            parsed.components.push(component);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_develop_sections() {
        let lock = r#"{
  "_meta": {"hash": {"sha256": "x"}, "pipfile-spec": 6},
  "default": {
    "Flask": {"hashes": ["sha256:f69fcd559dc907ed196ab9df0e48471709175e696d6e698dd4dbe940f96ce66b"], "version": "==3.0.3"},
    "mylib": {"editable": true, "path": "."}
  },
  "develop": {"pytest": {"hashes": [], "version": "==8.3.3"}}
}"#;
        let parsed = parse("Pipfile.lock", lock).unwrap();
        assert_eq!(parsed.components.len(), 2);
        assert_eq!(parsed.components[0].purl, "pkg:pypi/flask@3.0.3");
        assert_eq!(parsed.components[0].hashes.len(), 1);
        assert_eq!(parsed.components[1].scope, Scope::Development);
        assert_eq!(
            parsed.components[0].dependencies, None,
            "Pipfile.lock records no edges"
        );
        assert!(parsed.skipped[0].reason.starts_with("mylib"));
    }

    #[test]
    fn wrong_types_are_located() {
        let error = parse("Pipfile.lock", "{\"default\": {\"a\": {\"version\": 3}}}").unwrap_err();
        assert!(
            matches!(
                error,
                Error::Syntax {
                    line: 1,
                    column: 31,
                    ..
                }
            ),
            "{error}"
        );
    }
}
