//! The command-line client against real servers: `processes`, `jobs`, `modules deploy`, and
//! `new`, whose crate is built with Cargo and served.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::helpers::{BINARY, TestApp, guest, one_error_line, spawn_app, spawn_app_with};

/// Runs the binary with `DISCIPLINES_SERVER` set to `server`.
async fn disciplines(server: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(BINARY)
        .args(args)
        .env("DISCIPLINES_SERVER", server)
        .env_remove("DISCIPLINES_TOKEN")
        .output()
        .await
        .expect("the binary runs")
}

/// Asserts success and returns stdout.
fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "failed: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts success and parses stdout as one JSON document on one line.
fn json_line(output: &Output) -> Value {
    let stdout = succeeded(output);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).expect("a JSON document")
}

/// Submits a job with the client and returns its id.
async fn submit(app: &TestApp, process: &str, inputs: &str) -> String {
    let args = ["jobs", "submit", process, "--inputs", inputs, "--json"];
    let accepted = json_line(&disciplines(&app.address, &args).await);
    accepted["jobID"].as_str().expect("a job id").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_list_prints_a_table_or_the_servers_document() {
    let app = spawn_app(&["sellar1", "rosenbrock"]).await;
    let table = succeeded(&disciplines(&app.address, &["processes", "list"]).await);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("VERSION"),
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        table.contains("Sellar1") && table.contains("Rosenbrock"),
        "{table}"
    );

    let args = ["processes", "list", "--json", "--server", &app.address];
    let document = json_line(&disciplines("http://127.0.0.1:9", &args).await);
    assert_eq!(document, app.get("/processes").await.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submitted_job_is_waited_for_and_its_results_match_the_synchronous_run() {
    let app = spawn_app(&["sellar1"]).await;
    let inputs = tempfile::tempdir().expect("dir");
    let file = inputs.path().join("inputs.json");
    std::fs::write(&file, r#"{"x_1": [1.0]}"#).expect("write");
    let id = submit(&app, "Sellar1", &format!("@{}", file.display())).await;

    let waited = succeeded(&disciplines(&app.address, &["jobs", "wait", &id]).await);
    assert_eq!(waited.trim(), format!("job {id} successful"));
    let status = succeeded(&disciplines(&app.address, &["jobs", "status", &id]).await);
    assert_eq!(status.trim(), format!("job {id} successful"));
    let status = json_line(&disciplines(&app.address, &["jobs", "status", &id, "--json"]).await);
    assert_eq!(
        (&status["jobID"], &status["progress"]),
        (&json!(id), &json!(100))
    );
    assert!(
        status["moduleDigest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );

    let results = json_line(&disciplines(&app.address, &["jobs", "results", &id, "--json"]).await);
    assert_eq!(results, json!({"y_1": [1.3416407864998738]}));
    let synchronous = app
        .execute("Sellar1", &json!({"inputs": {"x_1": [1.0]}}))
        .await;
    assert_eq!(results, synchronous.body);
    let summary = succeeded(&disciplines(&app.address, &["jobs", "results", &id]).await);
    assert_eq!(summary.trim(), "y_1 = [1.3416407864998738]");
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_with_wait_sends_options_and_priority_and_prints_the_end() {
    let app = spawn_app(&["rosenbrock"]).await;
    let args = [
        "jobs",
        "submit",
        "Rosenbrock",
        "--inputs",
        r#"{"x": [1.0, 1.0, 1.0]}"#,
        "--options",
        r#"{"dimension": 3}"#,
        "--priority",
        "-2",
        "--wait",
    ];
    let printed = succeeded(&disciplines(&app.address, &args).await);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    assert_eq!(lines[2], "f = [0.0]", "the results waited for: {printed}");
    let id = lines[1]
        .strip_prefix("job ")
        .and_then(|rest| rest.strip_suffix(" successful"))
        .expect("job <id> successful");
    assert!(lines[0].starts_with(&format!("job {id} ")), "{printed}");
    let job = app.get(&format!("/jobs/{id}")).await.body;
    assert_eq!(job["priority"], -2);
    let results = app.get(&format!("/jobs/{id}/results")).await.body;
    assert_eq!(results, json!({"f": [0.0]}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_job_outlasts_a_wait_then_is_cancelled() {
    // The client sends no limits: the server's defaults must let the spin outlast the test.
    let app = spawn_app_with(&["adversary"], |config| {
        config.limits.default.fuel = config.limits.maximum.fuel;
        config.limits.default.deadline = std::time::Duration::from_secs(120);
    })
    .await;
    let id = submit(&app, "Adversary", r#"{"attack": "spin", "amount": [-1.0]}"#).await;

    let started = std::time::Instant::now();
    let waited = disciplines(&app.address, &["jobs", "wait", &id, "--timeout", "1s"]).await;
    let error = one_error_line(&waited);
    assert!(error.contains(&format!("job {id} is still")), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    let cancelled = succeeded(&disciplines(&app.address, &["jobs", "cancel", &id]).await);
    assert!(
        cancelled.starts_with(&format!("job {id} dismissed")),
        "{cancelled}"
    );
    let waited = disciplines(&app.address, &["jobs", "wait", &id, "--json"]).await;
    let error = one_error_line(&waited);
    assert!(
        error.starts_with(&format!("error: job {id} dismissed")),
        "{error}"
    );
    let last: Value = serde_json::from_slice(&waited.stdout).expect("the last status, as JSON");
    assert_eq!(last["status"], "dismissed");
    let results = disciplines(&app.address, &["jobs", "results", &id]).await;
    assert!(one_error_line(&results).starts_with("error: 404 dismissed: "));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_fails_the_wait_and_its_problem_is_the_results_error() {
    let app = spawn_app(&["adversary"]).await;
    let args = [
        "jobs",
        "submit",
        "Adversary",
        "--inputs",
        r#"{"attack": "fail", "amount": [1.0]}"#,
        "--wait",
    ];
    let submitted = disciplines(&app.address, &args).await;
    let error = one_error_line(&submitted);
    assert!(error.contains(" failed"), "{error}");
    let id = String::from_utf8_lossy(&submitted.stdout)
        .split_whitespace()
        .nth(1)
        .expect("job <id> accepted")
        .to_owned();
    let results = disciplines(&app.address, &["jobs", "results", &id]).await;
    let error = one_error_line(&results);
    assert!(error.starts_with("error: 422 guest-error: "), "{error}");
    assert!(error.contains("failed on purpose"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_processes_and_jobs_and_bad_inputs_are_one_error_line() {
    let app = spawn_app(&["sellar1"]).await;
    let unknown_process =
        disciplines(&app.address, &["jobs", "submit", "Nope", "--inputs", "{}"]).await;
    assert_eq!(
        one_error_line(&unknown_process),
        r#"error: 404 no-such-process: no process has the id "Nope""#
    );
    let no_job = "00000000-0000-4000-8000-000000000000";
    for command in ["status", "wait", "results", "cancel"] {
        let unknown_job = disciplines(&app.address, &["jobs", command, no_job]).await;
        let error = one_error_line(&unknown_job);
        assert!(
            error.starts_with("error: 404 no-such-job: "),
            "{command}: {error}"
        );
    }
    let invalid = disciplines(
        &app.address,
        &["jobs", "submit", "Sellar1", "--inputs", r#"{"x_1": "one"}"#],
    )
    .await;
    assert!(one_error_line(&invalid).starts_with("error: 400 invalid-input: "));
    let not_json = disciplines(
        &app.address,
        &["jobs", "submit", "Sellar1", "--inputs", "{"],
    )
    .await;
    assert!(one_error_line(&not_json).starts_with("error: --inputs is not valid JSON"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_not_running_is_one_line_naming_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let server = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let output = disciplines(&server, &["processes", "list"]).await;
    let error = one_error_line(&output);
    assert!(
        error.starts_with(&format!("error: cannot reach the server at {server}/")),
        "{error}"
    );
}

/// Needs the deployment route (`POST /processes`) of the server.
#[tokio::test(flavor = "multi_thread")]
async fn modules_deploy_installs_a_component_and_refuses_what_is_not_one() {
    let app = spawn_app(&[]).await;
    let sellar1 = guest("sellar1").display().to_string();
    let deployed =
        json_line(&disciplines(&app.address, &["modules", "deploy", &sellar1, "--json"]).await);
    assert_eq!(deployed["id"], "Sellar1", "{deployed}");
    assert!(deployed["version"].is_string(), "{deployed}");
    let described = app.get("/processes/Sellar1").await;
    assert_eq!(described.status, 200, "{described:?}");
    assert_eq!(described.body["moduleDigest"], deployed["moduleDigest"]);

    let again = succeeded(&disciplines(&app.address, &["modules", "deploy", &sellar1]).await);
    assert!(again.starts_with("already deployed Sellar1 "), "{again}");

    let dir = tempfile::tempdir().expect("dir");
    let not_wasm = dir.path().join("not.wasm");
    std::fs::write(&not_wasm, "this is not a component").expect("write");
    let refused = disciplines(
        &app.address,
        &["modules", "deploy", &not_wasm.display().to_string()],
    )
    .await;
    one_error_line(&refused);
    let missing = dir.path().join("missing.wasm").display().to_string();
    let error = one_error_line(&disciplines(&app.address, &["modules", "deploy", &missing]).await);
    assert!(error.contains("cannot read"), "{error}");
}

/// The directory Cargo builds guests in, beside this test binary's: their dependencies are
/// already built there by `cargo xtask build-guests`.
fn guest_target_dir() -> PathBuf {
    Path::new(BINARY)
        .parent()
        .and_then(Path::parent)
        .expect("the binary is in <target>/<profile>/")
        .join("guests")
}

/// Runs `cargo <args>` in `crate_dir` as its author would, and asserts success.
async fn cargo(crate_dir: &Path, args: &[&str]) {
    let status = tokio::process::Command::new("cargo")
        .args(args)
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .await
        .expect("cargo runs");
    assert!(
        status.success(),
        "cargo {args:?} fails in the new crate: {status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_crate_builds_into_a_component_that_deploys_and_serves_its_discipline() {
    let parent = tempfile::tempdir().expect("dir");
    let created = tokio::process::Command::new(BINARY)
        .args(["new", "heat-flux"])
        .current_dir(parent.path())
        .output()
        .await
        .expect("runs");
    let said = succeeded(&created);
    assert!(said.contains("HeatFlux"), "{said}");
    let crate_dir = parent.path().join("heat-flux");
    cargo(&crate_dir, &["fmt", "--check"]).await;
    cargo(&crate_dir, &["build", "--release", "--quiet"]).await;

    let component = guest_target_dir().join("wasm32-wasip2/release/heat_flux.wasm");
    let app = spawn_app(&[]).await;
    let deployed = tokio::process::Command::new(BINARY)
        .args(["modules", "deploy", "--server", &app.address])
        .arg(&component)
        .output()
        .await
        .expect("runs");
    let said = succeeded(&deployed);
    assert!(said.starts_with("deployed HeatFlux"), "{said}");
    let description = app.get("/processes/HeatFlux").await;
    assert_eq!(description.status, 200, "{description:?}");
    assert_eq!(description.body["hasJacobian"], true);
    assert_eq!(
        description.body["defaultInputs"],
        json!({"x": [0.0, 0.0], "c": [1.0]})
    );
    let executed = app
        .execute("HeatFlux", &json!({"inputs": {"x": [3.0, 1.0]}}))
        .await;
    assert_eq!(
        (executed.status.as_u16(), executed.body),
        (200, json!({"f": [4.0]}))
    );
    let linearized = app
        .execute(
            "HeatFlux",
            &json!({"inputs": {"x": [3.0, 1.0]}, "linearize": {}}),
        )
        .await;
    assert_eq!(
        linearized.body["jacobian"],
        json!({"f": {"x": [[4.0, 0.0]], "c": [[-4.0]]}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn new_refuses_a_bad_name_and_a_non_empty_directory_and_writes_nothing() {
    let parent = tempfile::tempdir().expect("dir");
    let target = parent.path().join("x");
    let bad = tokio::process::Command::new(BINARY)
        .args(["new", "Bad!Name", "--path"])
        .arg(&target)
        .output()
        .await
        .expect("runs");
    assert!(one_error_line(&bad).contains("not a valid discipline crate name"));
    assert!(!target.exists());

    std::fs::write(parent.path().join("notes.txt"), "mine").expect("write");
    let occupied = tokio::process::Command::new(BINARY)
        .args(["new", "good-name", "--path"])
        .arg(parent.path())
        .output()
        .await
        .expect("runs");
    assert!(one_error_line(&occupied).contains("is not empty"));
    let left: Vec<_> = std::fs::read_dir(parent.path()).expect("list").collect();
    assert_eq!(left.len(), 1, "nothing written beside the file");
    assert_eq!(
        std::fs::read_to_string(parent.path().join("notes.txt")).expect("read"),
        "mine"
    );
}
