//! Version ordering per ecosystem.
//!
//! An OSV range is only as good as the comparison behind it: `1.0.0-rc.1 < 1.0.0` in SemVer,
//! `1.0~rc1 < 1.0` in Debian, `1.0 == 1.0.0` in PEP 440, `1.0-alpha1 < 1.0 < 1.0-sp` in Maven.
//! [`Version::parse`] reads a version under one ecosystem's [`Scheme`] and orders it by that
//! ecosystem's own rules; each scheme's module names the rules it follows.
//!
//! Equality follows the scheme too (`1.0 == 1.0.0` under PEP 440, build metadata ignored under
//! SemVer), and `Hash` agrees with it, so versions can key maps. [`Version::as_str`] keeps the
//! text as written.

mod apk;
mod dpkg;
mod go;
mod maven;
mod nuget;
mod number;
mod packagist;
mod pep440;
mod rubygems;
mod semver;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A version ordering: the rules one or more OSV ecosystems compare versions by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Semantic Versioning 2.0.0 (crates.io, npm, Hex).
    Semver,
    /// PEP 440 (PyPI).
    Pep440,
    /// Go module versions: SemVer with an optional `v`, pseudo-versions, `+incompatible`.
    Go,
    /// Maven's `ComparableVersion`.
    Maven,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// dpkg (Debian, Ubuntu).
    Dpkg,
    /// apk-tools (Alpine, Wolfi, Chainguard).
    Apk,
    /// Composer (Packagist).
    Packagist,
    /// NuGet's `NuGetVersion` (SemVer 2 with a fourth number).
    NuGet,
}

impl Scheme {
    /// Every scheme, in the order versions of different schemes sort.
    pub const ALL: [Scheme; 9] = [
        Scheme::Semver,
        Scheme::Pep440,
        Scheme::Go,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Packagist,
        Scheme::NuGet,
    ];

    /// The ordering an OSV ecosystem string uses: "crates.io" | "npm" → Semver, "PyPI" → Pep440,
    /// "Go" → Go, "Maven" → Maven, "RubyGems" → RubyGems, "Debian" / "Debian:12" /
    /// "Ubuntu:22.04:LTS" → Dpkg, "Alpine" / "Alpine:v3.20" → Apk, "Packagist" → Packagist,
    /// "NuGet" → NuGet; also "Hex" → Semver and "Wolfi" / "Chainguard" → Apk. `None` for any
    /// other ecosystem. Distribution ecosystems are matched on the part before the first `:`
    /// (the release suffix does not change the ordering).
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let family = ecosystem.split(':').next().unwrap_or(ecosystem);
        let has_suffix = family.len() != ecosystem.len();
        let scheme = match family {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            _ if has_suffix => return None,
            "crates.io" | "npm" | "Hex" => Scheme::Semver,
            "PyPI" => Scheme::Pep440,
            "Go" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "Packagist" => Scheme::Packagist,
            "NuGet" => Scheme::NuGet,
            _ => return None,
        };
        Some(scheme)
    }

    /// The scheme's name as its documentation spells it ("SemVer", "PEP 440", "dpkg", ...).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Semver => "SemVer",
            Scheme::Pep440 => "PEP 440",
            Scheme::Go => "Go module",
            Scheme::Maven => "Maven",
            Scheme::RubyGems => "RubyGems",
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Packagist => "Composer",
            Scheme::NuGet => "NuGet",
        }
    }

    /// A well-formed version of this scheme, for error messages.
    fn example(self) -> &'static str {
        match self {
            Scheme::Semver => "1.2.3 or 1.2.3-rc.1",
            Scheme::Pep440 => "1.2.3, 1.2.3rc1 or 1!2.0.post1",
            Scheme::Go => "v1.2.3 or v0.0.0-20220906165146-f3363e06e74c",
            Scheme::Maven => "1.2.3 or 1.2.3-SNAPSHOT",
            Scheme::RubyGems => "1.2.3 or 1.2.3.pre",
            Scheme::Dpkg => "1:2.3-4 or 1.0~rc1-1",
            Scheme::Apk => "1.2.3-r0 or 1.2.3_rc1-r2",
            Scheme::Packagist => "1.2.3 or 1.2.3-beta2",
            Scheme::NuGet => "1.2.3.4 or 1.2.3-beta.1",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a text is not a version of a scheme.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// The text is empty or only whitespace.
    #[error("empty {scheme} version: give a version such as {example}", example = scheme.example())]
    Empty {
        /// The scheme the text was read under.
        scheme: Scheme,
    },
    /// The text does not follow the scheme's grammar.
    #[error("invalid {scheme} version {text:?}: {reason} (expected a version such as {example})", example = scheme.example())]
    Invalid {
        /// The scheme the text was read under.
        scheme: Scheme,
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A version read under one [`Scheme`], ordered by that scheme's rules.
///
/// Versions of different schemes never compare equal; they sort by scheme first (in the order
/// of [`Scheme::ALL`]), so a mixed collection still has a total order.
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
    key: Key,
}

/// The comparable form of a version, one variant per scheme.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Semver(semver::SemverKey),
    Pep440(pep440::Pep440Key),
    Go(go::GoKey),
    Maven(maven::MavenKey),
    RubyGems(rubygems::GemKey),
    Dpkg(dpkg::DpkgKey),
    Apk(apk::ApkKey),
    Packagist(packagist::ComposerKey),
    NuGet(nuget::NuGetKey),
}

impl Key {
    fn scheme(&self) -> Scheme {
        match self {
            Key::Semver(_) => Scheme::Semver,
            Key::Pep440(_) => Scheme::Pep440,
            Key::Go(_) => Scheme::Go,
            Key::Maven(_) => Scheme::Maven,
            Key::RubyGems(_) => Scheme::RubyGems,
            Key::Dpkg(_) => Scheme::Dpkg,
            Key::Apk(_) => Scheme::Apk,
            Key::Packagist(_) => Scheme::Packagist,
            Key::NuGet(_) => Scheme::NuGet,
        }
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Semver(a), Key::Semver(b)) => a.cmp(b),
            (Key::Pep440(a), Key::Pep440(b)) => a.cmp(b),
            (Key::Go(a), Key::Go(b)) => a.cmp(b),
            (Key::Maven(a), Key::Maven(b)) => a.cmp(b),
            (Key::RubyGems(a), Key::RubyGems(b)) => a.cmp(b),
            (Key::Dpkg(a), Key::Dpkg(b)) => a.cmp(b),
            (Key::Apk(a), Key::Apk(b)) => a.cmp(b),
            (Key::Packagist(a), Key::Packagist(b)) => a.cmp(b),
            (Key::NuGet(a), Key::NuGet(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Version {
    /// Reads `text` as a version of `scheme`. Surrounding whitespace is ignored; anything the
    /// scheme's grammar does not allow is an error naming the scheme, the text and the fault.
    pub fn parse(scheme: Scheme, text: &str) -> Result<Version, VersionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(VersionError::Empty { scheme });
        }
        let key = match scheme {
            Scheme::Semver => semver::parse(trimmed).map(Key::Semver),
            Scheme::Pep440 => pep440::parse(trimmed).map(Key::Pep440),
            Scheme::Go => go::parse(trimmed).map(Key::Go),
            Scheme::Maven => maven::parse(trimmed).map(Key::Maven),
            Scheme::RubyGems => rubygems::parse(trimmed).map(Key::RubyGems),
            Scheme::Dpkg => dpkg::parse(trimmed).map(Key::Dpkg),
            Scheme::Apk => apk::parse(trimmed).map(Key::Apk),
            Scheme::Packagist => packagist::parse(trimmed).map(Key::Packagist),
            Scheme::NuGet => nuget::parse(trimmed).map(Key::NuGet),
        }
        .map_err(|reason| VersionError::Invalid {
            scheme,
            text: text.to_owned(),
            reason,
        })?;
        Ok(Version {
            text: text.to_owned(),
            key,
        })
    }

    /// The scheme this version was read under.
    pub fn scheme(&self) -> Scheme {
        self.key.scheme()
    }

    /// The text as it was given to [`Version::parse`].
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Compares two version texts under `scheme`; an error names the first text that does not parse.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = Version::parse(scheme, a)?;
    let b = Version::parse(scheme, b)?;
    Ok(a.cmp(&b))
}
