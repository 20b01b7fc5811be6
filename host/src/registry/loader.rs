//! Turning a module's bytes into a process: compile (or load the cached artifact), link against
//! the contract, ask it to describe itself, check the description. The one validation used by
//! discovery, deployment and `disciplines modules validate`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::discipline::{DescriptionError, Discipline, ModuleDigest};
use crate::limits::ExecutionLimits;
use crate::sandbox::{
    Call, CallOutput, CancelFlag, IgnoreProgress, LoadError, LoadedComponent, Provenance, Sandbox,
};

use super::Process;

/// Why a module is refused; nothing of it is served.
#[derive(Debug, thiserror::Error)]
pub enum ModuleRejection {
    /// Not a component, or not valid WebAssembly.
    #[error("{0}")]
    NotAComponent(LoadError),
    /// A component that does not implement the contract this server offers.
    #[error("{0}")]
    WrongContract(LoadError),
    /// Compiling ran past its time or memory bound, or the compiler failed.
    #[error("{0}")]
    CompileFailed(LoadError),
    /// `describe()` trapped, ran out of a limit, or returned an error.
    #[error("describe() failed: {0}")]
    DescribeFailed(String),
    /// `describe()` answered something unusable: name, version, schemas or defaults.
    #[error("{0}")]
    InvalidDescription(DescriptionError),
}

impl From<LoadError> for ModuleRejection {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::WrongContract(_) => Self::WrongContract(error),
            LoadError::CoreModule | LoadError::Invalid(_) => Self::NotAComponent(error),
            LoadError::CompileFailed(_) => Self::CompileFailed(error),
        }
    }
}

/// How many modules were compiled and how many came from the artifact cache.
#[derive(Debug, Default)]
pub struct LoadCounters {
    compiled: AtomicU64,
    cached: AtomicU64,
}

impl LoadCounters {
    /// Modules compiled from their bytes since the server started.
    pub fn compiled(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    /// Modules whose compiled code came from the artifact cache since the server started.
    pub fn cached(&self) -> u64 {
        self.cached.load(Ordering::Relaxed)
    }

    fn count(&self, provenance: Provenance) {
        let counter = match provenance {
            Provenance::Compiled => &self.compiled,
            Provenance::Cached => &self.cached,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Compiles and checks modules with one sandbox and the limits `describe()` runs under.
pub struct Loader<'a> {
    /// The sandbox that compiles and runs.
    pub sandbox: &'a Sandbox,
    /// Limits of the `describe()` call.
    pub limits: &'a ExecutionLimits,
    /// Where compilations are counted.
    pub counters: &'a LoadCounters,
}

impl Loader<'_> {
    /// Validates a module's bytes, whose digest the caller has taken (`ModuleDigest::of`),
    /// into a process ready to run. Blocking: compiling takes milliseconds to seconds.
    pub fn load(
        &self,
        bytes: &[u8],
        digest: ModuleDigest,
    ) -> Result<(Process, Provenance), ModuleRejection> {
        let component = self.sandbox.load(bytes, &digest)?;
        self.counters.count(component.provenance);
        let discipline = describe(self.sandbox, &component, "{}".into(), self.limits)?;
        let provenance = component.provenance;
        let process = Process {
            discipline: std::sync::Arc::new(discipline),
            component: std::sync::Arc::new(component),
            digest,
            with_options: Mutex::default(),
        };
        Ok((process, provenance))
    }
}

/// Asks a component to describe itself for some options, and checks the answer.
pub fn describe(
    sandbox: &Sandbox,
    component: &LoadedComponent,
    options: String,
    limits: &ExecutionLimits,
) -> Result<Discipline, ModuleRejection> {
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
            Discipline::check(description).map_err(ModuleRejection::InvalidDescription)
        }
        Ok(_) => Err(ModuleRejection::DescribeFailed(
            "it returned something other than a description".into(),
        )),
        Err(error) => Err(ModuleRejection::DescribeFailed(error.to_string())),
    }
}
