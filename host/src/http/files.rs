//! `POST /files` (streamed uploads), `GET /files/{id}`, and the files of a job's workspace:
//! `GET /jobs/{id}/files` (the tree) and `GET /jobs/{id}/files/{path}` (streamed, with Range).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::AppState;
use super::extract::ApiQuery;
use super::jobs::find_job;
use crate::auth::Identity;
use crate::files::{UploadError, WorkspacePath, list_tree, open_inside};
use crate::problem::{Problem, ProblemKind};
use crate::store::JobRecord;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/files", post(upload))
        .route("/files/{id}", get(upload_info))
        .route("/jobs/{id}/files", get(job_files))
        .route("/jobs/{id}/files/{*path}", get(job_file))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// The file's name, for the record (default "upload").
    name: Option<String>,
}

async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    body: Body,
) -> Result<Response, Problem> {
    let name = query.name.unwrap_or_else(|| "upload".into());
    let info = state
        .uploads
        .save(&caller.user, name, body.into_data_stream())
        .await
        .map_err(upload_problem)?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// The problem a failed upload is reported as.
pub(super) fn upload_problem(error: UploadError) -> Problem {
    match error {
        UploadError::TooLarge(_) => Problem::new(ProblemKind::PayloadTooLarge, error.to_string()),
        UploadError::Interrupted(_)
        | UploadError::MissingChunk(_)
        | UploadError::TooManyChunks(_) => {
            Problem::new(ProblemKind::MalformedRequest, error.to_string())
        }
        UploadError::Io(ref io) => Problem::of_io(io, &error),
    }
}

async fn upload_info(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let missing = || {
        Problem::new(
            ProblemKind::NotFound,
            format!("no uploaded file has the id {id:?}"),
        )
    };
    let id = id.parse().map_err(|_| missing())?;
    let info = state
        .uploads
        .info(id)
        .await
        .filter(|info| caller.may_access(&info.owner))
        .ok_or_else(missing)?;
    Ok(Json(info).into_response())
}

async fn job_files(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let job = find_job(&state, &caller, &id).await?;
    let dir = state.scheduler.workspace_of(job.id);
    let files = tokio::task::spawn_blocking(move || list_tree(&dir))
        .await
        .map_err(Problem::internal)?;
    Ok(Json(json!({"jobID": job.id, "files": files})).into_response())
}

async fn job_file(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path((id, path)): Path<(String, String)>,
    request: Request,
) -> Result<Response, Problem> {
    let job = find_job(&state, &caller, &id).await?;
    let path = WorkspacePath::parse(&path)
        .map_err(|error| Problem::new(ProblemKind::MalformedRequest, error.to_string()))?;
    serve_workspace_file(&state, &job, path, &id, request).await
}

/// Streams file `path` of `job`'s workspace (`shown_id` names the job in the 404), with Range
/// support; never through a symbolic link.
pub(super) async fn serve_workspace_file(
    state: &AppState,
    job: &JobRecord,
    path: WorkspacePath,
    shown_id: &str,
    request: Request,
) -> Result<Response, Problem> {
    let dir = state.scheduler.workspace_of(job.id);
    let inside = path.clone();
    let file = tokio::task::spawn_blocking(move || open_inside(&dir, &inside))
        .await
        .map_err(Problem::internal)?
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::NotFound,
                format!("job {shown_id} has no file {path}"),
            )
        })?;
    let served = ServeFile::new(file)
        .oneshot(request)
        .await
        .map_err(Problem::internal)?;
    Ok(served.map(Body::new).into_response())
}
