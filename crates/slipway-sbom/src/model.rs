//! The inventory: components, files and what was skipped, independent of any SBOM format.

use std::collections::{BTreeMap, BTreeSet};

/// Where a component comes from: its package ecosystem (the purl type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    /// Rust crates (Cargo.lock, `cargo auditable` binaries).
    Cargo,
    /// npm packages (package-lock.json, yarn.lock, pnpm-lock.yaml).
    Npm,
    /// Python packages (poetry.lock, uv.lock, Pipfile.lock, requirements*.txt).
    Pypi,
    /// Go modules (go.mod, go.sum).
    Golang,
    /// Ruby gems (Gemfile.lock).
    Gem,
    /// Maven artifacts (pom.xml).
    Maven,
    /// PHP packages (composer.lock).
    Composer,
    /// Debian packages (dpkg status database).
    Deb,
    /// Alpine packages (apk installed database).
    Apk,
}

impl Ecosystem {
    /// The purl type of the ecosystem.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Golang => "golang",
            Ecosystem::Gem => "gem",
            Ecosystem::Maven => "maven",
            Ecosystem::Composer => "composer",
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
        }
    }
}

/// A digest algorithm a lockfile or database records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (npm's older integrity values, Composer's `shasum`, yarn's URL fragments).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512 (npm integrity).
    Sha512,
}

impl HashAlgorithm {
    /// The algorithm's name in CycloneDX (`SHA-256`).
    pub fn cyclonedx_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// The algorithm's name in SPDX (`SHA256`).
    pub fn spdx_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA1",
            HashAlgorithm::Sha256 => "SHA256",
            HashAlgorithm::Sha384 => "SHA384",
            HashAlgorithm::Sha512 => "SHA512",
        }
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Reads a lockfile's algorithm label (`sha256`, `sha512`, ...).
    pub fn from_label(label: &str) -> Option<Self> {
        match label.to_ascii_lowercase().as_str() {
            "sha1" => Some(HashAlgorithm::Sha1),
            "sha256" => Some(HashAlgorithm::Sha256),
            "sha384" => Some(HashAlgorithm::Sha384),
            "sha512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// A digest of a component's distributed artifact, as lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// The digest, lowercase hex of exactly `algorithm.digest_len()` bytes.
    pub hex: String,
}

impl Hash {
    /// A hash from hex text; `None` unless it is hex of the algorithm's length.
    pub fn from_hex(algorithm: HashAlgorithm, hex: &str) -> Option<Self> {
        let valid =
            hex.len() == algorithm.digest_len() * 2 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Hash {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// A hash from standard base64 (npm/pnpm/yarn `integrity`); `None` unless it decodes to
    /// the algorithm's length.
    pub fn from_base64(algorithm: HashAlgorithm, text: &str) -> Option<Self> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?;
        (bytes.len() == algorithm.digest_len()).then(|| Hash {
            algorithm,
            hex: hex::encode(bytes),
        })
    }

    /// Reads a Subresource Integrity value (`sha512-<base64> sha1-<base64>`): every entry
    /// with a known algorithm and a well-formed digest.
    pub fn from_integrity(integrity: &str) -> Vec<Self> {
        integrity
            .split_whitespace()
            .filter_map(|entry| {
                let (label, digest) = entry.split_once('-')?;
                // SRI allows `?options` after the digest.
                let digest = digest.split('?').next().unwrap_or_default();
                Hash::from_base64(HashAlgorithm::from_label(label)?, digest)
            })
            .collect()
    }

    /// Reads `algorithm:hex` (`sha256:ab12...`), as Python lockfiles write them.
    pub fn from_prefixed_hex(text: &str) -> Option<Self> {
        let (label, hex) = text.trim().split_once(':')?;
        Hash::from_hex(HashAlgorithm::from_label(label)?, hex)
    }
}

/// Whether a component is needed at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Part of what runs (or could not be told apart).
    Required,
    /// Only for development and tests (npm `dev`, Poetry's dev group, Pipenv's `develop`,
    /// Maven's `test` scope, Composer's `packages-dev`).
    Development,
}

/// A name/value pair that has no field of its own (CycloneDX `properties`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Property {
    /// Namespaced name, `slipway:<topic>`.
    pub name: String,
    /// The value.
    pub value: String,
}

/// One package found in a lockfile, a package database or a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// The package ecosystem.
    pub ecosystem: Ecosystem,
    /// The purl namespace (npm scope with its `@`, Maven group, Composer vendor, Go module
    /// prefix, distribution), when the ecosystem has one.
    pub namespace: Option<String>,
    /// The package name within the namespace.
    pub name: String,
    /// The version exactly as the source records it.
    pub version: String,
    /// The canonical package URL, which identifies the component.
    pub purl: String,
    /// Digests of the distributed artifact, sorted.
    pub hashes: Vec<Hash>,
    /// The files it was found in, relative to the scanned directory with `/`, sorted.
    pub sources: Vec<String>,
    /// Run time or development only.
    pub scope: Scope,
    /// The purls it depends on, sorted, when the source records dependencies; `None` when
    /// the source cannot tell (an empty list means "depends on nothing").
    pub dependencies: Option<Vec<String>>,
    /// Facts without a field of their own, sorted.
    pub properties: Vec<Property>,
}

impl Component {
    /// A component with no hashes, dependencies or properties yet.
    pub(crate) fn new(
        ecosystem: Ecosystem,
        namespace: Option<String>,
        name: impl Into<String>,
        version: impl Into<String>,
        purl: String,
        source: &str,
    ) -> Self {
        Component {
            ecosystem,
            namespace,
            name: name.into(),
            version: version.into(),
            purl,
            hashes: Vec::new(),
            sources: vec![source.to_string()],
            scope: Scope::Required,
            dependencies: None,
            properties: Vec::new(),
        }
    }

    /// The name as its ecosystem writes it: `@scope/name` (npm), `group:artifact` (Maven),
    /// `vendor/name` (Composer), the full module path (Go), else the bare name.
    pub fn display_name(&self) -> String {
        match (&self.namespace, self.ecosystem) {
            (Some(namespace), Ecosystem::Maven) => format!("{namespace}:{}", self.name),
            (Some(namespace), Ecosystem::Npm | Ecosystem::Composer | Ecosystem::Golang) => {
                format!("{namespace}/{}", self.name)
            }
            _ => self.name.clone(),
        }
    }

    pub(crate) fn property(&mut self, name: &str, value: impl Into<String>) {
        self.properties.push(Property {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Folds another sighting of the same purl into this one.
    fn absorb(&mut self, other: Component) {
        self.hashes.extend(other.hashes);
        self.sources.extend(other.sources);
        self.properties.extend(other.properties);
        if other.scope == Scope::Required {
            self.scope = Scope::Required;
        }
        match (&mut self.dependencies, other.dependencies) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs),
            (_, None) => {}
        }
    }

    fn normalize(&mut self) {
        sort_dedup(&mut self.hashes);
        sort_dedup(&mut self.sources);
        sort_dedup(&mut self.properties);
        if let Some(dependencies) = &mut self.dependencies {
            sort_dedup(dependencies);
            let own = self.purl.as_str();
            dependencies.retain(|purl| purl != own);
        }
    }
}

fn sort_dedup<T: Ord>(items: &mut Vec<T>) {
    items.sort();
    items.dedup();
}

/// A regular file of a scanned artifact, so the SBOM seals its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileEntry {
    /// Path relative to the artifact root, with `/`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents, lowercase hex.
    pub sha256: String,
    /// SHA-1 of the contents, lowercase hex (SPDX 2.3 requires it for files).
    pub sha1: String,
}

/// Something seen but left out of the inventory, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    /// The file, relative to the scanned directory with `/`.
    pub path: String,
    /// The 1-based line, for line-oriented formats.
    pub line: Option<usize>,
    /// Why it was left out.
    pub reason: String,
}

/// Everything a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Packages, one per purl, sorted by purl.
    pub components: Vec<Component>,
    /// Regular files of an artifact (empty for a source scan), sorted by path.
    pub files: Vec<FileEntry>,
    /// What was left out, sorted.
    pub skipped: Vec<Skipped>,
    /// The files the components were read from (lockfiles, package databases, binaries),
    /// sorted.
    pub sources: Vec<String>,
}

impl Inventory {
    /// Builds an inventory from raw sightings: one component per purl (hashes, sources,
    /// properties and dependencies merged), dependencies on purls that are not in the
    /// inventory dropped, everything sorted.
    pub fn from_parts(
        components: Vec<Component>,
        mut files: Vec<FileEntry>,
        mut skipped: Vec<Skipped>,
        sources: Vec<String>,
    ) -> Self {
        let mut by_purl: BTreeMap<String, Component> = BTreeMap::new();
        for component in components {
            match by_purl.get_mut(&component.purl) {
                Some(existing) => existing.absorb(component),
                None => {
                    by_purl.insert(component.purl.clone(), component);
                }
            }
        }
        let known: BTreeSet<String> = by_purl.keys().cloned().collect();
        let mut components: Vec<Component> = by_purl.into_values().collect();
        for component in &mut components {
            component.normalize();
            if let Some(dependencies) = &mut component.dependencies {
                dependencies.retain(|purl| known.contains(purl));
            }
        }
        files.sort();
        files.dedup_by(|a, b| a.path == b.path);
        sort_dedup(&mut skipped);
        let mut sources = sources;
        sort_dedup(&mut sources);
        Inventory {
            components,
            files,
            skipped,
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(purl: &str, source: &str) -> Component {
        Component::new(Ecosystem::Npm, None, "a", "1.0.0", purl.to_string(), source)
    }

    #[test]
    fn duplicates_merge_by_purl() {
        let mut dev = component("pkg:npm/a@1.0.0", "b/package-lock.json");
        dev.scope = Scope::Development;
        dev.dependencies = Some(vec!["pkg:npm/b@1.0.0".into(), "pkg:npm/gone@1".into()]);
        let mut required = component("pkg:npm/a@1.0.0", "a/package-lock.json");
        required.hashes = Hash::from_integrity("sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
        let other = component("pkg:npm/b@1.0.0", "a/package-lock.json");
        let inventory = Inventory::from_parts(vec![dev, other, required], vec![], vec![], vec![]);
        assert_eq!(inventory.components.len(), 2);
        let merged = &inventory.components[0];
        assert_eq!(merged.scope, Scope::Required);
        assert_eq!(
            merged.sources,
            ["a/package-lock.json", "b/package-lock.json"]
        );
        assert_eq!(merged.hashes.len(), 1);
        assert_eq!(
            merged.dependencies.as_deref(),
            Some(&["pkg:npm/b@1.0.0".to_string()][..]),
            "a dependency outside the inventory is dropped"
        );
    }

    #[test]
    fn integrity_values_decode_to_hex() {
        let hashes = Hash::from_integrity(
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg== sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= md5-xyz",
        );
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0].algorithm, HashAlgorithm::Sha512);
        assert_eq!(
            hashes[1],
            Hash {
                algorithm: HashAlgorithm::Sha1,
                hex: "da39a3ee5e6b4b0d3255bfef95601890afd80709".into()
            }
        );
        assert!(Hash::from_prefixed_hex("sha256:abc").is_none(), "too short");
    }
}
