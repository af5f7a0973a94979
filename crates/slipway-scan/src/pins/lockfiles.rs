//! `missing-lockfile` and `lockfile-out-of-sync`.
//!
//! A manifest that declares dependencies needs a lockfile beside it, or above it when it is
//! a member of a workspace (Cargo workspaces, npm/yarn/pnpm workspaces, uv workspaces).
//! Sync is checked where the lockfile records what it was resolved from: Cargo (every
//! dependency of every member is in `Cargo.lock` at a version its requirement allows) and
//! npm lockfile v2/v3 (`packages[""]` repeats `package.json`'s ranges, and the installed
//! versions satisfy them). Only certain mismatches are reported.

use super::{LOCKFILE_OUT_OF_SYNC, MISSING_LOCKFILE, Position, Scan, file_name, join, parent};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use toml::Spanned;

const JS_LOCKFILES: [&str; 6] = [
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
];
const PYTHON_LOCKFILES: [&str; 5] = [
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "pdm.lock",
    "pylock.toml",
];

pub(super) fn check(scan: &mut Scan) {
    cargo(scan);
    npm(scan);
    python(scan);
    gemfile(scan);
    go_mod(scan);
    composer(scan);
}

/// Files named `name`, in sorted order.
fn named(scan: &Scan, name: &str) -> Vec<String> {
    scan.files
        .iter()
        .filter(|file| file_name(file) == name)
        .cloned()
        .collect()
}

/// Whether `directory` or one of its ancestors inside the scanned tree holds one of `names`.
fn lock_here_or_above(scan: &Scan, directory: &str, names: &[&str]) -> bool {
    let mut current = Some(directory);
    while let Some(directory) = current {
        if names.iter().any(|name| scan.exists(&join(directory, name))) {
            return true;
        }
        current = (!directory.is_empty()).then(|| parent(directory));
    }
    false
}

fn position_of_span(text: &str, span: std::ops::Range<usize>) -> Position {
    Position::of_offset(text, span.start)
}

// ---------------------------------------------------------------- Cargo

type CargoDependencies = BTreeMap<Spanned<String>, toml::Value>;

#[derive(Deserialize, Default)]
struct CargoManifest {
    package: Option<Spanned<toml::Table>>,
    workspace: Option<Spanned<CargoWorkspace>>,
    #[serde(default)]
    dependencies: CargoDependencies,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev_dependencies: CargoDependencies,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    build_dependencies: CargoDependencies,
    #[serde(default)]
    target: BTreeMap<String, CargoTarget>,
}

#[derive(Deserialize, Default)]
struct CargoWorkspace {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
struct CargoTarget {
    #[serde(default)]
    dependencies: CargoDependencies,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev_dependencies: CargoDependencies,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    build_dependencies: CargoDependencies,
}

impl CargoManifest {
    fn all_dependencies(&self) -> impl Iterator<Item = (&Spanned<String>, &toml::Value)> {
        let targets = self.target.values().flat_map(|target| {
            target
                .dependencies
                .iter()
                .chain(&target.dev_dependencies)
                .chain(&target.build_dependencies)
        });
        self.dependencies
            .iter()
            .chain(&self.dev_dependencies)
            .chain(&self.build_dependencies)
            .chain(targets)
    }
}

struct ParsedManifest {
    file: String,
    text: String,
    manifest: CargoManifest,
}

fn cargo(scan: &mut Scan) {
    let mut manifests: BTreeMap<String, ParsedManifest> = BTreeMap::new();
    for file in named(scan, "Cargo.toml") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        match toml::from_str::<CargoManifest>(&text) {
            Ok(manifest) => {
                manifests.insert(
                    parent(&file).to_string(),
                    ParsedManifest {
                        file,
                        text,
                        manifest,
                    },
                );
            }
            Err(error) => scan.skip(&file, format!("not a valid Cargo.toml: {error}")),
        }
    }
    for (directory, parsed) in &manifests {
        let manifest = &parsed.manifest;
        let root = if manifest.workspace.is_some() {
            Some(directory.as_str())
        } else if let Some(package) = &manifest.package {
            (!covered_from_above(scan, &manifests, directory, package.get_ref()))
                .then_some(directory.as_str())
        } else {
            None
        };
        let Some(root) = root else {
            continue;
        };
        let lockfile = join(root, "Cargo.lock");
        if !scan.exists(&lockfile) {
            let span = manifest
                .workspace
                .as_ref()
                .map(Spanned::span)
                .or_else(|| manifest.package.as_ref().map(Spanned::span))
                .unwrap_or(0..0);
            let what = if manifest.workspace.is_some() {
                "workspace"
            } else {
                "package"
            };
            scan.find(
                MISSING_LOCKFILE,
                &parsed.file,
                position_of_span(&parsed.text, span),
                format!("Cargo {what} has no Cargo.lock, so every build may resolve different dependency versions"),
            );
            continue;
        }
        cargo_sync(scan, &manifests, root, &lockfile);
    }
}

/// Whether a package's lockfile lives above it: in the nearest enclosing workspace that
/// does not exclude it (or the one `package.workspace` names), or, outside any workspace,
/// in a directory above that has a Cargo.lock (the package is a path dependency there).
fn covered_from_above(
    scan: &Scan,
    manifests: &BTreeMap<String, ParsedManifest>,
    directory: &str,
    package: &toml::Table,
) -> bool {
    if package.contains_key("workspace") {
        return true;
    }
    let mut current = directory;
    while !current.is_empty() {
        current = parent(current);
        if let Some(workspace) = manifests
            .get(current)
            .and_then(|parsed| parsed.manifest.workspace.as_ref())
        {
            let relative = relative_to(directory, current);
            return !is_excluded(&workspace.get_ref().exclude, relative);
        }
    }
    let above = parent(directory);
    !directory.is_empty() && lock_here_or_above(scan, above, &["Cargo.lock"])
}

fn is_excluded(exclude: &[String], relative: &str) -> bool {
    exclude.iter().any(|excluded| {
        let excluded = excluded.trim_end_matches('/');
        relative == excluded || relative.starts_with(&format!("{excluded}/"))
    })
}

fn relative_to<'a>(directory: &'a str, root: &str) -> &'a str {
    if root.is_empty() {
        directory
    } else {
        directory
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(directory)
    }
}

/// Checks every member of the workspace rooted at `root` against its Cargo.lock.
fn cargo_sync(
    scan: &mut Scan,
    manifests: &BTreeMap<String, ParsedManifest>,
    root: &str,
    lockfile: &str,
) {
    let Some(lock_text) = scan.read(lockfile) else {
        return;
    };
    let lock: cargo_lock::Lockfile = match lock_text.parse() {
        Ok(lock) => lock,
        Err(error) => {
            scan.skip(lockfile, format!("not a valid Cargo.lock: {error}"));
            return;
        }
    };
    let mut locked: BTreeMap<&str, Vec<&semver::Version>> = BTreeMap::new();
    for package in &lock.packages {
        locked
            .entry(package.name.as_str())
            .or_default()
            .push(&package.version);
    }
    let Some(root_manifest) = manifests.get(root) else {
        return;
    };
    let workspace = root_manifest
        .manifest
        .workspace
        .as_ref()
        .map(Spanned::get_ref);
    let members = members_of(manifests, root, workspace);
    let mut findings = Vec::new();
    for member in members {
        for (key, spec) in member.manifest.all_dependencies() {
            let Some(dependency) = requirement(key.get_ref(), spec, workspace) else {
                continue;
            };
            let position = position_of_span(&member.text, key.span());
            let versions = locked.get(dependency.name.as_str());
            let message = match (versions, &dependency.requirement) {
                (None, _) => format!(
                    "dependency `{}` is not in {lockfile}: the lockfile was not updated after it was added",
                    dependency.name
                ),
                (Some(versions), Some(requirement)) => {
                    let Ok(parsed) = semver::VersionReq::parse(requirement) else {
                        continue;
                    };
                    if versions.iter().any(|version| parsed.matches(version)) {
                        continue;
                    }
                    let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
                    format!(
                        "dependency `{}` requires `{requirement}`, but {lockfile} locks {}",
                        dependency.name,
                        shown.join(", ")
                    )
                }
                (Some(_), None) => continue,
            };
            findings.push((member.file.clone(), position, message));
        }
    }
    for (file, position, message) in findings {
        scan.find(LOCKFILE_OUT_OF_SYNC, &file, position, message);
    }
}

/// The workspace's members: the root package and the manifests its `members` globs match,
/// less `exclude` and nested workspaces.
fn members_of<'a>(
    manifests: &'a BTreeMap<String, ParsedManifest>,
    root: &str,
    workspace: Option<&CargoWorkspace>,
) -> Vec<&'a ParsedManifest> {
    let mut members = Vec::new();
    if let Some(root_manifest) = manifests.get(root)
        && root_manifest.manifest.package.is_some()
    {
        members.push(root_manifest);
    }
    let Some(workspace) = workspace else {
        return members;
    };
    let mut patterns = globset::GlobSetBuilder::new();
    for member in &workspace.members {
        if let Ok(glob) = globset::GlobBuilder::new(member.trim_end_matches('/'))
            .literal_separator(true)
            .build()
        {
            patterns.add(glob);
        }
    }
    let Ok(patterns) = patterns.build() else {
        return members;
    };
    for (directory, parsed) in manifests {
        if directory == root
            || parsed.manifest.workspace.is_some()
            || parsed.manifest.package.is_none()
        {
            continue;
        }
        let inside = root.is_empty() || directory.starts_with(&format!("{root}/"));
        if !inside {
            continue;
        }
        let relative = relative_to(directory, root);
        if patterns.is_match(relative) && !is_excluded(&workspace.exclude, relative) {
            members.push(parsed);
        }
    }
    members
}

struct Dependency {
    /// The package name in the lockfile (`package = "…"` when renamed).
    name: String,
    /// The version requirement, when one is given.
    requirement: Option<String>,
}

fn requirement(
    key: &str,
    spec: &toml::Value,
    workspace: Option<&CargoWorkspace>,
) -> Option<Dependency> {
    match spec {
        toml::Value::String(requirement) => Some(Dependency {
            name: key.to_string(),
            requirement: Some(requirement.clone()),
        }),
        toml::Value::Table(table) => {
            let renamed = table.get("package").and_then(toml::Value::as_str);
            if table.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                let inherited = workspace?.dependencies.get(key)?;
                let mut dependency = requirement(key, inherited, None)?;
                if let Some(renamed) = renamed {
                    dependency.name = renamed.to_string();
                }
                return Some(dependency);
            }
            Some(Dependency {
                name: renamed.unwrap_or(key).to_string(),
                requirement: table
                    .get("version")
                    .and_then(toml::Value::as_str)
                    .map(str::to_string),
            })
        }
        _ => None,
    }
}

// ---------------------------------------------------------------- npm

const NPM_SECTIONS: [&str; 3] = ["dependencies", "devDependencies", "optionalDependencies"];

fn npm(scan: &mut Scan) {
    for file in named(scan, "package.json") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        let manifest: Json = match serde_json::from_str(&text) {
            Ok(manifest) => manifest,
            Err(error) => {
                scan.skip(&file, format!("not valid JSON: {error}"));
                continue;
            }
        };
        let declared = NPM_SECTIONS.iter().find(|section| {
            manifest
                .get(**section)
                .and_then(Json::as_object)
                .is_some_and(|deps| !deps.is_empty())
        });
        let Some(first_section) = declared else {
            continue;
        };
        let directory = parent(&file);
        if !lock_here_or_above(scan, directory, &JS_LOCKFILES) {
            scan.find(
                MISSING_LOCKFILE,
                &file,
                locate_key(&text, first_section, None),
                "package.json declares dependencies but has no lockfile (package-lock.json, yarn.lock, pnpm-lock.yaml or bun.lock)".to_string(),
            );
            continue;
        }
        let lockfile = join(directory, "package-lock.json");
        if scan.exists(&lockfile) {
            npm_sync(scan, &file, &text, &manifest, &lockfile);
        }
    }
}

fn npm_sync(scan: &mut Scan, file: &str, text: &str, manifest: &Json, lockfile: &str) {
    let Some(lock_text) = scan.read(lockfile) else {
        return;
    };
    let lock: Json = match serde_json::from_str(&lock_text) {
        Ok(lock) => lock,
        Err(error) => {
            scan.skip(lockfile, format!("not valid JSON: {error}"));
            return;
        }
    };
    // Lockfile v1 does not record the root's ranges; v2 and v3 do, under `packages[""]`.
    let version = lock
        .get("lockfileVersion")
        .and_then(Json::as_u64)
        .unwrap_or(0);
    let Some(packages) = lock
        .get("packages")
        .and_then(Json::as_object)
        .filter(|_| version >= 2)
    else {
        return;
    };
    let Some(root) = packages.get("") else {
        return;
    };
    let mut findings = Vec::new();
    for section in NPM_SECTIONS {
        let Some(dependencies) = manifest.get(section).and_then(Json::as_object) else {
            continue;
        };
        for (name, range) in dependencies {
            let Some(range) = range.as_str() else {
                continue;
            };
            let position = locate_key(text, section, Some(name));
            let recorded = root
                .get(section)
                .and_then(|deps| deps.get(name))
                .and_then(Json::as_str);
            match recorded {
                None => {
                    findings.push((position, format!(
                        "`{name}` is in package.json's {section} but not in {lockfile}: the lockfile was not updated after it was added"
                    )));
                    continue;
                }
                Some(recorded) if recorded != range => {
                    findings.push((position, format!(
                        "package.json asks for `{name}@{range}` but {lockfile} was resolved for `{recorded}`"
                    )));
                    continue;
                }
                Some(_) => {}
            }
            let installed = packages.get(&format!("node_modules/{name}"));
            let Some(installed) = installed else {
                if section != "optionalDependencies" {
                    findings.push((
                        position,
                        format!("`{name}` has no `node_modules/{name}` entry in {lockfile}"),
                    ));
                }
                continue;
            };
            if installed.get("link").and_then(Json::as_bool) == Some(true) {
                continue;
            }
            let locked = installed.get("version").and_then(Json::as_str);
            if let (Some(locked), Some(parsed_range)) = (locked, registry_range(range))
                && let Ok(parsed) = nodejs_semver::Version::parse(locked)
                && !parsed_range.satisfies(&parsed)
            {
                findings.push((position, format!(
                    "`{name}` is locked at {locked}, which is outside package.json's range `{range}`"
                )));
            }
        }
    }
    for (position, message) in findings {
        scan.find(LOCKFILE_OUT_OF_SYNC, file, position, message);
    }
}

/// A semver range as npm resolves it from the registry; `None` for tags, aliases, git, file
/// and URL specs, whose installed version the range says nothing about.
fn registry_range(spec: &str) -> Option<nodejs_semver::Range> {
    if spec.contains(':') || spec.contains('/') || spec.trim().is_empty() {
        return None;
    }
    if spec
        .chars()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'x' | 'X' | 'v'))
    {
        // A dist-tag such as `latest` or `next`.
        return None;
    }
    nodejs_semver::Range::parse(spec).ok()
}

/// Where `"key"` is written in a JSON text (its value already read with serde_json): the
/// first occurrence of the quoted section key, then of the quoted name after it.
fn locate_key(text: &str, section: &str, name: Option<&str>) -> Position {
    let Some(section_at) = text.find(&format!("\"{section}\"")) else {
        return Position::START;
    };
    let at = match name {
        Some(name) => text
            .get(section_at..)
            .and_then(|rest| rest.find(&json_string(name)))
            .map_or(section_at, |offset| section_at + offset),
        None => section_at,
    };
    Position::of_offset(text, at)
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

// ---------------------------------------------------------------- Python

#[derive(Deserialize, Default)]
struct Pyproject {
    project: Option<Spanned<PyprojectProject>>,
    #[serde(rename = "dependency-groups")]
    dependency_groups: Option<Spanned<toml::Table>>,
    tool: Option<PyprojectTool>,
}

#[derive(Deserialize, Default)]
struct PyprojectProject {
    #[serde(default)]
    dependencies: Vec<toml::Value>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: toml::Table,
}

#[derive(Deserialize, Default)]
struct PyprojectTool {
    poetry: Option<Poetry>,
}

#[derive(Deserialize, Default)]
struct Poetry {
    dependencies: Option<Spanned<toml::Table>>,
}

#[derive(Deserialize, Default)]
struct Pipfile {
    packages: Option<Spanned<toml::Table>>,
    #[serde(rename = "dev-packages")]
    dev_packages: Option<Spanned<toml::Table>>,
}

fn python(scan: &mut Scan) {
    for file in named(scan, "pyproject.toml") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        let pyproject: Pyproject = match toml::from_str(&text) {
            Ok(pyproject) => pyproject,
            Err(error) => {
                scan.skip(&file, format!("not a valid pyproject.toml: {error}"));
                continue;
            }
        };
        let project = pyproject.project.as_ref().filter(|project| {
            let project = project.get_ref();
            !project.dependencies.is_empty() || !project.optional_dependencies.is_empty()
        });
        let poetry = pyproject
            .tool
            .as_ref()
            .and_then(|tool| tool.poetry.as_ref()?.dependencies.as_ref())
            .filter(|dependencies| dependencies.get_ref().keys().any(|name| name != "python"));
        let groups = pyproject
            .dependency_groups
            .as_ref()
            .filter(|groups| !groups.get_ref().is_empty());
        let span = project
            .map(Spanned::span)
            .or_else(|| poetry.map(Spanned::span))
            .or_else(|| groups.map(Spanned::span));
        let Some(span) = span else {
            continue;
        };
        if !lock_here_or_above(scan, parent(&file), &PYTHON_LOCKFILES) {
            scan.find(
                MISSING_LOCKFILE,
                &file,
                position_of_span(&text, span),
                "pyproject.toml declares dependencies but has no lockfile (poetry.lock, uv.lock, pdm.lock, Pipfile.lock or pylock.toml)".to_string(),
            );
        }
    }
    for file in named(scan, "Pipfile") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        let pipfile: Pipfile = match toml::from_str(&text) {
            Ok(pipfile) => pipfile,
            Err(error) => {
                scan.skip(&file, format!("not a valid Pipfile: {error}"));
                continue;
            }
        };
        let section = [&pipfile.packages, &pipfile.dev_packages]
            .into_iter()
            .flatten()
            .find(|section| !section.get_ref().is_empty());
        if let Some(section) = section
            && !scan.exists(&join(parent(&file), "Pipfile.lock"))
        {
            scan.find(
                MISSING_LOCKFILE,
                &file,
                position_of_span(&text, section.span()),
                "Pipfile declares packages but has no Pipfile.lock".to_string(),
            );
        }
    }
}

// ---------------------------------------------------------------- Ruby, Go, PHP

/// The first line whose first word is `word`, for line-oriented manifests.
fn first_line_starting_with(text: &str, word: &str) -> Option<Position> {
    text.lines().enumerate().find_map(|(index, line)| {
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix(word)?;
        if !(rest.is_empty() || rest.starts_with([' ', '\t', '(', '"', '\''])) {
            return None;
        }
        let column = line.chars().count() - trimmed.chars().count() + 1;
        Some(Position {
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        })
    })
}

fn gemfile(scan: &mut Scan) {
    for file in named(scan, "Gemfile") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        if let Some(position) = first_line_starting_with(&text, "gem")
            && !scan.exists(&join(parent(&file), "Gemfile.lock"))
        {
            scan.find(
                MISSING_LOCKFILE,
                &file,
                position,
                "Gemfile declares gems but has no Gemfile.lock".to_string(),
            );
        }
    }
}

fn go_mod(scan: &mut Scan) {
    for file in named(scan, "go.mod") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        if let Some(position) = first_line_starting_with(&text, "require")
            && !scan.exists(&join(parent(&file), "go.sum"))
        {
            scan.find(
                MISSING_LOCKFILE,
                &file,
                position,
                "go.mod requires modules but has no go.sum, so their content is not pinned"
                    .to_string(),
            );
        }
    }
}

fn composer(scan: &mut Scan) {
    for file in named(scan, "composer.json") {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        let manifest: Json = match serde_json::from_str(&text) {
            Ok(manifest) => manifest,
            Err(error) => {
                scan.skip(&file, format!("not valid JSON: {error}"));
                continue;
            }
        };
        // The platform (`php`, `ext-*`) is not a package a lockfile pins.
        let section = ["require", "require-dev"].into_iter().find(|section| {
            manifest
                .get(*section)
                .and_then(Json::as_object)
                .is_some_and(|packages| packages.keys().any(|name| name.contains('/')))
        });
        if let Some(section) = section
            && !scan.exists(&join(parent(&file), "composer.lock"))
        {
            scan.find(
                MISSING_LOCKFILE,
                &file,
                locate_key(&text, section, None),
                "composer.json requires packages but has no composer.lock".to_string(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_ranges_only() {
        assert!(registry_range("^1.2.3").is_some());
        assert!(registry_range(">=1 <2 || 3.x").is_some());
        assert!(registry_range("1.2.3 - 2.0.0").is_some());
        for spec in [
            "latest",
            "npm:other@^1",
            "github:o/r",
            "file:../x",
            "workspace:*",
            "",
        ] {
            assert!(registry_range(spec).is_none(), "{spec}");
        }
    }

    #[test]
    fn line_words() {
        let text = "module x\n\ngo 1.22\n\n  require (\n";
        assert_eq!(
            first_line_starting_with(text, "require"),
            Some(Position { line: 5, column: 3 })
        );
        assert_eq!(first_line_starting_with("requirements", "require"), None);
    }
}
