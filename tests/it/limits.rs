//! Every sandbox limit as a pair: a guest within it succeeds, a guest past it gets its exact
//! error; after each, the server answers and a concurrent benign execution is unaffected.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with};

/// What a case expects: success (with text the report must contain), or a problem type.
enum Expect {
    Succeeds {
        report_contains: &'static str,
    },
    Fails {
        slug: &'static str,
        detail_contains: &'static str,
    },
}

struct Case {
    attack: &'static str,
    amount: f64,
    path: &'static str,
    limits: Value,
    expect: Expect,
}

fn case(attack: &'static str, amount: f64, limits: Value, expect: Expect) -> Case {
    Case {
        attack,
        amount,
        path: "",
        limits,
        expect,
    }
}

const fn ok(report_contains: &'static str) -> Expect {
    Expect::Succeeds { report_contains }
}

const fn fails(slug: &'static str, detail_contains: &'static str) -> Expect {
    Expect::Fails {
        slug,
        detail_contains,
    }
}

/// The pairs that need no special server set-up (the test server's caps: 64 MiB memory by
/// default, 64 KiB of stdout/stderr/log, 1 MiB of outputs).
fn cases() -> Vec<Case> {
    let none = json!({});
    vec![
        case("spin", 1e6, json!({"fuel": 1_000_000_000u64}), ok("")),
        case(
            "spin",
            -1.0,
            json!({"fuel": 100_000_000u64}),
            fails("out-of-fuel", "fuel"),
        ),
        case(
            "allocate",
            16.0,
            json!({"memoryBytes": 64u64 << 20}),
            ok(""),
        ),
        case(
            "allocate",
            128.0,
            json!({"memoryBytes": 64u64 << 20}),
            fails("memory-limit", "memory limit"),
        ),
        case("recurse", 1000.0, none.clone(), ok("")),
        case(
            "recurse",
            1e7,
            none.clone(),
            fails("stack-overflow", "stack"),
        ),
        case("panic", 0.0, none.clone(), ok("did not panic")),
        case(
            "panic",
            1.0,
            none.clone(),
            fails("guest-crashed", "adversary panicked on purpose"),
        ),
        case("print", 1000.0, none.clone(), ok("ok")),
        case(
            "print",
            1e6,
            none.clone(),
            fails("output-too-large", "stdout"),
        ),
        case("print-stderr", 1000.0, none.clone(), ok("")),
        case(
            "print-stderr",
            1e6,
            none.clone(),
            fails("output-too-large", "stderr"),
        ),
        case("output", 1000.0, none.clone(), ok("")),
        case(
            "output",
            4e6,
            none.clone(),
            fails("output-too-large", "outputs"),
        ),
        case("progress", 1000.0, none.clone(), ok("")),
        case("log", 1000.0, none.clone(), ok("logged 1000 bytes")),
        case("log", 1e6, none.clone(), fails("output-too-large", "log")),
        case("fail", 0.0, none.clone(), ok("did not fail")),
        case(
            "fail",
            1.0,
            none.clone(),
            fails("guest-error", "adversary failed on purpose"),
        ),
        case("environment", 0.0, none.clone(), ok("")),
        case("sleep", 10.0, none.clone(), ok("slept 10 ms")),
        case(
            "sleep",
            600_000.0,
            json!({"deadlineMs": 300}),
            fails("deadline-exceeded", "300 ms"),
        ),
        case(
            "open-files",
            10.0,
            none.clone(),
            ok("opened 10 descriptors"),
        ),
        case(
            "open-files",
            100_000.0,
            none.clone(),
            fails("descriptor-limit", "descriptors"),
        ),
        case("write-bytes", 1e6, none.clone(), ok("wrote 1000000 bytes")),
        case(
            "write-bytes",
            1e9,
            json!({"workspaceBytes": 8u64 << 20}),
            fails("workspace-limit", "8388608 bytes of disk"),
        ),
        case("write-files", 100.0, none.clone(), ok("made 100 files")),
        case(
            "write-files",
            200_000.0,
            json!({"workspaceFiles": 1000}),
            fails("workspace-limit", "1000 entries"),
        ),
        // A terabyte that holds nothing counts as nothing: the caps are on disk used.
        case(
            "sparse-file",
            1_099_511_627_776.0,
            none.clone(),
            ok("sparse"),
        ),
        case("nest-dirs", 10.0, none.clone(), ok("nested 10 directories")),
        case(
            "nest-dirs",
            16_000.0,
            none,
            fails("workspace-limit", "levels of directories"),
        ),
    ]
}

async fn run_case(app: &TestApp, case: &Case) -> Reply {
    let body = json!({
        "inputs": {"attack": case.attack, "amount": [case.amount], "path": case.path},
        "limits": case.limits,
    });
    app.execute("Adversary", &body).await
}

fn check(case: &Case, reply: &Reply) {
    let label = format!("{} {} {:?}", case.attack, case.amount, case.path);
    match case.expect {
        Expect::Succeeds { report_contains } => {
            assert_eq!(reply.status, 200, "{label}: {reply:?}");
            let report = reply.body["report"].as_str().expect("a report");
            assert!(report.contains(report_contains), "{label}: {report}");
        }
        Expect::Fails {
            slug,
            detail_contains,
        } => {
            assert_eq!(reply.problem_slug(), slug, "{label}: {reply:?}");
            let detail = reply.body["detail"].as_str().expect("detail");
            assert!(detail.contains(detail_contains), "{label}: {detail}");
        }
    }
}

/// Sellar1 at its defaults, which must be unaffected by whatever runs beside it.
async fn benign(app: &TestApp) {
    let reply = app.execute("Sellar1", &json!({})).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["y_1"], json!([0.8944271909999159]));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_limit_holds_and_nothing_else_notices() {
    let app = spawn_app(&["adversary", "sellar1"]).await;
    for case in cases() {
        let (reply, ()) = tokio::join!(run_case(&app, &case), benign(&app));
        check(&case, &reply);
        assert_eq!(app.get("/health").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_stops_an_infinite_loop_when_fuel_is_off() {
    let app = spawn_app_with(&["adversary", "sellar1"], |config| {
        config.sandbox.fuel_metering = false
    })
    .await;
    let within = case("spin", 1e6, json!({"deadlineMs": 5000}), ok(""));
    check(&within, &run_case(&app, &within).await);
    assert!(
        run_case(&app, &within)
            .await
            .headers
            .get("x-fuel-consumed")
            .is_none()
    );
    let past = case(
        "spin",
        -1.0,
        json!({"deadlineMs": 200}),
        fails("deadline-exceeded", "200 ms"),
    );
    let started = std::time::Instant::now();
    let (reply, ()) = tokio::join!(run_case(&app, &past), benign(&app));
    check(&past, &reply);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "stopped promptly"
    );
}

/// A guest waiting in a host call runs no wasm, so no epoch tick can stop it: cancelling its
/// job must still free its guest thread at once (here the server's only one).
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_asleep_in_a_host_call_is_stopped_by_cancellation() {
    let app = spawn_app_with(&["adversary", "sellar1"], |config| {
        // One guest thread in all: the synchronous call below needs the sleeper's.
        config.execution.concurrency = 1;
        config.execution.sync_reserved = 0;
        config.limits.default.deadline = std::time::Duration::from_secs(3600);
    })
    .await;
    let sleeper = json!({"inputs": {"attack": "sleep", "amount": [3_600_000.0], "path": ""}});
    let id = app.submit_ok("Adversary", &sleeper).await;
    crate::helpers::eventually(&app, &format!("/jobs/{id}"), "the job running", |_, job| {
        job["status"] == "running"
    })
    .await;
    assert_eq!(app.delete(&format!("/jobs/{id}")).await.status, 200);
    benign(&app).await;
    let job = app.wait_for_job(&id).await;
    assert_eq!(job["status"], "dismissed", "{job}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guest_sees_no_environment_arguments_or_network() {
    let app = spawn_app(&["adversary"]).await;
    let environment = run_case(&app, &case("environment", 0.0, json!({}), ok(""))).await;
    let report = environment.body["report"].as_str().expect("report");
    assert!(report.contains("env: []"), "{report}");
    assert!(report.contains("args: []"), "{report}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener to aim at");
    let target = listener.local_addr().expect("address").to_string();
    let body = json!({"inputs": {"attack": "connect", "amount": [0.0], "path": target}});
    let connect = app.execute("Adversary", &body).await;
    assert_eq!(connect.status, 200, "{connect:?}");
    let report = connect.body["report"].as_str().expect("report");
    assert!(report.contains("error"), "connecting must fail: {report}");
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(listener.accept().is_err(), "nothing reached the listener");
}

async fn file_attack(app: &TestApp, attack: &str, path: &str) -> String {
    let body = json!({"inputs": {"attack": attack, "amount": [0.0], "path": path}});
    let reply = app.execute("Adversary", &body).await;
    assert_eq!(reply.status, 200, "{attack} {path}: {reply:?}");
    reply.body["report"].as_str().expect("report").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_cannot_leave_its_workspace() {
    let app = spawn_app(&["adversary"]).await;
    let workspaces = app.data_dir.path().join("workspaces");
    std::fs::write(workspaces.join("secret"), "host secret").expect("plant a secret");
    std::fs::write(app.data_dir.path().join("secret"), "host secret").expect("plant a secret");

    let inside = file_attack(&app, "write-file", "inside.txt").await;
    assert!(
        inside.contains("ok"),
        "writing inside the workspace works: {inside}"
    );
    for path in ["../secret", "../../secret", "/etc/passwd", "/../secret"] {
        let read = file_attack(&app, "read-file", path).await;
        assert!(
            !read.contains("host secret") && !read.contains("root:"),
            "{path}: {read}"
        );
    }
    for path in ["../escaped.txt", "../../escaped.txt", "/../escaped.txt"] {
        let written = file_attack(&app, "write-file", path).await;
        assert!(
            !workspaces.join("escaped.txt").exists(),
            "{path}: {written}"
        );
        assert!(
            !app.data_dir.path().join("escaped.txt").exists(),
            "{path}: {written}"
        );
    }
    let linked_inside = file_attack(&app, "symlink", "inside.txt").await;
    assert!(
        linked_inside.contains("inside"),
        "a link within the workspace works: {linked_inside}"
    );
    for target in ["../secret", "../../secret", "/etc/passwd"] {
        let through_link = file_attack(&app, "symlink", target).await;
        assert!(
            !through_link.contains("host secret") && !through_link.contains("root:"),
            "{target}: {through_link}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(workspaces.join("secret")).expect("still there"),
        "host secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_attack_of_the_adversary_is_tested() {
    let app = spawn_app(&["adversary"]).await;
    let description = app.get("/processes/Adversary").await;
    let attacks: BTreeSet<String> = description.body["inputSchema"]["properties"]["attack"]["enum"]
        .as_array()
        .or_else(|| description.body["inputSchema"]["definitions"]["Attack"]["enum"].as_array())
        .expect("the attacks are an enum")
        .iter()
        .map(|attack| attack.as_str().expect("a name").to_owned())
        .collect();
    let mut tested: BTreeSet<String> = cases().iter().map(|case| case.attack.to_owned()).collect();
    tested.extend(["connect", "read-file", "write-file", "symlink"].map(String::from));
    assert_eq!(
        attacks, tested,
        "an attack without a test, or a test without an attack"
    );
}
