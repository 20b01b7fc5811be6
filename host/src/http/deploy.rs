//! OGC API – Processes Part 2 (deploy, replace, undeploy) with WebAssembly components as the
//! package: `POST /processes`, `PUT /processes/{id}` and `DELETE /processes/{id}`.

use axum::body::{Body, BodyDataStream};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use uuid::Uuid;

use super::AppState;
use super::auth::require_admin;
use super::extract::media_type;
use super::files::upload_problem;
use super::processes::{require_ready, summary};
use crate::auth::Identity;
use crate::files::stream_to_file;
use crate::problem::{Problem, ProblemKind};
use crate::registry::{DeployError, Deployed, ProcessRef};

/// Media types a module may be sent as.
const MODULE_MEDIA_TYPES: [&str; 2] = ["application/wasm", "application/octet-stream"];

/// `POST /processes`: 201 and the process summary when deployed, 200 when these exact bytes
/// already were.
/// The deployment routes, merged beside the process list and description of `processes.rs`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/processes", post(deploy))
        .route("/processes/{id}", put(replace).delete(undeploy))
}

async fn deploy(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let deployed = receive(&state, &caller, &headers, body, None).await?;
    let status = if deployed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let discipline = &deployed.process.discipline;
    let location = format!("/processes/{}@{}", discipline.name, discipline.version);
    let document = summary(&state.registry.catalog(), &deployed.process);
    Ok((status, [(header::LOCATION, location)], Json(document)).into_response())
}

/// `PUT /processes/{id}`: serves the module sent, then undeploys what `{id}` names (every
/// version, or the one pinned). 204.
async fn replace(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, Problem> {
    let reference = ProcessRef::parse(&id);
    receive(&state, &caller, &headers, body, Some(reference)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /processes/{id}`: stops serving what `{id}` names; jobs already running finish on it,
/// queued ones fail as module-unavailable. 204.
async fn undeploy(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    require_admin(&caller)?;
    require_ready(&state)?;
    let reference = ProcessRef::parse(&id);
    let registry = state.registry.clone();
    tokio::task::spawn_blocking(move || registry.undeploy(&reference))
        .await
        .map_err(Problem::internal)?
        .map_err(deploy_problem)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Streams the body into the staging directory, then validates and serves it off the runtime.
async fn receive(
    state: &AppState,
    caller: &Identity,
    headers: &HeaderMap,
    body: Body,
    replacing: Option<ProcessRef>,
) -> Result<Deployed, Problem> {
    let admitted = require_admin(caller)
        .and_then(|()| require_ready(state))
        .and_then(|()| require_module_media_type(headers));
    let mut body = body.into_data_stream();
    if let Err(problem) = admitted {
        drain(&mut body, state.max_module_bytes).await;
        return Err(problem);
    }
    let staging = state.registry.staging_dir();
    tokio::fs::create_dir_all(&staging)
        .await
        .map_err(Problem::internal)?;
    let staged = staging.join(format!("{}.partial", Uuid::new_v4()));
    if let Err(error) = stream_to_file(&staged, &mut body, state.max_module_bytes).await {
        let _ = tokio::fs::remove_file(&staged).await;
        drain(&mut body, state.max_module_bytes).await;
        return Err(upload_problem(error));
    }
    let _compiling = state
        .registry
        .compile_permits
        .acquire()
        .await
        .map_err(Problem::internal)?;
    let registry = state.registry.clone();
    tokio::task::spawn_blocking(move || registry.deploy(&staged, replacing.as_ref()))
        .await
        .map_err(Problem::internal)?
        .map_err(deploy_problem)
}

/// Reads and discards the rest of a refused body (at most `limit` more bytes) before the
/// refusal is sent, so that the client reads the problem instead of a connection closed under
/// its upload.
async fn drain(body: &mut BodyDataStream, limit: u64) {
    let mut read = 0u64;
    while let Some(Ok(chunk)) = body.next().await {
        read += chunk.len() as u64;
        if read > limit {
            break;
        }
    }
}

fn require_module_media_type(headers: &HeaderMap) -> Result<(), Problem> {
    match media_type(headers) {
        Some(media_type) if MODULE_MEDIA_TYPES.contains(&media_type.as_str()) => Ok(()),
        other => Err(Problem::new(
            ProblemKind::UnsupportedMediaType,
            format!(
                "a module is sent as application/wasm, not {}",
                other.as_deref().unwrap_or("a body without Content-Type")
            ),
        )),
    }
}

/// The problem a refused deployment is reported as.
fn deploy_problem(error: DeployError) -> Problem {
    let kind = match error {
        DeployError::Rejected(rejection) => return Problem::from(rejection),
        DeployError::Conflict(_) => ProblemKind::DuplicatedProcess,
        DeployError::NoSuchProcess(_) => ProblemKind::NoSuchProcess,
        DeployError::Mismatch { .. } => ProblemKind::ProcessMismatch,
        DeployError::Io(ref io) => return Problem::of_io(io, &error),
    };
    Problem::new(kind, error.to_string())
}
