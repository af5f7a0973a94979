//! `uv.lock`: `[[package]]` tables with sdist and wheel hashes, dependencies by name (and
//! version when a name resolves to several), and dev-ness found by walking from the project.

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, Scope, purl};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

const HINT: &str = "regenerate it with `uv lock`";

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    dependencies: Vec<Dependency>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<Dependency>>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, Vec<Dependency>>,
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Deserialize)]
struct Dependency {
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct Artifact {
    hash: Option<String>,
}

/// Sources that are the project itself (or its workspace members), not a dependency.
const PROJECT_SOURCES: [&str; 3] = ["editable", "virtual", "workspace"];

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lock: UvLock =
        toml::from_str(text).map_err(|error| Error::toml(path, text, &error, HINT))?;
    let mut parsed = Parsed::default();
    let purls: Vec<Option<String>> = lock
        .package
        .iter()
        .map(|p| purl::pypi(&p.name, p.version.as_deref().unwrap_or_default()))
        .collect();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, package) in lock.package.iter().enumerate() {
        by_name
            .entry(purl::pypi_normalize(&package.name))
            .or_default()
            .push(index);
    }
    let resolve = |dependency: &Dependency| -> Vec<usize> {
        let candidates = by_name
            .get(&purl::pypi_normalize(&dependency.name))
            .map(Vec::as_slice)
            .unwrap_or_default();
        candidates
            .iter()
            .copied()
            .filter(|&index| {
                dependency.version.is_none()
                    || lock.package.get(index).and_then(|p| p.version.as_ref())
                        == dependency.version.as_ref()
            })
            .collect()
    };
    let is_project = |package: &Package| {
        PROJECT_SOURCES
            .iter()
            .any(|key| package.source.contains_key(*key))
    };
    // Production: everything the projects need without their dev groups.
    let mut production: BTreeSet<usize> = BTreeSet::new();
    let mut queue: VecDeque<usize> = (0..lock.package.len())
        .filter(|&index| lock.package.get(index).is_some_and(is_project))
        .collect();
    let has_projects = !queue.is_empty();
    while let Some(index) = queue.pop_front() {
        if !production.insert(index) {
            continue;
        }
        if let Some(package) = lock.package.get(index) {
            let runtime = package
                .dependencies
                .iter()
                .chain(package.optional_dependencies.values().flatten());
            queue.extend(runtime.flat_map(&resolve));
        }
    }
    for (index, (package, purl)) in lock.package.iter().zip(&purls).enumerate() {
        let Some(purl) = purl else {
            parsed.skip(
                path,
                None,
                format!("{}: no package URL can be formed", package.name),
            );
            continue;
        };
        if package.version.is_none() {
            parsed.skip(path, None, format!("{}: no version", package.name));
            continue;
        }
        let mut component = Component::new(
            Ecosystem::Pypi,
            None,
            package.name.as_str(),
            package.version.clone().unwrap_or_default(),
            purl.clone(),
            path,
        );
        component.hashes = package
            .sdist
            .iter()
            .chain(&package.wheels)
            .filter_map(|artifact| Hash::from_prefixed_hex(artifact.hash.as_deref()?))
            .collect();
        if has_projects && !production.contains(&index) {
            component.scope = Scope::Development;
        }
        if let Some(kind) = package.source.keys().find(|k| k.as_str() != "registry") {
            component.property("slipway:pypi:source", kind.as_str());
        }
        let all = package
            .dependencies
            .iter()
            .chain(package.optional_dependencies.values().flatten())
            .chain(package.dev_dependencies.values().flatten());
        let dependencies = all
            .flat_map(&resolve)
            .filter_map(|target| purls.get(target).cloned().flatten())
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
version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "anyio" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "anyio"
version = "4.6.2"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }]
sdist = { url = "https://files/anyio-4.6.2.tar.gz", hash = "sha256:f72a7bb3dd0752b3bd8b17a844a019d77be3a8c5ff9b5c1c2dd2aa1f28a5a3d2", size = 173422 }
wheels = [{ url = "https://files/anyio-4.6.2-py3-none-any.whl", hash = "sha256:6d0f4e4f1e9e1eb9c2d6d3b3b4a1ac5e8f0e5d7e0c1ab7e7dcb1d4d0a0e2b3c4", size = 90377 }]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.3.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }]
"#;

    #[test]
    fn hashes_edges_and_dev_reachability() {
        let parsed = parse("uv.lock", LOCK).unwrap();
        let scopes: Vec<(&str, Scope)> = parsed
            .components
            .iter()
            .map(|c| (c.purl.as_str(), c.scope))
            .collect();
        assert_eq!(
            scopes,
            [
                ("pkg:pypi/app@0.1.0", Scope::Required),
                ("pkg:pypi/anyio@4.6.2", Scope::Required),
                ("pkg:pypi/idna@3.10", Scope::Required),
                ("pkg:pypi/pytest@8.3.3", Scope::Development),
            ]
        );
        assert_eq!(parsed.components[1].hashes.len(), 2);
        assert_eq!(parsed.components[0].dependencies.as_ref().unwrap().len(), 2);
        assert_eq!(parsed.components[0].properties[0].value, "editable");
    }

    #[test]
    fn syntax_errors_are_located() {
        let error = parse(
            "uv.lock",
            "version = 1\n\n[[package]]\nname = \"a\nversion = 1\n",
        )
        .unwrap_err();
        assert!(matches!(error, Error::Syntax { line: 4, .. }), "{error}");
    }
}
