//! Loading a module is bounded: `describe()` has its own fuel, deadline and size cap, compiling
//! its own time and memory (in a child process), and neither holds the registry lock; a rescan
//! that cannot read the modules directory keeps the catalogue it had.

use std::sync::Arc;
use std::time::Duration;

use host::Config;
use host::registry::Registry;
use host::sandbox::Sandbox;
use serde_json::Value;
use wasm_encoder::{
    CodeSection, Component, ExportKind, ExportSection, Function, FunctionSection, Instruction,
    Module, ModuleSection, TypeSection, ValType,
};

use crate::helpers::{Reply, TestApp, guest, spawn_app_with, start, test_config};

const WASM: &str = "application/wasm";

/// How many functions the module that is slow and hungry to compile has.
const MANY_FUNCTIONS: u32 = 200_000;

/// What a deployment must answer: 201, or a problem whose detail names the limit.
enum Expect {
    Accepted,
    Refused {
        slug: &'static str,
        detail_contains: &'static str,
    },
}

const fn refused(slug: &'static str, detail_contains: &'static str) -> Expect {
    Expect::Refused {
        slug,
        detail_contains,
    }
}

/// One deployment under one configuration.
struct Case {
    what: &'static str,
    module: fn() -> Vec<u8>,
    adjust: fn(&mut Config),
    expect: Expect,
}

fn built(name: &str) -> Vec<u8> {
    std::fs::read(guest(name)).expect("a built guest")
}

fn versioned() -> Vec<u8> {
    built("versioned_v1")
}

async fn deploy(app: &TestApp, bytes: Vec<u8>) -> Reply {
    app.post_raw("/processes", WASM, bytes).await
}

fn check(case: &Case, reply: &Reply) {
    match case.expect {
        Expect::Accepted => assert_eq!(reply.status, 201, "{}: {reply:?}", case.what),
        Expect::Refused {
            slug,
            detail_contains,
        } => {
            assert_eq!(reply.problem_slug(), slug, "{}: {reply:?}", case.what);
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(detail_contains), "{}: {detail}", case.what);
        }
    }
}

/// Deploys each case on a server of its own, with a fresh artifact cache (so that compiling
/// is really exercised), and checks the answer.
async fn run_cases(cases: &[Case]) {
    for case in cases {
        let data_dir = tempfile::tempdir().expect("data dir");
        let modules_dir = tempfile::tempdir().expect("modules dir");
        let mut config = test_config(data_dir.path(), modules_dir.path());
        (case.adjust)(&mut config);
        let app = start(config, data_dir, modules_dir).await;
        let reply = tokio::time::timeout(Duration::from_secs(120), deploy(&app, (case.module)()))
            .await
            .unwrap_or_else(|_| panic!("{}: the deployment never answered", case.what));
        check(case, &reply);
        let ready = app.get("/ready").await;
        assert_eq!(ready.status, 200, "{}: {ready:?}", case.what);
    }
}

fn describe_fuel(config: &mut Config) {
    config.sandbox.describe_fuel = 2_000_000_000;
    config.sandbox.describe_deadline = Duration::from_secs(120);
}

fn describe_deadline(config: &mut Config) {
    config.sandbox.fuel_metering = false;
    config.sandbox.describe_deadline = Duration::from_secs(1);
}

/// A cap above the huge description's size.
fn room_for_a_huge_description(config: &mut Config) {
    config.sandbox.max_description_bytes = 4 << 20;
}

fn tiny_description_cap(config: &mut Config) {
    config.sandbox.max_description_bytes = 100;
}

#[tokio::test]
async fn describe_has_its_own_fuel_deadline_and_size_cap() {
    run_cases(&[
        Case {
            what: "fuel, within",
            module: versioned,
            adjust: describe_fuel,
            expect: Expect::Accepted,
        },
        Case {
            what: "fuel, past",
            module: || built("describe_spins"),
            adjust: describe_fuel,
            expect: refused("describe-failed", "ran out of fuel"),
        },
        Case {
            what: "deadline, within",
            module: versioned,
            adjust: describe_deadline,
            expect: Expect::Accepted,
        },
        Case {
            what: "deadline, past",
            module: || built("describe_spins"),
            adjust: describe_deadline,
            expect: refused("describe-failed", "deadline of 1000 ms"),
        },
        Case {
            what: "size, within (2 MiB under a 4 MiB cap)",
            module: || built("huge_description"),
            adjust: room_for_a_huge_description,
            expect: Expect::Accepted,
        },
        Case {
            what: "size, past (2 MiB under the default 1 MiB cap)",
            module: || built("huge_description"),
            adjust: |_| {},
            expect: refused(
                "describe-failed",
                "description exceeded the limit of 1048576",
            ),
        },
        Case {
            what: "size, past (a small description, a smaller cap)",
            module: versioned,
            adjust: tiny_description_cap,
            expect: refused(
                "describe-failed",
                "description exceeded the limit of 100 bytes",
            ),
        },
    ])
    .await;
}

/// A `describe()` blocked in a host call (sleeping) ends at its deadline too.
#[tokio::test]
async fn a_sleeping_describe_ends_at_its_deadline() {
    run_cases(&[Case {
        what: "sleep past the deadline",
        module: || built("describe_sleeps"),
        adjust: describe_deadline,
        expect: refused("describe-failed", "deadline of 1000 ms"),
    }])
    .await;
}

#[tokio::test]
async fn describing_for_options_has_the_same_bounds() {
    let app = spawn_app_with(&["options_spin"], describe_fuel).await;
    let plain = app.get("/processes/OptionsSpin").await;
    assert_eq!(plain.status, 200, "{plain:?}");
    let spinning = tokio::time::timeout(
        Duration::from_secs(60),
        app.get("/processes/OptionsSpin?options=%7B%22spin%22%3Atrue%7D"),
    )
    .await
    .expect("the description for these options never answered");
    assert_eq!(spinning.problem_slug(), "invalid-options", "{spinning:?}");
    let detail = spinning.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("ran out of fuel"), "{detail}");
}

/// A component holding one core module of `functions` small functions: slow and hungry to
/// compile, and not a discipline at all.
fn many_functions(functions: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    let mut declared = FunctionSection::new();
    let mut code = CodeSection::new();
    for index in 0..functions {
        declared.function(0);
        let mut body = Function::new(Vec::<(u32, ValType)>::new());
        for step in 0..8 {
            body.instruction(&Instruction::LocalGet(0))
                .instruction(&Instruction::I32Const(
                    i32::try_from(index).unwrap_or(0) + step,
                ))
                .instruction(&Instruction::I32Mul)
                .instruction(&Instruction::LocalSet(0));
        }
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::End);
        code.function(&body);
    }
    let mut exports = ExportSection::new();
    exports.export("first", ExportKind::Func, 0);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&declared)
        .section(&exports)
        .section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

fn big_module() -> Vec<u8> {
    many_functions(MANY_FUNCTIONS)
}

fn short_compile_timeout(config: &mut Config) {
    config.sandbox.compile_timeout = Duration::from_secs(1);
}

fn long_compile_timeout(config: &mut Config) {
    config.sandbox.compile_timeout = Duration::from_secs(60);
}

fn little_compile_memory(config: &mut Config) {
    config.sandbox.compile_memory_bytes = 256 << 20;
    config.sandbox.compile_timeout = Duration::from_secs(120);
}

#[tokio::test]
async fn compiling_is_bounded_in_time_and_memory() {
    run_cases(&[
        Case {
            what: "time, within",
            module: versioned,
            adjust: long_compile_timeout,
            expect: Expect::Accepted,
        },
        Case {
            what: "time, past",
            module: big_module,
            adjust: short_compile_timeout,
            expect: refused("compile-failed", "took longer than 1s"),
        },
        Case {
            what: "memory, within",
            module: versioned,
            adjust: little_compile_memory,
            expect: Expect::Accepted,
        },
        Case {
            what: "memory, past",
            module: big_module,
            adjust: little_compile_memory,
            expect: refused("compile-failed", "more than 268435456 bytes of memory"),
        },
    ])
    .await;
}

/// Bytes with a component's preamble that are no component.
fn broken_component() -> Vec<u8> {
    b"\0asm\x0d\0\x01\0 not a component".to_vec()
}

fn missing_compiler(config: &mut Config) {
    config.sandbox.compiler = Some("/nonexistent/disciplines".into());
}

#[tokio::test]
async fn what_the_compiler_says_is_told_apart() {
    run_cases(&[
        Case {
            what: "invalid bytes, through the child",
            module: broken_component,
            adjust: long_compile_timeout,
            expect: refused("not-a-component", "not a valid WebAssembly component"),
        },
        Case {
            what: "no compiler to start",
            module: versioned,
            adjust: missing_compiler,
            expect: refused("compile-failed", "cannot start the compiler"),
        },
    ])
    .await;
}

/// A module too slow to compile is refused at its timeout, while a small one deployed at the
/// same time is served.
#[tokio::test]
async fn a_slow_compilation_is_cut_off_and_delays_no_other_deployment() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let modules_dir = tempfile::tempdir().expect("modules dir");
    let mut config = test_config(data_dir.path(), modules_dir.path());
    config.sandbox.compile_timeout = Duration::from_secs(10);
    // Two compilations at once, whatever this machine's cores.
    config.modules.compile_threads = 2;
    let app = Arc::new(start(config, data_dir, modules_dir).await);
    let slow = tokio::spawn({
        let app = app.clone();
        async move { deploy(&app, big_module()).await }
    });
    let small = deploy(&app, versioned()).await;
    assert_eq!(small.status, 201, "{small:?}");
    assert!(
        !slow.is_finished(),
        "the small deployment was served before the slow one's timeout"
    );
    let slow = slow.await.expect("the slow deployment");
    assert_eq!(slow.problem_slug(), "compile-failed", "{slow:?}");
    let detail = slow.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("took longer than 10s"), "{detail}");
}

/// While a rescan waits for a `describe()` that spins, deployments go on.
#[tokio::test]
async fn a_slow_rescan_does_not_hold_the_registry() {
    let app = spawn_app_with(&[], |config| {
        config.modules.reload_debounce = Duration::from_millis(50);
        config.sandbox.fuel_metering = false;
        config.sandbox.describe_deadline = Duration::from_secs(60);
    })
    .await;
    let spinning = app.modules_dir.path().join("describe_spins.wasm");
    std::fs::copy(guest("describe_spins"), &spinning).expect("copy");
    // Long enough for the watcher to start the rescan, which then spins for a minute.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deployed = tokio::time::timeout(Duration::from_secs(40), deploy(&app, versioned()))
        .await
        .expect("the deployment waited for the rescan");
    assert_eq!(deployed.status, 201, "{deployed:?}");
    let modules = app.get("/modules").await;
    let listed: Vec<&str> = modules.body["modules"]
        .as_array()
        .map(|modules| modules.iter().filter_map(|m| m["file"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !listed.contains(&"describe_spins.wasm"),
        "the rescan had already ended: {listed:?}"
    );
    let served = app.get("/processes/Versioned").await;
    assert_eq!(served.status, 200, "{served:?}");
}

/// A server whose modules describe themselves forever or hugely still becomes ready, with
/// those modules listed as broken and the others served.
#[tokio::test]
async fn hostile_descriptions_do_not_keep_the_server_from_ready() {
    let app = spawn_app_with(
        &["describe_spins", "huge_description", "versioned_v1"],
        |_| {},
    )
    .await;
    let modules = app.get("/modules").await;
    let status = |file: &str| -> Value {
        modules.body["modules"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["file"] == file))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (file, reason) in [
        ("describe_spins.wasm", "describe() failed"),
        ("huge_description.wasm", "description exceeded"),
    ] {
        let module = status(file);
        assert_eq!(module["status"], "broken", "{module}");
        let error = module["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{file}: {error}");
    }
    assert_eq!(status("versioned_v1.wasm")["status"], "ready");
}

/// A rescan that cannot read the directory (here: a file in its place; in production, no
/// descriptor left) keeps the catalogue instead of publishing an empty one.
#[test]
fn a_rescan_that_cannot_read_the_directory_keeps_the_catalogue() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let modules_dir = tempfile::tempdir().expect("modules dir");
    let dir = modules_dir.path().join("modules");
    std::fs::create_dir(&dir).expect("modules");
    std::fs::copy(guest("versioned_v1"), dir.join("versioned_v1.wasm")).expect("copy");
    let config = test_config(data_dir.path(), &dir);
    let sandbox = Arc::new(Sandbox::new(config.sandbox_config()).expect("a sandbox"));
    let registry = Registry::new(sandbox, &dir, config.describe_limits(), 1);
    registry.discover();
    assert_eq!(registry.catalog().newest().count(), 1);
    let away = modules_dir.path().join("away");
    std::fs::rename(&dir, &away).expect("move the directory away");
    std::fs::write(&dir, b"not a directory").expect("a file in its place");
    registry.reconcile();
    let kept = registry.catalog().newest().count();
    std::fs::remove_file(&dir).expect("remove the file");
    std::fs::rename(&away, &dir).expect("move the directory back");
    assert_eq!(kept, 1, "the catalogue was emptied");
    registry.reconcile();
    assert_eq!(registry.catalog().newest().count(), 1);
}
