//! `composer.lock`: `packages` and `packages-dev`, dist SHA-1 sums, and `require` edges.

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, HashAlgorithm, Scope, purl};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

const HINT: &str = "regenerate it with `composer update --lock`";

#[derive(Deserialize)]
struct ComposerLock {
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    dist: Option<Dist>,
    #[serde(default)]
    require: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct Dist {
    shasum: Option<String>,
}

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lock: ComposerLock =
        serde_json::from_str(text).map_err(|error| Error::json(path, &error, HINT))?;
    let mut parsed = Parsed::default();
    let all = lock
        .packages
        .iter()
        .map(|p| (p, Scope::Required))
        .chain(lock.packages_dev.iter().map(|p| (p, Scope::Development)));
    let mut entries = Vec::new();
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for (package, scope) in all {
        let (vendor, name) = match package.name.split_once('/') {
            Some((vendor, name)) => (Some(vendor), name),
            None => (None, package.name.as_str()),
        };
        match purl::build("composer", vendor, name, &package.version, &[]) {
            Some(purl) => {
                by_name.insert(package.name.to_ascii_lowercase(), purl.clone());
                entries.push((package, scope, vendor, name, purl));
            }
            None => parsed.skip(
                path,
                None,
                format!(
                    "{}: a package name needs a vendor (`vendor/name`)",
                    package.name
                ),
            ),
        }
    }
    for (package, scope, vendor, name, purl) in entries {
        let mut component = Component::new(
            Ecosystem::Composer,
            vendor.map(str::to_ascii_lowercase),
            name.to_ascii_lowercase(),
            package.version.as_str(),
            purl,
            path,
        );
        component.scope = scope;
        if let Some(shasum) = package.dist.as_ref().and_then(|d| d.shasum.as_deref()) {
            component
                .hashes
                .extend(Hash::from_hex(HashAlgorithm::Sha1, shasum));
        }
        let dependencies = package
            .require
            .keys()
            .filter_map(|name| by_name.get(&name.to_ascii_lowercase()).cloned())
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_dev_and_edges() {
        let lock = r#"{
  "packages": [
    {"name": "Monolog/Monolog", "version": "3.7.0", "require": {"php": ">=8.1", "psr/log": "^2.0 || ^3.0"},
     "dist": {"type": "zip", "shasum": "f4393b648b78a5408747de94fca38beb5f7e9ef8"}},
    {"name": "psr/log", "version": "3.0.2", "dist": {"shasum": ""}}
  ],
  "packages-dev": [{"name": "phpunit/phpunit", "version": "11.3.6"}]
}"#;
        let parsed = parse("composer.lock", lock).unwrap();
        let monolog = &parsed.components[0];
        assert_eq!(monolog.purl, "pkg:composer/monolog/monolog@3.7.0");
        assert_eq!(monolog.hashes.len(), 1);
        assert_eq!(
            monolog.dependencies.as_deref(),
            Some(&["pkg:composer/psr/log@3.0.2".to_string()][..])
        );
        assert!(parsed.components[1].hashes.is_empty());
        assert_eq!(parsed.components[2].scope, Scope::Development);
    }

    #[test]
    fn missing_version_is_located() {
        let error = parse(
            "composer.lock",
            "{\"packages\": [\n  {\"name\": \"a/b\"}\n]}",
        )
        .unwrap_err();
        assert!(matches!(error, Error::Syntax { line: 2, .. }), "{error}");
    }
}
