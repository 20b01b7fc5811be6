//! `GET /v1/discipline` and the discovery calls `POST /v1/discipline/{name}/{input_names |
//! inputs_schema | output_names | outputs_schema | default_input_data}`; `{name}` may pin a
//! version or the exact bytes, as on the OGC routes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::http::AppState;
use crate::http::extract::parse_json;
use crate::http::processes::{discipline_for, find_process, require_ready};
use crate::problem::{Problem, ProblemKind};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/discipline", get(list))
        .route("/v1/discipline/{name}/{what}", post(describe))
}

/// The body of the discovery calls; no body at all means no options.
#[derive(Debug, Default, Deserialize)]
struct DisciplineOptions {
    #[serde(default)]
    discipline_options: Map<String, Value>,
}

/// The names of the disciplines on offer (their newest versions).
async fn list(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    require_ready(&state)?;
    Ok(Json(json!(names_on_offer(&state))))
}

async fn describe(
    State(state): State<AppState>,
    Path((name, what)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let body: DisciplineOptions = optional_json(&body)?;
    let process = find_process(&state, &name).map_err(|problem| with_available(&state, problem))?;
    let discipline = discipline_for(&state, &process, &body.discipline_options).await?;
    let answer = match what.as_str() {
        "input_names" => json!(discipline.input_names),
        "inputs_schema" => discipline.input_schema.clone(),
        "output_names" => json!(discipline.output_names),
        "outputs_schema" => open_to_inputs(&discipline.output_schema),
        "default_input_data" => Value::Object(discipline.default_inputs.clone()),
        _ => {
            return Err(Problem::new(
                ProblemKind::NotFound,
                format!(
                    "a discipline has no {what:?}: ask for input_names, inputs_schema, output_names, outputs_schema, default_input_data or execute"
                ),
            ));
        }
    };
    Ok(Json(answer))
}

/// The output schema as GEMSEO's output grammar needs it. GEMSEO validates the discipline's
/// whole data, inputs included, against its output grammar, so a top-level
/// `additionalProperties: false` would refuse every execution; the server itself still holds
/// the outputs to the schema as written.
fn open_to_inputs(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut()
        && object.get("additionalProperties") == Some(&Value::Bool(false))
    {
        object.remove("additionalProperties");
    }
    schema
}

/// The names of the disciplines on offer.
fn names_on_offer(state: &AppState) -> Vec<String> {
    let catalog = state.registry.catalog();
    catalog
        .newest()
        .map(|process| process.discipline.name.clone())
        .collect()
}

/// A missing discipline's problem, naming those on offer (as GEMSEO's server does).
fn with_available(state: &AppState, problem: Problem) -> Problem {
    if problem.kind() != ProblemKind::NoSuchProcess {
        return problem;
    }
    let names = names_on_offer(state).join(", ");
    let detail = format!("{}; the available ones are: {names}", problem.detail());
    Problem::new(ProblemKind::NoSuchProcess, detail)
}

/// A JSON body that may be absent (then `T::default()`); members the client adds are ignored,
/// as the reference server does.
pub(super) fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(body)
}
