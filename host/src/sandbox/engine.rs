//! The wasmtime engine: its fixed choices (components, fuel, epochs, pooling) and the epoch ticker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::SandboxConfig;

/// Stack left to host functions (WASI, the contract's imports) on a guest's fiber.
const HOST_STACK_BYTES: usize = 1 << 20;

/// Builds the one engine every component of this server is compiled for.
pub(super) fn build_engine(config: &SandboxConfig) -> wasmtime::Result<Engine> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .consume_fuel(config.fuel_metering)
        .epoch_interruption(true)
        .max_wasm_stack(config.max_wasm_stack_bytes)
        // Guests run on fibers (async calls); host functions get what the wasm stack leaves.
        .async_stack_size(config.max_wasm_stack_bytes.saturating_add(HOST_STACK_BYTES))
        // Traps carry no wasm backtrace: capturing one costs tens of µs per trap and the
        // guest's own stderr says more to its author.
        .wasm_backtrace_max_frames(None)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(config)));
    Engine::new(&wasm)
}

/// The pooling allocator, tuned as measured in `shared/reference/wasmtime-48.md`: keeping a
/// little memory resident per slot and `pagemap_scan` make a fresh instance cost ≈ 16 µs.
fn pooling(config: &SandboxConfig) -> PoolingAllocationConfig {
    let instances = config.max_live_instances;
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(16))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        .total_stacks(instances)
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX))
        .table_elements(100_000)
        .max_core_instance_size(16 << 20)
        .max_component_instance_size(16 << 20)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    pooling
}

/// Advances the engine's epoch every `tick` while guests run, and sleeps once none has run for
/// [`IDLE_BEFORE_SLEEP`]: an idle server is not woken 200 times a second.
pub(super) struct EpochTicker {
    running: Arc<AtomicUsize>,
    thread: Thread,
}

/// A guest running: the ticker ticks while one of these lives.
pub(super) struct Running<'a>(&'a EpochTicker);

impl EpochTicker {
    /// Starts the ticker thread; it ends when the engine is dropped.
    pub(super) fn start(engine: Weak<Engine>, tick: Duration) -> std::io::Result<Self> {
        let running = Arc::new(AtomicUsize::new(0));
        let counted = running.clone();
        let thread = thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || tick_while_running(&engine, &counted, tick))?
            .thread()
            .clone();
        Ok(Self { running, thread })
    }

    /// Marks a guest as running until the returned guard is dropped.
    pub(super) fn running(&self) -> Running<'_> {
        if self.running.fetch_add(1, Ordering::AcqRel) == 0 {
            self.thread.unpark();
        }
        Running(self)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

fn tick_while_running(engine: &Weak<Engine>, running: &AtomicUsize, tick: Duration) {
    let mut idle_since = Instant::now();
    loop {
        if running.load(Ordering::Acquire) > 0 {
            idle_since = Instant::now();
        } else if idle_since.elapsed() >= IDLE_BEFORE_SLEEP {
            // An unpark that came before this park makes it return at once: no wake-up is lost.
            thread::park_timeout(IDLE_CHECK);
            idle_since = Instant::now();
        }
        let Some(engine) = engine.upgrade() else {
            return;
        };
        engine.increment_epoch();
        drop(engine);
        thread::sleep(tick);
    }
}

/// How long the ticker goes on after the last guest ended: back-to-back executions then
/// never wait for it to wake, and a server idle for longer is not woken at all.
const IDLE_BEFORE_SLEEP: Duration = Duration::from_secs(1);

/// How often an idle ticker looks whether its engine is gone.
const IDLE_CHECK: Duration = Duration::from_secs(10);
