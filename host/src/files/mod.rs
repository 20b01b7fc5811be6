//! Files: uploads streamed to disk with their SHA-256, and the files of job workspaces.

mod chunks;
mod path;
mod removal;
mod uploads;
pub mod usage;

pub use chunks::{Chunk, MAX_CHUNKS, base_name};
pub use path::{BadPath, WorkspacePath, open_inside};
pub use removal::{Disposal, remove_tree};
pub use uploads::{UploadError, UploadInfo, Uploads, stream_to_file};

use std::os::unix::fs::MetadataExt;
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
    let mut files = Vec::new();
    walk(root, |path, metadata| {
        if metadata.is_file()
            && let Ok(relative) = path.strip_prefix(root)
        {
            files.push(FileEntry {
                path: relative.to_string_lossy().into_owned(),
                size: metadata.len(),
            });
        }
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The disk space everything under `root` takes, in bytes: blocks actually allocated, so a
/// sparse file counts for what it holds, not for its apparent length, and directories and
/// links count too. What storage is accounted by.
pub fn disk_usage(root: &Path) -> u64 {
    let mut bytes = 0u64;
    walk(root, |_, metadata| {
        bytes = bytes.saturating_add(metadata.blocks().saturating_mul(BLOCK_BYTES));
    });
    bytes
}

/// The unit of `MetadataExt::blocks`, whatever the file system's own block size.
const BLOCK_BYTES: u64 = 512;

/// Visits every entry under `root` (not `root` itself) with its metadata, iteratively, without
/// following symbolic links; unreadable entries are skipped.
fn walk(root: &Path, mut visit: impl FnMut(&Path, &std::fs::Metadata)) {
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            visit(&path, &metadata);
            if metadata.is_dir() {
                pending.push(path);
            }
        }
    }
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
