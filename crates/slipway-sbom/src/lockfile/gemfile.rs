//! Bundler's `Gemfile.lock`: the `specs:` of the GEM, GIT and PATH sections (gems at four
//! spaces, their dependencies at six), and the `CHECKSUMS` section of Bundler 2.5+.

use super::Parsed;
use crate::{Component, Ecosystem, Hash, HashAlgorithm, purl};
use std::collections::BTreeMap;

struct Spec<'a> {
    name: &'a str,
    version: &'a str,
    platform: Option<&'a str>,
    section: &'a str,
    line: usize,
    dependencies: Vec<&'a str>,
}

pub(crate) fn parse(path: &str, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut specs: Vec<Spec> = Vec::new();
    let mut checksums: BTreeMap<(&str, &str), Vec<Hash>> = BTreeMap::new();
    let mut section = "";
    let mut in_specs = false;
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        if content.is_empty() {
            continue;
        }
        if indent == 0 {
            section = content;
            in_specs = false;
            continue;
        }
        if section == "CHECKSUMS" && indent == 2 {
            // `name (version) sha256=hex`
            if let Some((name, version, rest)) = name_version(content) {
                let hashes = rest
                    .split([' ', ','])
                    .filter_map(|entry| entry.strip_prefix("sha256="))
                    .filter_map(|hex| Hash::from_hex(HashAlgorithm::Sha256, hex))
                    .collect();
                checksums.insert((name, version), hashes);
            }
            continue;
        }
        if !matches!(section, "GEM" | "GIT" | "PATH") {
            continue;
        }
        if indent == 2 {
            in_specs = content == "specs:";
            continue;
        }
        if !in_specs {
            continue;
        }
        match (indent, name_version(content)) {
            (4, Some((name, version_platform, _))) => {
                let (version, platform) = split_platform(version_platform);
                specs.push(Spec {
                    name,
                    version,
                    platform,
                    section,
                    line: line_number,
                    dependencies: Vec::new(),
                });
            }
            (6, _) => {
                let dependency = content.split(' ').next().unwrap_or_default();
                if let Some(spec) = specs.last_mut() {
                    spec.dependencies.push(dependency);
                }
            }
            _ => parsed.skip(
                path,
                Some(line_number),
                format!("`{content}`: not a gem spec"),
            ),
        }
    }
    let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut purls = Vec::with_capacity(specs.len());
    for spec in &specs {
        let platform = spec.platform.unwrap_or_default();
        let purl = purl::build(
            "gem",
            None,
            spec.name,
            spec.version,
            &[("platform", platform)],
        );
        if let Some(purl) = &purl {
            by_name.entry(spec.name).or_default().push(purl.clone());
        }
        purls.push(purl);
    }
    for (spec, purl) in specs.iter().zip(purls) {
        let Some(purl) = purl else {
            parsed.skip(
                path,
                Some(spec.line),
                format!("{}: no package URL", spec.name),
            );
            continue;
        };
        let mut component =
            Component::new(Ecosystem::Gem, None, spec.name, spec.version, purl, path);
        let full_version = match spec.platform {
            Some(platform) => format!("{}-{platform}", spec.version),
            None => spec.version.to_string(),
        };
        if let Some(hashes) = checksums.get(&(spec.name, full_version.as_str())) {
            component.hashes = hashes.clone();
        }
        if spec.section != "GEM" {
            component.property("slipway:gem:source", spec.section.to_ascii_lowercase());
        }
        let dependencies = spec
            .dependencies
            .iter()
            .filter_map(|name| by_name.get(name))
            .flatten()
            .cloned()
            .collect();
        component.dependencies = Some(dependencies);
        parsed.components.push(component);
    }
    parsed
}

/// `name (version)` and whatever follows the closing parenthesis.
fn name_version(content: &str) -> Option<(&str, &str, &str)> {
    let (name, rest) = content.split_once(" (")?;
    let (version, rest) = rest.split_once(')')?;
    (!name.is_empty() && !version.is_empty()).then_some((name, version, rest))
}

/// RubyGems versions contain no `-`, so the first one starts the platform
/// (`1.16.0-x86_64-linux`).
fn split_platform(version: &str) -> (&str, Option<&str>) {
    match version.split_once('-') {
        Some((version, platform)) => (version, Some(platform)),
        None => (version, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "\
GIT
  remote: https://github.com/acme/tool.git
  revision: 0123456789abcdef0123456789abcdef01234567
  specs:
    tool (0.3.0)
      rack

GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.16.0-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.3)
    rack (3.0.8)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  nokogiri
  tool!

CHECKSUMS
  racc (1.7.3) sha256=b785ab8a30ec43bce073c51dbbe791fd27000f68d1c996c95da98bf685316905

BUNDLED WITH
   2.5.3
";

    #[test]
    fn specs_platforms_checksums_and_edges() {
        let parsed = parse("Gemfile.lock", LOCK);
        let purls: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:gem/tool@0.3.0",
                "pkg:gem/nokogiri@1.16.0?platform=x86_64-linux",
                "pkg:gem/racc@1.7.3",
                "pkg:gem/rack@3.0.8",
            ]
        );
        assert_eq!(
            parsed.components[0].dependencies.as_deref(),
            Some(&["pkg:gem/rack@3.0.8".to_string()][..])
        );
        assert_eq!(parsed.components[0].properties[0].value, "git");
        assert_eq!(parsed.components[2].hashes.len(), 1);
        assert!(parsed.skipped.is_empty());
    }
}
