//! OGC callbacks: a subscriber hears when its job starts, succeeds or fails, with retries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// What a receiver got: (path, body), and how many calls to refuse first.
#[derive(Clone, Default)]
struct Received {
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    refuse_first: Arc<Mutex<u32>>,
}

async fn receive(
    State(received): State<Received>,
    Path(path): Path<String>,
    body: Bytes,
) -> StatusCode {
    {
        let mut refuse = received.refuse_first.lock().expect("not poisoned");
        if *refuse > 0 {
            *refuse -= 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    received
        .calls
        .lock()
        .expect("not poisoned")
        .push((path, body));
    StatusCode::NO_CONTENT
}

/// A receiver on a free loopback port; returns its base URL.
async fn receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new()
        .route("/{path}", post(receive))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn wait_for_calls(received: &Received, count: usize) -> Vec<(String, Value)> {
    let started = Instant::now();
    loop {
        let calls = received.calls.lock().expect("not poisoned").clone();
        if calls.len() >= count {
            return calls;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "only {} callbacks: {calls:?}",
            calls.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_hear_of_start_success_and_failure_even_after_a_refusal() {
    let app = spawn_app(&["sellar1", "adversary"]).await;
    let received = Received::default();
    *received.refuse_first.lock().expect("not poisoned") = 1;
    let base = receiver(received.clone()).await;
    let subscriber = json!({"successUri": format!("{base}/success"), "inProgressUri": format!("{base}/progress"), "failedUri": format!("{base}/failed")});

    let succeeding = app
        .submit_ok(
            "Sellar1",
            &json!({"inputs": {"x_1": [1.0]}, "subscriber": subscriber}),
        )
        .await;
    app.wait_for_job(&succeeding).await;
    let calls = wait_for_calls(&received, 2).await;
    let results = app.get(&format!("/jobs/{succeeding}/results")).await.body;
    assert!(
        calls
            .iter()
            .any(|(path, body)| path == "success" && *body == results),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|(path, body)| path == "progress" && body["jobID"] == succeeding.as_str()),
        "{calls:?}"
    );

    let failing = json!({"inputs": {"attack": "fail", "amount": [1.0]}, "subscriber": subscriber});
    let failing = app.submit_ok("Adversary", &failing).await;
    app.wait_for_job(&failing).await;
    let calls = wait_for_calls(&received, 4).await;
    let failure = calls
        .iter()
        .find(|(path, _)| path == "failed")
        .expect("a failure callback");
    assert!(
        failure.1["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("guest-error")),
        "{failure:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_uri_must_be_an_http_url() {
    let app = spawn_app(&["sellar1"]).await;
    let refused = app
        .submit(
            "Sellar1",
            &json!({"subscriber": {"successUri": "file:///etc/passwd"}}),
        )
        .await;
    assert_eq!(refused.problem_slug(), "malformed-request");
    assert_eq!(refused.body["pointer"], "/subscriber/successUri");
    assert_eq!(
        app.get("/jobs").await.body["jobs"].as_array().map(Vec::len),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_never_reach_the_servers_own_network_unless_allowed() {
    let app = crate::helpers::spawn_app_with(&["sellar1"], |config| {
        config.jobs.webhooks_to_private_networks = false;
    })
    .await;
    let received = Received::default();
    let base = receiver(received.clone()).await;
    let literal = app
        .submit(
            "Sellar1",
            &json!({"inputs": {}, "subscriber": {"successUri": format!("{base}/done")}}),
        )
        .await;
    assert_eq!(literal.status, 400, "{literal:?}");
    assert_eq!(literal.body["pointer"], "/subscriber/successUri");

    let port = base.rsplit(':').next().expect("a port");
    let by_name = format!("http://localhost:{port}/done");
    let job = app
        .submit_ok(
            "Sellar1",
            &json!({"inputs": {}, "subscriber": {"successUri": by_name, "inProgressUri": by_name}}),
        )
        .await;
    assert_eq!(app.wait_for_job(&job).await["status"], "successful");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let calls = received.calls.lock().expect("not poisoned").clone();
    assert!(
        calls.is_empty(),
        "a name resolving to loopback is refused too: {calls:?}"
    );
}
