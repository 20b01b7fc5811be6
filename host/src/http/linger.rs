//! A lingering close: a request body its handler dropped unread (a refusal answered before the
//! body was read: too large, wrong type, no room) is read and discarded in the background, up
//! to a bound, so that a client still sending receives the answer instead of a connection
//! reset that loses it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use futures_util::StreamExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// The most bytes of an abandoned body read and discarded.
const LINGER_BYTES: u64 = 16 << 20;
/// The longest an abandoned body is read for.
const LINGER_TIME: Duration = Duration::from_secs(10);

/// `request` with a body that lingers when dropped unread (a request without a body, as most
/// are, is left as it is).
pub(super) fn lingering(request: Request) -> Request {
    if HttpBody::is_end_stream(request.body()) {
        return request;
    }
    request.map(|body| Body::new(Lingering(Some(body))))
}

/// A body that, dropped before its end, has the rest read and discarded in the background.
struct Lingering(Option<Body>);

impl HttpBody for Lingering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.0.as_mut() {
            Some(body) => Pin::new(body).poll_frame(context),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(body) = self.0.take() else {
            return;
        };
        if HttpBody::is_end_stream(&body) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(discard(body));
        }
    }
}

/// Reads `body` to its end, or until [`LINGER_BYTES`] or [`LINGER_TIME`] pass.
async fn discard(body: Body) {
    let mut stream = body.into_data_stream();
    let _ = tokio::time::timeout(LINGER_TIME, async {
        let mut read = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len() as u64;
            if read > LINGER_BYTES {
                break;
            }
        }
    })
    .await;
}
