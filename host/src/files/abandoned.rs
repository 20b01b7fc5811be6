//! What crashed or abandoned uploads leave behind: partial uploads (`<id>.partial`), chunks
//! still being received (`.chunks/<id>.part`) and the filed chunks of a chunked upload whose
//! client stopped sending. Partial files are removed at start, when no request can be writing
//! them; everything is removed by the collector once nothing was written to it for
//! [`ABANDONED_AFTER`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Uploads;

/// How long an upload may go without a byte written before what it left is removed: far past
/// the body timeout, which cuts a request that stalls.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(15 * 60);

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Files removed.
    pub files: usize,
    /// Their apparent size, in bytes.
    pub bytes: u64,
}

impl Uploads {
    /// At start: removes every partial upload and chunk being received (no request is live),
    /// and abandoned chunked uploads. Blocking: call it off the runtime.
    pub fn remove_partials_at_start(&self) -> Swept {
        self.sweep(Duration::ZERO)
    }

    /// Removes partial uploads, chunks being received and chunked uploads to which nothing was
    /// written for [`ABANDONED_AFTER`]. Blocking: call it off the runtime.
    pub fn remove_abandoned(&self) -> Swept {
        self.sweep(ABANDONED_AFTER)
    }

    fn sweep(&self, partials_idle_for: Duration) -> Swept {
        let mut swept = Swept::default();
        let partial = |path: &Path| has_extension(path, "partial");
        let part = |path: &Path| has_extension(path, "part");
        for (path, modified, size) in files_in(&self.dir).chain(files_in(&self.chunks_dir())) {
            if (partial(&path) || part(&path)) && idle_for(modified) >= partials_idle_for {
                swept.remove(&path, size);
            }
        }
        for chunks in abandoned_chunked_uploads(&self.chunks_dir()) {
            for (path, size) in chunks {
                swept.remove(&path, size);
            }
        }
        swept
    }
}

impl Swept {
    /// Logs what was freed, if anything.
    pub fn log(&self, when: &str) {
        if self.files > 0 {
            tracing::info!(
                files = self.files,
                bytes = self.bytes,
                when,
                "removed what crashed or abandoned uploads left"
            );
        }
    }

    fn remove(&mut self, path: &Path, size: u64) {
        if std::fs::remove_file(path).is_ok() {
            self.files += 1;
            self.bytes += size;
        }
    }
}

/// The filed chunks of each chunked upload none of whose chunks changed for
/// [`ABANDONED_AFTER`] (a live upload files a chunk at a time, so its newest chunk is recent).
fn abandoned_chunked_uploads(dir: &Path) -> Vec<Vec<(PathBuf, u64)>> {
    let mut by_key: HashMap<String, (SystemTime, Vec<(PathBuf, u64)>)> = HashMap::new();
    for (path, modified, size) in files_in(dir) {
        // A filed chunk is `<key>.<number>`.
        let Some(key) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.rsplit_once('.'))
            .filter(|(_, number)| number.parse::<u64>().is_ok())
            .map(|(key, _)| key.to_owned())
        else {
            continue;
        };
        let upload = by_key
            .entry(key)
            .or_insert((SystemTime::UNIX_EPOCH, Vec::new()));
        upload.0 = upload.0.max(modified);
        upload.1.push((path, size));
    }
    by_key
        .into_values()
        .filter(|(newest, _)| idle_for(*newest) >= ABANDONED_AFTER)
        .map(|(_, chunks)| chunks)
        .collect()
}

/// The regular files directly in `dir`, with their modification time and size.
fn files_in(dir: &Path) -> impl Iterator<Item = (PathBuf, SystemTime, u64)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let metadata = entry.metadata().ok().filter(std::fs::Metadata::is_file)?;
            Some((entry.path(), metadata.modified().ok()?, metadata.len()))
        })
}

fn idle_for(modified: SystemTime) -> Duration {
    modified.elapsed().unwrap_or_default()
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|found| found == extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(path: &Path, idle: Duration) {
        std::fs::write(path, b"abc").expect("write");
        let file = std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open");
        file.set_modified(SystemTime::now() - idle)
            .expect("set the modification time");
    }

    #[test]
    fn partials_go_at_start_and_abandoned_chunked_uploads_go_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let uploads = Uploads::new(dir.path(), 1 << 20).expect("uploads");
        let chunks = uploads.chunks_dir();
        std::fs::create_dir_all(&chunks).expect("chunks dir");
        let fresh = Duration::ZERO;
        let old = ABANDONED_AFTER + Duration::from_secs(60);
        make(&dir.path().join("a.partial"), fresh);
        make(&dir.path().join("b.bin"), old);
        make(&dir.path().join("b.json"), old);
        make(&chunks.join("c.part"), fresh);
        // A live chunked upload: its first chunk is old, its newest recent.
        make(&chunks.join("live.0"), old);
        make(&chunks.join("live.1"), fresh);
        make(&chunks.join("dead.0"), old);
        make(&chunks.join("dead.1"), old);

        assert_eq!(uploads.remove_abandoned(), Swept { files: 2, bytes: 6 });
        assert!(!chunks.join("dead.0").exists());
        assert!(dir.path().join("a.partial").exists());
        assert!(chunks.join("c.part").exists());

        assert_eq!(uploads.remove_partials_at_start().files, 2);
        for kept in ["b.bin", "b.json"] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
        assert!(chunks.join("live.0").exists() && chunks.join("live.1").exists());
        assert!(!dir.path().join("a.partial").exists());
        assert!(!chunks.join("c.part").exists());
    }

    #[test]
    fn an_old_partial_is_abandoned_a_recent_one_is_live() {
        let dir = tempfile::tempdir().expect("temp dir");
        let uploads = Uploads::new(dir.path(), 1 << 20).expect("uploads");
        make(
            &dir.path().join("old.partial"),
            ABANDONED_AFTER + Duration::from_secs(1),
        );
        make(&dir.path().join("new.partial"), Duration::ZERO);
        assert_eq!(uploads.remove_abandoned().files, 1);
        assert!(dir.path().join("new.partial").exists());
    }
}
