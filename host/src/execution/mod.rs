//! Running executions: dedicated guest threads behind a bounded queue, fresh workspaces,
//! results checked against the discipline's own grammar.

mod gate;
mod threads;

pub use gate::StartGate;

use threads::Lane;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::oneshot;

use std::path::{Path, PathBuf};

use crate::discipline::{Discipline, Jacobian, JacobianError, ModuleDigest, check_jacobian};
use crate::files::{Disposal, WorkspacePath, disk_usage};
use crate::limits::ExecutionLimits;
use crate::registry::{self, Process};
use crate::sandbox::{
    Call, CallOutput, CancelFlag, ExecutionObserver, GuestLogLine, GuestWorkspace, Sandbox,
    SandboxError,
};
use crate::workspace::WorkspacePool;

/// Runs guests on `concurrency` dedicated threads shared by jobs and synchronous work, plus
/// `sync_reserved` threads that only synchronous work uses, with at most `queue` executions
/// waiting in each of the two lanes.
pub struct Executor {
    sandbox: Arc<Sandbox>,
    workspaces: Arc<WorkspacePool>,
    threads: threads::GuestThreads,
    describe_limits: ExecutionLimits,
}

/// An execution ready to run: inputs merged with defaults and validated, limits resolved.
#[derive(Clone)]
pub struct ExecutionRequest {
    /// What runs.
    pub process: Arc<Process>,
    /// Its description for `options`.
    pub discipline: Arc<Discipline>,
    /// Complete, valid inputs.
    pub inputs: Map<String, Value>,
    /// Canonical options text.
    pub options: String,
    /// Whether to compute the Jacobian too, and of what.
    pub linearize: Option<Differentiation>,
    /// Limits to run under.
    pub limits: ExecutionLimits,
    /// Files copied into the workspace before the guest starts: (path inside, source).
    pub files: Vec<(WorkspacePath, PathBuf)>,
    /// The job's own workspace, which outlives the execution; `None`: a fresh one from the
    /// pool, gone afterwards.
    pub workspace: Option<PathBuf>,
}

/// Which Jacobian blocks are wanted (empty lists: all).
#[derive(Debug, Clone, Default)]
pub struct Differentiation {
    /// Inputs to differentiate with respect to.
    pub inputs: Vec<String>,
    /// Outputs to differentiate.
    pub outputs: Vec<String>,
}

/// An execution that ran: its result and the facts about it.
#[derive(Debug)]
pub struct Executed {
    /// Outputs (and Jacobian), or why there are none.
    pub result: Result<Computed, ExecutionError>,
    /// What is known about the run, whatever its result.
    pub facts: ExecutionFacts,
}

/// What a successful execution computed.
#[derive(Debug)]
pub struct Computed {
    /// Outputs, valid against the output schema.
    pub outputs: Map<String, Value>,
    /// The Jacobian, when asked for.
    pub jacobian: Option<Jacobian>,
}

/// Facts about one run.
#[derive(Debug, Clone)]
pub struct ExecutionFacts {
    /// The exact module that ran.
    pub digest: ModuleDigest,
    /// Fuel burnt, when metering is on.
    pub fuel_consumed: Option<u64>,
    /// Wall time in the sandbox.
    pub duration: Duration,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Lines from the `log` import.
    pub logs: Vec<GuestLogLine>,
    /// Bytes left in a job's own workspace after the run (0 for pooled workspaces).
    pub workspace_bytes: u64,
}

/// Why an execution that ran produced no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecutionError {
    /// The guest failed, trapped, or hit a limit.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The guest's outputs are not JSON or fail its own output schema.
    #[error("the guest returned invalid outputs: {0}")]
    InvalidOutputs(String),
    /// The guest's Jacobian does not match its variables.
    #[error("the guest returned an invalid Jacobian: {0}")]
    InvalidJacobian(#[from] JacobianError),
    /// The host failed (a bug, not the guest's fault).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Every guest thread is busy and the wait line is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy: every execution slot is taken and the wait line is full")]
pub struct Busy;

impl From<threads::QueueFull> for Busy {
    fn from(_: threads::QueueFull) -> Self {
        Busy
    }
}

impl Executor {
    /// An executor running at most `concurrency` jobs, and `concurrency + sync_reserved`
    /// guests in all, at once, with at most `queue` waiting per lane.
    pub fn new(
        sandbox: Arc<Sandbox>,
        workspaces: Arc<WorkspacePool>,
        concurrency: usize,
        sync_reserved: usize,
        queue: usize,
        describe_limits: ExecutionLimits,
    ) -> std::io::Result<Self> {
        Ok(Self {
            sandbox,
            workspaces,
            threads: threads::GuestThreads::start(concurrency, sync_reserved, queue)?,
            describe_limits,
        })
    }

    /// How trees guests wrote are removed (and quarantined when they cannot be).
    pub fn disposal(&self) -> &Disposal {
        self.workspaces.disposal()
    }

    /// How many executions (and descriptions) run now, and how many wait for a thread.
    pub fn load(&self) -> (usize, usize) {
        self.threads.load()
    }

    /// Runs `work` on a guest thread of `lane` and waits for its answer.
    async fn on_guest_thread<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Result<T, String>, Busy> {
        let (answer, answered) = oneshot::channel();
        self.threads.submit(
            lane,
            Box::new(move || {
                let _ = answer.send(work());
            }),
        )?;
        Ok(answered
            .await
            .map_err(|_| "the guest thread stopped without answering".to_owned()))
    }

    /// Runs one execution a client waits on, in a fresh sandbox and workspace, on any guest
    /// thread and before queued jobs; `cancel` interrupts it, and `gate` withdrawn before it
    /// starts keeps it from starting (it ends cancelled).
    pub async fn execute(
        &self,
        request: ExecutionRequest,
        observer: Box<dyn ExecutionObserver>,
        cancel: CancelFlag,
        gate: StartGate,
    ) -> Result<Executed, Busy> {
        self.execute_in(Lane::Sync, request, observer, cancel, gate)
            .await
    }

    /// Runs one job's execution, on a shared guest thread only.
    pub async fn execute_job(
        &self,
        request: ExecutionRequest,
        observer: Box<dyn ExecutionObserver>,
        cancel: CancelFlag,
    ) -> Result<Executed, Busy> {
        self.execute_in(Lane::Job, request, observer, cancel, StartGate::default())
            .await
    }

    async fn execute_in(
        &self,
        lane: Lane,
        request: ExecutionRequest,
        observer: Box<dyn ExecutionObserver>,
        cancel: CancelFlag,
        gate: StartGate,
    ) -> Result<Executed, Busy> {
        let sandbox = self.sandbox.clone();
        let workspaces = self.workspaces.clone();
        let digest = request.process.digest;
        let ran = self
            .on_guest_thread(lane, move || {
                if cancel.is_cancelled() || !gate.start() {
                    return cancelled_before_start(digest);
                }
                run_in_workspace(&sandbox, &workspaces, request, observer, &cancel)
            })
            .await?;
        Ok(ran.unwrap_or_else(|error| Executed {
            result: Err(ExecutionError::Internal(error)),
            facts: ExecutionFacts::none(digest),
        }))
    }

    /// The description of a process for some options: remembered, or asked of the guest as
    /// synchronous work.
    pub async fn describe(
        &self,
        process: &Arc<Process>,
        options: &Map<String, Value>,
    ) -> Result<Result<Arc<Discipline>, String>, Busy> {
        self.describe_in(Lane::Sync, process, options).await
    }

    /// The description a job needs: asked of the guest on a shared guest thread only.
    pub async fn describe_for_job(
        &self,
        process: &Arc<Process>,
        options: &Map<String, Value>,
    ) -> Result<Result<Arc<Discipline>, String>, Busy> {
        self.describe_in(Lane::Job, process, options).await
    }

    async fn describe_in(
        &self,
        lane: Lane,
        process: &Arc<Process>,
        options: &Map<String, Value>,
    ) -> Result<Result<Arc<Discipline>, String>, Busy> {
        let canonical = registry::canonical_options(options);
        if let Some(discipline) = process.remembered_description(&canonical) {
            return Ok(Ok(discipline));
        }
        let sandbox = self.sandbox.clone();
        let component = process.component.clone();
        let limits = self.describe_limits;
        let key = canonical.clone();
        let described = self
            .on_guest_thread(lane, move || {
                registry::describe(&sandbox, &component, key, &limits)
                    .map_err(|rejection| rejection.to_string())
            })
            .await?
            .and_then(|described| described);
        Ok(described.map(|discipline| {
            let discipline = Arc::new(discipline);
            process.remember_description(canonical, discipline.clone());
            discipline
        }))
    }
}

fn cancelled_before_start(digest: ModuleDigest) -> Executed {
    Executed {
        result: Err(ExecutionError::Sandbox(SandboxError::Cancelled)),
        facts: ExecutionFacts::none(digest),
    }
}

fn run_in_workspace(
    sandbox: &Sandbox,
    workspaces: &WorkspacePool,
    request: ExecutionRequest,
    observer: Box<dyn ExecutionObserver>,
    cancel: &CancelFlag,
) -> Executed {
    let digest = request.process.digest;
    let setup_failed = |error: String| Executed {
        result: Err(ExecutionError::Internal(error)),
        facts: ExecutionFacts::none(digest),
    };
    // A job without input files runs in a pooled workspace, kept as the job's only if the guest
    // wrote something: most jobs then cost no directory creation or removal at all.
    let own = request
        .workspace
        .as_ref()
        .filter(|_| !request.files.is_empty());
    let pooled = match own {
        Some(_) => None,
        None => match workspaces.acquire() {
            Ok(workspace) => Some(workspace),
            Err(error) => return setup_failed(format!("no workspace: {error}")),
        },
    };
    let dir = match (own, &pooled) {
        (Some(dir), _) => dir.clone(),
        (None, Some(workspace)) => workspace.path().to_owned(),
        (None, None) => return setup_failed("no workspace".into()),
    };
    let prepared = prepare_workspace(&dir, own.is_some(), &request.files, workspaces.disposal());
    let report = match prepared {
        Ok(()) => Some(
            sandbox.run(
                &request.process.component,
                &request.call(),
                &request.limits,
                Some(GuestWorkspace {
                    dir: &dir,
                    empty_since: pooled
                        .as_ref()
                        .filter(|_| request.files.is_empty())
                        .map(|workspace| workspace.change_time()),
                }),
                observer,
                cancel,
            ),
        ),
        Err(error) => {
            tracing::error!(%error, dir = %dir.display(), "could not prepare a workspace");
            None
        }
    };
    let kept = match (pooled, &request.workspace) {
        (Some(workspace), Some(job_dir)) => match workspaces.keep_or_release(workspace, job_dir) {
            Ok(kept) => kept.then(|| job_dir.clone()),
            Err(error) => {
                tracing::error!(%error, dir = %job_dir.display(), "could not keep a job's workspace");
                None
            }
        },
        (Some(workspace), None) => {
            workspaces.release(workspace);
            None
        }
        (None, _) => Some(dir.clone()),
    };
    let Some(report) = report else {
        return setup_failed("could not prepare the workspace".into());
    };
    let facts = ExecutionFacts {
        digest,
        fuel_consumed: report.fuel_consumed,
        duration: report.duration,
        stdout: String::from_utf8_lossy(&report.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&report.stderr).into_owned(),
        logs: report.logs,
        // Measured by the sandbox when the call returned, unless it was stopped first.
        workspace_bytes: kept.map_or(0, |dir| {
            report
                .workspace
                .map_or_else(|| disk_usage(&dir), |usage| usage.bytes)
        }),
    };
    let result = report
        .result
        .map_err(ExecutionError::from)
        .and_then(|output| request.check(output));
    Executed { result, facts }
}

/// Makes `dir` hold exactly the input files: a job's own workspace starts clean at every
/// attempt; files are copied, never linked, so a guest cannot alter an upload.
fn prepare_workspace(
    dir: &Path,
    own: bool,
    files: &[(WorkspacePath, PathBuf)],
    disposal: &Disposal,
) -> std::io::Result<()> {
    if own {
        // What an earlier attempt left goes like any tree a guest wrote; if it could be neither
        // removed nor quarantined, creating the directory fails rather than reuse it.
        disposal.dispose(dir);
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir(dir)?;
    }
    for (path, source) in files {
        let target = path.under(dir);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, &target)?;
    }
    Ok(())
}

impl ExecutionRequest {
    fn call(&self) -> Call {
        let inputs = Value::Object(self.inputs.clone()).to_string();
        let options = self.options.clone();
        match &self.linearize {
            None => Call::Execute { inputs, options },
            Some(differentiation) => Call::Linearize {
                inputs,
                options,
                with_respect_to: differentiation.inputs.clone(),
                of: differentiation.outputs.clone(),
            },
        }
    }

    /// Checks what the guest returned against its own grammar.
    fn check(&self, output: CallOutput) -> Result<Computed, ExecutionError> {
        let (outputs, jacobian) = match output {
            CallOutput::Outputs(outputs) => (outputs, None),
            CallOutput::Linearization { outputs, jacobian } => (outputs, Some(jacobian)),
            CallOutput::Description(_) => {
                return Err(ExecutionError::Internal(
                    "a description answered an execution".into(),
                ));
            }
        };
        let outputs: Value = serde_json::from_str(&outputs)
            .map_err(|error| ExecutionError::InvalidOutputs(error.to_string()))?;
        self.discipline.check_outputs(&outputs).map_err(|error| {
            ExecutionError::InvalidOutputs(format!("at {:?}: {error}", error.pointer))
        })?;
        let Value::Object(outputs) = outputs else {
            return Err(ExecutionError::InvalidOutputs(
                "the outputs are not an object".into(),
            ));
        };
        let jacobian = jacobian
            .map(|text| check_jacobian(&text, &self.inputs, &outputs))
            .transpose()?;
        Ok(Computed { outputs, jacobian })
    }
}

impl ExecutionFacts {
    fn none(digest: ModuleDigest) -> Self {
        Self {
            digest,
            fuel_consumed: None,
            duration: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
            logs: Vec::new(),
            workspace_bytes: 0,
        }
    }
}
