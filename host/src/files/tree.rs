//! A walk over a directory tree without recursion: every entry below a root with its metadata
//! and depth; symbolic links are neither followed nor entered. Listing, accounting and the
//! workspace caps all walk through it.

use std::fs::{Metadata, ReadDir};
use std::io;
use std::path::{Path, PathBuf};

/// One entry below the root.
pub(super) struct Entry {
    /// Its path (the root joined with the names below it).
    pub path: PathBuf,
    /// Its own metadata (a link's, not its target's).
    pub metadata: Metadata,
    /// 1 for an entry of the root itself, 2 for one inside such a directory, and so on.
    pub depth: usize,
}

/// The entries below a root, directories before what they hold; an `Err` is a directory that
/// could not be read (the walk goes on without it). Entries that vanish meanwhile are skipped.
pub(super) struct Tree {
    pending: Vec<(PathBuf, usize)>,
    reading: Option<(ReadDir, usize)>,
}

/// Walks the tree under `root` (not `root` itself).
pub(super) fn walk(root: &Path) -> Tree {
    Tree {
        pending: vec![(root.to_owned(), 0)],
        reading: None,
    }
}

impl Iterator for Tree {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((entries, depth)) = &mut self.reading {
                let depth = *depth;
                match entries.next() {
                    // `DirEntry::metadata` does not follow symbolic links.
                    Some(Ok(entry)) => match entry.metadata() {
                        Ok(metadata) => {
                            let path = entry.path();
                            if metadata.is_dir() {
                                self.pending.push((path.clone(), depth));
                            }
                            return Some(Ok(Entry {
                                path,
                                metadata,
                                depth,
                            }));
                        }
                        Err(_) => continue,
                    },
                    Some(Err(_)) => continue,
                    None => self.reading = None,
                }
            }
            let (dir, depth) = self.pending.pop()?;
            match std::fs::read_dir(&dir) {
                Ok(entries) => self.reading = Some((entries, depth + 1)),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}
