//! Hardening shared by every answer: security headers, and the small body limit of the routes
//! that take small documents (logins, users, tokens).

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest body of a login or an account document.
pub(super) const ACCOUNT_BODY_BYTES: usize = 64 << 10;

/// Headers every answer carries: no sniffing, no framing, no referrer, no caching of API
/// documents (they may hold results or tokens), and a content policy that loads nothing.
const HEADERS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// Adds the security headers to every answer of `router` (without overriding a handler's own
/// `Cache-Control`).
pub(super) fn with_security_headers<S: Clone + Send + Sync + 'static>(
    mut router: Router<S>,
) -> Router<S> {
    for (name, value) in HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}
