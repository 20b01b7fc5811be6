//! The offline commands: `modules validate` gives the server's own verdict, and `run` computes
//! what the server computes, in the same sandbox, with no server.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::helpers::{BINARY, guest, one_error_line, spawn_app};

fn disciplines(arguments: &[&str]) -> Output {
    Command::new(BINARY)
        .args(arguments)
        .output()
        .expect("the binary runs")
}

fn path_of(name: &str) -> String {
    guest(name).display().to_string()
}

fn json_stdout(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_gives_the_same_verdict_as_deployment() {
    let app = spawn_app(&[]).await;
    for bad in [
        "future_contract",
        "describe_panics",
        "bad_schema",
        "bad_defaults",
    ] {
        let output = disciplines(&["modules", "validate", &path_of(bad)]);
        let line = one_error_line(&output);
        let refused = app
            .post_raw(
                "/processes",
                "application/wasm",
                std::fs::read(guest(bad)).expect("read"),
            )
            .await;
        let detail = refused.body["detail"].as_str().expect("detail");
        let one_line: Vec<&str> = detail
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let expected = format!(
            "error: {}: {}",
            refused.problem_slug(),
            one_line.join(" | ")
        );
        assert_eq!(line, expected, "{bad}");
    }
    let text = std::env::temp_dir().join(format!("not-wasm-{}.wasm", std::process::id()));
    std::fs::write(&text, "not wasm").expect("write");
    let line = one_error_line(&disciplines(&[
        "modules",
        "validate",
        &text.display().to_string(),
    ]));
    assert!(line.starts_with("error: not-a-component: "), "{line}");
    std::fs::remove_file(&text).expect("remove");
    let missing = one_error_line(&disciplines(&["modules", "validate", "/no/such/file.wasm"]));
    assert!(missing.contains("/no/such/file.wasm"), "{missing}");

    let good = disciplines(&["modules", "validate", &path_of("sellar1")]);
    assert!(good.status.success(), "{good:?}");
    let summary = String::from_utf8_lossy(&good.stdout);
    assert!(
        summary.starts_with("valid: Sellar1 1.0.0 (sha256:"),
        "{summary}"
    );
    let document = json_stdout(&disciplines(&[
        "modules",
        "validate",
        "--json",
        &path_of("sellar1"),
    ]));
    assert_eq!(document["id"], "Sellar1");
    assert_eq!(document["hasJacobian"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_computes_what_the_server_computes() {
    let app = spawn_app(&["sellar1"]).await;
    let inputs = json!({"x_1": [0.5], "x_shared": [1.0, 2.0], "y_2": [3.0]});
    let served = app
        .execute("Sellar1", &json!({"inputs": inputs, "linearize": {}}))
        .await;
    assert_eq!(served.status, 200, "{served:?}");

    let inputs = inputs.to_string();
    let local = json_stdout(&disciplines(&[
        "run",
        &path_of("sellar1"),
        "--inputs",
        &inputs,
        "--linearize",
        "--json",
    ]));
    assert_eq!(local["outputs"], served.body["outputs"], "{local}");
    assert_eq!(local["jacobian"], served.body["jacobian"], "{local}");
    assert!(local["fuelConsumed"].as_u64().is_some_and(|fuel| fuel > 0));

    let human = disciplines(&["run", &path_of("sellar1"), "--inputs", &inputs]);
    assert!(human.status.success(), "{human:?}");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.starts_with("y_1 = ["), "{text}");
}

#[test]
fn run_refuses_bad_inputs_and_reports_limits_like_the_server() {
    let invalid = one_error_line(&disciplines(&[
        "run",
        &path_of("sellar1"),
        "--inputs",
        r#"{"x_1": "one"}"#,
    ]));
    assert!(invalid.starts_with("error: invalid-input: "), "{invalid}");
    assert!(invalid.contains("/inputs/x_1"), "{invalid}");

    let deadline = one_error_line(&disciplines(&[
        "run",
        &path_of("adversary"),
        "--inputs",
        r#"{"attack": "spin", "amount": [-1]}"#,
        "--deadline",
        "100ms",
    ]));
    assert!(
        deadline.starts_with("error: deadline-exceeded: "),
        "{deadline}"
    );

    let too_much = one_error_line(&disciplines(&[
        "run",
        &path_of("sellar1"),
        "--fuel",
        "99999999999999999",
    ]));
    assert!(
        too_much.starts_with("error: limit-too-high: "),
        "{too_much}"
    );
}

#[test]
fn run_places_files_in_the_workspace_and_can_keep_it() {
    let scratch = tempfile::tempdir().expect("scratch");
    let csv = scratch.path().join("measures.csv");
    std::fs::write(&csv, "a,b\n1,10\n3,30\n").expect("write");
    let kept = scratch.path().join("workspace");
    let placed = format!("data/m.csv={}", csv.display());
    let output = json_stdout(&disciplines(&[
        "run",
        &path_of("csv_column_statistics"),
        "--inputs",
        r#"{"file_name": "data/m.csv"}"#,
        "--file",
        &placed,
        "--keep-workspace",
        &kept.display().to_string(),
        "--json",
    ]));
    let outputs = &output["outputs"];
    assert!(
        outputs.as_object().is_some_and(|o| !o.is_empty()),
        "{output}"
    );
    assert!(kept.join("data/m.csv").is_file(), "the workspace is kept");
    assert!(Path::new(&kept).read_dir().expect("list").count() >= 1);

    let again = one_error_line(&disciplines(&[
        "run",
        &path_of("csv_column_statistics"),
        "--file",
        &placed,
        "--keep-workspace",
        &kept.display().to_string(),
    ]));
    assert!(again.contains("already exists"), "{again}");
}
