//! Who is calling: identities and roles, and how a bearer token becomes an identity.
//!
//! Built-in users log in with a password (`POST /token`) or hold API tokens; both are random
//! tokens stored only as their SHA-256. In `open` mode (local development, loopback only) every
//! caller is the administrator `local`.

mod bootstrap;
mod logins;
mod passwords;
pub mod secrets;
mod tokens;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod oidc;

use serde::{Deserialize, Serialize};

pub use bootstrap::{Bootstrap, FIRST_ADMIN, bootstrap};
pub use logins::{ADDRESS_FACTOR, Attempt, LoginLimiter};
pub use passwords::{PASSWORD_LINE, PASSWORD_THREADS, PasswordWorkers, PasswordsBusy};
pub use tokens::{IssueError, issue_token, record_token};

pub use crate::identity::{Identity, Role};
use crate::store::{JobStore, StoreError, now_micros};

/// What a user name may be: 1 to 64 letters, digits, '.', '_', '-' or '@'.
pub const USER_NAME_RULE: &str = "a user name is 1 to 64 letters, digits, '.', '_', '-' or '@'";

/// Whether `name` follows [`USER_NAME_RULE`].
pub fn is_valid_user_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    !name.is_empty() && name.len() <= 64 && name.chars().all(allowed)
}

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every call but the public ones carries `Authorization: Bearer <token>`.
    #[default]
    Tokens,
    /// No authentication: every caller is the administrator `local`. Loopback only.
    Open,
}

/// The user every caller is in open mode.
pub const OPEN_MODE_USER: &str = "local";

/// Why a caller could not be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("this call needs an `Authorization: Bearer <token>` header (POST /token gives one)")]
    Missing,
    /// The token is unknown, expired or revoked.
    #[error("the token is invalid, expired or revoked")]
    Invalid,
    /// The identity provider or the database could not be asked.
    #[error("the identity of the caller cannot be checked now: {0}")]
    Unavailable(String),
}

/// Turns bearer tokens into identities, remembering recent answers for `cache_ttl`: this
/// server's own tokens (`dsc_…`), and, when configured, JWTs of an OpenID Connect issuer.
pub struct Authenticator {
    mode: AuthMode,
    store: JobStore,
    oidc: Option<oidc::OidcVerifier>,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, CachedToken>>,
}

/// A token checked recently: whose it is, when it expires, when it was checked.
type CachedToken = (Identity, Option<i64>, Instant);

/// How many token answers are remembered at most.
const CACHED_TOKENS: usize = 10_000;

impl Authenticator {
    /// An authenticator over the users and tokens of `store`, and the external provider.
    pub fn new(
        mode: AuthMode,
        store: JobStore,
        oidc: Option<oidc::OidcVerifier>,
        cache_ttl: Duration,
    ) -> Self {
        Self {
            mode,
            store,
            oidc,
            cache_ttl,
            cache: Mutex::default(),
        }
    }

    /// The mode callers are authenticated in.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The identity of the caller presenting `authorization` (the header's value).
    pub async fn identify(&self, authorization: Option<&str>) -> Result<Identity, AuthError> {
        if self.mode == AuthMode::Open {
            return Ok(Identity {
                user: OPEN_MODE_USER.into(),
                role: Role::Admin,
            });
        }
        let token = bearer(authorization).ok_or(AuthError::Missing)?;
        if let Some(provider) = &self.oidc
            && is_jwt_shaped(token)
        {
            return external(provider, token).await;
        }
        let hash = secrets::token_hash(token);
        if let Some(identity) = self.cached(&hash) {
            return Ok(identity);
        }
        let owner = self
            .store
            .token_owner(&hash)
            .await
            .map_err(unavailable)?
            .ok_or(AuthError::Invalid)?;
        let identity = Identity {
            user: owner.user,
            role: owner.role,
        };
        self.remember(hash, identity.clone(), owner.expires_at);
        Ok(identity)
    }

    /// Forgets what is remembered of a token (after it was revoked, or its user removed).
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    fn cached(&self, hash: &str) -> Option<Identity> {
        let cache = self.cache.lock().ok()?;
        let (identity, expires_at, cached_at) = cache.get(hash)?;
        let fresh = cached_at.elapsed() < self.cache_ttl;
        let live = expires_at.is_none_or(|expires_at| expires_at > now_micros());
        (fresh && live).then(|| identity.clone())
    }

    fn remember(&self, hash: String, identity: Identity, expires_at: Option<i64>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHED_TOKENS {
                cache.clear();
            }
            cache.insert(hash, (identity, expires_at, Instant::now()));
        }
    }
}

/// The prefix of users from the external provider: local names cannot hold ':', so the two
/// never meet (their jobs, files and quotas are apart).
pub const EXTERNAL_USER_PREFIX: &str = "oidc:";

/// The identity a JWT of the external provider carries.
async fn external(provider: &oidc::OidcVerifier, token: &str) -> Result<Identity, AuthError> {
    match provider.verify(token).await {
        Ok(identity) => Ok(Identity {
            user: format!("{EXTERNAL_USER_PREFIX}{}", identity.user),
            role: identity.role,
        }),
        Err(oidc::OidcError::InvalidToken(rejection)) => {
            tracing::debug!(%rejection, "an OpenID Connect token was refused");
            Err(AuthError::Invalid)
        }
        Err(error) => Err(AuthError::Unavailable(error.to_string())),
    }
}

/// Whether a token has a JWT's shape (three dot-separated parts); this server's own tokens have
/// no dot.
fn is_jwt_shaped(token: &str) -> bool {
    token.split('.').count() == 3
}

/// The token of an `Authorization: Bearer <token>` header value.
fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unavailable(error: StoreError) -> AuthError {
    tracing::error!(%error, "checking a token");
    AuthError::Unavailable("the user database is unavailable".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_header_carries_a_token() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn administrators_access_everything_users_only_their_own() {
        let alice = Identity {
            user: "alice".into(),
            role: Role::User,
        };
        let admin = Identity {
            user: "root".into(),
            role: Role::Admin,
        };
        assert!(alice.may_access("alice"));
        assert!(!alice.may_access("bob"));
        assert!(admin.may_access("bob"));
    }
}
