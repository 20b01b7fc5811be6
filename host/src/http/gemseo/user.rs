//! `GET /v1/user/me/`: who the caller is, as gemseo-http describes a user (never a password
//! hash, unlike the reference server).

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::http::AppState;
use crate::problem::Problem;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/user/me/", get(me))
        .route("/v1/user/me", get(me))
}

async fn me(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
) -> Result<Json<Value>, Problem> {
    let id = user_id(&state, &caller.user).await?;
    Ok(Json(json!({
        "id": id,
        "username": caller.user,
        "email": "",
        "full_name": "",
        "disabled": false,
    })))
}

/// The integer id gemseo-http gives a user: the row number of the user, or 0 for a user known
/// only to an identity provider.
pub(super) async fn user_id(state: &AppState, name: &str) -> Result<i64, Problem> {
    let number = state.store.user_number(name).await.map_err(Problem::from)?;
    Ok(number.unwrap_or(0))
}

/// User numbers looked up once per name, for documents listing many owners' things.
pub(super) struct UserIds<'a> {
    state: &'a AppState,
    known: HashMap<String, i64>,
}

impl<'a> UserIds<'a> {
    pub(super) fn new(state: &'a AppState) -> Self {
        Self {
            state,
            known: HashMap::new(),
        }
    }

    /// The number of user `name`.
    pub(super) async fn of(&mut self, name: &str) -> Result<i64, Problem> {
        if let Some(id) = self.known.get(name) {
            return Ok(*id);
        }
        let id = user_id(self.state, name).await?;
        self.known.insert(name.to_owned(), id);
        Ok(id)
    }
}
