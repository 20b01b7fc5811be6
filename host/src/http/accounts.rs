//! Users and tokens over HTTP: `POST /token` (OAuth2 password flow), `GET /users/me`, the
//! administrators' `/users`, and each user's API tokens under `/tokens`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::require_admin;
use super::extract::ApiJson;
use crate::auth::{
    self, Identity, IssueError, PasswordsBusy, Role, USER_NAME_RULE, is_valid_user_name, secrets,
};
use crate::problem::{Problem, ProblemKind};
use crate::store::Removal;

/// The public route: logging in.
pub(super) fn public_router() -> Router<AppState> {
    Router::new().route("/token", post(login))
}

/// The routes that need a caller.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{name}", delete(remove_user))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
}

/// The OAuth2 password grant's form (RFC 6749 §4.3).
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    grant_type: Option<String>,
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Result<Json<Value>, Problem> {
    if form
        .grant_type
        .as_deref()
        .is_some_and(|grant| grant != "password")
    {
        return Err(Problem::new(
            ProblemKind::MalformedRequest,
            "grant_type must be \"password\"",
        )
        .with("error", "unsupported_grant_type"));
    }
    let attempt = state
        .logins
        .begin(&form.username, client.ip())
        .map_err(|wait| {
            Problem::new(
                ProblemKind::TooManyLogins,
                format!(
                    "too many failed logins for {:?} from this address",
                    form.username
                ),
            )
            .with("retryAfter", wait.as_secs().max(1))
        })?;
    let record = state
        .store
        .login_record(&form.username)
        .await
        .map_err(Problem::from)?;
    let (role, stored) = match record {
        Some((role, Some(hash))) => (Some(role), hash),
        _ => (None, secrets::UNMATCHABLE_HASH.to_owned()),
    };
    let password = form.password;
    let matches = state
        .passwords
        .run(move || secrets::password_matches(&password, &stored))
        .await
        .map_err(passwords_busy)?;
    if !(matches && role.is_some()) {
        attempt.failed();
        return Err(
            Problem::new(ProblemKind::LoginFailed, "wrong user name or password")
                .with("error", "invalid_grant"),
        );
    }
    attempt.succeeded();
    let lifetime = state.token_lifetime;
    let (token, _) = issue_token(&state, &form.username, "login", Some(lifetime)).await?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
    })))
}

/// A new token for `user` (see `auth::issue_token`), its failures as problems.
async fn issue_token(
    state: &AppState,
    user: &str,
    label: &str,
    lifetime: Option<Duration>,
) -> Result<(String, Uuid), Problem> {
    auth::issue_token(&state.store, user, label, lifetime)
        .await
        .map_err(|error| match error {
            IssueError::Store(store) => Problem::from(store),
            IssueError::Random(_) => Problem::internal(error),
        })
}

async fn me(Extension(caller): Extension<Identity>) -> Json<Value> {
    Json(json!({"name": caller.user, "role": caller.role}))
}

async fn list_users(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
) -> Result<Json<Value>, Problem> {
    require_admin(&caller)?;
    let users = state.store.users().await.map_err(Problem::from)?;
    Ok(Json(json!({ "users": users })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    #[serde(default = "default_role")]
    role: Role,
    #[serde(default)]
    password: Option<String>,
}

fn default_role() -> Role {
    Role::User
}

async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    ApiJson(user): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    require_admin(&caller)?;
    check_user_name(&user.name)?;
    let hash = match user.password {
        Some(password) => Some(hash_password(&state, password).await?),
        None => None,
    };
    let created = state
        .store
        .create_user(&user.name, user.role, hash.as_deref())
        .await
        .map_err(Problem::from)?;
    if !created {
        return Err(Problem::new(
            ProblemKind::UserExists,
            format!("{:?} exists", user.name),
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": user.name, "role": user.role})),
    ))
}

/// Hashes a password on the password threads (Argon2 takes tens of milliseconds and 19 MiB on
/// purpose).
async fn hash_password(state: &AppState, password: String) -> Result<String, Problem> {
    let hashed = state
        .passwords
        .run(move || secrets::hash_password(&password))
        .await
        .map_err(passwords_busy)?;
    match hashed {
        Err(error @ secrets::HashError::TooShort) => Err(Problem::new(
            ProblemKind::MalformedRequest,
            error.to_string(),
        )
        .with("pointer", "/password")),
        other => other.map_err(Problem::internal),
    }
}

/// Every password thread is busy and the line is full: retry in a moment.
fn passwords_busy(busy: PasswordsBusy) -> Problem {
    Problem::new(
        ProblemKind::ServerBusy,
        format!("{busy}; retry after the Retry-After delay"),
    )
}

fn check_user_name(name: &str) -> Result<(), Problem> {
    if !is_valid_user_name(name) {
        return Err(
            Problem::new(ProblemKind::MalformedRequest, USER_NAME_RULE).with("pointer", "/name")
        );
    }
    Ok(())
}

async fn remove_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    require_admin(&caller)?;
    let removal = state
        .store
        .remove_user(&name)
        .await
        .map_err(Problem::from)?;
    match removal {
        Removal::Removed => {}
        Removal::NoSuchUser => {
            return Err(Problem::new(
                ProblemKind::NoSuchUser,
                format!("no user {name:?}"),
            ));
        }
        Removal::LastAdministrator => {
            return Err(Problem::new(
                ProblemKind::MalformedRequest,
                format!("{name} is the only administrator: make another one first"),
            ));
        }
    }
    state.auth.forget_all();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewToken {
    #[serde(default)]
    label: String,
    /// Seconds until it expires (1 to [`MAX_TOKEN_SECONDS`]); never when absent.
    #[serde(default, deserialize_with = "token_seconds")]
    expires_in: Option<u64>,
}

/// The longest lifetime a token may be given by `expiresIn`: ten years.
const MAX_TOKEN_SECONDS: u64 = 10 * 31_557_600;

/// `expiresIn`: a whole number of seconds from 1 to [`MAX_TOKEN_SECONDS`] (a lifetime past it
/// would be read as "never", which is what leaving it out says).
fn token_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let seconds = Option::<u64>::deserialize(deserializer)?;
    match seconds {
        Some(seconds) if !(1..=MAX_TOKEN_SECONDS).contains(&seconds) => {
            Err(serde::de::Error::custom(format!(
                "{seconds} is not a lifetime from 1 to {MAX_TOKEN_SECONDS} seconds (ten years); leave expiresIn out for a token that never expires"
            )))
        }
        seconds => Ok(seconds),
    }
}

async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    ApiJson(request): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let lifetime = request.expires_in.map(Duration::from_secs);
    let (token, id) = issue_token(&state, &caller.user, &request.label, lifetime).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "token": token, "user": caller.user, "expiresIn": request.expires_in}),
        ),
    ))
}

async fn list_tokens(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
) -> Result<Json<Value>, Problem> {
    let tokens = state
        .store
        .tokens(Some(&caller.user))
        .await
        .map_err(Problem::from)?;
    Ok(Json(json!({ "tokens": tokens })))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let missing = || {
        Problem::new(
            ProblemKind::NoSuchToken,
            format!("no live token {id:?} of yours"),
        )
    };
    let token: Uuid = id.parse().map_err(|_| missing())?;
    let owner = (caller.role != Role::Admin).then_some(caller.user.as_str());
    state
        .store
        .revoke_token(token, owner)
        .await
        .map_err(Problem::from)?
        .ok_or_else(missing)?;
    state.auth.forget_all();
    Ok(StatusCode::NO_CONTENT)
}
