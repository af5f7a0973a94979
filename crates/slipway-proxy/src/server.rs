//! Listeners: the proxy's own and the admin one, each an accept loop that serves HTTP/1.1
//! connections until shutdown, then lets open exchanges finish within a grace period.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::ProxyError;
use crate::forward::ProxyBody;

/// Binds `addr` for the named listener.
pub(crate) async fn bind(
    listener: &'static str,
    addr: SocketAddr,
) -> Result<TcpListener, ProxyError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ProxyError::Bind {
            listener,
            addr,
            source,
        })
}

/// Serves `listener` until `shutdown` holds a grace period, then waits up to that long for
/// open connections to finish their exchanges (idle keep-alive connections close at once) and
/// cuts the rest.
/// `make_handler` is called once per connection with the client's address and returns the
/// connection's request handler.
async fn serve<M, H, F>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<Option<Duration>>,
    make_handler: M,
) where
    M: Fn(SocketAddr) -> H + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + 'static,
    F: Future<Output = Result<Response<ProxyBody>, Infallible>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    // Once every handle is gone without a shutdown there is nothing left to watch: the proxy
    // serves until its runtime stops.
    let mut watching = true;
    let grace = loop {
        tokio::select! {
            changed = shutdown.changed(), if watching => {
                let requested = *shutdown.borrow();
                match (changed, requested) {
                    (_, Some(grace)) => break grace,
                    (Err(_), None) => watching = false,
                    (Ok(()), None) => {}
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Responses are written whole; Nagle's algorithm would only delay them.
                    let _ = stream.set_nodelay(true);
                    let service = service_fn(make_handler(peer));
                    let mut shutdown = shutdown.clone();
                    connections.spawn(async move {
                        let connection = http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::pin!(connection);
                        let stop = async {
                            if shutdown.wait_for(Option::is_some).await.is_err() {
                                std::future::pending::<()>().await;
                            }
                        };
                        tokio::select! {
                            _ = connection.as_mut() => {}
                            () = stop => {
                                connection.as_mut().graceful_shutdown();
                                let _ = connection.await;
                            }
                        }
                    });
                }
                Err(_) => {
                    // Out of file descriptors or a similar passing condition: back off
                    // briefly instead of spinning on the error.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    };
    drop(listener);
    let finished = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// Spawns `serve` and returns its task.
pub(crate) fn spawn_serve<M, H, F>(
    listener: TcpListener,
    shutdown: watch::Receiver<Option<Duration>>,
    make_handler: M,
) -> tokio::task::JoinHandle<()>
where
    M: Fn(SocketAddr) -> H + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + 'static,
    F: Future<Output = Result<Response<ProxyBody>, Infallible>> + Send + 'static,
{
    tokio::spawn(serve(listener, shutdown, make_handler))
}
