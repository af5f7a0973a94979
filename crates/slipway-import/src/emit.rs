//! A small YAML writer for converted pipelines: block style, two-space indentation, comments,
//! and scalars quoted only when they would otherwise read back as something else.
//!
//! A general-purpose serialiser would not keep key order readable, could not place comments
//! next to the job or step they explain, and would not choose `|` for scripts.

/// A value of the document being written.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    /// A number, already in the text YAML reads back as that number.
    Number(String),
    Seq(Vec<Item>),
    Map(Map),
}

/// One list item, with comment lines written above it. An item without a value is only its
/// comments (for something that was dropped at that position).
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub comments: Vec<String>,
    pub value: Option<Value>,
}

impl Item {
    pub fn value(value: Value) -> Self {
        Item {
            comments: Vec::new(),
            value: Some(value),
        }
    }
}

/// A mapping in insertion order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    pub entries: Vec<Entry>,
    /// Write the mapping as `{ k: v }` when it is a list item of scalars that fits a line
    /// (matrix `include` / `exclude` entries); otherwise it is written in block style.
    pub flow: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub comments: Vec<String>,
    /// Write an empty line before the entry (between top-level sections and jobs).
    pub blank_before: bool,
    pub key: String,
    pub value: Value,
}

impl Map {
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        self.entries.push(Entry {
            comments: Vec::new(),
            blank_before: false,
            key: key.into(),
            value,
        });
    }

    /// Inserts an entry with comment lines above it.
    pub fn insert_commented(
        &mut self,
        key: impl Into<String>,
        value: Value,
        comments: Vec<String>,
    ) {
        self.entries.push(Entry {
            comments,
            blank_before: false,
            key: key.into(),
            value,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A list of strings.
pub fn str_seq<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
    Value::Seq(
        items
            .into_iter()
            .map(|s| Item::value(Value::Str(s.into())))
            .collect(),
    )
}

/// Flow collections longer than this are written in block style.
const FLOW_WIDTH: usize = 100;

/// Writes a document: comment lines, then the root mapping.
pub fn document(header: &[String], root: &Map) -> String {
    let mut out = String::new();
    for line in header {
        comment(&mut out, 0, line);
    }
    write_map(&mut out, root, 0, None);
    out
}

fn comment(out: &mut String, indent: usize, text: &str) {
    for line in text.split('\n') {
        let line = line.trim_end();
        push_indent(out, indent);
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            // Control characters would end the comment or corrupt the line.
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            out.push_str("# ");
            out.push_str(&clean);
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes a mapping's entries at `indent`. `first_prefix` replaces the indentation of the
/// first line when the mapping is a list item (`- key: value`).
fn write_map(out: &mut String, map: &Map, indent: usize, first_prefix: Option<&str>) {
    for (i, entry) in map.entries.iter().enumerate() {
        let prefix = if i == 0 { first_prefix } else { None };
        if entry.blank_before && !out.is_empty() && prefix.is_none() {
            out.push('\n');
        }
        // The first entry of a list item has its comments hoisted above the `-` by the caller.
        if prefix.is_none() {
            for line in &entry.comments {
                comment(out, indent, line);
            }
        }
        match prefix {
            Some(prefix) => out.push_str(prefix),
            None => push_indent(out, indent),
        }
        out.push_str(&key(&entry.key));
        out.push(':');
        write_value_after_key(out, &entry.value, indent);
    }
}

/// Writes what follows `key:` for a key at `indent`, including the line end.
fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Str(s) if block_literal_ok(s) => write_block_literal(out, s, indent + 2),
        Value::Map(map) if map.is_empty() => out.push_str(" {}\n"),
        Value::Map(map) => {
            out.push('\n');
            write_map(out, map, indent + 2, None);
        }
        Value::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Value::Seq(items) => match flow(value) {
            Some(text) if indent + text.len() <= FLOW_WIDTH => {
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
            _ => {
                out.push('\n');
                write_seq(out, items, indent + 2);
            }
        },
        scalar_value => {
            out.push(' ');
            out.push_str(&scalar_text(scalar_value, false));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Item], indent: usize) {
    for item in items {
        for line in &item.comments {
            comment(out, indent, line);
        }
        let Some(value) = &item.value else {
            continue;
        };
        match value {
            Value::Map(map) if !map.is_empty() => {
                if let Some(text) =
                    flow(value).filter(|t| map.flow && indent + 2 + t.len() <= FLOW_WIDTH)
                {
                    push_indent(out, indent);
                    out.push_str("- ");
                    out.push_str(&text);
                    out.push('\n');
                    continue;
                }
                for line in &map.entries[0].comments {
                    comment(out, indent, line);
                }
                let prefix = format!("{}- ", " ".repeat(indent));
                write_map(out, map, indent + 2, Some(&prefix));
            }
            Value::Seq(inner) if !inner.is_empty() && flow(value).is_none() => {
                push_indent(out, indent);
                out.push_str("-\n");
                write_seq(out, inner, indent + 2);
            }
            Value::Str(s) if block_literal_ok(s) => {
                push_indent(out, indent);
                out.push('-');
                write_block_literal(out, s, indent + 2);
            }
            other => {
                push_indent(out, indent);
                out.push_str("- ");
                out.push_str(&flow(other).unwrap_or_else(|| scalar_text(other, false)));
                out.push('\n');
            }
        }
    }
}

/// Writes ` |` or ` |-` and the lines of `s` at `indent`.
fn write_block_literal(out: &mut String, s: &str, indent: usize) {
    let body = s.strip_suffix('\n');
    out.push_str(if body.is_some() { " |\n" } else { " |-\n" });
    for line in body.unwrap_or(s).split('\n') {
        if !line.is_empty() {
            push_indent(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// The flow form (`[a, b]`, `{ k: v }`) of a collection of scalars, or `None` when it holds
/// collections, comments or multi-line strings.
fn flow(value: &Value) -> Option<String> {
    match value {
        Value::Seq(items) => {
            let parts = items
                .iter()
                .map(|item| match (&item.value, item.comments.is_empty()) {
                    (Some(v), true) if is_flow_scalar(v) => Some(scalar_text(v, true)),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(format!("[{}]", parts.join(", ")))
        }
        Value::Map(map) if map.is_empty() => Some("{}".into()),
        Value::Map(map) => {
            let parts = map
                .entries
                .iter()
                .map(|e| {
                    (e.comments.is_empty() && is_flow_scalar(&e.value))
                        .then(|| format!("{}: {}", flow_key(&e.key), scalar_text(&e.value, true)))
                })
                .collect::<Option<Vec<_>>>()?;
            Some(format!("{{ {} }}", parts.join(", ")))
        }
        _ => None,
    }
}

fn is_flow_scalar(value: &Value) -> bool {
    match value {
        Value::Str(s) => !s.contains('\n'),
        Value::Bool(_) | Value::Number(_) => true,
        Value::Seq(_) | Value::Map(_) => false,
    }
}

fn scalar_text(value: &Value, in_flow: bool) -> String {
    match value {
        Value::Str(s) => scalar(s, in_flow),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.clone(),
        // Callers route collections elsewhere; an empty flow form is still valid YAML.
        Value::Seq(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// A string as a YAML scalar: plain when it reads back as the same string, double-quoted
/// otherwise. `in_flow` adds the characters that end a scalar inside `[...]` / `{...}`.
pub fn scalar(s: &str, in_flow: bool) -> String {
    if plain_ok(s, in_flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// A mapping key. Slipway reads YAML 1.2, where `on` is a string, so the keys of the pipeline
/// format (`on:`) stay plain even though YAML 1.1 tools would read them as booleans.
fn key(s: &str) -> String {
    if s == "on" {
        s.to_string()
    } else {
        scalar(s, false)
    }
}

fn flow_key(s: &str) -> String {
    if s == "on" {
        s.to_string()
    } else {
        scalar(s, true)
    }
}

fn plain_ok(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.chars().any(needs_escape) || s.contains('\t') || s.contains('\n') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    !resolves_to_non_string(s)
}

/// Whether a plain scalar would be read as null, a boolean or a number — by Slipway's YAML 1.2
/// reader or by YAML 1.1 tools (`yes`, `on`, `1_000`) that users may also point at the file.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", "=", "<<", ".inf",
        "+.inf", "-.inf", ".nan",
    ];
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let radix = ["0x", "0o", "0b"].iter().find_map(|p| body.strip_prefix(p));
    let numeric = match radix {
        Some(digits) => digits.chars().all(|c| c.is_ascii_hexdigit() || c == '_'),
        // Floats, `1_000`, sexagesimal `1:30` and dates, which YAML 1.1 reads as timestamps.
        None => {
            body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                && body.chars().any(|c| c.is_ascii_digit())
                && body
                    .chars()
                    .all(|c| c.is_ascii_digit() || "._:eE+-".contains(c))
        }
    };
    // `0 3 * * *` is a string, but one that starts like a number reads better quoted.
    numeric || (s.starts_with(|c: char| c.is_ascii_digit()) && s.contains(' '))
}

/// Characters a plain or block scalar cannot hold as they are.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a multi-line string can be written as a `|` / `|-` block and read back unchanged.
///
/// Excluded: leading whitespace on the first line (it would need an indentation indicator),
/// trailing whitespace or blank lines at the end (chomping would change them), characters
/// that need escapes, and tabs in a line's indentation, which Slipway's linter reports as tab
/// indentation even inside a block scalar.
fn block_literal_ok(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    body.contains('\n')
        && !body.starts_with([' ', '\t', '\n'])
        && !body.ends_with([' ', '\t', '\n'])
        && !s.chars().any(needs_escape)
        && body.split('\n').all(|line| {
            !line[..line.len() - line.trim_start_matches([' ', '\t']).len()].contains('\t')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_pipeline::source::{SourceFile, SourceId};
    use slipway_pipeline::yaml::{self, NodeKind};

    /// Emits `{ key: value }` in block and flow position and reads both back.
    fn round_trip(value: &str) {
        let mut map = Map::default();
        map.insert("key", Value::Str(value.to_string()));
        let mut item = Map {
            flow: true,
            ..Map::default()
        };
        item.insert("a", Value::Str(value.to_string()));
        map.insert(
            "list",
            Value::Seq(vec![
                Item::value(Value::Str(value.to_string())),
                Item::value(Value::Map(item)),
            ]),
        );
        map.insert(value, Value::Bool(true));
        let text = document(&[], &map);
        let file = SourceFile::new("t.yml", text.as_str());
        let (root, diagnostics) = yaml::parse(&file, SourceId(0));
        assert!(
            diagnostics.is_empty(),
            "{value:?} emitted as\n{text}\ngave {diagnostics:?}"
        );
        let Some(NodeKind::Map(entries)) = root.map(|r| r.kind) else {
            panic!("{value:?}: not a mapping:\n{text}")
        };
        assert_eq!(entries[0].1.as_str(), Some(value), "emitted as\n{text}");
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!("{value:?}: list lost:\n{text}")
        };
        assert_eq!(items[0].as_str(), Some(value), "emitted as\n{text}");
        let NodeKind::Map(inner) = &items[1].kind else {
            panic!("{value:?}: item map lost:\n{text}")
        };
        assert_eq!(inner[0].1.as_str(), Some(value), "emitted as\n{text}");
        assert_eq!(entries[2].0.as_str(), Some(value), "key emitted as\n{text}");
    }

    #[test]
    fn tricky_scalars_read_back_as_the_same_string() {
        for value in [
            "",
            " ",
            "plain",
            "true",
            "False",
            "yes",
            "on",
            "OFF",
            "null",
            "~",
            "~/.cargo/registry",
            "1",
            "3.10",
            "0x1f",
            "1e3",
            "-1",
            "+1",
            ".5",
            ".inf",
            "-",
            "--release",
            "- item",
            "? x",
            ":x",
            "a: b",
            "a:b",
            "a #b",
            "a#b",
            "#x",
            "&anchor",
            "*alias",
            "!tag",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "%x",
            "@x",
            "`x`",
            "x,y",
            "[x]",
            "{x}",
            "trailing ",
            " leading",
            "tab\tin",
            "a:",
            "${{ matrix.os }}",
            "${{ hashFiles('**/Cargo.lock') }}",
            "refs/heads/main",
            "v*",
            "**/*.md",
            "0 3 * * *",
            "é ü 日本",
            "nel\u{85}x",
            "ls\u{2028}x",
            "bom\u{feff}",
            "bell\u{7}",
            "cr\r\nlf",
            "back\\slash",
            "line\nbreak",
            "script\n",
            "a\nb\n",
            "a\nb\n\n",
            "\nleading",
            " indented\nx\n",
            "x\n  y\n",
            "x\n\ty\n",
            "x\n  \ty\n",
            "x\ny \n",
            "x\n\ny\n",
            "x\n  \ny\n",
            "=",
            "<<",
            "- a\n- b\n",
            "# c\nd\n",
            "a\n---\nb\n",
            "a\n...\n",
            "10m",
            "1h30m",
            "18.x",
            "2024-01-01",
            "1:30",
            "1_000",
            "0b101",
            "0o17",
            "-0x1f",
            "1.2.3",
            "v1.2.3",
            "e5",
            "E",
            ".",
            "..",
            "on:",
            "key2",
        ] {
            round_trip(value);
        }
    }

    #[test]
    fn generated_strings_round_trip() {
        // A fixed xorshift sequence over characters that matter to YAML, for reproducibility.
        const ALPHABET: &[char] = &[
            'a', 'Z', '0', '9', ' ', ' ', '\n', '\t', ':', '#', '-', '?', ',', '[', ']', '{', '}',
            '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '\\', '.', '~', '$', 'é', '\u{85}',
            '\r',
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 12) as usize;
            let mut s = String::new();
            let mut bits = state;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bits ^= state;
                s.push(ALPHABET[(bits % ALPHABET.len() as u64) as usize]);
            }
            round_trip(&s);
        }
    }

    #[test]
    fn quotes_only_what_would_read_back_differently() {
        for plain in [
            "ubuntu-latest",
            "10m",
            "1h30m",
            "v1.2.3",
            "18.x",
            "~/.cargo/registry",
            "refs/tags/v*",
            "a:b",
            "a#b",
        ] {
            assert_eq!(scalar(plain, false), plain);
        }
        for (text, quoted) in [
            ("true", "\"true\""),
            ("on", "\"on\""),
            ("3.10", "\"3.10\""),
            ("1:30", "\"1:30\""),
            ("0 3 * * *", "\"0 3 * * *\""),
            ("-D warnings", "\"-D warnings\""),
            ("*.md", "\"*.md\""),
            ("a: b", "\"a: b\""),
            ("", "\"\""),
            ("say \"hi\"\n", "\"say \\\"hi\\\"\\n\""),
        ] {
            assert_eq!(scalar(text, false), quoted, "{text:?}");
        }
        assert_eq!(scalar("a,b", false), "a,b");
        assert_eq!(scalar("a,b", true), "\"a,b\"");
        assert_eq!(key("on"), "on");
        assert_eq!(key("true"), "\"true\"");
    }

    #[test]
    fn writes_readable_block_style() {
        let mut step = Map::default();
        step.insert("name", Value::Str("test".into()));
        step.insert("run", Value::Str("cargo test\ncargo doc\n".into()));
        let mut include = Map {
            flow: true,
            ..Map::default()
        };
        include.insert("os", Value::Str("ubuntu-latest".into()));
        include.insert("experimental", Value::Bool(true));
        let mut job = Map::default();
        job.insert("needs", str_seq(["fmt", "clippy"]));
        job.insert(
            "include",
            Value::Seq(vec![Item::value(Value::Map(include))]),
        );
        job.insert(
            "steps",
            Value::Seq(vec![
                Item {
                    comments: vec!["dropped: actions/checkout@v4".into()],
                    value: None,
                },
                Item::value(Value::Map(step)),
            ]),
        );
        job.insert("manual", Value::Map(Map::default()));
        let mut root = Map::default();
        root.insert("version", Value::Number("1".into()));
        root.entries.push(Entry {
            comments: vec!["why".into()],
            blank_before: true,
            key: "test".into(),
            value: Value::Map(job),
        });
        let text = document(&["header".into()], &root);
        assert_eq!(
            text,
            "# header\nversion: 1\n\n# why\ntest:\n  needs: [fmt, clippy]\n  include:\n    - { os: ubuntu-latest, experimental: true }\n  steps:\n    # dropped: actions/checkout@v4\n    - name: test\n      run: |\n        cargo test\n        cargo doc\n  manual: {}\n"
        );
    }
}
