//! `unpinned-base-image`: every `FROM` of a Dockerfile or Containerfile names its image by
//! digest, unless it is `scratch` or an earlier build stage.
//!
//! Dockerfiles have no parser crate in the stack; this reads just enough of the format:
//! parser directives (`# escape=`), line continuations, comments, global `ARG` defaults and
//! `FROM [--flag=…] image [AS name]`.

use super::{Position, Scan, UNPINNED_BASE_IMAGE, file_name};
use std::collections::HashMap;

pub(super) fn check(scan: &mut Scan) {
    let files: Vec<String> = scan
        .files
        .iter()
        .filter(|file| is_dockerfile(file_name(file)))
        .cloned()
        .collect();
    for file in files {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        for (position, message) in unpinned_images(&text) {
            scan.find(UNPINNED_BASE_IMAGE, &file, position, message);
        }
    }
}

fn is_dockerfile(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".dockerignore") {
        return false;
    }
    matches!(lower.as_str(), "dockerfile" | "containerfile")
        || name.starts_with("Dockerfile.")
        || name.starts_with("Containerfile.")
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
}

/// A word of an instruction and the byte offset of its first character in the file.
struct Word {
    text: String,
    offset: usize,
}

/// The `FROM` lines that do not pin their image, with the image's position.
fn unpinned_images(text: &str) -> Vec<(Position, String)> {
    let mut findings = Vec::new();
    let mut global_args: HashMap<String, Option<String>> = HashMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut seen_from = false;
    for words in instructions(text) {
        let Some((keyword, arguments)) = words.split_first() else {
            continue;
        };
        match keyword.text.to_ascii_uppercase().as_str() {
            // Only ARGs before the first FROM can be used in FROM lines.
            "ARG" if !seen_from => {
                for argument in arguments {
                    let (name, default) = match argument.text.split_once('=') {
                        Some((name, value)) => (name, Some(expand(unquote(value), &global_args))),
                        None => (argument.text.as_str(), None),
                    };
                    let default = default.and_then(|expanded| expanded.ok());
                    global_args.insert(name.to_string(), default);
                }
            }
            "FROM" => {
                seen_from = true;
                let mut rest = arguments
                    .iter()
                    .skip_while(|word| word.text.starts_with("--"));
                let Some(image) = rest.next() else {
                    continue;
                };
                if let Some(problem) = check_image(&image.text, &global_args, &stages) {
                    findings.push((Position::of_offset(text, image.offset), problem));
                }
                if let (Some(as_keyword), Some(name)) = (rest.next(), rest.next())
                    && as_keyword.text.eq_ignore_ascii_case("as")
                {
                    stages.push(name.text.to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }
    findings
}

/// Why the image of a `FROM` is not pinned, or `None` when it is.
fn check_image(
    raw: &str,
    args: &HashMap<String, Option<String>>,
    stages: &[String],
) -> Option<String> {
    let image = match expand(raw, args) {
        Ok(image) => image,
        Err(variable) => {
            return Some(format!(
                "base image `{raw}` comes from build argument `{variable}`, which has no default before the first FROM, so nothing in the file pins it"
            ));
        }
    };
    let lower = image.to_ascii_lowercase();
    if lower == "scratch" || stages.contains(&lower) {
        return None;
    }
    let shown = if image == raw {
        format!("`{image}`")
    } else {
        format!("`{raw}` (`{image}` with the ARG defaults)")
    };
    match image.split_once('@') {
        Some((_, digest)) if is_sha256_digest(digest) => None,
        Some((_, digest)) => Some(format!(
            "base image {shown} has digest `{digest}`, which is not `sha256:` followed by 64 lowercase hex digits"
        )),
        None => Some(format!(
            "base image {shown} is not pinned by digest: its tag can be moved to other content"
        )),
    }
}

fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}` and
/// `${NAME+alt}` with the ARG defaults; `Err` names a variable that has no value.
fn expand(text: &str, args: &HashMap<String, Option<String>>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(rest.get(..dollar).unwrap_or_default());
        let after = rest.get(dollar + 1..).unwrap_or_default();
        if let Some(braced) = after.strip_prefix('{') {
            let Some(close) = braced.find('}') else {
                // An unclosed `${`: Docker refuses the file; keep the text as written.
                out.push_str(rest.get(dollar..).unwrap_or_default());
                return Ok(out);
            };
            let inner = braced.get(..close).unwrap_or_default();
            out.push_str(&expand_braced(inner, args)?);
            rest = braced.get(close + 1..).unwrap_or_default();
        } else {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if name_len == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            let name = after.get(..name_len).unwrap_or_default();
            out.push_str(value_of(name, args).ok_or_else(|| name.to_string())?);
            rest = after.get(name_len..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_braced(inner: &str, args: &HashMap<String, Option<String>>) -> Result<String, String> {
    for operator in [":-", ":+", "-", "+"] {
        if let Some((name, word)) = inner.split_once(operator) {
            let value = value_of(name, args);
            let set = if operator.starts_with(':') {
                value.is_some_and(|value| !value.is_empty())
            } else {
                value.is_some()
            };
            return Ok(match (operator.ends_with('-'), set) {
                (true, true) => value.unwrap_or_default().to_string(),
                (true, false) => word.to_string(),
                (false, true) => word.to_string(),
                (false, false) => String::new(),
            });
        }
    }
    value_of(inner, args)
        .map(str::to_string)
        .ok_or_else(|| inner.to_string())
}

fn value_of<'a>(name: &str, args: &'a HashMap<String, Option<String>>) -> Option<&'a str> {
    args.get(name)?.as_deref()
}

/// The file's instructions as words with their offsets: parser directives read, comments
/// dropped, continued lines joined.
fn instructions(text: &str) -> Vec<Vec<Word>> {
    let escape = escape_character(text);
    let mut instructions = Vec::new();
    let mut joined = String::new();
    // For each byte of `joined`, the offset of the same byte in `text`.
    let mut origin: Vec<usize> = Vec::new();
    let mut continuing = false;
    let mut offset = 0;
    for raw_line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || (continuing && trimmed.is_empty()) {
            continue;
        }
        let content = line.trim_end();
        let (content, continues) = match content.strip_suffix(escape) {
            Some(without) => (without, true),
            None => (content, false),
        };
        for (index, c) in content.char_indices() {
            joined.push(c);
            origin.extend((0..c.len_utf8()).map(|byte| line_start + index + byte));
        }
        if continues {
            continuing = true;
            continue;
        }
        continuing = false;
        instructions.push(words(&joined, &origin));
        joined.clear();
        origin.clear();
    }
    if !joined.is_empty() {
        instructions.push(words(&joined, &origin));
    }
    instructions
}

fn words(joined: &str, origin: &[usize]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut start = None;
    for (index, c) in joined.char_indices().chain([(joined.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(begin)) => {
                words.push(Word {
                    text: joined.get(begin..index).unwrap_or_default().to_string(),
                    offset: origin.get(begin).copied().unwrap_or_default(),
                });
                start = None;
            }
            (false, None) => start = Some(index),
            _ => {}
        }
    }
    words
}

/// The `# escape=` parser directive, which must come before anything else.
fn escape_character(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Option<&str>)]) -> HashMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.map(str::to_string)))
            .collect()
    }

    #[test]
    fn expands_arg_forms() {
        let args = args(&[("A", Some("x")), ("EMPTY", Some("")), ("NONE", None)]);
        assert_eq!(expand("$A/${A}", &args).unwrap(), "x/x");
        assert_eq!(expand("${NONE:-d}", &args).unwrap(), "d");
        assert_eq!(expand("${EMPTY:-d}|${EMPTY-d}", &args).unwrap(), "d|");
        assert_eq!(expand("${A:+alt}|${NONE+alt}", &args).unwrap(), "alt|");
        assert_eq!(expand("$NONE", &args), Err("NONE".into()));
        assert_eq!(expand("${MISSING}", &args), Err("MISSING".into()));
        assert_eq!(expand("cost$", &args).unwrap(), "cost$");
    }

    #[test]
    fn names() {
        for name in [
            "Dockerfile",
            "Containerfile",
            "api.Dockerfile",
            "Dockerfile.prod",
        ] {
            assert!(is_dockerfile(name), "{name}");
        }
        for name in ["Dockerfile.dockerignore", "docker-compose.yml", "README.md"] {
            assert!(!is_dockerfile(name), "{name}");
        }
    }

    #[test]
    fn continuation_keeps_offsets() {
        let text = "FROM \\\n  # a comment\n  --platform=$X \\\n  alpine:3\n";
        let all = instructions(text);
        assert_eq!(all.len(), 1);
        let image = &all[0][2];
        assert_eq!(image.text, "alpine:3");
        assert_eq!(
            Position::of_offset(text, image.offset),
            Position { line: 4, column: 3 }
        );
    }
}
