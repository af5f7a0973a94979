//! Reading any scanner's SARIF 2.1.0 and flattening it into findings.

use crate::Error;
use crate::model::{
    ArtifactLocation, Level, Log, MultiformatMessageString, ReportingDescriptor, Run, SarifResult,
    ToolComponent, VERSION,
};
use crate::write::FINGERPRINT_KEY;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::path::{Component, Path, PathBuf};

/// Reads a SARIF log. `file` names the input in errors.
pub fn read(file: &str, bytes: &[u8]) -> Result<Log, Error> {
    match serde_json::from_slice::<Log>(bytes) {
        Ok(log) if log.version == VERSION => Ok(log),
        Ok(log) => Err(Error::UnsupportedVersion {
            file: file.to_string(),
            found: log.version,
        }),
        Err(error) => {
            // A log of another version fails on its different shape first; name the version
            // instead of the first member that does not fit.
            if let Ok(probe) = serde_json::from_slice::<VersionProbe>(bytes)
                && let Some(found) = probe.version.filter(|version| version != VERSION)
            {
                return Err(Error::UnsupportedVersion {
                    file: file.to_string(),
                    found,
                });
            }
            Err(Error::json(file, &error))
        }
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    version: Option<String>,
}

/// One finding from a SARIF result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ingested {
    /// The driver's name (`Semgrep OSS`, `CodeQL`, `clippy`).
    pub tool: String,
    /// The rule id.
    pub rule: String,
    /// The result's level, else the rule's default level, else `warning`.
    pub level: Level,
    /// The message, with `messageStrings` and placeholders resolved.
    pub message: String,
    /// The first location's file: repository-relative when it could be made so.
    pub file: Option<String>,
    /// The first location's start line.
    pub line: Option<u32>,
    /// The first location's start column.
    pub column: Option<u32>,
    /// The rule's `security-severity`, 0.0–10.0.
    pub security_severity: Option<f64>,
    /// Stable across runs: the `slipway/v1` partial fingerprint when present, else a hash of
    /// the tool, rule and partial fingerprints, else of tool, rule, file, line and message.
    pub fingerprint: String,
}

/// Findings and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ingestion {
    /// Results that are problems and are not suppressed.
    pub findings: Vec<Ingested>,
    /// Results suppressed in source or externally (and not rejected).
    pub suppressed: u64,
    /// Results of kind `pass` or `notApplicable`.
    pub not_problems: u64,
}

/// Findings from every run of the log; file URIs are kept as the tool wrote them, less a
/// `./` prefix.
pub fn ingest(log: &Log) -> Vec<Ingested> {
    ingest_counted(log, None).findings
}

/// Like [`ingest`], and absolute `file://` URIs (and absolute paths) under `root` become
/// paths relative to it.
pub fn ingest_with_root(log: &Log, root: &Path) -> Vec<Ingested> {
    ingest_counted(log, Some(root)).findings
}

/// Findings plus the count of suppressed and non-problem results.
pub fn ingest_counted(log: &Log, root: Option<&Path>) -> Ingestion {
    let mut ingestion = Ingestion::default();
    for run in &log.runs {
        for result in run.results.iter().flatten() {
            if matches!(result.kind.as_deref(), Some("pass" | "notApplicable")) {
                ingestion.not_problems += 1;
            } else if is_suppressed(result) {
                ingestion.suppressed += 1;
            } else {
                ingestion.findings.push(finding(run, result, root));
            }
        }
    }
    ingestion
}

/// Suppressed unless every suppression was rejected or is still under review.
fn is_suppressed(result: &SarifResult) -> bool {
    result.suppressions.iter().flatten().any(|suppression| {
        suppression
            .status
            .as_deref()
            .is_none_or(|status| status == "accepted")
    })
}

fn finding(run: &Run, result: &SarifResult, root: Option<&Path>) -> Ingested {
    let (component, descriptor) = rule_of(run, result);
    let rule = result
        .rule_id
        .clone()
        .or_else(|| result.rule.as_ref().and_then(|rule| rule.id.clone()))
        .or_else(|| descriptor.map(|descriptor| descriptor.id.clone()))
        .unwrap_or_default();
    let level = result
        .level
        .or_else(|| descriptor?.default_configuration.as_ref()?.level)
        .unwrap_or(Level::Warning);
    let message = message_text(result, component, descriptor, &rule);
    let location = result
        .locations
        .iter()
        .flatten()
        .find_map(|location| location.physical_location.as_ref());
    let file = location
        .and_then(|location| location.artifact_location.as_ref())
        .and_then(|artifact| file_of(run, artifact, root));
    let region = location.and_then(|location| location.region.as_ref());
    let line = region.and_then(|region| region.start_line);
    let column = region.and_then(|region| region.start_column);
    let security_severity = descriptor.and_then(security_severity);
    let tool = run.tool.driver.name.clone();
    let fingerprint = fingerprint(result, &tool, &rule, file.as_deref(), line, &message);
    Ingested {
        tool,
        rule,
        level,
        message,
        file,
        line,
        column,
        security_severity,
        fingerprint,
    }
}

/// The component and rule a result refers to: `rule.toolComponent` picks an extension,
/// `rule.index` / `ruleIndex` a position, else the id is looked up in that component and
/// then everywhere.
fn rule_of<'a>(
    run: &'a Run,
    result: &SarifResult,
) -> (&'a ToolComponent, Option<&'a ReportingDescriptor>) {
    let driver = &run.tool.driver;
    let extensions = run.tool.extensions.as_deref().unwrap_or_default();
    let reference = result.rule.as_ref();
    let component = reference
        .and_then(|rule| rule.tool_component.as_ref())
        .and_then(|target| {
            let by_index = target
                .index
                .and_then(|index| usize::try_from(index).ok())
                .and_then(|index| extensions.get(index));
            by_index.or_else(|| {
                let name = target.name.as_deref()?;
                if driver.name == name {
                    return Some(driver);
                }
                extensions.iter().find(|extension| extension.name == name)
            })
        })
        .unwrap_or(driver);
    let rules = component.rules.as_deref().unwrap_or_default();
    let index = reference
        .and_then(|rule| rule.index)
        .or(result.rule_index)
        .and_then(|index| usize::try_from(index).ok());
    if let Some(descriptor) = index.and_then(|index| rules.get(index)) {
        return (component, Some(descriptor));
    }
    let id = result
        .rule_id
        .as_deref()
        .or_else(|| reference.and_then(|rule| rule.id.as_deref()));
    let Some(id) = id else {
        return (component, None);
    };
    let find = |component: &'a ToolComponent| {
        component
            .rules
            .iter()
            .flatten()
            .find(|rule| rule.id == id)
            .map(|rule| (component, rule))
    };
    let found = find(component)
        .or_else(|| find(driver))
        .or_else(|| extensions.iter().find_map(find));
    match found {
        Some((component, descriptor)) => (component, Some(descriptor)),
        None => (component, None),
    }
}

fn message_text(
    result: &SarifResult,
    component: &ToolComponent,
    descriptor: Option<&ReportingDescriptor>,
    rule: &str,
) -> String {
    let message = &result.message;
    let arguments = message.arguments.as_deref().unwrap_or_default();
    let direct = message.text.as_deref().or(message.markdown.as_deref());
    let by_id = || {
        let id = message.id.as_deref()?;
        descriptor
            .and_then(|descriptor| descriptor.message_strings.as_ref()?.get(id))
            .or_else(|| component.global_message_strings.as_ref()?.get(id))
            .map(|string| string.text.as_str())
    };
    let rule_text = || {
        let descriptor = descriptor?;
        [&descriptor.short_description, &descriptor.full_description]
            .into_iter()
            .flatten()
            .map(|string: &MultiformatMessageString| string.text.as_str())
            .find(|text| !text.is_empty())
    };
    match direct.or_else(by_id) {
        Some(template) => substitute(template, arguments),
        None => rule_text().unwrap_or(rule).to_string(),
    }
}

/// SARIF's message format: `{n}` is the n-th argument, `{{` and `}}` are literal braces;
/// a placeholder without an argument is kept as written.
fn substitute(template: &str, arguments: &[String]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(position) = rest.find(['{', '}']) {
        let (before, after) = rest.split_at(position);
        out.push_str(before);
        if let Some(tail) = after.strip_prefix("{{") {
            out.push('{');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("}}") {
            out.push('}');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{')
            && let Some(close) = inner.find('}')
            && let Some(value) = inner
                .get(..close)
                .and_then(|digits| digits.parse::<usize>().ok())
                .and_then(|index| arguments.get(index))
        {
            out.push_str(value);
            rest = inner.get(close + 1..).unwrap_or_default();
        } else {
            // A lone brace: both are one byte long.
            out.push_str(after.get(..1).unwrap_or_default());
            rest = after.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    out
}

fn security_severity(descriptor: &ReportingDescriptor) -> Option<f64> {
    let value = descriptor.properties.as_ref()?.get("security-severity")?;
    let severity = match value {
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok()?,
        serde_json::Value::Number(number) => number.as_f64()?,
        _ => return None,
    };
    (severity.is_finite() && (0.0..=10.0).contains(&severity)).then_some(severity)
}

fn fingerprint(
    result: &SarifResult,
    tool: &str,
    rule: &str,
    file: Option<&str>,
    line: Option<u32>,
    message: &str,
) -> String {
    let partial = result
        .partial_fingerprints
        .as_ref()
        .filter(|p| !p.is_empty());
    if let Some(own) = partial.and_then(|partial| partial.get(FINGERPRINT_KEY)) {
        return own.clone();
    }
    let mut hasher = Sha256::new();
    let mut field = |value: &str| {
        hasher.update(value.as_bytes());
        hasher.update([0]);
    };
    field(tool);
    field(rule);
    match partial {
        Some(partial) => {
            for (key, value) in partial {
                field(key);
                field(value);
            }
        }
        None => {
            field(file.unwrap_or_default());
            field(&line.map(|line| line.to_string()).unwrap_or_default());
            field(message);
        }
    }
    hex::encode(hasher.finalize())
}

/// The file a location names: through `run.artifacts` when only an index is given. A
/// relative URI is repository-relative; with a `root`, one whose `uriBaseId` is defined as
/// a directory under the root (a subproject) is joined to it, and absolute URIs under the
/// root are made relative to it.
fn file_of(run: &Run, artifact: &ArtifactLocation, root: Option<&Path>) -> Option<String> {
    let artifact = match &artifact.uri {
        Some(_) => artifact,
        None => {
            let index = usize::try_from(artifact.index?).ok()?;
            run.artifacts.as_ref()?.get(index)?.location.as_ref()?
        }
    };
    let uri = artifact.uri.as_deref()?;
    let root = root.map(normalize);
    let under_root = |absolute: &Path| {
        let root = root.as_ref()?;
        normalize(absolute).strip_prefix(root).ok().map(slash_path)
    };
    Some(match uri_to_path(uri) {
        PathOrRelative::Relative(relative) => base_path(run, artifact.uri_base_id.as_deref(), 0)
            .and_then(|base| under_root(&base.join(&relative)))
            .unwrap_or(relative),
        PathOrRelative::Absolute(absolute) => {
            under_root(&absolute).unwrap_or_else(|| slash_path(&normalize(&absolute)))
        }
    })
}

enum PathOrRelative {
    Relative(String),
    Absolute(PathBuf),
}

/// How deep `uriBaseId` chains may go before they are taken as a loop.
const MAX_BASE_DEPTH: usize = 8;

/// The absolute directory a `uriBaseId` stands for, when the log defines one.
fn base_path(run: &Run, base_id: Option<&str>, depth: usize) -> Option<PathBuf> {
    if depth >= MAX_BASE_DEPTH {
        return None;
    }
    let base = run.original_uri_base_ids.as_ref()?.get(base_id?)?;
    match uri_to_path(base.uri.as_deref()?) {
        PathOrRelative::Absolute(path) => Some(path),
        PathOrRelative::Relative(relative) => {
            Some(base_path(run, base.uri_base_id.as_deref(), depth + 1)?.join(relative))
        }
    }
}

fn uri_to_path(uri: &str) -> PathOrRelative {
    let decoded = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    if let Some(rest) = strip_prefix_ignore_case(uri, "file:") {
        // file:///abs, file://localhost/abs and file:/abs all name /abs.
        let rest = rest
            .strip_prefix("//")
            .map(|authority_and_path| {
                authority_and_path
                    .find('/')
                    .and_then(|slash| authority_and_path.get(slash..))
                    .unwrap_or_default()
            })
            .unwrap_or(rest);
        return PathOrRelative::Absolute(PathBuf::from(decoded(rest)));
    }
    let text = decoded(uri);
    if text.starts_with('/') {
        return PathOrRelative::Absolute(PathBuf::from(text));
    }
    let relative = text.replace('\\', "/");
    let mut relative = relative.as_str();
    while let Some(rest) = relative.strip_prefix("./") {
        relative = rest;
    }
    PathOrRelative::Relative(relative.to_string())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Removes `.` and resolves `..` lexically, so a prefix test against the root is honest.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn slash_path(path: &Path) -> String {
    path.components()
        .filter_map(|component| match component {
            Component::RootDir => Some(String::new()),
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_placeholders_and_escaped_braces() {
        let arguments = ["x".to_string(), "y".to_string()];
        assert_eq!(substitute("{0} and {1}", &arguments), "x and y");
        assert_eq!(substitute("{{0}} is {0}", &arguments), "{0} is x");
        assert_eq!(substitute("missing {7}", &arguments), "missing {7}");
        assert_eq!(substitute("open { brace", &arguments), "open { brace");
        assert_eq!(substitute("ünïcode {0}}", &arguments), "ünïcode x}");
    }

    #[test]
    fn file_uris_become_paths() {
        for (uri, expected) in [
            ("file:///repo/src/a.rs", "/repo/src/a.rs"),
            ("file://localhost/repo/a%20b.rs", "/repo/a b.rs"),
            ("file:/repo/c.rs", "/repo/c.rs"),
        ] {
            match uri_to_path(uri) {
                PathOrRelative::Absolute(path) => assert_eq!(path, PathBuf::from(expected)),
                PathOrRelative::Relative(relative) => panic!("{uri} read as relative {relative}"),
            }
        }
        match uri_to_path("./src/./main.rs") {
            PathOrRelative::Relative(relative) => assert_eq!(relative, "src/./main.rs"),
            PathOrRelative::Absolute(path) => panic!("read as absolute {path:?}"),
        }
    }

    #[test]
    fn slash_path_keeps_the_root() {
        assert_eq!(slash_path(Path::new("/a/b")), "/a/b");
        assert_eq!(slash_path(Path::new("a/b")), "a/b");
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
