//! Deep trees a guest leaves behind never stop the server: removing them (after a synchronous
//! execution, on `DELETE /jobs/{id}`, and at start-up) neither crashes it nor leaves them.
//! The server runs as a child process, since a stack overflow would abort the test binary.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};

use crate::cli::start_server_with;
use crate::helpers::{Caller, attack, guest};

/// Deeper than any recursive removal survives on a small stack, as reported in issue 11.
const LEVELS: usize = 16_000;

/// A data directory removed without recursion, even when a failing test leaves a deep tree
/// in it (`TempDir` alone would overflow the test's stack and hide the failure).
struct DataDir(tempfile::TempDir);

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = host::files::remove_tree(self.0.path());
    }
}

/// The server binary offering the Adversary, stopped when dropped (before its directories go).
struct Server {
    child: Child,
    caller: Caller,
    data: DataDir,
    _modules: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts a server on a data directory that `plant` prepared first.
    fn start(plant: impl FnOnce(&Path)) -> Self {
        let modules = tempfile::tempdir().expect("modules dir");
        std::fs::copy(guest("adversary"), modules.path().join("adversary.wasm")).expect("copy");
        let data = DataDir(tempfile::tempdir().expect("data dir"));
        plant(data.0.path());
        let deadline = [("DISCIPLINES_LIMITS__DEFAULT__DEADLINE", "120s")];
        let (child, address) = start_server_with(modules.path(), data.0.path(), &deadline);
        let client = reqwest::Client::new();
        Self {
            child,
            caller: Caller { address, client },
            data,
            _modules: modules,
        }
    }

    fn data(&self) -> &Path {
        self.data.0.path()
    }

    /// Asserts that the process still runs and answers `/health`.
    async fn assert_alive(&mut self, after: &str) {
        let exited = self.child.try_wait().expect("wait");
        assert!(
            exited.is_none(),
            "the server died after {after}: {exited:?}"
        );
        let health = reqwest::get(format!("{}/health", self.caller.address)).await;
        assert!(
            health.is_ok_and(|response| response.status() == 200),
            "the server stopped answering after {after}"
        );
    }

    /// Waits (generously) until `gone` holds, checking the server stays up meanwhile.
    async fn wait_until(&mut self, what: &str, gone: impl Fn() -> bool) {
        let started = Instant::now();
        while !gone() {
            self.assert_alive(what).await;
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{what}: never happened"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.assert_alive(what).await;
    }
}

/// Whether any directory directly under `dir` holds a nest ("d").
fn holds_a_nest(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.path().join("d").exists())
    })
}

/// The guest is stopped at the workspace's depth cap, but what it nested by then stays behind
/// and must go like any other tree.
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_nesting_directories_past_the_depth_cap_never_stops_the_server() {
    let mut server = Server::start(|_| {});
    let executed = server
        .caller
        .execute("Adversary", &attack("nest-dirs", LEVELS as f64))
        .await;
    assert_eq!(executed.problem_slug(), "workspace-limit", "{executed:?}");
    let workspaces = server.data().join("workspaces");
    server
        .wait_until("the synchronous workspace's removal", || {
            !holds_a_nest(&workspaces)
        })
        .await;
}

/// A job's kept workspace holding a tree deeper than any path (planted here, as a guest
/// faster than the depth check could leave one) goes on `DELETE` without stopping the server.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_job_whose_workspace_is_sixteen_thousand_levels_deep_never_stops_the_server() {
    let mut server = Server::start(|_| {});
    let id = server
        .caller
        .submit_ok("Adversary", &attack("write-files", 1.0))
        .await;
    let job = server.caller.wait_for_job(&id).await;
    assert_eq!(job["status"], "successful", "{job}");
    let job_dir = server.data().join("jobs").join(&id);
    assert!(job_dir.join("f0").exists(), "the job kept its file");
    nest(&job_dir, LEVELS);
    let deleted = server.caller.delete(&format!("/jobs/{id}")).await;
    assert_eq!(deleted.status, 200);
    server
        .wait_until("DELETE /jobs/{id}", || !job_dir.exists())
        .await;
    assert!(
        !server.data().join("quarantine").exists(),
        "removed, not quarantined"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_removes_a_deep_tree_left_in_the_workspaces() {
    let mut server = Server::start(|data| nest(&data.join("workspaces/ws-1-0"), LEVELS));
    let leftover = server.data().join("workspaces/ws-1-0");
    server
        .wait_until("the leftover's removal at start", || !leftover.exists())
        .await;
}

/// Creates `dir` with `levels` directories "d" nested in it (each created relative to the
/// last, as a guest does: no path could reach the deepest).
fn nest(dir: &Path, levels: usize) {
    std::fs::create_dir_all(dir).expect("top");
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut current = rustix::fs::open(dir, flags, Mode::empty()).expect("open");
    for _ in 0..levels {
        rustix::fs::mkdirat(&current, "d", Mode::RWXU).expect("mkdir");
        current = rustix::fs::openat(&current, "d", flags, Mode::empty()).expect("descend");
    }
}
