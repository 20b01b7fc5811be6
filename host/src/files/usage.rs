//! How much a directory tree holds: disk blocks allocated (a sparse file counts what it stores,
//! not its length), entries and depth; walked without recursion and stopped as soon as a cap
//! is passed, so measuring a hostile tree costs no more than its caps.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The deepest directory nesting a workspace may hold. Deeper trees are refused (and paths
/// past it would soon outgrow what the host's path-based calls accept).
pub const MAX_DEPTH: usize = 256;

/// What a tree may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeCaps {
    /// Disk bytes allocated to its files and directories.
    pub bytes: u64,
    /// Entries: files, directories and links, the root excepted.
    pub entries: u64,
}

/// What a tree holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeUsage {
    /// Disk bytes allocated, the root directory excepted.
    pub bytes: u64,
    /// Entries, the root excepted.
    pub entries: u64,
}

/// The cap a tree passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// More disk bytes than allowed.
    Bytes,
    /// More entries than allowed.
    Entries,
    /// Directories nested deeper than [`MAX_DEPTH`].
    Depth,
}

/// Measures the tree under `root`, stopping at the first cap passed. Entries that vanish
/// while it is walked are skipped; a missing root holds nothing.
pub fn measure(root: &Path, caps: TreeCaps) -> Result<TreeUsage, Overrun> {
    let mut usage = TreeUsage::default();
    for entry in super::tree::walk(root) {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) if is_too_long(&error) => return Err(Overrun::Depth),
            Err(_) => continue,
        };
        usage.entries += 1;
        usage.bytes = usage.bytes.saturating_add(allocated(&entry.metadata));
        if usage.entries > caps.entries {
            return Err(Overrun::Entries);
        }
        if usage.bytes > caps.bytes {
            return Err(Overrun::Bytes);
        }
        if entry.metadata.is_dir() && entry.depth >= MAX_DEPTH {
            return Err(Overrun::Depth);
        }
    }
    Ok(usage)
}

/// The disk bytes allocated to one entry (`blocks` counts in units of 512 bytes, whatever the
/// file system's own block size).
pub(super) fn allocated(metadata: &std::fs::Metadata) -> u64 {
    metadata.blocks().saturating_mul(512)
}

fn is_too_long(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(36) // ENAMETOOLONG on Linux
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: TreeCaps = TreeCaps {
        bytes: u64::MAX,
        entries: u64::MAX,
    };

    #[test]
    fn a_sparse_file_counts_the_blocks_it_holds_not_its_length() {
        let root = tempfile::tempdir().expect("temp dir");
        let file = std::fs::File::create(root.path().join("sparse")).expect("file");
        file.set_len(1 << 40).expect("a 1 TiB hole");
        let usage = measure(root.path(), ROOMY).expect("measured");
        assert_eq!(usage.entries, 1);
        assert!(usage.bytes < 1 << 20, "{usage:?}");
    }

    #[test]
    fn written_bytes_and_entries_are_counted_and_caps_stop_the_walk() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join("sub")).expect("dir");
        std::fs::write(root.path().join("sub/data"), vec![1_u8; 100_000]).expect("write");
        let usage = measure(root.path(), ROOMY).expect("measured");
        assert_eq!(usage.entries, 2);
        assert!(usage.bytes >= 100_000, "{usage:?}");
        let few = TreeCaps {
            entries: 1,
            ..ROOMY
        };
        assert_eq!(measure(root.path(), few), Err(Overrun::Entries));
        let small = TreeCaps {
            bytes: 50_000,
            ..ROOMY
        };
        assert_eq!(measure(root.path(), small), Err(Overrun::Bytes));
    }

    #[test]
    fn nesting_past_the_maximum_depth_is_an_overrun() {
        let root = tempfile::tempdir().expect("temp dir");
        let mut deep = root.path().to_owned();
        for _ in 0..MAX_DEPTH {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).expect("deep tree");
        assert_eq!(measure(root.path(), ROOMY), Err(Overrun::Depth));
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join("a/b/c")).expect("shallow tree");
        assert_eq!(
            measure(root.path(), ROOMY).map(|usage| usage.entries),
            Ok(3)
        );
    }
}
