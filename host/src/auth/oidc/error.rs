//! How verifying a bearer token can fail: messages safe to show a client (no token contents, no
//! key material), with the provider's own failures kept apart for the logs.

use std::sync::Arc;

use axum::http::StatusCode;
use jsonwebtoken::errors::ErrorKind;

/// Why a token was not turned into an identity.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The settings cannot work (found by `OidcVerifier::new`): a server misconfiguration.
    #[error("OpenID Connect settings: {0}")]
    InvalidSettings(String),
    /// The identity provider's keys could not be had: the server should answer 503. The cause
    /// (logged, never shown) names the URL and what went wrong.
    #[error("the identity provider could not be reached")]
    ProviderUnavailable(#[source] Arc<ProviderFailure>),
    /// The token is not acceptable: the server should answer 401.
    #[error(transparent)]
    InvalidToken(#[from] TokenRejection),
}

impl OidcError {
    /// The HTTP status this failure calls for.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidSettings(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ProviderUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        }
    }
}

/// What is wrong with a token; each message may be sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not three base64url parts with a JSON header and JSON claims, or `alg: none`.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// HMAC, an algorithm not in the settings, or one that does not fit the key.
    #[error("the token is signed with an algorithm this server does not accept")]
    DisallowedAlgorithm,
    /// No key of the issuer's JWKS has the token's `kid`, even after fetching it again.
    #[error("the token names no signing key of the identity provider")]
    UnknownKey,
    /// The signature does not match the key.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is still to come (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not name this server's audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// A registered claim the server requires (`exp`, `iss`, `aud`) is absent.
    #[error("the token has no {0} claim")]
    MissingClaim(String),
    /// The user claim is absent, not a string, or empty.
    #[error("the token names no user")]
    MissingUser,
}

impl From<jsonwebtoken::errors::Error> for TokenRejection {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim.clone()),
            ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
                Self::DisallowedAlgorithm
            }
            _ => Self::Malformed,
        }
    }
}

/// Why the provider's discovery document or keys could not be had; for the logs.
#[derive(Debug, thiserror::Error)]
pub enum ProviderFailure {
    /// No answer: refused, timed out, TLS failed, or the body broke off.
    #[error("GET {url}: {}", root_cause(source))]
    Request {
        /// What was asked for.
        url: String,
        /// What reqwest said.
        source: reqwest::Error,
    },
    /// An answer other than 2xx.
    #[error("GET {url}: status {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// What the provider answered.
        status: StatusCode,
    },
    /// A body larger than any discovery document or key set should be.
    #[error("GET {url}: the answer exceeds {limit} bytes")]
    TooLarge {
        /// What was asked for.
        url: String,
        /// The most read.
        limit: usize,
    },
    /// A body that is not the expected JSON document.
    #[error("GET {url}: not the expected JSON document: {source}")]
    Unreadable {
        /// What was asked for.
        url: String,
        /// Where the JSON went wrong.
        source: serde_json::Error,
    },
    /// A discovery document naming another issuer or an unusable `jwks_uri`.
    #[error("discovery document: {0}")]
    Discovery(String),
}

/// The innermost cause: "Connection refused (os error 111)" rather than reqwest's "error
/// sending request for url (…)", which says nothing the URL does not.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_status() {
        let unavailable = OidcError::ProviderUnavailable(Arc::new(ProviderFailure::Discovery(
            "issuer mismatch".to_owned(),
        )));
        assert_eq!(unavailable.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let invalid = OidcError::from(TokenRejection::Expired);
        assert_eq!(invalid.status_code(), StatusCode::UNAUTHORIZED);
        assert_eq!(invalid.to_string(), "the token has expired");
    }

    #[test]
    fn the_cause_of_unavailability_is_not_in_the_message() {
        let failure = ProviderFailure::Discovery("secret detail".to_owned());
        let error = OidcError::ProviderUnavailable(Arc::new(failure));
        assert_eq!(
            error.to_string(),
            "the identity provider could not be reached"
        );
    }

    #[test]
    fn jsonwebtoken_errors_map_to_rejections() {
        let expired = jsonwebtoken::errors::Error::from(ErrorKind::ExpiredSignature);
        assert_eq!(TokenRejection::from(expired), TokenRejection::Expired);
        let base64 = jsonwebtoken::errors::Error::from(ErrorKind::InvalidToken);
        assert_eq!(TokenRejection::from(base64), TokenRejection::Malformed);
    }
}
