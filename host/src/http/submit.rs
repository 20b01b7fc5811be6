//! Asynchronous submission: validated executions become jobs, committed before the answer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use super::execute::Common;
use super::jobs::status_info;
use crate::files::free_bytes;
use crate::problem::{Problem, ProblemKind};
use crate::scheduler::{StoredDifferentiation, StoredLimits, StoredRequest};
use crate::store::{Inserted, JobRecord, JobStore, NewJob, StoreError};

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
    let job = insert_one(state, common, inputs).await?;
    let location = format!("/jobs/{}", job.id);
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

/// Submits a batch atomically, once [`admit`]ted: `201 Created` with the job ids in
/// submission order.
pub(super) async fn many(
    state: &AppState,
    common: &Common,
    inputs: Vec<Map<String, Value>>,
) -> Result<Response, Problem> {
    let (jobs, _) = insert(state, common, inputs).await?;
    let ids: Vec<Uuid> = jobs.iter().map(|job| job.id).collect();
    let body = json!({
        "processID": common.discipline.name,
        "jobIDs": ids,
        "links": [{"href": "/jobs?processID=".to_owned() + &common.discipline.name, "rel": "http://www.opengis.net/def/rel/ogc/1.0/job-list", "type": "application/json"}],
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Admits and inserts one job and wakes the scheduler; returns its record as inserted.
pub(super) async fn insert_one(
    state: &AppState,
    common: &Common,
    inputs: Map<String, Value>,
) -> Result<JobRecord, Problem> {
    admit(state, &common.owner, 1).await?;
    let (jobs, inserted) = insert(state, common, vec![inputs]).await?;
    jobs.first()
        .map(|job| job.accepted_record(inserted.created_at, inserted.first_seq))
        .ok_or_else(|| Problem::internal("no job inserted"))
}

/// Inserts jobs already [`admit`]ted (all or none) and wakes the scheduler; returns them and
/// what the store gave them.
async fn insert(
    state: &AppState,
    common: &Common,
    inputs: Vec<Map<String, Value>>,
) -> Result<(Vec<NewJob>, Inserted), Problem> {
    let jobs = inputs
        .into_iter()
        .map(|inputs| new_job(common, inputs))
        .collect::<Result<Vec<_>, _>>()?;
    let inserted = state.store.insert(&jobs).await.map_err(Problem::from)?;
    state
        .submission_gauges
        .add(&common.owner, jobs.len() as u64);
    state.scheduler.wake();
    Ok((jobs, inserted))
}

/// Refuses `adding` jobs of `owner` when the queue has no room for them (503) or they would
/// pass the owner's quotas (429).
pub(super) async fn admit(state: &AppState, owner: &str, adding: u64) -> Result<(), Problem> {
    let queued = state
        .submission_gauges
        .queued(&state.store)
        .await
        .map_err(Problem::from)?;
    if queued.saturating_add(adding) > state.max_queued_jobs {
        return Err(Problem::new(
            ProblemKind::ServerBusy,
            format!(
                "the job queue is full ({queued} waiting, at most {})",
                state.max_queued_jobs
            ),
        ));
    }
    check_room(state, owner, adding).await
}

/// Refuses `adding` jobs of `owner` while the disk is short (507) or past their queued or
/// storage quota (429, naming it); uploads count toward the storage quota. The counts come
/// from the gauges; a refusal is confirmed on fresh counts first, so that a count gone stale
/// (jobs claimed or expired since) never refuses wrongly.
pub(super) async fn check_room(state: &AppState, owner: &str, adding: u64) -> Result<(), Problem> {
    require_free_disk(state)?;
    let quota = state.quotas.of(owner);
    let gauge = &state.submission_gauges;
    if quota.max_queued.is_some() {
        let check = |queued| quota.check_queued(queued, adding);
        let cached = gauge.queued_of(&state.store, owner, true).await;
        if check(cached.map_err(Problem::from)?).is_err() {
            let fresh = gauge.queued_of(&state.store, owner, false).await;
            check(fresh.map_err(Problem::from)?).map_err(Problem::from)?;
        }
    }
    if quota.max_workspace_bytes.is_some() {
        let uploads = state.uploads.bytes_of(owner);
        let check = |stored: u64| quota.check_storage(stored.saturating_add(uploads));
        let cached = gauge.stored_of(&state.store, owner, true).await;
        if check(cached.map_err(Problem::from)?).is_err() {
            let fresh = gauge.stored_of(&state.store, owner, false).await;
            check(fresh.map_err(Problem::from)?).map_err(Problem::from)?;
        }
    }
    Ok(())
}

/// Refuses new work (507) while the data directory's disk has less free space than
/// `jobs.min_free_disk_bytes`.
pub(super) fn require_free_disk(state: &AppState) -> Result<(), Problem> {
    let free = free_bytes(&state.disk.dir).map_err(Problem::internal)?;
    if free < state.disk.min_free_bytes {
        return Err(Problem::new(
            ProblemKind::StorageFull,
            format!(
                "the server's disk has {free} bytes free, less than the {} it keeps (jobs.min_free_disk_bytes): nothing was stored, retry later",
                state.disk.min_free_bytes
            ),
        ));
    }
    Ok(())
}

/// The most bytes `owner`'s uploads may hold: their storage quota less what their jobs keep,
/// counted afresh; `None` without a quota.
pub(super) async fn uploads_cap(state: &AppState, owner: &str) -> Result<Option<u64>, Problem> {
    let Some(max) = state.quotas.of(owner).max_workspace_bytes else {
        return Ok(None);
    };
    let jobs = state
        .submission_gauges
        .stored_of(&state.store, owner, false)
        .await
        .map_err(Problem::from)?;
    Ok(Some(max.saturating_sub(jobs)))
}

/// How often a count is read from the store.
const GAUGE_REFRESH: Duration = Duration::from_millis(100);

/// Counts read from the store at most every [`GAUGE_REFRESH`] per key, and counted up by this
/// process's own submissions in between: caps and quotas hold without a `COUNT` or `SUM` per
/// submission (which grows with the queue, or with a user's history).
#[derive(Debug, Default)]
pub struct Gauges {
    cached: Mutex<HashMap<String, (Instant, u64)>>,
}

/// Every gauge a submission reads: the whole queue, and each user's queue and storage.
#[derive(Debug, Default)]
pub struct SubmissionGauges {
    queued: Gauges,
    queued_by_owner: Gauges,
    stored_by_owner: Gauges,
}

impl Gauges {
    /// The count of `key`: cached when recent and `trust_cache`, else read with `fresh`.
    async fn read<F>(&self, key: &str, fresh: F, trust_cache: bool) -> Result<u64, StoreError>
    where
        F: Future<Output = Result<u64, StoreError>>,
    {
        let cached = self
            .cached
            .lock()
            .ok()
            .filter(|_| trust_cache)
            .and_then(|cached| cached.get(key).copied());
        if let Some((read_at, value)) = cached
            && read_at.elapsed() < GAUGE_REFRESH
        {
            return Ok(value);
        }
        let value = fresh.await?;
        if let Ok(mut cached) = self.cached.lock() {
            if cached.len() >= 100_000 {
                cached.clear();
            }
            cached.insert(key.to_owned(), (Instant::now(), value));
        }
        Ok(value)
    }

    fn add(&self, key: &str, submitted: u64) {
        if let Ok(mut cached) = self.cached.lock()
            && let Some((_, value)) = cached.get_mut(key)
        {
            *value += submitted;
        }
    }
}

impl SubmissionGauges {
    async fn queued(&self, store: &JobStore) -> Result<u64, StoreError> {
        self.queued.read("", store.queued(), true).await
    }

    async fn queued_of(
        &self,
        store: &JobStore,
        owner: &str,
        trust_cache: bool,
    ) -> Result<u64, StoreError> {
        self.queued_by_owner
            .read(owner, store.queued_of(owner), trust_cache)
            .await
    }

    async fn stored_of(
        &self,
        store: &JobStore,
        owner: &str,
        trust_cache: bool,
    ) -> Result<u64, StoreError> {
        self.stored_by_owner
            .read(owner, store.stored_bytes_of(owner), trust_cache)
            .await
    }

    fn add(&self, owner: &str, submitted: u64) {
        self.queued.add("", submitted);
        self.queued_by_owner.add(owner, submitted);
    }
}

pub(super) fn new_job(common: &Common, inputs: Map<String, Value>) -> Result<NewJob, Problem> {
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
        echo: common.echo.clone(),
    };
    Ok(NewJob {
        id: Uuid::new_v4(),
        owner: common.owner.clone(),
        process_id: common.discipline.name.clone(),
        module_digest: common.process.digest.to_string(),
        priority: common.priority,
        request: serde_json::to_string(&request).map_err(Problem::internal)?,
    })
}
