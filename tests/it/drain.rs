//! SIGTERM drains: a long-poll answers with the job's status, an event stream ends with a
//! `close` event, a synchronous execution still waiting for a guest thread is refused with 503
//! and Retry-After, new requests are answered 503 while the request in flight finishes, and
//! then the server stops.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::helpers::{Caller, spawn_app_with, wait_for_load};

fn sleeper(millis: f64) -> serde_json::Value {
    json!({"inputs": {"attack": "sleep", "amount": [millis], "path": ""}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drain_answers_every_waiting_client_and_refuses_new_requests_until_it_closes() {
    let app = spawn_app_with(&["adversary"], |config| {
        config.execution.concurrency = 1;
        config.execution.sync_reserved = 0;
        config.jobs.shutdown_grace = Duration::from_secs(30);
    })
    .await;
    let caller: Caller = (*app).clone();
    let in_flight = tokio::spawn({
        let caller = caller.clone();
        async move { caller.execute("Adversary", &sleeper(3000.0)).await }
    });
    wait_for_load(&caller, 1, 0).await;
    let queued_sync = tokio::spawn({
        let caller = caller.clone();
        async move { caller.execute("Adversary", &sleeper(1.0)).await }
    });
    wait_for_load(&caller, 1, 1).await;
    let job = app.submit_ok("Adversary", &sleeper(1.0)).await;
    let long_poll = tokio::spawn({
        let caller = caller.clone();
        let job = job.clone();
        async move { caller.get(&format!("/jobs/{job}?wait=60")).await }
    });
    let events = caller
        .client
        .get(format!("{}/jobs/{job}/events", caller.address))
        .send()
        .await
        .expect("an event stream");
    let mut events = events.bytes_stream();
    let first = events.next().await.expect("a first event").expect("bytes");
    assert!(String::from_utf8_lossy(&first).contains("event: status"));

    // The long-poll was sent before the stream; give it time to be in flight (a request that
    // reaches the server after the drain began is refused, which is tested below).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !long_poll.is_finished(),
        "the long-poll answered before the drain"
    );
    let stopping = app.begin_shutdown();

    let polled = long_poll.await.expect("the long-poll ends");
    assert_eq!(polled.status, 200, "{polled:?}");
    // Not run yet: the one guest thread is taken (the job may be claimed ahead, waiting).
    let waiting = |status: &str| ["accepted", "running"].contains(&status);
    assert!(
        polled.body["status"].as_str().is_some_and(waiting),
        "{polled:?}"
    );

    let mut rest = String::new();
    while let Some(chunk) = events.next().await {
        rest.push_str(&String::from_utf8_lossy(&chunk.expect("bytes")));
    }
    let close = rest
        .split("\n\n")
        .find(|event| event.contains("event: close"))
        .unwrap_or_else(|| panic!("no close event in {rest}"));
    assert!(
        close.contains("\"status\":\"accepted\"") || close.contains("\"status\":\"running\""),
        "{close}"
    );
    assert!(close.contains("retry: 5000"), "{close}");

    let refused = queued_sync.await.expect("the queued call ends");
    assert_eq!(refused.problem_slug(), "shutting-down", "{refused:?}");
    assert!(refused.headers.contains_key("retry-after"), "{refused:?}");

    // The execution in flight still runs: the listener answers, refusing new requests.
    let fresh = Caller {
        address: caller.address.clone(),
        client: reqwest::Client::new(),
    };
    let turned_away = fresh.get("/processes").await;
    assert_eq!(
        turned_away.problem_slug(),
        "shutting-down",
        "{turned_away:?}"
    );
    assert!(!in_flight.is_finished());

    let finished = in_flight.await.expect("the call in flight ends");
    assert_eq!(finished.status, 200, "{finished:?}");
    stopping
        .server
        .await
        .expect("the server task ends")
        .expect("the server stops cleanly");
    let closed = reqwest::Client::new()
        .get(format!("{}/health", caller.address))
        .send()
        .await;
    assert!(closed.is_err(), "still listening: {closed:?}");
}
