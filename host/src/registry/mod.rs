//! The processes this server offers: components discovered in the modules directory.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::discipline::{Discipline, ModuleDigest};
use crate::limits::ExecutionLimits;
use crate::sandbox::{
    Call, CallOutput, CancelFlag, IgnoreProgress, LoadedComponent, Provenance, Sandbox,
};

/// How many option sets each process remembers the description of.
const DESCRIPTIONS_PER_PROCESS: usize = 64;

/// Every module found, and the processes the good ones provide.
#[derive(Default)]
pub struct Registry {
    processes: BTreeMap<String, Arc<Process>>,
    modules: Vec<ModuleStatus>,
}

/// A discipline ready to run.
pub struct Process {
    /// Its description with no options.
    pub discipline: Arc<Discipline>,
    /// Its compiled component.
    pub component: Arc<LoadedComponent>,
    /// The digest of the module's bytes.
    pub digest: ModuleDigest,
    /// Descriptions for other option sets, by canonical options text.
    with_options: Mutex<HashMap<String, Arc<Discipline>>>,
}

/// What discovery made of one file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleStatus {
    /// File name within the modules directory.
    pub file: String,
    /// Digest of its bytes, when it could be read.
    pub digest: Option<String>,
    /// `ready` or `broken`.
    pub status: &'static str,
    /// The process it provides, when ready.
    pub process_id: Option<String>,
    /// Whether its compiled code came from the artifact cache, when ready.
    pub from_cache: Option<bool>,
    /// Why it is broken, when broken.
    pub error: Option<String>,
}

impl Registry {
    /// Loads every `*.wasm` file of `dir`. A broken file is logged and listed, never fatal.
    /// Blocking: call it off the async runtime.
    pub fn discover(sandbox: &Sandbox, dir: &Path, limits: &ExecutionLimits) -> Self {
        let mut registry = Self::default();
        for path in wasm_files(dir) {
            let file = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let status = match load_process(sandbox, &path, limits) {
                Ok(process) => registry.add(file, process),
                Err((digest, error)) => broken(file, digest, error),
            };
            match &status.error {
                Some(error) => tracing::error!(file = %status.file, %error, "module is broken"),
                None => {
                    tracing::info!(file = %status.file, process = ?status.process_id, cached = ?status.from_cache, "module ready")
                }
            }
            registry.modules.push(status);
        }
        registry
    }

    fn add(&mut self, file: String, (process, provenance): (Process, Provenance)) -> ModuleStatus {
        let id = process.discipline.name.clone();
        let digest = process.digest.to_string();
        if let Some(existing) = self.processes.get(&id) {
            let error = format!(
                "process {id:?} is already provided by module {}",
                existing.digest
            );
            return broken(file, Some(digest), error);
        }
        self.processes.insert(id.clone(), Arc::new(process));
        ModuleStatus {
            file,
            digest: Some(digest),
            status: "ready",
            process_id: Some(id),
            from_cache: Some(provenance == Provenance::Cached),
            error: None,
        }
    }

    /// The process with this id.
    pub fn process(&self, id: &str) -> Option<&Arc<Process>> {
        self.processes.get(id)
    }

    /// Every process, by id.
    pub fn processes(&self) -> impl Iterator<Item = &Arc<Process>> {
        self.processes.values()
    }

    /// What discovery made of each file.
    pub fn modules(&self) -> &[ModuleStatus] {
        &self.modules
    }
}

impl Process {
    /// The description remembered for these canonical options, if any.
    pub fn remembered_description(&self, canonical_options: &str) -> Option<Arc<Discipline>> {
        if canonical_options == "{}" {
            return Some(self.discipline.clone());
        }
        let remembered = self.with_options.lock().ok()?;
        remembered.get(canonical_options).cloned()
    }

    /// Remembers the description for these canonical options.
    pub fn remember_description(&self, canonical_options: String, discipline: Arc<Discipline>) {
        if let Ok(mut remembered) = self.with_options.lock() {
            if remembered.len() >= DESCRIPTIONS_PER_PROCESS {
                remembered.clear();
            }
            remembered.insert(canonical_options, discipline);
        }
    }
}

/// Options as canonical JSON text (keys sorted), so equal options share one description.
pub fn canonical_options(options: &Map<String, Value>) -> String {
    let sorted: BTreeMap<&String, &Value> = options.iter().collect();
    serde_json::to_string(&sorted).unwrap_or_else(|_| "{}".into())
}

/// Asks a component to describe itself for some options, and checks the answer.
pub fn describe(
    sandbox: &Sandbox,
    component: &LoadedComponent,
    options: String,
    limits: &ExecutionLimits,
) -> Result<Discipline, String> {
    let report = sandbox.run(
        component,
        &Call::Describe { options },
        limits,
        None,
        Box::new(IgnoreProgress),
        &CancelFlag::default(),
    );
    match report.result {
        Ok(CallOutput::Description(description)) => {
            Discipline::check(description).map_err(|error| error.to_string())
        }
        Ok(_) => Err("describe returned something other than a description".into()),
        Err(error) => Err(format!("describe failed: {error}")),
    }
}

type LoadFailure = (Option<String>, String);

fn load_process(
    sandbox: &Sandbox,
    path: &Path,
    limits: &ExecutionLimits,
) -> Result<(Process, Provenance), LoadFailure> {
    let bytes = std::fs::read(path).map_err(|error| (None, format!("cannot read: {error}")))?;
    let digest = ModuleDigest::of(&bytes);
    let failed = |error: String| (Some(digest.to_string()), error);
    let component = sandbox
        .load(&bytes, &digest)
        .map_err(|error| failed(error.to_string()))?;
    let discipline = describe(sandbox, &component, "{}".into(), limits).map_err(failed)?;
    let provenance = component.provenance;
    let process = Process {
        discipline: Arc::new(discipline),
        component: Arc::new(component),
        digest,
        with_options: Mutex::default(),
    };
    Ok((process, provenance))
}

fn broken(file: String, digest: Option<String>, error: String) -> ModuleStatus {
    ModuleStatus {
        file,
        digest,
        status: "broken",
        process_id: None,
        from_cache: None,
        error: Some(error),
    }
}

fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!(dir = %dir.display(), %error, "cannot read the modules directory");
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "wasm")
                && path.is_file()
        })
        .collect();
    files.sort();
    files
}
