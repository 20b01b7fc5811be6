//! How an execution ended: the guest's own errors and every limit, told apart precisely.

use std::time::Duration;

use wasmtime::Trap;
use wasmtime::component::ResourceTableError;

use super::CallOutput;
use super::bindings::GuestError;
use super::state::ExecutionState;
use crate::files::usage::{MAX_DEPTH, Overrun};
use crate::limits::ExecutionLimits;

/// How many bytes of stderr are quoted when a guest crashes.
const STDERR_TAIL_BYTES: usize = 2048;

/// Why an execution produced no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SandboxError {
    /// The guest rejected its inputs or options.
    #[error("{0}")]
    InvalidInput(String),
    /// The guest reported a failure of its computation.
    #[error("{0}")]
    Failure(String),
    /// The fuel budget ran out.
    #[error("the execution ran out of fuel (budget: {budget})")]
    OutOfFuel {
        /// The budget it had.
        budget: u64,
    },
    /// The wall-clock deadline passed.
    #[error("the execution exceeded its deadline of {} ms", deadline.as_millis())]
    DeadlineExceeded {
        /// The deadline it had.
        deadline: Duration,
    },
    /// Somebody cancelled the execution.
    #[error("the execution was cancelled")]
    Cancelled,
    /// The guest tried to grow its memory past the cap.
    #[error("the guest tried to use more than its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The guest tried to hold more WASI handles (open files, directories, streams) than its cap.
    #[error("the guest tried to hold more than {limit} open descriptors and streams at once")]
    DescriptorLimit {
        /// The cap.
        limit: u64,
    },
    /// The workspace grew past one of its caps.
    #[error("the guest's workspace exceeded its limit of {limit} {what}")]
    WorkspaceLimit {
        /// Which cap: "bytes of disk", "entries" or "levels of directories".
        what: &'static str,
        /// The cap.
        limit: u64,
    },
    /// The guest's call stack overflowed.
    #[error("the guest overflowed its call stack")]
    StackOverflow,
    /// The guest trapped (a panic, an `unreachable`, a bad memory access…).
    #[error("the guest crashed: {trap}{}", stderr_suffix(stderr_tail))]
    Crashed {
        /// The trap, as wasmtime describes it.
        trap: String,
        /// The end of what the guest wrote on stderr (a Rust panic message lands there).
        stderr_tail: String,
    },
    /// The outputs, stdout, stderr or the log grew past their cap.
    #[error("the guest's {stream} exceeded the limit of {limit} bytes")]
    OutputTooLarge {
        /// Which stream: "outputs", "stdout", "stderr" or "log".
        stream: &'static str,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The host could not set the execution up (not the guest's fault).
    #[error("the execution could not be set up: {0}")]
    Setup(String),
}

fn stderr_suffix(stderr_tail: &str) -> String {
    if stderr_tail.is_empty() {
        String::new()
    } else {
        format!("; stderr ends with: {stderr_tail}")
    }
}

/// Raised from the epoch callback to stop a running guest.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub(super) enum Interruption {
    #[error("deadline exceeded")]
    Deadline,
    #[error("cancelled")]
    Cancelled,
    #[error("workspace limit exceeded")]
    Workspace(Overrun),
}

/// Turns what the call returned into the execution's result, checking every cap.
pub(super) fn settle(
    returned: wasmtime::Result<Result<CallOutput, GuestError>>,
    state: &ExecutionState,
    limits: &ExecutionLimits,
) -> Result<CallOutput, SandboxError> {
    let answer = match returned {
        Err(error) => return Err(classify_error(&error, state, limits)),
        Ok(answer) => answer,
    };
    check_streams(state, limits)?;
    let output = answer.map_err(|error| match error {
        GuestError::InvalidInput(message) => SandboxError::InvalidInput(message),
        GuestError::Failure(message) => SandboxError::Failure(message),
    })?;
    check_output_size(&output, limits)?;
    Ok(output)
}

/// Classifies an error raised while instantiating or calling the guest.
pub(super) fn classify_error(
    error: &wasmtime::Error,
    state: &ExecutionState,
    limits: &ExecutionLimits,
) -> SandboxError {
    if let Some(interruption) = error.downcast_ref::<Interruption>() {
        return interrupted(*interruption, limits);
    }
    if let Some(ResourceTableError::Full) = error.downcast_ref::<ResourceTableError>() {
        return SandboxError::DescriptorLimit {
            limit: limits.descriptors,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => SandboxError::OutOfFuel {
            budget: limits.fuel,
        },
        Some(Trap::StackOverflow) => SandboxError::StackOverflow,
        _ if state.memory.exceeded => SandboxError::MemoryLimit {
            limit: state.memory.cap(),
        },
        _ => match check_streams(state, limits) {
            Err(too_large) => too_large,
            Ok(()) => SandboxError::Crashed {
                trap: format!("{error:#}"),
                stderr_tail: stderr_tail(state),
            },
        },
    }
}

/// The error of an execution stopped by its deadline or by cancellation.
pub(super) fn interrupted(interruption: Interruption, limits: &ExecutionLimits) -> SandboxError {
    match interruption {
        Interruption::Deadline => SandboxError::DeadlineExceeded {
            deadline: limits.deadline,
        },
        Interruption::Cancelled => SandboxError::Cancelled,
        Interruption::Workspace(overrun) => workspace_limit(overrun, limits),
    }
}

/// The error of a workspace past one of its caps.
pub(super) fn workspace_limit(overrun: Overrun, limits: &ExecutionLimits) -> SandboxError {
    let (what, limit) = match overrun {
        Overrun::Bytes => ("bytes of disk", limits.workspace_bytes),
        Overrun::Entries => ("entries", limits.workspace_files),
        Overrun::Depth => ("levels of directories", MAX_DEPTH as u64),
    };
    SandboxError::WorkspaceLimit { what, limit }
}

fn check_streams(state: &ExecutionState, limits: &ExecutionLimits) -> Result<(), SandboxError> {
    let too_large = |stream| SandboxError::OutputTooLarge {
        stream,
        limit: limits.log_bytes,
    };
    if state.stdout.contents().len() as u64 > limits.log_bytes {
        return Err(too_large("stdout"));
    }
    if state.stderr.contents().len() as u64 > limits.log_bytes {
        return Err(too_large("stderr"));
    }
    if state.logs.overflowed {
        return Err(too_large("log"));
    }
    Ok(())
}

fn check_output_size(output: &CallOutput, limits: &ExecutionLimits) -> Result<(), SandboxError> {
    let (stream, size) = match output {
        CallOutput::Description(description) => ("description", description.size()),
        CallOutput::Outputs(outputs) => ("outputs", outputs.len()),
        CallOutput::Linearization { outputs, jacobian } => {
            ("outputs", outputs.len() + jacobian.len())
        }
    };
    if size as u64 > limits.output_bytes {
        return Err(SandboxError::OutputTooLarge {
            stream,
            limit: limits.output_bytes,
        });
    }
    Ok(())
}

fn stderr_tail(state: &ExecutionState) -> String {
    let stderr = state.stderr.contents();
    let start = stderr.len().saturating_sub(STDERR_TAIL_BYTES);
    String::from_utf8_lossy(&stderr[start..]).trim().to_owned()
}
