//! `/jobs`: OGC API – Processes job list, status (with long-poll), results, events, dismissal.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::extract::ApiQuery;
use crate::auth::{Identity, Role};
use crate::problem::{Problem, ProblemKind, stored_problem_response};
use crate::scheduler::{JobEvent, results_document};
use crate::store::{JobFilter, JobId, JobRecord, JobStatus};

/// The longest long-poll a client may ask for.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// When a client whose event stream the drain closed should reconnect.
const SSE_RECONNECT: Duration = Duration::from_secs(5);
/// The most jobs in one page.
const MAX_PAGE: u32 = 1000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list_jobs))
        .route("/jobs/{id}", get(job_status).delete(dismiss_job))
        .route("/jobs/{id}/results", get(job_results))
        .route("/jobs/{id}/events", get(job_events))
        .route("/jobs/{id}/logs", get(job_logs))
}

/// OGC's statusInfo document, with this server's extensions.
pub(super) fn status_info(job: &JobRecord) -> Value {
    let href = format!("/jobs/{}", job.id);
    let mut links = vec![json!({"href": href, "rel": "self", "type": "application/json"})];
    if job.status == JobStatus::Successful && job.expired_at.is_none() {
        links.push(json!({"href": format!("{href}/results"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/results", "type": "application/json"}));
    }
    json!({
        "jobID": job.id,
        "processID": job.process_id,
        "type": "process",
        "status": job.status,
        "message": job.message,
        "progress": job.progress,
        "created": timestamp(Some(job.created_at)),
        "started": timestamp(job.started_at),
        "finished": timestamp(job.finished_at),
        "updated": timestamp(Some(job.updated_at)),
        "attempts": job.attempts,
        "priority": job.priority,
        "moduleDigest": job.module_digest,
        "fuelConsumed": job.fuel_consumed,
        "expired": timestamp(job.expired_at),
        "links": links,
    })
}

fn timestamp(micros: Option<i64>) -> Value {
    let Some(micros) = micros.and_then(|micros| u64::try_from(micros).ok()) else {
        return Value::Null;
    };
    let time = std::time::UNIX_EPOCH + Duration::from_micros(micros);
    Value::String(humantime::format_rfc3339_micros(time).to_string())
}

fn parse_id(id: &str) -> Result<JobId, Problem> {
    id.parse().map_err(|_| no_such_job(id))
}

fn no_such_job(id: &str) -> Problem {
    Problem::new(ProblemKind::NoSuchJob, format!("no job has the id {id:?}"))
}

/// The job `id`, if the caller may see it: its owner, or an administrator. Anyone else gets
/// the same 404 as for a job that does not exist.
pub(super) async fn find_job(
    state: &AppState,
    caller: &Identity,
    id: &str,
) -> Result<JobRecord, Problem> {
    let job_id = parse_id(id)?;
    state
        .store
        .get(job_id)
        .await
        .map_err(Problem::from)?
        .filter(|job| caller.may_access(&job.owner))
        .ok_or_else(|| no_such_job(id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(rename = "processID")]
    process_id: Option<String>,
    /// Comma-separated statuses.
    status: Option<String>,
    /// An RFC 3339 interval `start/end`, either end open (`..`).
    datetime: Option<String>,
    limit: Option<u32>,
    /// The paging cursor from a `next` link.
    after: Option<i64>,
}

async fn list_jobs(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let (created_from, created_to) = parse_interval(query.datetime.as_deref())?;
    let filter = JobFilter {
        owner: (caller.role != Role::Admin).then(|| caller.user.clone()),
        process_id: query.process_id.clone(),
        statuses: parse_statuses(query.status.as_deref())?,
        created_from,
        created_to,
        after_seq: query.after,
        limit,
    };
    let jobs = state.store.list(&filter).await.map_err(Problem::from)?;
    let mut links = vec![json!({"href": "/jobs", "rel": "self", "type": "application/json"})];
    if let Some(last) = jobs.last().filter(|_| jobs.len() == limit as usize) {
        let mut next = format!("/jobs?limit={limit}&after={}", last.seq);
        for (name, value) in [
            ("processID", &query.process_id),
            ("status", &query.status),
            ("datetime", &query.datetime),
        ] {
            if let Some(value) = value {
                next.push_str(&format!("&{name}={value}"));
            }
        }
        links.push(json!({"href": next, "rel": "next", "type": "application/json"}));
    }
    Ok(Json(
        json!({"jobs": jobs.iter().map(status_info).collect::<Vec<_>>(), "links": links}),
    ))
}

fn parse_statuses(text: Option<&str>) -> Result<Vec<JobStatus>, Problem> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|word| {
            JobStatus::parse(word.trim()).ok_or_else(|| {
                Problem::new(
                    ProblemKind::MalformedRequest,
                    format!("unknown status {word:?}"),
                )
                .with("pointer", "/status")
            })
        })
        .collect()
}

fn parse_interval(text: Option<&str>) -> Result<(Option<i64>, Option<i64>), Problem> {
    let Some(text) = text else {
        return Ok((None, None));
    };
    let bad = || {
        Problem::new(
            ProblemKind::MalformedRequest,
            "datetime is an RFC 3339 instant or interval start/end ('..' for open)",
        )
        .with("pointer", "/datetime")
    };
    let instant = |part: &str| -> Result<Option<i64>, Problem> {
        if part == ".." || part.is_empty() {
            return Ok(None);
        }
        let time = humantime::parse_rfc3339_weak(part).map_err(|_| bad())?;
        let micros = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| bad())?
            .as_micros();
        Ok(Some(i64::try_from(micros).map_err(|_| bad())?))
    };
    match text.split_once('/') {
        Some((from, to)) => Ok((instant(from)?, instant(to)?)),
        None => {
            let at = instant(text)?;
            Ok((at, at))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    /// Long-poll: answer as soon as the job ends, or after this many seconds.
    wait: Option<f64>,
}

async fn job_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<Value>, Problem> {
    let wait = query
        .wait
        .and_then(capped_wait)
        .filter(|wait| !wait.is_zero());
    let job = match wait {
        None => find_job(&state, &caller, &id).await?,
        Some(wait) => wait_for_end(&state, &caller, &id, wait).await?,
    };
    Ok(Json(status_info(&job)))
}

/// A wait a client asked for, in seconds, capped at [`MAX_WAIT`]; `None` for a negative or
/// non-finite number. Capped before it becomes a `Duration`, which cannot hold 1e20 s.
pub(super) fn capped_wait(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_WAIT.as_secs_f64())))
}

/// Waits, holding no thread, until the job ends, `wait` passes or the server drains.
pub(super) async fn wait_for_end(
    state: &AppState,
    caller: &Identity,
    id: &str,
    wait: Duration,
) -> Result<JobRecord, Problem> {
    let mut events = state.scheduler.events().subscribe();
    let deadline = tokio::time::Instant::now() + wait;
    let job_id = parse_id(id)?;
    loop {
        let job = find_job(state, caller, id).await?;
        if job.status.is_final() {
            return Ok(job);
        }
        loop {
            let event = tokio::select! {
                event = tokio::time::timeout_at(deadline, events.recv()) => event,
                () = state.drain.begun() => return find_job(state, caller, id).await,
            };
            match event {
                Err(_elapsed) => return find_job(state, caller, id).await,
                Ok(Ok(event)) if event.id == job_id && event.status.is_final() => break,
                Ok(Ok(_)) => {}
                // Fell behind, or events stopped: look at the store again.
                Ok(Err(RecvError::Lagged(_))) => break,
                Ok(Err(RecvError::Closed)) => return find_job(state, caller, id).await,
            }
        }
    }
}

async fn job_results(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let job = find_unexpired_job(&state, &caller, &id, "results").await?;
    match job.status {
        JobStatus::Successful => {
            let document = results_document(job.outputs.as_deref(), job.jacobian.as_deref());
            let mut response = document.into_response();
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        JobStatus::Failed => Ok(stored_problem_response(
            job.error.as_deref().unwrap_or("{}"),
        )),
        JobStatus::Dismissed => Err(Problem::new(
            ProblemKind::Dismissed,
            format!("job {id} was dismissed"),
        )),
        JobStatus::Accepted | JobStatus::Running => Err(Problem::new(
            ProblemKind::ResultNotReady,
            format!("job {id} is {}", job.status.as_str()),
        )),
    }
}

/// What the guest wrote on stdout and stderr and through `log`, once the job has ended.
async fn job_logs(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let job = find_unexpired_job(&state, &caller, &id, "logs").await?;
    let Some(logs) = job.logs else {
        return Err(Problem::new(
            ProblemKind::ResultNotReady,
            format!("job {id} has no logs (yet)"),
        ));
    };
    let logs: Value = serde_json::from_str(&logs).map_err(Problem::internal)?;
    Ok(Json(logs).into_response())
}

/// A job whose `what` (results, logs) has not been removed by garbage collection.
async fn find_unexpired_job(
    state: &AppState,
    caller: &Identity,
    id: &str,
    what: &str,
) -> Result<JobRecord, Problem> {
    let job = find_job(state, caller, id).await?;
    if job.expired_at.is_some() {
        return Err(Problem::new(
            ProblemKind::Expired,
            format!("the {what} of job {id} have expired"),
        ));
    }
    Ok(job)
}

/// Server-sent events: the current status, then every change, until the job ends (`end`) or
/// the server drains (`close`, with the status then, and a reconnection delay).
async fn job_events(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let events = state.scheduler.events().subscribe();
    let job = find_job(&state, &caller, &id).await?;
    let first = event_of(&job);
    let job_id = job.id;
    let stream = futures_util::stream::unfold(
        (Some(first), events, job.status.is_final()),
        move |(pending, mut events, ended)| {
            let state = state.clone();
            async move {
                if let Some(event) = pending {
                    let ended = ended || event.status.is_final();
                    return Some((Ok(to_sse(&event)), (None, events, ended)));
                }
                if ended {
                    return None;
                }
                loop {
                    let received = tokio::select! {
                        received = events.recv() => received,
                        () = state.drain.begun() => {
                            let last = closing_event(&state, job_id).await;
                            return Some((Ok(last), (None, events, true)));
                        }
                    };
                    match received {
                        Ok(event) if event.id == job_id => {
                            let ended = event.status.is_final();
                            return Some((Ok(to_sse(&event)), (None, events, ended)));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The last event of a stream cut by the drain: the job's status as stored, and when to
/// reconnect (to another instance, or this one once it is back).
async fn closing_event(state: &AppState, job_id: JobId) -> Event {
    let event = Event::default().event("close").retry(SSE_RECONNECT);
    match state.store.get(job_id).await {
        Ok(Some(job)) => event.json_data(event_of(&job)).unwrap_or_default(),
        _ => event
            .json_data(json!({"jobID": job_id}))
            .unwrap_or_default(),
    }
}

fn event_of(job: &JobRecord) -> JobEvent {
    JobEvent {
        id: job.id,
        status: job.status,
        progress: job.progress,
        message: job.message.clone(),
    }
}

fn to_sse(event: &JobEvent) -> Event {
    let kind = if event.status.is_final() {
        "end"
    } else {
        "status"
    };
    Event::default()
        .event(kind)
        .json_data(event)
        .unwrap_or_default()
}

async fn dismiss_job(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let job_id = find_job(&state, &caller, &id).await?.id;
    let problem = Problem::new(
        ProblemKind::Dismissed,
        format!("job {id} was dismissed on request"),
    )
    .to_json();
    let previous = state
        .store
        .dismiss(job_id, &problem)
        .await
        .map_err(Problem::from)?;
    match previous {
        None => return Err(no_such_job(&id)),
        // Its worker removes the workspace once the guest has stopped.
        Some(JobStatus::Running) => state.scheduler.cancel(job_id),
        Some(_) => state.scheduler.remove_workspace(job_id),
    }
    let job = find_job(&state, &caller, &id).await?;
    state.scheduler.events().publish(JobEvent {
        id: job.id,
        status: JobStatus::Dismissed,
        progress: job.progress,
        message: job.message.clone(),
    });
    Ok(Json(status_info(&job)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_wait_is_capped_or_refused_never_a_panic() {
        for huge in [1e20, 1.9e19, 1e300, f64::MAX] {
            assert_eq!(capped_wait(huge), Some(MAX_WAIT), "{huge}");
        }
        assert_eq!(capped_wait(0.0), Some(Duration::ZERO));
        assert_eq!(capped_wait(2.5), Some(Duration::from_millis(2500)));
        for refused in [-1.0, -1e300, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(capped_wait(refused), None, "{refused}");
        }
    }
}
