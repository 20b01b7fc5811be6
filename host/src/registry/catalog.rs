//! One immutable view of the modules directory: each file's fate, and the processes the good
//! ones provide, every version of each, newest first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use super::Process;
use super::reference::{Pin, ProcessRef, compare_versions};
use crate::discipline::ModuleDigest;

/// What a file looked like when it was loaded; a file that still looks the same is not read
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileStamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
    pub inode: u64,
}

impl FileStamp {
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode: metadata.ino(),
        }
    }
}

/// One file and what loading it gave.
#[derive(Clone)]
pub(super) struct FileEntry {
    pub stamp: FileStamp,
    pub loaded: Loaded,
}

impl FileEntry {
    /// Whether two entries (or their absence) are the same state of a file.
    pub fn same(one: Option<&Self>, other: Option<&Self>) -> bool {
        match (one, other) {
            (None, None) => true,
            (Some(one), Some(other)) => {
                one.stamp == other.stamp
                    && match (&one.loaded, &other.loaded) {
                        (Loaded::Module { process: a, .. }, Loaded::Module { process: b, .. }) => {
                            Arc::ptr_eq(a, b)
                        }
                        (Loaded::Rejected { error: a, .. }, Loaded::Rejected { error: b, .. }) => {
                            a == b
                        }
                        _ => false,
                    }
            }
            _ => false,
        }
    }
}

/// What loading a file gave.
#[derive(Clone)]
pub(super) enum Loaded {
    /// A process, and whether its compiled code came from the artifact cache.
    Module {
        process: Arc<Process>,
        from_cache: bool,
    },
    /// A refusal, with the digest when the file could be read.
    Rejected {
        digest: Option<ModuleDigest>,
        error: String,
    },
}

/// What became of one file of the modules directory.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleStatus {
    /// File name within the modules directory.
    pub file: String,
    /// Digest of its bytes, when it could be read.
    pub digest: Option<String>,
    /// `ready`, `duplicate` (same bytes as another file, served once) or `broken`.
    pub status: &'static str,
    /// The process it provides, when ready.
    pub process_id: Option<String>,
    /// The version it provides, when ready.
    pub version: Option<String>,
    /// Whether its compiled code came from the artifact cache, when ready.
    pub from_cache: Option<bool>,
    /// Why it is broken, or which file it duplicates.
    pub error: Option<String>,
}

/// The processes on offer at one moment; replaced whole, never changed.
#[derive(Default)]
pub struct Catalog {
    pub(super) files: BTreeMap<String, FileEntry>,
    /// Every version of each process, newest first.
    processes: BTreeMap<String, Vec<Arc<Process>>>,
    by_digest: HashMap<ModuleDigest, Arc<Process>>,
    statuses: Vec<ModuleStatus>,
}

impl Catalog {
    /// Builds the view of these files, taken in name order: the first file to provide a
    /// version of a process provides it; a later file with other bytes for the same version is
    /// broken, one with the same bytes is a duplicate.
    pub(super) fn build(files: BTreeMap<String, FileEntry>) -> Self {
        let mut catalog = Self::default();
        let mut first_file: HashMap<ModuleDigest, &str> = HashMap::new();
        for (file, entry) in &files {
            let status = match &entry.loaded {
                Loaded::Rejected { digest, error } => broken(file, *digest, error.clone()),
                Loaded::Module {
                    process,
                    from_cache,
                } => match first_file.get(&process.digest) {
                    Some(original) => ModuleStatus {
                        status: "duplicate",
                        error: Some(format!("the same bytes as {original}, served once")),
                        ..ready(file, process, *from_cache)
                    },
                    None => match catalog.conflict(process) {
                        Some(error) => broken(file, Some(process.digest), error),
                        None => {
                            first_file.insert(process.digest, file);
                            catalog.insert(process.clone());
                            ready(file, process, *from_cache)
                        }
                    },
                },
            };
            catalog.statuses.push(status);
        }
        for versions in catalog.processes.values_mut() {
            versions.sort_by(|a, b| compare_versions(&b.discipline.version, &a.discipline.version));
        }
        catalog.files = files;
        catalog
    }

    /// Why `process` cannot be added: another module already provides its name and version.
    pub(super) fn conflict(&self, process: &Process) -> Option<String> {
        let name = &process.discipline.name;
        let version = &process.discipline.version;
        let existing = self
            .versions(name)
            .iter()
            .find(|other| &other.discipline.version == version && other.digest != process.digest)?;
        Some(format!(
            "{name}@{version} is already provided by module {}",
            existing.digest
        ))
    }

    fn insert(&mut self, process: Arc<Process>) {
        self.by_digest.insert(process.digest, process.clone());
        self.processes
            .entry(process.discipline.name.clone())
            .or_default()
            .push(process);
    }

    /// Every version of a process, newest first.
    pub fn versions(&self, name: &str) -> &[Arc<Process>] {
        self.processes.get(name).map_or(&[], Vec::as_slice)
    }

    /// The module a reference runs: the newest version, the pinned version, or the exact bytes.
    pub fn resolve(&self, reference: &ProcessRef) -> Option<&Arc<Process>> {
        let versions = self.versions(&reference.name);
        match &reference.pin {
            Pin::Unpinned => versions.first(),
            Pin::Version(version) => versions
                .iter()
                .find(|process| &process.discipline.version == version),
            Pin::Digest(digest) => versions.iter().find(|process| &process.digest == digest),
        }
    }

    /// The modules a reference replaces or undeploys: every version when unpinned.
    pub fn matching(&self, reference: &ProcessRef) -> Vec<Arc<Process>> {
        match reference.pin {
            Pin::Unpinned => self.versions(&reference.name).to_vec(),
            _ => self.resolve(reference).into_iter().cloned().collect(),
        }
    }

    /// The module with exactly these bytes.
    pub fn by_digest(&self, digest: &ModuleDigest) -> Option<&Arc<Process>> {
        self.by_digest.get(digest)
    }

    /// The newest version of every process, by name.
    pub fn newest(&self) -> impl Iterator<Item = &Arc<Process>> {
        self.processes
            .values()
            .filter_map(|versions| versions.first())
    }

    /// What became of each file, in name order.
    pub fn modules(&self) -> &[ModuleStatus] {
        &self.statuses
    }

    /// The files whose bytes are `digest`.
    pub(super) fn files_of(&self, digest: &ModuleDigest) -> Vec<String> {
        self.files
            .iter()
            .filter(|(_, entry)| match &entry.loaded {
                Loaded::Module { process, .. } => &process.digest == digest,
                Loaded::Rejected { digest: other, .. } => other.as_ref() == Some(digest),
            })
            .map(|(file, _)| file.clone())
            .collect()
    }
}

fn ready(file: &str, process: &Process, from_cache: bool) -> ModuleStatus {
    ModuleStatus {
        file: file.to_owned(),
        digest: Some(process.digest.to_string()),
        status: "ready",
        process_id: Some(process.discipline.name.clone()),
        version: Some(process.discipline.version.clone()),
        from_cache: Some(from_cache),
        error: None,
    }
}

fn broken(file: &str, digest: Option<ModuleDigest>, error: String) -> ModuleStatus {
    ModuleStatus {
        file: file.to_owned(),
        digest: digest.map(|digest| digest.to_string()),
        status: "broken",
        process_id: None,
        version: None,
        from_cache: None,
        error: Some(error),
    }
}
