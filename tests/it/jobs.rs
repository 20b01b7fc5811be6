//! Asynchronous jobs over HTTP: lifecycle, results, long-poll, events, dismissal, batches.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn spin_forever() -> Value {
    json!({"inputs": {"attack": "spin", "amount": [-1.0]}, "limits": {"deadlineMs": 60000}})
}

async fn one_worker() -> TestApp {
    spawn_app_with(&["adversary", "sellar1", "monte_carlo_pi"], |config| {
        config.execution.concurrency = 1;
    })
    .await
}

/// Waits until the job reaches `status` (polling, at most 10 s).
async fn wait_until(app: &TestApp, id: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let job = app.get(&format!("/jobs/{id}")).await.body;
        if job["status"] == status {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "job {id} never became {status}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_runs_to_success_and_its_results_match_the_synchronous_run() {
    let app = spawn_app(&["sellar1"]).await;
    let body = json!({"inputs": {"x_1": [2.0]}, "linearize": {}});
    let submitted = app.submit("Sellar1", &body).await;
    assert_eq!(submitted.status, 201, "{submitted:?}");
    let id = submitted.body["jobID"].as_str().expect("id").to_owned();
    assert_eq!(
        submitted.headers["location"],
        format!("/jobs/{id}").as_str()
    );
    assert_eq!(submitted.headers["preference-applied"], "respond-async");
    assert!(
        ["accepted", "running", "successful"]
            .contains(&submitted.body["status"].as_str().unwrap_or_default())
    );
    assert_eq!(submitted.body["processID"], "Sellar1");

    let job = app.wait_for_job(&id).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["progress"], 100);
    assert_eq!(job["attempts"], 1);
    assert!(
        job["moduleDigest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    for stamp in ["created", "started", "finished", "updated"] {
        assert!(
            job[stamp].as_str().is_some_and(|t| t.ends_with('Z')),
            "{stamp}: {job}"
        );
    }
    let results = app.get(&format!("/jobs/{id}/results")).await;
    assert_eq!(results.status, 200);
    let synchronous = app.execute("Sellar1", &body).await;
    assert_eq!(results.body, synchronous.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_keeps_its_problem_and_an_unknown_job_is_404() {
    let app = spawn_app(&["adversary"]).await;
    let id = app
        .submit_ok(
            "Adversary",
            &json!({"inputs": {"attack": "fail", "amount": [1.0]}}),
        )
        .await;
    let job = app.wait_for_job(&id).await;
    assert_eq!(job["status"], "failed", "{job}");
    let results = app.get(&format!("/jobs/{id}/results")).await;
    assert_eq!(results.problem_slug(), "guest-error", "{results:?}");
    assert!(
        results.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("failed on purpose"))
    );

    for path in [
        "/jobs/not-a-uuid",
        "/jobs/00000000-0000-4000-8000-000000000000",
        "/jobs/00000000-0000-4000-8000-000000000000/results",
    ] {
        let unknown = app.get(path).await;
        assert_eq!(unknown.status, 404, "{path}");
        assert_eq!(
            unknown.body["type"],
            "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job"
        );
    }
    let invalid = app
        .submit("Adversary", &json!({"inputs": {"attack": "nonsense"}}))
        .await;
    assert_eq!(invalid.problem_slug(), "invalid-input");
    assert_eq!(
        app.get("/jobs").await.body["jobs"].as_array().map(Vec::len),
        Some(1),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dismissing_a_running_job_interrupts_its_guest_and_a_queued_one_never_starts() {
    let app = one_worker().await;
    let running = app.submit_ok("Adversary", &spin_forever()).await;
    wait_until(&app, &running, "running").await;
    let queued = app.submit_ok("Sellar1", &json!({})).await;
    let not_ready = app.get(&format!("/jobs/{running}/results")).await;
    assert_eq!(not_ready.status, 404);
    assert_eq!(
        not_ready.body["type"],
        "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/result-not-ready"
    );

    let dismissed = app.delete(&format!("/jobs/{queued}")).await;
    assert_eq!(dismissed.body["status"], "dismissed", "{dismissed:?}");
    let cancelled_at = Instant::now();
    let dismissed = app.delete(&format!("/jobs/{running}")).await;
    assert_eq!(dismissed.body["status"], "dismissed", "{dismissed:?}");

    // The only worker is free again long before the 60 s deadline: a new job runs.
    let next = app.submit_ok("Sellar1", &json!({})).await;
    assert_eq!(app.wait_for_job(&next).await["status"], "successful");
    assert!(cancelled_at.elapsed() < Duration::from_secs(10));
    let never_started = app.get(&format!("/jobs/{queued}")).await.body;
    assert_eq!(
        (
            never_started["status"].as_str(),
            never_started["attempts"].as_u64()
        ),
        (Some("dismissed"), Some(0))
    );
    assert!(never_started["started"].is_null());
    let results = app.get(&format!("/jobs/{running}/results")).await;
    assert_eq!(results.problem_slug(), "dismissed");
    assert_eq!(
        app.get(&format!("/jobs/{running}")).await.body["status"],
        "dismissed",
        "it stays dismissed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_returns_as_soon_as_the_job_ends() {
    let app = spawn_app(&["monte_carlo_pi"]).await;
    let id = app
        .submit_ok(
            "MonteCarloPi",
            &json!({"inputs": {"n_samples": 20_000_000, "seed": 1}}),
        )
        .await;
    let started = Instant::now();
    let job = app.get(&format!("/jobs/{id}?wait=60")).await.body;
    assert_eq!(job["status"], "successful", "{job}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "returned at the end, not at the timeout"
    );
    let still = app.get(&format!("/jobs/{id}?wait=0.2")).await.body;
    assert_eq!(still["status"], "successful");
    // Waits no Duration can hold are capped, never a panic that drops the connection.
    for wait in ["1e20", "1.9e19", "1e300", "-1", "0", "NaN"] {
        let reply = app.get(&format!("/jobs/{id}?wait={wait}")).await;
        assert_eq!(reply.status, 200, "wait={wait}: {reply:?}");
        assert_eq!(reply.body["status"], "successful", "wait={wait}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_stream_progress_in_order_until_the_end() {
    let app = spawn_app(&["monte_carlo_pi"]).await;
    let id = app
        .submit_ok(
            "MonteCarloPi",
            &json!({"inputs": {"n_samples": 50_000_000, "seed": 3}}),
        )
        .await;
    let response = app
        .client
        .get(format!("{}/jobs/{id}/events", app.address))
        .send()
        .await
        .expect("events");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(Duration::from_secs(30), response.text())
        .await
        .expect("the stream ends")
        .expect("text");
    let events: Vec<Value> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| serde_json::from_str(data.trim()).expect("JSON event"))
        .collect();
    assert!(events.len() >= 3, "{text}");
    let progress: Vec<u64> = events
        .iter()
        .filter_map(|event| event["progress"].as_u64())
        .collect();
    assert!(
        progress.windows(2).all(|pair| pair[0] <= pair[1]),
        "progress goes back: {progress:?}"
    );
    assert!(
        progress.len() >= 10,
        "progress is reported as it goes: {progress:?}"
    );
    let last = events.last().expect("an event");
    assert_eq!(last["status"], "successful", "{text}");
    assert!(text.contains("event: end"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_past_its_cap_is_refused_before_its_items_are_read() {
    let app = spawn_app_with(&["sellar1"], |config| {
        config.jobs.max_batch = 100;
        config.http.max_body_bytes = 4 << 20;
    })
    .await;
    let over = app
        .post_json(
            "/processes/Sellar1/batch",
            &json!({"inputs": vec![json!({}); 101]}),
        )
        .await;
    assert_eq!(over.problem_slug(), "payload-too-large", "{over:?}");
    assert_eq!(over.body["pointer"], "/inputs");
    // A million items in 3 MB: refused by their count, not after a million maps were built
    // (which took gigabytes); and items that are not objects are never looked at.
    let million = format!("{{\"inputs\": [{}]}}", vec!["7"; 1_000_000].join(","));
    let huge = app
        .post_raw(
            "/processes/Sellar1/batch",
            "application/json",
            million.into_bytes(),
        )
        .await;
    assert_eq!(huge.problem_slug(), "payload-too-large", "{huge:?}");
    assert!(
        huge.body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("1000000")),
        "{huge:?}"
    );
    let not_a_list = app
        .post_json(
            "/processes/Sellar1/batch",
            &json!({"inputs": {"x_1": [1.0]}}),
        )
        .await;
    assert_eq!(
        not_a_list.problem_slug(),
        "malformed-request",
        "{not_a_list:?}"
    );
    assert_eq!(not_a_list.body["pointer"], "/inputs");
    let at_cap = app
        .post_json(
            "/processes/Sellar1/batch",
            &json!({"inputs": vec![json!({}); 100]}),
        )
        .await;
    assert_eq!(at_cap.status, 201, "{at_cap:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_atomic_and_every_job_of_it_runs() {
    let app = spawn_app(&["sellar1"]).await;
    let inputs: Vec<Value> = (0..200)
        .map(|i| json!({"x_1": [f64::from(i) / 100.0]}))
        .collect();
    let mut bad = inputs.clone();
    bad[5] = json!({"x_1": ["five"]});
    let refused = app
        .post_json("/processes/Sellar1/batch", &json!({"inputs": bad}))
        .await;
    assert_eq!(refused.problem_slug(), "invalid-input");
    assert_eq!(refused.body["pointer"], "/inputs/5/x_1/0");
    assert_eq!(
        app.get("/jobs").await.body["jobs"].as_array().map(Vec::len),
        Some(0),
        "nothing half-created"
    );

    let accepted = app
        .post_json("/processes/Sellar1/batch", &json!({"inputs": inputs}))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let ids: Vec<String> = accepted.body["jobIDs"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 200);
    for (index, id) in ids.iter().enumerate().step_by(37) {
        assert_eq!(app.wait_for_job(id).await["status"], "successful");
        let results = app.get(&format!("/jobs/{id}/results")).await.body;
        let expected = app
            .execute("Sellar1", &json!({"inputs": inputs[index]}))
            .await
            .body;
        assert_eq!(results, expected, "job {index}");
    }
    for id in &ids {
        app.wait_for_job(id).await;
    }
    let page = app
        .get("/jobs?processID=Sellar1&status=successful&limit=150")
        .await
        .body;
    assert_eq!(page["jobs"].as_array().map(Vec::len), Some(150));
    let next = page["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|link| link["rel"] == "next")
        .expect("a next link");
    let rest = app.get(next["href"].as_str().expect("href")).await.body;
    assert_eq!(rest["jobs"].as_array().map(Vec::len), Some(50));
    assert_eq!(
        app.get("/jobs?status=running,accepted").await.body["jobs"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        app.get("/jobs?status=bogus").await.problem_slug(),
        "malformed-request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_refuses_submissions_whole() {
    let app = spawn_app_with(&["adversary"], |config| {
        config.execution.concurrency = 1;
        config.jobs.max_queued = 2;
    })
    .await;
    let running = app.submit_ok("Adversary", &spin_forever()).await;
    wait_until(&app, &running, "running").await;
    let three = json!({"inputs": [{"attack": "spin", "amount": [1.0]}, {"attack": "spin", "amount": [1.0]}, {"attack": "spin", "amount": [1.0]}]});
    let refused = app.post_json("/processes/Adversary/batch", &three).await;
    assert_eq!(refused.problem_slug(), "server-busy", "{refused:?}");
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(
        app.get("/jobs").await.body["jobs"].as_array().map(Vec::len),
        Some(1)
    );
    app.delete(&format!("/jobs/{running}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn higher_priority_jobs_start_first() {
    let app = one_worker().await;
    let blocker = app.submit_ok("Adversary", &spin_forever()).await;
    wait_until(&app, &blocker, "running").await;
    let low = app.submit_ok("Sellar1", &json!({"priority": 0})).await;
    let high = app.submit_ok("Sellar1", &json!({"priority": 10})).await;
    app.delete(&format!("/jobs/{blocker}")).await;
    let (low, high) = (app.wait_for_job(&low).await, app.wait_for_job(&high).await);
    assert!(
        high["started"].as_str() < low["started"].as_str(),
        "high {high} low {low}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn results_expire_after_the_retention_but_the_job_is_still_listed() {
    let app = spawn_app_with(&["sellar1"], |config| {
        config.jobs.retention = Duration::from_secs(2);
        config.jobs.gc_interval = Duration::from_millis(50);
    })
    .await;
    let id = app.submit_ok("Sellar1", &json!({})).await;
    app.wait_for_job(&id).await;
    assert_eq!(
        app.get(&format!("/jobs/{id}/results")).await.status,
        200,
        "not before the retention"
    );
    let started = Instant::now();
    let expired = loop {
        let results = app.get(&format!("/jobs/{id}/results")).await;
        if results.status != 200 {
            break results;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the results never expired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(expired.problem_slug(), "expired", "{expired:?}");
    assert_eq!(expired.status, 410);
    let job = app.get(&format!("/jobs/{id}")).await.body;
    assert_eq!(job["status"], "successful");
    assert!(job["expired"].is_string(), "{job}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_job_keeps_what_its_guest_printed_and_logged() {
    let app = spawn_app(&["adversary"]).await;
    let printing = app
        .submit_ok(
            "Adversary",
            &json!({"inputs": {"attack": "print", "amount": [1000.0]}}),
        )
        .await;
    let logging = app
        .submit_ok(
            "Adversary",
            &json!({"inputs": {"attack": "log", "amount": [2048.0]}}),
        )
        .await;
    app.wait_for_job(&printing).await;
    app.wait_for_job(&logging).await;
    let printed = app.get(&format!("/jobs/{printing}/logs")).await.body;
    assert_eq!(
        printed["stdout"].as_str().map(str::len),
        Some(1000),
        "{printed}"
    );
    let logged = app.get(&format!("/jobs/{logging}/logs")).await.body;
    let lines = logged["log"].as_array().expect("log lines");
    assert_eq!(lines.len(), 2, "{logged}");
    assert_eq!(lines[0]["level"], "info");
}

/// POSTs `body` to `path` and gives up after 30 s: far longer than a Sellar1 call takes, far
/// shorter than the 60 s deadline of the job it must not wait for.
async fn post_with_patience(app: &TestApp, path: &str, body: &Value) -> u16 {
    let reply = app
        .client
        .post(format!("{}{path}", app.address))
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await;
    reply.map_or(0, |reply| reply.status().as_u16())
}

#[tokio::test(flavor = "multi_thread")]
async fn synchronous_calls_are_answered_while_a_job_holds_every_shared_thread() {
    let app = one_worker().await;
    // As much fuel as a request may have: the job ends only at its deadline or its dismissal.
    let spin = json!({"inputs": {"attack": "spin", "amount": [-1.0]},
                      "limits": {"deadlineMs": 60000, "fuel": 10_000_000_000_000_u64}});
    let job = app.submit_ok("Adversary", &spin).await;
    wait_until(&app, &job, "running").await;
    let ogc = post_with_patience(&app, "/processes/Sellar1/execution", &json!({})).await;
    assert_eq!(ogc, 200, "the OGC call waited for the job");
    let gemseo_body = json!({"name": "S", "input_data": {}, "linearize": false});
    let gemseo = post_with_patience(
        &app,
        "/v1/discipline/Sellar1/execute?execution_mode=synchronous",
        &gemseo_body,
    )
    .await;
    assert_eq!(gemseo, 200, "the gemseo-http call waited for the job");
    let status = app.get(&format!("/jobs/{job}")).await.body["status"].clone();
    assert_eq!(status, "running", "the job was not holding its thread");
    app.delete(&format!("/jobs/{job}")).await;
}
