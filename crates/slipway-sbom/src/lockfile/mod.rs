//! Lockfile parsers: one module per format, each turning the file's text into components
//! with purls, hashes, scopes and dependency edges.
//!
//! Every parser takes untrusted bytes and returns either what it read or an [`Error`] naming
//! the file (and the line and column of a syntax error); none may panic.

mod cargo;
mod composer;
mod gemfile;
mod gomod;
mod maven;
mod npm;
mod pipfile;
mod pnpm;
mod poetry;
mod requirements;
mod uv;
mod yarn;

use crate::{Component, Error, Skipped};

/// The lockfile formats a source scan reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockfileKind {
    /// `Cargo.lock` (all versions `cargo-lock` reads).
    CargoLock,
    /// `package-lock.json` or `npm-shrinkwrap.json`, lockfileVersion 2 or 3.
    PackageLock,
    /// `yarn.lock` (classic v1 and Berry).
    YarnLock,
    /// `pnpm-lock.yaml`, lockfileVersion 6 and 9 (5 is read on a best-effort basis).
    PnpmLock,
    /// `poetry.lock`.
    PoetryLock,
    /// `uv.lock`.
    UvLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `requirements*.txt`: only `name==version` pins.
    Requirements,
    /// `go.mod`, with `go.sum` beside it for module hashes.
    GoMod,
    /// `Gemfile.lock`.
    GemfileLock,
    /// `pom.xml`: direct `<dependencies>` with literal or property versions.
    PomXml,
    /// `composer.lock`.
    ComposerLock,
}

impl LockfileKind {
    /// Every kind, in a fixed order.
    pub const ALL: [LockfileKind; 12] = [
        LockfileKind::CargoLock,
        LockfileKind::PackageLock,
        LockfileKind::YarnLock,
        LockfileKind::PnpmLock,
        LockfileKind::PoetryLock,
        LockfileKind::UvLock,
        LockfileKind::PipfileLock,
        LockfileKind::Requirements,
        LockfileKind::GoMod,
        LockfileKind::GemfileLock,
        LockfileKind::PomXml,
        LockfileKind::ComposerLock,
    ];

    /// The kind of a file, judged by its name alone.
    pub fn from_file_name(name: &str) -> Option<Self> {
        Some(match name {
            "Cargo.lock" => LockfileKind::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => LockfileKind::PackageLock,
            "yarn.lock" => LockfileKind::YarnLock,
            "pnpm-lock.yaml" => LockfileKind::PnpmLock,
            "poetry.lock" => LockfileKind::PoetryLock,
            "uv.lock" => LockfileKind::UvLock,
            "Pipfile.lock" => LockfileKind::PipfileLock,
            "go.mod" => LockfileKind::GoMod,
            "Gemfile.lock" => LockfileKind::GemfileLock,
            "pom.xml" => LockfileKind::PomXml,
            "composer.lock" => LockfileKind::ComposerLock,
            _ if name.starts_with("requirements") && name.ends_with(".txt") => {
                LockfileKind::Requirements
            }
            _ => return None,
        })
    }
}

/// What one lockfile yielded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The packages it lists, with dependency edges as purls where the format records them.
    pub components: Vec<Component>,
    /// Entries it lists but that could not become components, and why.
    pub skipped: Vec<Skipped>,
}

impl Parsed {
    pub(crate) fn skip(&mut self, path: &str, line: Option<usize>, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            path: path.to_string(),
            line,
            reason: reason.into(),
        });
    }
}

/// Parses one lockfile. `path` names it in components and errors (relative to the scanned
/// directory, with `/`).
///
/// A `go.mod` parsed this way has no `go.sum` hashes; [`parse_go_module`] takes both.
pub fn parse(kind: LockfileKind, path: &str, bytes: &[u8]) -> Result<Parsed, Error> {
    let text = crate::text::utf8(path, bytes)?;
    match kind {
        LockfileKind::CargoLock => cargo::parse(path, text),
        LockfileKind::PackageLock => npm::parse(path, text),
        LockfileKind::YarnLock => yarn::parse(path, text),
        LockfileKind::PnpmLock => pnpm::parse(path, text),
        LockfileKind::PoetryLock => poetry::parse(path, text),
        LockfileKind::UvLock => uv::parse(path, text),
        LockfileKind::PipfileLock => pipfile::parse(path, text),
        LockfileKind::Requirements => Ok(requirements::parse(path, text)),
        LockfileKind::GoMod => gomod::parse(path, text, None),
        LockfileKind::GemfileLock => Ok(gemfile::parse(path, text)),
        LockfileKind::PomXml => maven::parse(path, text),
        LockfileKind::ComposerLock => composer::parse(path, text),
    }
}

/// Parses a `go.mod` and, when present, the `go.sum` beside it (as `(path, bytes)`), whose
/// `h1:` module hashes are recorded as properties.
pub fn parse_go_module(
    path: &str,
    go_mod: &[u8],
    go_sum: Option<(&str, &[u8])>,
) -> Result<Parsed, Error> {
    let text = crate::text::utf8(path, go_mod)?;
    let sum = match go_sum {
        Some((sum_path, bytes)) => Some((sum_path, crate::text::utf8(sum_path, bytes)?)),
        None => None,
    };
    gomod::parse(path, text, sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_file_name() {
        assert_eq!(
            LockfileKind::from_file_name("requirements-dev.txt"),
            Some(LockfileKind::Requirements)
        );
        assert_eq!(
            LockfileKind::from_file_name("npm-shrinkwrap.json"),
            Some(LockfileKind::PackageLock)
        );
        assert_eq!(LockfileKind::from_file_name("package.json"), None);
        assert_eq!(LockfileKind::from_file_name("go.sum"), None);
    }
}
