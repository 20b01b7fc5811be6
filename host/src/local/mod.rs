//! The offline commands, with the server's own sandbox and checks and no server:
//! `disciplines modules validate FILE` and `disciplines run FILE` (the author's inner loop).

pub mod command;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::execution::{Differentiation, ExecutionRequest, Executor, StartGate};
use crate::files::{Disposal, WorkspacePath};
use crate::limits::RequestedLimits;
use crate::problem::{Problem, ProblemKind};
use crate::registry::{LoadCounters, Loader, Process, canonical_options};
use crate::sandbox::{CancelFlag, ExecutionObserver, Sandbox};
use crate::workspace::WorkspacePool;

/// What `run` is asked to do.
#[derive(Debug, Default)]
pub struct LocalRun {
    /// Inputs (defaults fill the gaps).
    pub inputs: Map<String, Value>,
    /// Discipline options.
    pub options: Map<String, Value>,
    /// Also compute the Jacobian.
    pub linearize: bool,
    /// Files placed in the workspace: (path inside, local file).
    pub files: Vec<(String, PathBuf)>,
    /// Keep the workspace in this new directory after the run.
    pub keep_workspace: Option<PathBuf>,
    /// Limits, within the configured maximum.
    pub limits: RequestedLimits,
}

/// A sandbox of its own, in scratch directories removed when it is dropped.
struct Scratch {
    sandbox: Arc<Sandbox>,
    dir: tempfile::TempDir,
}

impl Drop for Scratch {
    /// Removes the scratch directory without recursion first: the workspace in it holds
    /// whatever the guest wrote, at any depth (`TempDir` would recurse per level).
    fn drop(&mut self) {
        let _ = crate::files::remove_tree(self.dir.path());
    }
}

impl Scratch {
    fn new(config: &Config) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a scratch directory")?;
        let mut sandbox_config = config.sandbox_config();
        sandbox_config.cache_dir = dir.path().join("cache");
        let sandbox = Sandbox::new(sandbox_config).context("setting up the sandbox")?;
        Ok(Self {
            sandbox: Arc::new(sandbox),
            dir,
        })
    }

    /// Validates `file` exactly as `POST /processes` does.
    fn load(&self, config: &Config, file: &Path) -> anyhow::Result<Process> {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let counters = LoadCounters::default();
        let loader = Loader {
            sandbox: &self.sandbox,
            limits: &config.describe_limits(),
            counters: &counters,
        };
        let digest = crate::discipline::ModuleDigest::of(&bytes);
        let (process, _) = loader.load(&bytes, digest).map_err(Problem::from)?;
        Ok(process)
    }
}

/// Checks a module offline; on success, its summary as the server would list it.
pub fn validate(config: &Config, file: &Path) -> anyhow::Result<Value> {
    let process = Scratch::new(config)?.load(config, file)?;
    let discipline = &process.discipline;
    Ok(json!({
        "id": discipline.name,
        "version": discipline.version,
        "description": discipline.description,
        "moduleDigest": process.digest.to_string(),
        "inputNames": discipline.input_names,
        "outputNames": discipline.output_names,
        "hasJacobian": discipline.has_jacobian,
    }))
}

/// Runs a module once, locally, in the server's sandbox; answers the results document the
/// server would send, with what the guest printed and logged.
pub async fn run(config: &Config, file: &Path, run: LocalRun) -> anyhow::Result<Value> {
    let scratch = Scratch::new(config)?;
    let process = Arc::new(scratch.load(config, file)?);
    let policy = config.limit_policy();
    let limits = policy
        .resolve(&run.limits)
        .map_err(|error| Problem::new(ProblemKind::LimitTooHigh, error.to_string()))?;
    let disposal = Disposal::new(scratch.dir.path().join("quarantine"));
    let workspaces = WorkspacePool::start(&scratch.dir.path().join("workspaces"), 1, disposal)
        .context("preparing a workspace")?;
    let executor = Executor::new(
        scratch.sandbox.clone(),
        workspaces,
        1,
        0,
        1,
        config.describe_limits(),
    )
    .context("starting a guest thread")?;
    let discipline = executor
        .describe(&process, &run.options)
        .await?
        .map_err(|reason| Problem::new(ProblemKind::InvalidOptions, reason))?;
    let inputs = match discipline.prepare_inputs(run.inputs) {
        Ok(Value::Object(inputs)) => inputs,
        Ok(_) => anyhow::bail!("the prepared inputs are not an object"),
        Err(error) => {
            let detail = format!("{} (at /inputs{})", error.message, error.pointer);
            return Err(Problem::new(ProblemKind::InvalidInput, detail).into());
        }
    };
    if run.linearize && !discipline.has_jacobian {
        let detail = format!("{} does not compute a Jacobian", discipline.name);
        return Err(Problem::new(ProblemKind::NoJacobian, detail).into());
    }
    let files = workspace_files(&run.files)?;
    if let Some(keep) = &run.keep_workspace {
        anyhow::ensure!(!keep.exists(), "{} already exists", keep.display());
    }
    let request = ExecutionRequest {
        process,
        discipline,
        inputs,
        options: canonical_options(&run.options),
        linearize: run.linearize.then(Differentiation::default),
        limits,
        files,
        workspace: run.keep_workspace.clone(),
    };
    let executed = executor
        .execute(
            request,
            Box::new(PrintProgress),
            CancelFlag::default(),
            StartGate::default(),
        )
        .await?;
    let facts = &executed.facts;
    let mut document = json!({
        "moduleDigest": facts.digest.to_string(),
        "fuelConsumed": facts.fuel_consumed,
        "durationMs": facts.duration.as_secs_f64() * 1000.0,
        "stdout": facts.stdout,
        "stderr": facts.stderr,
        "log": facts.logs,
    });
    match executed.result {
        Ok(computed) => {
            document["outputs"] = Value::Object(computed.outputs);
            if let Some(jacobian) = computed.jacobian {
                document["jacobian"] = serde_json::to_value(jacobian)?;
            }
            Ok(document)
        }
        Err(error) => {
            command::print_captured(&document);
            Err(Problem::of_execution(error, facts).into())
        }
    }
}

fn workspace_files(files: &[(String, PathBuf)]) -> anyhow::Result<Vec<(WorkspacePath, PathBuf)>> {
    files
        .iter()
        .map(|(inside, local)| {
            let path = WorkspacePath::parse(inside)
                .map_err(|error| anyhow::anyhow!("workspace path {inside:?}: {error}"))?;
            let local = local
                .canonicalize()
                .with_context(|| format!("cannot read {}", local.display()))?;
            Ok((path, local))
        })
        .collect()
}

/// Shows the guest's progress on stderr.
struct PrintProgress;

impl ExecutionObserver for PrintProgress {
    fn progress(&mut self, fraction: f64, message: &str) {
        eprintln!("progress {:>3.0}% {message}", fraction * 100.0);
    }
}
