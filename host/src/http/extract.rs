//! A JSON body extractor whose every rejection is a problem document with a JSON pointer,
//! and a query-string extractor whose rejections are problem documents too.

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use crate::files::caused_by_body_timeout;
use crate::problem::{Problem, ProblemKind};

/// `Json<T>` for this API: wrong media type → 415, too large → 413, not JSON → 400 with the
/// position, wrong shape → 400 with a JSON pointer to the member.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !has_json_content_type(&request) {
            return Err(Problem::new(
                ProblemKind::UnsupportedMediaType,
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::new(ProblemKind::PayloadTooLarge, rejection.body_text())
                } else if caused_by_body_timeout(&rejection) {
                    body_timed_out()
                } else {
                    Problem::new(ProblemKind::MalformedRequest, rejection.body_text())
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// `Query<T>` for this API: a query string of the wrong shape (an unknown parameter, a number
/// that is not one) is a `400 malformed-request` problem, not axum's plain-text answer.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(query)| ApiQuery(query))
            .map_err(|rejection| Problem::new(ProblemKind::MalformedRequest, rejection.body_text()))
    }
}

/// The problem a multipart form that fails to read is reported as: 413 when it passed the
/// body limit, else 400.
pub fn multipart_problem(error: &MultipartError) -> Problem {
    if caused_by_body_timeout(error) {
        return body_timed_out();
    }
    let kind = if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ProblemKind::PayloadTooLarge
    } else {
        ProblemKind::MalformedRequest
    };
    Problem::new(kind, error.body_text())
}

fn body_timed_out() -> Problem {
    Problem::new(
        ProblemKind::RequestTimeout,
        "the client paused longer than the body timeout (http.body_timeout)",
    )
}

/// Parses a JSON body into `T`, reporting where it fails.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let pointer = pointer_of(error.path());
        let inner = error.into_inner();
        if inner.is_data() {
            Problem::new(
                ProblemKind::MalformedRequest,
                format!("at {pointer:?}: {inner}"),
            )
            .with("pointer", pointer)
        } else {
            not_json(&inner)
        }
    })?;
    deserializer.end().map_err(|error| not_json(&error))?;
    Ok(value)
}

fn not_json(error: &serde_json::Error) -> Problem {
    Problem::new(
        ProblemKind::MalformedRequest,
        format!("the body is not valid JSON: {error}"),
    )
}

/// The media type of `headers`' `Content-Type`, lowercased, without its parameters.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next().unwrap_or_default();
    Some(essence.trim().to_ascii_lowercase())
}

/// Whether `headers` declare the media type `expected` (lowercase).
pub fn has_media_type(headers: &HeaderMap, expected: &str) -> bool {
    media_type(headers).is_some_and(|found| found == expected)
}

fn has_json_content_type(request: &Request) -> bool {
    media_type(request.headers()).is_some_and(|essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// A serde path as an RFC 6901 JSON pointer.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}
