//! Discovery: good modules served, broken ones listed with a reason, compiled code cached.

use serde_json::Value;

use crate::helpers::{guest, spawn_app, start, test_config};

fn module<'a>(modules: &'a Value, file: &str) -> &'a Value {
    modules["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .find(|module| module["file"] == file)
        .unwrap_or_else(|| panic!("{file} is not listed: {modules}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_files_are_listed_and_never_stop_the_server() {
    let app = spawn_app(&["sellar1"]).await;
    let dir = app.modules_dir.path();
    std::fs::write(dir.join("garbage.wasm"), b"definitely not wasm").expect("write");
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::copy(guest("sellar1"), dir.join("twin.wasm")).expect("copy");
    std::fs::write(dir.join("notes.txt"), b"ignored").expect("write");
    let data_dir = tempfile::tempdir().expect("data dir");
    let modules_dir = tempfile::tempdir().expect("modules dir");
    for entry in std::fs::read_dir(dir).expect("list") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            modules_dir.path().join(path.file_name().expect("name")),
        )
        .expect("copy");
    }
    let config = test_config(data_dir.path(), modules_dir.path());
    let restarted = start(config, data_dir, modules_dir).await;

    let modules = restarted.get("/modules").await.body;
    assert_eq!(
        modules["modules"].as_array().expect("modules").len(),
        4,
        "{modules}"
    );
    assert_eq!(module(&modules, "sellar1.wasm")["status"], "ready");
    let garbage = module(&modules, "garbage.wasm");
    assert_eq!(garbage["status"], "broken");
    assert!(
        garbage["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a valid WebAssembly component")),
        "{garbage}"
    );
    let core = module(&modules, "core.wasm");
    assert!(
        core["error"]
            .as_str()
            .is_some_and(|e| e.contains("core WebAssembly module")),
        "{core}"
    );
    let twin = module(&modules, "twin.wasm");
    assert_eq!(twin["status"], "duplicate", "{twin}");
    assert!(
        twin["error"]
            .as_str()
            .is_some_and(|e| e.contains("same bytes as sellar1.wasm")),
        "{twin}"
    );

    let ready = restarted.get("/ready").await.body;
    assert_eq!(
        (
            ready["processes"].as_u64(),
            ready["brokenModules"].as_u64(),
            ready["modulesCompiled"]
                .as_u64()
                .zip(ready["modulesFromCache"].as_u64())
                .map(|(a, b)| a + b),
        ),
        (Some(1), Some(2), Some(1)),
        "the twin's bytes are loaded once: {ready}"
    );
    assert_eq!(
        restarted
            .execute("Sellar1", &serde_json::json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loads_compiled_code_from_the_cache() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let modules_dir = tempfile::tempdir().expect("modules dir");
    std::fs::copy(guest("sellar2"), modules_dir.path().join("sellar2.wasm")).expect("copy");
    let config = test_config(data_dir.path(), modules_dir.path());
    let first = start(
        config.clone(),
        tempfile::tempdir().expect("unused"),
        tempfile::tempdir().expect("unused"),
    )
    .await;
    let first_modules = first.get("/modules").await.body;
    assert_eq!(
        module(&first_modules, "sellar2.wasm")["fromCache"],
        false,
        "{first_modules}"
    );
    let first_ready = first.get("/ready").await.body;
    assert_eq!(
        (
            first_ready["modulesCompiled"].as_u64(),
            first_ready["modulesFromCache"].as_u64()
        ),
        (Some(1), Some(0)),
        "{first_ready}"
    );
    drop(first);
    let second = start(config, data_dir, modules_dir).await;
    let second_modules = second.get("/modules").await.body;
    assert_eq!(
        module(&second_modules, "sellar2.wasm")["fromCache"],
        true,
        "{second_modules}"
    );
    let second_ready = second.get("/ready").await.body;
    assert_eq!(
        (
            second_ready["modulesCompiled"].as_u64(),
            second_ready["modulesFromCache"].as_u64()
        ),
        (Some(0), Some(1)),
        "no recompilation at restart: {second_ready}"
    );
    assert_eq!(
        second
            .execute("Sellar2", &serde_json::json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_landing_page_and_conformance_follow_ogc() {
    let app = spawn_app(&["sellar1"]).await;
    let landing = app.get("/").await.body;
    let rels: Vec<&str> = landing["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    assert!(
        rels.contains(&"http://www.opengis.net/def/rel/ogc/1.0/processes"),
        "{landing}"
    );
    let conformance = app.get("/conformance").await.body;
    assert!(
        conformance["conformsTo"]
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core")
    );
    let processes = app.get("/processes").await.body;
    assert_eq!(processes["processes"][0]["id"], "Sellar1");
    assert_eq!(
        processes["processes"][0]["jobControlOptions"][0],
        "sync-execute"
    );
}
