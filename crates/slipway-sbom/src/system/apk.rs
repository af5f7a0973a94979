//! Alpine's installed database, `lib/apk/db/installed`: one-letter fields (`P:` name,
//! `V:` version, `A:` arch, `D:` dependencies, `p:` what a package provides).

use super::Distro;
use crate::lockfile::Parsed;
use crate::{Component, Ecosystem, purl};
use std::collections::BTreeMap;

struct Package<'a> {
    name: &'a str,
    version: Option<&'a str>,
    arch: &'a str,
    origin: Option<&'a str>,
    depends: Vec<&'a str>,
    provides: Vec<&'a str>,
    line: usize,
}

pub(crate) fn parse(path: &str, text: &str, distro: &Distro) -> Parsed {
    let mut parsed = Parsed::default();
    let mut packages: Vec<Package> = Vec::new();
    let mut current: Option<Package> = None;
    for (index, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(':') else {
            if line.trim().is_empty() {
                packages.extend(current.take());
            }
            continue;
        };
        if key == "P" {
            packages.extend(current.take());
            current = Some(Package {
                name: value,
                version: None,
                arch: "",
                origin: None,
                depends: Vec::new(),
                provides: Vec::new(),
                line: index + 1,
            });
            continue;
        }
        let Some(package) = current.as_mut() else {
            continue;
        };
        match key {
            "V" => package.version = Some(value),
            "A" => package.arch = value,
            "o" => package.origin = Some(value),
            "D" => package.depends.extend(value.split_whitespace()),
            "p" => package.provides.extend(value.split_whitespace()),
            _ => {}
        }
    }
    packages.extend(current);
    let namespace = distro.namespace("alpine");
    let distro_qualifier = distro.qualifier("alpine");
    // A dependency names a package or something one provides (`so:libc.musl-x86_64.so.1`).
    let mut providers: BTreeMap<&str, String> = BTreeMap::new();
    let mut built = Vec::new();
    for package in &packages {
        let Some(version) = package.version else {
            parsed.skip(
                path,
                Some(package.line),
                format!("{}: no V: field", package.name),
            );
            continue;
        };
        let qualifiers = [
            ("arch", package.arch),
            ("distro", distro_qualifier.as_str()),
        ];
        let Some(purl) = purl::build("apk", Some(namespace), package.name, version, &qualifiers)
        else {
            parsed.skip(
                path,
                Some(package.line),
                format!("{}: no package URL", package.name),
            );
            continue;
        };
        providers.insert(package.name, purl.clone());
        for provided in &package.provides {
            providers
                .entry(bare_name(provided))
                .or_insert_with(|| purl.clone());
        }
        built.push((package, version, purl));
    }
    for (package, version, purl) in built {
        let mut component = Component::new(
            Ecosystem::Apk,
            Some(namespace.to_string()),
            package.name,
            version,
            purl,
            path,
        );
        if let Some(origin) = package.origin {
            component.property("slipway:apk:origin", origin);
        }
        let dependencies = package
            .depends
            .iter()
            .filter(|d| !d.starts_with('!'))
            .filter_map(|d| providers.get(bare_name(d)).cloned())
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    parsed
}

/// `so:libc.so=1.2`, `busybox>=1.36` → the name before any version operator.
fn bare_name(dependency: &str) -> &str {
    let end = dependency
        .find(['=', '<', '>', '~'])
        .unwrap_or(dependency.len());
    &dependency[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTALLED: &str = "\
C:Q1Ucjb/t0x5cI1WM6t/1bXrE0hqF8=
P:musl
V:1.2.5-r0
A:x86_64
o:musl
p:so:libc.musl-x86_64.so.1=1

C:Q1d2fN0uTzpUaXUY9HC5xJ6uD0shw=
P:busybox
V:1.36.1-r29
A:x86_64
D:so:libc.musl-x86_64.so.1 !busybox-extras
";

    #[test]
    fn packages_purls_and_provider_edges() {
        let distro = Distro::from_os_release("ID=alpine\nVERSION_ID=3.20.3\n");
        let parsed = parse("lib/apk/db/installed", INSTALLED, &distro);
        assert_eq!(
            parsed.components[0].purl,
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );
        assert_eq!(
            parsed.components[1].dependencies.as_ref().unwrap(),
            &[parsed.components[0].purl.clone()]
        );
    }
}
