//! Authentication at the door: every protected route runs behind `authenticate`, which puts
//! the caller's `Identity` in the request; `require_admin` guards what only administrators do.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::auth::{AuthError, Identity, Role};
use crate::problem::{Problem, ProblemKind};

/// Identifies the caller from `Authorization: Bearer`, or answers 401 (503 when the identity
/// cannot be checked now).
pub(super) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let identity = state.auth.identify(header).await.map_err(auth_problem)?;
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
}

fn auth_problem(error: AuthError) -> Problem {
    let kind = match error {
        AuthError::Missing | AuthError::Invalid => ProblemKind::Unauthorized,
        AuthError::Unavailable(_) => ProblemKind::ServerBusy,
    };
    Problem::new(kind, error.to_string())
}

/// Answers 403 unless the caller is an administrator.
pub(super) fn require_admin(caller: &Identity) -> Result<(), Problem> {
    if caller.role == Role::Admin {
        return Ok(());
    }
    Err(Problem::new(
        ProblemKind::Forbidden,
        format!("{} is not an administrator", caller.user),
    ))
}
