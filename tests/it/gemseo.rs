//! The gemseo-http 3 face: the protocol checked call by call (discovery, execution sync and
//! async, long polling, chunked uploads, workspace files, isolation), then GEMSEO's own
//! `HTTPDiscipline` client driven against the server by the pytest suite in
//! `tests/compat/gemseo_http` (run from the project's `.venv-compat`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Caller, TestApp, reference, spawn_app_with};

const ADMIN_TOKEN: &str = "gemseo-admin-token-0123456789abcdef012345678";

/// A server with authentication on, serving the Sellar disciplines, the file example, and two
/// more examples (one of them in Python) whose schemas GEMSEO's grammar must accept too.
async fn secured_app() -> TestApp {
    spawn_app_with(
        &[
            "sellar1",
            "sellar2",
            "sellar_system",
            "csv_column_statistics",
            "rosenbrock",
            "python_paraboloid",
        ],
        |config| {
            config.auth.mode = host::auth::AuthMode::Tokens;
            config.auth.bootstrap_token = Some(ADMIN_TOKEN.into());
        },
    )
    .await
}

/// Creates user `name` with a password; returns their token, as `POST /token` gives it.
async fn user_token(app: &TestApp, name: &str) -> String {
    let created = app
        .with_token(ADMIN_TOKEN)
        .post_json(
            "/users",
            &json!({"name": name, "password": password_of(name)}),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    // As the gemseo-http client logs in: a form with no grant_type.
    let login = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("username", name), ("password", &password_of(name))])
        .send()
        .await
        .expect("POST /token");
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.expect("JSON");
    body["access_token"].as_str().expect("a token").to_owned()
}

fn password_of(name: &str) -> String {
    format!("password-of-{name}-1234")
}

/// The execute body the client sends (every member, as pydantic dumps it).
fn execute_body(input_data: Value, linearize: bool, inputs: &[&str], outputs: &[&str]) -> Value {
    json!({
        "discipline_options": {}, "name": "S", "input_data": input_data,
        "input_data_type": "json", "input_files": [], "linearize": linearize,
        "linearization_mode": "auto",
        "linearize_options": {"compute_all_jacobians": false, "execute": true},
        "differentiated_inputs": inputs, "differentiated_outputs": outputs,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_answers_what_gemseo_answers_for_the_sellar_disciplines() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    for name in ["Sellar1", "Sellar2", "SellarSystem"] {
        for (call, file) in [
            ("input_names", "input_names"),
            ("output_names", "output_names"),
            ("default_input_data", "default_input_data"),
            ("inputs_schema", "inputs_schema"),
            ("outputs_schema", "outputs_schema"),
        ] {
            let path = format!("/v1/discipline/{name}/{call}");
            let reply = alice
                .post_json(&path, &json!({"discipline_options": {}}))
                .await;
            assert_eq!(reply.status, 200, "{path}: {reply:?}");
            let mut expected = reference(&format!("{name}.{file}.json"));
            let mut got = reply.body;
            // GEMSEO writes its own meta-schema URI; the guest SDK writes draft-07's.
            for schema in [&mut expected, &mut got] {
                if let Some(schema) = schema.as_object_mut() {
                    schema.remove("$schema");
                }
            }
            assert_eq!(got, expected, "{path}");
        }
    }
    let listed = alice.get("/v1/discipline").await;
    assert_eq!(listed.status, 200);
    for name in ["Sellar1", "Sellar2", "SellarSystem", "CsvColumnStatistics"] {
        assert!(
            listed
                .body
                .as_array()
                .expect("a list")
                .contains(&json!(name))
        );
    }
    let unknown = alice
        .post_json("/v1/discipline/Nope/inputs_schema", &json!({}))
        .await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body["detail"]
            .as_str()
            .expect("a detail")
            .contains("Nope")
    );
    let anonymous = app
        .post_json("/v1/discipline/Sellar1/inputs_schema", &json!({}))
        .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body["detail"].is_string(), "{anonymous:?}");
    let me = alice.get("/v1/user/me/").await;
    assert_eq!(me.body["username"], "alice");
    assert!(me.body["id"].as_i64().is_some_and(|id| id > 0), "{me:?}");
    assert!(me.body.get("hashed_password").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synchronous_execution_is_a_finished_job_with_outputs_and_jacobian() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    let expected = reference("Sellar1.execute_defaults.json");
    let body = execute_body(json!({}), false, &[], &[]);
    let reply = alice
        .post_json(
            "/v1/discipline/Sellar1/execute?execution_mode=synchronous",
            &body,
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let job = reply.body;
    assert_eq!(job["job_status"], "finished");
    assert_eq!(job["job_type"], "execute");
    assert_eq!(job["traceback"], "");
    // The reference also echoes the inputs in output_data; this server sends the outputs only.
    assert_eq!(
        job["output_data"],
        json!({"y_1": expected["output_data"]["y_1"]})
    );
    // Once finished, `input_data` is JSON text, as the reference server writes it.
    let as_json =
        |text: &Value| serde_json::from_str::<Value>(text.as_str().expect("text")).expect("JSON");
    assert_eq!(
        as_json(&job["input_data"]),
        as_json(&expected["input_data"])
    );
    assert!(job["id"].is_i64());

    let inputs = json!({"x_1": [1.0], "x_shared": [1.0, 0.0], "y_2": [1.0], "gamma": [0.2]});
    let body = execute_body(inputs, true, &["x_1", "y_2"], &["y_1"]);
    let job = alice
        .post_json(
            "/v1/discipline/Sellar1/execute?execution_mode=synchronous",
            &body,
        )
        .await
        .body;
    assert_eq!(job["job_type"], "execute_and_linearize");
    let y_1 = job["output_data"]["y_1"][0].as_f64().expect("y_1");
    assert!((y_1 - 1.341_640_786_499_873_8).abs() < 1e-12, "{job}");
    let jacobian = &job["jacobian_data"]["y_1"];
    let d_x1 = jacobian["x_1"][0][0].as_f64().expect("dy_1/dx_1");
    let d_y2 = jacobian["y_2"][0][0].as_f64().expect("dy_1/dy_2");
    assert!(
        (d_x1 - 0.372_677_996_249_964_95).abs() < 1e-12,
        "{jacobian}"
    );
    assert!(
        (d_y2 + 0.074_535_599_249_992_99).abs() < 1e-12,
        "{jacobian}"
    );

    // The job stays readable by its number, as the client and the OGC routes see it.
    let again = alice.get(&format!("/v1/job/{}", job["id"])).await;
    assert_eq!(again.body["output_data"], job["output_data"]);
    let listed = alice.get("/v1/job").await;
    assert_eq!(listed.body.as_array().expect("a list").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_and_guest_failures_are_failed_jobs_whose_traceback_says_why() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    for mode in ["synchronous", "asynchronous"] {
        let path = format!("/v1/discipline/Sellar1/execute?execution_mode={mode}");
        let wrong_type = execute_body(json!({"x_1": "abc"}), false, &[], &[]);
        let too_long = execute_body(json!({"x_1": [1.0, 2.0]}), false, &[], &[]);
        for (body, words) in [(wrong_type, "x_1"), (too_long, "component")] {
            let reply = alice.post_json(&path, &body).await;
            let expected_status = if mode == "synchronous" { 200 } else { 202 };
            assert_eq!(reply.status, expected_status, "{reply:?}");
            let job = settled(&alice, reply.body).await;
            assert_eq!(job["job_status"], "failed", "{job}");
            let traceback = job["traceback"].as_str().expect("a traceback");
            assert!(traceback.contains(words), "{mode}: {traceback}");
            assert_eq!(job["output_data"], json!({}));
        }
    }
    let no_such_input = execute_body(json!({}), true, &["nope"], &["y_1"]);
    let reply = alice
        .post_json("/v1/discipline/Sellar1/execute", &no_such_input)
        .await;
    assert_eq!(reply.body["job_status"], "failed");
    assert!(
        reply.body["traceback"]
            .as_str()
            .expect("text")
            .contains("nope")
    );
    let bad_mode = alice
        .post_json(
            "/v1/discipline/Sellar1/execute?execution_mode=later",
            &json!({}),
        )
        .await;
    assert_eq!(bad_mode.status, 400);
    assert!(
        bad_mode.body["detail"]
            .as_str()
            .expect("text")
            .contains("later")
    );
}

/// Polls the job until it ends, the way the client does (long polls of 10 s).
async fn settled(caller: &Caller, job: Value) -> Value {
    let path = format!(
        "/v1/job/{}?long_polling=True&long_polling_timeout=10.0",
        job["id"]
    );
    let mut job = job;
    for _ in 0..10 {
        if job["job_status"] == "finished" || job["job_status"] == "failed" {
            return job;
        }
        job = caller.get(&path).await.body;
    }
    panic!("the job never ended: {job}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_answers_as_soon_as_the_job_ends_and_holds_at_most_its_timeout() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    let body = execute_body(json!({}), true, &[], &[]);
    let reply = alice
        .post_json(
            "/v1/discipline/SellarSystem/execute?execution_mode=asynchronous",
            &body,
        )
        .await;
    assert_eq!(reply.status, 202, "{reply:?}");
    assert!(
        ["pending", "running", "finished"]
            .contains(&reply.body["job_status"].as_str().unwrap_or_default())
    );
    let started = Instant::now();
    let job = settled(&alice, reply.body).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the long poll waited out its timeout"
    );
    assert_eq!(job["job_status"], "finished", "{job}");
    // Every output by every input: compute_all_jacobians is off but both lists are empty.
    let blocks = job["jacobian_data"].as_object().expect("a Jacobian");
    assert_eq!(blocks.len(), 3, "{job}");
    assert_eq!(
        blocks["obj"].as_object().map(|row| row.len()),
        Some(7),
        "{job}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_jobs_and_files_are_not_there_and_paths_stay_in_the_workspace() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    let bob = app.with_token(&user_token(&app, "bob").await);
    let upload = upload_in_chunks(&alice, "../../data.csv", b"a,b\n1,2\n3,5\n", 4).await;
    assert_eq!(upload["filename"], "data.csv", "only the base name is kept");
    let body = json!({
        "name": "stats", "input_data": {"file_name": "data.csv"}, "input_files": [upload],
    });
    let job = alice
        .post_json("/v1/discipline/CsvColumnStatistics/execute", &body)
        .await
        .body;
    assert_eq!(job["job_status"], "finished", "{job}");
    let id = &job["id"];
    let tree = alice.get(&format!("/v1/job/{id}/files")).await;
    assert_eq!(
        tree.body,
        json!({"data.csv": null, "data_summary.csv": null})
    );
    let summary = alice
        .get(&format!(
            "/v1/job/{id}/files/download?filename=data_summary.csv"
        ))
        .await;
    assert_eq!(summary.status, 200);
    assert!(
        summary.headers["content-disposition"]
            .to_str()
            .is_ok_and(|value| value.contains("data_summary.csv"))
    );
    for path in [
        format!("/v1/job/{id}"),
        format!("/v1/job/{id}/files"),
        format!("/v1/job/{id}/files/download?filename=data.csv"),
    ] {
        let reply = bob.get(&path).await;
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert!(reply.body["detail"].is_string());
    }
    assert_eq!(bob.get("/v1/job").await.body, json!([]));
    assert_eq!(bob.get("/v1/file").await.body, json!([]));
    assert_eq!(
        alice.get("/v1/file").await.body.as_array().map(Vec::len),
        Some(1)
    );
    // Bob cannot use Alice's upload either.
    let stolen = bob
        .post_json("/v1/discipline/CsvColumnStatistics/execute", &body)
        .await;
    assert_eq!(stolen.status, 400, "{stolen:?}");
    let outside = alice
        .get(&format!(
            "/v1/job/{id}/files/download?filename=../../uploads/x"
        ))
        .await;
    assert_eq!(outside.status, 400, "{outside:?}");
    let missing = alice
        .get(&format!("/v1/job/{id}/files/download?filename=nope.csv"))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn chunks_out_of_order_are_refused_and_the_hash_is_of_the_whole_file() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    let content = b"x,y\n1,2\n";
    let file = upload_in_chunks(&alice, "points.csv", content, 3).await;
    assert_eq!(file["sha256sum"], hex_sha256(content));
    assert!(
        file["id"].is_i64() && file["unique_filename"].is_string(),
        "{file}"
    );
    let empty = upload_in_chunks(&alice, "empty.csv", b"", 3).await;
    assert_eq!(empty["sha256sum"], hex_sha256(b""));
    // The last chunk of a file whose chunk 1 never came.
    let first = send_chunk(&alice, "gap.csv", b"abc", 0, 3).await;
    assert_eq!(first.status, 200);
    let last = send_chunk(&alice, "gap.csv", b"ghi", 2, 3).await;
    assert_eq!(last.status, 400, "{last:?}");
    assert!(
        last.body["detail"]
            .as_str()
            .expect("text")
            .contains("chunk 1")
    );
    let beyond = send_chunk(&alice, "gap.csv", b"abc", 3, 3).await;
    assert_eq!(beyond.status, 400);
}

/// Uploads `content` as the client does: chunks of `chunk_size`, always a last (maybe empty)
/// one; returns the `File` of the last answer.
async fn upload_in_chunks(caller: &Caller, name: &str, content: &[u8], chunk_size: usize) -> Value {
    let (full, rest) = (content.len() / chunk_size, content.len() % chunk_size);
    let total = full + 1;
    let mut last = Value::Null;
    for number in 0..total {
        let end = if number == full {
            full * chunk_size + rest
        } else {
            (number + 1) * chunk_size
        };
        let reply = send_chunk(
            caller,
            name,
            &content[number * chunk_size..end],
            number,
            total,
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        if number + 1 < total {
            assert_eq!(reply.body, json!("Chunks uploaded"));
        }
        last = reply.body;
    }
    last[0].clone()
}

async fn send_chunk(
    caller: &Caller,
    name: &str,
    bytes: &[u8],
    number: usize,
    total: usize,
) -> crate::helpers::Reply {
    let boundary = "e65f5f1f8eba1bac6162a8d6e1037663";
    let mut body = Vec::new();
    for (field, value) in [("total_chunks", total), ("chunk_number", number)] {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").bytes());
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    caller
        .post_raw(
            "/v1/file/upload",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// GEMSEO's `HTTPDiscipline`, unmodified, against this server: equivalence with GEMSEO's local
/// Sellar disciplines, the MDF scenario (sync and async), files, and errors.
#[tokio::test(flavor = "multi_thread")]
async fn gemseos_own_client_runs_studies_on_the_wasm_disciplines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-compat/bin/python");
    if !python.exists() {
        assert!(
            std::env::var("CI").is_err(),
            "{} is missing: `cargo xtask test` installs it",
            python.display()
        );
        eprintln!(
            "skipped: {} is missing; run `cargo xtask test`",
            python.display()
        );
        return;
    }
    let app = secured_app().await;
    let token = user_token(&app, "alice").await;
    let port = app.address.rsplit(':').next().expect("a port").to_owned();
    let suite = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .current_dir(&root)
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/compat/gemseo_http",
            ])
            .env("DISCIPLINES_PORT", port)
            .env("DISCIPLINES_TOKEN", token)
            .env("DISCIPLINES_USER", "alice")
            .env("DISCIPLINES_PASSWORD", password_of("alice"))
            .output()
            .expect("pytest runs")
    })
    .await
    .expect("the suite ends");
    let stdout = String::from_utf8_lossy(&suite.stdout);
    let stderr = String::from_utf8_lossy(&suite.stderr);
    assert!(suite.status.success(), "pytest failed:\n{stdout}\n{stderr}");
    assert!(
        !stdout.contains("skipped"),
        "no test may be skipped:\n{stdout}"
    );
    // What the suite did, for the test log (`--nocapture`).
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synchronous_run_whose_client_leaves_leaves_no_workspace_behind() {
    let app = spawn_app_with(&["adversary"], |_| {}).await;
    // An input file makes the run's workspace the job's own directory from the start.
    let file = upload_in_chunks(&app, "ballast.txt", b"ballast", 1024).await;
    let body = json!({
        "input_data": {"attack": "spin", "amount": [-1.0]},
        "input_files": [file],
    });
    let request = app
        .client
        .post(format!("{}/v1/discipline/Adversary/execute", app.address))
        .json(&body)
        .send();
    let leaving = tokio::spawn(request);
    let jobs_dir = app.data_dir.path().join("jobs");
    let workspaces = || {
        std::fs::read_dir(&jobs_dir)
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    let started = Instant::now();
    while workspaces() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the run never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    leaving.abort();
    while workspaces() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the workspace of a run that was never recorded stayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nothing was recorded for it either.
    assert_eq!(app.get("/v1/job").await.body, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_malformed_request_is_a_problem_with_a_detail_and_inputs_may_come_as_text() {
    let app = secured_app().await;
    let alice = app.with_token(&user_token(&app, "alice").await);
    let unknown_call = alice
        .post_json("/v1/discipline/Sellar1/everything", &json!({}))
        .await;
    assert_eq!(unknown_call.status, 404);
    assert!(
        unknown_call.body["detail"]
            .as_str()
            .expect("text")
            .contains("everything")
    );

    // input_data as its JSON text, as the reference server stores it, is accepted.
    let as_text = json!({"input_data": "{\"x_1\": [1.0]}"});
    let job = alice
        .post_json("/v1/discipline/Sellar1/execute", &as_text)
        .await
        .body;
    assert_eq!(job["job_status"], "finished", "{job}");
    let not_json = json!({"input_data": "x_1 = 1"});
    let job = alice
        .post_json("/v1/discipline/Sellar1/execute", &not_json)
        .await
        .body;
    assert_eq!(job["job_status"], "failed");
    assert!(
        job["traceback"]
            .as_str()
            .expect("text")
            .contains("not a JSON object")
    );

    // A mode GEMSEO approximates on the client: no Jacobian from the server, no failure.
    let mut approximated = execute_body(json!({}), true, &[], &[]);
    approximated["linearization_mode"] = json!("finite_differences");
    let job = alice
        .post_json("/v1/discipline/Sellar1/execute", &approximated)
        .await
        .body;
    assert_eq!(
        (job["job_status"].as_str(), &job["jacobian_data"]),
        (Some("finished"), &json!({}))
    );
    let mut unknown_mode = execute_body(json!({}), true, &[], &[]);
    unknown_mode["linearization_mode"] = json!("telepathy");
    let job = alice
        .post_json("/v1/discipline/Sellar1/execute", &unknown_mode)
        .await
        .body;
    assert_eq!(job["job_status"], "failed");
    assert!(
        job["traceback"]
            .as_str()
            .expect("text")
            .contains("telepathy")
    );

    let id = &job["id"];
    for timeout in ["soon", "-1", "1e20", "1.9e19", "1e300", "0"] {
        let path = format!("/v1/job/{id}?long_polling=True&long_polling_timeout={timeout}");
        let reply = alice.get(&path).await;
        // A finished job is answered at once, whatever the timeout says.
        assert_eq!(reply.status, 200, "{path}");
    }
    // A job that runs on: the timeout is read, and a bad one refused.
    let spinning = spawn_app_with(&["adversary"], |config| {
        config.limits.default.deadline = Duration::from_secs(2);
    })
    .await;
    let forever = json!({"input_data": {"attack": "spin", "amount": [-1.0]}});
    let running = spinning
        .post_json(
            "/v1/discipline/Adversary/execute?execution_mode=asynchronous",
            &forever,
        )
        .await
        .body;
    for timeout in ["soon", "-1"] {
        let path = format!(
            "/v1/job/{}?long_polling=yes&long_polling_timeout={timeout}",
            running["id"]
        );
        let reply = spinning.get(&path).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(
            reply.body["detail"]
                .as_str()
                .expect("text")
                .contains(timeout)
        );
    }
    for id in ["abc", "999999"] {
        let reply = alice.get(&format!("/v1/job/{id}")).await;
        assert_eq!(reply.status, 404, "{id}");
    }
    let no_file = alice.get("/v1/job/1/files/download").await;
    assert_eq!(no_file.status, 400, "{no_file:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_forms_are_checked_and_a_file_past_the_upload_cap_is_refused() {
    let app = spawn_app_with(&[], |config| config.http.max_upload_bytes = 10).await;
    let not_a_number = app
        .post_raw(
            "/v1/file/upload",
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data; name=\"chunk_number\"\r\n\r\nfirst\r\n--b--\r\n"
                .to_vec(),
        )
        .await;
    assert_eq!(not_a_number.status, 400, "{not_a_number:?}");
    assert!(
        not_a_number.body["detail"]
            .as_str()
            .expect("text")
            .contains("first")
    );
    let no_file = app
        .post_raw(
            "/v1/file/upload",
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data; name=\"total_chunks\"\r\n\r\n1\r\n--b--\r\n"
                .to_vec(),
        )
        .await;
    assert_eq!(no_file.status, 400);
    // The client chooses the number of chunks: not without bound.
    let too_many = send_chunk(&app, "many.csv", b"x", 999_999_999_998, 999_999_999_999).await;
    assert_eq!(too_many.status, 400, "{too_many:?}");
    assert!(
        too_many.body["detail"]
            .as_str()
            .expect("text")
            .contains("100000 chunks")
    );
    let dot_dot = send_chunk(&app, "..", b"x", 0, 1).await;
    assert_eq!(dot_dot.status, 400, "{dot_dot:?}");
    // At the cap, then one byte past it: in one chunk, and over two chunks.
    let at_cap = send_chunk(&app, "ten.csv", b"0123456789", 0, 1).await;
    assert_eq!(at_cap.status, 200, "{at_cap:?}");
    let past_cap = send_chunk(&app, "eleven.csv", b"0123456789A", 0, 1).await;
    assert_eq!(past_cap.status, 413, "{past_cap:?}");
    assert_eq!(
        send_chunk(&app, "split.csv", b"012345", 0, 2).await.status,
        200
    );
    let joined = send_chunk(&app, "split.csv", b"6789A", 1, 2).await;
    assert_eq!(joined.status, 413, "{joined:?}");
    assert_eq!(
        app.get("/v1/file").await.body.as_array().map(Vec::len),
        Some(1)
    );
}
