//! Users and tokens in SQL: the store side of authentication.

use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::write::WriteTransaction;
use super::{JobStore, StoreError, now_micros};
use crate::identity::Role;

/// A user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// The user's name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Whether the user can log in with a password.
    pub has_password: bool,
    /// Unix microseconds.
    pub created_at: i64,
}

/// A token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// Its public id.
    pub id: Uuid,
    /// Its user.
    pub user: String,
    /// A label for people.
    pub label: String,
    /// Unix microseconds.
    pub created_at: i64,
    /// Unix microseconds, if it expires.
    pub expires_at: Option<i64>,
    /// Unix microseconds, if revoked.
    pub revoked_at: Option<i64>,
}

/// What removing a user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The user and their tokens are gone.
    Removed,
    /// There is no such user.
    NoSuchUser,
    /// The user is the only administrator: nothing was removed.
    LastAdministrator,
}

/// A user a live token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The user's name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// When the token expires (Unix microseconds).
    pub expires_at: Option<i64>,
}

impl JobStore {
    /// Creates a user; `Ok(false)` when the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role_word(role))
        .bind(password_hash)
        .bind(now_micros())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, role, password_hash IS NOT NULL AS has_password, created_at FROM users ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UserRecord {
                    name: row.try_get("name")?,
                    role: role_of(&row.try_get::<String, _>("role")?)?,
                    has_password: row.try_get("has_password")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Whether any user exists.
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(any.is_some())
    }

    /// Removes a user and their tokens; `Ok(Removal::NoSuchUser)` when there is no such user,
    /// `Ok(Removal::LastAdministrator)` (and nothing removed) when they are the only one.
    pub async fn remove_user(&self, name: &str) -> Result<Removal, StoreError> {
        let mut transaction = WriteTransaction::begin(self.writer()).await?;
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE name = ?1")
            .bind(name)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(role) = role else {
            transaction.rollback().await?;
            return Ok(Removal::NoSuchUser);
        };
        if role == "admin" {
            let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
                .fetch_one(&mut *transaction)
                .await?;
            if admins <= 1 {
                transaction.rollback().await?;
                return Ok(Removal::LastAdministrator);
            }
        }
        sqlx::query("DELETE FROM tokens WHERE user_name = ?1")
            .bind(name)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM users WHERE name = ?1")
            .bind(name)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(Removal::Removed)
    }

    /// Sets a user's password hash; `Ok(false)` when there is no such user.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ?2 WHERE name = ?1")
            .bind(name)
            .bind(password_hash)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A user's role and password hash, for a login.
    pub async fn login_record(
        &self,
        name: &str,
    ) -> Result<Option<(Role, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT role, password_hash FROM users WHERE name = ?1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok((
                role_of(&row.try_get::<String, _>("role")?)?,
                row.try_get("password_hash")?,
            ))
        })
        .transpose()
    }

    /// Records a token (by its hash) for a user; returns its public id.
    pub async fn insert_token(
        &self,
        user: &str,
        hash: &str,
        label: &str,
        expires_at: Option<i64>,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO tokens (id, user_name, hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(id.to_string())
        .bind(user)
        .bind(hash)
        .bind(label)
        .bind(now_micros())
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(id)
    }

    /// The user of a live token (not revoked, not expired), by the token's hash.
    pub async fn token_owner(&self, hash: &str) -> Result<Option<TokenOwner>, StoreError> {
        let row = sqlx::query(
            "SELECT users.name, users.role, tokens.expires_at FROM tokens \
             JOIN users ON users.name = tokens.user_name \
             WHERE tokens.hash = ?1 AND tokens.revoked_at IS NULL \
             AND (tokens.expires_at IS NULL OR tokens.expires_at > ?2)",
        )
        .bind(hash)
        .bind(now_micros())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(TokenOwner {
                user: row.try_get("name")?,
                role: role_of(&row.try_get::<String, _>("role")?)?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// A user's tokens (every user's with `None`), newest first.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_name, label, created_at, expires_at, revoked_at FROM tokens \
             WHERE ?1 IS NULL OR user_name = ?1 ORDER BY created_at DESC",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(TokenRecord {
                    id: id
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("token id {id:?}")))?,
                    user: row.try_get("user_name")?,
                    label: row.try_get("label")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes a token of `user` (of anyone with `None`); returns its hash when it was live.
    pub async fn revoke_token(
        &self,
        id: Uuid,
        user: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let hash: Option<String> = sqlx::query_scalar(
            "UPDATE tokens SET revoked_at = ?3 WHERE id = ?1 AND (?2 IS NULL OR user_name = ?2) \
             AND revoked_at IS NULL RETURNING hash",
        )
        .bind(id.to_string())
        .bind(user)
        .bind(now_micros())
        .fetch_optional(self.writer())
        .await?;
        Ok(hash)
    }
}

fn role_word(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::User => "user",
    }
}

fn role_of(word: &str) -> Result<Role, StoreError> {
    match word {
        "admin" => Ok(Role::Admin),
        "user" => Ok(Role::User),
        other => Err(StoreError::Corrupt(format!("unknown role {other:?}"))),
    }
}
