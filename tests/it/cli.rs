//! The `disciplines` binary itself: it prints its address, serves, and exits cleanly on SIGTERM;
//! a bad configuration is one line on stderr and a non-zero exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::guest;

const BINARY: &str = env!("CARGO_BIN_EXE_disciplines");

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_its_address_and_stops_cleanly_on_sigterm() {
    let modules = tempfile::tempdir().expect("modules dir");
    let data = tempfile::tempdir().expect("data dir");
    std::fs::copy(guest("sellar1"), modules.path().join("sellar1.wasm")).expect("copy");
    let mut server = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--modules-dir"])
        .arg(modules.path())
        .arg("--data-dir")
        .arg(data.path())
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

    let reply = reqwest::get(format!("{address}/processes/Sellar1"))
        .await
        .expect("GET");
    assert_eq!(reply.status(), 200);

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
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error:") && stderr.contains("fuel"),
        "{stderr}"
    );
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
