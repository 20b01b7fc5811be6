//! Issuing API tokens: the one place a token is made and recorded (by its hash), for logins,
//! the `/tokens` route, the command line and the first run.

use std::time::Duration;

use uuid::Uuid;

use super::secrets;
use crate::store::{JobStore, StoreError, now_micros};

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No randomness for a token.
    #[error("no random bytes for a token: {0}")]
    Random(#[from] getrandom::Error),
}

/// A new random token for `user`, valid for `lifetime` (forever with `None`): the secret, to
/// show once, and its public id.
pub async fn issue_token(
    store: &JobStore,
    user: &str,
    label: &str,
    lifetime: Option<Duration>,
) -> Result<(String, Uuid), IssueError> {
    let token = secrets::new_token()?;
    let id = record_token(store, user, &token, label, lifetime).await?;
    Ok((token, id))
}

/// Records `token` (by its hash) for `user`; returns its public id.
pub async fn record_token(
    store: &JobStore,
    user: &str,
    token: &str,
    label: &str,
    lifetime: Option<Duration>,
) -> Result<Uuid, StoreError> {
    let expires_at = lifetime.map(|lifetime| {
        now_micros().saturating_add(i64::try_from(lifetime.as_micros()).unwrap_or(i64::MAX))
    });
    store
        .insert_token(user, &secrets::token_hash(token), label, expires_at)
        .await
}
