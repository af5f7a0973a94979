//! Just enough HTTP/1.1: request heads, query strings, responses.
//!
//! The parser never trusts the peer: every read is bounded, anything it cannot
//! make sense of becomes a [`ParseError`] with a status code, never a panic.

use std::fmt::Write as _;
use std::io::{self, BufRead, Read, Write};

/// Longest request line or header line, CRLF included.
pub const MAX_LINE: usize = 8 * 1024;
/// Longest request head (request line plus all headers).
pub const MAX_HEAD: usize = 64 * 1024;
pub const MAX_HEADERS: usize = 100;
/// Request bodies up to this size are read and discarded so the connection
/// can be reused; none of our endpoints takes a body.
pub const MAX_BODY: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub keep_alive: bool,
    /// The `Authorization` header's value, when sent.
    pub authorization: Option<String>,
}

#[derive(Debug)]
pub enum ParseError {
    /// 400 with the reason in the body.
    Malformed(&'static str),
    /// 414: request line too long.
    UriTooLong,
    /// 431: a header line, the header count or the whole head is too large.
    HeadersTooLarge,
    /// 413: body larger than [`MAX_BODY`].
    BodyTooLarge,
    /// 501: we do not decode `Transfer-Encoding` (chunked) bodies.
    TransferEncoding,
    /// 505: well-formed but not HTTP/1.0 or HTTP/1.1.
    VersionNotSupported,
    /// The connection failed, timed out or ended mid-request.
    Io(io::Error),
}

impl From<io::Error> for ParseError {
    fn from(err: io::Error) -> Self {
        ParseError::Io(err)
    }
}

impl ParseError {
    /// The response owed to the client, or `None` when the connection is
    /// beyond answering. A timeout mid-request still gets its 408.
    pub fn response(&self) -> Option<Response> {
        let (status, message) = match self {
            ParseError::Malformed(reason) => (400, *reason),
            ParseError::UriTooLong => (414, "request line too long"),
            ParseError::HeadersTooLarge => (431, "request headers too large"),
            ParseError::BodyTooLarge => (413, "request body too large"),
            ParseError::TransferEncoding => (501, "transfer-encoding is not supported"),
            ParseError::VersionNotSupported => (505, "only HTTP/1.0 and HTTP/1.1 are supported"),
            ParseError::Io(err) if is_timeout(err) => (408, "request timed out"),
            ParseError::Io(_) => return None,
        };
        Some(Response::error(status, message))
    }
}

/// Read timeouts surface as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads one request head and discards its body, leaving `reader` at the
/// start of the next request. `Ok(None)` means the peer closed the
/// connection cleanly between requests.
pub fn read_request<R: BufRead>(reader: &mut R) -> Result<Option<Request>, ParseError> {
    // Shared by the request line and all headers, so many short lines cannot
    // add up to an unbounded head.
    let mut budget = MAX_HEAD;
    let mut line = Vec::new();

    // RFC 9112 §2.2: ignore empty lines before the request line; some clients
    // send a stray CRLF after a body.
    loop {
        match read_line(reader, &mut line, &mut budget)? {
            Line::Eof => return Ok(None),
            Line::TooLong => return Err(ParseError::UriTooLong),
            Line::Complete if line.is_empty() => {}
            Line::Complete => break,
        }
    }
    let (method, target, http10) = parse_request_line(&line)?;
    let (method, target) = (method.to_string(), target.to_string());

    let mut keep_alive = !http10;
    let mut has_host = false;
    let mut authorization = None;
    let mut content_length: Option<u64> = None;
    let mut headers = 0;
    loop {
        match read_line(reader, &mut line, &mut budget)? {
            Line::Eof => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Line::TooLong => return Err(ParseError::HeadersTooLarge),
            Line::Complete if line.is_empty() => break,
            Line::Complete => {}
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(ParseError::HeadersTooLarge);
        }
        let (name, value) = parse_header(&line)?;
        if name.eq_ignore_ascii_case("host") {
            has_host = true;
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::Malformed("invalid content-length"));
            }
            // Huge digit strings overflow u64; they are too large either way.
            let length = value.parse().unwrap_or(u64::MAX);
            if content_length.is_some_and(|previous| previous != length) {
                return Err(ParseError::Malformed("conflicting content-length headers"));
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ParseError::TransferEncoding);
        }
    }
    if !http10 && !has_host {
        // RFC 9112 §3.2 requires this of servers.
        return Err(ParseError::Malformed("missing host header"));
    }

    let length = content_length.unwrap_or(0);
    if length > MAX_BODY {
        return Err(ParseError::BodyTooLarge);
    }
    if io::copy(&mut reader.take(length), &mut io::sink())? < length {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }

    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (target, None),
    };
    Ok(Some(Request {
        method,
        path,
        query,
        keep_alive,
        authorization,
    }))
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads the next line into `line`, without its line ending, charging the
/// bytes read to `budget`. Bare LF endings are accepted as RFC 9112 §2.2
/// allows.
fn read_line<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    budget: &mut usize,
) -> io::Result<Line> {
    line.clear();
    let limit = MAX_LINE.min(*budget);
    if limit == 0 {
        return Ok(Line::TooLong);
    }
    let n = reader.take(limit as u64).read_until(b'\n', line)?;
    *budget -= n;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if line.last() != Some(&b'\n') {
        return if n == limit {
            Ok(Line::TooLong)
        } else {
            Err(io::ErrorKind::UnexpectedEof.into())
        };
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Line::Complete)
}

/// Returns method, request target and whether the version is HTTP/1.0.
fn parse_request_line(line: &[u8]) -> Result<(&str, &str, bool), ParseError> {
    let line = std::str::from_utf8(line)
        .map_err(|_| ParseError::Malformed("request line is not UTF-8"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed(
            "request line must be METHOD TARGET VERSION",
        ));
    };
    if !is_token(method) {
        return Err(ParseError::Malformed("invalid method"));
    }
    // Only origin-form ("/path?query"); this is not a proxy.
    if !target.starts_with('/') || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ParseError::Malformed("invalid request target"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => {
            let digits = version.strip_prefix("HTTP/").map(str::as_bytes);
            return Err(match digits {
                Some([major, b'.', minor]) if major.is_ascii_digit() && minor.is_ascii_digit() => {
                    ParseError::VersionNotSupported
                }
                _ => ParseError::Malformed("invalid HTTP version"),
            });
        }
    };
    Ok((method, target, http10))
}

fn parse_header(line: &[u8]) -> Result<(&str, &str), ParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::Malformed("header line without colon"))?;
    // A token check on the name also rejects obsolete line folding (leading
    // whitespace) and whitespace before the colon, both smuggling vectors.
    let name = std::str::from_utf8(&line[..colon])
        .ok()
        .filter(|name| is_token(name))
        .ok_or(ParseError::Malformed("invalid header name"))?;
    let value = &line[colon + 1..];
    if value
        .iter()
        .any(|&b| b == b'\r' || b == b'\0' || b == b'\n')
    {
        return Err(ParseError::Malformed("invalid header value"));
    }
    // Values we act on are ASCII; others (obs-text) are ignored, not rejected.
    let value = std::str::from_utf8(value).unwrap_or("");
    Ok((name, value.trim_matches([' ', '\t'])))
}

/// RFC 9110 §5.6.2 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError;

/// Decodes `application/x-www-form-urlencoded` pairs: `+` is a space and
/// `%XX` a byte. Malformed escapes and non-UTF-8 results are errors rather
/// than silently mangled names.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Result<String, QueryError> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex_value).ok_or(QueryError)?;
                let lo = bytes.next().and_then(hex_value).ok_or(QueryError)?;
                out.push(hi << 4 | lo);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| QueryError)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Escapes `s` for use inside a JSON string literal (RFC 8259 §7).
pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if c < '\u{20}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Value of the `Allow` header, sent with 405.
    pub allow: Option<&'static str>,
}

impl Response {
    pub fn text(status: u16, body: &str) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
            allow: None,
        }
    }

    pub fn json(status: u16, body: String) -> Self {
        Response {
            status,
            content_type: "application/json",
            body,
            allow: None,
        }
    }

    pub fn error(status: u16, message: &str) -> Self {
        Response::json(status, format!(r#"{{"error":"{}"}}"#, json_escape(message)))
    }

    /// Writes the whole response with one `write_all`, so a small response
    /// goes out in one segment (together with `TCP_NODELAY` this avoids
    /// Nagle/delayed-ACK stalls on keep-alive connections).
    pub fn write_to(
        &self,
        out: &mut impl Write,
        keep_alive: bool,
        head_only: bool,
    ) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
        );
        if let Some(allow) = self.allow {
            let _ = write!(head, "Allow: {allow}\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if !head_only {
            bytes.extend_from_slice(self.body.as_bytes());
        }
        out.write_all(&bytes)?;
        out.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<Request>, ParseError> {
        read_request(&mut raw.as_bytes())
    }

    fn status_of(raw: &str) -> u16 {
        match parse(raw) {
            Err(err) => err.response().expect("an answerable error").status,
            Ok(req) => panic!("expected an error for {raw:?}, got {req:?}"),
        }
    }

    #[test]
    fn parses_a_simple_get() {
        let req = parse("GET /api/hello?name=x HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            req,
            Request {
                method: "GET".into(),
                path: "/api/hello".into(),
                query: Some("name=x".into()),
                keep_alive: true,
                authorization: None,
            }
        );
    }

    #[test]
    fn accepts_bare_lf_and_leading_empty_lines() {
        let req = parse("\r\n\nGET /healthz HTTP/1.1\nHost: a\n\n")
            .unwrap()
            .unwrap();
        assert_eq!(req.path, "/healthz");
        assert_eq!(req.query, None);
    }

    #[test]
    fn header_names_are_case_insensitive_and_values_trimmed() {
        let req = parse("GET / HTTP/1.1\r\nhOsT: a\r\nCONNECTION: \t Close \t\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!req.keep_alive);
    }

    #[test]
    fn keep_alive_rules() {
        let keep = |raw: &str| parse(raw).unwrap().unwrap().keep_alive;
        assert!(keep("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(!keep(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(!keep(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n"
        ));
        assert!(!keep("GET / HTTP/1.0\r\n\r\n"));
        assert!(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn clean_eof_between_requests_is_not_an_error() {
        assert!(parse("").unwrap().is_none());
    }

    #[test]
    fn reads_consecutive_requests_and_skips_bodies() {
        let raw = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut reader = raw.as_bytes();
        assert_eq!(read_request(&mut reader).unwrap().unwrap().path, "/a");
        assert_eq!(read_request(&mut reader).unwrap().unwrap().path, "/b");
        assert!(read_request(&mut reader).unwrap().is_none());
    }

    #[test]
    fn malformed_requests_get_400() {
        for raw in [
            "garbage\r\n\r\n",
            "GET /\r\nHost: a\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET example.org/ HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET http://example.org/ HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTX/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
        ] {
            assert_eq!(status_of(raw), 400, "{raw:?}");
        }
    }

    #[test]
    fn non_utf8_request_line_is_400_and_odd_header_bytes_are_tolerated() {
        let mut raw: &[u8] = b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(matches!(
            read_request(&mut raw),
            Err(ParseError::Malformed(_))
        ));
        let mut raw: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n";
        assert!(read_request(&mut raw).unwrap().is_some());
    }

    #[test]
    fn other_errors_get_their_own_status() {
        assert_eq!(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(
            status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501
        );
        assert_eq!(
            status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n"),
            413
        );
        assert_eq!(
            status_of(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"
            ),
            413
        );
    }

    #[test]
    fn request_line_limit() {
        let fits = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_LINE - 16));
        assert_eq!(fits.len(), MAX_LINE);
        assert!(parse(&format!("{fits}Host: a\r\n\r\n")).unwrap().is_some());
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(MAX_LINE - 15)
        );
        assert_eq!(status_of(&long), 414);
    }

    #[test]
    fn header_limits() {
        let long_value = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "v".repeat(MAX_LINE)
        );
        assert_eq!(status_of(&long_value), 431);

        let headers = |n: usize| {
            let mut raw = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
            for i in 1..n {
                raw.push_str(&format!("X-{i}: v\r\n"));
            }
            raw + "\r\n"
        };
        assert!(parse(&headers(MAX_HEADERS)).unwrap().is_some());
        assert_eq!(status_of(&headers(MAX_HEADERS + 1)), 431);

        // Many lines, each under the line limit, still hit the head limit.
        let line = format!("X: {}\r\n", "v".repeat(MAX_LINE - 10));
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
            line.repeat(MAX_HEAD / line.len() + 1)
        );
        assert_eq!(status_of(&big), 431);
    }

    #[test]
    fn truncated_requests_are_io_errors_without_a_response() {
        for raw in [
            "GET / HTTP/1.1",
            "GET / HTTP/1.1\r\nHost: a\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nshort",
        ] {
            match parse(raw) {
                Err(err @ ParseError::Io(_)) => assert!(err.response().is_none()),
                other => panic!("{raw:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn timeouts_mid_request_get_408() {
        let err = ParseError::Io(io::ErrorKind::WouldBlock.into());
        assert_eq!(err.response().unwrap().status, 408);
    }

    #[test]
    fn query_decoding() {
        let q = |s| parse_query(s).unwrap();
        assert_eq!(q("name=Ada"), vec![("name".into(), "Ada".into())]);
        assert_eq!(
            q("name=Ada+Lovelace"),
            vec![("name".into(), "Ada Lovelace".into())]
        );
        assert_eq!(q("name=a%2Bb%20c"), vec![("name".into(), "a+b c".into())]);
        assert_eq!(q("na%6De=%c3%a9"), vec![("name".into(), "é".into())]);
        assert_eq!(
            q("a=1&&b&c=x=y&"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "x=y".into()),
            ]
        );
        assert_eq!(q(""), vec![]);
        for bad in ["name=%", "name=%4", "name=%zz", "name=%ff", "%c3=x"] {
            assert_eq!(parse_query(bad), Err(QueryError), "{bad:?}");
        }
    }

    #[test]
    fn json_escaping() {
        assert_eq!(json_escape("plain"), "plain");
        assert_eq!(json_escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(json_escape("l1\nl2\r\t"), r"l1\nl2\r\t");
        assert_eq!(json_escape("\u{0}\u{8}\u{c}\u{1f}"), r"\u0000\b\f\u001f");
        assert_eq!(json_escape("é ✓ </script>"), "é ✓ </script>");
    }

    #[test]
    fn response_serialisation() {
        let mut out = Vec::new();
        Response::text(200, "ok")
            .write_to(&mut out, true, false)
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("Content-Length: 2\r\n"), "{out}");
        assert!(out.contains("Connection: keep-alive\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nok"), "{out}");

        let mut out = Vec::new();
        let mut resp = Response::error(405, "method not allowed");
        resp.allow = Some("GET, HEAD");
        resp.write_to(&mut out, false, true).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("Allow: GET, HEAD\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\n"), "HEAD has no body: {out}");
    }
}
