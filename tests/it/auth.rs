//! Authentication and isolation: bearer tokens on every call but the public ones, password
//! logins, expiry and revocation, roles, and every job and file visible to its owner only.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{BINARY, Caller, TestApp, guest, spawn_app_with, wait_until_ready};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef0123456789";

/// A server with authentication on, whose first administrator holds `ADMIN_TOKEN`.
async fn secured_app(guests: &[&str]) -> TestApp {
    spawn_app_with(guests, |config| {
        config.auth.mode = host::auth::AuthMode::Tokens;
        config.auth.bootstrap_token = Some(ADMIN_TOKEN.into());
        config.auth.max_failed_logins = 3;
    })
    .await
}

/// Creates a user with a password (as the administrator) and logs in: their caller.
async fn user(app: &TestApp, name: &str) -> Caller {
    let admin = app.with_token(ADMIN_TOKEN);
    let created = admin
        .post_json(
            "/users",
            &json!({"name": name, "password": password_of(name)}),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let token = login(app, name, &password_of(name)).await;
    assert_eq!(token.status(), 200);
    let body: Value = token.json().await.expect("JSON");
    assert_eq!(body["token_type"], "bearer");
    app.with_token(body["access_token"].as_str().expect("a token"))
}

fn password_of(name: &str) -> String {
    format!("password-of-{name}")
}

async fn login(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "password"),
            ("username", name),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /token")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_but_the_public_ones_needs_a_valid_token() {
    let app = secured_app(&["sellar1"]).await;
    for public in [
        "/",
        "/conformance",
        "/health",
        "/ready",
        "/problems/unauthorized",
    ] {
        assert_eq!(app.get(public).await.status, 200, "{public}");
    }
    for protected in [
        "/processes",
        "/processes/Sellar1",
        "/jobs",
        "/modules",
        "/users/me",
    ] {
        let anonymous = app.get(protected).await;
        assert_eq!(anonymous.status, 401, "{protected}: {anonymous:?}");
        assert_eq!(anonymous.problem_slug(), "unauthorized");
        assert_eq!(anonymous.headers["www-authenticate"], "Bearer");
        let forged = app.with_token("dsc_forged").get(protected).await;
        assert_eq!(forged.status, 401, "{protected}: {forged:?}");
    }
    let admin = app.with_token(ADMIN_TOKEN);
    assert_eq!(admin.get("/processes/Sellar1").await.status, 200);
    let me = admin.get("/users/me").await.body;
    assert_eq!(me, json!({"name": "admin", "role": "admin"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_login_gives_a_bearer_token_and_failures_are_limited() {
    let app = secured_app(&[]).await;
    let alice = user(&app, "alice").await;
    assert_eq!(
        alice.get("/users/me").await.body,
        json!({"name": "alice", "role": "user"})
    );
    let wrong = login(&app, "alice", "not her password").await;
    assert_eq!(wrong.status(), 401);
    let problem: Value = wrong.json().await.expect("JSON");
    assert_eq!(problem["error"], "invalid_grant");
    let other_grant = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("username", "alice"),
            ("password", "x"),
        ])
        .send()
        .await
        .expect("POST /token");
    assert_eq!(other_grant.status(), 400, "only the password grant");
    let short = app
        .with_token(ADMIN_TOKEN)
        .post_json("/users", &json!({"name": "carl", "password": "short"}))
        .await;
    assert_eq!(short.status, 400, "{short:?}");
    assert_eq!(short.body["pointer"], "/password");
    let nobody = login(&app, "nobody", "whatever-password").await;
    assert_eq!(nobody.status(), 401, "an unknown name fails the same way");
    for _ in 0..2 {
        login(&app, "alice", "not her password").await;
    }
    let locked = login(&app, "alice", &password_of("alice")).await;
    assert_eq!(
        locked.status(),
        429,
        "locked out even with the right password"
    );
    assert!(locked.headers().contains_key("retry-after"));
    let elsewhere = login_from(&app, "127.0.0.2", "alice", &password_of("alice")).await;
    assert_eq!(
        elsewhere.status(),
        200,
        "guesses from one address do not lock the owner out of another"
    );
}

/// `POST /token` from a client bound to the loopback address `local`.
async fn login_from(app: &TestApp, local: &str, name: &str, password: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(local.parse::<std::net::IpAddr>().expect("an address"))
        .build()
        .expect("a client");
    client
        .post(format!("{}/token", app.address))
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .expect("POST /token")
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_are_counted_before_they_are_checked() {
    let app = secured_app(&[]).await;
    user(&app, "alice").await;
    let guesses = (0..200).map(|index| {
        let app = &app;
        async move {
            login(app, "alice", &format!("guess-number-{index}"))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = checked_of(&statuses);
    assert!(
        checked <= 3,
        "{checked} of 200 simultaneous guesses were checked; the limit is 3"
    );
}

/// How many logins had their password checked (401), asserting that the others were refused
/// before (429 locked out, 503 too many checks at once).
fn checked_of(statuses: &[reqwest::StatusCode]) -> usize {
    assert!(
        statuses
            .iter()
            .all(|status| [401, 429, 503].contains(&status.as_u16())),
        "{statuses:?}"
    );
    statuses.iter().filter(|status| **status == 401).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_logins_is_turned_away_and_other_callers_are_served() {
    let app = secured_app(&[]).await;
    let alice = user(&app, "alice").await;
    let flood = (0..1000).map(|index| {
        let app = &app;
        async move {
            login(app, &format!("nobody{index}"), "whatever-password")
                .await
                .status()
        }
    });
    let (statuses, me) = tokio::join!(
        futures_util::future::join_all(flood),
        alice.get("/users/me")
    );
    assert_eq!(
        me.status, 200,
        "an authenticated call is served during the flood"
    );
    let checked = checked_of(&statuses);
    assert!(
        checked <= 3 * host::auth::ADDRESS_FACTOR as usize,
        "{checked} checks from one address: past its limit over all names"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_expire_and_a_revoked_token_stops_working_at_once() {
    let app = secured_app(&[]).await;
    let alice = user(&app, "alice").await;
    let short = alice
        .post_json("/tokens", &json!({"label": "ci", "expiresIn": 1}))
        .await;
    assert_eq!(short.status, 201, "{short:?}");
    let short_lived = app.with_token(short.body["token"].as_str().expect("token"));
    assert_eq!(short_lived.get("/users/me").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(short_lived.get("/users/me").await.status, 401, "expired");

    let long = alice
        .post_json("/tokens", &json!({"label": "laptop"}))
        .await;
    let laptop = app.with_token(long.body["token"].as_str().expect("token"));
    assert_eq!(laptop.get("/users/me").await.status, 200);
    let listed = alice.get("/tokens").await.body;
    let labels: Vec<&str> = listed["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|token| token["label"].as_str())
        .collect();
    assert!(
        labels.contains(&"laptop") && labels.contains(&"ci"),
        "{listed}"
    );
    assert!(
        !listed.to_string().contains("dsc_"),
        "no secret is ever listed"
    );
    let id = long.body["id"].as_str().expect("id");
    let bob = user(&app, "bob").await;
    let stolen = bob.delete(&format!("/tokens/{id}")).await;
    assert_eq!(
        stolen.problem_slug(),
        "no-such-token",
        "bob cannot revoke alice's token"
    );
    assert_eq!(alice.delete(&format!("/tokens/{id}")).await.status, 204);
    assert_eq!(laptop.get("/users/me").await.status, 401, "revoked");
    assert_eq!(
        alice.delete("/tokens/xyz").await.problem_slug(),
        "no-such-token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_lifetime_is_from_one_second_to_ten_years() {
    let app = secured_app(&[]).await;
    let alice = user(&app, "alice").await;
    for seconds in [
        json!(0),
        json!(315_576_001u64),
        json!(u64::MAX),
        json!(-1),
        json!(1.5),
    ] {
        let refused = alice
            .post_json("/tokens", &json!({"expiresIn": seconds}))
            .await;
        assert_eq!(
            refused.problem_slug(),
            "malformed-request",
            "{seconds}: {refused:?}"
        );
    }
    let longest = alice
        .post_json("/tokens", &json!({"expiresIn": 315_576_000u64}))
        .await;
    assert_eq!(longest.status, 201, "{longest:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_administrators_deploy_undeploy_and_manage_users() {
    let app = secured_app(&["sellar1"]).await;
    let alice = user(&app, "alice").await;
    let module = std::fs::read(guest("rosenbrock")).expect("read");
    let refused = [
        alice
            .post_raw("/processes", "application/wasm", module.clone())
            .await,
        alice
            .put_raw("/processes/Sellar1", "application/wasm", module.clone())
            .await,
        alice.delete("/processes/Sellar1").await,
        alice.get("/users").await,
        alice.post_json("/users", &json!({"name": "mallory"})).await,
        alice.delete("/users/admin").await,
    ];
    for reply in refused {
        assert_eq!(reply.status, 403, "{reply:?}");
        assert_eq!(reply.problem_slug(), "forbidden");
    }
    assert_eq!(
        alice.get("/processes/Sellar1").await.status,
        200,
        "nothing changed"
    );
    let admin = app.with_token(ADMIN_TOKEN);
    assert_eq!(
        admin
            .post_raw("/processes", "application/wasm", module)
            .await
            .status,
        201
    );
    let last = admin.delete("/users/admin").await;
    assert_eq!(last.status, 400, "the only administrator stays: {last:?}");
    assert_eq!(admin.get("/users/me").await.status, 200);
    assert_eq!(admin.delete("/users/alice").await.status, 204);
    assert_eq!(
        alice.get("/users/me").await.status,
        401,
        "a removed user's tokens die with them"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_jobs_and_files_do_not_exist_for_them() {
    let app = secured_app(&["sellar1", "csv_column_statistics"]).await;
    let (alice, bob) = (user(&app, "alice").await, user(&app, "bob").await);
    let upload = alice
        .post_raw(
            "/files?name=data.csv",
            "text/csv",
            b"a,b\n1,2\n3,4\n".to_vec(),
        )
        .await;
    let file = upload.body["fileID"].as_str().expect("file id").to_owned();
    let job = alice
        .submit_ok(
            "CsvColumnStatistics",
            &json!({"inputs": {"file_name": "data.csv"}, "files": {"data.csv": file}}),
        )
        .await;
    let done = alice.wait_for_job(&job).await;
    assert_eq!(done["status"], "successful", "{done}");
    let listing = alice.get(&format!("/jobs/{job}/files")).await.body;
    let some_file = listing["files"][0]["path"]
        .as_str()
        .expect("a file")
        .to_owned();

    let reads = [
        format!("/jobs/{job}"),
        format!("/jobs/{job}?wait=1"),
        format!("/jobs/{job}/results"),
        format!("/jobs/{job}/logs"),
        format!("/jobs/{job}/events"),
        format!("/jobs/{job}/files"),
        format!("/jobs/{job}/files/{some_file}"),
        format!("/files/{file}"),
    ];
    for path in &reads {
        let theirs = bob.get(path).await;
        assert_eq!(theirs.status, 404, "{path}: {theirs:?}");
        assert_eq!(alice.get(path).await.status, 200, "{path} is alice's");
    }
    assert_eq!(bob.delete(&format!("/jobs/{job}")).await.status, 404);
    assert_eq!(
        alice.get(&format!("/jobs/{job}")).await.body["status"],
        "successful"
    );
    let borrowed = bob
        .submit(
            "CsvColumnStatistics",
            &json!({"inputs": {"file_name": "data.csv"}, "files": {"data.csv": file}}),
        )
        .await;
    assert_eq!(
        borrowed.status, 400,
        "bob cannot use alice's upload: {borrowed:?}"
    );

    let bobs_job = bob.submit_ok("Sellar1", &json!({})).await;
    let ids = |list: &Value| -> Vec<String> {
        list["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .filter_map(|job| job["jobID"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        ids(&bob.get("/jobs").await.body),
        std::slice::from_ref(&bobs_job)
    );
    assert_eq!(
        ids(&alice.get("/jobs").await.body),
        std::slice::from_ref(&job)
    );
    let everything = ids(&app.with_token(ADMIN_TOKEN).get("/jobs").await.body);
    assert!(
        everything.contains(&job) && everything.contains(&bobs_job),
        "{everything:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_run_prints_an_administrator_token_once_and_the_cli_manages_users() {
    let modules = tempfile::tempdir().expect("modules");
    let data = tempfile::tempdir().expect("data");
    let data_dir = data.path().display().to_string();
    let (mut server, mut lines, address) = serve(&data_dir, modules.path()).await;
    let announced = lines.next().expect("a line").expect("text");
    let token = announced.rsplit(' ').next().expect("the token").to_owned();
    assert!(token.starts_with("dsc_"), "{announced}");
    let admin = Caller {
        address: address.clone(),
        client: reqwest::Client::new(),
    };
    let me = admin
        .client
        .get(format!("{address}/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(me.status(), 200);

    let added = admin_command(
        &data_dir,
        &["users", "add", "carol", "--password-stdin"],
        "carol-password\n",
    );
    assert!(added.status.success(), "{added:?}");
    let created = admin_command(
        &data_dir,
        &["tokens", "create", "carol", "--label", "cli"],
        "",
    );
    assert!(created.status.success(), "{created:?}");
    let carol_token = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let whoami = admin
        .client
        .get(format!("{address}/users/me"))
        .bearer_auth(&carol_token)
        .send()
        .await
        .expect("GET");
    assert_eq!(whoami.json::<Value>().await.expect("JSON")["name"], "carol");
    let listed = admin_command(&data_dir, &["users", "list"], "");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("admin\tadmin") && text.contains("carol\tuser\tpassword"),
        "{text}"
    );
    let duplicate = admin_command(&data_dir, &["users", "add", "carol"], "");
    assert!(!duplicate.status.success());
    assert_eq!(
        String::from_utf8_lossy(&duplicate.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
    let last_admin = admin_command(&data_dir, &["users", "remove", "admin"], "");
    let refusal = String::from_utf8_lossy(&last_admin.stderr);
    assert!(
        !last_admin.status.success() && refusal.contains("only administrator"),
        "{refusal}"
    );

    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
    let (mut again, second, _) = serve(&data_dir, modules.path()).await;
    let _ = Command::new("kill").arg(again.id().to_string()).status();
    let rest: Vec<String> = second.map_while(Result::ok).collect();
    let _ = again.wait();
    assert!(
        rest.iter().all(|line| !line.contains("dsc_")),
        "the token is shown on the first run only: {rest:?}"
    );
}

fn admin_command(data_dir: &str, arguments: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BINARY)
        .args(arguments)
        .args(["--data-dir", data_dir])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    child.wait_with_output().expect("output")
}

/// Starts the binary on a data directory, waits until it is ready, and returns it with its
/// remaining stdout lines and its address.
async fn serve(
    data_dir: &str,
    modules: &std::path::Path,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
    String,
) {
    let mut server = Command::new(BINARY)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir,
            "--modules-dir",
        ])
        .arg(modules)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("text");
    let address = first
        .strip_prefix("listening on ")
        .expect("the address")
        .to_owned();
    wait_until_ready(&address).await;
    (server, lines, address)
}
