//! Bad requests get the right problem document, and change nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with, wait_for_load};

async fn still_serving(app: &TestApp, processes_before: &Value) {
    assert_eq!(&app.get("/processes").await.body, processes_before);
    let reply = app
        .execute("Sellar1", &json!({"inputs": {"x_1": [1.0]}}))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_precise_problems() {
    let app = spawn_app(&["sellar1", "adversary"]).await;
    let before = app.get("/processes").await.body;
    let path = "/processes/Sellar1/execution";

    let malformed = app
        .post_raw(path, "application/json", b"{\"inputs\": ".to_vec())
        .await;
    assert_eq!(
        malformed.problem_slug(),
        "malformed-request",
        "{malformed:?}"
    );

    let not_json = app.post_raw(path, "text/plain", b"{}".to_vec()).await;
    assert_eq!(
        not_json.problem_slug(),
        "unsupported-media-type",
        "{not_json:?}"
    );

    let inputs_not_object = app.execute("Sellar1", &json!({"inputs": 3})).await;
    assert_eq!(inputs_not_object.problem_slug(), "malformed-request");
    assert_eq!(inputs_not_object.body["pointer"], "/inputs");

    let typo = app.execute("Sellar1", &json!({"input": {}})).await;
    assert_eq!(typo.problem_slug(), "malformed-request", "{typo:?}");

    for deadline in [0, 9] {
        let too_short = app
            .execute("Sellar1", &json!({"limits": {"deadlineMs": deadline}}))
            .await;
        assert_eq!(
            too_short.problem_slug(),
            "malformed-request",
            "{too_short:?}"
        );
        assert!(
            too_short.body["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("shortest deadline")),
            "{too_short:?}"
        );
    }

    let wrong_type = app
        .execute("Sellar1", &json!({"inputs": {"x_1": "zero"}}))
        .await;
    assert_eq!(wrong_type.problem_slug(), "invalid-input");
    assert_eq!(wrong_type.body["pointer"], "/inputs/x_1");

    let wrong_item = app
        .execute("Sellar1", &json!({"inputs": {"x_shared": [1.0, "b"]}}))
        .await;
    assert_eq!(wrong_item.problem_slug(), "invalid-input");
    assert_eq!(wrong_item.body["pointer"], "/inputs/x_shared/1");

    let unknown_input = app
        .execute("Sellar1", &json!({"inputs": {"x_9": [1.0]}}))
        .await;
    assert_eq!(unknown_input.problem_slug(), "invalid-input");
    assert_eq!(unknown_input.body["pointer"], "/inputs/x_9");

    let missing = app
        .execute("Adversary", &json!({"inputs": {"amount": [1.0]}}))
        .await;
    assert_eq!(missing.problem_slug(), "invalid-input", "{missing:?}");
    assert_eq!(missing.body["pointer"], "/inputs/attack");

    let unknown = app.execute("Nope", &json!({})).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body["type"],
        "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process"
    );
    assert_eq!(app.get("/processes/Nope").await.status, 404);

    let oversized = app
        .execute("Sellar1", &json!({"inputs": {"x_1": vec![0.5; 100_000]}}))
        .await;
    assert_eq!(
        oversized.problem_slug(),
        "payload-too-large",
        "{oversized:?}"
    );

    let greedy = app
        .execute("Sellar1", &json!({"limits": {"fuel": u64::MAX}}))
        .await;
    assert_eq!(greedy.problem_slug(), "limit-too-high");
    assert_eq!(greedy.body["pointer"], "/limits/fuel");

    // The README's own example: whole numbers may be written as floats.
    let as_documented =
        json!({"limits": {"fuel": 1e9, "memoryBytes": 67108864, "deadlineMs": 2000}});
    let reply = app.execute("Sellar1", &as_documented).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let fractional = app
        .execute("Sellar1", &json!({"limits": {"fuel": 1.5}}))
        .await;
    assert_eq!(
        fractional.problem_slug(),
        "malformed-request",
        "{fractional:?}"
    );

    let no_jacobian = app
        .execute(
            "Adversary",
            &json!({"inputs": {"attack": "spin", "amount": [1.0]}, "linearize": {}}),
        )
        .await;
    assert_eq!(no_jacobian.problem_slug(), "no-jacobian");

    let bad_variable = app
        .execute("Sellar1", &json!({"linearize": {"inputs": ["y_1"]}}))
        .await;
    assert_eq!(bad_variable.problem_slug(), "no-jacobian");
    assert_eq!(bad_variable.body["pointer"], "/linearize/inputs/0");

    let bad_options = app
        .execute("Sellar1", &json!({"options": {"bogus": true}}))
        .await;
    assert_eq!(
        bad_options.problem_slug(),
        "invalid-options",
        "{bad_options:?}"
    );

    let refused = app
        .execute("Sellar1", &json!({"inputs": {"x_shared": [1.0]}}))
        .await;
    assert_eq!(refused.problem_slug(), "invalid-input", "{refused:?}");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("x_shared")),
        "{refused:?}"
    );

    assert_eq!(app.get("/no/such/path").await.problem_slug(), "not-found");
    let wrong_method = app
        .client
        .delete(format!("{}/processes", app.address))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(wrong_method.status(), 405);

    still_serving(&app, &before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn problem_types_are_documented() {
    let app = spawn_app(&[]).await;
    let documented = app.get("/problems/out-of-fuel").await;
    assert_eq!(documented.status, 200);
    assert_eq!(documented.body["type"], "/problems/out-of-fuel");
    assert!(
        documented.body["description"]
            .as_str()
            .is_some_and(|d| d.contains("fuel"))
    );
    assert_eq!(
        app.get("/problems/nonsense").await.problem_slug(),
        "not-found"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_server_answers_busy_and_dropped_requests_free_their_slots() {
    let app = spawn_app_with(&["adversary", "sellar1"], |config| {
        config.execution.concurrency = 1;
        config.execution.sync_reserved = 0;
        config.execution.queue = 1;
    })
    .await;
    let spin_forever =
        json!({"inputs": {"attack": "spin", "amount": [-1.0]}, "limits": {"deadlineMs": 60000}});
    let spinner = || {
        let request = app
            .client
            .post(format!("{}/processes/Adversary/execution", app.address))
            .json(&spin_forever)
            .send();
        tokio::spawn(request)
    };
    // One spinning guest holds the only thread, then the other waits in the only queue place.
    let running = spinner();
    wait_for_load(&app, 1, 0).await;
    let waiting = spinner();
    wait_for_load(&app, 1, 1).await;
    let busy = app.execute("Sellar1", &json!({})).await;
    assert_eq!(busy.status, 503, "{busy:?}");
    assert_eq!(busy.problem_slug(), "server-busy");
    assert_eq!(
        busy.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // The clients give up: the running guest is interrupted, the waiting one never starts,
    // and the server serves again long before the 60 s deadline.
    running.abort();
    waiting.abort();
    let started = std::time::Instant::now();
    loop {
        let reply = app.execute("Sellar1", &json!({})).await;
        if reply.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the slots were never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Values no client should send for a number, as they would be written in a query string.
const ABSURD: [&str; 10] = [
    "0",
    "-1",
    "-0",
    "1.5",
    "1e20",
    "1.9e19",
    "1e300",
    "18446744073709551616",
    "NaN",
    "inf",
];

/// A refusal is a 4xx problem document; nothing a client sends makes the server fail.
fn assert_answered(what: &str, status: reqwest::StatusCode, reply: &crate::helpers::Reply) {
    assert!(
        status.is_success() || (status.is_client_error() && !reply.problem_slug().is_empty()),
        "{what}: {reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_numeric_parameter_takes_absurd_values_with_a_clear_answer() {
    let app = spawn_app(&["sellar1"]).await;
    let before = app.get("/processes").await.body;
    let job = app.submit_ok("Sellar1", &json!({})).await;
    app.wait_for_job(&job).await;
    let queries = [
        format!("/jobs/{job}?wait="),
        "/jobs?limit=".to_owned(),
        "/jobs?after=".to_owned(),
        "/v1/job/1?long_polling=true&long_polling_timeout=".to_owned(),
    ];
    for query in &queries {
        for value in ABSURD {
            let path = format!("{query}{value}");
            let reply = app.get(&path).await;
            assert_answered(&path, reply.status, &reply);
        }
    }
    let numbers = ABSURD
        .iter()
        .filter(|value| !["NaN", "inf"].contains(value));
    let members = [
        "fuel",
        "memoryBytes",
        "deadlineMs",
        "workspaceBytes",
        "workspaceFiles",
    ];
    for value in numbers {
        let mut bodies: Vec<String> = members
            .iter()
            .map(|member| format!(r#"{{"inputs": {{}}, "limits": {{"{member}": {value}}}}}"#))
            .collect();
        bodies.push(format!(r#"{{"inputs": {{}}, "priority": {value}}}"#));
        for body in bodies {
            let reply = app
                .post_raw(
                    "/processes/Sellar1/execution",
                    "application/json",
                    body.clone().into_bytes(),
                )
                .await;
            assert_answered(&body, reply.status, &reply);
        }
    }
    for value in ABSURD {
        for field in ["chunk_number", "total_chunks"] {
            let form = format!(
                "--x\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n\
                 --x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.csv\"\r\n\r\n\
                 a,b\r\n--x--\r\n"
            );
            let reply = app
                .post_raw(
                    "/v1/file/upload",
                    "multipart/form-data; boundary=x",
                    form.into_bytes(),
                )
                .await;
            assert_answered(&format!("{field}={value}"), reply.status, &reply);
        }
    }
    still_serving(&app, &before).await;
}
