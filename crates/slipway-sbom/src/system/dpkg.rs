//! Debian's dpkg database: `var/lib/dpkg/status` (installed packages only) and the
//! per-package files of `var/lib/dpkg/status.d/` that distroless images ship instead.

use super::{Distro, paragraphs};
use crate::lockfile::Parsed;
use crate::{Component, Ecosystem, purl};
use std::collections::BTreeMap;

/// Reads one status file. `distroless` files have no `Status:` field: every paragraph is an
/// installed package.
pub(crate) fn parse(path: &str, text: &str, distro: &Distro) -> Parsed {
    let mut parsed = Parsed::default();
    let mut packages = Vec::new();
    for paragraph in paragraphs(text) {
        let field = |name: &str| {
            paragraph
                .iter()
                .find(|(key, _, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value, line)| (value.as_str(), *line))
        };
        let Some((name, line)) = field("Package") else {
            continue;
        };
        // `install ok installed`: the third word is the state; config-files etc. are gone.
        if let Some((status, _)) = field("Status")
            && status.split_whitespace().nth(2) != Some("installed")
        {
            continue;
        }
        let Some((version, _)) = field("Version") else {
            parsed.skip(path, Some(line), format!("{name}: no Version field"));
            continue;
        };
        let arch = field("Architecture").map_or("", |(arch, _)| arch);
        let distro_qualifier = distro.qualifier("debian");
        let qualifiers = [("arch", arch), ("distro", distro_qualifier.as_str())];
        let namespace = distro.namespace("debian");
        let Some(purl) = purl::build("deb", Some(namespace), name, version, &qualifiers) else {
            parsed.skip(path, Some(line), format!("{name}: no package URL"));
            continue;
        };
        let depends: Vec<String> = ["Pre-Depends", "Depends"]
            .iter()
            .filter_map(|f| field(f))
            .flat_map(|(value, _)| value.split(','))
            .map(str::to_string)
            .collect();
        let mut component = Component::new(
            Ecosystem::Deb,
            Some(namespace.to_string()),
            name,
            version,
            purl,
            path,
        );
        if let Some((source, _)) = field("Source") {
            component.property("slipway:deb:source", source);
        }
        packages.push((component, depends));
    }
    let by_name: BTreeMap<String, String> = packages
        .iter()
        .map(|(c, _)| (c.name.to_ascii_lowercase(), c.purl.clone()))
        .collect();
    for (mut component, depends) in packages {
        // `a (>= 1) | b, c:any`: the first alternative that is installed.
        let dependencies = depends
            .iter()
            .filter_map(|group| {
                group.split('|').find_map(|alternative| {
                    let name = alternative.split(['(', ' ', ':']).find(|w| !w.is_empty())?;
                    by_name.get(&name.to_ascii_lowercase()).cloned()
                })
            })
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library
 multi-line description

Package: curl
Status: install ok installed
Architecture: amd64
Version: 7.88.1-10+deb12u7
Depends: libcurl4 (= 7.88.1-10+deb12u7) | libc6:any (>= 2.34), zlib1g

Package: removed
Status: deinstall ok config-files
Version: 1.0
";

    #[test]
    fn installed_packages_with_purls_and_edges() {
        let distro = Distro::from_os_release("ID=debian\nVERSION_ID=\"12\"\n");
        let parsed = parse("var/lib/dpkg/status", STATUS, &distro);
        let purls: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12",
                "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u7?arch=amd64&distro=debian-12",
            ]
        );
        assert_eq!(
            parsed.components[1].dependencies.as_ref().unwrap(),
            &[purls[0].to_string()]
        );
        assert_eq!(parsed.components[0].properties[0].value, "glibc");
    }
}
