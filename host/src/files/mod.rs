//! Files: uploads streamed to disk with their SHA-256, and the files of job workspaces.

mod abandoned;
mod chunks;
mod path;
mod removal;
mod tally;
mod tree;
mod uploads;
pub mod usage;

pub use abandoned::{ABANDONED_AFTER, Swept};
pub use chunks::{Chunk, MAX_CHUNKS, base_name};
pub use path::{BadPath, WorkspacePath, open_inside};
pub use removal::{Disposal, remove_tree};
pub use uploads::{
    StreamFailure, UploadError, UploadInfo, Uploads, caused_by_body_timeout, stream_to_file,
};

use std::path::Path;

use serde::Serialize;

/// One file of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Its path inside the workspace.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Every regular file under `root` (symbolic links are neither listed nor followed), with its
/// apparent size: what clients are shown.
pub fn list_tree(root: &Path) -> Vec<FileEntry> {
    let mut files: Vec<FileEntry> = tree::walk(root)
        .flatten()
        .filter(|entry| entry.metadata.is_file())
        .filter_map(|entry| {
            let relative = entry.path.strip_prefix(root).ok()?;
            Some(FileEntry {
                path: relative.to_string_lossy().into_owned(),
                size: entry.metadata.len(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// A directory whose disk must keep some free space.
#[derive(Debug, Clone)]
pub struct DiskReserve {
    /// The directory (the data directory).
    pub dir: std::path::PathBuf,
    /// The free bytes its disk keeps; below them, new work is refused.
    pub min_free_bytes: u64,
}

/// The bytes an unprivileged writer may still put on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(path)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// A directory's change time (seconds, nanoseconds): it moves whenever an entry is created,
/// removed or renamed in it, or its own metadata changes.
pub fn change_time(path: &Path) -> std::io::Result<(i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::symlink_metadata(path)?;
    Ok((metadata.ctime(), metadata.ctime_nsec()))
}

/// The disk space everything under `root` takes, in bytes: blocks actually allocated, so a
/// sparse file counts for what it holds, not for its apparent length, and directories and
/// links count too. What storage is accounted by.
pub fn disk_usage(root: &Path) -> u64 {
    tree::walk(root).flatten().fold(0, |bytes, entry| {
        bytes.saturating_add(usage::allocated(&entry.metadata))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_file_is_listed_at_its_length_and_counted_at_its_blocks() {
        let root = tempfile::tempdir().expect("temp dir");
        let sparse = std::fs::File::create(root.path().join("sparse")).expect("create");
        sparse.set_len(1 << 40).expect("a sparse terabyte");
        std::fs::write(root.path().join("small"), vec![1u8; 10_000]).expect("write");
        let listed = list_tree(root.path());
        assert_eq!(listed[0].size + listed[1].size, (1 << 40) + 10_000);
        let used = disk_usage(root.path());
        assert!(
            (10_000..1 << 20).contains(&used),
            "counted {used} bytes for 10 000 bytes of data"
        );
    }
}
