//! Every refusal is a problem document. A request head past the server's limits (URI, header
//! bytes, header fields) is refused before routing — well inside what the HTTP library reads, so
//! its bare, bodiless answers come only far beyond them; while the server drains, every new
//! request is refused with `503 shutting-down`; and an error response made without a problem
//! document (a framework's rejection, a file server's `416`) becomes one, keeping its headers.
//! A body a refusal left unread lingers (`linger.rs`), so that the client reads the refusal.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::extract::has_media_type;
use super::{AppState, linger};
use crate::problem::{Problem, ProblemKind};

/// The longest path and query string read.
pub const MAX_URI_BYTES: usize = 16 << 10;
/// The most bytes of header names and values read.
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// The most header fields read: below the HTTP library's own 100, whose stack-allocated
/// parsing a higher library limit would trade for an allocation per request.
pub const MAX_HEADER_FIELDS: usize = 64;
/// The most of a bodied error response without a problem document quoted as its detail.
const MAX_QUOTED_BYTES: usize = 1 << 10;

/// The middleware: refuses heads past the limits and requests while draining, and turns
/// every error response into a problem document.
pub(super) async fn refuse_as_problems(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let refusal =
        oversized_head(&request).or_else(|| state.drain.is_draining().then(shutting_down));
    let request = linger::lingering(request);
    if let Some(problem) = refusal {
        // The body, if any, lingers as the request is dropped: the client reads the refusal.
        drop(request);
        return close_after(problem.into_response());
    }
    as_problem(next.run(request).await).await
}

/// The problem a request head past the limits is refused with.
fn oversized_head(request: &Request) -> Option<Problem> {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |path| path.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(Problem::new(
            ProblemKind::UriTooLong,
            format!(
                "the path and query string hold {uri} bytes; the server reads at most {MAX_URI_BYTES}"
            ),
        ));
    }
    let headers = request.headers();
    if headers.len() > MAX_HEADER_FIELDS {
        return Some(Problem::new(
            ProblemKind::HeadersTooLarge,
            format!(
                "the request has {} header fields; the server reads at most {MAX_HEADER_FIELDS}",
                headers.len()
            ),
        ));
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (bytes > MAX_HEADER_BYTES).then(|| {
        Problem::new(
            ProblemKind::HeadersTooLarge,
            format!("the request's headers hold {bytes} bytes; the server reads at most {MAX_HEADER_BYTES}"),
        )
    })
}

/// The refusal of a request that arrives while the server drains.
pub(super) fn shutting_down() -> Problem {
    Problem::new(
        ProblemKind::ShuttingDown,
        "the server is shutting down; nothing of this request was run",
    )
    .with("retryAfter", 5)
}

/// Asks the client to close the connection after this answer.
fn close_after(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `response` itself when it is a success or already a problem document; else a problem
/// document of the same status (of its kind's status where the two differ), quoting a short
/// plain-text body as its detail and keeping the other headers (`Content-Range`, `Allow`, …).
async fn as_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // A server error's own words may name internals: only a client error's are quoted.
    let quoted = if status.is_client_error() && is_plain_text(&parts.headers) {
        axum::body::to_bytes(body, MAX_QUOTED_BYTES)
            .await
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let detail = if quoted.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase()
    } else {
        quoted
    };
    tracing::debug!(%status, %detail, "an error answer made without a problem document");
    let mut problem = Problem::new(ProblemKind::of_status(status), detail).into_response();
    let own: Vec<_> = problem.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        let replaced = *name == header::CONTENT_TYPE || *name == header::CONTENT_LENGTH;
        if !replaced && !own.contains(name) {
            problem.headers_mut().append(name, value.clone());
        }
    }
    problem
}

fn is_problem(headers: &HeaderMap) -> bool {
    has_media_type(headers, "application/problem+json")
}

fn is_plain_text(headers: &HeaderMap) -> bool {
    has_media_type(headers, "text/plain")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn a_plain_text_rejection_becomes_a_problem_quoting_it() {
        let rejection = (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response();
        let problem = as_problem(rejection).await;
        assert_eq!(problem.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(is_problem(problem.headers()));
        let body = body_of(problem).await;
        assert_eq!(body["type"], "/problems/payload-too-large");
        assert_eq!(body["detail"], "length limit exceeded");
    }

    #[tokio::test]
    async fn an_empty_416_keeps_its_content_range() {
        let refused = Response::builder()
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, "bytes */10")
            .body(Body::empty())
            .expect("a response");
        let problem = as_problem(refused).await;
        assert_eq!(problem.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(problem.headers()[header::CONTENT_RANGE], "bytes */10");
        let body = body_of(problem).await;
        assert_eq!(body["type"], "/problems/range-not-satisfiable");
        assert_eq!(body["detail"], "range not satisfiable");
    }

    #[tokio::test]
    async fn successes_and_problems_pass_unchanged() {
        let ok = as_problem((StatusCode::OK, "fine").into_response()).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let problem = Problem::new(ProblemKind::NoSuchJob, "no job 7").into_response();
        let passed = as_problem(problem).await;
        assert_eq!(body_of(passed).await["detail"], "no job 7");
    }

    #[test]
    fn heads_past_each_limit_are_refused() {
        let request = |uri: &str| Request::builder().uri(uri).body(Body::empty());
        let long = format!("/jobs?after={}", "9".repeat(MAX_URI_BYTES));
        let problem = oversized_head(&request(&long).expect("a request"));
        assert_eq!(problem.map(|p| p.kind()), Some(ProblemKind::UriTooLong));
        let mut many = request("/").expect("a request");
        for index in 0..=MAX_HEADER_FIELDS {
            let name = header::HeaderName::try_from(format!("x-{index}")).expect("a name");
            many.headers_mut()
                .insert(name, HeaderValue::from_static("1"));
        }
        let problem = oversized_head(&many);
        assert_eq!(
            problem.map(|p| p.kind()),
            Some(ProblemKind::HeadersTooLarge)
        );
        let mut large = request("/").expect("a request");
        let value = HeaderValue::try_from("v".repeat(MAX_HEADER_BYTES)).expect("a value");
        large.headers_mut().insert("x-large", value);
        let problem = oversized_head(&large);
        assert_eq!(
            problem.map(|p| p.kind()),
            Some(ProblemKind::HeadersTooLarge)
        );
        assert!(oversized_head(&request("/jobs?limit=10").expect("a request")).is_none());
    }
}
