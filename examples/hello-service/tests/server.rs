//! Starts the real server on an ephemeral port and talks HTTP to it over TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hello_service::{serve, App, Config};

fn start(config: Config) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Arc::new(App::new(&config, 42));
    thread::spawn(move || serve(listener, app));
    addr
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    BufReader::new(stream)
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn send(conn: &mut BufReader<TcpStream>, raw: &str) -> Reply {
    conn.get_mut().write_all(raw.as_bytes()).unwrap();
    read_reply(conn)
}

fn read_reply(conn: &mut BufReader<TcpStream>) -> Reply {
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let status = line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        conn.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut reply = Reply {
        status,
        headers,
        body: String::new(),
    };
    let length: u64 = reply.header("content-length").unwrap().parse().unwrap();
    conn.by_ref()
        .take(length)
        .read_to_string(&mut reply.body)
        .unwrap();
    reply
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    send(
        &mut connect(addr),
        &format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
}

fn assert_closed(conn: &mut BufReader<TcpStream>) {
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "unexpected bytes after close: {rest:?}");
}

#[test]
fn healthz() {
    let addr = start(Config::default());
    let reply = get(addr, "/healthz");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ok");
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(get(addr, "/readyz").status, 200);
}

#[test]
fn hello_json() {
    let addr = start(Config {
        version: "1.0.0-test".into(),
        ..Config::default()
    });
    let reply = get(addr, "/api/hello?name=Grace+%22Amazing%22+Hopper");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.body,
        r#"{"message":"hello, Grace \"Amazing\" Hopper","version":"1.0.0-test"}"#
    );
}

#[test]
fn not_found_and_method_not_allowed() {
    let addr = start(Config::default());
    let reply = get(addr, "/does-not-exist");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body, r#"{"error":"not found"}"#);

    let reply = send(
        &mut connect(addr),
        "POST /api/hello HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let addr = start(Config::default());
    let mut conn = connect(addr);
    let first = send(&mut conn, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(first.status, 200);
    assert_eq!(first.header("connection"), Some("keep-alive"));

    // Pipelined: both requests in one write, answered in order.
    conn.get_mut()
        .write_all(
            b"GET /api/hello HTTP/1.1\r\nHost: t\r\n\r\nGET /api/info HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    assert!(read_reply(&mut conn).body.contains("hello, world"));
    assert!(read_reply(&mut conn).body.contains("requests_served"));

    let last = send(
        &mut conn,
        "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(last.status, 200);
    assert_eq!(last.header("connection"), Some("close"));
    assert_closed(&mut conn);
}

#[test]
fn malformed_request_gets_400_and_the_server_keeps_going() {
    let addr = start(Config::default());
    let mut conn = connect(addr);
    let reply = send(&mut conn, "BLAH\r\n\r\n");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("connection"), Some("close"));
    assert_closed(&mut conn);

    let mut conn = connect(addr);
    conn.get_mut().write_all(&[0xff; 20_000]).unwrap();
    assert_eq!(read_reply(&mut conn).status, 414);

    assert_eq!(get(addr, "/healthz").status, 200);
}

#[test]
fn error_rate_one_always_fails_api_requests() {
    let addr = start(Config {
        error_rate: 1.0,
        ..Config::default()
    });
    for _ in 0..5 {
        let reply = get(addr, "/api/hello");
        assert_eq!(reply.status, 500);
        assert!(reply.body.contains("error"));
    }
    assert_eq!(get(addr, "/healthz").status, 200);
}
