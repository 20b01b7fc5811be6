//! Deep trees a guest leaves behind never stop the server: removing them (after a synchronous
//! execution, on `DELETE /jobs/{id}`, and at start-up) neither crashes it nor leaves them.
//! The server runs as a child process, since a stack overflow would abort the test binary.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use serde_json::json;

use crate::cli::start_server_with;
use crate::helpers::guest;

/// Deeper than any recursive removal survives on a small stack, as reported in issue 11.
const DEPTH: f64 = 16_000.0;

/// A data directory removed without recursion, even when a failing test leaves a deep tree
/// in it (`TempDir` alone would overflow the test's stack and hide the failure).
struct DataDir(tempfile::TempDir);

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = host::files::remove_tree(self.0.path());
    }
}

/// The server binary, stopped when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(modules: &Path, data: &Path) -> Self {
        let deadline = [("DISCIPLINES_LIMITS__DEFAULT__DEADLINE", "120s")];
        let (child, address) = start_server_with(modules, data, &deadline);
        Self { child, address }
    }

    /// Asserts that the process still runs and answers `/health`.
    async fn assert_alive(&mut self, after: &str) {
        let exited = self.child.try_wait().expect("wait");
        assert!(
            exited.is_none(),
            "the server died after {after}: {exited:?}"
        );
        let health = reqwest::get(format!("{}/health", self.address)).await;
        assert!(
            health.is_ok_and(|response| response.status() == 200),
            "the server stopped answering after {after}"
        );
    }
}

/// Waits (generously) until `gone` holds, checking the server stays up meanwhile.
async fn wait_until(server: &mut Server, what: &str, gone: impl Fn() -> bool) {
    let started = Instant::now();
    while !gone() {
        server.assert_alive(what).await;
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: never happened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.assert_alive(what).await;
}

/// Whether any directory directly under `dir` holds the guest's nest ("d").
fn holds_a_nest(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.path().join("d").exists())
    })
}

fn nest_dirs() -> serde_json::Value {
    json!({"inputs": {"attack": "nest-dirs", "amount": [DEPTH]}})
}

/// The guest is stopped at the workspace's depth cap, but what it nested by then stays behind
/// and must go like any other tree.
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_nesting_sixteen_thousand_directories_never_stops_the_server() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = DataDir(tempfile::tempdir().expect("data dir"));
    std::fs::copy(guest("adversary"), modules.path().join("adversary.wasm")).expect("copy");
    let mut server = Server::start(modules.path(), data.0.path());
    let client = reqwest::Client::new();
    let url = format!("{}/processes/Adversary/execution", server.address);

    let executed = client.post(&url).json(&nest_dirs()).send().await;
    let problem: serde_json::Value = executed.expect("POST").json().await.expect("JSON");
    assert_eq!(problem["type"], "/problems/workspace-limit", "{problem}");
    let workspaces = data.0.path().join("workspaces");
    wait_until(&mut server, "the synchronous workspace's removal", || {
        !holds_a_nest(&workspaces)
    })
    .await;
}

/// A job's kept workspace holding a tree deeper than any path (planted here, as a guest
/// faster than the depth check could leave one) goes on `DELETE` without stopping the server.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_job_whose_workspace_is_sixteen_thousand_levels_deep_never_stops_the_server() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = DataDir(tempfile::tempdir().expect("data dir"));
    std::fs::copy(guest("adversary"), modules.path().join("adversary.wasm")).expect("copy");
    let mut server = Server::start(modules.path(), data.0.path());
    let client = reqwest::Client::new();
    let url = format!("{}/processes/Adversary/execution", server.address);
    let submitted: serde_json::Value = client
        .post(&url)
        .header("prefer", "respond-async")
        .json(&json!({"inputs": {"attack": "write-files", "amount": [1.0]}}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    let id = submitted["jobID"].as_str().expect("a job id");
    let job_url = format!("{}/jobs/{id}", server.address);
    let job: serde_json::Value = client
        .get(format!("{job_url}?wait=120"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(job["status"], "successful", "{job}");
    let job_dir = data.0.path().join("jobs").join(id);
    assert!(job_dir.join("f0").exists(), "the job kept its file");
    nest(&job_dir, 16_000);
    let deleted = client.delete(&job_url).send().await.expect("DELETE");
    assert_eq!(deleted.status(), 200);
    wait_until(&mut server, "DELETE /jobs/{id}", || !job_dir.exists()).await;
    assert!(
        !data.0.path().join("quarantine").exists(),
        "removed, not quarantined"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_removes_a_deep_tree_left_in_the_workspaces() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = DataDir(tempfile::tempdir().expect("data dir"));
    std::fs::copy(guest("adversary"), modules.path().join("adversary.wasm")).expect("copy");
    let leftover = data.0.path().join("workspaces").join("ws-1-0");
    nest(&leftover, 16_000);
    let mut server = Server::start(modules.path(), data.0.path());
    wait_until(&mut server, "the leftover's removal at start", || {
        !leftover.exists()
    })
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
