//! The request path: pick a version, forward the request to one of its instances, stream the
//! response back with the version header, and time the exchange.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{PathAndQuery, Scheme};
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::metrics::{RequestTimer, UpstreamFailure};
use crate::routes::{Instance, RouteTable, StickyKey};

/// The header that tells clients which version answered.
pub const VERSION_HEADER: &str = "x-slipway-version";

static X_SLIPWAY_VERSION: HeaderName = HeaderName::from_static(VERSION_HEADER);
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// The body sent to an instance: the client's body streamed through, or nothing (for a
/// request that may be retried, whose body is known to be empty).
pub(crate) type UpstreamBody = Either<Incoming, Empty<Bytes>>;

pub(crate) type UpstreamClient = Client<HttpConnector, UpstreamBody>;

/// Keep-alive connections to instances, shared by all requests of one proxy.
pub(crate) fn upstream_client(timeout: Duration) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(timeout));
    connector.enforce_http(true);
    Client::builder(TokioExecutor::new())
        // Shorter than the usual server idle timeouts (hello-service: 5 s closes first, and the
        // client retries a request that met a connection closed under it).
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build(connector)
}

/// What the request path needs from the proxy.
pub(crate) struct Forwarder {
    pub(crate) routes: arc_swap::ArcSwap<RouteTable>,
    pub(crate) sticky: Option<StickyKey>,
    pub(crate) client: UpstreamClient,
    pub(crate) upstream_timeout: Duration,
}

/// What is known about the client connection, computed once per connection.
pub(crate) struct ClientConnection {
    peer_ip: HeaderValue,
}

impl ClientConnection {
    pub(crate) fn new(peer: SocketAddr) -> Self {
        let peer_ip = HeaderValue::from_str(&peer.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        ClientConnection { peer_ip }
    }
}

/// The version chosen for one request, copied out of the route table so the table is not
/// held across awaits.
struct Chosen {
    version_header: HeaderValue,
    first: Instance,
    alternate: Option<Instance>,
    timer: RequestTimer,
}

impl Forwarder {
    fn choose(&self, headers: &HeaderMap) -> Chosen {
        let table = self.routes.load();
        let backend = match self.sticky.as_ref().and_then(|sticky| sticky.find(headers)) {
            Some(key) => table.pick_sticky(key),
            None => table.pick_weighted(),
        };
        let count = backend.instances.len();
        let index = backend.next_instance();
        let instance = |offset: usize| {
            backend
                .instances
                .get((index + offset) % count.max(1))
                .map(|instance| Instance {
                    addr: instance.addr,
                    authority: instance.authority.clone(),
                    in_flight: Arc::clone(&instance.in_flight),
                })
        };
        let first = instance(0).unwrap_or_else(|| Instance {
            // Validation guarantees instances for every version that can be picked; a
            // port-0 address fails to connect and answers 502 should that ever break.
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            authority: hyper::http::uri::Authority::from_static("127.0.0.1:0"),
            in_flight: Arc::default(),
        });
        let timer = backend.metrics.start(&first.in_flight);
        Chosen {
            version_header: backend.version_header.clone(),
            alternate: if count > 1 { instance(1) } else { None },
            first,
            timer,
        }
    }

    /// Answers one client request. Never fails: upstream trouble becomes a 502 or 504.
    pub(crate) async fn handle(
        &self,
        connection: &ClientConnection,
        request: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Infallible> {
        if self.routes.load().is_empty() {
            let mut response = Response::new(ProxyBody::local(
                "no release serves this environment yet\n",
                None,
            ));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return Ok(response);
        }
        let (mut parts, body) = request.into_parts();
        let mut chosen = self.choose(&parts.headers);

        // HTTP/1.1 towards instances whatever the client spoke, so connections are reused.
        parts.version = Version::HTTP_11;
        remove_hop_by_hop(&mut parts.headers);
        append_forwarded_for(&mut parts.headers, &connection.peer_ip);
        parts
            .headers
            .insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));

        // A request is retried on another instance only when resending it is harmless
        // (idempotent method) and possible (no body to replay).
        let retry_template =
            (chosen.alternate.is_some() && is_idempotent(&parts.method) && body.is_end_stream())
                .then(|| {
                    let mut template = Request::new(());
                    *template.method_mut() = parts.method.clone();
                    *template.version_mut() = parts.version;
                    *template.headers_mut() = parts.headers.clone();
                    template
                });
        let first_body = if retry_template.is_some() {
            Either::Right(Empty::new())
        } else {
            Either::Left(body)
        };
        parts.uri = upstream_uri(&chosen.first, path.clone());
        let mut outcome = self.send(Request::from_parts(parts, first_body)).await;

        if let (Err(UpstreamFailure::Connect), Some(template), Some(alternate)) =
            (&outcome, retry_template, chosen.alternate.as_ref())
        {
            chosen
                .timer
                .metrics()
                .upstream_failure(UpstreamFailure::Connect);
            chosen.timer.moved_to(&alternate.in_flight);
            let (mut parts, ()) = template.into_parts();
            parts.uri = upstream_uri(alternate, path);
            outcome = self
                .send(Request::from_parts(parts, Either::Right(Empty::new())))
                .await;
        }

        let response = match outcome {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                remove_hop_by_hop(&mut parts.headers);
                parts
                    .headers
                    .insert(X_SLIPWAY_VERSION.clone(), chosen.version_header);
                chosen.timer.answered(parts.status);
                Response::from_parts(parts, ProxyBody::upstream(body, chosen.timer))
            }
            Err(failure) => {
                chosen.timer.metrics().upstream_failure(failure);
                let (status, message) = match failure {
                    UpstreamFailure::Timeout => (
                        StatusCode::GATEWAY_TIMEOUT,
                        "upstream did not answer in time\n",
                    ),
                    UpstreamFailure::Connect => {
                        (StatusCode::BAD_GATEWAY, "upstream refused the connection\n")
                    }
                    UpstreamFailure::Protocol => {
                        (StatusCode::BAD_GATEWAY, "upstream exchange failed\n")
                    }
                };
                chosen.timer.answered(status);
                let mut response = Response::new(ProxyBody::local(message, Some(chosen.timer)));
                *response.status_mut() = status;
                let headers = response.headers_mut();
                headers.insert(X_SLIPWAY_VERSION.clone(), chosen.version_header);
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
        };
        Ok(response)
    }

    async fn send(
        &self,
        request: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, UpstreamFailure> {
        match tokio::time::timeout(self.upstream_timeout, self.client.request(request)).await {
            Err(_) => Err(UpstreamFailure::Timeout),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) if error.is_connect() => Err(UpstreamFailure::Connect),
            Ok(Err(_)) => Err(UpstreamFailure::Protocol),
        }
    }
}

fn upstream_uri(instance: &Instance, path: PathAndQuery) -> Uri {
    let mut parts = hyper::http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(instance.authority.clone());
    parts.path_and_query = Some(path);
    // Scheme, authority and path are all set, which is all `from_parts` checks.
    Uri::from_parts(parts).unwrap_or_default()
}

/// RFC 9110 §9.2.2.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Drops the headers that describe one connection rather than the message (RFC 9110 §7.6.1):
/// those named in `Connection`, and the well-known hop-by-hop ones.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(header::CONNECTION);
    }
    for name in [
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
        &header::PROXY_AUTHENTICATE,
        &header::PROXY_AUTHORIZATION,
        &PROXY_CONNECTION,
        &KEEP_ALIVE,
    ] {
        headers.remove(name);
    }
}

/// Adds the client's address to `x-forwarded-for`, after any addresses earlier proxies put
/// there.
fn append_forwarded_for(headers: &mut HeaderMap, peer_ip: &HeaderValue) {
    let earlier: Vec<&[u8]> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    if earlier.is_empty() {
        headers.insert(X_FORWARDED_FOR.clone(), peer_ip.clone());
        return;
    }
    let mut joined = earlier.join(&b", "[..]);
    joined.extend_from_slice(b", ");
    joined.extend_from_slice(peer_ip.as_bytes());
    let value = HeaderValue::from_bytes(&joined).unwrap_or_else(|_| peer_ip.clone());
    headers.insert(X_FORWARDED_FOR.clone(), value);
}

/// A response body: the instance's body streamed through, or the proxy's own short answer.
/// It carries the request's timer, so the request counts as in flight until its last byte
/// was handed on (or the client went away).
pub struct ProxyBody {
    inner: Either<Incoming, Full<Bytes>>,
    timer: Option<RequestTimer>,
}

impl ProxyBody {
    fn upstream(body: Incoming, timer: RequestTimer) -> Self {
        ProxyBody {
            inner: Either::Left(body),
            timer: Some(timer),
        }
    }

    pub(crate) fn local(text: impl Into<Bytes>, timer: Option<RequestTimer>) -> Self {
        ProxyBody {
            inner: Either::Right(Full::new(text.into())),
            timer,
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let polled = match &mut this.inner {
            Either::Left(upstream) => Pin::new(upstream).poll_frame(cx),
            Either::Right(local) => Pin::new(local)
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| frame.map_err(|never| match never {}))),
        };
        let finished = match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            Poll::Pending => false,
        };
        if finished {
            // The exchange is over: record it now rather than whenever the body is dropped.
            this.timer.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped_and_end_to_end_kept() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private-hop"),
            ("connection", "upgrade"),
            ("keep-alive", "timeout=5"),
            ("x-private-hop", "1"),
            ("upgrade", "websocket"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-connection", "keep-alive"),
            ("trailer", "x-checksum"),
            ("accept", "text/plain"),
            ("x-request-id", "abc"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        remove_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, vec!["accept", "x-request-id"]);
    }

    #[test]
    fn forwarded_for_appends_to_earlier_proxies() {
        let peer = HeaderValue::from_static("10.0.0.9");
        let mut headers = HeaderMap::new();
        append_forwarded_for(&mut headers, &peer);
        assert_eq!(headers[&X_FORWARDED_FOR], "10.0.0.9");

        let mut headers = HeaderMap::new();
        headers.append(&X_FORWARDED_FOR, HeaderValue::from_static("1.1.1.1"));
        headers.append(
            &X_FORWARDED_FOR,
            HeaderValue::from_static("2.2.2.2, 3.3.3.3"),
        );
        append_forwarded_for(&mut headers, &peer);
        let values: Vec<_> = headers.get_all(&X_FORWARDED_FOR).iter().collect();
        assert_eq!(values, vec!["1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9"]);
    }

    #[test]
    fn idempotent_methods() {
        assert!(is_idempotent(&Method::GET));
        assert!(is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}
