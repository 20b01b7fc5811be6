//! Reading the modules directory: which `*.wasm` files changed since the last look, loaded with
//! bounded parallelism; unchanged files and already-known bytes are not compiled again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::catalog::{Catalog, FileEntry, FileStamp, Loaded};
use super::loader::Loader;
use crate::discipline::ModuleDigest;
use crate::sandbox::Provenance;

/// The `*.wasm` files of `dir` (not hidden, not in subdirectories) with their stamps; an error
/// when the directory cannot be read, or a file in it cannot be looked at for want of a
/// descriptor or memory. A file that cannot be looked at otherwise (a dangling or looping link,
/// a refused permission) is not a module, and the others are still read.
fn wasm_files(dir: &Path) -> std::io::Result<BTreeMap<String, (PathBuf, FileStamp)>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !name.ends_with(".wasm") || name.starts_with('.') {
            continue;
        }
        // Follows symbolic links: operators may link modules in from elsewhere.
        let metadata = match std::fs::metadata(entry.path()) {
            Ok(metadata) => metadata,
            Err(error) if is_shortage(&error) => return Err(error),
            Err(_) => continue,
        };
        if metadata.is_file() {
            files.insert(name, (entry.path(), FileStamp::of(&metadata)));
        }
    }
    Ok(files)
}

/// Whether the system is short of descriptors or memory: a passing state, unlike a file's own
/// fault.
fn is_shortage(error: &std::io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    matches!(error.raw_os_error(), Some(ENOMEM | ENFILE | EMFILE))
}

/// The entries of every file now in `dir`: the previous entry when the file looks the same,
/// else the file read again. Each new digest is compiled once, however many files hold it, and
/// bytes already served reuse their process. An error when the directory cannot be read.
pub(super) fn rescan(
    dir: &Path,
    previous: &Catalog,
    loader: &Loader,
    threads: usize,
) -> std::io::Result<BTreeMap<String, FileEntry>> {
    let mut entries = BTreeMap::new();
    let mut changed = Vec::new();
    for (name, (path, stamp)) in wasm_files(dir)? {
        match previous.files.get(&name) {
            Some(entry) if entry.stamp == stamp => {
                entries.insert(name, entry.clone());
            }
            _ => changed.push((name, path, stamp)),
        }
    }
    let digests = in_parallel(&changed, threads, |(_, path, _)| digest_file(path));
    let mut to_load: BTreeMap<ModuleDigest, &Path> = BTreeMap::new();
    for ((_, path, _), digest) in changed.iter().zip(&digests) {
        if let Ok(digest) = digest
            && previous.by_digest(digest).is_none()
        {
            to_load.entry(*digest).or_insert(path);
        }
    }
    let work: Vec<(ModuleDigest, &Path)> = to_load.into_iter().collect();
    let loaded: HashMap<ModuleDigest, Loaded> = in_parallel(&work, threads, |(digest, path)| {
        (*digest, load_file(path, digest, loader))
    })
    .into_iter()
    .collect();
    for ((name, _, stamp), digest) in changed.into_iter().zip(digests) {
        let outcome = match digest {
            Err(error) => Loaded::Rejected {
                digest: None,
                error: format!("cannot read: {error}"),
            },
            Ok(digest) => match previous.by_digest(&digest) {
                Some(process) => Loaded::Module {
                    process: process.clone(),
                    from_cache: true,
                },
                None => loaded
                    .get(&digest)
                    .cloned()
                    .unwrap_or_else(|| Loaded::Rejected {
                        digest: Some(digest),
                        error: "not loaded".into(),
                    }),
            },
        };
        log_outcome(&name, &outcome);
        entries.insert(
            name,
            FileEntry {
                stamp,
                loaded: outcome,
            },
        );
    }
    Ok(entries)
}

/// The scanned entries, except for the files a deployment or undeployment changed since
/// `previous` (the catalogue the scan started from): those keep their state in `current`,
/// which is newer than what the scan read. The next rescan looks at them again anyway.
pub(super) fn keep_concurrent_changes(
    mut scanned: BTreeMap<String, FileEntry>,
    previous: &Catalog,
    current: &Catalog,
) -> BTreeMap<String, FileEntry> {
    let names: BTreeSet<&String> = previous.files.keys().chain(current.files.keys()).collect();
    for name in names {
        let (before, now) = (previous.files.get(name), current.files.get(name));
        if FileEntry::same(before, now) {
            continue;
        }
        match now {
            Some(entry) => scanned.insert(name.clone(), entry.clone()),
            None => scanned.remove(name),
        };
    }
    scanned
}

fn digest_file(path: &Path) -> std::io::Result<ModuleDigest> {
    std::fs::read(path).map(|bytes| ModuleDigest::of(&bytes))
}

/// Loads the file expected to hold `digest` (it may have changed since: then it is refused
/// for now, and the change that made it differ brings another rescan).
fn load_file(path: &Path, digest: &ModuleDigest, loader: &Loader) -> Loaded {
    let rejected = |error: String| Loaded::Rejected {
        digest: Some(*digest),
        error,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return rejected(format!("cannot read: {error}")),
    };
    if ModuleDigest::of(&bytes) != *digest {
        return rejected("the file changed while it was being loaded".into());
    }
    match loader.load(&bytes, *digest) {
        Ok((process, provenance)) => Loaded::Module {
            process: Arc::new(process),
            from_cache: provenance == Provenance::Cached,
        },
        Err(rejection) => rejected(rejection.to_string()),
    }
}

fn log_outcome(file: &str, loaded: &Loaded) {
    match loaded {
        Loaded::Module {
            process,
            from_cache,
        } => tracing::info!(
            file,
            process = %process.discipline.name,
            version = %process.discipline.version,
            cached = from_cache,
            "module ready"
        ),
        Loaded::Rejected { error, .. } => tracing::error!(file, %error, "module is broken"),
    }
}

/// Maps `work` over `items` on at most `threads` threads, keeping the order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = work(item);
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_looked_at_is_skipped_and_the_others_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("good.wasm"), b"bytes").expect("write");
        std::os::unix::fs::symlink("loop.wasm", dir.path().join("loop.wasm")).expect("link");
        std::os::unix::fs::symlink("nowhere", dir.path().join("dangling.wasm")).expect("link");
        let files = wasm_files(dir.path()).expect("the directory is readable");
        assert_eq!(files.keys().collect::<Vec<_>>(), ["good.wasm"]);
    }

    #[test]
    fn a_shortage_of_descriptors_or_memory_is_told_from_a_files_fault() {
        assert!(is_shortage(&std::io::Error::from_raw_os_error(24)));
        assert!(is_shortage(&std::io::Error::from_raw_os_error(12)));
        assert!(!is_shortage(&std::io::Error::from_raw_os_error(40))); // ELOOP
        assert!(!is_shortage(&std::io::Error::from_raw_os_error(13))); // EACCES
    }
}
