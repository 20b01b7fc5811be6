//! `GET /processes`, `GET /processes/{id}` (OGC process list and description) and `GET /modules`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::extract::parse_json;
use crate::discipline::Discipline;
use crate::problem::{Problem, ProblemKind};
use crate::registry::Process;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/processes", get(list_processes))
        .route("/processes/{id}", get(describe_process))
        .route("/modules", get(list_modules))
}

async fn list_processes(State(state): State<AppState>) -> Json<Value> {
    let processes: Vec<Value> = state
        .registry
        .processes()
        .map(|process| summary(&process.discipline, process))
        .collect();
    Json(json!({
        "processes": processes,
        "links": [{"href": "/processes", "rel": "self", "type": "application/json"}],
    }))
}

#[derive(Deserialize)]
struct DescribeQuery {
    /// Discipline options as JSON text, e.g. `{"dimension": 3}`.
    options: Option<String>,
}

async fn describe_process(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DescribeQuery>,
) -> Result<Json<Value>, Problem> {
    let process = find_process(&state, &id)?;
    let options: Map<String, Value> = match &query.options {
        None => Map::new(),
        Some(text) => parse_json(text.as_bytes())?,
    };
    let discipline = discipline_for(&state, process, &options).await?;
    Ok(Json(description(&discipline, process)))
}

/// Finds a process or answers OGC's no-such-process.
pub(super) fn find_process<'a>(state: &'a AppState, id: &str) -> Result<&'a Arc<Process>, Problem> {
    state.registry.process(id).ok_or_else(|| {
        Problem::new(
            ProblemKind::NoSuchProcess,
            format!("no process has the id {id:?}"),
        )
    })
}

/// The process's description for these options, asking the guest when not yet known.
pub(super) async fn discipline_for(
    state: &AppState,
    process: &Arc<Process>,
    options: &Map<String, Value>,
) -> Result<Arc<Discipline>, Problem> {
    let described = state
        .executor
        .describe(process, options)
        .await
        .map_err(|busy| Problem::new(ProblemKind::ServerBusy, busy.to_string()))?;
    described.map_err(|reason| {
        Problem::new(ProblemKind::InvalidOptions, reason).with("pointer", "/options")
    })
}

async fn list_modules(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "modules": state.registry.modules() }))
}

fn summary(discipline: &Discipline, process: &Process) -> Value {
    let href = format!("/processes/{}", discipline.name);
    json!({
        "id": discipline.name,
        "title": discipline.name,
        "description": discipline.description,
        "version": discipline.version,
        "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
        "outputTransmission": ["value"],
        "moduleDigest": process.digest.to_string(),
        "links": [{
            "href": href,
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
            "type": "application/json",
            "title": "process description",
        }],
    })
}

/// An OGC process description, extended with the whole schemas, defaults and module digest.
fn description(discipline: &Discipline, process: &Process) -> Value {
    let mut document = summary(discipline, process);
    let inputs: Map<String, Value> = property_schemas(&discipline.input_schema)
        .map(|(name, schema)| {
            let has_default = discipline.default_inputs.contains_key(name);
            let mut input = json!({
                "title": name,
                "schema": schema,
                "minOccurs": if has_default { 0 } else { 1 },
                "maxOccurs": 1,
            });
            if let Some(default) = discipline.default_inputs.get(name) {
                input["default"] = default.clone();
            }
            (name.clone(), input)
        })
        .collect();
    let outputs: Map<String, Value> = property_schemas(&discipline.output_schema)
        .map(|(name, schema)| (name.clone(), json!({"title": name, "schema": schema})))
        .collect();
    let execute = format!("/processes/{}/execution", discipline.name);
    if let Some(object) = document.as_object_mut() {
        object.insert("inputs".into(), Value::Object(inputs));
        object.insert("outputs".into(), Value::Object(outputs));
        object.insert("inputSchema".into(), discipline.input_schema.clone());
        object.insert("outputSchema".into(), discipline.output_schema.clone());
        object.insert(
            "defaultInputs".into(),
            Value::Object(discipline.default_inputs.clone()),
        );
        object.insert("inputNames".into(), json!(discipline.input_names));
        object.insert("outputNames".into(), json!(discipline.output_names));
        object.insert("hasJacobian".into(), json!(discipline.has_jacobian));
        object.insert(
            "links".into(),
            json!([{
                "href": execute,
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute",
                "type": "application/json",
                "title": "execute",
            }]),
        );
    }
    document
}

fn property_schemas(schema: &Value) -> impl Iterator<Item = (&String, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|properties| properties.iter())
}
