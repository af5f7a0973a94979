//! `Cargo.lock`, through the `cargo-lock` crate (every lockfile version Cargo writes).

use super::Parsed;
use crate::{Component, Ecosystem, Error, Hash, HashAlgorithm, purl};
use cargo_lock::{Lockfile, Package};
use std::collections::HashMap;

const HINT: &str = "regenerate it with `cargo generate-lockfile`";

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let lockfile: Lockfile =
        toml::from_str(text).map_err(|error| Error::toml(path, text, &error, HINT))?;
    let mut parsed = Parsed::default();
    let purls: Vec<Option<String>> = lockfile.packages.iter().map(package_purl).collect();
    // Dependencies name a package by name and version, plus its source when that is ambiguous.
    let mut by_name_version: HashMap<(&str, String), Vec<usize>> = HashMap::new();
    for (index, package) in lockfile.packages.iter().enumerate() {
        by_name_version
            .entry((package.name.as_str(), package.version.to_string()))
            .or_default()
            .push(index);
    }
    for (package, purl) in lockfile.packages.iter().zip(&purls) {
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
            Ecosystem::Cargo,
            None,
            package.name.as_str(),
            package.version.to_string(),
            purl.clone(),
            path,
        );
        if let Some(digest) = package.checksum.as_ref().and_then(|c| c.as_sha256()) {
            component.hashes.push(Hash {
                algorithm: HashAlgorithm::Sha256,
                hex: hex::encode(digest),
            });
        }
        match &package.source {
            None => component.property("slipway:cargo:source", "path"),
            Some(source) if source.is_git() => component.property("slipway:cargo:source", "git"),
            Some(source) if !source.is_default_registry() => {
                component.property("slipway:cargo:source", "registry");
            }
            Some(_) => {}
        }
        let dependencies = package
            .dependencies
            .iter()
            .filter_map(|dependency| {
                let candidates = by_name_version
                    .get(&(dependency.name.as_str(), dependency.version.to_string()))?;
                let chosen = candidates
                    .iter()
                    .find(|&&index| {
                        dependency.source.is_none()
                            || lockfile.packages.get(index).and_then(|p| p.source.as_ref())
                                == dependency.source.as_ref()
                    })
                    .or_else(|| candidates.first())?;
                purls.get(*chosen).cloned().flatten()
            })
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    Ok(parsed)
}

/// `pkg:cargo/name@version`; git sources carry `vcs_url=git+<url>@<commit>`, registries other
/// than crates.io carry `repository_url`.
fn package_purl(package: &Package) -> Option<String> {
    let name = package.name.as_str();
    let version = package.version.to_string();
    let vcs_url;
    let repository_url;
    let qualifiers: Vec<(&str, &str)> = match &package.source {
        Some(source) if source.is_git() => {
            vcs_url = match source.precise() {
                Some(commit) => format!("git+{}@{commit}", source.url()),
                None => format!("git+{}", source.url()),
            };
            vec![("vcs_url", vcs_url.as_str())]
        }
        Some(source) if source.is_registry() && !source.is_default_registry() => {
            repository_url = source.url().to_string();
            vec![("repository_url", repository_url.as_str())]
        }
        _ => Vec::new(),
    };
    purl::build("cargo", None, name, &version, &qualifiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
 "tokio 1.40.0",
 "forked",
]

[[package]]
name = "serde"
version = "1.0.210"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "c8e3592472072e6e22e0a54d5904d9febf8508f65fb8552499a1abc7d1078c3a"

[[package]]
name = "tokio"
version = "1.40.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "e2b070231665d27ad9ec9b8df639893f46727666c6767db40317fbe920a5d998"

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://github.com/acme/forked?branch=main#0123456789abcdef0123456789abcdef01234567"
"#;

    #[test]
    fn packages_hashes_sources_and_edges() {
        let parsed = parse("Cargo.lock", LOCK).unwrap();
        let purls: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:cargo/app@0.1.0",
                "pkg:cargo/serde@1.0.210",
                "pkg:cargo/tokio@1.40.0",
                "pkg:cargo/forked@0.2.0?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Facme%2Fforked%400123456789abcdef0123456789abcdef01234567",
            ]
        );
        let app = &parsed.components[0];
        assert_eq!(app.properties[0].value, "path");
        assert_eq!(app.dependencies.as_ref().unwrap().len(), 3);
        assert_eq!(
            parsed.components[1].hashes[0].hex,
            "c8e3592472072e6e22e0a54d5904d9febf8508f65fb8552499a1abc7d1078c3a"
        );
        assert_eq!(parsed.components[1].dependencies.as_deref(), Some(&[][..]));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let error = parse("x/Cargo.lock", "version = 4\n[[package]\nname = 1\n").unwrap_err();
        let Error::Syntax {
            path, line, column, ..
        } = &error
        else {
            panic!("{error}")
        };
        assert_eq!((path.as_str(), *line, *column), ("x/Cargo.lock", 2, 11));
    }

    #[test]
    fn bad_versions_are_errors_not_panics() {
        let error = parse(
            "Cargo.lock",
            "[[package]]\nname = \"a\"\nversion = \"x.y\"\n",
        )
        .unwrap_err();
        assert!(
            matches!(error, Error::Syntax { line: 1, .. } | Error::Syntax { .. }),
            "{error}"
        );
    }
}
