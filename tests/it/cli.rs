//! The `disciplines` binary itself: it prints its address, serves, and exits cleanly on SIGTERM;
//! a bad configuration is one line on stderr and a non-zero exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{BINARY, body_of_channel, guest, one_error_line, wait_until_ready_blocking};

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_its_address_and_stops_cleanly_on_sigterm() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = tempfile::tempdir().expect("data dir");
    std::fs::copy(guest("sellar1"), modules.path().join("sellar1.wasm")).expect("copy");
    let (mut server, address) = start_server(modules.path(), data.path());

    let reply = reqwest::get(format!("{address}/processes/Sellar1"))
        .await
        .expect("GET");
    assert_eq!(reply.status(), 200);

    stop_cleanly(&mut server);
}

#[test]
fn a_bad_configuration_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[limits.default]\nfuel = \"lots\"\n").expect("write");
    let output = Command::new(BINARY)
        .args(["config", "--config"])
        .arg(&file)
        .output()
        .expect("runs");
    let error = one_error_line(&output);
    assert!(error.contains("fuel"), "{error}");
}

#[test]
fn the_clients_variables_leave_the_servers_configuration_alone() {
    let sellar1 = guest("sellar1");
    let client = [
        ("DISCIPLINES_TOKEN", "a-token"),
        ("DISCIPLINES_SERVER", "http://127.0.0.1:1"),
    ];
    let config = Command::new(BINARY)
        .arg("config")
        .envs(client)
        .output()
        .expect("runs");
    assert!(config.status.success(), "{config:?}");
    let validate = Command::new(BINARY)
        .args(["modules", "validate"])
        .arg(&sellar1)
        .envs(client)
        .output()
        .expect("runs");
    assert!(validate.status.success(), "{validate:?}");

    let typo = Command::new(BINARY)
        .arg("config")
        .env("DISCIPLINES_LISTNE", "127.0.0.1:1")
        .output()
        .expect("runs");
    let error = one_error_line(&typo);
    assert_eq!(error.matches("listne").count(), 1, "said once: {error}");
}

#[test]
fn config_prints_every_default() {
    let output = Command::new(BINARY).arg("config").output().expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for key in [
        "listen",
        "modules_dir",
        "data_dir",
        "[limits.default]",
        "fuel_metering",
        "concurrency",
    ] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }
}

/// Starts the binary on a data directory and returns it with its address.
fn start_server(
    modules: &std::path::Path,
    data: &std::path::Path,
) -> (std::process::Child, String) {
    start_server_with(modules, data, &[])
}

/// GETs `url` and parses the body as JSON.
async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// Sends SIGTERM and waits, at most 10 s, for a clean exit.
fn stop_cleanly(server: &mut std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

/// Starts the binary with extra environment variables.
pub fn start_server_with(
    modules: &std::path::Path,
    data: &std::path::Path,
    environment: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut server = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--modules-dir"])
        .arg(modules)
        .arg("--data-dir")
        .arg(data)
        .env("DISCIPLINES_EXECUTION__CONCURRENCY", "2")
        .env("DISCIPLINES_AUTH__MODE", "open")
        .envs(environment.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let stdout = server.stdout.take().expect("stdout");
    let mut first_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut first_line)
        .expect("a line");
    let address = first_line
        .trim()
        .strip_prefix("listening on ")
        .expect("the address line")
        .to_owned();
    std::thread::scope(|scope| {
        scope.spawn(|| wait_until_ready_blocking(&address));
    });
    (server, address)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_accepted_job_survives_a_kill_9() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = tempfile::tempdir().expect("data dir");
    std::fs::copy(guest("adversary"), modules.path().join("adversary.wasm")).expect("copy");
    let (mut server, address) = start_server(modules.path(), data.path());
    let client = reqwest::Client::new();
    let spins: Vec<serde_json::Value> = (0..40)
        .map(|_| serde_json::json!({"attack": "spin", "amount": [30_000_000.0]}))
        .collect();
    let batch = client
        .post(format!("{address}/processes/Adversary/batch"))
        .json(&serde_json::json!({"inputs": spins}))
        .send()
        .await
        .expect("batch");
    assert_eq!(batch.status(), 201);
    let ids: Vec<String> = batch.json::<serde_json::Value>().await.expect("JSON")["jobIDs"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect();
    // Kill it hard while some jobs run and most wait.
    let started = Instant::now();
    loop {
        let running = get_json(&client, &format!("{address}/jobs?status=running")).await;
        if running["jobs"]
            .as_array()
            .is_some_and(|jobs| !jobs.is_empty())
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no job started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("kill -9");
    server.wait().expect("reaped");

    let (mut restarted, address) = start_server(modules.path(), data.path());
    let mut retried = 0;
    for id in &ids {
        let job = get_json(&client, &format!("{address}/jobs/{id}?wait=30")).await;
        assert_eq!(job["status"], "successful", "{job}");
        if job["attempts"].as_u64() == Some(2) {
            retried += 1;
        }
    }
    assert!(
        retried >= 1,
        "the jobs that were running ran again, with their attempts counted"
    );
    stop_cleanly(&mut restarted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_server_hands_unfinished_jobs_back_without_counting_an_attempt() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = tempfile::tempdir().expect("data dir");
    std::fs::copy(guest("adversary"), modules.path().join("adversary.wasm")).expect("copy");
    let grace = [("DISCIPLINES_JOBS__SHUTDOWN_GRACE", "200ms")];
    let (mut server, address) = start_server_with(modules.path(), data.path(), &grace);
    let client = reqwest::Client::new();
    let long_spin = serde_json::json!({"inputs": {"attack": "spin", "amount": [1.5e9]}});
    let submitted: serde_json::Value = client
        .post(format!("{address}/processes/Adversary/execution"))
        .header("prefer", "respond-async")
        .json(&long_spin)
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("JSON");
    let id = submitted["jobID"].as_str().expect("id").to_owned();
    let started = Instant::now();
    loop {
        let ready = get_json(&client, &format!("{address}/ready")).await;
        if ready["executions"]["running"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stopping = Instant::now();
    stop_cleanly(&mut server);
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stopped after the grace period, not after the job"
    );

    let (mut restarted, address) = start_server(modules.path(), data.path());
    let job = get_json(&client, &format!("{address}/jobs/{id}?wait=60")).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(
        job["attempts"], 1,
        "handing back does not count as an attempt: {job}"
    );
    stop_cleanly(&mut restarted);
}

/// The files directly in `dir` whose name ends with `suffix`.
fn files_ending(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_9_during_an_upload_leaves_no_partial_file_after_the_restart() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = tempfile::tempdir().expect("data dir");
    let (mut server, address) = start_server(modules.path(), data.path());
    // An upload that sends 4 MiB, then waits forever for the rest.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender.send(Ok(vec![7; 4 << 20])).await.expect("queued");
    let body = body_of_channel(receiver);
    let upload = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{address}/files?name=big.bin"))
            .body(body)
            .send(),
    );
    let uploads = data.path().join("uploads");
    let started = Instant::now();
    while files_ending(&uploads, ".partial").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no partial file"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("kill -9");
    server.wait().expect("reaped");
    assert_eq!(files_ending(&uploads, ".partial").len(), 1);
    drop(sender);
    let _ = upload.await;

    let (mut restarted, _) = start_server(modules.path(), data.path());
    assert_eq!(
        files_ending(&uploads, ".partial"),
        Vec::<std::path::PathBuf>::new()
    );
    stop_cleanly(&mut restarted);
}
