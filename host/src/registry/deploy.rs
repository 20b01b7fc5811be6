//! Deployment over the API: a validated module is stored content-addressed in the modules
//! directory (`<sha256 hex>.wasm`) and served at once; replacing and undeploying remove the files
//! of the modules they name. Running executions keep the module they started with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::catalog::{Catalog, FileEntry, FileStamp, Loaded};
use super::{ModuleRejection, Process, ProcessRef, Registry};
use crate::discipline::ModuleDigest;
use crate::sandbox::Provenance;

/// Why a deployment, replacement or undeployment was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The module itself is refused.
    #[error(transparent)]
    Rejected(#[from] ModuleRejection),
    /// Another module already provides this name and version.
    #[error("{0}")]
    Conflict(String),
    /// The reference names no deployed module.
    #[error("no process matches {0}")]
    NoSuchProcess(String),
    /// A replacement provides another process than the one it replaces.
    #[error("the module provides {found:?}, not {expected:?}")]
    Mismatch {
        /// The process being replaced.
        expected: String,
        /// The process the module provides.
        found: String,
    },
    /// The modules directory refused a read or a write.
    #[error("the modules directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A deployment that succeeded.
pub struct Deployed {
    /// The process now served.
    pub process: Arc<Process>,
    /// False when these exact bytes were already deployed (nothing changed).
    pub created: bool,
}

impl Registry {
    /// Where uploads wait while they are validated (inside the modules directory, so that they
    /// are renamed into place, never copied; never scanned).
    pub fn staging_dir(&self) -> PathBuf {
        self.dir.join(".incoming")
    }

    /// Validates the module at `staged` and serves it; with `replacing`, the modules that
    /// reference names are then undeployed. Blocking. The staged file is consumed either way.
    pub fn deploy(
        &self,
        staged: &Path,
        replacing: Option<&ProcessRef>,
    ) -> Result<Deployed, DeployError> {
        let staged = Staged(staged);
        let bytes = std::fs::read(staged.0)?;
        let digest = ModuleDigest::of(&bytes);
        let known = self.catalog().by_digest(&digest).cloned();
        let (process, from_cache) = match known {
            Some(process) => (process, true),
            None => {
                let (process, provenance) = self.loader().load(&bytes, digest)?;
                (Arc::new(process), provenance == Provenance::Cached)
            }
        };
        let Ok(_change) = self.changes.lock() else {
            return Err(DeployError::Io(std::io::Error::other(
                "the registry lock is poisoned",
            )));
        };
        let current = self.catalog();
        let targets = match replacing {
            Some(reference) => replaced(&current, reference, &process)?,
            None if current.by_digest(&digest).is_some() => {
                return Ok(Deployed {
                    process,
                    created: false,
                });
            }
            None => Vec::new(),
        };
        check_no_conflict(&current, &process, &targets)?;
        let file = format!("{}.wasm", digest.hex());
        let path = self.dir.join(&file);
        if !path.exists() {
            std::fs::rename(staged.0, &path)?;
        }
        let stamp = FileStamp::of(&std::fs::metadata(&path)?);
        let mut files = current.files.clone();
        self.remove_files(&current, &targets, Some(&digest), &mut files);
        files.insert(
            file,
            FileEntry {
                stamp,
                loaded: Loaded::Module {
                    process: process.clone(),
                    from_cache,
                },
            },
        );
        self.catalog.store(Arc::new(Catalog::build(files)));
        tracing::info!(process = %process.discipline.name, version = %process.discipline.version, digest = %digest, replaced = targets.len(), "module deployed");
        Ok(Deployed {
            process,
            created: true,
        })
    }

    /// Stops serving the modules `reference` names (every version when unpinned) and removes
    /// their files. Blocking.
    pub fn undeploy(&self, reference: &ProcessRef) -> Result<Vec<Arc<Process>>, DeployError> {
        let Ok(_change) = self.changes.lock() else {
            return Err(DeployError::Io(std::io::Error::other(
                "the registry lock is poisoned",
            )));
        };
        let current = self.catalog();
        let targets = current.matching(reference);
        if targets.is_empty() {
            return Err(DeployError::NoSuchProcess(reference.to_string()));
        }
        let mut files = current.files.clone();
        self.remove_files(&current, &targets, None, &mut files);
        self.catalog.store(Arc::new(Catalog::build(files)));
        tracing::info!(reference = %reference, removed = targets.len(), "modules undeployed");
        Ok(targets)
    }

    /// Removes the files of `targets` (except those holding `kept`) from disk and from `files`.
    /// A file that cannot be removed stays listed, so the catalogue keeps telling the truth.
    fn remove_files(
        &self,
        current: &Catalog,
        targets: &[Arc<Process>],
        kept: Option<&ModuleDigest>,
        files: &mut std::collections::BTreeMap<String, FileEntry>,
    ) {
        let doomed = targets.iter().filter(|target| Some(&target.digest) != kept);
        for file in doomed.flat_map(|target| current.files_of(&target.digest)) {
            match std::fs::remove_file(self.dir.join(&file)) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    tracing::error!(%file, %error, "cannot remove an undeployed module's file");
                }
                _ => {
                    files.remove(&file);
                }
            }
        }
    }
}

/// The modules a replacement removes: they must exist and provide the same process.
fn replaced(
    current: &Catalog,
    reference: &ProcessRef,
    process: &Process,
) -> Result<Vec<Arc<Process>>, DeployError> {
    let targets = current.matching(reference);
    if targets.is_empty() {
        return Err(DeployError::NoSuchProcess(reference.to_string()));
    }
    if process.discipline.name != reference.name {
        return Err(DeployError::Mismatch {
            expected: reference.name.clone(),
            found: process.discipline.name.clone(),
        });
    }
    Ok(targets)
}

/// Refuses a module whose name and version another module provides, unless it replaces it.
fn check_no_conflict(
    current: &Catalog,
    process: &Process,
    targets: &[Arc<Process>],
) -> Result<(), DeployError> {
    let clash = current
        .versions(&process.discipline.name)
        .iter()
        .find(|other| {
            other.discipline.version == process.discipline.version
                && other.digest != process.digest
                && !targets.iter().any(|target| target.digest == other.digest)
        });
    match clash {
        Some(other) => Err(DeployError::Conflict(format!(
            "{}@{} is already deployed as {}; replace it with PUT /processes/{}@{}",
            process.discipline.name,
            process.discipline.version,
            other.digest,
            process.discipline.name,
            process.discipline.version
        ))),
        None => Ok(()),
    }
}

/// A staged upload, removed when done with (renamed into place, or refused).
struct Staged<'a>(&'a Path);

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}
