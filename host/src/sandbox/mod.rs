//! The sandbox: the only module that imports wasmtime.
//!
//! It fixes the engine's choices (component model, fuel, epoch interruption, pooling allocator),
//! compiles and caches components, and runs one call of the discipline contract in a fresh
//! `Store` per execution, with fuel, memory and wall-clock limits and the execution's own
//! workspace as the guest's only filesystem.

mod bindings;
mod cache;
mod compiler;
mod engine;
mod outcome;
mod run;
mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::Linker;

pub use compiler::{COMPILE_SUBCOMMAND, ChildCompiler, Compilation, CompileArgs, compile_child};
pub use outcome::SandboxError;
pub use run::{ExecutionReport, GuestWorkspace};

use crate::discipline::ModuleDigest;
use state::ExecutionState;

/// How the sandbox is set up; fixed for the life of the server.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Count fuel (deterministic instruction budget); costs ≈ 40 % in tight loops.
    pub fuel_metering: bool,
    /// The largest memory cap any execution may get (the pooling allocator's slot size).
    pub max_memory_bytes: u64,
    /// How many instances may be alive at once (executions plus descriptions).
    pub max_live_instances: u32,
    /// Wasm stack size; deeper recursion traps with "stack overflow".
    pub max_wasm_stack_bytes: usize,
    /// Resolution of deadlines and cancellation.
    pub epoch_tick: Duration,
    /// Where precompiled artifacts are kept across restarts.
    pub cache_dir: PathBuf,
    /// Where untrusted modules are compiled: in a bounded child process, or in this one.
    pub compilation: Compilation,
}

/// Compiles components and runs calls on them.
pub struct Sandbox {
    engine: Arc<Engine>,
    ticker: engine::EpochTicker,
    linker: Linker<ExecutionState>,
    cache: cache::ArtifactCache,
    config: SandboxConfig,
}

/// A component compiled and linked against the contract, ready to instantiate.
pub struct LoadedComponent {
    pre: bindings::DisciplineComponentPre<ExecutionState>,
    /// How the compiled code was obtained.
    pub provenance: Provenance,
}

/// Whether a component was compiled now or loaded from the artifact cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Compiled from its bytes (and then written to the cache).
    Compiled,
    /// Loaded from a precompiled artifact this server wrote earlier.
    Cached,
}

/// One call of the discipline contract.
#[derive(Debug, Clone)]
pub enum Call {
    /// `describe(options)`.
    Describe {
        /// Options as a JSON object.
        options: String,
    },
    /// `execute(inputs, options)`.
    Execute {
        /// Complete inputs as a JSON object.
        inputs: String,
        /// Options as a JSON object.
        options: String,
    },
    /// `linearize(inputs, options, inputs-to-differentiate, outputs-to-differentiate)`.
    Linearize {
        /// Complete inputs as a JSON object.
        inputs: String,
        /// Options as a JSON object.
        options: String,
        /// Inputs to differentiate with respect to (empty: all).
        with_respect_to: Vec<String>,
        /// Outputs to differentiate (empty: all).
        of: Vec<String>,
    },
}

/// What a successful call returned, as the guest's JSON text.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutput {
    /// The answer to `describe`.
    Description(GuestDescription),
    /// The outputs object of `execute`.
    Outputs(String),
    /// The outputs object and the Jacobian of `linearize`.
    Linearization {
        /// The outputs object.
        outputs: String,
        /// `{output: {input: matrix}}`.
        jacobian: String,
    },
}

/// The guest's self-description, not yet checked by the host.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestDescription {
    /// Discipline name (the process id).
    pub name: String,
    /// Discipline version.
    pub version: String,
    /// Human description.
    pub description: String,
    /// JSON Schema of the inputs, as text.
    pub input_schema: String,
    /// JSON Schema of the outputs, as text.
    pub output_schema: String,
    /// Default inputs object, as text.
    pub default_inputs: String,
    /// Whether `linearize` computes a Jacobian.
    pub has_jacobian: bool,
}

impl GuestDescription {
    /// Its size in bytes: every text it holds.
    pub fn size(&self) -> usize {
        [
            &self.name,
            &self.version,
            &self.description,
            &self.input_schema,
            &self.output_schema,
            &self.default_inputs,
        ]
        .iter()
        .map(|text| text.len())
        .sum()
    }
}

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestLogLevel {
    /// Finest detail.
    Trace,
    /// Detail for the author.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the guest survived.
    Warn,
    /// Something failed.
    Error,
}

/// One line the guest sent through the `log` import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuestLogLine {
    /// Its severity.
    pub level: GuestLogLevel,
    /// Its text.
    pub message: String,
}

/// Receives what a guest reports while it runs.
pub trait ExecutionObserver: Send {
    /// The guest reported progress (`fraction` already clamped to [0, 1]).
    fn progress(&mut self, fraction: f64, message: &str);
}

/// An observer that ignores progress.
#[derive(Debug, Default)]
pub struct IgnoreProgress;

impl ExecutionObserver for IgnoreProgress {
    fn progress(&mut self, _fraction: f64, _message: &str) {}
}

/// Asks a running execution to stop: running wasm traps at the next epoch tick, a guest blocked
/// in a host call is abandoned at once.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    woken: tokio::sync::Notify,
}

impl CancelFlag {
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
        self.0.woken.notify_waiters();
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Relaxed)
    }

    /// Completes once cancellation is requested.
    async fn cancelled(&self) {
        loop {
            let woken = self.0.woken.notified();
            let mut woken = std::pin::pin!(woken);
            woken.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            woken.await;
        }
    }
}

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are a core wasm module, not a component.
    #[error("this is a core WebAssembly module, not a component: build it for wasm32-wasip2")]
    CoreModule,
    /// The bytes are not WebAssembly, or not valid.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// The component does not implement the contract, or imports what the host does not offer.
    #[error("does not implement the discipline contract disciplines:discipline@0.1.0: {0}")]
    WrongContract(String),
    /// Compiling ran past its time or memory bound, or the compiler failed.
    #[error("{0}")]
    CompileFailed(String),
}

impl Sandbox {
    /// Builds the engine and linker, and starts the epoch ticker.
    pub fn new(config: SandboxConfig) -> anyhow::Result<Self> {
        let engine = Arc::new(engine::build_engine(&config)?);
        let ticker = engine::EpochTicker::start(Arc::downgrade(&engine), config.epoch_tick)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::DisciplineComponent::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state| state,
        )?;
        let cache = cache::ArtifactCache::open(&config.cache_dir, &engine, &config)?;
        Ok(Self {
            engine,
            ticker,
            linker,
            cache,
            config,
        })
    }

    /// Whether fuel is counted.
    pub fn fuel_metering(&self) -> bool {
        self.config.fuel_metering
    }

    /// Compiles (or loads from the artifact cache) and links a component. Blocking: call it
    /// off the async runtime.
    pub fn load(&self, bytes: &[u8], digest: &ModuleDigest) -> Result<LoadedComponent, LoadError> {
        let (component, provenance) =
            self.cache
                .load_or_compile(&self.engine, &self.config, bytes, digest)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::WrongContract(format!("{error:#}")))?;
        let pre = bindings::DisciplineComponentPre::new(pre)
            .map_err(|error| LoadError::WrongContract(format!("{error:#}")))?;
        Ok(LoadedComponent { pre, provenance })
    }
}
