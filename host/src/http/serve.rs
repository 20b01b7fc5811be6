//! Serving connections: HTTP/1.1 with keep-alive, a deadline for reading each request's
//! headers and for each piece of its body (slow or stalled clients cannot hold connections
//! open), and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeoutLayer;

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

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish for up to `timeouts.drain`, and closes idle connections.
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
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.headers)
            .serve_connection(
                TokioIo::new(stream),
                // Handlers that need the client's address (login limits) read it from here.
                TowerToHyperService::new(
                    tower::ServiceBuilder::new()
                        .layer(axum::Extension(ConnectInfo(client)))
                        .service(service.clone()),
                ),
            );
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = watched.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(timeouts.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain period were cut");
    }
}
