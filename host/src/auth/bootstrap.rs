//! The first run: with no user at all, the server creates the administrator `admin` with one
//! API token — the configured one, or a new one that is shown once.

use super::{Role, secrets};
use crate::store::{JobStore, StoreError};

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
) -> Result<Bootstrap, BootstrapError> {
    if store.has_users().await? {
        return Ok(Bootstrap::AlreadySetUp);
    }
    if !store.create_user(FIRST_ADMIN, Role::Admin, None).await? {
        return Ok(Bootstrap::AlreadySetUp);
    }
    let (token, outcome) = match configured {
        Some(token) => (token.to_owned(), Bootstrap::ConfiguredToken),
        None => {
            let token = secrets::new_token()?;
            (token.clone(), Bootstrap::NewToken(token))
        }
    };
    store
        .insert_token(FIRST_ADMIN, &secrets::token_hash(&token), "bootstrap", None)
        .await?;
    Ok(outcome)
}

/// Why the first run could not set up its administrator.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No randomness for a token.
    #[error("no random bytes for a token: {0}")]
    Random(#[from] getrandom::Error),
}
