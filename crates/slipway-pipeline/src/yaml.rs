//! A YAML node tree with byte spans, built from saphyr's event parser.
//!
//! Typed deserialisation stops at the first problem; lint must report every problem in one
//! pass and point at the exact token, so the model is read from this tree instead.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceFile, SourceId, Span};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Upper bound on nodes after alias expansion; stops "billion laughs" documents.
pub const MAX_NODES: usize = 200_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String, Quoting),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// How a string scalar was written; decides whether offsets inside it map back to the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    Plain,
    Single,
    Double,
    Block,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) | NodeKind::Float(_) => "a number",
            NodeKind::Str(..) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s, _) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text as written by a user who did not quote it (`1`, `true`, `x`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s, _) => Some(s.clone()),
            NodeKind::Bool(b) => Some(b.to_string()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(f.to_string()),
            NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }

    /// The span of the first byte of the string's content: past the opening quote.
    /// `None` when escapes or folding mean content offsets do not map to source offsets.
    pub fn content_span(&self, source: &SourceFile) -> Option<Span> {
        let NodeKind::Str(value, quoting) = &self.kind else {
            return None;
        };
        let skip = match quoting {
            Quoting::Plain => 0,
            Quoting::Single | Quoting::Double => 1,
            Quoting::Block => return None,
        };
        let start = self.span.start as usize + skip;
        let raw = source.text.get(start..start + value.len())?;
        (raw == value).then(|| Span::new(self.span.source, start, start + value.len()))
    }

    fn count(&self) -> usize {
        match &self.kind {
            NodeKind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            NodeKind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
            _ => 1,
        }
    }
}

/// Parses one YAML document. Syntax problems become diagnostics; the tree is `None` when the
/// document could not be read at all.
pub fn parse(file: &SourceFile, source: SourceId) -> (Option<Node>, Vec<Diagnostic>) {
    let mut diagnostics = tab_indentation(file, source);
    let offsets = CharOffsets::new(&file.text);
    let mut builder = Builder {
        source,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(&file.text);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => {
                let start = offsets.byte(span.start.index());
                let end = offsets.byte(span.end.index());
                if let Err(diagnostic) = builder.on_event(event, start, end) {
                    diagnostics.push(*diagnostic);
                    return (None, diagnostics);
                }
            }
            Err(error) => {
                let line = error.marker().line();
                // A tab in the indentation is the cause; its diagnostic already says so.
                let already_reported = diagnostics.iter().any(|d| {
                    file.line_col(d.span.start as usize).0 == line
                        || file.line_col(d.span.start as usize).0 + 1 == line
                });
                if !already_reported {
                    let at = offsets.byte(error.marker().index());
                    diagnostics.push(
                        Diagnostic::new(
                            Code::YamlSyntax,
                            Span::new(source, at, at),
                            format!("invalid YAML: {}", error.info()),
                        )
                        .with_help_opt(yaml_hint(error.info())),
                    );
                }
                return (None, diagnostics);
            }
        }
    }
    let root = builder.root.unwrap_or(Node {
        kind: NodeKind::Null,
        span: Span::new(source, 0, 0),
    });
    (Some(root), diagnostics)
}

fn yaml_hint(info: &str) -> Option<String> {
    if info.contains("flow mapping") || info.contains("flow sequence") {
        Some("a `{` or `[` opened before this point is never closed".into())
    } else if info.contains("mapping values are not allowed") {
        Some("a `: ` inside a plain value starts a mapping; quote the value".into())
    } else if info.contains("did not find expected key") || info.contains("indentation") {
        Some("check the indentation of this line against the lines above it".into())
    } else if info.contains("found character that cannot start any token") {
        Some("`@` and `` ` `` cannot start a plain value; quote it".into())
    } else {
        None
    }
}

fn tab_indentation(file: &SourceFile, source: SourceId) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut offset = 0;
    // Indentation of the line that opened a block scalar (`run: |`): deeper lines are its
    // content, where tabs are ordinary text.
    let mut block_parent: Option<usize> = None;
    for line in file.text.split_inclusive('\n') {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        let inside_block = block_parent.is_some_and(|parent| content.is_empty() || spaces > parent);
        if !inside_block {
            block_parent = None;
            let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
            if !content.is_empty()
                && !content.starts_with('#')
                && let Some(tab) = indent.find('\t')
            {
                let at = offset + tab;
                diagnostics.push(
                    Diagnostic::new(
                        Code::TabIndentation,
                        Span::new(source, at, at + 1),
                        "tab character used for indentation",
                    )
                    .with_help(
                        "YAML allows only spaces for indentation; replace the tab with spaces",
                    ),
                );
            }
            if opens_block_scalar(content) {
                block_parent = Some(spaces);
            }
        }
        offset += line.len();
    }
    diagnostics
}

/// Whether a line ends with a block scalar header: `|`, `>`, with chomping or indentation
/// indicators (`|-`, `>+`, `|2`), after a key or a list dash.
fn opens_block_scalar(content: &str) -> bool {
    let content = match content.find(" #") {
        Some(comment) => content[..comment].trim_end(),
        None => content,
    };
    let Some(header_start) = content.rfind(['|', '>']) else {
        return false;
    };
    let (before, header) = content.split_at(header_start);
    header[1..]
        .chars()
        .all(|c| matches!(c, '-' | '+' | '0'..='9'))
        && (before.is_empty()
            || before.ends_with(": ")
            || before.ends_with("- ")
            || before.ends_with(':'))
}

/// Maps saphyr's character indices to byte offsets.
struct CharOffsets {
    /// `None` for ASCII text, where the two are equal.
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let bytes = (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).collect());
        CharOffsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.len),
            Some(table) => table.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

struct Builder {
    source: SourceId,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
}

impl Builder {
    fn on_event(&mut self, event: Event, start: usize, end: usize) -> Result<(), Box<Diagnostic>> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Box::new(
                        Diagnostic::new(
                            Code::YamlSyntax,
                            Span::new(self.source, start, end),
                            "a pipeline file holds one YAML document, found a second one",
                        )
                        .with_help("remove the `---` separator and everything after it, or move it to its own file"),
                    ));
                }
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let kind = resolve_scalar(&value, style);
                self.push(
                    Node {
                        kind,
                        span: Span::new(self.source, start, end),
                    },
                    anchor,
                    1,
                )?;
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(Vec::new(), anchor, start))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(Vec::new(), None, anchor, start))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor, start)) = self.stack.pop() {
                    let end = items.last().map_or(end, |n| n.span.end as usize);
                    let node = Node {
                        kind: NodeKind::Seq(items),
                        span: Span::new(self.source, start, end),
                    };
                    self.push(node, anchor, 1)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, _, anchor, start)) = self.stack.pop() {
                    let end = entries.last().map_or(end, |(_, v)| v.span.end as usize);
                    let node = Node {
                        kind: NodeKind::Map(entries),
                        span: Span::new(self.source, start, end),
                    };
                    self.push(node, anchor, 1)?;
                }
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(Box::new(Diagnostic::new(
                        Code::YamlSyntax,
                        Span::new(self.source, start, end),
                        "alias refers to an anchor that is not defined before it",
                    )));
                };
                let size = target.count();
                if self.nodes + size > MAX_NODES {
                    return Err(Box::new(
                        Diagnostic::new(
                            Code::YamlSyntax,
                            Span::new(self.source, start, end),
                            format!("the document expands to more than {MAX_NODES} nodes"),
                        )
                        .with_help("aliases that repeat large anchors multiply the document's size; expand fewer of them"),
                    ));
                }
                let mut node = target.clone();
                node.span = Span::new(self.source, start, end.max(start + 1));
                self.push(node, 0, size)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Adds a finished node to its parent; `size` is how many nodes it adds to the document
    /// (1, or an alias's whole expansion).
    fn push(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), Box<Diagnostic>> {
        self.nodes += size;
        if self.nodes > MAX_NODES {
            return Err(Box::new(
                Diagnostic::new(
                    Code::YamlSyntax,
                    node.span,
                    format!("the document expands to more than {MAX_NODES} nodes"),
                )
                .with_help("aliases that repeat large anchors multiply the document's size; expand fewer of them"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
        Ok(())
    }
}

/// YAML 1.2 core schema resolution of a scalar.
fn resolve_scalar(value: &str, style: ScalarStyle) -> NodeKind {
    let quoting = match style {
        ScalarStyle::Plain => Quoting::Plain,
        ScalarStyle::SingleQuoted => Quoting::Single,
        ScalarStyle::DoubleQuoted => Quoting::Double,
        ScalarStyle::Literal | ScalarStyle::Folded => Quoting::Block,
    };
    if quoting != Quoting::Plain {
        return NodeKind::Str(value.to_string(), quoting);
    }
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        _ => {}
    }
    if let Some(int) = parse_int(value) {
        return NodeKind::Int(int);
    }
    if looks_like_float(value)
        && let Ok(float) = value.parse::<f64>()
    {
        return NodeKind::Float(float);
    }
    match value {
        ".inf" | ".Inf" | ".INF" | "+.inf" => NodeKind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => NodeKind::Float(f64::NAN),
        _ => NodeKind::Str(value.to_string(), Quoting::Plain),
    }
}

fn parse_int(value: &str) -> Option<i64> {
    if let Some(hex) = value.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = value.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn looks_like_float(value: &str) -> bool {
    let body = value.strip_prefix(['-', '+']).unwrap_or(value);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && body.bytes().any(|b| b.is_ascii_digit())
}

impl Node {
    /// The node as JSON (keys as strings), e.g. to validate a file against the JSON Schema.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeKind::Str(s, _) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> (Option<Node>, Vec<Diagnostic>) {
        parse(&SourceFile::new("t.yml", text), SourceId(0))
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let (root, diags) = tree("a: 1\nb: true\nc: ~\nd: '1'\ne: 1.5\nf: on\n");
        assert!(diags.is_empty());
        let NodeKind::Map(entries) = root.unwrap().kind else {
            panic!("expected a map")
        };
        let kinds: Vec<_> = entries.into_iter().map(|(_, v)| v.kind).collect();
        assert_eq!(kinds[0], NodeKind::Int(1));
        assert_eq!(kinds[1], NodeKind::Bool(true));
        assert_eq!(kinds[2], NodeKind::Null);
        assert_eq!(kinds[3], NodeKind::Str("1".into(), Quoting::Single));
        assert_eq!(kinds[4], NodeKind::Float(1.5));
        // YAML 1.2: `on` is a plain string, not a boolean.
        assert_eq!(kinds[5], NodeKind::Str("on".into(), Quoting::Plain));
    }

    #[test]
    fn spans_point_at_tokens() {
        let text = "jobs:\n  build:\n    needs: [fmt]\n";
        let file = SourceFile::new("t.yml", text);
        let (root, _) = parse(&file, SourceId(0));
        let NodeKind::Map(top) = root.unwrap().kind else {
            panic!()
        };
        let NodeKind::Map(jobs) = &top[0].1.kind else {
            panic!()
        };
        let NodeKind::Map(build) = &jobs[0].1.kind else {
            panic!()
        };
        let NodeKind::Seq(needs) = &build[0].1.kind else {
            panic!()
        };
        assert_eq!(file.slice(needs[0].span), "fmt");
        assert_eq!(file.line_col(needs[0].span.start as usize), (3, 13));
    }

    #[test]
    fn reports_syntax_errors_and_tabs() {
        let (root, diags) = tree("a: [1, 2\n");
        assert!(root.is_none());
        assert_eq!(diags[0].code, Code::YamlSyntax);
        let (_, diags) = tree("a:\n\tb: 1\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::TabIndentation);
        // Tabs inside a block scalar's content are text, not indentation.
        let (root, diags) = tree("run: |\n  make \\\n  \t-j4\n  \tdone\nnext: 1\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert!(root.is_some());
        let (_, diags) = tree("steps:\n  - run: |-\n      a\n      \tb\n  - run: x\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert!(opens_block_scalar("- run: >2 # comment"));
        assert!(!opens_block_scalar("run: echo a | grep b"));
    }

    #[test]
    fn stops_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let (root, diags) = tree(&text);
        assert!(root.is_none());
        assert!(diags[0].message.contains("expands"));
    }
}
