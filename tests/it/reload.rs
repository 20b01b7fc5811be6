//! Hot reload: files added, replaced and removed in the modules directory while the server runs
//! are picked up without a restart, a broken one is listed and never fatal, and executions in
//! flight never notice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::helpers::{eventually, guest, spawn_app};

/// Writes a file the way deployment tools do: beside it, then renamed into place.
fn replace_file(target: &std::path::Path, bytes: &[u8]) {
    let temporary = target.with_extension("tmp");
    std::fs::write(&temporary, bytes).expect("write");
    std::fs::rename(&temporary, target).expect("rename");
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_to_the_modules_directory_are_picked_up_while_executions_run() {
    let app = Arc::new(spawn_app(&["sellar1"]).await);
    let dir = app.modules_dir.path().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let (succeeded, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stream = tokio::spawn({
        let (app, stop) = (app.clone(), stop.clone());
        let (succeeded, failed) = (succeeded.clone(), failed.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let reply = app.execute("Sellar1", &json!({})).await;
                let counter = if reply.status == 200 {
                    &succeeded
                } else {
                    &failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let module = dir.join("versioned.wasm");
    std::fs::copy(guest("versioned_v1"), &module).expect("add");
    eventually(
        &app,
        "/processes/Versioned",
        "adding a file",
        |status, body| status == 200 && body["version"] == "1.0.0",
    )
    .await;

    replace_file(
        &module,
        &std::fs::read(guest("versioned_v2")).expect("read"),
    );
    eventually(
        &app,
        "/processes/Versioned",
        "replacing a file",
        |status, body| status == 200 && body["versions"] == json!(["2.0.0"]),
    )
    .await;

    std::fs::write(dir.join("broken.wasm"), b"half a module").expect("write");
    eventually(&app, "/modules", "listing a broken file", |_, body| {
        body["modules"].as_array().is_some_and(|modules| {
            modules
                .iter()
                .any(|module| module["file"] == "broken.wasm" && module["status"] == "broken")
        })
    })
    .await;
    assert_eq!(
        app.get("/ready").await.status,
        200,
        "a broken file is not fatal"
    );

    std::fs::remove_file(&module).expect("remove");
    eventually(
        &app,
        "/processes/Versioned",
        "removing a file",
        |status, _| status == 404,
    )
    .await;

    stop.store(true, Ordering::Relaxed);
    stream.await.expect("the stream of executions");
    assert!(succeeded.load(Ordering::Relaxed) > 0);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no execution of the untouched module failed"
    );
    let modules = app.get("/modules").await.body;
    let files: Vec<&str> = modules["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .filter_map(|module| module["file"].as_str())
        .collect();
    assert_eq!(files, ["broken.wasm", "sellar1.wasm"], "{modules}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_execution_in_flight_finishes_on_the_module_it_started_with() {
    let app = spawn_app(&["adversary"]).await;
    let module = app.modules_dir.path().join("adversary.wasm");
    let running = {
        let client = app.client.clone();
        let url = format!("{}/processes/Adversary/execution", app.address);
        tokio::spawn(async move {
            client
                .post(url)
                .json(&long_spin())
                .send()
                .await
                .expect("POST")
                .status()
        })
    };
    eventually(&app, "/ready", "the execution starting", |_, body| {
        body["executions"]["running"] == 1
    })
    .await;
    std::fs::remove_file(&module).expect("remove");
    eventually(
        &app,
        "/processes/Adversary",
        "removing the module",
        |status, _| status == 404,
    )
    .await;
    let ready = app.get("/ready").await.body;
    assert_eq!(
        ready["executions"]["running"], 1,
        "still running after the removal: {ready}"
    );
    assert_eq!(running.await.expect("the execution"), 200);
}

/// About two seconds of spinning, within its fuel.
pub fn long_spin() -> Value {
    json!({
        "inputs": {"attack": "spin", "amount": [3_000_000_000.0]},
        "limits": {"fuel": 1_000_000_000_000u64},
    })
}

/// The rescans of the modules directory so far, as `/ready` reports them.
async fn rescans(app: &crate::helpers::TestApp) -> u64 {
    let ready = app.get("/ready").await;
    ready.body["modulesRescans"]
        .as_u64()
        .unwrap_or_else(|| panic!("no rescan count: {ready:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_modules_directory_is_not_rescanned_and_a_change_is_rescanned_once() {
    let app = spawn_app(&["sellar1"]).await;
    // Quiet for several debounce periods: whatever the first discovery caused has settled.
    let quiet = std::time::Duration::from_secs(2);
    tokio::time::sleep(quiet).await;
    let settled = rescans(&app).await;
    tokio::time::sleep(quiet).await;
    assert_eq!(
        rescans(&app).await,
        settled,
        "an idle directory was rescanned"
    );

    let module = app.modules_dir.path().join("versioned.wasm");
    std::fs::copy(guest("versioned_v1"), &module).expect("add");
    eventually(
        &app,
        "/processes/Versioned",
        "adding a file",
        |status, _| status == 200,
    )
    .await;
    tokio::time::sleep(quiet).await;
    assert_eq!(
        rescans(&app).await,
        settled + 1,
        "one added file, one rescan, and none after it"
    );
}
