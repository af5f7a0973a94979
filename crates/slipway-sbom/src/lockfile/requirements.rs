//! pip `requirements*.txt`: only exact `name==version` pins become components, with their
//! `--hash=` values; every other requirement is reported as skipped, never as an error,
//! because a requirements file is allowed to be loose.

use super::Parsed;
use crate::{Component, Ecosystem, Hash, purl};

pub(crate) fn parse(path: &str, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (line_number, line) in logical_lines(text) {
        let line = strip_comment(&line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            if let Some(reason) = option_note(line) {
                parsed.skip(path, Some(line_number), reason);
            }
            continue;
        }
        match pin(line) {
            Ok((name, version, hashes)) => match purl::pypi(name, version) {
                Some(purl) => {
                    let mut component =
                        Component::new(Ecosystem::Pypi, None, name, version, purl, path);
                    component.hashes = hashes;
                    parsed.components.push(component);
                }
                None => parsed.skip(path, Some(line_number), format!("`{line}`: no package URL")),
            },
            Err(reason) => parsed.skip(path, Some(line_number), reason),
        }
    }
    parsed
}

/// Joins `\`-continued lines; each logical line keeps the number of its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (number, buffer) = current.get_or_insert_with(|| (index + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(continued) => {
                buffer.push_str(continued);
                buffer.push(' ');
            }
            None => {
                buffer.push_str(raw);
                lines.push((*number, std::mem::take(buffer)));
                current = None;
            }
        }
    }
    if let Some(last) = current {
        lines.push(last);
    }
    lines
}

/// A `#` starts a comment at the line start or after whitespace (not inside a URL fragment).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        let after_space = index == 0 || bytes.get(index - 1).is_some_and(u8::is_ascii_whitespace);
        if byte == b'#' && after_space {
            return &line[..index];
        }
    }
    line
}

/// Options that stand for packages are worth a note; index and build options are not.
fn option_note(line: &str) -> Option<String> {
    let option = line.split([' ', '=']).next().unwrap_or_default();
    match option {
        "-e" | "--editable" => Some(format!(
            "`{line}`: an editable install has no pinned version"
        )),
        "-r" | "--requirement" | "-c" | "--constraint" => Some(format!(
            "`{line}`: the referenced file is read on its own only when it is named requirements*.txt"
        )),
        _ => None,
    }
}

/// `name[extras] == version ; markers --hash=alg:hex ...` → name, version, hashes.
fn pin(line: &str) -> Result<(&str, &str, Vec<Hash>), String> {
    let (requirement, options) = match line.find(" --") {
        Some(index) => (&line[..index], &line[index..]),
        None => (line, ""),
    };
    let requirement = requirement.split(';').next().unwrap_or_default().trim();
    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    let name = &requirement[..name_end];
    if name.is_empty() {
        return Err(format!("`{line}`: not a `name==version` requirement"));
    }
    let mut rest = requirement[name_end..].trim_start();
    if let Some(after_extras) = rest.strip_prefix('[') {
        let close = after_extras
            .find(']')
            .ok_or_else(|| format!("`{line}`: unclosed extras"))?;
        rest = after_extras[close + 1..].trim_start();
    }
    if rest.starts_with('@') {
        return Err(format!(
            "`{line}`: a direct URL reference is not a version pin"
        ));
    }
    let version = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains([',', '*', ' ', '<', '>', '!', '~']))
        .ok_or_else(|| format!("`{line}`: not pinned with `==` to one version"))?;
    let hashes = options
        .split_whitespace()
        .filter_map(|option| option.strip_prefix("--hash="))
        .filter_map(Hash::from_prefixed_hex)
        .collect();
    Ok((name, version, hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIREMENTS: &str = "\
# a comment
requests[socks]==2.32.3 \\
    --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6 \\
    --hash=sha256:55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760
Django_Allauth == 0.58.2 ; python_version >= \"3.8\"  # trailing
flask>=3.0
-e ./local
--index-url https://pypi.org/simple
pkg @ https://example.invalid/pkg.whl
numpy==1.26.*
";

    #[test]
    fn pins_hashes_and_skips() {
        let parsed = parse("requirements.txt", REQUIREMENTS);
        let purls: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            ["pkg:pypi/requests@2.32.3", "pkg:pypi/django-allauth@0.58.2"]
        );
        assert_eq!(parsed.components[0].hashes.len(), 2);
        let lines: Vec<Option<usize>> = parsed.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [Some(6), Some(7), Some(9), Some(10)]);
        assert!(parsed.skipped[0].reason.contains("flask>=3.0"));
    }
}
