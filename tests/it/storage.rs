//! Storage accounting between users: a sparse file counts for the blocks it uses, not its
//! length, and one user's usage never expires another user's results.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Caller, TestApp, attack, spawn_app_with};
use crate::quotas::{ADMIN_TOKEN, user};
use host::config::Config;
use host::quotas::QuotaValues;

const TEBIBYTE: f64 = 1_099_511_627_776.0;

/// A server with authentication on, Alice's quota, and `adjust` applied.
async fn app(alice_quota: QuotaValues, adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(&["adversary", "sellar1"], |config| {
        config.auth.mode = host::auth::AuthMode::Tokens;
        config.auth.bootstrap_token = Some(ADMIN_TOKEN.into());
        config.quotas.default = QuotaValues::default();
        config.quotas.users = BTreeMap::from([("alice".to_owned(), alice_quota)]);
        adjust(config);
    })
    .await
}

/// Runs one job to success and returns its id.
async fn run_job(caller: &Caller, process: &str, body: &Value) -> String {
    let id = caller.submit_ok(process, body).await;
    assert_eq!(caller.wait_for_job(&id).await["status"], "successful");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sparse_terabyte_counts_for_the_blocks_it_uses() {
    let quota = QuotaValues {
        max_workspace_bytes: Some(1 << 30),
        ..QuotaValues::default()
    };
    let app = app(quota, |_| {}).await;
    let alice = user(&app, "alice").await;
    run_job(&alice, "Adversary", &attack("sparse-file", TEBIBYTE)).await;
    // Submissions read the user's storage at most every 100 ms.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let next = alice.submit("Sellar1", &json!({})).await;
    assert_eq!(next.status, 201, "counted past a 1 GiB quota: {next:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_users_storage_never_expires_another_users_results() {
    let app = app(QuotaValues::default(), |config| {
        config.jobs.max_result_bytes = 1 << 20;
        config.jobs.gc_interval = Duration::from_millis(50);
    })
    .await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bob").await);
    let bobs = run_job(&bob, "Sellar1", &json!({})).await;
    run_job(&alice, "Adversary", &attack("sparse-file", TEBIBYTE)).await;
    // Two MiB really written: Alice alone passes the 1 MiB cap, and a collection must act.
    let heavy = run_job(&alice, "Adversary", &attack("write-bytes", 2.0 * 1048576.0)).await;
    let started = Instant::now();
    while alice.get(&format!("/jobs/{heavy}/results")).await.status != 410 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Alice's results past the cap never expired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let results = bob.get(&format!("/jobs/{bobs}/results")).await;
    assert_eq!(results.status, 200, "Bob's results expired: {results:?}");
}
