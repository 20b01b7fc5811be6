//! One execution: a fresh store, limits armed, one call, the outcome settled, the store dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

use super::bindings::{DisciplineComponentPre, GuestError};
use super::outcome::{self, Interruption, SandboxError};
use super::state::ExecutionState;
use super::{
    Call, CallOutput, CancelFlag, ExecutionObserver, GuestDescription, GuestLogLine,
    LoadedComponent, Sandbox,
};
use crate::files::change_time;
use crate::files::usage::{self, Overrun, TreeCaps, TreeUsage};
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
    /// What the workspace held when the guest returned, when it was measured (a successful
    /// call with a workspace); `None` otherwise.
    pub workspace: Option<TreeUsage>,
}

impl Sandbox {
    /// Runs one call in a fresh instance. Blocking: call it off the async runtime.
    ///
    /// `workspace`, when given, becomes the guest's whole filesystem (seen as `/`). The call
    /// ends at its deadline or on cancellation even while the guest waits in a host call.
    pub fn run(
        &self,
        component: &LoadedComponent,
        call: &Call,
        limits: &ExecutionLimits,
        workspace: Option<GuestWorkspace<'_>>,
        observer: Box<dyn ExecutionObserver>,
        cancel: &CancelFlag,
    ) -> ExecutionReport {
        let run = self.run_async(component, call, limits, workspace, observer, cancel);
        match guest_runtime::block_on(run) {
            Ok(report) => report,
            Err(error) => {
                setup_failure(Instant::now(), format!("no runtime for the guest: {error}"))
            }
        }
    }

    async fn run_async(
        &self,
        component: &LoadedComponent,
        call: &Call,
        limits: &ExecutionLimits,
        workspace: Option<GuestWorkspace<'_>>,
        observer: Box<dyn ExecutionObserver>,
        cancel: &CancelFlag,
    ) -> ExecutionReport {
        let started = Instant::now();
        let _ticking = self.ticker.running();
        let state = match ExecutionState::new(workspace.map(|w| w.dir), limits, observer) {
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
        let deadline = started + limits.deadline;
        let guard = workspace.map(|workspace| WorkspaceGuard::new(workspace.dir, limits));
        arm_deadline(&mut store, deadline, cancel.clone(), guard);
        let returned = {
            let invocation = invoke(&mut store, &component.pre, call);
            // Running wasm is stopped by the epoch callback; a guest blocked in a host call
            // (a sleep, a poll) is stopped here by dropping the call.
            tokio::select! {
                biased;
                returned = invocation => returned,
                () = tokio::time::sleep_until(deadline.into()) => Invocation::Interrupted(Interruption::Deadline),
                () = cancel.cancelled() => Invocation::Interrupted(Interruption::Cancelled),
            }
        };
        let fuel_consumed = self
            .config
            .fuel_metering
            .then(|| limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)));
        let state = store.into_data();
        let mut measured = None;
        let result = match returned {
            Invocation::NotInstantiated(error) => Err(instantiation_error(&error, &state, limits)),
            Invocation::Called(returned) => {
                outcome::settle(returned, &state, limits).and_then(|output| {
                    measured = check_workspace_at_end(workspace, limits)?;
                    Ok(output)
                })
            }
            Invocation::Interrupted(interruption) => {
                Err(outcome::interrupted(interruption, limits))
            }
        };
        let duration = started.elapsed();
        ExecutionReport {
            result,
            fuel_consumed,
            duration,
            stdout: state.stdout.contents().to_vec(),
            stderr: state.stderr.contents().to_vec(),
            logs: state.logs.into_lines(),
            workspace: measured,
        }
    }
}

/// Checks the deadline and the cancellation flag on every epoch tick, and the workspace's
/// caps every [`WORKSPACE_CHECK_INTERVAL`].
fn arm_deadline(
    store: &mut Store<ExecutionState>,
    deadline: Instant,
    cancel: CancelFlag,
    mut workspace: Option<WorkspaceGuard>,
) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if cancel.is_cancelled() {
            return Err(Interruption::Cancelled.into());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Interruption::Deadline.into());
        }
        if let Some(guard) = workspace.as_mut()
            && let Err(overrun) = guard.check(now)
        {
            return Err(Interruption::Workspace(overrun).into());
        }
        Ok(UpdateDeadline::Continue(1))
    });
}

/// The directory a guest sees as `/`.
#[derive(Debug, Clone, Copy)]
pub struct GuestWorkspace<'a> {
    /// Its path on the host.
    pub dir: &'a Path,
    /// Its change time when the caller knew it empty (a fresh workspace), if it did.
    pub empty_since: Option<(i64, i64)>,
}

impl<'a> GuestWorkspace<'a> {
    /// A directory that may already hold files.
    pub fn holding_files(dir: &'a Path) -> Self {
        Self {
            dir,
            empty_since: None,
        }
    }
}

/// How often a running guest's workspace is measured. A guest can write past its caps by at
/// most what it writes in this time (file writes cross the host in calls of at most 4 KiB,
/// between which the guest's wasm, and so this check, runs).
const WORKSPACE_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// Measures a running guest's workspace now and then against its caps.
struct WorkspaceGuard {
    dir: PathBuf,
    caps: TreeCaps,
    next_check: Instant,
}

impl WorkspaceGuard {
    fn new(dir: &Path, limits: &ExecutionLimits) -> Self {
        Self {
            dir: dir.to_owned(),
            caps: workspace_caps(limits),
            next_check: Instant::now() + WORKSPACE_CHECK_INTERVAL,
        }
    }

    fn check(&mut self, now: Instant) -> Result<(), Overrun> {
        if now < self.next_check {
            return Ok(());
        }
        let measured = usage::measure(&self.dir, self.caps);
        // The walk's own time is not the guest's: the next check comes an interval later.
        self.next_check = Instant::now() + WORKSPACE_CHECK_INTERVAL;
        measured.map(drop)
    }
}

fn workspace_caps(limits: &ExecutionLimits) -> TreeCaps {
    TreeCaps {
        bytes: limits.workspace_bytes,
        entries: limits.workspace_files,
    }
}

/// The workspace as the guest left it, measured once more: writes made after the last check
/// are held to the caps too. A workspace known empty whose change time never moved since is
/// still empty: it is not walked (a walk costs more than a whole small execution). What it
/// holds, for the caller's accounting.
fn check_workspace_at_end(
    workspace: Option<GuestWorkspace<'_>>,
    limits: &ExecutionLimits,
) -> Result<Option<TreeUsage>, SandboxError> {
    let Some(workspace) = workspace else {
        return Ok(None);
    };
    if let Some(empty_since) = workspace.empty_since
        && change_time(workspace.dir).is_ok_and(|now| now == empty_since)
    {
        return Ok(Some(TreeUsage::default()));
    }
    usage::measure(workspace.dir, workspace_caps(limits))
        .map(Some)
        .map_err(|overrun| outcome::workspace_limit(overrun, limits))
}

enum Invocation {
    NotInstantiated(wasmtime::Error),
    Called(wasmtime::Result<Result<CallOutput, GuestError>>),
    /// The call was abandoned while the guest waited in a host call.
    Interrupted(Interruption),
}

async fn invoke(
    store: &mut Store<ExecutionState>,
    pre: &DisciplineComponentPre<ExecutionState>,
    call: &Call,
) -> Invocation {
    let instance = match pre.instantiate_async(&mut *store).await {
        Ok(instance) => instance,
        Err(error) => return Invocation::NotInstantiated(error),
    };
    let api = instance.disciplines_discipline_discipline();
    let returned = match call {
        Call::Describe { options } => api
            .call_describe(&mut *store, options)
            .await
            .map(|answer| answer.map(|description| CallOutput::Description(description.into()))),
        Call::Execute { inputs, options } => api
            .call_execute(&mut *store, inputs, options)
            .await
            .map(|answer| answer.map(CallOutput::Outputs)),
        Call::Linearize {
            inputs,
            options,
            with_respect_to,
            of,
        } => api
            .call_linearize(&mut *store, inputs, options, with_respect_to, of)
            .await
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
        workspace: None,
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

/// The runtime each thread that runs guests drives them with: one current-thread tokio
/// runtime per thread (WASI's clocks and polls need tokio's timers), made on first use.
mod guest_runtime {
    use std::cell::OnceCell;

    thread_local! {
        static RUNTIME: OnceCell<tokio::runtime::Runtime> = const { OnceCell::new() };
    }

    /// Drives `future` to completion on this thread's runtime; on a thread that belongs to
    /// another tokio runtime (which cannot block on a second one), on a thread of its own.
    pub(super) fn block_on<F: Future + Send>(future: F) -> std::io::Result<F::Output>
    where
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return block_on_here(future);
        }
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("guest-call".into())
                .spawn_scoped(scope, || block_on_here(future))?
                .join()
                .map_err(|_| std::io::Error::other("the guest's thread panicked"))?
        })
    }

    fn block_on_here<F: Future>(future: F) -> std::io::Result<F::Output> {
        RUNTIME.with(|cell| {
            if cell.get().is_none() {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()?;
                let _ = cell.set(runtime);
            }
            let runtime = cell
                .get()
                .ok_or_else(|| std::io::Error::other("the guest runtime is missing"))?;
            Ok(runtime.block_on(future))
        })
    }
}
