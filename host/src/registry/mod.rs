//! The processes this server offers: components in the modules directory, discovered at start,
//! deployed or undeployed over REST, and reloaded when the directory changes.
//!
//! The live catalogue is an immutable [`Catalog`] swapped whole: a request or an execution holds
//! the `Arc<Process>` it started with, so changes never disturb what is in flight.

mod catalog;
mod deploy;
mod loader;
mod reference;
mod scan;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

pub use catalog::{Catalog, ModuleStatus};
pub use deploy::{DeployError, Deployed};
pub use loader::{LoadCounters, Loader, ModuleRejection, describe};
pub use reference::{Pin, ProcessRef, compare_versions};
pub use watch::{Watch, watch};

use crate::discipline::{Discipline, ModuleDigest};
use crate::limits::ExecutionLimits;
use crate::sandbox::{LoadedComponent, Sandbox};

/// How many option sets each process remembers the description of.
const DESCRIPTIONS_PER_PROCESS: usize = 64;

/// The live catalogue of processes and the modules directory it mirrors.
pub struct Registry {
    catalog: ArcSwap<Catalog>,
    /// One change of the catalogue at a time: the swap at the end of a rescan, a deployment
    /// or an undeployment. Never held while a module loads.
    changes: Mutex<()>,
    /// One rescan at a time (loading happens outside `changes`).
    rescanning: Mutex<()>,
    dir: PathBuf,
    sandbox: Arc<Sandbox>,
    /// Limits of `describe()` calls made while loading.
    limits: ExecutionLimits,
    /// Modules compiled at once.
    compile_threads: usize,
    /// Compilations for deployments, bounded like discovery's.
    pub compile_permits: tokio::sync::Semaphore,
    counters: LoadCounters,
    ready: tokio::sync::watch::Sender<bool>,
    /// Rescans of the directory so far.
    rescans: AtomicU64,
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

impl Registry {
    /// An empty registry over `dir`, not ready until [`Registry::discover`] has run.
    pub fn new(
        sandbox: Arc<Sandbox>,
        dir: &Path,
        limits: ExecutionLimits,
        compile_threads: usize,
    ) -> Self {
        let compile_threads = compile_threads.max(1);
        Self {
            catalog: ArcSwap::default(),
            changes: Mutex::default(),
            rescanning: Mutex::default(),
            dir: dir.to_owned(),
            sandbox,
            limits,
            compile_threads,
            compile_permits: tokio::sync::Semaphore::new(compile_threads),
            counters: LoadCounters::default(),
            ready: tokio::sync::watch::Sender::new(false),
            rescans: AtomicU64::new(0),
        }
    }

    /// The modules directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The catalogue now; it never changes, later changes make a new one.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// How many times the directory was rescanned (the first discovery included).
    pub fn rescans(&self) -> u64 {
        self.rescans.load(Ordering::Relaxed)
    }

    /// How many modules were compiled, and how many loaded from the artifact cache.
    pub fn counters(&self) -> &LoadCounters {
        &self.counters
    }

    /// The validation every module goes through.
    pub fn loader(&self) -> Loader<'_> {
        Loader {
            sandbox: &self.sandbox,
            limits: &self.limits,
            counters: &self.counters,
        }
    }

    /// First discovery: loads every module, then marks the registry ready. Blocking.
    pub fn discover(&self) {
        let _ = std::fs::remove_dir_all(self.staging_dir());
        self.reconcile();
        self.ready.send_replace(true);
    }

    /// Whether the first discovery has finished.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Completes when the first discovery has finished.
    pub async fn wait_ready(&self) {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|ready| *ready).await;
    }

    /// Brings the catalogue in line with the directory: new and changed files are loaded,
    /// removed ones dropped; unchanged files are not read. Loading happens outside the change
    /// lock, so deployments and undeployments go on meanwhile (what they changed is kept). A
    /// directory that cannot be read leaves the catalogue as it was. Blocking.
    pub fn reconcile(&self) {
        let Ok(_rescan) = self.rescanning.lock() else {
            return;
        };
        self.rescans.fetch_add(1, Ordering::Relaxed);
        let previous = self.catalog();
        let scanned = match scan::rescan(&self.dir, &previous, &self.loader(), self.compile_threads)
        {
            Ok(scanned) => scanned,
            Err(error) => {
                tracing::error!(dir = %self.dir.display(), %error, "cannot read the modules directory: the catalogue stays as it was");
                return;
            }
        };
        let Ok(_change) = self.changes.lock() else {
            return;
        };
        let files = scan::keep_concurrent_changes(scanned, &previous, &self.catalog());
        self.catalog.store(Arc::new(Catalog::build(files)));
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
