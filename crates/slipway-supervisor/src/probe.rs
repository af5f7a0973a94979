//! HTTP probes: one GET over a fresh connection to `127.0.0.1:{port}`, bounded by the probe's
//! timeout from connect to response head.

use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Checks `http://127.0.0.1:{port}{path}` once: `Ok` for a 2xx or 3xx status, otherwise a
/// short description of the failure (status, refused connection, timeout).
pub(crate) async fn check(port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
    match tokio::time::timeout(timeout, get(port, path)).await {
        Ok(Ok(status)) if (200..400).contains(&status) => Ok(status),
        Ok(Ok(status)) => Err(format!("answered HTTP {status}")),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn get(port: u16, path: &str) -> Result<u16, String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, format!("127.0.0.1:{port}"))
        .header(USER_AGENT, "slipway-supervisor")
        .header(CONNECTION, "close")
        .body(Empty::new())
        .map_err(|error| format!("invalid probe request: {error}"))?;
    let mut connection = pin!(connection);
    let mut response = pin!(sender.send_request(request));
    let status = |response: hyper::Result<hyper::Response<hyper::body::Incoming>>| {
        response
            .map(|response| response.status().as_u16())
            .map_err(|error| format!("request failed: {error}"))
    };
    // The connection future does the I/O; it must be driven while the response is awaited.
    // When the server answers and closes at once, the connection can finish first with the
    // response already handed over, so the response is still awaited then.
    tokio::select! {
        answered = &mut response => status(answered),
        closed = &mut connection => match closed {
            Ok(()) => status(response.await),
            Err(error) => Err(format!("connection failed: {error}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Answers each connection with `reply` after reading the request head.
    async fn server(reply: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                if !reply.is_empty() {
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                } else {
                    // Holds the connection open without answering.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        });
        port
    }

    #[tokio::test]
    async fn statuses_decide_success() {
        let ok = server("HTTP/1.1 204 No Content\r\n\r\n").await;
        assert_eq!(check(ok, "/readyz", Duration::from_secs(5)).await, Ok(204));
        let redirect =
            server("HTTP/1.1 302 Found\r\nlocation: /\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(check(redirect, "/", Duration::from_secs(5)).await, Ok(302));
        let unavailable =
            server("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(
            check(unavailable, "/readyz", Duration::from_secs(5)).await,
            Err("answered HTTP 503".into())
        );
    }

    #[tokio::test]
    async fn silence_times_out_and_garbage_fails() {
        let silent = server("").await;
        let error = check(silent, "/healthz", Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(error.contains("no answer within"), "{error}");
        let garbage = server("not http at all\r\n\r\n").await;
        assert!(check(garbage, "/", Duration::from_secs(5)).await.is_err());
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let port = crate::free_port().unwrap();
        let error = check(port, "/", Duration::from_secs(5)).await.unwrap_err();
        assert!(error.contains("cannot connect"), "{error}");
    }
}
