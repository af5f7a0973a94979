//! `host[:port]/repository[:tag][@sha256:<hex>]`, parsed with errors that point at the column.
//!
//! The grammar is the distribution reference grammar with the registry made mandatory: a
//! reference without a host would silently mean Docker Hub, which is never what a pipeline
//! pushing its own artifact wants.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::Error;

/// Longest repository name the distribution specification allows.
const REPOSITORY_MAX_LEN: usize = 255;
/// Longest tag the distribution specification allows.
const TAG_MAX_LEN: usize = 128;
/// Longest DNS name.
const HOST_MAX_LEN: usize = 253;

/// A registry location: where to push an artifact to, or pull it from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// The registry's `host[:port]`, IPv6 hosts in brackets.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry, e.g. `team/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference names one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest (`sha256:<hex>`), if the reference names one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The registry's host without its port.
    pub(crate) fn host(&self) -> &str {
        split_port(&self.registry).0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A problem at a byte offset of the input.
struct Problem {
    offset: usize,
    reason: String,
}

impl Problem {
    fn at(offset: usize, reason: impl Into<String>) -> Self {
        Self {
            offset,
            reason: reason.into(),
        }
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        parse(input).map_err(|problem| Error::InvalidReference {
            input: input.to_owned(),
            column: input
                .get(..problem.offset)
                .map_or(problem.offset, |before| before.chars().count())
                + 1,
            reason: problem.reason,
        })
    }
}

fn parse(input: &str) -> Result<Reference, Problem> {
    if input.is_empty() {
        return Err(Problem::at(0, "it is empty"));
    }
    if let Some((offset, character)) = input.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(Problem::at(
            offset,
            format!("{character:?} is not allowed in a reference"),
        ));
    }
    let Some(slash) = input.find('/') else {
        return Err(Problem::at(
            input.len(),
            "there is no `/`: a reference starts with the registry host, then the repository",
        ));
    };
    let registry = &input[..slash];
    check_registry(registry)?;

    let rest_offset = slash + 1;
    let rest = &input[rest_offset..];
    let (name_and_tag, digest) = match rest.split_once('@') {
        Some((name_and_tag, digest)) => {
            let digest_offset = rest_offset + name_and_tag.len() + 1;
            check_digest(digest, digest_offset)?;
            (name_and_tag, Some(digest.to_owned()))
        }
        None => (rest, None),
    };
    let last_component = name_and_tag.rfind('/').map_or(0, |slash| slash + 1);
    let (repository, tag) = match name_and_tag[last_component..].find(':') {
        Some(colon) => {
            let colon = last_component + colon;
            let tag = &name_and_tag[colon + 1..];
            check_tag(tag, rest_offset + colon + 1)?;
            (&name_and_tag[..colon], Some(tag.to_owned()))
        }
        None => (name_and_tag, None),
    };
    check_repository(repository, rest_offset)?;

    Ok(Reference {
        registry: registry.to_owned(),
        repository: repository.to_owned(),
        tag,
        digest,
    })
}

/// Splits `host[:port]`; the port part keeps no colon. IPv6 hosts are bracketed, so the port
/// is after `]`.
fn split_port(registry: &str) -> (&str, Option<&str>) {
    let search_from = if registry.starts_with('[') {
        registry.find(']').unwrap_or(registry.len())
    } else {
        0
    };
    match registry[search_from..].find(':') {
        Some(colon) => {
            let colon = search_from + colon;
            (&registry[..colon], Some(&registry[colon + 1..]))
        }
        None => (registry, None),
    }
}

fn check_registry(registry: &str) -> Result<(), Problem> {
    if registry.is_empty() {
        return Err(Problem::at(
            0,
            "the registry host is empty: write it before the first `/`, e.g. 127.0.0.1:5000/app",
        ));
    }
    let (host, port) = split_port(registry);
    if let Some(port) = port {
        let port_offset = host.len() + 1;
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
        if !valid {
            return Err(Problem::at(
                port_offset,
                format!("the port `{port}` is not a number from 1 to 65535"),
            ));
        }
    }
    if let Some(inner) = host.strip_prefix('[') {
        let Some(address) = inner.strip_suffix(']') else {
            return Err(Problem::at(0, "an IPv6 host needs a closing `]`"));
        };
        if address.parse::<Ipv6Addr>().is_err() {
            return Err(Problem::at(
                1,
                format!("`{address}` is not an IPv6 address"),
            ));
        }
        return Ok(());
    }
    if host.len() > HOST_MAX_LEN {
        return Err(Problem::at(
            0,
            format!("the host is longer than {HOST_MAX_LEN} characters"),
        ));
    }
    let looks_numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if looks_numeric {
        if host.parse::<Ipv4Addr>().is_err() {
            return Err(Problem::at(0, format!("`{host}` is not an IPv4 address")));
        }
        return Ok(());
    }
    let mut label_offset = 0;
    for label in host.split('.') {
        check_host_label(label, label_offset)?;
        label_offset += label.len() + 1;
    }
    if port.is_none() && !host.contains('.') && host != "localhost" {
        return Err(Problem::at(
            0,
            format!(
                "`{host}` does not look like a registry host (it has no `.`, no port and is not \
                 `localhost`); start with the registry, e.g. registry.example.com/{host}/..."
            ),
        ));
    }
    Ok(())
}

fn check_host_label(label: &str, offset: usize) -> Result<(), Problem> {
    if label.is_empty() {
        return Err(Problem::at(
            offset,
            "the host has an empty name between dots",
        ));
    }
    if let Some(bad) = label
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(Problem::at(
            offset + bad.0,
            format!(
                "{:?} is not allowed in a host name (letters, digits, `-` and `.` are)",
                bad.1
            ),
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(Problem::at(
            offset,
            format!("the host name part `{label}` starts or ends with `-`"),
        ));
    }
    Ok(())
}

fn check_repository(repository: &str, offset: usize) -> Result<(), Problem> {
    if repository.is_empty() {
        return Err(Problem::at(
            offset,
            "the repository is empty: name it after the host, e.g. 127.0.0.1:5000/team/app",
        ));
    }
    if repository.len() > REPOSITORY_MAX_LEN {
        return Err(Problem::at(
            offset,
            format!("the repository is longer than {REPOSITORY_MAX_LEN} characters"),
        ));
    }
    let mut component_offset = offset;
    for component in repository.split('/') {
        check_repository_component(component, component_offset)?;
        component_offset += component.len() + 1;
    }
    Ok(())
}

/// One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_repository_component(component: &str, offset: usize) -> Result<(), Problem> {
    if component.is_empty() {
        return Err(Problem::at(
            offset,
            "the repository has an empty path component (`//` or a trailing `/`)",
        ));
    }
    let bytes = component.as_bytes();
    let is_alphanumeric = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if is_alphanumeric(byte) {
            index += 1;
            continue;
        }
        if byte.is_ascii_uppercase() {
            return Err(Problem::at(
                offset + index,
                "repository names are lowercase; write it in lowercase",
            ));
        }
        let separator_len = match byte {
            b'.' => 1,
            b'_' if bytes.get(index + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => bytes[index..].iter().take_while(|&&b| b == b'-').count(),
            _ => {
                return Err(Problem::at(
                    offset + index,
                    format!(
                        "{:?} is not allowed in a repository name (lowercase letters, digits, \
                         `.`, `_`, `__`, `-` and `/` are)",
                        char::from(byte)
                    ),
                ));
            }
        };
        let before_ok = index > 0 && is_alphanumeric(bytes[index - 1]);
        let after_ok = bytes
            .get(index + separator_len)
            .is_some_and(|&b| is_alphanumeric(b));
        if !before_ok || !after_ok {
            return Err(Problem::at(
                offset + index,
                "a separator (`.`, `_`, `__` or `-`) must stand between letters or digits",
            ));
        }
        index += separator_len;
    }
    Ok(())
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
fn check_tag(tag: &str, offset: usize) -> Result<(), Problem> {
    if tag.is_empty() {
        return Err(Problem::at(offset, "the tag after `:` is empty"));
    }
    if tag.len() > TAG_MAX_LEN {
        return Err(Problem::at(
            offset,
            format!("the tag is longer than {TAG_MAX_LEN} characters"),
        ));
    }
    if tag.starts_with(['.', '-']) {
        return Err(Problem::at(
            offset,
            "a tag starts with a letter, a digit or `_`",
        ));
    }
    if let Some((index, bad)) = tag
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Problem::at(
            offset + index,
            format!("{bad:?} is not allowed in a tag (letters, digits, `.`, `_` and `-` are)"),
        ));
    }
    Ok(())
}

fn check_digest(digest: &str, offset: usize) -> Result<(), Problem> {
    crate::digest::check_sha256(digest).map_err(|reason| Problem::at(offset, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Reference {
        match input.parse() {
            Ok(reference) => reference,
            Err(error) => panic!("{input} should parse: {error}"),
        }
    }

    fn error(input: &str) -> String {
        match input.parse::<Reference>() {
            Ok(reference) => panic!("{input} should not parse, got {reference:?}"),
            Err(error) => error.to_string(),
        }
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_every_part() {
        let reference = parsed(&format!("127.0.0.1:5000/team/app:1.4.2@{DIGEST}"));
        assert_eq!(reference.registry(), "127.0.0.1:5000");
        assert_eq!(reference.host(), "127.0.0.1");
        assert_eq!(reference.repository(), "team/app");
        assert_eq!(reference.tag(), Some("1.4.2"));
        assert_eq!(reference.digest(), Some(DIGEST));
    }

    #[test]
    fn parses_hosts_of_every_kind() {
        assert_eq!(parsed("localhost/app").registry(), "localhost");
        assert_eq!(parsed("registry.example.com/a/b/c").repository(), "a/b/c");
        assert_eq!(parsed("myhost:443/app:v1").host(), "myhost");
        let ipv6 = parsed("[::1]:5000/app:v1");
        assert_eq!(ipv6.registry(), "[::1]:5000");
        assert_eq!(ipv6.host(), "[::1]");
        assert_eq!(parsed(&format!("localhost/app@{DIGEST}")).tag(), None);
    }

    #[test]
    fn displays_as_written() {
        for input in [
            "127.0.0.1:5000/team/app:1.4.2",
            "[::1]:5000/a.b_c__d--e/f",
            &format!("registry.example.com/app:v@{DIGEST}"),
        ] {
            assert_eq!(parsed(input).to_string(), input);
        }
    }

    #[test]
    fn errors_name_the_column_and_the_fix() {
        assert_eq!(
            error("team/app:1"),
            "invalid registry reference `team/app:1` at column 1: `team` does not look like a \
             registry host (it has no `.`, no port and is not `localhost`); start with the \
             registry, e.g. registry.example.com/team/...; expected \
             host[:port]/repository[:tag][@sha256:<64 hex digits>], e.g. \
             127.0.0.1:5000/team/app:1.0"
        );
        assert!(
            error("localhost:5000/Team/app")
                .contains("at column 16: repository names are lowercase")
        );
        assert!(error("localhost:99999/app").contains("at column 11: the port `99999`"));
        assert!(error("localhost/app:").contains("at column 15: the tag after `:` is empty"));
        assert!(error("localhost/app:v 1").contains("at column 16: ' ' is not allowed"));
        assert!(error("localhost/app@sha512:00").contains("at column 15: only sha256 digests"));
        assert!(error("localhost/a..b").contains("at column 12: a separator"));
        assert!(error("localhost/a//b").contains("empty path component"));
        assert!(error("localhost").contains("there is no `/`"));
        assert!(error("[::1/app").contains("closing `]`"));
        assert!(error("300.1.1.1:80/app").contains("not an IPv4 address"));
        assert!(error("rég.example/app").contains("at column 2: 'é' is not allowed"));
    }
}
