//! Rust binaries built with `cargo auditable`: the zlib-compressed JSON dependency list in
//! their `.dep-v0` section, read through the `auditable-info` crate.

use crate::lockfile::Parsed;
use crate::{Component, Ecosystem, purl};
use auditable_serde::{DependencyKind, Source};

/// The decompressed JSON may be at most this large (the crate's own default): a bound
/// against zip bombs in untrusted artifacts.
const MAX_JSON_BYTES: usize = 8 * 1024 * 1024;

/// Executable formats `auditable-info` can read: ELF, Mach-O (both byte orders, 32/64-bit,
/// fat) and PE.
pub(crate) fn looks_like_binary(prefix: &[u8]) -> bool {
    prefix.starts_with(b"\x7fELF")
        || prefix.starts_with(b"MZ")
        || matches!(
            prefix.get(..4),
            Some(
                [0xfe, 0xed, 0xfa, 0xce | 0xcf]
                    | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
                    | [0xca, 0xfe, 0xba, 0xbe]
            )
        )
}

/// The crates a binary was built from, or `None` when it carries no audit data (most
/// binaries) or the data is unreadable.
pub(crate) fn parse(path: &str, binary: &[u8]) -> Option<Parsed> {
    let info = auditable_info::audit_info_from_slice(binary, MAX_JSON_BYTES).ok()?;
    let mut parsed = Parsed::default();
    let purls: Vec<Option<String>> = info
        .packages
        .iter()
        .map(|package| {
            purl::build(
                "cargo",
                None,
                &package.name,
                &package.version.to_string(),
                &[],
            )
        })
        .collect();
    for (package, purl) in info.packages.iter().zip(&purls) {
        let Some(purl) = purl else {
            parsed.skip(path, None, format!("{}: no package URL", package.name));
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
        match &package.source {
            Source::CratesIo => {}
            Source::Local => component.property("slipway:cargo:source", "path"),
            Source::Git => component.property("slipway:cargo:source", "git"),
            Source::Registry => component.property("slipway:cargo:source", "registry"),
            other => component.property("slipway:cargo:source", String::from(other.clone())),
        }
        if package.kind == DependencyKind::Build {
            component.property("slipway:cargo:kind", "build");
        }
        let dependencies = package
            .dependencies
            .iter()
            .filter_map(|&index| purls.get(index).cloned().flatten())
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    Some(parsed)
}
