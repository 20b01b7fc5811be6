//! The landing page, conformance, health, readiness and the problem-type documentation.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::processes::require_ready;
use crate::problem::{Problem, ProblemKind};

/// The OGC API – Processes conformance classes this server implements (Part 2 with WebAssembly
/// components as the package).
const CONFORMANCE: [&str; 7] = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback",
    "http://www.opengis.net/spec/ogcapi-processes-2/1.0/conf/deploy-replace-undeploy",
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/conformance", get(conformance))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/problems/{slug}", get(problem_type))
}

async fn landing() -> Json<Value> {
    Json(json!({
        "title": "Disciplines",
        "description": "Numerical disciplines compiled to WebAssembly components, run in a sandbox.",
        "links": [
            link("/", "self", "this document"),
            link("/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", "conformance classes"),
            link("/processes", "http://www.opengis.net/def/rel/ogc/1.0/processes", "processes"),
            link("/jobs", "http://www.opengis.net/def/rel/ogc/1.0/job-list", "jobs"),
        ],
    }))
}

fn link(href: &str, rel: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": "application/json", "title": title})
}

async fn conformance() -> Json<Value> {
    Json(json!({ "conformsTo": CONFORMANCE }))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 once the first discovery has finished, 503 not-ready before.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    require_ready(&state)?;
    let catalog = state.registry.catalog();
    let (running, waiting) = state.executor.load();
    let broken = catalog
        .modules()
        .iter()
        .filter(|module| module.status == "broken")
        .count();
    let counters = state.registry.counters();
    Ok(Json(json!({
        "status": "ready",
        "processes": catalog.newest().count(),
        "brokenModules": broken,
        "modulesCompiled": counters.compiled(),
        "modulesFromCache": counters.cached(),
        "modulesRescans": state.registry.rescans(),
        "quarantinedTrees": state.executor.disposal().quarantined(),
        "executions": {"running": running, "waiting": waiting},
        "jobs": {"running": state.scheduler.running_count()},
    })))
}

async fn problem_type(Path(slug): Path<String>) -> Result<Json<Value>, Problem> {
    let kind = ProblemKind::ALL
        .into_iter()
        .find(|kind| kind.slug() == slug)
        .ok_or_else(|| Problem::new(ProblemKind::NotFound, format!("no problem type {slug:?}")))?;
    Ok(Json(json!({
        "type": kind.type_uri(),
        "title": kind.title(),
        "status": kind.status().as_u16(),
        "description": kind.explanation(),
    })))
}

pub(super) async fn not_found() -> Problem {
    Problem::new(ProblemKind::NotFound, "no resource at this path")
}

pub(super) async fn method_not_allowed() -> Problem {
    Problem::new(
        ProblemKind::MethodNotAllowed,
        "this resource does not accept this method",
    )
}
