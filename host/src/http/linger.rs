//! A lingering close: a request body its handler dropped unread (a refusal answered before the
//! body was read: too large, wrong type, no room) is read and discarded in the background, up
//! to a bound, so that a client still sending receives the answer instead of a connection
//! reset that loses it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// The most bytes of an abandoned body read and discarded.
const LINGER_BYTES: u64 = 16 << 20;
/// The longest an abandoned body is read for.
const LINGER_TIME: Duration = Duration::from_secs(10);

/// `request` with a body that lingers when dropped unread. A request that declares no body (no
/// `Content-Length` nor `Transfer-Encoding`, or a length of 0), as most do, is left as it is:
/// the body timeout's wrapper hides that its body is empty.
pub(super) fn lingering(request: Request) -> Request {
    if !declares_a_body(request.headers()) {
        return request;
    }
    request.map(|body| {
        Body::new(Lingering {
            body: Some(body),
            ended: false,
        })
    })
}

fn declares_a_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers.get(header::CONTENT_LENGTH).is_some_and(|length| {
        let length = length
            .to_str()
            .ok()
            .and_then(|length| length.trim().parse::<u64>().ok());
        length != Some(0)
    })
}

/// A body that, dropped before its end, has the rest read and discarded in the background.
struct Lingering {
    body: Option<Body>,
    /// Whether the body was read to its end (nothing is left to discard).
    ended: bool,
}

impl HttpBody for Lingering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = match self.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(context),
            None => Poll::Ready(None),
        };
        if matches!(polled, Poll::Ready(None)) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(body) = self.body.take() else {
            return;
        };
        if self.ended || HttpBody::is_end_stream(&body) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_that_declare_a_body_linger() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, value.parse().expect("a value"));
            }
            headers
        };
        assert!(!declares_a_body(&headers(&[])));
        assert!(!declares_a_body(&headers(&[("content-length", "0")])));
        assert!(declares_a_body(&headers(&[("content-length", "12")])));
        assert!(declares_a_body(&headers(&[(
            "transfer-encoding",
            "chunked"
        )])));
        assert!(declares_a_body(&headers(&[("content-length", "x")])));
    }
}
