//! One file to one [`Record`]: OSV JSON, OSV YAML, or a RustSec advisory (Markdown with a
//! TOML front block) converted to OSV.

use crate::error::Error;
use crate::record::Record;
use crate::rustsec;

/// The formats an advisory file can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    RustSec,
}

/// Reads one advisory file. The format comes from the extension (`.json`, `.yaml`/`.yml`,
/// `.md`) and otherwise from the content: `{` starts JSON, a ```` ```toml ```` fence a RustSec
/// advisory, anything else is read as YAML. `name` is only used to pick the format and to
/// name the file in errors.
pub fn parse_record(name: &str, bytes: &[u8]) -> Result<Record, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = crate::error::line_column(
            std::str::from_utf8(bytes.get(..error.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
            error.valid_up_to(),
        );
        Error::Syntax {
            file: name.to_string(),
            line,
            column,
            format: "UTF-8",
            message: "the file is not UTF-8 text".into(),
        }
    })?;
    let record = match format_of(name, text) {
        Format::Json => parse_json(name, text)?,
        Format::Yaml => parse_yaml(name, text)?,
        Format::RustSec => rustsec::parse(name, text)?,
    };
    check(name, &record)?;
    Ok(record)
}

fn format_of(name: &str, text: &str) -> Format {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        Format::Json
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Format::Yaml
    } else if lower.ends_with(".md") {
        Format::RustSec
    } else {
        let start = text.trim_start();
        if start.starts_with('{') {
            Format::Json
        } else if start.starts_with("```toml") {
            Format::RustSec
        } else {
            Format::Yaml
        }
    }
}

fn parse_json(name: &str, text: &str) -> Result<Record, Error> {
    serde_json::from_str(text).map_err(|error| Error::Syntax {
        file: name.to_string(),
        line: error.line().max(1),
        column: error.column().max(1),
        format: "JSON",
        message: strip_position(&error.to_string()),
    })
}

fn parse_yaml(name: &str, text: &str) -> Result<Record, Error> {
    serde_saphyr::from_str(text).map_err(|error| {
        let (line, column) = error.location().map_or((1, 1), |location| {
            (
                usize::try_from(location.line())
                    .unwrap_or(usize::MAX)
                    .max(1),
                usize::try_from(location.column())
                    .unwrap_or(usize::MAX)
                    .max(1),
            )
        });
        let message = error.to_string();
        Error::Syntax {
            file: name.to_string(),
            line,
            column,
            format: "YAML",
            message: yaml_message(&message),
        }
    })
}

/// The first line of a serde-saphyr message without its `error: line L column C: ` prefix
/// (the error carries the position separately).
fn yaml_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let without_position = first
        .strip_prefix("line ")
        .filter(|rest| rest.contains(" column "))
        .and_then(|rest| rest.split_once(": "))
        .map(|(_, message)| message);
    without_position.unwrap_or(first).to_string()
}

/// serde_json appends ` at line L column C`; the error carries them separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message.get(..at).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

/// What the schema requires beyond the shape: a non-empty id and modification time, and a
/// package name and ecosystem for every affected entry that names a package.
fn check(name: &str, record: &Record) -> Result<(), Error> {
    let invalid = |message: String| Error::Invalid {
        file: name.to_string(),
        message,
    };
    if record.id.trim().is_empty() {
        return Err(invalid("the record has an empty `id`".into()));
    }
    if record.modified.trim().is_empty() {
        return Err(invalid(format!("{}: `modified` is empty", record.id)));
    }
    for (index, affected) in record.affected.iter().enumerate() {
        if let Some(package) = &affected.package
            && (package.ecosystem.trim().is_empty() || package.name.trim().is_empty())
        {
            return Err(invalid(format!(
                "{}: affected[{index}].package needs both `ecosystem` and `name`",
                record.id
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension_then_the_content() {
        assert_eq!(format_of("a.JSON", "x"), Format::Json);
        assert_eq!(format_of("a.yml", "{"), Format::Yaml);
        assert_eq!(format_of("a.md", ""), Format::RustSec);
        assert_eq!(format_of("a", "  {\"id\":1}"), Format::Json);
        assert_eq!(format_of("a", "```toml\n"), Format::RustSec);
        assert_eq!(format_of("a", "id: X"), Format::Yaml);
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let error = parse_record("bad.json", b"{\n  \"id\": \"X\",\n  \"modified\": 3\n}")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("bad.json:3:"), "{error}");
        assert!(!error.contains(" at line "), "{error}");
    }

    #[test]
    fn yaml_keeps_unquoted_numbers_and_times_as_written() {
        let record = parse_record(
            "x.yaml",
            b"id: PYSEC-0\nmodified: 2023-11-07T20:24:23.946863Z\naffected:\n- package: {name: a, ecosystem: PyPI}\n  versions: [1.10, 2.0]\n",
        )
        .unwrap();
        assert_eq!(record.modified, "2023-11-07T20:24:23.946863Z");
        assert_eq!(record.affected[0].versions, ["1.10", "2.0"]);
    }

    #[test]
    fn empty_ids_and_nameless_packages_are_refused() {
        let error = parse_record("e.json", br#"{"id":" ","modified":"x"}"#).unwrap_err();
        assert!(error.to_string().contains("empty `id`"), "{error}");
        let error = parse_record(
            "e.json",
            br#"{"id":"X","modified":"x","affected":[{"package":{"ecosystem":"npm","name":""}}]}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("affected[0]"), "{error}");
    }

    #[test]
    fn non_utf8_is_a_located_error() {
        let error = parse_record("b.json", b"{\n\xff").unwrap_err().to_string();
        assert!(error.starts_with("b.json:2:1:"), "{error}");
    }
}
