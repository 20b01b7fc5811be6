//! One execution: a fresh store, limits armed, one call, the outcome settled, the store dropped.

use std::path::Path;
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

use super::bindings::{DisciplineComponentPre, GuestError};
use super::outcome::{self, Interruption, SandboxError};
use super::state::ExecutionState;
use super::{
    Call, CallOutput, CancelFlag, ExecutionObserver, GuestDescription, GuestLogLine,
    LoadedComponent, Sandbox,
};
use crate::limits::ExecutionLimits;

/// Everything one execution produced.
#[derive(Debug, Clone)]
pub struct ExecutionReport {
    /// The guest's answer, or why there is none.
    pub result: Result<CallOutput, SandboxError>,
    /// Fuel burnt, when metering is on.
    pub fuel_consumed: Option<u64>,
    /// Wall time from the store's creation to the end of the call.
    pub duration: Duration,
    /// Captured stdout (at most the log cap plus one byte).
    pub stdout: Vec<u8>,
    /// Captured stderr (at most the log cap plus one byte).
    pub stderr: Vec<u8>,
    /// Lines from the `log` import.
    pub logs: Vec<GuestLogLine>,
}

impl Sandbox {
    /// Runs one call in a fresh instance. Blocking: call it off the async runtime.
    ///
    /// `workspace`, when given, becomes the guest's whole filesystem (seen as `/`).
    pub fn run(
        &self,
        component: &LoadedComponent,
        call: &Call,
        limits: &ExecutionLimits,
        workspace: Option<&Path>,
        observer: Box<dyn ExecutionObserver>,
        cancel: &CancelFlag,
    ) -> ExecutionReport {
        let started = Instant::now();
        let state = match ExecutionState::new(workspace, limits, observer) {
            Ok(state) => state,
            Err(error) => return setup_failure(started, format!("workspace: {error}")),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        if self.config.fuel_metering
            && let Err(error) = store.set_fuel(limits.fuel)
        {
            return setup_failure(started, format!("{error:#}"));
        }
        arm_deadline(&mut store, started + limits.deadline, cancel.clone());
        let returned = invoke(&mut store, &component.pre, call);
        let fuel_consumed = self
            .config
            .fuel_metering
            .then(|| limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)));
        let state = store.into_data();
        let result = match returned {
            Invocation::NotInstantiated(error) => Err(instantiation_error(&error, &state, limits)),
            Invocation::Called(returned) => outcome::settle(returned, &state, limits),
        };
        let duration = started.elapsed();
        ExecutionReport {
            result,
            fuel_consumed,
            duration,
            stdout: state.stdout.contents().to_vec(),
            stderr: state.stderr.contents().to_vec(),
            logs: state.logs.into_lines(),
        }
    }
}

/// Checks the deadline and the cancellation flag on every epoch tick.
fn arm_deadline(store: &mut Store<ExecutionState>, deadline: Instant, cancel: CancelFlag) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if cancel.is_cancelled() {
            return Err(Interruption::Cancelled.into());
        }
        if Instant::now() >= deadline {
            return Err(Interruption::Deadline.into());
        }
        Ok(UpdateDeadline::Continue(1))
    });
}

enum Invocation {
    NotInstantiated(wasmtime::Error),
    Called(wasmtime::Result<Result<CallOutput, GuestError>>),
}

fn invoke(
    store: &mut Store<ExecutionState>,
    pre: &DisciplineComponentPre<ExecutionState>,
    call: &Call,
) -> Invocation {
    let instance = match pre.instantiate(&mut *store) {
        Ok(instance) => instance,
        Err(error) => return Invocation::NotInstantiated(error),
    };
    let api = instance.disciplines_discipline_discipline();
    let returned = match call {
        Call::Describe { options } => api
            .call_describe(&mut *store, options)
            .map(|answer| answer.map(|description| CallOutput::Description(description.into()))),
        Call::Execute { inputs, options } => api
            .call_execute(&mut *store, inputs, options)
            .map(|answer| answer.map(CallOutput::Outputs)),
        Call::Linearize {
            inputs,
            options,
            with_respect_to,
            of,
        } => api
            .call_linearize(&mut *store, inputs, options, with_respect_to, of)
            .map(|answer| {
                answer.map(|linearization| CallOutput::Linearization {
                    outputs: linearization.outputs,
                    jacobian: linearization.jacobian,
                })
            }),
    };
    Invocation::Called(returned)
}

/// Instantiation fails on a memory cap below the component's initial memory, on a deadline
/// or cancellation, or because the pool is exhausted (the host's side).
fn instantiation_error(
    error: &wasmtime::Error,
    state: &ExecutionState,
    limits: &ExecutionLimits,
) -> SandboxError {
    match outcome::classify_error(error, state, limits) {
        SandboxError::Crashed { trap, .. } if error.downcast_ref::<wasmtime::Trap>().is_none() => {
            SandboxError::Setup(trap)
        }
        classified => classified,
    }
}

fn setup_failure(started: Instant, message: String) -> ExecutionReport {
    ExecutionReport {
        result: Err(SandboxError::Setup(message)),
        fuel_consumed: None,
        duration: started.elapsed(),
        stdout: Vec::new(),
        stderr: Vec::new(),
        logs: Vec::new(),
    }
}

impl From<super::bindings::Description> for GuestDescription {
    fn from(description: super::bindings::Description) -> Self {
        Self {
            name: description.name,
            version: description.version,
            description: description.description,
            input_schema: description.input_schema,
            output_schema: description.output_schema,
            default_inputs: description.default_inputs,
            has_jacobian: description.has_jacobian,
        }
    }
}
