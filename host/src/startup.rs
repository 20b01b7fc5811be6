//! Building the application from its configuration, and running it until asked to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::execution::Executor;
use crate::http::{self, AppState, Shared};
use crate::registry::Registry;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::workspace::WorkspacePool;

/// A server bound to its address, with its modules discovered, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    address: SocketAddr,
}

impl Application {
    /// Sets up the sandbox, discovers the modules, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let policy = config.limit_policy();
        let sandbox =
            Arc::new(Sandbox::new(sandbox_config(&config)).context("setting up the sandbox")?);
        let workspaces =
            WorkspacePool::start(&config.workspaces_dir(), config.execution.concurrency * 4)
                .with_context(|| {
                    format!(
                        "preparing workspaces in {}",
                        config.workspaces_dir().display()
                    )
                })?;
        let registry = {
            let sandbox = sandbox.clone();
            let modules_dir = config.modules_dir.clone();
            let limits = policy.default;
            tokio::task::spawn_blocking(move || Registry::discover(&sandbox, &modules_dir, &limits))
                .await
                .context("discovering modules")?
        };
        let executor = Executor::new(
            sandbox.clone(),
            workspaces,
            config.execution.concurrency,
            config.execution.queue,
            policy.default,
        )
        .context("starting the guest threads")?;
        let state = AppState::new(Shared {
            registry: Arc::new(registry),
            executor,
            limits: policy,
            fuel_metering: sandbox.fuel_metering(),
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
        })
    }

    /// The address the server listens on (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")
    }
}

fn sandbox_config(config: &Config) -> SandboxConfig {
    let live = config
        .execution
        .concurrency
        .saturating_mul(2)
        .saturating_add(8);
    SandboxConfig {
        fuel_metering: config.sandbox.fuel_metering,
        max_memory_bytes: config.limits.maximum.memory_bytes,
        max_live_instances: u32::try_from(live).unwrap_or(u32::MAX),
        max_wasm_stack_bytes: config.sandbox.max_wasm_stack_bytes,
        epoch_tick: config.sandbox.epoch_tick,
        cache_dir: config.cache_dir(),
    }
}
