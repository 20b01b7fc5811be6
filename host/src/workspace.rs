//! Fresh, private workspace directories for executions, kept off the request's critical path.
//!
//! Creating and removing a directory costs ≈ 200 µs on this disk, more than a whole sandboxed
//! execution. The pool keeps directories ready, hands each to one execution at a time, and after
//! it: a directory the guest left untouched (still empty, change time unchanged) goes back to the
//! pool as it is, indistinguishable from a new one; any other is removed by a background thread,
//! which also creates replacements. No two executions ever hold the same directory at once, and
//! no execution ever sees what another one wrote. Every removal goes through `Disposal`: no
//! tree a guest wrote can crash the janitor, and one it cannot remove is quarantined.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::{fs, io, thread};

use crate::files::{Disposal, change_time};

/// A pool of ready workspace directories under one root that it owns.
pub struct WorkspacePool {
    root: PathBuf,
    ready: Mutex<Vec<Workspace>>,
    target: usize,
    next_id: AtomicU64,
    janitor: Mutex<Sender<PathBuf>>,
    disposal: Disposal,
}

/// A workspace held by one execution.
#[derive(Debug)]
pub struct Workspace {
    path: PathBuf,
    /// Change time (seconds, nanoseconds) when the directory was handed out.
    changed: (i64, i64),
}

impl Workspace {
    /// The directory's path on the host.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its change time when it was handed out, empty.
    pub fn change_time(&self) -> (i64, i64) {
        self.changed
    }
}

impl WorkspacePool {
    /// Empties `root` (left-overs of an earlier run) in the background and keeps `target`
    /// directories ready; removals go through `disposal`.
    pub fn start(root: &Path, target: usize, disposal: Disposal) -> io::Result<Arc<Self>> {
        fs::create_dir_all(root)?;
        let stale = fs::read_dir(root)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect::<Vec<_>>();
        let (janitor, requests) = mpsc::channel();
        let pool = Arc::new(Self {
            root: root.to_owned(),
            ready: Mutex::new(Vec::with_capacity(target)),
            target,
            next_id: AtomicU64::new(0),
            janitor: Mutex::new(janitor),
            disposal,
        });
        let weak = Arc::downgrade(&pool);
        let disposal = pool.disposal.clone();
        thread::Builder::new()
            .name("workspace-janitor".into())
            .spawn(move || janitor_loop(&weak, requests, &disposal))?;
        for path in stale {
            pool.send_to_janitor(path);
        }
        Ok(pool)
    }

    /// Hands out a ready directory, or creates one now if none is ready.
    pub fn acquire(&self) -> io::Result<Workspace> {
        let ready = self
            .ready
            .lock()
            .map(|mut ready| ready.pop())
            .ok()
            .flatten();
        match ready {
            Some(workspace) => Ok(workspace),
            None => self.create(),
        }
    }

    /// Takes a directory back once its execution is over: an untouched one is ready again at
    /// once (the pool may then hold a few more than its target), any other is removed.
    pub fn release(&self, workspace: Workspace) {
        if is_untouched(&workspace)
            && let Ok(mut ready) = self.ready.lock()
        {
            ready.push(workspace);
            return;
        }
        self.send_to_janitor(workspace.path);
    }

    /// Once its execution is over, keeps what the guest wrote as `keep_at` (one rename, same
    /// filesystem), or takes the directory back if the guest left it untouched. Returns whether
    /// anything was kept.
    pub fn keep_or_release(&self, workspace: Workspace, keep_at: &Path) -> io::Result<bool> {
        if is_untouched(&workspace) {
            self.release(workspace);
            return Ok(false);
        }
        if let Some(parent) = keep_at.parent() {
            fs::create_dir_all(parent)?;
        }
        self.disposal.dispose(keep_at);
        fs::rename(&workspace.path, keep_at)?;
        self.send_to_janitor_top_up();
        Ok(true)
    }

    fn send_to_janitor_top_up(&self) {
        // A nonexistent path: the janitor removes nothing and tops the pool up.
        self.send_to_janitor(self.root.join(".top-up"));
    }

    fn create(&self) -> io::Result<Workspace> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let path = self.root.join(format!("ws-{}-{id}", std::process::id()));
        fs::create_dir(&path)?;
        let changed = change_time(&path)?;
        Ok(Workspace { path, changed })
    }

    fn send_to_janitor(&self, path: PathBuf) {
        let sent = self
            .janitor
            .lock()
            .map(|janitor| janitor.send(path.clone()));
        if !matches!(sent, Ok(Ok(()))) {
            self.disposal.dispose(&path);
        }
    }

    /// How trees guests wrote are removed.
    pub fn disposal(&self) -> &Disposal {
        &self.disposal
    }

    fn top_up(&self) {
        while self
            .ready
            .lock()
            .map(|ready| ready.len() < self.target)
            .unwrap_or(false)
        {
            match self.create() {
                Ok(workspace) => {
                    if let Ok(mut ready) = self.ready.lock() {
                        ready.push(workspace);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, root = %self.root.display(), "could not create a workspace");
                    return;
                }
            }
        }
    }
}

/// Removes used directories and creates replacements until the pool is dropped.
fn janitor_loop(
    pool: &std::sync::Weak<WorkspacePool>,
    requests: Receiver<PathBuf>,
    disposal: &Disposal,
) {
    if let Some(pool) = pool.upgrade() {
        pool.top_up();
    }
    while let Ok(path) = requests.recv() {
        disposal.dispose(&path);
        let Some(pool) = pool.upgrade() else { return };
        pool.top_up();
    }
}

/// Untouched: still an empty directory whose change time never moved (any entry created,
/// removed or renamed, and any change of its times or permissions, moves it).
fn is_untouched(workspace: &Workspace) -> bool {
    let unchanged = change_time(&workspace.path).is_ok_and(|changed| changed == workspace.changed);
    unchanged && fs::read_dir(&workspace.path).is_ok_and(|mut entries| entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> (tempfile::TempDir, Arc<WorkspacePool>) {
        let root = tempfile::tempdir().expect("temp dir");
        let disposal = Disposal::new(root.path().join("quarantine"));
        let pool =
            WorkspacePool::start(&root.path().join("workspaces"), 4, disposal).expect("pool");
        (root, pool)
    }

    #[test]
    fn two_held_workspaces_are_distinct_and_empty() {
        let (_root, pool) = pool();
        let first = pool.acquire().expect("first");
        let second = pool.acquire().expect("second");
        assert_ne!(first.path(), second.path());
        for workspace in [&first, &second] {
            assert_eq!(fs::read_dir(workspace.path()).expect("readable").count(), 0);
        }
    }

    #[test]
    fn a_used_workspace_is_never_handed_out_again() {
        let (_root, pool) = pool();
        let used = pool.acquire().expect("workspace");
        let used_path = used.path().to_owned();
        fs::write(used_path.join("secret"), b"mine").expect("write");
        pool.release(used);
        for _ in 0..16 {
            let next = pool.acquire().expect("workspace");
            assert_ne!(next.path(), used_path);
            assert_eq!(fs::read_dir(next.path()).expect("readable").count(), 0);
        }
    }

    #[test]
    fn what_a_guest_wrote_is_kept_elsewhere_and_an_untouched_workspace_goes_back() {
        let (root, pool) = pool();
        let kept = root.path().join("jobs").join("one");
        let written = pool.acquire().expect("workspace");
        fs::write(written.path().join("out.txt"), b"result").expect("write");
        let written_path = written.path().to_owned();
        assert!(pool.keep_or_release(written, &kept).expect("kept"));
        assert_eq!(fs::read(kept.join("out.txt")).expect("moved"), b"result");
        assert!(!written_path.exists());
        let untouched = pool.acquire().expect("workspace");
        let untouched_path = untouched.path().to_owned();
        let elsewhere = root.path().join("jobs").join("two");
        assert!(
            !pool
                .keep_or_release(untouched, &elsewhere)
                .expect("released")
        );
        assert!(!elsewhere.exists());
        assert!(handed_out_again(&pool, &untouched_path));
    }

    /// Whether `path` is among the next workspaces handed out (the janitor may be adding
    /// fresh ones at the same time).
    fn handed_out_again(pool: &WorkspacePool, path: &Path) -> bool {
        let held: Vec<Workspace> = (0..8).map(|_| pool.acquire().expect("workspace")).collect();
        held.iter().any(|workspace| workspace.path() == path)
    }

    #[test]
    fn an_untouched_workspace_is_reused() {
        let (_root, pool) = pool();
        let untouched = pool.acquire().expect("workspace");
        let path = untouched.path().to_owned();
        pool.release(untouched);
        assert!(handed_out_again(&pool, &path));
    }
}
