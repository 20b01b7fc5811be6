//! The sandbox without HTTP: workspace files in and out, progress and logs, determinism.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use host::Config;
use host::discipline::ModuleDigest;
use host::sandbox::{
    Call, CallOutput, CancelFlag, Compilation, ExecutionObserver, ExecutionReport, GuestLogLevel,
    GuestWorkspace, IgnoreProgress, LoadedComponent, Sandbox, SandboxConfig, SandboxError,
};
use serde_json::{Value, json};

use crate::helpers::{guest, spawn_app};

fn sandbox(cache: &Path) -> Sandbox {
    let config = Config::default();
    Sandbox::new(SandboxConfig {
        fuel_metering: true,
        max_memory_bytes: 1 << 30,
        max_live_instances: 8,
        max_wasm_stack_bytes: config.sandbox.max_wasm_stack_bytes,
        epoch_tick: Duration::from_millis(5),
        cache_dir: cache.to_owned(),
        compilation: Compilation::InProcess,
    })
    .expect("a sandbox")
}

fn load(sandbox: &Sandbox, name: &str) -> LoadedComponent {
    let bytes = std::fs::read(guest(name)).expect("built guest");
    sandbox
        .load(&bytes, &ModuleDigest::of(&bytes))
        .expect("loads")
}

fn execute(
    sandbox: &Sandbox,
    component: &LoadedComponent,
    inputs: Value,
    workspace: &Path,
    observer: Box<dyn ExecutionObserver>,
) -> ExecutionReport {
    let limits = Config::default().limit_policy().default;
    let call = Call::Execute {
        inputs: inputs.to_string(),
        options: "{}".into(),
    };
    sandbox.run(
        component,
        &call,
        &limits,
        Some(GuestWorkspace::holding_files(workspace)),
        observer,
        &CancelFlag::default(),
    )
}

fn outputs(report: &ExecutionReport) -> Value {
    match &report.result {
        Ok(CallOutput::Outputs(text)) => serde_json::from_str(text).expect("JSON outputs"),
        other => panic!("no outputs: {other:?}"),
    }
}

#[test]
fn a_discipline_reads_and_writes_files_in_its_workspace() {
    let scratch = tempfile::tempdir().expect("scratch");
    let sandbox = sandbox(&scratch.path().join("cache"));
    let component = load(&sandbox, "csv_column_statistics");
    let workspace = scratch.path().join("workspace");
    std::fs::create_dir(&workspace).expect("workspace");
    std::fs::write(workspace.join("data.csv"), "a,b\n1,2\n3,6\n").expect("input file");

    let report = execute(
        &sandbox,
        &component,
        json!({"file_name": "data.csv"}),
        &workspace,
        Box::new(IgnoreProgress),
    );
    let outputs = outputs(&report);
    assert_eq!(outputs["mean"], json!([2.0, 4.0]));
    assert_eq!(outputs["std"], json!([1.0, 2.0]));
    let summary = outputs["summary_file"].as_str().expect("summary file name");
    let written = std::fs::read_to_string(workspace.join(summary.trim_start_matches('/')))
        .expect("summary written");
    assert!(
        written.contains("a,2") && written.contains("b,4"),
        "{written}"
    );

    let missing = execute(
        &sandbox,
        &component,
        json!({"file_name": "absent.csv"}),
        &workspace,
        Box::new(IgnoreProgress),
    );
    assert!(
        matches!(&missing.result, Err(SandboxError::InvalidInput(message)) if message.contains("absent.csv")),
        "{:?}",
        missing.result
    );
}

/// Collects the progress fractions a guest reports.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<f64>>>);

impl ExecutionObserver for Recorder {
    fn progress(&mut self, fraction: f64, _message: &str) {
        self.0.lock().expect("not poisoned").push(fraction);
    }
}

#[test]
fn a_long_running_discipline_reports_progress_and_logs_and_is_deterministic() {
    let scratch = tempfile::tempdir().expect("scratch");
    let sandbox = sandbox(&scratch.path().join("cache"));
    let component = load(&sandbox, "monte_carlo_pi");
    let recorder = Recorder::default();
    let inputs = json!({"n_samples": 2_000_000, "seed": 7});
    let report = execute(
        &sandbox,
        &component,
        inputs.clone(),
        scratch.path(),
        Box::new(recorder.clone()),
    );
    let first = outputs(&report);
    let estimate = first["estimate"][0].as_f64().expect("estimate");
    assert!((estimate - std::f64::consts::PI).abs() < 0.01, "{estimate}");
    let fractions = recorder.0.lock().expect("not poisoned").clone();
    assert!(
        fractions.len() >= 50,
        "{} progress reports",
        fractions.len()
    );
    assert!(
        fractions.windows(2).all(|pair| pair[0] <= pair[1]),
        "progress never goes back"
    );
    assert!(
        fractions
            .iter()
            .all(|fraction| (0.0..=1.0).contains(fraction))
    );
    assert!(
        report
            .logs
            .iter()
            .any(|line| line.level == GuestLogLevel::Info),
        "{:?}",
        report.logs
    );
    assert!(report.fuel_consumed.is_some_and(|fuel| fuel > 2_000_000));

    let again = execute(
        &sandbox,
        &component,
        inputs,
        scratch.path(),
        Box::new(IgnoreProgress),
    );
    assert_eq!(outputs(&again), first, "same inputs, same outputs");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_long_running_example_runs_past_a_short_deadline_at_its_defaults() {
    let app = spawn_app(&["monte_carlo_pi"]).await;
    let reply = app
        .execute("MonteCarloPi", &json!({"limits": {"deadlineMs": 300}}))
        .await;
    assert_eq!(reply.problem_slug(), "deadline-exceeded", "{reply:?}");
}
