//! Building the application from its configuration, and running it until asked to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{
    self, AuthMode, Authenticator, Bootstrap, LoginLimiter, PASSWORD_LINE, PASSWORD_THREADS,
    PasswordWorkers,
};
use crate::config::Config;
use crate::drain::Drain;
use crate::execution::Executor;
use crate::files::{DiskReserve, Disposal, Uploads};
use crate::http::{self, AppState, Shared};
use crate::registry::{self, Registry, Watch};
use crate::sandbox::Sandbox;
use crate::scheduler::collector::{self, Retention};
use crate::scheduler::{Scheduler, Webhooks};
use crate::store::JobStore;
use crate::workspace::WorkspacePool;

/// A server bound to its address, discovering its modules, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    address: SocketAddr,
    scheduler: Arc<Scheduler>,
    drain: Drain,
    client_timeouts: http::ClientTimeouts,
    registry: Arc<Registry>,
    first_run: Bootstrap,
    _watch: Option<Watch>,
}

impl Application {
    /// Sets up the sandbox, starts discovering the modules (`/ready` answers 200 once done),
    /// and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let policy = config.limit_policy();
        crate::descriptors::raise_limit(&config);
        let sandbox =
            Arc::new(Sandbox::new(config.sandbox_config()).context("setting up the sandbox")?);
        let disposal = quarantine(&config);
        let workspaces = WorkspacePool::start(
            &config.workspaces_dir(),
            config.execution.concurrency * 4,
            disposal.clone(),
        )
        .with_context(|| {
            format!(
                "preparing workspaces in {}",
                config.workspaces_dir().display()
            )
        })?;
        std::fs::create_dir_all(&config.modules_dir).with_context(|| {
            format!(
                "creating the modules directory {}",
                config.modules_dir.display()
            )
        })?;
        let registry = Arc::new(Registry::new(
            sandbox.clone(),
            &config.modules_dir,
            config.describe_limits(),
            config.modules.compile_threads,
        ));
        let watch = config
            .modules
            .watch
            .then(|| start_watching(&registry, config.modules.reload_debounce))
            .flatten();
        start_discovery(registry.clone());
        let executor = Arc::new(
            Executor::new(
                sandbox.clone(),
                workspaces,
                config.execution.concurrency,
                config.execution.sync_reserved,
                config.execution.queue,
                config.describe_limits(),
            )
            .context("starting the guest threads")?,
        );
        let database = config.jobs_database();
        let store = JobStore::open(&database)
            .await
            .with_context(|| format!("opening the job database {}", database.display()))?;
        let recovery = store
            .recover(config.jobs.max_attempts)
            .await
            .context("recovering jobs")?;
        if recovery != Default::default() {
            tracing::warn!(
                requeued = recovery.requeued,
                failed = recovery.failed,
                "recovered jobs left running by a stopped server"
            );
        }
        let first_run = match config.auth.mode {
            AuthMode::Tokens => auth::bootstrap(&store, config.auth.bootstrap_token.as_deref())
                .await
                .context("creating the first administrator")?,
            AuthMode::Open => Bootstrap::AlreadySetUp,
        };

        let scheduler = Scheduler::start(
            store.clone(),
            executor.clone(),
            registry.clone(),
            config.jobs_dir(),
            config.execution.concurrency,
            config.quotas.running_caps(),
            Webhooks::new(config.jobs.webhooks_to_private_networks)
                .context("building the callback client")?,
        );
        let uploads = Uploads::new(&config.uploads_dir(), config.http.max_upload_bytes)
            .context("preparing the uploads directory")?;
        uploads.remove_partials_at_start().log("at start");
        collector::start(
            store.clone(),
            Retention {
                max_age: config.jobs.retention,
                max_bytes: config.jobs.max_result_bytes,
                quotas: config.quotas.clone(),
                interval: config.jobs.gc_interval,
            },
            config.jobs_dir(),
            uploads.clone(),
            disposal,
        );
        let drain = Drain::default();
        let state = AppState::new(Shared {
            drain: drain.clone(),
            disk: DiskReserve {
                dir: config.data_dir.clone(),
                min_free_bytes: config.jobs.min_free_disk_bytes,
            },
            uploads,
            submission_gauges: Default::default(),
            registry: registry.clone(),
            executor,
            store: store.clone(),
            scheduler: scheduler.clone(),
            max_queued_jobs: config.jobs.max_queued,
            max_batch: config.jobs.max_batch,
            max_module_bytes: config.modules.max_bytes,
            limits: policy,
            auth: Arc::new(Authenticator::new(
                config.auth.mode,
                store.clone(),
                external_provider(&config)?,
                config.auth.cache_ttl,
            )),
            logins: LoginLimiter::new(config.auth.max_failed_logins, config.auth.login_lockout),
            passwords: PasswordWorkers::start(PASSWORD_THREADS, PASSWORD_LINE)?,
            token_lifetime: config.auth.token_lifetime,
            quotas: config.quotas.clone(),
            webhooks_to_private_networks: config.jobs.webhooks_to_private_networks,
        });
        let router = http::router(state, config.http.max_body_bytes);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            address,
            scheduler,
            drain,
            client_timeouts: http::ClientTimeouts {
                headers: config.http.header_timeout,
                body: config.http.body_timeout,
                drain: config.jobs.shutdown_grace,
            },
            registry,
            first_run,
            _watch: watch,
        })
    }

    /// Completes when the first discovery of the modules has finished (`/ready` then answers 200).
    pub fn readiness(&self) -> impl Future<Output = ()> + Send + 'static {
        let registry = self.registry.clone();
        async move { registry.wait_ready().await }
    }

    /// What the first run did: on a new database, the administrator `admin` was created, and
    /// its token is here when it was generated (to show once; it is stored only hashed).
    pub fn first_run(&self) -> &Bootstrap {
        &self.first_run
    }

    /// The address the server listens on (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then drains: new requests are refused (503) while the
    /// requests in flight finish (waits answer at once, queued synchronous executions are
    /// refused), no job is claimed, and running ones finish within the grace period (the
    /// others run again at the next start).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let scheduler = self.scheduler.clone();
        let drain = self.drain.clone();
        let stop_claiming = async move {
            shutdown.await;
            drain.begin();
            scheduler.stop_claiming();
        };
        http::serve(
            self.listener,
            self.router,
            self.client_timeouts,
            stop_claiming,
        )
        .await;
        let deadline = tokio::time::Instant::now() + self.client_timeouts.drain;
        while self.scheduler.running_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.scheduler.hand_back_running().await;
        Ok(())
    }
}

/// Discovers the modules off the async runtime; the registry turns ready when done.
fn start_discovery(registry: Arc<Registry>) {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        registry.discover();
        let catalog = registry.catalog();
        tracing::info!(
            modules = catalog.modules().len(),
            processes = catalog.newest().count(),
            compiled = registry.counters().compiled(),
            from_cache = registry.counters().cached(),
            elapsed = ?started.elapsed(),
            "discovery finished: ready"
        );
    });
}

/// The disposal of guest-written trees, quarantining under the data directory; trees left in
/// the quarantine by earlier runs are reported, for an operator to look at.
fn quarantine(config: &Config) -> Disposal {
    let disposal = Disposal::new(config.quarantine_dir());
    let waiting = disposal.quarantined();
    if waiting > 0 {
        tracing::warn!(
            trees = waiting,
            dir = %disposal.quarantine_dir().display(),
            "trees that could not be removed wait in the quarantine"
        );
    }
    disposal
}

/// Watches the modules directory; a watcher that cannot start (inotify limits, say) costs hot
/// reload, not the server.
fn start_watching(registry: &Arc<Registry>, debounce: std::time::Duration) -> Option<Watch> {
    match registry::watch(registry, debounce) {
        Ok(watch) => Some(watch),
        Err(error) => {
            let error = format!("{error:#}");
            tracing::warn!(dir = %registry.dir().display(), %error, "cannot watch the modules directory: changes need a restart");
            None
        }
    }
}

/// The OpenID Connect verifier, when an issuer is configured.
fn external_provider(config: &Config) -> anyhow::Result<Option<auth::oidc::OidcVerifier>> {
    let settings = &config.auth.oidc;
    if !settings.is_enabled() {
        return Ok(None);
    }
    let verifier = auth::oidc::OidcVerifier::new(settings.clone(), reqwest::Client::new())
        .context("configuring auth.oidc")?;
    Ok(Some(verifier))
}
