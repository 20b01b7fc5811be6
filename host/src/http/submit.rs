//! Asynchronous submission: validated executions become jobs, committed before the answer.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use super::execute::Common;
use super::jobs::status_info;
use crate::problem::{Problem, ProblemKind};
use crate::scheduler::{StoredDifferentiation, StoredLimits, StoredRequest};
use crate::store::NewJob;

/// Whether the client asked for asynchronous execution (`Prefer: respond-async`).
pub(super) fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| preference.trim().eq_ignore_ascii_case("respond-async"))
}

/// Submits one job: `201 Created`, `Location: /jobs/{id}`, the status document.
pub(super) async fn one(
    state: &AppState,
    common: &Common,
    inputs: Map<String, Value>,
) -> Result<Response, Problem> {
    let ids = insert(state, common, vec![inputs]).await?;
    let id = ids
        .first()
        .copied()
        .ok_or_else(|| Problem::internal("no job inserted"))?;
    let job = state
        .store
        .get(id)
        .await
        .map_err(Problem::internal)?
        .ok_or_else(|| Problem::internal("the job vanished"))?;
    let location = format!("/jobs/{id}");
    let mut response = (StatusCode::CREATED, Json(status_info(&job))).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(
        "preference-applied",
        HeaderValue::from_static("respond-async"),
    );
    Ok(response)
}

/// Submits a batch atomically: `201 Created` with the job ids in submission order.
pub(super) async fn many(
    state: &AppState,
    common: &Common,
    inputs: Vec<Map<String, Value>>,
) -> Result<Response, Problem> {
    let ids = insert(state, common, inputs).await?;
    let body = json!({
        "processID": common.discipline.name,
        "jobIDs": ids,
        "links": [{"href": "/jobs?processID=".to_owned() + &common.discipline.name, "rel": "http://www.opengis.net/def/rel/ogc/1.0/job-list", "type": "application/json"}],
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn insert(
    state: &AppState,
    common: &Common,
    inputs: Vec<Map<String, Value>>,
) -> Result<Vec<Uuid>, Problem> {
    let queued = state.store.queued().await.map_err(Problem::internal)?;
    if queued.saturating_add(inputs.len() as u64) > state.max_queued_jobs {
        return Err(Problem::new(
            ProblemKind::ServerBusy,
            format!(
                "the job queue is full ({queued} waiting, at most {})",
                state.max_queued_jobs
            ),
        ));
    }
    let jobs = inputs
        .into_iter()
        .map(|inputs| new_job(common, inputs))
        .collect::<Result<Vec<_>, _>>()?;
    state.store.insert(&jobs).await.map_err(Problem::internal)?;
    state.scheduler.wake();
    Ok(jobs.iter().map(|job| job.id).collect())
}

fn new_job(common: &Common, inputs: Map<String, Value>) -> Result<NewJob, Problem> {
    let request = StoredRequest {
        inputs,
        options: common.options.clone(),
        linearize: common.linearize.as_ref().map(StoredDifferentiation::from),
        outputs: common.selected.clone(),
        limits: StoredLimits::from(&common.limits),
        subscriber: common.subscriber.clone(),
        files: common
            .files
            .iter()
            .map(|(path, source)| (path.to_string(), source.clone()))
            .collect(),
    };
    Ok(NewJob {
        id: Uuid::new_v4(),
        process_id: common.discipline.name.clone(),
        module_digest: common.process.digest.to_string(),
        priority: common.priority,
        request: serde_json::to_string(&request).map_err(Problem::internal)?,
    })
}
