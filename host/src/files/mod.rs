//! Files: uploads streamed to disk with their SHA-256, and the files of job workspaces.

mod chunks;
mod path;
mod uploads;
pub mod usage;

pub use chunks::{Chunk, MAX_CHUNKS, base_name};
pub use path::{BadPath, WorkspacePath, open_inside};
pub use uploads::{UploadError, UploadInfo, Uploads, stream_to_file};

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

/// Every regular file under `root` (symbolic links are neither listed nor followed).
pub fn list_tree(root: &Path) -> Vec<FileEntry> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(entry.path());
            } else if metadata.is_file()
                && let Ok(relative) = entry.path().strip_prefix(root)
            {
                files.push(FileEntry {
                    path: relative.to_string_lossy().into_owned(),
                    size: metadata.len(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
