//! The on-disk cache of precompiled components, keyed by module digest and engine compatibility.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::compiler::{self, Compilation, Gate};
use super::{LoadError, Provenance, SandboxConfig};
use crate::discipline::ModuleDigest;

/// The first eight bytes of every component (magic, then the component layer's version).
const COMPONENT_PREAMBLE: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";
/// The first eight bytes of every core module.
const CORE_MODULE_PREAMBLE: [u8; 8] = *b"\0asm\x01\x00\x00\x00";

/// Precompiled artifacts in one directory that only this server writes.
pub(super) struct ArtifactCache {
    dir: PathBuf,
    /// Compiling children at once, for every caller of this sandbox.
    children: Gate,
    /// Differs whenever the engine's settings or version would make an artifact unloadable.
    engine_key: String,
}

impl ArtifactCache {
    pub(super) fn open(
        dir: &Path,
        engine: &Engine,
        config: &SandboxConfig,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let children = match &config.compilation {
            Compilation::Child(child) => child.at_once,
            Compilation::InProcess => 1,
        };
        Ok(Self {
            dir: dir.to_owned(),
            children: Gate::new(children),
            engine_key: engine_key(engine),
        })
    }

    fn artifact_path(&self, digest: &ModuleDigest) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", digest.hex(), self.engine_key))
    }

    /// The component of `bytes`: its cached artifact, else compiled as `config` says (and
    /// cached).
    pub(super) fn load_or_compile(
        &self,
        engine: &Engine,
        config: &SandboxConfig,
        bytes: &[u8],
        digest: &ModuleDigest,
    ) -> Result<(Component, Provenance), LoadError> {
        let path = self.artifact_path(digest);
        if let Ok(component) = load_artifact(engine, &path) {
            return Ok((component, Provenance::Cached));
        }
        check_preamble(bytes)?;
        let component = match &config.compilation {
            Compilation::InProcess => compile_in_process(engine, bytes, &path)?,
            Compilation::Child(child) => {
                let _place = self.children.enter();
                compiler::compile_in_child(child, config, bytes, &path)?;
                load_artifact(engine, &path).map_err(|error| {
                    LoadError::CompileFailed(format!("cannot load the compiled artifact: {error}"))
                })?
            }
        };
        Ok((component, Provenance::Compiled))
    }
}

/// What differs whenever the engine's settings or version would make an artifact unloadable.
pub(super) fn engine_key(engine: &Engine) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The component of the artifact at `path`. An artifact that is there but unloadable
/// (incompatible or corrupt) is removed; one that cannot be read now (no descriptor or memory
/// left, say) is kept for next time.
fn load_artifact(engine: &Engine, path: &Path) -> Result<Component, String> {
    if !path.exists() {
        return Err("no artifact".into());
    }
    // SAFETY: artifacts are loaded only from the server's own cache directory, written
    // atomically (`write_atomically`) from components compiled by this engine or by a child
    // process of this server's own binary with the same engine settings; their name carries
    // the engine's compatibility hash, and wasmtime checks the engine settings stored in the
    // artifact and refuses a mismatch.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize_file(engine, path) };
    loaded.map_err(|error| {
        let message = format!("{error:#}");
        if is_environmental(&error) {
            tracing::warn!(path = %path.display(), error = %message, "cannot read an artifact now; it is kept");
        } else {
            tracing::warn!(path = %path.display(), error = %message, "discarding an unloadable artifact");
            let _ = std::fs::remove_file(path);
        }
        message
    })
}

/// Whether an error came from the system (a refused open, read or mapping: no descriptor or
/// memory left, say) rather than from the bytes themselves.
pub(super) fn is_environmental(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some()
            || cause.downcast_ref::<rustix::io::Errno>().is_some()
    })
}

fn check_preamble(bytes: &[u8]) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some(preamble) if preamble == CORE_MODULE_PREAMBLE => Err(LoadError::CoreModule),
        Some(preamble) if preamble == COMPONENT_PREAMBLE => Ok(()),
        _ => Err(LoadError::Invalid(
            "the file does not start with a WebAssembly component preamble".into(),
        )),
    }
}

fn compile_in_process(engine: &Engine, bytes: &[u8], path: &Path) -> Result<Component, LoadError> {
    let component =
        Component::new(engine, bytes).map_err(|error| LoadError::Invalid(format!("{error:#}")))?;
    let stored = component
        .serialize()
        .map_err(std::io::Error::other)
        .and_then(|artifact| write_atomically(path, &artifact));
    if let Err(error) = stored {
        tracing::warn!(path = %path.display(), %error, "could not cache a compiled component");
    }
    Ok(component)
}

/// Writes `bytes` at `path` through a temporary file renamed into place.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_artifact_is_discarded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("corrupt.cwasm");
        std::fs::write(&path, b"\x7fELF and then nonsense").expect("write");
        assert!(load_artifact(&Engine::default(), &path).is_err());
        assert!(!path.exists(), "a corrupt artifact was kept");
    }

    #[test]
    fn an_artifact_that_cannot_be_read_now_is_kept() {
        // A link to a directory opens but cannot be mapped: an error of the system, as when
        // no descriptor or memory is left, not of the artifact.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("unreadable.cwasm");
        std::os::unix::fs::symlink(dir.path(), &path).expect("link");
        assert!(load_artifact(&Engine::default(), &path).is_err());
        assert!(
            path.symlink_metadata().is_ok(),
            "the artifact was discarded"
        );
    }

    #[test]
    fn errors_of_the_system_are_told_apart() {
        let no_descriptor = std::io::Error::from_raw_os_error(24);
        let error = wasmtime::Error::new(no_descriptor).context("failed to open the artifact");
        assert!(is_environmental(&error));
        assert!(!is_environmental(&wasmtime::Error::msg(
            "Module was compiled with a different engine"
        )));
    }
}
