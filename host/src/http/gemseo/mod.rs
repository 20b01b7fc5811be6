//! The gemseo-http 3 face of the API: GEMSEO's unmodified `HTTPDiscipline` client runs studies
//! on the wasm disciplines through the same registry, sandbox, store, auth and quotas as the
//! OGC routes. The protocol, and how it maps onto this server, is in
//! `docs/gemseo-http-protocol.md`.

mod disciplines;
mod document;
mod execute;
mod jobs;
mod uploads;
mod user;

use std::collections::HashMap;

use axum::Router;

use super::AppState;

/// Every `/v1/…` route (`POST /token` is the API's own, already what the client expects).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(disciplines::router())
        .merge(execute::router())
        .merge(jobs::router())
        .merge(uploads::router())
        .merge(user::router())
}

/// A query parameter read as a boolean the way the client writes them (Python's `True`,
/// `False`) and pydantic reads them; anything else is `false`.
fn query_flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|value| {
        matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on" | "t" | "y"
        )
    })
}
