//! `POST /processes/{id}/execution`: synchronous execution, with linearization as an extension.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::extract::ApiJson;
use super::problem::{Problem, ProblemKind};
use super::processes::{discipline_for, find_process};
use crate::discipline::Discipline;
use crate::execution::{
    Computed, Differentiation, Executed, ExecutionError, ExecutionFacts, ExecutionRequest,
};
use crate::limits::RequestedLimits;
use crate::sandbox::{CancelFlag, IgnoreProgress, SandboxError};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/processes/{id}/execution", post(execute))
}

/// The OGC execute request, plus this server's `options`, `linearize` and `limits` members.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecuteBody {
    #[serde(default)]
    inputs: Map<String, Value>,
    /// OGC: which outputs to return (all when absent).
    #[serde(default)]
    outputs: Option<Map<String, Value>>,
    /// OGC: only `document` is supported.
    #[serde(default)]
    response: Option<ResponseForm>,
    /// OGC: callbacks, for asynchronous execution (ignored in synchronous mode).
    #[serde(default)]
    #[allow(dead_code)]
    subscriber: Option<Value>,
    /// Discipline options, which may change the grammars.
    #[serde(default)]
    options: Map<String, Value>,
    /// Also compute the Jacobian of these outputs with respect to these inputs.
    #[serde(default)]
    linearize: Option<LinearizeBody>,
    /// Fuel, memory and deadline for this execution (at most the server's maximum).
    #[serde(default)]
    limits: RequestedLimits,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ResponseForm {
    Document,
    Raw,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinearizeBody {
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    outputs: Vec<String>,
}

async fn execute(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ExecuteBody>,
) -> Result<Response, Problem> {
    if body.response == Some(ResponseForm::Raw) {
        return Err(Problem::new(
            ProblemKind::MalformedRequest,
            "only \"response\": \"document\" is supported",
        )
        .with("pointer", "/response"));
    }
    let process = find_process(&state, &id)?.clone();
    let discipline = discipline_for(&state, &process, &body.options).await?;
    let selected = selected_outputs(&discipline, body.outputs.as_ref())?;
    let linearize = body
        .linearize
        .map(|wanted| differentiation(&discipline, wanted))
        .transpose()?;
    let inputs = discipline.prepare_inputs(body.inputs).map_err(|error| {
        Problem::new(ProblemKind::InvalidInput, error.message)
            .with("pointer", format!("/inputs{}", error.pointer))
    })?;
    let limits = state.limits.resolve(&body.limits).map_err(|error| {
        Problem::new(ProblemKind::LimitTooHigh, error.to_string())
            .with("pointer", format!("/limits/{}", error.name))
    })?;
    let Value::Object(inputs) = inputs else {
        return Err(Problem::internal("prepared inputs are not an object"));
    };
    let request = ExecutionRequest {
        process,
        discipline,
        inputs,
        options: crate::registry::canonical_options(&body.options),
        linearize,
        limits,
    };
    let cancel_on_drop = CancelOnDrop(CancelFlag::default());
    let executed = state
        .executor
        .execute(request, Box::new(IgnoreProgress), cancel_on_drop.0.clone())
        .await
        .map_err(|busy| Problem::new(ProblemKind::ServerBusy, busy.to_string()))?;
    respond(executed, selected.as_deref())
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

fn differentiation(
    discipline: &Discipline,
    wanted: LinearizeBody,
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
        inputs: wanted.inputs,
        outputs: wanted.outputs,
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
    } = result.map_err(|error| problem_of(error, &facts))?;
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

fn problem_of(error: ExecutionError, facts: &ExecutionFacts) -> Problem {
    let detail = error.to_string();
    let kind = match &error {
        ExecutionError::Sandbox(sandbox) => match sandbox {
            SandboxError::InvalidInput(_) => ProblemKind::InvalidInput,
            SandboxError::Failure(_) => ProblemKind::GuestError,
            SandboxError::OutOfFuel { .. } => ProblemKind::OutOfFuel,
            SandboxError::DeadlineExceeded { .. } => ProblemKind::DeadlineExceeded,
            SandboxError::Cancelled => ProblemKind::Cancelled,
            SandboxError::MemoryLimit { .. } => ProblemKind::MemoryLimit,
            SandboxError::StackOverflow => ProblemKind::StackOverflow,
            SandboxError::Crashed { .. } => ProblemKind::GuestCrashed,
            SandboxError::OutputTooLarge { .. } => ProblemKind::OutputTooLarge,
            SandboxError::Setup(_) => return Problem::internal(detail),
        },
        ExecutionError::InvalidOutputs(_) | ExecutionError::InvalidJacobian(_) => {
            ProblemKind::GuestError
        }
        ExecutionError::Internal(_) => return Problem::internal(detail),
    };
    let mut problem = Problem::new(kind, detail).with("moduleDigest", facts.digest.to_string());
    if let Some(fuel) = facts.fuel_consumed {
        problem = problem.with("fuelConsumed", fuel);
    }
    problem
}
