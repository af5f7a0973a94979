//! What an unpacked artifact records about its own contents: OS package databases and
//! the dependency lists `cargo auditable` embeds in Rust binaries.

pub(crate) mod apk;
pub(crate) mod auditable;
pub(crate) mod dpkg;

use crate::Error;
use crate::lockfile::Parsed;

/// Parses a dpkg status file (`var/lib/dpkg/status` or one file of `status.d/`) as found on a
/// system with no `os-release`: packages are `pkg:deb/debian/...`.
pub fn parse_dpkg_status(path: &str, bytes: &[u8]) -> Result<Parsed, Error> {
    Ok(dpkg::parse(
        path,
        crate::text::utf8(path, bytes)?,
        &Distro::default(),
    ))
}

/// Parses an apk installed database (`lib/apk/db/installed`) as found on a system with no
/// `os-release`: packages are `pkg:apk/alpine/...`.
pub fn parse_apk_installed(path: &str, bytes: &[u8]) -> Result<Parsed, Error> {
    Ok(apk::parse(
        path,
        crate::text::utf8(path, bytes)?,
        &Distro::default(),
    ))
}

/// Reads the `cargo auditable` data of an executable: `None` when it carries none.
pub fn parse_auditable_binary(path: &str, bytes: &[u8]) -> Option<Parsed> {
    auditable::parse(path, bytes)
}

/// The distribution, from `etc/os-release`: it names the purl namespace and `distro`
/// qualifier of OS packages whose database belongs to its family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Distro {
    /// `ID` (`debian`, `ubuntu`, `alpine`).
    pub id: Option<String>,
    /// `ID_LIKE` (`debian` for Ubuntu).
    pub id_like: Vec<String>,
    /// `VERSION_ID` (`12`, `3.20.3`).
    pub version_id: Option<String>,
}

impl Distro {
    /// Reads `os-release` text (shell-style `KEY=value`, values optionally quoted).
    pub(crate) fn from_os_release(text: &str) -> Self {
        let mut distro = Distro::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches(['"', '\'']).to_string();
            match key.trim() {
                "ID" => distro.id = Some(value.to_ascii_lowercase()),
                "ID_LIKE" => {
                    distro.id_like = value
                        .split_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect();
                }
                "VERSION_ID" => distro.version_id = Some(value),
                _ => {}
            }
        }
        distro
    }

    /// The running distribution's id when it is `family` or derived from it: a dpkg
    /// database on Ubuntu holds Ubuntu packages, one on an Alpine image does not.
    fn member_of(&self, family: &str) -> Option<&str> {
        let id = self.id.as_deref().filter(|id| !id.is_empty())?;
        (id == family || self.id_like.iter().any(|like| like == family)).then_some(id)
    }

    /// The purl namespace for a `family` database: the distribution id, or the family itself
    /// when the system is not of that family.
    pub(crate) fn namespace<'a>(&'a self, family: &'a str) -> &'a str {
        self.member_of(family).unwrap_or(family)
    }

    /// The `distro` qualifier for a `family` database: `<id>-<version>` (`debian-12`), empty
    /// when unknown or when the system is not of that family.
    pub(crate) fn qualifier(&self, family: &str) -> String {
        match (self.member_of(family), &self.version_id) {
            (Some(id), Some(version)) => format!("{id}-{version}"),
            _ => String::new(),
        }
    }
}

/// Splits RFC 822-style text (dpkg's `status`) into paragraphs of `(field, value, line)`,
/// folding continuation lines into the value.
pub(crate) fn paragraphs(text: &str) -> Vec<Vec<(&str, String, usize)>> {
    let mut paragraphs = Vec::new();
    let mut current: Vec<(&str, String, usize)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value, _)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((field, value)) = line.split_once(':') {
            current.push((field.trim(), value.trim().to_string(), index + 1));
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_names_the_distro() {
        let distro =
            Distro::from_os_release("NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n");
        assert_eq!(distro.namespace("debian"), "debian");
        assert_eq!(distro.qualifier("debian"), "debian-12");
        assert_eq!(distro.namespace("alpine"), "alpine", "not an Alpine system");
        assert_eq!(distro.qualifier("alpine"), "");
        let ubuntu = Distro::from_os_release("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n");
        assert_eq!(ubuntu.namespace("debian"), "ubuntu");
        assert_eq!(ubuntu.qualifier("debian"), "ubuntu-24.04");
        assert_eq!(Distro::default().namespace("debian"), "debian");
    }
}
