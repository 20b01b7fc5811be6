//! The HTTP API, shaped on OGC API – Processes 1.0: each area owns its router.

mod accounts;
mod auth;
mod deploy;
mod execute;
mod extract;
mod files;
mod gemseo;
mod jobs;
mod landing;
mod linger;
mod processes;
mod refusals;
mod security;
mod serve;
mod submit;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower::Layer;

pub use crate::problem::{Problem, ProblemKind};
pub use refusals::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_URI_BYTES};
pub use serve::{ClientTimeouts, serve};

use crate::auth::{Authenticator, LoginLimiter};
use crate::drain::Drain;
use crate::execution::Executor;
use crate::files::Uploads;
use crate::limits::LimitPolicy;
use crate::quotas::Quotas;
use crate::registry::Registry;
use crate::scheduler::Scheduler;
use crate::store::JobStore;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    /// The processes on offer.
    pub registry: Arc<Registry>,
    /// Runs guests.
    pub executor: Arc<Executor>,
    /// Jobs, in SQL.
    pub store: JobStore,
    /// Runs jobs.
    pub scheduler: Arc<Scheduler>,
    /// The most jobs that may wait; past it, submissions get 503.
    pub max_queued_jobs: u64,
    /// The most items in one batch.
    pub max_batch: u64,
    /// The largest module `POST /processes` accepts, in bytes.
    pub max_module_bytes: u64,
    /// Uploaded files.
    pub uploads: Uploads,
    /// The queue lengths and storage that caps and quotas check, without a count per submission.
    pub submission_gauges: submit::SubmissionGauges,
    /// Default and maximum limits.
    pub limits: LimitPolicy,
    /// Turns bearer tokens into callers.
    pub auth: Arc<Authenticator>,
    /// Login attempts and failures per user name and client address.
    pub logins: LoginLimiter,
    /// The threads that hash and verify passwords.
    pub passwords: crate::auth::PasswordWorkers,
    /// Lifetime of the tokens `POST /token` issues.
    pub token_lifetime: std::time::Duration,
    /// Per-user quotas.
    pub quotas: Quotas,
    /// Whether callbacks may go to loopback and private addresses.
    pub webhooks_to_private_networks: bool,
    /// Raised at shutdown: new requests are refused, waits answer now.
    pub drain: Drain,
    /// The data directory's disk and the free space it keeps.
    pub disk: crate::files::DiskReserve,
}

impl AppState {
    /// Wraps the shared state.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let protected = Router::new()
        .merge(processes::router())
        .merge(deploy::router())
        .merge(execute::router())
        .merge(jobs::router())
        .merge(files::router())
        .merge(gemseo::router())
        .merge(accounts::router().layer(DefaultBodyLimit::max(security::ACCOUNT_BODY_BYTES)))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    let api = Router::new()
        .merge(landing::router())
        .merge(accounts::public_router().layer(DefaultBodyLimit::max(security::ACCOUNT_BODY_BYTES)))
        .merge(protected)
        .fallback(landing::not_found)
        .method_not_allowed_fallback(landing::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state.clone());
    // Around the whole router, once per request: `Router::layer` would wrap (and clone, per
    // request) each route's own service.
    let refusing = axum::middleware::from_fn_with_state(state, refusals::refuse_as_problems);
    security::with_security_headers(Router::new().fallback_service(refusing.layer(api)))
}
