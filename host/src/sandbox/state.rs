//! What one store holds for one execution: WASI context, captured streams, limits, progress and logs.

use std::path::Path;

use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, ResourceTable, WasiCtx, WasiCtxBuilder};

use super::{ExecutionObserver, GuestLogLevel, GuestLogLine};
use crate::limits::ExecutionLimits;

/// The longest progress message kept, in bytes; longer ones are cut.
const MAX_PROGRESS_MESSAGE_BYTES: usize = 1024;

/// The data of one `Store`: never shared, dropped with the store at the end of its execution.
pub(super) struct ExecutionState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) memory: MemoryCap,
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) logs: CappedLog,
    observer: Box<dyn ExecutionObserver>,
}

impl ExecutionState {
    /// A state whose only filesystem is `workspace`, seen by the guest as `/`; no network, no
    /// environment, no arguments, no stdin; stdout and stderr captured up to the log cap.
    pub(super) fn new(
        workspace: Option<&Path>,
        limits: &ExecutionLimits,
        observer: Box<dyn ExecutionObserver>,
    ) -> std::io::Result<Self> {
        let log_cap = usize::try_from(limits.log_bytes).unwrap_or(usize::MAX);
        // One byte beyond the cap tells "exactly at the cap" from "past it".
        let stdout = MemoryOutputPipe::new(log_cap.saturating_add(1));
        let stderr = MemoryOutputPipe::new(log_cap.saturating_add(1));
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_blocking_current_thread(true);
        if let Some(workspace) = workspace {
            builder
                .preopened_dir(workspace, "/", FsPerms::ReadWrite)
                .map_err(std::io::Error::other)?;
        }
        let mut table = ResourceTable::new();
        table.set_max_capacity(usize::try_from(limits.descriptors).unwrap_or(usize::MAX));
        Ok(Self {
            wasi: builder.build(),
            table,
            memory: MemoryCap::new(limits.memory_bytes),
            stdout,
            stderr,
            logs: CappedLog::new(log_cap),
            observer,
        })
    }

    pub(super) fn record_progress(&mut self, fraction: f64, mut message: String) {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        truncate_at_char_boundary(&mut message, MAX_PROGRESS_MESSAGE_BYTES);
        self.observer.progress(fraction, &message);
    }

    pub(super) fn record_log(&mut self, level: GuestLogLevel, message: String) {
        self.logs.push(level, message);
    }
}

/// Refuses memory growth past the cap and remembers that it did, so that the trap that follows
/// (an allocation failure inside the guest) is reported as the memory limit.
pub(super) struct MemoryCap {
    cap: usize,
    pub(super) exceeded: bool,
}

impl MemoryCap {
    fn new(cap: u64) -> Self {
        Self {
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            exceeded: false,
        }
    }

    pub(super) fn cap(&self) -> u64 {
        self.cap as u64
    }
}

/// Tables are bounded by the pooling allocator's slot size; this only bounds runaway growth.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The guest's `log` lines, kept up to a total size; past it, lines are dropped and the
/// overflow is remembered (the execution then fails as "output too large").
pub(super) struct CappedLog {
    lines: Vec<GuestLogLine>,
    used: usize,
    cap: usize,
    pub(super) overflowed: bool,
}

impl CappedLog {
    fn new(cap: usize) -> Self {
        Self {
            lines: Vec::new(),
            used: 0,
            cap,
            overflowed: false,
        }
    }

    fn push(&mut self, level: GuestLogLevel, message: String) {
        if self.used.saturating_add(message.len()) > self.cap {
            self.overflowed = true;
            return;
        }
        self.used += message.len();
        self.lines.push(GuestLogLine { level, message });
    }

    pub(super) fn into_lines(self) -> Vec<GuestLogLine> {
        self.lines
    }
}

fn truncate_at_char_boundary(text: &mut String, max_bytes: usize) {
    if text.len() <= max_bytes {
        return;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}
