//! `GET /processes`, `GET /processes/{id}` (OGC process list and description; `{id}` may pin a
//! version or the exact bytes) and `GET /modules`; the deployment routes on the same paths are
//! `deploy.rs`'s.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::extract::{ApiQuery, parse_json};
use crate::discipline::Discipline;
use crate::problem::{Problem, ProblemKind};
use crate::registry::{Catalog, Process, ProcessRef};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/processes", get(list_processes))
        .route("/processes/{id}", get(describe_process))
        .route("/modules", get(list_modules))
}

async fn list_processes(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    require_ready(&state)?;
    let catalog = state.registry.catalog();
    let processes: Vec<Value> = catalog
        .newest()
        .map(|process| summary(&catalog, process))
        .collect();
    Ok(Json(json!({
        "processes": processes,
        "links": [{"href": "/processes", "rel": "self", "type": "application/json"}],
    })))
}

#[derive(Deserialize)]
struct DescribeQuery {
    /// Discipline options as JSON text, e.g. `{"dimension": 3}`.
    options: Option<String>,
}

async fn describe_process(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DescribeQuery>,
) -> Result<Json<Value>, Problem> {
    let process = find_process(&state, &id)?;
    let options: Map<String, Value> = match &query.options {
        None => Map::new(),
        Some(text) => parse_json(text.as_bytes())?,
    };
    let discipline = discipline_for(&state, &process, &options).await?;
    let catalog = state.registry.catalog();
    Ok(Json(description(&catalog, &discipline, &process)))
}

/// Finds the module `id` names (`name`, `name@version` or `name@sha256:…`), or answers OGC's
/// no-such-process.
pub(super) fn find_process(state: &AppState, id: &str) -> Result<Arc<Process>, Problem> {
    require_ready(state)?;
    let reference = ProcessRef::parse(id);
    state
        .registry
        .catalog()
        .resolve(&reference)
        .cloned()
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::NoSuchProcess,
                format!("no process has the id {id:?}"),
            )
        })
}

/// Answers 503 not-ready while the first discovery runs: an unknown id might yet exist.
pub(super) fn require_ready(state: &AppState) -> Result<(), Problem> {
    if state.registry.is_ready() {
        return Ok(());
    }
    Err(Problem::new(
        ProblemKind::NotReady,
        "the server is still discovering its modules",
    ))
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
    let catalog = state.registry.catalog();
    Json(json!({ "modules": catalog.modules() }))
}

/// The OGC process summary of a module, extended with its digest and every version on offer.
pub(super) fn summary(catalog: &Catalog, process: &Process) -> Value {
    let discipline = &process.discipline;
    let versions: Vec<&str> = catalog
        .versions(&discipline.name)
        .iter()
        .map(|other| other.discipline.version.as_str())
        .collect();
    let href = format!("/processes/{}", discipline.name);
    json!({
        "id": discipline.name,
        "title": discipline.name,
        "description": discipline.description,
        "version": discipline.version,
        "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
        "outputTransmission": ["value"],
        "moduleDigest": process.digest.to_string(),
        "versions": versions,
        "links": [{
            "href": href,
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
            "type": "application/json",
            "title": "process description",
        }],
    })
}

/// An OGC process description, extended with the whole schemas, defaults and module digest.
fn description(catalog: &Catalog, discipline: &Discipline, process: &Process) -> Value {
    let mut document = summary(catalog, process);
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
