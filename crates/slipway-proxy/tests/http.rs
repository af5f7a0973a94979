//! What the proxy does to messages: headers in both directions, streamed bodies, connection
//! reuse towards backends.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Behaviour, backend, client, config, url, version_of};
use slipway_proxy::{Routes, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_forwarded_with_forwarding_headers_and_without_hop_by_hop_ones() {
    let echo = backend("v1", Behaviour::default()).await;
    let proxy = start(config("headers"), Routes::single("v1", vec![echo.addr]))
        .await
        .unwrap();
    let response = client()
        .request(reqwest::Method::PUT, url(&proxy, "/headers?a=1&b=two"))
        .header("host", "app.example")
        .header("x-request-id", "r-1")
        .header("x-forwarded-for", "203.0.113.7")
        .header("connection", "x-secret-hop")
        .header("x-secret-hop", "drop me")
        .header("proxy-connection", "keep-alive")
        .header("te", "trailers")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(version_of(&response), "v1");
    assert_eq!(response.headers()["x-backend"], "v1");
    for hop in ["x-backend-hop", "keep-alive"] {
        assert!(
            !response.headers().contains_key(hop),
            "response header {hop} reached the client"
        );
    }
    let seen: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["uri"], "/headers?a=1&b=two");
    let header = |name: &str| -> Vec<String> {
        seen["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|pair| pair[0] == name)
            .map(|pair| pair[1].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(header("host"), vec!["app.example"]);
    assert_eq!(header("x-request-id"), vec!["r-1"]);
    assert_eq!(header("x-forwarded-for"), vec!["203.0.113.7, 127.0.0.1"]);
    assert_eq!(header("x-forwarded-proto"), vec!["http"]);
    for hop in ["x-secret-hop", "proxy-connection", "te"] {
        assert!(
            header(hop).is_empty(),
            "request header {hop} reached the backend"
        );
    }
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_travel_both_ways_intact() {
    let echo = backend("v1", Behaviour::default()).await;
    let proxy = start(config("bodies"), Routes::single("v1", vec![echo.addr]))
        .await
        .unwrap();
    let body: Vec<u8> = (0..8 * 1024 * 1024_u32)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let response = client()
        .post(url(&proxy, "/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = response.bytes().await.unwrap();
    assert_eq!(echoed.len(), body.len());
    assert!(echoed == body, "the echoed body differs");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_bodies_stream_without_buffering() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let streaming = backend(
        "v1",
        Behaviour {
            gate: Some(Arc::clone(&gate)),
            ..Behaviour::default()
        },
    )
    .await;
    let proxy = start(config("stream"), Routes::single("v1", vec![streaming.addr]))
        .await
        .unwrap();
    let mut response = client().get(url(&proxy, "/stream")).send().await.unwrap();
    // The backend holds its second chunk until the first one reached the client: a proxy that
    // buffered the body would deliver nothing.
    let first = tokio::time::timeout(Duration::from_secs(20), response.chunk())
        .await
        .expect("the first chunk arrives while the backend still holds the rest")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first\n");
    assert_eq!(proxy.in_flight("v1"), 1, "in flight until the last byte");
    tokio::time::sleep(Duration::from_millis(100)).await;
    gate.add_permits(1);
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"second\n");
    assert!(proxy.drained("v1", Duration::from_secs(5)).await);
    // The latency covers the whole body (held 100 ms above), not just the head.
    let latency = proxy.totals("v1").latency;
    assert!(latency.sum_seconds >= 0.1, "{latency:?}");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_stream_without_buffering() {
    let backend = backend("v1", Behaviour::default()).await;
    let proxy = start(config("upload"), Routes::single("v1", vec![backend.addr]))
        .await
        .unwrap();
    // A chunked upload whose end the client withholds until it has the response: a proxy that
    // buffered the whole body before forwarding would never answer.
    let mut stream = tokio::net::TcpStream::connect(proxy.address())
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /first-chunk HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n6\r\nhello!\r\n",
        )
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed early");
            received.extend_from_slice(&buffer[..n]);
            if received.ends_with(b"hello!") {
                break;
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "no answer before the upload ended: {:?}",
        String::from_utf8_lossy(&received)
    );
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    proxy.shutdown_within(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_to_backends_are_kept_alive() {
    let pooled = backend("v1", Behaviour::default()).await;
    let proxy = start(config("pool"), Routes::single("v1", vec![pooled.addr]))
        .await
        .unwrap();
    let client = client();
    for _ in 0..200 {
        let response = client.get(url(&proxy, "/")).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "v1");
    }
    let connections = pooled.connections.load(Ordering::SeqCst);
    assert!(
        connections <= 2,
        "{connections} backend connections for 200 sequential requests"
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_clients_are_answered_over_pooled_http_1_1() {
    let pooled = backend("v1", Behaviour::default()).await;
    let proxy = start(config("old"), Routes::single("v1", vec![pooled.addr]))
        .await
        .unwrap();
    for _ in 0..3 {
        let mut stream = tokio::net::TcpStream::connect(proxy.address())
            .await
            .unwrap();
        stream
            .write_all(b"GET / HTTP/1.0\r\nHost: old.example\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        // An HTTP/1.0 exchange ends with the proxy closing the connection.
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.0 200"), "{text}");
        assert!(text.contains("x-slipway-version: v1"), "{text}");
        assert!(text.ends_with("v1"), "{text}");
    }
    // Three client connections, one kept-alive connection to the backend.
    assert_eq!(pooled.connections.load(Ordering::SeqCst), 1);
    proxy.shutdown().await;
}
