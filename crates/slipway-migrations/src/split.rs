//! Splits a migration file into statements, with the position of each, and collects its
//! comments (where the `-- slipway:` markers live).
//!
//! The parser stops at the first statement it cannot read, so statements are cut apart first
//! and parsed one by one: one unreadable statement costs one finding, never the rest of the
//! file. The splitter knows PostgreSQL's lexical structure as far as `;` is concerned: `--`
//! and nested `/* */` comments, `'…'` strings (with `''`, and backslash escapes in `E'…'`),
//! `"…"` identifiers, dollar quoting (`$$ … $$`, `$body$ … $body$`: PL/pgSQL function bodies
//! and `DO` blocks), and the data lines after `COPY … FROM stdin;`, which end at a line `\.`.

/// One statement of a file, without its terminating `;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, from its first significant character to before its `;`.
    pub text: &'a str,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    /// 1-based line of the statement's first character.
    pub line: u32,
    /// 1-based column (in characters) of the statement's first character.
    pub column: u32,
}

/// One `--` comment, without the `--`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment<'a> {
    /// The comment's text after `--`, up to the end of its line.
    pub text: &'a str,
    /// 1-based line of the `--`.
    pub line: u32,
    /// 1-based column (in characters) of the `--`.
    pub column: u32,
}

/// A file cut into statements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split<'a> {
    /// The statements, in file order.
    pub statements: Vec<Statement<'a>>,
    /// The `--` comments outside strings, in file order.
    pub comments: Vec<Comment<'a>>,
}

/// Maps byte offsets to 1-based line and column.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Indexes the line starts of `text`.
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { text, starts }
    }

    /// Line and column (characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let index = self.starts.partition_point(|start| *start <= offset);
        let line_start = self
            .starts
            .get(index.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset.min(self.text.len()))
            .map_or(0, |prefix| prefix.chars().count());
        (to_u32(index.max(1)), to_u32(column + 1))
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Cuts `sql` into statements and comments. Never fails: an unterminated string, comment or
/// dollar quote runs to the end of the file and leaves a statement the parser then reports.
pub fn split(sql: &str) -> Split<'_> {
    let bytes = sql.as_bytes();
    let lines = Lines::new(sql);
    let mut out = Split::default();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let end = find_byte(bytes, i, b'\n');
                let (line, column) = lines.position(i);
                out.comments.push(Comment {
                    text: sql.get(i + 2..end).unwrap_or_default(),
                    line,
                    column,
                });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
            }
            b';' => {
                if let Some(first) = start.take() {
                    let text = sql.get(first..i).unwrap_or_default().trim_ascii_end();
                    let (line, column) = lines.position(first);
                    let statement = Statement {
                        text,
                        offset: first,
                        line,
                        column,
                    };
                    let copy_data = is_copy_from_stdin(text);
                    out.statements.push(statement);
                    if copy_data {
                        i = skip_copy_data(bytes, i + 1);
                        continue;
                    }
                }
                i += 1;
            }
            _ if byte.is_ascii_whitespace() => i += 1,
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
                i = match byte {
                    b'\'' => skip_string(bytes, i, escapes_before(bytes, i)),
                    b'"' => skip_quoted(bytes, i, b'"'),
                    b'$' => skip_dollar(bytes, i),
                    _ => i + 1,
                };
            }
        }
    }
    if let Some(first) = start {
        let text = sql.get(first..).unwrap_or_default().trim_ascii_end();
        let (line, column) = lines.position(first);
        out.statements.push(Statement {
            text,
            offset: first,
            line,
            column,
        });
    }
    out
}

fn find_byte(bytes: &[u8], from: usize, wanted: u8) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|b| *b == wanted))
        .map_or(bytes.len(), |at| from + at)
}

/// Past the end of a `/* */` comment; PostgreSQL nests them.
fn skip_block_comment(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Whether the `'` at `at` opens an escape string (`E'…'`): backslashes escape there.
fn escapes_before(bytes: &[u8], at: usize) -> bool {
    let Some(prefix) = at.checked_sub(1).and_then(|p| bytes.get(p)) else {
        return false;
    };
    if !matches!(prefix, b'e' | b'E') {
        return false;
    }
    // `E` must be a token of its own, not the end of an identifier like `type'`.
    at.checked_sub(2)
        .and_then(|p| bytes.get(p))
        .is_none_or(|before| !is_identifier_byte(*before))
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

/// Past the end of a `'…'` string (`''` is a quote inside it).
fn skip_string(bytes: &[u8], at: usize, backslash_escapes: bool) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Past the end of a `"…"` identifier (`""` is a quote inside it).
fn skip_quoted(bytes: &[u8], at: usize, quote: u8) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Past a dollar-quoted string starting at `at`, or just past the `$` when it opens none
/// (`$1` parameters, `$` inside identifiers).
fn skip_dollar(bytes: &[u8], at: usize) -> usize {
    if at > 0 && bytes.get(at - 1).is_some_and(|b| is_identifier_byte(*b)) {
        return at + 1;
    }
    let mut end = at + 1;
    while let Some(byte) = bytes.get(end) {
        if *byte == b'$' {
            break;
        }
        let allowed = if end == at + 1 {
            byte.is_ascii_alphabetic() || *byte == b'_' || *byte >= 0x80
        } else {
            is_identifier_byte(*byte)
        };
        if !allowed {
            return at + 1;
        }
        end += 1;
    }
    if bytes.get(end) != Some(&b'$') {
        return at + 1;
    }
    let delimiter = &bytes[at..=end];
    let body = end + 1;
    bytes
        .get(body..)
        .and_then(|rest| {
            rest.windows(delimiter.len())
                .position(|window| window == delimiter)
        })
        .map_or(bytes.len(), |found| body + found + delimiter.len())
}

/// `COPY … FROM stdin`: its data follows the statement, up to a line `\.`.
fn is_copy_from_stdin(statement: &str) -> bool {
    let mut words = statement
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty());
    if !words
        .next()
        .is_some_and(|first| first.eq_ignore_ascii_case("copy"))
    {
        return false;
    }
    let mut previous_from = false;
    for word in words {
        if previous_from && word.eq_ignore_ascii_case("stdin") {
            return true;
        }
        previous_from = word.eq_ignore_ascii_case("from");
    }
    false
}

/// Past the data of a `COPY … FROM stdin;` whose `;` ended just before `from`: the rest of
/// that line, then lines up to and including the line `\.`.
fn skip_copy_data(bytes: &[u8], from: usize) -> usize {
    let mut line_start = find_byte(bytes, from, b'\n').saturating_add(1);
    while line_start < bytes.len() {
        let line_end = find_byte(bytes, line_start, b'\n');
        let line = bytes.get(line_start..line_end).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"\\." {
            return line_end;
        }
        line_start = line_end.saturating_add(1);
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<(String, u32, u32)> {
        split(sql)
            .statements
            .into_iter()
            .map(|s| (s.text.to_string(), s.line, s.column))
            .collect()
    }

    #[test]
    fn cuts_at_semicolons_outside_strings_comments_and_dollar_quotes() {
        let sql = "-- header; not a statement\nCREATE TABLE a (x text DEFAULT 'a;b''c');\n\
                   /* block; /* nested; */ still; */ ALTER TABLE \"we;ird\" ADD y int;\n\
                   CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$\n\
                   BEGIN NEW.x := 'a;'; RETURN NEW; END $body$;\n\
                   DO $$ BEGIN PERFORM 1; END $$;\n  SELECT E'it\\'s;', $1;";
        let statements = texts(sql);
        assert_eq!(statements.len(), 5, "{statements:#?}");
        assert_eq!(statements[0].0, "CREATE TABLE a (x text DEFAULT 'a;b''c')");
        assert_eq!((statements[0].1, statements[0].2), (2, 1));
        assert_eq!(statements[1].0, "ALTER TABLE \"we;ird\" ADD y int");
        assert_eq!((statements[1].1, statements[1].2), (3, 35));
        assert!(statements[2].0.ends_with("END $body$"));
        assert_eq!(statements[3].0, "DO $$ BEGIN PERFORM 1; END $$");
        assert_eq!(statements[4].0, "SELECT E'it\\'s;', $1");
        assert_eq!((statements[4].1, statements[4].2), (7, 3));
    }

    #[test]
    fn skips_copy_data_up_to_the_end_marker() {
        let sql = "COPY users (id, name) FROM stdin;\n1\tit's; odd\n2\t$$\n\\.\nDROP TABLE x;\n";
        let statements = texts(sql);
        assert_eq!(
            statements,
            [
                ("COPY users (id, name) FROM stdin".to_string(), 1, 1),
                ("DROP TABLE x".to_string(), 5, 1)
            ]
        );
    }

    #[test]
    fn keeps_comments_with_their_positions() {
        let split = split("SELECT 1; -- slipway: contract a.b unused since 3\n");
        assert_eq!(split.comments.len(), 1);
        assert_eq!(
            split.comments[0].text,
            " slipway: contract a.b unused since 3"
        );
        assert_eq!((split.comments[0].line, split.comments[0].column), (1, 11));
    }

    #[test]
    fn unterminated_quotes_run_to_the_end() {
        let statements = texts("SELECT 'open;\nDROP TABLE x;");
        assert_eq!(statements.len(), 1);
        let statements = texts("DO $$ BEGIN; DROP TABLE x;");
        assert_eq!(statements.len(), 1);
    }

    #[test]
    fn columns_count_characters() {
        let statements = texts("SELECT 'é'; SELECT 2");
        assert_eq!(statements[1].2, 13);
    }
}
