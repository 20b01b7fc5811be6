//! `POST /files` (streamed uploads), `GET /files/{id}`, and the files of a job's workspace:
//! `GET /jobs/{id}/files` (the tree) and `GET /jobs/{id}/files/{path}` (streamed, with Range).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::extract::ApiQuery;
use super::jobs::find_job;
use super::{AppState, submit};
use crate::auth::Identity;
use crate::files::{UploadError, WorkspacePath, list_tree, open_inside};
use crate::problem::{Problem, ProblemKind};
use crate::quotas::QuotaValues;
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
    let room = upload_room(&state, &caller.user).await?;
    let info = state
        .uploads
        .save(
            &caller.user,
            name,
            body.into_data_stream(),
            room.bytes,
            room.owner_cap,
        )
        .await
        .map_err(|error| room.problem(error))?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// How much one upload of a caller may hold: the upload cap, or less when that is all the
/// caller's storage quota has left; and the most all their uploads may hold, which the bytes of
/// uploads running side by side are charged against as they arrive.
#[derive(Debug, Clone, Copy)]
pub(super) struct UploadRoom {
    /// The most bytes the upload may hold.
    pub bytes: u64,
    /// The most bytes all the caller's uploads may hold (`None`: no quota).
    pub owner_cap: Option<u64>,
    /// Whether the quota, not the upload cap, sets `bytes`.
    by_quota: bool,
}

impl UploadRoom {
    /// The problem a failed upload within this room is reported as: passing the quota is a
    /// `429 quota-exceeded`.
    pub(super) fn problem(&self, error: UploadError) -> Problem {
        match error {
            UploadError::TooLarge(_) if self.by_quota => {
                Problem::from(QuotaValues::upload_too_large(self.bytes))
            }
            error => upload_problem(error),
        }
    }
}

/// Refuses an upload of `owner`'s while the disk is short (507) or their storage quota is used
/// up (429); else the room it has.
pub(super) async fn upload_room(state: &AppState, owner: &str) -> Result<UploadRoom, Problem> {
    submit::require_free_disk(state)?;
    let cap = state.uploads.max_bytes();
    let Some(owner_cap) = submit::uploads_cap(state, owner).await? else {
        return Ok(UploadRoom {
            bytes: cap,
            owner_cap: None,
            by_quota: false,
        });
    };
    let left = owner_cap.saturating_sub(state.uploads.bytes_of(owner));
    if left == 0 {
        return Err(Problem::from(QuotaValues::upload_too_large(0)));
    }
    Ok(UploadRoom {
        bytes: left.min(cap),
        owner_cap: Some(owner_cap),
        by_quota: left < cap,
    })
}

/// The problem a failed upload is reported as.
pub(super) fn upload_problem(error: UploadError) -> Problem {
    match error {
        UploadError::TooLarge(_) | UploadError::BodyTooLarge(_) => {
            Problem::new(ProblemKind::PayloadTooLarge, error.to_string())
        }
        UploadError::TimedOut => Problem::new(ProblemKind::RequestTimeout, error.to_string()),
        UploadError::OverQuota => Problem::from(QuotaValues::upload_too_large(0)),
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
        .oneshot(single_range_only(request))
        .await
        .map_err(Problem::internal)?;
    Ok(served.map(Body::new).into_response())
}

/// `request` without its `Range` when it asks for several ranges: the file server answers one
/// range only (else a bare 416, even for satisfiable ranges), and RFC 9110 §14.2 lets a server
/// ignore `Range` and send the whole file.
fn single_range_only(mut request: Request) -> Request {
    let several = request
        .headers()
        .get(header::RANGE)
        .is_some_and(|range| range.as_bytes().contains(&b','));
    if several {
        request.headers_mut().remove(header::RANGE);
    }
    request
}
