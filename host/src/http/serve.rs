//! Serving connections: HTTP/1.1 with keep-alive, a deadline for reading each request's
//! headers and for each piece of its body (slow or stalled clients cannot hold connections
//! open), and a graceful shutdown that keeps answering until the requests in flight are done.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulConnection, GracefulShutdown};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower_http::timeout::{RequestBodyTimeout, RequestBodyTimeoutLayer};

/// How long the server waits for a slow client.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// From the connection (or the previous request) to the end of a request's headers.
    pub headers: Duration,
    /// Between two pieces of a request's body.
    pub body: Duration,
    /// After shutdown is asked, for requests in flight to finish.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes; then lets the requests in flight
/// finish for up to `timeouts.drain` and closes idle connections, while the listener stays open
/// so that new requests are answered (the router refuses them while the server drains) rather
/// than refused a connection; then closes it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: ClientTimeouts,
    shutdown: impl Future<Output = ()>,
) {
    let service = tower::ServiceBuilder::new()
        .layer(RequestBodyTimeoutLayer::new(timeouts.body))
        .service(router);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let connection = connection(stream, client, &service, timeouts, true);
        tokio::spawn(log_end(graceful.watch(connection)));
    }
    let in_flight = tokio::time::timeout(timeouts.drain, graceful.shutdown());
    let mut in_flight = std::pin::pin!(in_flight);
    loop {
        let (stream, client) = tokio::select! {
            accepted = accept(&listener) => accepted,
            finished = &mut in_flight => {
                if finished.is_err() {
                    tracing::warn!("requests still in flight after the drain period were cut");
                }
                break;
            }
        };
        tokio::spawn(log_end(connection(
            stream, client, &service, timeouts, false,
        )));
    }
}

/// The next connection; an error (out of file descriptors, say) waits a moment rather than
/// spins.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// One HTTP/1.1 connection, its headers read within `timeouts.headers`; handlers that need the
/// client's address (login limits) read it from its `ConnectInfo`.
fn connection(
    stream: TcpStream,
    client: SocketAddr,
    service: &RequestBodyTimeout<Router>,
    timeouts: ClientTimeouts,
    keep_alive: bool,
) -> impl GracefulConnection<Error = hyper::Error> + Send + 'static {
    http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.headers)
        .keep_alive(keep_alive)
        .serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(
                tower::ServiceBuilder::new()
                    .layer(axum::Extension(ConnectInfo(client)))
                    .service(service.clone()),
            ),
        )
}

async fn log_end(connection: impl Future<Output = hyper::Result<()>>) {
    if let Err(error) = connection.await {
        tracing::debug!(%error, "a connection ended with an error");
    }
}
