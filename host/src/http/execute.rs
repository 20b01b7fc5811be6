//! `POST /processes/{id}/execution` (synchronous, or a job with `Prefer: respond-async`) and
//! `POST /processes/{id}/batch`; linearization is an extension of both.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use std::path::PathBuf;
use std::sync::Arc;

use super::extract::{ApiJson, has_media_type, multipart_problem, parse_json};
use super::files::upload_room;
use super::processes::{discipline_for, find_process};
use super::{AppState, refusals, submit};
use crate::auth::Identity;
use crate::discipline::Discipline;
use crate::execution::{
    Computed, Differentiation, Executed, ExecutionFacts, ExecutionRequest, StartGate,
};
use crate::files::WorkspacePath;
use crate::limits::{ExecutionLimits, RequestedLimits};
use crate::problem::{Problem, ProblemKind};
use crate::registry::{Process, canonical_options};
use crate::sandbox::{CancelFlag, IgnoreProgress};
use crate::scheduler::Subscriber;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/processes/{id}/execution", post(execute))
        .route("/processes/{id}/batch", post(batch))
}

/// The OGC execute request, plus this server's `options`, `linearize`, `limits` and
/// `priority` members. `inputs` is one inputs object, or a list of them for a batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExecuteBody<Inputs> {
    #[serde(default)]
    pub(super) inputs: Inputs,
    /// OGC: which outputs to return (all when absent).
    #[serde(default)]
    pub(super) outputs: Option<Map<String, Value>>,
    /// OGC: only `document` is supported.
    #[serde(default)]
    pub(super) response: Option<ResponseForm>,
    /// OGC: where to send news of the job (asynchronous execution only).
    #[serde(default)]
    pub(super) subscriber: Option<Subscriber>,
    /// Discipline options, which may change the grammars.
    #[serde(default)]
    pub(super) options: Map<String, Value>,
    /// Also compute the Jacobian of these outputs with respect to these inputs.
    #[serde(default)]
    pub(super) linearize: Option<LinearizeBody>,
    /// Fuel, memory and deadline for each execution (at most the server's maximum).
    #[serde(default)]
    pub(super) limits: RequestedLimits,
    /// Jobs of higher priority start first (asynchronous execution only).
    #[serde(default)]
    pub(super) priority: i32,
    /// Uploaded files to place in the workspace: `{"path/inside": "<fileID>"}`.
    #[serde(default)]
    pub(super) files: Map<String, Value>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum ResponseForm {
    Document,
    Raw,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinearizeBody {
    #[serde(default)]
    pub(super) inputs: Vec<String>,
    #[serde(default)]
    pub(super) outputs: Vec<String>,
}

async fn execute(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Problem> {
    let headers = request.headers().clone();
    let body = if is_multipart(&headers) {
        multipart_body(&state, &caller, request).await?
    } else {
        ApiJson::<ExecuteBody<Map<String, Value>>>::from_request(request, &state)
            .await?
            .0
    };
    if body.response == Some(ResponseForm::Raw) {
        return Err(Problem::new(
            ProblemKind::MalformedRequest,
            "only \"response\": \"document\" is supported",
        )
        .with("pointer", "/response"));
    }
    let common = Common::prepare(&state, &caller, &id, &body).await?;
    let inputs = common.inputs(body.inputs, "/inputs")?;
    if submit::prefers_async(&headers) {
        return submit::one(&state, &common, inputs).await;
    }
    let executed = execute_now(&state, common.request(inputs)).await?;
    respond(executed, common.selected.as_deref())
}

/// Runs one execution within the request; a client that goes away interrupts the guest, and
/// one still waiting for a guest thread when the server drains is refused (503).
pub(super) async fn execute_now(
    state: &AppState,
    request: ExecutionRequest,
) -> Result<Executed, Problem> {
    let cancel_on_drop = CancelOnDrop(CancelFlag::default());
    let gate = StartGate::default();
    let execution = state.executor.execute(
        request,
        Box::new(IgnoreProgress),
        cancel_on_drop.0.clone(),
        gate.clone(),
    );
    let mut execution = std::pin::pin!(execution);
    let executed = tokio::select! {
        executed = &mut execution => executed,
        () = state.drain.begun() => {
            if gate.withdraw() {
                return Err(refusals::shutting_down());
            }
            execution.await
        }
    };
    executed.map_err(|busy| Problem::new(ProblemKind::ServerBusy, busy.to_string()))
}

/// `POST /processes/{id}/batch`: many executions of one process, submitted atomically as jobs.
/// A batch: its items are counted (without keeping them) and the count checked against
/// `jobs.max_batch`, the queue and the caller's quotas before any item is read, so a refused
/// batch costs no more memory than its body.
async fn batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Identity>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ExecuteBody<Option<Box<RawValue>>>>,
) -> Result<Response, Problem> {
    let items = body.inputs.as_deref().map_or("[]", RawValue::get);
    let count = serde_json::from_str::<Vec<IgnoredAny>>(items)
        .map_err(|error| batch_inputs_problem(&error))?
        .len() as u64;
    if count > state.max_batch {
        return Err(Problem::new(
            ProblemKind::PayloadTooLarge,
            format!(
                "a batch holds at most {} items (jobs.max_batch); this one holds {count}",
                state.max_batch
            ),
        )
        .with("pointer", "/inputs"));
    }
    let common = Common::prepare(&state, &caller, &id, &body).await?;
    submit::admit(&state, &common.owner, count).await?;
    let inputs = serde_json::from_str::<Vec<Map<String, Value>>>(items)
        .map_err(|error| batch_inputs_problem(&error))?
        .into_iter()
        .enumerate()
        .map(|(index, inputs)| common.inputs(inputs, &format!("/inputs/{index}")))
        .collect::<Result<Vec<_>, _>>()?;
    submit::many(&state, &common, inputs).await
}

/// `inputs` of a batch is not an array of objects.
fn batch_inputs_problem(error: &serde_json::Error) -> Problem {
    Problem::new(
        ProblemKind::MalformedRequest,
        format!("inputs must be an array of input objects: {error}"),
    )
    .with("pointer", "/inputs")
}

/// What every execution of one request shares: the process, its grammar for the options,
/// the outputs wanted, the linearization, the limits and the priority.
pub(super) struct Common {
    /// The user the executions run for.
    pub(super) owner: String,
    pub(super) process: Arc<Process>,
    pub(super) discipline: Arc<Discipline>,
    pub(super) options: Map<String, Value>,
    pub(super) selected: Option<Vec<String>>,
    pub(super) linearize: Option<Differentiation>,
    pub(super) limits: ExecutionLimits,
    pub(super) priority: i32,
    pub(super) subscriber: Option<Subscriber>,
    pub(super) files: Vec<(WorkspacePath, PathBuf)>,
    /// What another face of the API shows back in its job documents (see `StoredRequest`).
    pub(super) echo: Option<Value>,
}

impl Common {
    pub(super) async fn prepare<Inputs>(
        state: &AppState,
        caller: &Identity,
        id: &str,
        body: &ExecuteBody<Inputs>,
    ) -> Result<Self, Problem> {
        let process = find_process(state, id)?;
        let discipline = discipline_for(state, &process, &body.options).await?;
        let selected = selected_outputs(&discipline, body.outputs.as_ref())?;
        let linearize = body
            .linearize
            .as_ref()
            .map(|wanted| differentiation(&discipline, wanted))
            .transpose()?;
        let too_high = |error: crate::limits::LimitTooHigh| {
            Problem::new(ProblemKind::LimitTooHigh, error.to_string())
                .with("pointer", format!("/limits/{}", error.name))
        };
        state.limits.resolve(&body.limits).map_err(too_high)?;
        let quota = state.quotas.of(&caller.user);
        quota.check_request(&body.limits).map_err(Problem::from)?;
        let limits = quota
            .narrow(&state.limits)
            .resolve(&body.limits)
            .map_err(too_high)?;
        if let Some(subscriber) = &body.subscriber {
            subscriber
                .check(state.webhooks_to_private_networks)
                .map_err(|(member, message)| {
                    Problem::new(ProblemKind::MalformedRequest, message)
                        .with("pointer", format!("/subscriber/{member}"))
                })?;
        }
        let files = input_files(state, caller, &body.files).await?;
        Ok(Self {
            owner: caller.user.clone(),
            files,
            subscriber: body.subscriber.clone(),
            process,
            discipline,
            options: body.options.clone(),
            selected,
            linearize,
            limits,
            priority: body.priority,
            echo: None,
        })
    }

    /// Merges one set of inputs with the defaults and validates it; `pointer` locates it.
    pub(super) fn inputs(
        &self,
        given: Map<String, Value>,
        pointer: &str,
    ) -> Result<Map<String, Value>, Problem> {
        match self.discipline.prepare_inputs(given) {
            Ok(Value::Object(inputs)) => Ok(inputs),
            Ok(_) => Err(Problem::internal("prepared inputs are not an object")),
            Err(error) => Err(Problem::new(ProblemKind::InvalidInput, error.message)
                .with("pointer", format!("{pointer}{}", error.pointer))),
        }
    }

    pub(super) fn request(&self, inputs: Map<String, Value>) -> ExecutionRequest {
        ExecutionRequest {
            process: self.process.clone(),
            discipline: self.discipline.clone(),
            inputs,
            options: canonical_options(&self.options),
            linearize: self.linearize.clone(),
            limits: self.limits,
            files: self.files.clone(),
            workspace: None,
        }
    }
}

fn is_multipart(headers: &HeaderMap) -> bool {
    has_media_type(headers, "multipart/form-data")
}

/// A multipart submission: one JSON part (named `execute`, or any part of type
/// `application/json` without a file name) and file parts, each streamed to the uploads and
/// placed in the workspace under its file name unless the JSON's `files` names that path.
async fn multipart_body(
    state: &AppState,
    caller: &Identity,
    request: Request,
) -> Result<ExecuteBody<Map<String, Value>>, Problem> {
    let malformed = |message: String| Problem::new(ProblemKind::MalformedRequest, message);
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| malformed(rejection.body_text()))?;
    let mut execute = None;
    let mut uploaded = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| multipart_problem(&error))?
    {
        let is_json = field
            .content_type()
            .is_some_and(|kind| kind.starts_with("application/json"));
        match field.file_name().map(str::to_owned) {
            Some(name) if field.name() != Some("execute") => {
                let room = upload_room(state, &caller.user).await?;
                let info = state
                    .uploads
                    .save(
                        &caller.user,
                        name.clone(),
                        field,
                        room.bytes,
                        room.owner_cap,
                    )
                    .await
                    .map_err(|error| room.problem(error))?;
                uploaded.push((name, info.id));
            }
            _ if field.name() == Some("execute") || is_json => {
                execute = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|error| multipart_problem(&error))?,
                );
            }
            _ => {
                return Err(malformed(format!(
                    "unexpected part {:?}",
                    field.name().unwrap_or_default()
                )));
            }
        }
    }
    let execute = execute.ok_or_else(|| malformed("no JSON part named \"execute\"".into()))?;
    let mut body: ExecuteBody<Map<String, Value>> = parse_json(&execute)?;
    for (name, id) in uploaded {
        body.files
            .entry(name)
            .or_insert_with(|| Value::String(id.to_string()));
    }
    Ok(body)
}

/// Checks each `files` entry: a path inside the workspace, and an upload of the caller's (any
/// other is reported as missing).
async fn input_files(
    state: &AppState,
    caller: &Identity,
    files: &Map<String, Value>,
) -> Result<Vec<(WorkspacePath, PathBuf)>, Problem> {
    let mut checked = Vec::with_capacity(files.len());
    for (path, id) in files {
        let pointer = format!("/files/{}", path.replace('~', "~0").replace('/', "~1"));
        let bad = |message: String| {
            Problem::new(ProblemKind::MalformedRequest, message).with("pointer", pointer.clone())
        };
        let inside = WorkspacePath::parse(path).map_err(|error| bad(error.to_string()))?;
        let upload = id
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| bad(format!("{id} is not a file id")))?;
        let owned = state
            .uploads
            .info(upload)
            .await
            .is_some_and(|info| caller.may_access(&info.owner));
        if !owned {
            return Err(bad(format!("no uploaded file has the id {upload}")));
        }
        checked.push((inside, state.uploads.blob(upload)));
    }
    Ok(checked)
}

/// Interrupts the guest if the client goes away before the answer (the handler is dropped).
struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn selected_outputs(
    discipline: &Discipline,
    wanted: Option<&Map<String, Value>>,
) -> Result<Option<Vec<String>>, Problem> {
    let Some(wanted) = wanted.filter(|wanted| !wanted.is_empty()) else {
        return Ok(None);
    };
    if let Some(unknown) = wanted
        .keys()
        .find(|name| !discipline.output_names.contains(name))
    {
        return Err(Problem::new(
            ProblemKind::MalformedRequest,
            format!("{} has no output {unknown:?}", discipline.name),
        )
        .with("pointer", format!("/outputs/{unknown}")));
    }
    Ok(Some(wanted.keys().cloned().collect()))
}

pub(super) fn differentiation(
    discipline: &Discipline,
    wanted: &LinearizeBody,
) -> Result<Differentiation, Problem> {
    if !discipline.has_jacobian {
        return Err(Problem::new(
            ProblemKind::NoJacobian,
            format!("{} does not compute a Jacobian", discipline.name),
        )
        .with("pointer", "/linearize"));
    }
    check_names("inputs", &wanted.inputs, &discipline.input_names)?;
    check_names("outputs", &wanted.outputs, &discipline.output_names)?;
    Ok(Differentiation {
        inputs: wanted.inputs.clone(),
        outputs: wanted.outputs.clone(),
    })
}

fn check_names(member: &str, names: &[String], known: &[String]) -> Result<(), Problem> {
    match names.iter().position(|name| !known.contains(name)) {
        None => Ok(()),
        Some(index) => Err(Problem::new(
            ProblemKind::NoJacobian,
            format!(
                "cannot differentiate: {:?} is not one of the {member} ({})",
                names[index],
                known.join(", ")
            ),
        )
        .with("pointer", format!("/linearize/{member}/{index}"))),
    }
}

fn respond(executed: Executed, selected: Option<&[String]>) -> Result<Response, Problem> {
    let Executed { result, facts } = executed;
    let Computed {
        mut outputs,
        jacobian,
    } = result.map_err(|error| Problem::of_execution(error, &facts))?;
    if let Some(selected) = selected {
        outputs.retain(|name, _| selected.contains(name));
    }
    let body = match jacobian {
        None => Value::Object(outputs),
        Some(jacobian) => json!({ "outputs": outputs, "jacobian": jacobian }),
    };
    Ok((fact_headers(&facts), Json(body)).into_response())
}

/// Execution facts travel as headers so that the body stays OGC's results document.
fn fact_headers(facts: &ExecutionFacts) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut insert = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    insert("x-module-digest", facts.digest.to_string());
    if let Some(fuel) = facts.fuel_consumed {
        insert("x-fuel-consumed", fuel.to_string());
    }
    insert(
        "server-timing",
        format!("sandbox;dur={:.3}", facts.duration.as_secs_f64() * 1e3),
    );
    headers
}
