//! A full disk, on a real tmpfs: nothing acknowledged is lost, refusals are `507` problems,
//! reads keep working, and the server recovers by itself once space returns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, guest, spawn_app_in, test_config};

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (as `mount -o size=` reads it), or says why not and gives `None`
    /// where mounting is refused; in CI, which runs as root, a refusal fails the test.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        if mounted.status.success() {
            return Some(Self { dir });
        }
        let why = String::from_utf8_lossy(&mounted.stderr).trim().to_owned();
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs: {why}"
        );
        eprintln!("skipped: this test needs to mount a tmpfs (run as root): {why}");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the filesystem of `dir` with one file until it is refused for want of space.
fn fill(dir: &Path) -> PathBuf {
    let ballast = dir.join("ballast");
    let mut file = std::fs::File::create(&ballast).expect("ballast");
    let block = vec![0u8; 64 << 10];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::StorageFull => break,
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
    ballast
}

/// The jobs a reply acknowledged (a job or a batch), if it is a `201`.
fn acknowledged(reply: &Reply) -> Vec<String> {
    if reply.status != 201 {
        return Vec::new();
    }
    let ids = match reply.body.get("jobIDs") {
        Some(Value::Array(ids)) => ids.clone(),
        _ => vec![reply.body["jobID"].clone()],
    };
    ids.iter()
        .map(|id| id.as_str().expect("a job id").to_owned())
        .collect()
}

async fn assert_all_stored(app: &TestApp, ids: &[String], when: &str) {
    for id in ids {
        let job = app.get(&format!("/jobs/{id}")).await;
        assert_eq!(job.status, 200, "{when}: acknowledged job {id} is gone");
    }
}

fn assert_storage_full(reply: &Reply) {
    assert_eq!(reply.status, 507, "{reply:?}");
    assert_eq!(reply.problem_slug(), "storage-full", "{reply:?}");
    assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_loses_no_acknowledged_job_and_the_server_recovers_when_space_returns() {
    let Some(disk) = Tmpfs::mount("16m") else {
        return;
    };
    let data_dir = tempfile::tempdir_in(disk.path()).expect("data dir");
    let app = spawn_app_in(data_dir, &[guest("sellar1")], |_| {}).await;
    let first = app.submit_ok("Sellar1", &json!({})).await;
    assert_eq!(app.wait_for_job(&first).await["status"], "successful");
    let mut stored = vec![first.clone()];

    let ballast = fill(disk.path());
    let batch = json!({"inputs": vec![json!({}); 200]});
    let mut refusals = 0;
    for _ in 0..100 {
        let reply = app.post_json("/processes/Sellar1/batch", &batch).await;
        stored.extend(acknowledged(&reply));
        if reply.status != 201 {
            assert_storage_full(&reply);
            refusals += 1;
            if refusals == 3 {
                break;
            }
        }
    }
    assert_eq!(refusals, 3, "the full disk never refused a batch");
    // Every later write is refused too, never acknowledged and lost.
    for _ in 0..5 {
        let reply = app.submit("Sellar1", &json!({})).await;
        stored.extend(acknowledged(&reply));
        assert_storage_full(&reply);
    }
    let listed = app.get("/jobs?limit=5").await;
    assert_eq!(listed.status, 200, "reads keep working: {listed:?}");
    assert_all_stored(&app, &stored, "while the disk is full").await;

    std::fs::remove_file(&ballast).expect("free the space");
    let after = app.submit_ok("Sellar1", &json!({})).await;
    assert_eq!(
        app.wait_for_job(&after).await["status"],
        "successful",
        "jobs run again once space returns"
    );
    stored.push(after);
    assert_all_stored(&app, &stored, "once space returned").await;

    let config = test_config(app.data_dir.path(), app.modules_dir.path());
    let app = app.restart(config).await;
    assert_all_stored(&app, &stored, "after a restart").await;
    assert_eq!(app.wait_for_job(&first).await["status"], "successful");
    drop(app);
    drop(disk);
}
