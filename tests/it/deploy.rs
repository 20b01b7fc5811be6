//! Deployment over REST (OGC API – Processes Part 2): validated before acceptance, stored by
//! content, idempotent; versions side by side; replacement and undeployment.

use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{Reply, TestApp, eventually, guest, spawn_app, spawn_app_with};
use crate::reload::long_spin;

const WASM: &str = "application/wasm";

fn bytes_of(name: &str) -> Vec<u8> {
    std::fs::read(guest(name)).expect("a built guest")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file and directory entry of the modules directory, staging area included.
fn stored_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir)
        .into_iter()
        .map(|path| {
            path.strip_prefix(dir)
                .expect("inside")
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn deploy(app: &TestApp, name: &str) -> Reply {
    app.post_raw("/processes", WASM, bytes_of(name)).await
}

/// `y` of executing `process` at x = 10.
async fn answer(app: &TestApp, process: &str) -> f64 {
    let reply = app
        .execute(process, &json!({"inputs": {"x": [10.0]}}))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["y"][0].as_f64().expect("y")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployed_component_is_stored_by_digest_served_at_once_and_deployed_once() {
    let app = spawn_app(&[]).await;
    let bytes = bytes_of("sellar1");
    let hex = sha256(&bytes);

    let first = app.post_raw("/processes", WASM, bytes.clone()).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.headers["location"], "/processes/Sellar1@1.0.0");
    assert_eq!(first.body["id"], "Sellar1");
    assert_eq!(first.body["moduleDigest"], format!("sha256:{hex}"));
    assert_eq!(
        stored_files(app.modules_dir.path()),
        [format!("{hex}.wasm")]
    );
    assert_eq!(app.execute("Sellar1", &json!({})).await.status, 200);

    let again = app.post_raw("/processes", WASM, bytes).await;
    assert_eq!(
        again.status, 200,
        "the same bytes again change nothing: {again:?}"
    );
    assert_eq!(again.body["moduleDigest"], format!("sha256:{hex}"));
    assert_eq!(
        stored_files(app.modules_dir.path()),
        [format!("{hex}.wasm")]
    );
    let modules = app.get("/modules").await.body;
    assert_eq!(
        modules["modules"].as_array().map(Vec::len),
        Some(1),
        "{modules}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_module_is_refused_with_its_own_problem_and_nothing_is_stored() {
    let app = spawn_app_with(&["sellar1"], |config| config.modules.max_bytes = 4 << 20).await;
    let before = stored_files(app.modules_dir.path());
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "text",
            WASM,
            b"definitely not wasm".to_vec(),
            422,
            "not-a-component",
        ),
        (
            "a core module",
            WASM,
            b"\0asm\x01\0\0\0".to_vec(),
            422,
            "not-a-component",
        ),
        (
            "another contract version",
            WASM,
            bytes_of("future_contract"),
            422,
            "wrong-contract",
        ),
        (
            "describe() panics",
            WASM,
            bytes_of("describe_panics"),
            422,
            "describe-failed",
        ),
        (
            "an invalid schema",
            WASM,
            bytes_of("bad_schema"),
            422,
            "invalid-description",
        ),
        (
            "defaults failing their schema",
            WASM,
            bytes_of("bad_defaults"),
            422,
            "invalid-description",
        ),
        (
            "too large",
            WASM,
            vec![0; 5 << 20],
            413,
            "payload-too-large",
        ),
        (
            "not application/wasm",
            "application/json",
            bytes_of("versioned_v1"),
            415,
            "unsupported-media-type",
        ),
    ];
    for (case, content_type, body, status, slug) in cases {
        let reply = app.post_raw("/processes", content_type, body).await;
        assert_eq!(reply.status, status, "{case}: {reply:?}");
        assert_eq!(reply.problem_slug(), slug, "{case}: {reply:?}");
        assert!(
            reply.body["detail"]
                .as_str()
                .is_some_and(|detail| !detail.is_empty()),
            "{case}: {reply:?}"
        );
        assert_eq!(
            stored_files(app.modules_dir.path()),
            before,
            "{case} left something"
        );
    }
    let panics = deploy(&app, "describe_panics").await;
    assert!(
        panics.body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("describe panics on purpose")),
        "the guest's own message is quoted: {panics:?}"
    );
    let processes = app.get("/processes").await.body;
    assert_eq!(
        processes["processes"].as_array().map(Vec::len),
        Some(1),
        "{processes}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_coexist_and_a_reference_pins_a_version_or_exact_bytes() {
    let app = spawn_app(&[]).await;
    assert_eq!(deploy(&app, "versioned_v1").await.status, 201);
    assert_eq!(deploy(&app, "versioned_v2").await.status, 201);
    let v1 = format!("sha256:{}", sha256(&bytes_of("versioned_v1")));

    let newest = app.get("/processes/Versioned").await;
    assert_eq!(newest.body["version"], "2.0.0", "{newest:?}");
    assert_eq!(newest.body["versions"], json!(["2.0.0", "1.0.0"]));
    let listed = app.get("/processes").await.body;
    assert_eq!(
        listed["processes"].as_array().map(Vec::len),
        Some(1),
        "one entry per process: {listed}"
    );

    assert_eq!(answer(&app, "Versioned").await, 12.0);
    assert_eq!(answer(&app, "Versioned@1.0.0").await, 11.0);
    assert_eq!(answer(&app, &format!("Versioned@{v1}")).await, 11.0);
    assert_eq!(
        app.get("/processes/Versioned@2.0.0").await.body["version"],
        "2.0.0"
    );
    let unknown = app.get("/processes/Versioned@3.0.0").await;
    assert_eq!(unknown.problem_slug(), "no-such-process", "{unknown:?}");

    let job = app
        .submit_ok("Versioned@1.0.0", &json!({"inputs": {"x": [1.0]}}))
        .await;
    let status = app.wait_for_job(&job).await;
    assert_eq!(status["moduleDigest"], v1.as_str(), "{status}");
    assert_eq!(status["processID"], "Versioned");
    let results = app.get(&format!("/jobs/{job}/results")).await;
    assert_eq!(results.body["y"], json!([2.0]), "{results:?}");

    let clash = deploy(&app, "versioned_v1_rebuilt").await;
    assert_eq!(clash.status, 409, "{clash:?}");
    assert_eq!(
        clash.body["type"],
        "http://www.opengis.net/def/exceptions/ogcapi-processes-2/1.0/duplicated-process"
    );
    assert_eq!(
        answer(&app, "Versioned@1.0.0").await,
        11.0,
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn put_replaces_what_its_reference_names_and_delete_undeploys_it() {
    let app = spawn_app(&[]).await;
    deploy(&app, "versioned_v1").await;
    deploy(&app, "versioned_v2").await;
    let dir = app.modules_dir.path();

    let replaced = app
        .put_raw(
            "/processes/Versioned@1.0.0",
            WASM,
            bytes_of("versioned_v1_rebuilt"),
        )
        .await;
    assert_eq!(replaced.status, 204, "{replaced:?}");
    assert_eq!(answer(&app, "Versioned@1.0.0").await, 11.5);
    assert_eq!(answer(&app, "Versioned").await, 12.0, "2.0.0 untouched");
    assert!(
        !dir.join(format!("{}.wasm", sha256(&bytes_of("versioned_v1"))))
            .exists()
    );

    let mismatch = app
        .put_raw("/processes/Versioned", WASM, bytes_of("sellar1"))
        .await;
    assert_eq!(mismatch.problem_slug(), "process-mismatch", "{mismatch:?}");
    let absent = app
        .put_raw("/processes/Absent", WASM, bytes_of("sellar1"))
        .await;
    assert_eq!(absent.problem_slug(), "no-such-process", "{absent:?}");
    let refused = app
        .put_raw("/processes/Versioned", WASM, bytes_of("bad_schema"))
        .await;
    assert_eq!(refused.problem_slug(), "invalid-description", "{refused:?}");
    assert_eq!(stored_files(dir).len(), 2, "{:?}", stored_files(dir));

    assert_eq!(app.delete("/processes/Versioned@2.0.0").await.status, 204);
    assert_eq!(
        answer(&app, "Versioned").await,
        11.5,
        "1.0.0 is now the newest"
    );
    assert_eq!(app.delete("/processes/Versioned").await.status, 204);
    let gone = app.get("/processes/Versioned").await;
    assert_eq!(gone.problem_slug(), "no-such-process");
    assert_eq!(
        app.delete("/processes/Versioned").await.problem_slug(),
        "no-such-process"
    );
    assert!(stored_files(dir).is_empty(), "{:?}", stored_files(dir));

    let replace_all = {
        deploy(&app, "versioned_v1").await;
        deploy(&app, "versioned_v2").await;
        app.put_raw(
            "/processes/Versioned",
            WASM,
            bytes_of("versioned_v1_rebuilt"),
        )
        .await
    };
    assert_eq!(replace_all.status, 204, "{replace_all:?}");
    let only = app.get("/processes/Versioned").await;
    assert_eq!(only.body["versions"], json!(["1.0.0"]), "{only:?}");
    assert_eq!(answer(&app, "Versioned").await, 11.5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_job_finishes_on_the_module_it_started_with_after_undeploy() {
    let app = spawn_app(&[]).await;
    deploy(&app, "adversary").await;
    let spin = long_spin();
    let job = app.submit_ok("Adversary", &spin).await;
    eventually(&app, "/ready", "the job starting", |_, body| {
        body["executions"]["running"] == 1
    })
    .await;

    assert_eq!(app.delete("/processes/Adversary").await.status, 204);
    assert_eq!(app.get("/processes/Adversary").await.status, 404);
    let still = app.get(&format!("/jobs/{job}")).await.body;
    assert_eq!(
        still["status"], "running",
        "still running after the undeployment: {still}"
    );
    let status = app.wait_for_job(&job).await;
    assert_eq!(status["status"], "successful", "{status}");

    let late = app.submit("Adversary", &spin).await;
    assert_eq!(late.problem_slug(), "no-such-process", "{late:?}");
}
