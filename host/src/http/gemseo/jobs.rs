//! `GET /v1/job`, `GET /v1/job/{id}` (with long polling that holds no thread),
//! `GET /v1/job/{id}/files` (the workspace as a tree) and
//! `GET /v1/job/{id}/files/download?filename=` (confined to the workspace). Jobs are numbered
//! by their insertion order; a job another user owns is answered as one that does not exist.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};

use super::document::job_document;
use super::query_flag;
use super::user::{UserIds, user_id};
use crate::auth::{Identity, Role};
use crate::files::{WorkspacePath, list_tree};
use crate::http::AppState;
use crate::http::extract::ApiQuery;
use crate::http::files::serve_workspace_file;
use crate::http::jobs::{capped_wait, wait_for_end};
use crate::problem::{Problem, ProblemKind};
use crate::store::{JobFilter, JobRecord};

/// The most jobs `GET /v1/job` lists (the oldest first, as the reference server does).
const MAX_LISTED: u32 = 10_000;

/// How long a long poll waits when the client names no timeout (the reference's default).
const DEFAULT_POLL: Duration = Duration::from_secs(100);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/job", get(list))
        .route("/v1/job/{id}", get(status))
        .route("/v1/job/{id}/files", get(files))
        .route("/v1/job/{id}/files/download", get(download))
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
) -> Result<Json<Value>, Problem> {
    let filter = JobFilter {
        owner: (caller.role != Role::Admin).then(|| caller.user.clone()),
        limit: MAX_LISTED,
        ..JobFilter::default()
    };
    let jobs = state.store.list(&filter).await.map_err(Problem::from)?;
    let mut user_ids = UserIds::new(&state);
    let mut documents = Vec::with_capacity(jobs.len());
    for job in &jobs {
        documents.push(job_document(job, user_ids.of(&job.owner).await?));
    }
    Ok(Json(Value::Array(documents)))
}

async fn status(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let job = find_numbered_job(&state, &caller, &id).await?;
    let owner_name = job.owner.clone();
    let owner = user_id(&state, &owner_name);
    let job = async {
        if !query_flag(&query, "long_polling") || job.status.is_final() {
            return Ok(job);
        }
        let wait = poll_timeout(&query)?;
        wait_for_end(&state, &caller, &job.id.to_string(), wait).await
    };
    // The owner's number is looked up while the job runs on.
    let (job, owner) = tokio::join!(job, owner);
    Ok(Json(job_document(&job?, owner?)))
}

/// `long_polling_timeout` in seconds, a float (the client sends `10.0`), at most `MAX_WAIT`.
fn poll_timeout(query: &HashMap<String, String>) -> Result<Duration, Problem> {
    let Some(text) = query.get("long_polling_timeout") else {
        return Ok(DEFAULT_POLL);
    };
    text.parse::<f64>()
        .ok()
        .and_then(capped_wait)
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::MalformedRequest,
                format!("long_polling_timeout is {text:?}: it must be a number of seconds"),
            )
        })
}

/// Job number `id`, if the caller may see it; any other gets the same 404.
async fn find_numbered_job(
    state: &AppState,
    caller: &Identity,
    id: &str,
) -> Result<JobRecord, Problem> {
    let no_such_job = || Problem::new(ProblemKind::NoSuchJob, format!("no job has the id {id:?}"));
    let seq: i64 = id.parse().map_err(|_| no_such_job())?;
    state
        .store
        .get_by_seq(seq)
        .await
        .map_err(Problem::from)?
        .filter(|job| caller.may_access(&job.owner))
        .ok_or_else(no_such_job)
}

/// The workspace as a tree: a directory is an object of its entries, a file is `null`.
async fn files(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let job = find_numbered_job(&state, &caller, &id).await?;
    let dir = state.scheduler.workspace_of(job.id);
    let files = tokio::task::spawn_blocking(move || list_tree(&dir))
        .await
        .map_err(Problem::internal)?;
    let mut tree = Map::new();
    for file in files {
        insert_path(&mut tree, &file.path);
    }
    Ok(Json(Value::Object(tree)))
}

/// Adds `path` (with `/` separators) to `tree`, making the directories on the way.
fn insert_path(tree: &mut Map<String, Value>, path: &str) {
    let mut node = tree;
    let mut parts = path.split('/').filter(|part| !part.is_empty()).peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), Value::Null);
            return;
        }
        let child = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !child.is_object() {
            *child = Value::Object(Map::new());
        }
        let Value::Object(child) = child else { return };
        node = child;
    }
}

/// One file of the workspace, streamed; `filename` is a path inside it (a leading `/` names
/// the workspace root, as the guest sees it), never outside, never through a symbolic link.
async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
    request: Request,
) -> Result<Response, Problem> {
    let job = find_numbered_job(&state, &caller, &id).await?;
    let filename = query.get("filename").ok_or_else(|| {
        Problem::new(
            ProblemKind::MalformedRequest,
            "name the file with ?filename=",
        )
    })?;
    let path = WorkspacePath::parse(filename.trim_start_matches('/'))
        .map_err(|error| Problem::new(ProblemKind::MalformedRequest, error.to_string()))?;
    let mut served = serve_workspace_file(&state, &job, path, &id, request).await?;
    let base_name = filename
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace('"', "");
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{base_name}\""))
    {
        served
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(served)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flat_listing_becomes_the_nested_tree_the_client_walks() {
        let mut tree = Map::new();
        for path in [
            "data.csv",
            "sub/extra.txt",
            "sub/deeper/x",
            "data_summary.csv",
        ] {
            insert_path(&mut tree, path);
        }
        assert_eq!(
            Value::Object(tree),
            json!({"data.csv": null, "sub": {"extra.txt": null, "deeper": {"x": null}}, "data_summary.csv": null})
        );
    }
}
