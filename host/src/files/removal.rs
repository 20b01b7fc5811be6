//! Removing trees a guest wrote: iteratively, relative to open directories, so that no depth
//! exhausts a stack and no path length passes `PATH_MAX`; a tree that still cannot be removed
//! is moved to a quarantine directory and reported, never fatal.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

/// How every directory of a tree is opened: for reading, never through a symbolic link.
const DIRECTORY: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Removes `path` and everything under it, never following symbolic links. A missing path
/// counts as removed. Constant stack and a constant number of open descriptors (the directory
/// being emptied, and its listing while it is read), whatever the depth.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => {
            empty_directory(path).and_then(|()| std::fs::remove_dir(path))
        }
        Ok(_) => std::fs::remove_file(path),
        Err(error) => Err(error),
    };
    match removed {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// One directory on the way down: its name in its parent, its identity (to recognise the
/// parent again when climbing back through `..`), and its subdirectories still to remove.
struct Level {
    name: CString,
    identity: Stat,
    subdirectories: Vec<CString>,
}

/// Removes everything under the directory `path`, depth first, holding only the directory
/// being emptied open: it climbs back through `..`, checked to be the directory it came from.
fn empty_directory(path: &Path) -> io::Result<()> {
    let mut current = rustix::fs::open(path, DIRECTORY, Mode::empty())?;
    let mut levels = vec![Level::read(&current, CString::default())?];
    while let Some(level) = levels.last_mut() {
        if let Some(child) = level.subdirectories.pop() {
            match rustix::fs::openat(&current, child.as_c_str(), DIRECTORY, Mode::empty()) {
                Ok(opened) => {
                    levels.push(Level::read(&opened, child)?);
                    current = opened;
                }
                Err(Errno::NOENT) => {}
                // No longer a directory: remove whatever it became.
                Err(Errno::NOTDIR | Errno::LOOP) => unlink(&current, &child, AtFlags::empty())?,
                Err(error) => return Err(error.into()),
            }
            continue;
        }
        let emptied = levels.pop();
        let (Some(emptied), Some(parent)) = (emptied, levels.last()) else {
            return Ok(());
        };
        let up = rustix::fs::openat(&current, c"..", DIRECTORY, Mode::empty())?;
        if !same_directory(&rustix::fs::fstat(&up)?, &parent.identity) {
            return Err(io::Error::other(
                "a directory was moved while its tree was being removed",
            ));
        }
        unlink(&up, &emptied.name, AtFlags::REMOVEDIR)?;
        current = up;
    }
    Ok(())
}

impl Level {
    /// Reads the open directory `dir` whole, removes its files and symbolic links, and keeps
    /// the names of its subdirectories (all names are read before anything is removed, so
    /// that no entry is skipped by removals during the reading).
    fn read(dir: &OwnedFd, name: CString) -> io::Result<Self> {
        let mut entries = Vec::new();
        for entry in Dir::read_from(dir)? {
            let entry = entry?;
            let entry_name = entry.file_name();
            if entry_name != c"." && entry_name != c".." {
                entries.push((entry_name.to_owned(), entry.file_type()));
            }
        }
        let mut subdirectories = Vec::new();
        for (entry_name, file_type) in entries {
            if is_directory(dir, &entry_name, file_type)? {
                subdirectories.push(entry_name);
            } else {
                unlink(dir, &entry_name, AtFlags::empty())?;
            }
        }
        Ok(Self {
            name,
            identity: rustix::fs::fstat(dir)?,
            subdirectories,
        })
    }
}

/// Whether an entry is a directory (asking the file system when the listing did not say).
fn is_directory(dir: &OwnedFd, name: &CStr, listed: FileType) -> io::Result<bool> {
    if listed != FileType::Unknown {
        return Ok(listed == FileType::Directory);
    }
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(FileType::from_raw_mode(stat.st_mode) == FileType::Directory),
        Err(Errno::NOENT) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Removes one entry of `dir`; an entry already gone counts as removed.
fn unlink(dir: &OwnedFd, name: &CStr, flags: AtFlags) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, flags) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

fn same_directory(a: &Stat, b: &Stat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

/// Disposes of trees guests wrote: removes them, or, when that fails, moves them into a
/// quarantine directory (on the same file system) and warns. Never panics, never fatal.
#[derive(Debug, Clone)]
pub struct Disposal {
    quarantine: PathBuf,
    /// Trees in the quarantine: those found there at creation, and those moved there since.
    quarantined: Arc<AtomicUsize>,
}

impl Disposal {
    /// Quarantines what it cannot remove in `quarantine` (created when first needed); counts
    /// the trees earlier runs left there.
    pub fn new(quarantine: PathBuf) -> Self {
        let found = std::fs::read_dir(&quarantine).map_or(0, |entries| entries.count());
        Self {
            quarantine,
            quarantined: Arc::new(AtomicUsize::new(found)),
        }
    }

    /// The quarantine directory.
    pub fn quarantine_dir(&self) -> &Path {
        &self.quarantine
    }

    /// Removes the tree at `path`; one that cannot be removed is quarantined (a warning names
    /// both places), and one that cannot even be moved is logged as an error and left.
    pub fn dispose(&self, path: &Path) {
        self.settle(path, remove_tree(path));
    }

    /// What follows a removal of `path`: nothing when it succeeded, else the quarantine.
    fn settle(&self, path: &Path, removed: io::Result<()>) {
        let Err(error) = removed else {
            return;
        };
        match self.move_to_quarantine(path) {
            Ok(place) => tracing::warn!(
                %error,
                path = %path.display(),
                quarantined_at = %place.display(),
                "could not remove a tree a guest wrote: moved to the quarantine"
            ),
            Err(move_error) => tracing::error!(
                %error,
                %move_error,
                path = %path.display(),
                "could not remove a tree a guest wrote, nor move it to the quarantine"
            ),
        }
    }

    /// How many trees were in the quarantine at start, plus those moved there since (an
    /// operator's clean-up shows at the next start): read without touching the disk.
    pub fn quarantined(&self) -> usize {
        self.quarantined.load(Ordering::Relaxed)
    }

    fn move_to_quarantine(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::create_dir_all(&self.quarantine)?;
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let base = path
            .file_name()
            .map_or_else(|| "tree".into(), |name| name.to_string_lossy().into_owned());
        let place = self.quarantine.join(format!(
            "{}-{}-{base}",
            since_epoch.as_micros(),
            std::process::id()
        ));
        std::fs::rename(path, &place)?;
        self.quarantined.fetch_add(1, Ordering::Relaxed);
        Ok(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL_NAME: &str = "directory-with-a-long-name";

    /// Creates `levels` nested directories under `root` (each `mkdir` + `chdir` relative to
    /// the last, as a guest does), with a file at the bottom; returns the top one.
    fn nest(root: &Path, levels: usize) -> PathBuf {
        let top = root.join("deep");
        std::fs::create_dir(&top).expect("top");
        let mut current = rustix::fs::open(&top, DIRECTORY, Mode::empty()).expect("open");
        for _ in 0..levels {
            rustix::fs::mkdirat(&current, LEVEL_NAME, Mode::RWXU).expect("mkdir");
            current = rustix::fs::openat(&current, LEVEL_NAME, DIRECTORY, Mode::empty())
                .expect("descend");
        }
        let file = rustix::fs::openat(
            &current,
            c"bottom.txt",
            OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )
        .expect("file");
        drop(file);
        top
    }

    #[test]
    fn a_tree_deeper_than_path_max_is_removed() {
        let root = tempfile::tempdir().expect("temp dir");
        // 27 bytes a level: 400 levels make paths of 10 800 bytes, past PATH_MAX (4096).
        let top = nest(root.path(), 400);
        let deepest = (0..400).fold(top.clone(), |path, _| path.join(LEVEL_NAME));
        assert!(
            std::fs::symlink_metadata(&deepest).is_err(),
            "the deepest directory is out of reach of any path"
        );
        remove_tree(&top).expect("removed");
        assert!(!top.exists());
    }

    #[test]
    fn a_wide_tree_with_files_and_links_is_removed_without_following_links() {
        let root = tempfile::tempdir().expect("temp dir");
        let outside = root.path().join("outside");
        std::fs::create_dir(&outside).expect("outside");
        std::fs::write(outside.join("kept.txt"), b"kept").expect("kept");
        let tree = root.path().join("tree");
        for branch in 0..20 {
            let dir = tree.join(format!("b{branch}")).join("inner");
            std::fs::create_dir_all(&dir).expect("branch");
            std::fs::write(dir.join("f.txt"), b"x").expect("file");
            std::os::unix::fs::symlink(&outside, dir.join("link")).expect("link");
        }
        remove_tree(&tree).expect("removed");
        assert!(!tree.exists());
        assert_eq!(
            std::fs::read(outside.join("kept.txt")).expect("kept"),
            b"kept"
        );
        remove_tree(&tree).expect("a missing tree counts as removed");
    }

    #[test]
    fn what_cannot_be_removed_is_quarantined() {
        let root = tempfile::tempdir().expect("temp dir");
        let disposal = Disposal::new(root.path().join("quarantine"));
        let tree = root.path().join("tree");
        let stuck = tree.join("stuck");
        std::fs::create_dir_all(&stuck).expect("tree");
        std::fs::write(stuck.join("file"), b"x").expect("file");
        set_stuck(&stuck, true);
        if std::fs::write(stuck.join("probe"), b"x").is_ok() {
            eprintln!("skipped: this user can write into any directory, even an immutable one");
            return;
        }
        disposal.dispose(&tree);
        assert!(!tree.exists(), "the tree left its place");
        assert_eq!(disposal.quarantined(), 1);
        for entry in std::fs::read_dir(disposal.quarantine_dir()).expect("quarantine") {
            set_stuck(&entry.expect("entry").path().join("stuck"), false);
        }
    }

    #[test]
    fn a_tree_that_could_not_be_removed_is_moved_to_the_quarantine_and_counted() {
        let root = tempfile::tempdir().expect("temp dir");
        let disposal = Disposal::new(root.path().join("quarantine"));
        let tree = root.path().join("tree");
        std::fs::create_dir_all(tree.join("inner")).expect("tree");
        disposal.settle(&tree, Err(io::Error::other("refused")));
        assert!(!tree.exists(), "the tree left its place");
        assert_eq!(disposal.quarantined(), 1);
        let kept = std::fs::read_dir(disposal.quarantine_dir()).expect("quarantine");
        assert_eq!(kept.count(), 1);
        assert_eq!(
            Disposal::new(root.path().join("quarantine")).quarantined(),
            1,
            "a later start counts it"
        );
    }

    #[test]
    fn a_tree_that_can_be_neither_removed_nor_moved_stays_and_nothing_breaks() {
        let root = tempfile::tempdir().expect("temp dir");
        let not_a_directory = root.path().join("quarantine");
        std::fs::write(&not_a_directory, b"in the way").expect("a file");
        let disposal = Disposal::new(not_a_directory);
        let tree = root.path().join("tree");
        std::fs::create_dir(&tree).expect("tree");
        disposal.settle(&tree, Err(io::Error::other("refused")));
        assert!(tree.exists(), "left where it was");
        assert_eq!(disposal.quarantined(), 0);
    }

    /// Makes a directory unchangeable (read-only, and immutable where this user may say so),
    /// or changeable again.
    fn set_stuck(dir: &Path, stuck: bool) {
        let chattr = |attribute: &str| {
            let _ = std::process::Command::new("chattr")
                .arg(attribute)
                .arg(dir)
                .stderr(std::process::Stdio::null())
                .status();
        };
        if stuck {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).expect("mode");
            chattr("+i");
        } else {
            chattr("-i");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("mode");
        }
    }

    use std::os::unix::fs::PermissionsExt;
}
