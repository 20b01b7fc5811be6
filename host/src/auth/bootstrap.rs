//! The first run: with no user at all, the server creates the administrator `admin` with one
//! API token — the configured one, or a new one that is shown once.

use super::{IssueError, Role, issue_token, record_token};
use crate::store::JobStore;

/// The name of the first administrator.
pub const FIRST_ADMIN: &str = "admin";

/// What the first run did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Users exist: nothing was done.
    AlreadySetUp,
    /// `admin` was created with the configured token.
    ConfiguredToken,
    /// `admin` was created with this new token, to show once.
    NewToken(String),
}

/// Creates `admin` and its token when no user exists.
pub async fn bootstrap(
    store: &JobStore,
    configured: Option<&str>,
) -> Result<Bootstrap, IssueError> {
    if store.has_users().await? {
        return Ok(Bootstrap::AlreadySetUp);
    }
    if !store.create_user(FIRST_ADMIN, Role::Admin, None).await? {
        return Ok(Bootstrap::AlreadySetUp);
    }
    match configured {
        Some(token) => {
            record_token(store, FIRST_ADMIN, token, "bootstrap", None).await?;
            Ok(Bootstrap::ConfiguredToken)
        }
        None => {
            let (token, _) = issue_token(store, FIRST_ADMIN, "bootstrap", None).await?;
            Ok(Bootstrap::NewToken(token))
        }
    }
}
