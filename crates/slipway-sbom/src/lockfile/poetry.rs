//! `poetry.lock`: `[[package]]` tables with file hashes, dependency names, and the dev group
//! (`category = "dev"` before Poetry 1.5, `groups` from Poetry 2).

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, Scope, purl};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::{BTreeMap, HashMap};

const HINT: &str = "regenerate it with `poetry lock`";

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    category: Option<String>,
    groups: Option<Vec<String>>,
    #[serde(default)]
    files: Vec<File>,
    #[serde(default)]
    dependencies: BTreeMap<String, IgnoredAny>,
    source: Option<Source>,
}

#[derive(Deserialize)]
struct File {
    hash: Option<String>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lock: PoetryLock =
        toml::from_str(text).map_err(|error| Error::toml(path, text, &error, HINT))?;
    let mut parsed = Parsed::default();
    let purls: Vec<Option<String>> = lock
        .package
        .iter()
        .map(|package| purl::pypi(&package.name, &package.version))
        .collect();
    let mut by_name: HashMap<String, Vec<&str>> = HashMap::new();
    for (package, purl) in lock.package.iter().zip(&purls) {
        if let Some(purl) = purl {
            by_name
                .entry(purl::pypi_normalize(&package.name))
                .or_default()
                .push(purl);
        }
    }
    for (package, purl) in lock.package.iter().zip(&purls) {
        let Some(purl) = purl else {
            parsed.skip(
                path,
                None,
                format!(
                    "{} {}: no package URL can be formed",
                    package.name, package.version
                ),
            );
            continue;
        };
        let mut component = Component::new(
            Ecosystem::Pypi,
            None,
            package.name.as_str(),
            package.version.as_str(),
            purl.clone(),
            path,
        );
        component.hashes = package
            .files
            .iter()
            .filter_map(|file| Hash::from_prefixed_hex(file.hash.as_deref()?))
            .collect();
        let development = match (&package.groups, &package.category) {
            (Some(groups), _) => !groups.iter().any(|group| group == "main"),
            (None, Some(category)) => category == "dev",
            (None, None) => false,
        };
        if development {
            component.scope = Scope::Development;
        }
        if let Some(kind) = package.source.as_ref().and_then(|s| s.kind.as_deref()) {
            component.property("slipway:pypi:source", kind);
        }
        let dependencies = package
            .dependencies
            .keys()
            .filter_map(|name| by_name.get(&purl::pypi_normalize(name)))
            .flatten()
            .map(|purl| (*purl).to_string())
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
[[package]]
name = "Requests"
version = "2.32.3"
optional = false
groups = ["main"]
files = [
    {file = "requests-2.32.3-py3-none-any.whl", hash = "sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6"},
]

[package.dependencies]
charset_normalizer = ">=2,<4"

[[package]]
name = "charset-normalizer"
version = "3.4.0"
groups = ["main"]
files = []

[[package]]
name = "pytest"
version = "8.3.3"
groups = ["dev"]
files = []

[package.dependencies]
colorama = {version = "*", markers = "sys_platform == \"win32\""}
"#;

    #[test]
    fn packages_groups_and_edges() {
        let parsed = parse("poetry.lock", LOCK).unwrap();
        let requests = &parsed.components[0];
        assert_eq!(requests.purl, "pkg:pypi/requests@2.32.3");
        assert_eq!(requests.hashes.len(), 1);
        assert_eq!(
            requests.dependencies.as_deref(),
            Some(&["pkg:pypi/charset-normalizer@3.4.0".to_string()][..])
        );
        assert_eq!(parsed.components[2].scope, Scope::Development);
        assert_eq!(parsed.components[2].dependencies.as_deref(), Some(&[][..]));
    }

    #[test]
    fn missing_fields_are_located() {
        let error = parse("py/poetry.lock", "[[package]]\nname = \"a\"\n").unwrap_err();
        assert!(matches!(&error, Error::Syntax { line: 1, .. }), "{error}");
        assert!(error.to_string().contains("version"), "{error}");
    }
}
