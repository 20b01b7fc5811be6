//! `POST /v1/discipline/{name}/execute?execution_mode=synchronous|asynchronous`: every execution
//! becomes a job (the client may read it and download its files afterwards). Synchronous runs
//! go straight to the executor and are recorded already finished; asynchronous ones are queued
//! like the OGC jobs. Inputs the discipline refuses give a `failed` job, never an HTTP error,
//! so that the client raises the reason.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::disciplines::optional_json;
use super::document::{Echo, job_document};
use super::user::user_id;
use crate::auth::Identity;
use crate::http::execute::{Common, ExecuteBody, LinearizeBody, differentiation, execute_now};
use crate::http::extract::ApiQuery;
use crate::http::{AppState, submit};
use crate::problem::{Problem, ProblemKind};
use crate::scheduler::{Scheduler, failed, outcome_of};
use crate::store::{JobId, JobRecord, now_micros};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/v1/discipline/{name}/execute", post(execute))
}

/// gemseo-http's `ExecuteInput`; members it does not know are ignored, as pydantic does.
#[derive(Debug, Default, Deserialize)]
struct ExecuteInput {
    #[serde(default)]
    discipline_options: Map<String, Value>,
    #[serde(default)]
    name: String,
    /// An object of inputs, or its JSON text.
    #[serde(default)]
    input_data: Value,
    #[serde(default)]
    input_files: Vec<FileRef>,
    #[serde(default)]
    linearize: bool,
    #[serde(default)]
    linearization_mode: Option<String>,
    #[serde(default)]
    linearize_options: Map<String, Value>,
    #[serde(default)]
    differentiated_inputs: Vec<String>,
    #[serde(default)]
    differentiated_outputs: Vec<String>,
}

/// An uploaded file, as `POST /v1/file/upload` described it; only its `unique_filename` counts.
#[derive(Debug, Deserialize)]
struct FileRef {
    unique_filename: String,
}

/// Linearization modes in which GEMSEO approximates the Jacobian on the client, by executing
/// at perturbed points: the server then computes none.
const APPROXIMATIONS: [&str; 6] = [
    "finite_differences",
    "centered_differences",
    "complex_step",
    "hybrid_finite_differences",
    "hybrid_centered_differences",
    "hybrid_complex_step",
];

/// Modes in which the discipline's own Jacobian is wanted.
const ANALYTIC: [&str; 4] = ["auto", "direct", "reverse", "adjoint"];

async fn execute(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, Problem> {
    let asynchronous = is_asynchronous(&query)?;
    let body: ExecuteInput = optional_json(&body)?;
    let core_body = ExecuteBody::<()> {
        inputs: (),
        outputs: None,
        response: None,
        subscriber: None,
        options: body.discipline_options.clone(),
        linearize: None,
        limits: Default::default(),
        priority: 0,
        files: input_files(&state, &caller, &body.input_files).await?,
    };
    let mut common = Common::prepare(&state, &caller, &name, &core_body).await?;
    let given = given_inputs(&body.input_data);
    common.echo = Some(serde_json::to_value(echo(&body, &given)).map_err(Problem::internal)?);
    let prepared = given.and_then(|given| {
        common.linearize = wanted_jacobian(&common, &body)?;
        common.inputs(given, "/input_data")
    });
    let job = async {
        match prepared {
            Err(problem) => refuse(&state, &common, &body, problem).await,
            Ok(inputs) if asynchronous => submit::insert_one(&state, &common, inputs).await,
            Ok(inputs) => run_now(&state, &common, inputs).await,
        }
    };
    // The document names its owner by number: looked up while the job is recorded.
    let (job, user_id) = tokio::join!(job, user_id(&state, &caller.user));
    let (job, user_id) = (job?, user_id?);
    let status = if asynchronous {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(job_document(&job, user_id))).into_response())
}

fn is_asynchronous(query: &HashMap<String, String>) -> Result<bool, Problem> {
    match query.get("execution_mode").map(String::as_str) {
        None | Some("synchronous") => Ok(false),
        Some("asynchronous") => Ok(true),
        Some(other) => Err(Problem::new(
            ProblemKind::MalformedRequest,
            format!("execution_mode is {other:?}: it must be synchronous or asynchronous"),
        )),
    }
}

/// The uploads to place in the workspace, each under the name it was uploaded with (the last
/// of two with the same name wins); only the caller's own uploads can be named.
async fn input_files(
    state: &AppState,
    caller: &Identity,
    files: &[FileRef],
) -> Result<Map<String, Value>, Problem> {
    let mut placed = Map::new();
    for file in files {
        let unknown = || {
            Problem::new(
                ProblemKind::MalformedRequest,
                format!(
                    "no uploaded file has the unique_filename {:?}",
                    file.unique_filename
                ),
            )
        };
        let id: Uuid = file.unique_filename.parse().map_err(|_| unknown())?;
        let info = state
            .uploads
            .info(id)
            .await
            .filter(|info| caller.may_access(&info.owner))
            .ok_or_else(unknown)?;
        placed.insert(info.name, Value::String(id.to_string()));
    }
    Ok(placed)
}

/// The input data as an object: given as one, as its JSON text, or not at all.
fn given_inputs(input_data: &Value) -> Result<Map<String, Value>, Problem> {
    let invalid = |message: String| Problem::new(ProblemKind::InvalidInput, message);
    match input_data {
        Value::Null => Ok(Map::new()),
        Value::Object(inputs) => Ok(inputs.clone()),
        Value::String(text) => serde_json::from_str(text)
            .map_err(|error| invalid(format!("input_data is not a JSON object: {error}"))),
        _ => Err(invalid("input_data must be an object".into())),
    }
}

fn echo(body: &ExecuteInput, given: &Result<Map<String, Value>, Problem>) -> Echo {
    Echo {
        name: body.name.clone(),
        input_data: match given {
            Ok(given) if !given.is_empty() => Value::Object(given.clone()),
            _ => Value::Null,
        },
        linearize: body.linearize,
        linearization_mode: mode(body).to_owned(),
        linearize_options: body.linearize_options.clone(),
        differentiated_inputs: body.differentiated_inputs.clone(),
        differentiated_outputs: body.differentiated_outputs.clone(),
    }
}

fn mode(body: &ExecuteInput) -> &str {
    body.linearization_mode.as_deref().unwrap_or("auto")
}

/// The Jacobian blocks the discipline must compute: none unless `linearize`, none when GEMSEO
/// approximates it on the client; all of them when the lists are empty or
/// `compute_all_jacobians` is set.
fn wanted_jacobian(
    common: &Common,
    body: &ExecuteInput,
) -> Result<Option<crate::execution::Differentiation>, Problem> {
    let mode = mode(body);
    if !body.linearize || APPROXIMATIONS.contains(&mode) {
        return Ok(None);
    }
    if !ANALYTIC.contains(&mode) {
        return Err(Problem::new(
            ProblemKind::MalformedRequest,
            format!("unknown linearization_mode {mode:?}"),
        ));
    }
    let all = body
        .linearize_options
        .get("compute_all_jacobians")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let wanted = if all {
        LinearizeBody::default()
    } else {
        LinearizeBody {
            inputs: body.differentiated_inputs.clone(),
            outputs: body.differentiated_outputs.clone(),
        }
    };
    differentiation(&common.discipline, &wanted).map(Some)
}

/// Records a job that failed before it ran, with the reason the client will raise.
async fn refuse(
    state: &AppState,
    common: &Common,
    body: &ExecuteInput,
    problem: Problem,
) -> Result<JobRecord, Problem> {
    submit::check_room(state, &common.owner, 0).await?;
    let given = given_inputs(&body.input_data).unwrap_or_default();
    let job = submit::new_job(common, given)?;
    let outcome = failed(job.id, &problem, None);
    state
        .store
        .insert_finished(&job, &outcome, now_micros())
        .await
        .map_err(Problem::from)
}

/// Runs the execution in this request, in the job's own workspace, and records the job.
async fn run_now(
    state: &AppState,
    common: &Common,
    inputs: Map<String, Value>,
) -> Result<JobRecord, Problem> {
    submit::check_room(state, &common.owner, 0).await?;
    let job = submit::new_job(common, inputs.clone())?;
    let mut request = common.request(inputs);
    request.workspace = Some(state.scheduler.workspace_of(job.id));
    let started_at = now_micros();
    let unrecorded = UnrecordedWorkspace {
        scheduler: &state.scheduler,
        job: job.id,
    };
    let executed = execute_now(state, request).await?;
    let outcome = outcome_of(job.id, executed, None);
    let recorded = state
        .store
        .insert_finished(&job, &outcome, started_at)
        .await
        .map_err(Problem::from)?;
    std::mem::forget(unrecorded);
    Ok(recorded)
}

/// The workspace of a synchronous execution whose job row was never written (the client went
/// away, or the store failed): nothing would ever expire it, so it is removed.
struct UnrecordedWorkspace<'a> {
    scheduler: &'a Scheduler,
    job: JobId,
}

impl Drop for UnrecordedWorkspace<'_> {
    fn drop(&mut self) {
        self.scheduler.remove_workspace(self.job);
    }
}
