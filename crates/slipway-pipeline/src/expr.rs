//! The `${{ }}` expression language: lexer, precedence-climbing parser, static checks and
//! evaluator.
//!
//! Grammar, loosest first: `||`, `&&`, `== !=`, `< <= > >=`, `!`, then property access
//! (`a.b`, `a['b']`), calls `f(x, y)`, parentheses and literals (`'str'`, `12`, `1.5`, `0xff`,
//! `true`, `false`, `null`). Spans are byte offsets into the expression text.

use indexmap::IndexMap;
use std::fmt;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// Byte range in the expression text.
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Value),
    /// A bare identifier: the root of a context access such as `event` in `event.branch`.
    Context(String),
    Property(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
    Not(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinaryOp {
    fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Ne => 3,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 4,
        }
    }
}

/// A value produced by evaluation; also the type of matrix values and contexts.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(IndexMap<String, Value>),
}

impl Value {
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    fn as_number(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) if s.trim().is_empty() => 0.0,
            Value::String(s) => parse_number(s.trim()).unwrap_or(f64::NAN),
            Value::Array(_) | Value::Object(_) => f64::NAN,
        }
    }

    /// How a value reads when interpolated into a string.
    pub fn to_interpolated(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format_number(*n),
            Value::String(s) => s.clone(),
            Value::Array(_) | Value::Object(_) => serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_interpolated())
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn parse_number(text: &str) -> Option<f64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(|n| n as f64);
    }
    text.parse().ok()
}

/// A problem in an expression's syntax.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub start: usize,
    pub end: usize,
    pub help: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    Str(String),
    Op(BinaryOp),
    Not,
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn lex(text: &str) -> Result<Vec<(Token, usize, usize)>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |t: Token| (t, start, start + 1);
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => tokens.push(single(Token::LParen)),
            b')' => tokens.push(single(Token::RParen)),
            b'[' => tokens.push(single(Token::LBracket)),
            b']' => tokens.push(single(Token::RBracket)),
            b',' => tokens.push(single(Token::Comma)),
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                tokens.push(single(Token::Dot))
            }
            b'!' | b'=' | b'<' | b'>' | b'&' | b'|' => {
                let two = text.get(i..i + 2).unwrap_or("");
                let (token, len) = match two {
                    "==" => (Token::Op(BinaryOp::Eq), 2),
                    "!=" => (Token::Op(BinaryOp::Ne), 2),
                    "<=" => (Token::Op(BinaryOp::Le), 2),
                    ">=" => (Token::Op(BinaryOp::Ge), 2),
                    "&&" => (Token::Op(BinaryOp::And), 2),
                    "||" => (Token::Op(BinaryOp::Or), 2),
                    _ => match c {
                        b'!' => (Token::Not, 1),
                        b'<' => (Token::Op(BinaryOp::Lt), 1),
                        b'>' => (Token::Op(BinaryOp::Gt), 1),
                        _ => {
                            let (wanted, help) = match c {
                                b'=' => ("==", "comparison is `==`; expressions cannot assign"),
                                b'&' => ("&&", "logical and is `&&`"),
                                _ => ("||", "logical or is `||`"),
                            };
                            return Err(SyntaxError {
                                message: format!("unexpected `{}`, expected `{wanted}`", c as char),
                                start,
                                end: start + 1,
                                help: Some(help.into()),
                            });
                        }
                    },
                };
                tokens.push((token, start, start + len));
                i += len;
                continue;
            }
            b'\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match text[i..].find('\'') {
                        None => {
                            return Err(SyntaxError {
                                message: "unterminated string literal".into(),
                                start,
                                end: text.len(),
                                help: Some(
                                    "close the string with `'`; write `''` for a quote inside it"
                                        .into(),
                                ),
                            });
                        }
                        Some(rel) => {
                            value.push_str(&text[i..i + rel]);
                            i += rel + 1;
                            if bytes.get(i) == Some(&b'\'') {
                                value.push('\'');
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                tokens.push((Token::Str(value), start, i));
                continue;
            }
            b'"' => {
                return Err(SyntaxError {
                    message: "string literals use single quotes".into(),
                    start,
                    end: start + 1,
                    help: Some("write 'text' instead of \"text\"".into()),
                });
            }
            b'0'..=b'9' | b'.' | b'-' => {
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || bytes[end] == b'.'
                        || ((bytes[end] == b'-' || bytes[end] == b'+')
                            && matches!(bytes[end - 1], b'e' | b'E')
                            && !text[start..end].starts_with("0x")))
                {
                    end += 1;
                }
                let literal = &text[start..end];
                let (sign, body) = match literal.strip_prefix('-') {
                    Some(rest) => (-1.0, rest),
                    None => (1.0, literal),
                };
                let Some(number) = parse_number(body).filter(|_| !body.is_empty()) else {
                    return Err(SyntaxError {
                        message: format!("invalid number `{literal}`"),
                        start,
                        end,
                        help: None,
                    });
                };
                tokens.push((Token::Number(sign * number), start, end));
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || bytes[end] == b'_'
                        || bytes[end] == b'-')
                {
                    end += 1;
                }
                tokens.push((Token::Ident(text[start..end].to_string()), start, end));
                i = end;
                continue;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(SyntaxError {
                    message: format!("unexpected character `{ch}`"),
                    start,
                    end: start + ch.len_utf8(),
                    help: None,
                });
            }
        }
        i += 1;
    }
    Ok(tokens)
}

/// Deep nesting is refused rather than overflowing the stack.
const MAX_DEPTH: usize = 64;

struct ExprParser<'a> {
    tokens: Vec<(Token, usize, usize)>,
    pos: usize,
    text: &'a str,
    depth: usize,
}

/// Parses one expression (the text between `${{` and `}}`).
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err(SyntaxError {
            message: "empty expression".into(),
            start: 0,
            end: text.len(),
            help: Some("write a condition such as `event.branch == 'main'`".into()),
        });
    }
    let mut parser = ExprParser {
        tokens,
        pos: 0,
        text,
        depth: 0,
    };
    let expr = parser.expression(0)?;
    if let Some((token, start, end)) = parser.tokens.get(parser.pos) {
        return Err(SyntaxError {
            message: format!("unexpected {} after the expression", describe(token)),
            start: *start,
            end: *end,
            help: Some("combine conditions with `&&` or `||`".into()),
        });
    }
    Ok(expr)
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(name) => format!("`{name}`"),
        Token::Number(n) => format!("number `{}`", format_number(*n)),
        Token::Str(s) => format!("string '{s}'"),
        Token::Op(op) => format!(
            "`{}`",
            match op {
                BinaryOp::Or => "||",
                BinaryOp::And => "&&",
                BinaryOp::Eq => "==",
                BinaryOp::Ne => "!=",
                BinaryOp::Lt => "<",
                BinaryOp::Le => "<=",
                BinaryOp::Gt => ">",
                BinaryOp::Ge => ">=",
            }
        ),
        Token::Not => "`!`".into(),
        Token::Dot => "`.`".into(),
        Token::Comma => "`,`".into(),
        Token::LParen => "`(`".into(),
        Token::RParen => "`)`".into(),
        Token::LBracket => "`[`".into(),
        Token::RBracket => "`]`".into(),
    }
}

impl ExprParser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _, _)| t)
    }

    fn end_of_input(&self) -> SyntaxError {
        SyntaxError {
            message: "the expression ends too early".into(),
            start: self.text.len(),
            end: self.text.len(),
            help: None,
        }
    }

    fn expect(&mut self, wanted: Token, what: &str) -> Result<usize, SyntaxError> {
        match self.tokens.get(self.pos) {
            Some((token, _, end)) if *token == wanted => {
                self.pos += 1;
                Ok(*end)
            }
            Some((token, start, end)) => Err(SyntaxError {
                message: format!("expected {what}, found {}", describe(token)),
                start: *start,
                end: *end,
                help: None,
            }),
            None => Err(SyntaxError {
                message: format!("expected {what} before the end of the expression"),
                ..self.end_of_input()
            }),
        }
    }

    fn expression(&mut self, min_precedence: u8) -> Result<Expr, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let (_, start, end) = self.tokens[self.pos.min(self.tokens.len() - 1)];
            return Err(SyntaxError {
                message: format!("expression nested deeper than {MAX_DEPTH} levels"),
                start,
                end,
                help: None,
            });
        }
        let mut left = self.unary()?;
        while let Some(Token::Op(op)) = self.peek().cloned() {
            if op.precedence() <= min_precedence {
                break;
            }
            self.pos += 1;
            let right = self.expression(op.precedence())?;
            left = Expr {
                start: left.start,
                end: right.end,
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
            };
        }
        self.depth -= 1;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if let Some((Token::Not, start, _)) = self.tokens.get(self.pos).cloned() {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(SyntaxError {
                    message: format!("expression nested deeper than {MAX_DEPTH} levels"),
                    start,
                    end: start + 1,
                    help: None,
                });
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr {
                start,
                end: inner.end,
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, SyntaxError> {
        let mut expr = self.primary()?;
        loop {
            match self.peek() {
                Some(Token::Dot) => {
                    self.pos += 1;
                    match self.tokens.get(self.pos).cloned() {
                        Some((Token::Ident(name), _, end)) => {
                            self.pos += 1;
                            expr = Expr {
                                start: expr.start,
                                end,
                                kind: ExprKind::Property(Box::new(expr), name),
                            };
                        }
                        Some((token, start, end)) => {
                            return Err(SyntaxError {
                                message: format!(
                                    "expected a property name after `.`, found {}",
                                    describe(&token)
                                ),
                                start,
                                end,
                                help: None,
                            });
                        }
                        None => return Err(self.end_of_input()),
                    }
                }
                Some(Token::LBracket) => {
                    self.pos += 1;
                    let index = self.expression(0)?;
                    let end = self.expect(Token::RBracket, "`]`")?;
                    expr = Expr {
                        start: expr.start,
                        end,
                        kind: ExprKind::Index(Box::new(expr), Box::new(index)),
                    };
                }
                _ => return Ok(expr),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let Some((token, start, end)) = self.tokens.get(self.pos).cloned() else {
            return Err(self.end_of_input());
        };
        self.pos += 1;
        let literal = |value| {
            Ok(Expr {
                kind: ExprKind::Literal(value),
                start,
                end,
            })
        };
        match token {
            Token::Number(n) => literal(Value::Number(n)),
            Token::Str(s) => literal(Value::String(s)),
            Token::Ident(name) => match name.as_str() {
                "true" => literal(Value::Bool(true)),
                "false" => literal(Value::Bool(false)),
                "null" => literal(Value::Null),
                _ if self.peek() == Some(&Token::LParen) => {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() == Some(&Token::RParen) {
                        self.pos += 1;
                        let (_, _, close) = self.tokens[self.pos - 1];
                        return Ok(Expr {
                            kind: ExprKind::Call(name, args),
                            start,
                            end: close,
                        });
                    }
                    loop {
                        args.push(self.expression(0)?);
                        match self.tokens.get(self.pos).cloned() {
                            Some((Token::Comma, _, _)) => self.pos += 1,
                            Some((Token::RParen, _, close)) => {
                                self.pos += 1;
                                return Ok(Expr {
                                    kind: ExprKind::Call(name, args),
                                    start,
                                    end: close,
                                });
                            }
                            Some((token, s, e)) => {
                                return Err(SyntaxError {
                                    message: format!(
                                        "expected `,` or `)` in the arguments of `{name}`, found {}",
                                        describe(&token)
                                    ),
                                    start: s,
                                    end: e,
                                    help: None,
                                });
                            }
                            None => {
                                return Err(SyntaxError {
                                    message: format!("missing `)` to close the call of `{name}`"),
                                    ..self.end_of_input()
                                });
                            }
                        }
                    }
                }
                _ => Ok(Expr {
                    kind: ExprKind::Context(name),
                    start,
                    end,
                }),
            },
            Token::LParen => {
                let inner = self.expression(0)?;
                let close = self.expect(Token::RParen, "`)`")?;
                Ok(Expr {
                    start,
                    end: close,
                    ..inner
                })
            }
            other => Err(SyntaxError {
                message: format!("expected a value, found {}", describe(&other)),
                start,
                end,
                help: None,
            }),
        }
    }
}

/// A string with `${{ }}` interpolations, split into its parts.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    Text(String),
    /// The expression and the byte offset of its text inside the template string.
    Expr(Expr, usize),
}

/// Splits a template string into literal text and parsed expressions. Errors carry offsets
/// into the whole template string.
pub fn parse_template(text: &str) -> Result<Vec<Segment>, SyntaxError> {
    let mut segments = Vec::new();
    let mut rest_start = 0;
    while let Some(rel) = text[rest_start..].find("${{") {
        let open = rest_start + rel;
        if open > rest_start {
            segments.push(Segment::Text(text[rest_start..open].to_string()));
        }
        let body_start = open + 3;
        let Some(body_len) = find_close(&text[body_start..]) else {
            return Err(SyntaxError {
                message: "`${{` is never closed with `}}`".into(),
                start: open,
                end: open + 3,
                help: Some("end the expression with `}}`".into()),
            });
        };
        let body = &text[body_start..body_start + body_len];
        let expr = parse(body).map_err(|e| SyntaxError {
            start: e.start + body_start,
            end: e.end + body_start,
            ..e
        })?;
        segments.push(Segment::Expr(expr, body_start));
        rest_start = body_start + body_len + 2;
    }
    if rest_start < text.len() {
        segments.push(Segment::Text(text[rest_start..].to_string()));
    }
    Ok(segments)
}

/// Byte length of the expression body up to its closing `}}`, skipping string literals.
fn find_close(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses a condition (`if:`): either a bare expression or one wrapped whole in `${{ }}`.
/// Returns the expression and the offset of its text in `text`.
pub fn parse_condition(text: &str) -> Result<(Expr, usize), SyntaxError> {
    let trimmed = text.trim();
    let lead = text.len() - text.trim_start().len();
    if let Some(inner) = trimmed
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        && find_close(inner).is_none()
    {
        let offset = lead + 3;
        return parse(inner).map(|e| (e, offset)).map_err(|e| SyntaxError {
            start: e.start + offset,
            end: e.end + offset,
            ..e
        });
    }
    if trimmed.contains("${{") {
        return Err(SyntaxError {
            message: "a condition mixes `${{ }}` with text outside it".into(),
            start: lead,
            end: text.len(),
            help: Some(
                "write the whole condition inside one `${{ }}`, or leave `${{ }}` out".into(),
            ),
        });
    }
    parse(text).map(|e| (e, 0))
}

/// The functions expressions may call, with their arity (`None` = one or more).
pub const FUNCTIONS: &[(&str, Option<usize>)] = &[
    ("success", Some(0)),
    ("failure", Some(0)),
    ("always", Some(0)),
    ("cancelled", Some(0)),
    ("startsWith", Some(2)),
    ("endsWith", Some(2)),
    ("contains", Some(2)),
    ("hashFiles", None),
];

/// Status functions: they ask how the job's needs ended, so they belong in `if`.
pub const STATUS_FUNCTIONS: &[&str] = &["success", "failure", "always", "cancelled"];

#[derive(Clone, Debug, Error, PartialEq)]
pub enum EvalError {
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    #[error("`{name}` takes {expected} argument(s), got {got}")]
    Arity {
        name: String,
        expected: String,
        got: usize,
    },
    #[error("`{0}()` cannot be used here")]
    NotAvailable(String),
    #[error("hashFiles: {0}")]
    HashFiles(String),
}

/// How the job's needs ended, for the status functions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeedsStatus {
    pub any_failed: bool,
    pub any_cancelled: bool,
    /// A need was skipped for a reason other than "not affected" by the change.
    pub any_skipped: bool,
}

/// `hashFiles(patterns...)`: computes the hash of the workspace files matching the patterns.
pub type HashFiles<'a> = dyn Fn(&[String]) -> Result<String, String> + Send + Sync + 'a;

/// What an evaluation can see.
#[derive(Default)]
pub struct Scope<'a> {
    pub contexts: IndexMap<String, Value>,
    pub status: Option<NeedsStatus>,
    pub hash_files: Option<&'a HashFiles<'a>>,
}

impl Scope<'_> {
    pub fn eval(&self, expr: &Expr) -> Result<Value, EvalError> {
        Ok(match &expr.kind {
            ExprKind::Literal(v) => v.clone(),
            ExprKind::Context(name) => self.contexts.get(name).cloned().unwrap_or(Value::Null),
            ExprKind::Property(base, name) => property(self.eval(base)?, name),
            ExprKind::Index(base, index) => {
                let base = self.eval(base)?;
                match self.eval(index)? {
                    Value::Number(n) => match base {
                        Value::Array(items) if n >= 0.0 && n.fract() == 0.0 => {
                            items.get(n as usize).cloned().unwrap_or(Value::Null)
                        }
                        _ => Value::Null,
                    },
                    key => property(base, &key.to_interpolated()),
                }
            }
            ExprKind::Not(inner) => Value::Bool(!self.eval(inner)?.truthy()),
            ExprKind::Binary(op, left, right) => {
                let left = self.eval(left)?;
                match op {
                    BinaryOp::And if !left.truthy() => left,
                    BinaryOp::And => self.eval(right)?,
                    BinaryOp::Or if left.truthy() => left,
                    BinaryOp::Or => self.eval(right)?,
                    _ => Value::Bool(compare(*op, &left, &self.eval(right)?)),
                }
            }
            ExprKind::Call(name, args) => self.call(name, args)?,
        })
    }

    fn call(&self, name: &str, args: &[Expr]) -> Result<Value, EvalError> {
        let arity = FUNCTIONS
            .iter()
            .find(|(f, _)| *f == name)
            .ok_or_else(|| EvalError::UnknownFunction(name.into()))?
            .1;
        if let Some(expected) = arity.filter(|n| *n != args.len()) {
            return Err(EvalError::Arity {
                name: name.into(),
                expected: expected.to_string(),
                got: args.len(),
            });
        }
        let values = args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Result<Vec<_>, _>>()?;
        let status = || {
            self.status
                .ok_or_else(|| EvalError::NotAvailable(name.into()))
        };
        Ok(match name {
            "success" => {
                let s = status()?;
                Value::Bool(!s.any_failed && !s.any_cancelled && !s.any_skipped)
            }
            "failure" => Value::Bool(status()?.any_failed),
            "cancelled" => Value::Bool(status()?.any_cancelled),
            "always" => {
                status()?;
                Value::Bool(true)
            }
            "startsWith" | "endsWith" => {
                let haystack = values[0].to_interpolated().to_lowercase();
                let needle = values[1].to_interpolated().to_lowercase();
                Value::Bool(if name == "startsWith" {
                    haystack.starts_with(&needle)
                } else {
                    haystack.ends_with(&needle)
                })
            }
            "contains" => Value::Bool(match &values[0] {
                Value::Array(items) => items
                    .iter()
                    .any(|item| compare(BinaryOp::Eq, item, &values[1])),
                other => other
                    .to_interpolated()
                    .to_lowercase()
                    .contains(&values[1].to_interpolated().to_lowercase()),
            }),
            "hashFiles" => {
                if values.is_empty() {
                    return Err(EvalError::Arity {
                        name: name.into(),
                        expected: "at least 1".into(),
                        got: 0,
                    });
                }
                let hash = self
                    .hash_files
                    .ok_or_else(|| EvalError::NotAvailable(name.into()))?;
                let patterns: Vec<String> = values.iter().map(Value::to_interpolated).collect();
                Value::String(hash(&patterns).map_err(EvalError::HashFiles)?)
            }
            _ => return Err(EvalError::UnknownFunction(name.into())),
        })
    }

    /// Evaluates a template: literal text with each `${{ }}` replaced by its value.
    pub fn render(&self, segments: &[Segment]) -> Result<String, EvalError> {
        let mut out = String::new();
        for segment in segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Expr(expr, _) => out.push_str(&self.eval(expr)?.to_interpolated()),
            }
        }
        Ok(out)
    }
}

fn property(base: Value, name: &str) -> Value {
    match base {
        Value::Object(mut map) => map.shift_remove(name).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Comparison with loose typing: equal types compare directly, mixed types compare as
/// numbers. Strings compare exactly (case matters: branch names are case-sensitive in git).
fn compare(op: BinaryOp, left: &Value, right: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (left, right) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            (left == right).then_some(Ordering::Equal)
        }
        _ => left.as_number().partial_cmp(&right.as_number()),
    };
    match op {
        BinaryOp::Eq => ordering == Some(Ordering::Equal),
        BinaryOp::Ne => ordering != Some(Ordering::Equal),
        BinaryOp::Lt => ordering == Some(Ordering::Less),
        BinaryOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        BinaryOp::Gt => ordering == Some(Ordering::Greater),
        BinaryOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        BinaryOp::And | BinaryOp::Or => {
            unreachable!("logical operators short-circuit before compare")
        }
    }
}

/// Visits every node of an expression tree, parents first.
pub fn walk<'e>(expr: &'e Expr, visit: &mut dyn FnMut(&'e Expr)) {
    visit(expr);
    match &expr.kind {
        ExprKind::Literal(_) | ExprKind::Context(_) => {}
        ExprKind::Property(base, _) | ExprKind::Not(base) => walk(base, visit),
        ExprKind::Index(base, index) => {
            walk(base, visit);
            walk(index, visit);
        }
        ExprKind::Binary(_, left, right) => {
            walk(left, visit);
            walk(right, visit);
        }
        ExprKind::Call(_, args) => args.iter().for_each(|a| walk(a, visit)),
    }
}

/// A context access split into its root and literal property path, e.g. `event.branch` →
/// (`event`, [`branch`]). `None` for computed accesses.
/// One literal step of an access path: the property name and its byte range.
pub type PathStep<'e> = (&'e str, usize, usize);

pub fn access_path(expr: &Expr) -> Option<(&str, Vec<PathStep<'_>>)> {
    match &expr.kind {
        ExprKind::Context(name) => Some((name, Vec::new())),
        ExprKind::Property(base, name) => {
            let (root, mut path) = access_path(base)?;
            path.push((name, expr.end - name.len(), expr.end));
            Some((root, path))
        }
        ExprKind::Index(base, index) => {
            let ExprKind::Literal(Value::String(key)) = &index.kind else {
                return None;
            };
            let (root, mut path) = access_path(base)?;
            path.push((key, index.start, index.end));
            Some((root, path))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Value {
        let mut scope = Scope::default();
        let mut event = IndexMap::new();
        event.insert("branch".to_string(), Value::String("main".into()));
        event.insert("name".to_string(), Value::String("push".into()));
        scope.contexts.insert("event".into(), Value::Object(event));
        scope.status = Some(NeedsStatus::default());
        scope.eval(&parse(text).unwrap()).unwrap()
    }

    #[test]
    fn precedence_and_short_circuit() {
        assert_eq!(eval("true || false && false"), Value::Bool(true));
        assert_eq!(eval("(true || false) && false"), Value::Bool(false));
        assert_eq!(eval("!false && 1 < 2"), Value::Bool(true));
        assert_eq!(eval("null || 'default'"), Value::String("default".into()));
        assert_eq!(eval("'' && 'x'"), Value::String(String::new()));
    }

    #[test]
    fn contexts_functions_and_literals() {
        assert_eq!(
            eval("event.branch == 'main' && success()"),
            Value::Bool(true)
        );
        assert_eq!(eval("event['name']"), Value::String("push".into()));
        assert_eq!(eval("event.missing"), Value::Null);
        assert_eq!(eval("startsWith(event.branch, 'ma')"), Value::Bool(true));
        assert_eq!(eval("contains('a,b', 'b')"), Value::Bool(true));
        assert_eq!(eval("0xff == 255"), Value::Bool(true));
        assert_eq!(eval("-1.5e1 < 0"), Value::Bool(true));
        assert_eq!(eval("'it''s'"), Value::String("it's".into()));
        assert_eq!(eval("'1' == 1"), Value::Bool(true));
        assert_eq!(eval("failure() || cancelled()"), Value::Bool(false));
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let error = parse("a == 'x' &&").unwrap_err();
        assert_eq!(error.start, 11);
        let error = parse("a = 'x'").unwrap_err();
        assert_eq!((error.start, error.end), (2, 3));
        assert!(
            parse("\"x\"")
                .unwrap_err()
                .message
                .contains("single quotes")
        );
        assert!(parse("f(1, 2").unwrap_err().message.contains("missing `)`"));
        assert!(
            parse("a b")
                .unwrap_err()
                .message
                .contains("after the expression")
        );
        assert!(parse(&"(".repeat(200)).is_err());
        assert!(parse(&"!".repeat(200)).is_err());
    }

    #[test]
    fn templates_split_and_report_offsets() {
        let segments =
            parse_template("cargo-${{ matrix.rust }}-${{ hashFiles('Cargo.lock') }}").unwrap();
        assert_eq!(segments.len(), 4);
        let error = parse_template("x-${{ a == }}").unwrap_err();
        assert_eq!(error.start, 11);
        let error = parse_template("x-${{ a").unwrap_err();
        assert_eq!(error.start, 2);
        assert_eq!(parse_template("${{ '}}' }}").unwrap().len(), 1);
    }

    #[test]
    fn conditions_accept_bare_and_wrapped() {
        let (_, offset) = parse_condition("${{ success() }}").unwrap();
        assert_eq!(offset, 3);
        let (_, offset) = parse_condition("success()").unwrap();
        assert_eq!(offset, 0);
        assert!(parse_condition("${{ a }} && b").is_err());
    }

    #[test]
    fn access_paths() {
        let expr = parse("jobs.build['result']").unwrap();
        let (root, path) = access_path(&expr).unwrap();
        assert_eq!(root, "jobs");
        assert_eq!(
            path.iter().map(|p| p.0).collect::<Vec<_>>(),
            ["build", "result"]
        );
    }
}
