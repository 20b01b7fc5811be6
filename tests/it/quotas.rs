//! Quotas per user, each at and past its limit, and fair scheduling between users.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    Caller, MULTIPART, TestApp, body_of_channel, multipart_file, send, spawn_app_with,
};
use host::quotas::QuotaValues;

pub const ADMIN_TOKEN: &str = "quota-admin-token-0123456789abcdef0123456789";

/// A server with authentication on, and `alice_quota` for alice (bob has none).
async fn app_with_quota(alice_quota: QuotaValues) -> TestApp {
    spawn_app_with(&["adversary", "sellar1"], |config| {
        config.auth.mode = host::auth::AuthMode::Tokens;
        config.auth.bootstrap_token = Some(ADMIN_TOKEN.into());
        config.quotas.default = QuotaValues::default();
        config.quotas.users = BTreeMap::from([("alice".to_owned(), alice_quota)]);
    })
    .await
}

/// A user created by the administrator, logged in with a password.
pub async fn user(app: &TestApp, name: &str) -> Caller {
    let password = format!("password-of-{name}");
    let made = app
        .with_token(ADMIN_TOKEN)
        .post_json("/users", &json!({"name": name, "password": password}))
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let login = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("username", name), ("password", password.as_str())])
        .send()
        .await
        .expect("POST /token");
    let body: Value = login.json().await.expect("JSON");
    app.with_token(body["access_token"].as_str().expect("a token"))
}

fn spin_forever() -> Value {
    json!({"inputs": {"attack": "spin", "amount": [-1.0]}, "limits": {"deadlineMs": 60000}})
}

fn quota_of(reply: &crate::helpers::Reply) -> &str {
    assert_eq!(reply.status, 429, "{reply:?}");
    assert_eq!(reply.problem_slug(), "quota-exceeded");
    reply.body["quota"].as_str().expect("the quota's name")
}

#[tokio::test(flavor = "multi_thread")]
async fn running_and_queued_jobs_are_capped_per_user() {
    let app = app_with_quota(QuotaValues {
        max_running: Some(1),
        max_queued: Some(2),
        ..QuotaValues::default()
    })
    .await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bob").await);
    let mut jobs = vec![alice.submit_ok("Adversary", &spin_forever()).await];
    crate::helpers::eventually(&app, "/ready", "the first job running", |_, body| {
        body["jobs"]["running"] == 1
    })
    .await;
    for _ in 0..2 {
        jobs.push(alice.submit_ok("Adversary", &spin_forever()).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let running = alice.get("/jobs?status=running").await.body;
    assert_eq!(
        running["jobs"].as_array().map(Vec::len),
        Some(1),
        "one running: {running}"
    );
    let past = alice.submit("Adversary", &spin_forever()).await;
    assert_eq!(quota_of(&past), "max_queued", "two queued is the limit");
    let batch = alice
        .post_json("/processes/Sellar1/batch", &json!({"inputs": [{}, {}]}))
        .await;
    assert_eq!(quota_of(&batch), "max_queued");
    let others = bob.submit_ok("Sellar1", &json!({})).await;
    assert_eq!(
        bob.wait_for_job(&others).await["status"],
        "successful",
        "bob has no quota"
    );
    for job in jobs {
        alice.delete(&format!("/jobs/{job}")).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fuel_memory_and_storage_are_capped_per_user() {
    let app = app_with_quota(QuotaValues {
        max_fuel: Some(5_000_000_000),
        max_memory_bytes: Some(32 << 20),
        max_workspace_bytes: Some(1),
        ..QuotaValues::default()
    })
    .await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bob").await);
    let asking = |fuel: u64, memory: u64| json!({"inputs": {}, "limits": {"fuel": fuel, "memoryBytes": memory}});
    let at_limit = alice
        .execute("Sellar1", &asking(5_000_000_000, 32 << 20))
        .await;
    assert_eq!(at_limit.status, 200, "{at_limit:?}");
    let fuel = alice
        .execute("Sellar1", &asking(5_000_000_001, 32 << 20))
        .await;
    assert_eq!(quota_of(&fuel), "max_fuel");
    let memory = alice
        .execute("Sellar1", &asking(5_000_000_000, (32 << 20) + 1))
        .await;
    assert_eq!(quota_of(&memory), "max_memory_bytes");
    // Past the storage quota (below the server's maximum): the quota is named, not the maximum.
    let workspace = alice
        .execute(
            "Sellar1",
            &json!({"inputs": {}, "limits": {"workspaceBytes": 2}}),
        )
        .await;
    assert_eq!(quota_of(&workspace), "max_workspace_bytes", "{workspace:?}");
    assert_eq!(
        bob.execute("Sellar1", &asking(6_000_000_000, 64 << 20))
            .await
            .status,
        200
    );

    let spin_past_quota = json!({"inputs": {"attack": "spin", "amount": [-1.0]}});
    let capped = alice.execute("Adversary", &spin_past_quota).await;
    assert_eq!(
        capped.problem_slug(),
        "out-of-fuel",
        "the default is narrowed to the quota"
    );
    assert_eq!(capped.body["fuelConsumed"], 5_000_000_000u64, "{capped:?}");

    let first = alice.submit_ok("Sellar1", &json!({})).await;
    assert_eq!(alice.wait_for_job(&first).await["status"], "successful");
    // Submissions read the user's storage at most every 100 ms.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stored = alice.submit("Sellar1", &json!({})).await;
    assert_eq!(
        quota_of(&stored),
        "max_workspace_bytes",
        "its results count"
    );
    assert_eq!(alice.delete(&format!("/jobs/{first}")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_users_thousands_of_jobs_do_not_starve_another_users_single_job() {
    let app = app_with_quota(QuotaValues::default()).await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bob").await);
    let many: Vec<Value> = (0..2000)
        .map(|_| json!({"attack": "spin", "amount": [400_000_000.0]}))
        .collect();
    let batch = alice
        .post_json("/processes/Adversary/batch", &json!({"inputs": many}))
        .await;
    assert_eq!(batch.status, 201, "{batch:?}");
    // Long enough for the scheduler to time alice's jobs.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let single = bob.submit_ok("Sellar1", &json!({})).await;
    let done = bob.wait_for_job(&single).await;
    assert_eq!(done["status"], "successful");
    let alice_queued = alice.get("/jobs?status=accepted&limit=1000").await.body;
    let still_queued = alice_queued["jobs"].as_array().map_or(0, Vec::len);
    assert!(
        still_queued >= 1000,
        "bob's job ran while alice still had {still_queued} queued"
    );
    // Counted, not timed. Alice's jobs take tens of milliseconds, too long to be claimed ahead:
    // bob's job is claimed as soon as one of her two running jobs ends (he runs none, she
    // runs one), so it waits for those two at most, and one more of hers may run beside it.
    let ran_meanwhile = finished_between(&alice, &done["created"], &done["finished"]).await;
    assert!(
        ran_meanwhile <= 3,
        "{ran_meanwhile} of alice's jobs ran while bob's waited"
    );
    let admin = app.with_token(ADMIN_TOKEN);
    let ids: Vec<String> = batch.body["jobIDs"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    for id in ids.iter().rev().take(50) {
        admin.delete(&format!("/jobs/{id}")).await;
    }
}

/// How many of `caller`'s successful jobs finished after `after` and before `before` (RFC 3339
/// times with microseconds in UTC, which compare as strings).
async fn finished_between(caller: &Caller, after: &Value, before: &Value) -> usize {
    let (Some(after), Some(before)) = (after.as_str(), before.as_str()) else {
        panic!("not times: {after} and {before}");
    };
    let listed = caller.get("/jobs?status=successful&limit=1000").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let jobs = listed.body["jobs"].as_array().expect("jobs").clone();
    jobs.iter()
        .filter_map(|job| job["finished"].as_str())
        .filter(|finished| *finished > after && *finished < before)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_count_toward_the_storage_quota() {
    let app = app_with_quota(QuotaValues {
        max_workspace_bytes: Some(100_000),
        ..QuotaValues::default()
    })
    .await;
    let alice = user(&app, "alice").await;
    let bob = user(&app, "bob").await;
    let upload = |caller: &Caller, bytes: usize| {
        let caller = caller.clone();
        async move {
            caller
                .post_raw(
                    "/files?name=data.bin",
                    "application/octet-stream",
                    vec![1; bytes],
                )
                .await
        }
    };
    let first = upload(&alice, 60_000).await;
    assert_eq!(first.status, 201, "{first:?}");
    // Past the room left, the upload is refused and nothing of it kept.
    let second = upload(&alice, 60_000).await;
    assert_eq!(quota_of(&second), "max_workspace_bytes", "{second:?}");
    let fits = upload(&alice, 30_000).await;
    assert_eq!(fits.status, 201, "{fits:?}");
    // A multipart submission's files count too.
    let form = multipart_file("data", "more.bin", &[1; 20_000]);
    let multipart = alice
        .post_raw("/processes/Sellar1/execution", MULTIPART, form)
        .await;
    assert_eq!(quota_of(&multipart), "max_workspace_bytes", "{multipart:?}");
    let last = upload(&alice, 10_000).await;
    assert_eq!(last.status, 201, "{last:?}");
    // The quota is full: uploads and new jobs are refused; another user is not.
    assert_eq!(quota_of(&upload(&alice, 1).await), "max_workspace_bytes");
    let job = alice.submit("Sellar1", &json!({})).await;
    assert_eq!(quota_of(&job), "max_workspace_bytes", "{job:?}");
    let chunk = multipart_file("files", "c.bin", &[1; 100]);
    let gemseo = alice.post_raw("/v1/file/upload", MULTIPART, chunk).await;
    assert_eq!(quota_of(&gemseo), "max_workspace_bytes", "{gemseo:?}");
    assert_eq!(upload(&bob, 60_000).await.status, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disk_short_of_its_reserve_refuses_uploads_and_jobs_and_keeps_serving_reads() {
    let app = spawn_app_with(&["sellar1"], |config| {
        config.jobs.min_free_disk_bytes = u64::MAX;
    })
    .await;
    let upload = app
        .post_raw("/files?name=a.bin", "application/octet-stream", vec![1; 10])
        .await;
    assert_eq!(upload.problem_slug(), "storage-full", "{upload:?}");
    assert!(upload.headers.contains_key("retry-after"));
    let job = app.submit("Sellar1", &json!({})).await;
    assert_eq!(job.problem_slug(), "storage-full", "{job:?}");
    let gemseo = app
        .post_json("/v1/discipline/Sellar1/execute", &json!({"input_data": {}}))
        .await;
    assert_eq!(gemseo.problem_slug(), "storage-full", "{gemseo:?}");
    assert_eq!(app.get("/processes").await.status, 200);
    assert_eq!(app.get("/jobs").await.status, 200);
    // A synchronous OGC execution stores nothing, so it still runs.
    assert_eq!(app.execute("Sellar1", &json!({})).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_side_by_side_never_pass_the_storage_quota_together() {
    let app = app_with_quota(QuotaValues {
        max_workspace_bytes: Some(100_000),
        ..QuotaValues::default()
    })
    .await;
    let alice = user(&app, "alice").await;
    // Four uploads of 40 000 bytes, each sending half, then the rest once all have begun.
    let mut rests = Vec::new();
    let mut replies = Vec::new();
    for _ in 0..4 {
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        sender.send(Ok(vec![1; 20_000])).await.expect("queued");
        let request = alice
            .client
            .post(format!("{}/files?name=half.bin", alice.address))
            .body(body_of_channel(receiver));
        replies.push(tokio::spawn(send(request)));
        rests.push(sender);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for rest in rests {
        rest.send(Ok(vec![1; 20_000])).await.expect("queued");
    }
    let mut kept = 0;
    for reply in replies {
        let reply = reply.await.expect("an answer");
        if reply.status == 201 {
            kept += 1;
        } else {
            assert_eq!(quota_of(&reply), "max_workspace_bytes", "{reply:?}");
        }
    }
    assert!(
        (1..=2).contains(&kept),
        "{kept} uploads of 40 000 bytes kept"
    );
}
