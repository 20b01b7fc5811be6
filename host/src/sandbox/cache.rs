//! The on-disk cache of precompiled components, keyed by module digest and engine compatibility.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::{LoadError, Provenance};
use crate::discipline::ModuleDigest;

/// The first eight bytes of every component (magic, then the component layer's version).
const COMPONENT_PREAMBLE: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";
/// The first eight bytes of every core module.
const CORE_MODULE_PREAMBLE: [u8; 8] = *b"\0asm\x01\x00\x00\x00";

/// Precompiled artifacts in one directory that only this server writes.
pub(super) struct ArtifactCache {
    dir: PathBuf,
    /// Differs whenever the engine's settings or version would make an artifact unloadable.
    engine_key: String,
}

impl ArtifactCache {
    pub(super) fn open(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: dir.to_owned(),
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    fn artifact_path(&self, digest: &ModuleDigest) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", digest.hex(), self.engine_key))
    }

    pub(super) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &ModuleDigest,
    ) -> Result<(Component, Provenance), LoadError> {
        let path = self.artifact_path(digest);
        if let Some(component) = load_artifact(engine, &path) {
            return Ok((component, Provenance::Cached));
        }
        let component = compile(engine, bytes)?;
        if let Err(error) = store_artifact(&component, &path) {
            tracing::warn!(path = %path.display(), %error, "could not cache a compiled component");
        }
        Ok((component, Provenance::Compiled))
    }
}

fn load_artifact(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: artifacts are loaded only from the server's own cache directory, written by
    // `store_artifact` below from components this engine compiled (atomically renamed into
    // place), and their name carries the engine's compatibility hash; wasmtime additionally
    // checks the engine settings stored in the artifact and refuses a mismatch.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize_file(engine, path) };
    match loaded {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "discarding an unloadable artifact");
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    match bytes.get(..8) {
        Some(preamble) if preamble == CORE_MODULE_PREAMBLE => return Err(LoadError::CoreModule),
        Some(preamble) if preamble == COMPONENT_PREAMBLE => {}
        _ => {
            return Err(LoadError::Invalid(
                "the file does not start with a WebAssembly component preamble".into(),
            ));
        }
    }
    Component::new(engine, bytes).map_err(|error| LoadError::Invalid(format!("{error:#}")))
}

fn store_artifact(component: &Component, path: &Path) -> std::io::Result<()> {
    let artifact = component.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&artifact)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
