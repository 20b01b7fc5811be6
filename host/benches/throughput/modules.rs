//! Module lifecycle figures: time to ready with 50 modules, cold and from the artifact cache;
//! compile time of the largest component; the deploy round trip over HTTP.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};

use host::discipline::ModuleDigest;
use host::sandbox::Sandbox;
use host::{Application, Config};

use super::{connect, open_auth};

/// Modules in the time-to-ready measurement.
const MODULES: usize = 50;

/// Time to ready with `MODULES` distinct modules, cold then cached; compile time of the
/// largest component; deploy round trips.
pub fn lifecycle(root: &Path, scratch: &Path) -> anyhow::Result<()> {
    let modules = scratch.join("fifty");
    write_distinct_modules(&root.join("modules/sellar1.wasm"), &modules)?;
    let data = scratch.join("fifty-data");
    println!("## Module lifecycle\n");
    println!(
        "| start with {MODULES} modules | time to ready ms | compiled | from cache |\n|---|---|---|---|"
    );
    for label in ["cold (empty artifact cache)", "restart (artifacts cached)"] {
        let (elapsed, compiled, cached) = time_to_ready(&modules, &data)?;
        println!(
            "| {label} | {:.0} | {compiled} | {cached} |",
            elapsed.as_secs_f64() * 1e3
        );
    }
    println!();
    compile_largest(root, scratch)?;
    deploy_round_trip(root, scratch)?;
    Ok(())
}

/// Copies of `template` that differ in their discipline's name ("Sellar1" → "Mod0000"…,
/// same length, so the binary stays valid), hence in their digest.
fn write_distinct_modules(template: &Path, dir: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(template)?;
    let name = b"Sellar1";
    let at = bytes
        .windows(name.len())
        .position(|window| window == name)
        .ok_or_else(|| anyhow::anyhow!("no discipline name to patch in {}", template.display()))?;
    std::fs::create_dir_all(dir)?;
    for index in 0..MODULES {
        let mut copy = bytes.clone();
        copy[at..at + name.len()].copy_from_slice(format!("Mod{index:04}").as_bytes());
        std::fs::write(dir.join(format!("mod{index:04}.wasm")), copy)?;
    }
    Ok(())
}

/// Builds a server on `modules` and waits for its first discovery: elapsed, compiled, cached.
fn time_to_ready(modules: &Path, data: &Path) -> anyhow::Result<(Duration, u64, u64)> {
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        auth: open_auth(),
        modules_dir: modules.to_owned(),
        data_dir: data.to_owned(),
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let begun = Instant::now();
    let application = runtime.block_on(async {
        let application = Application::build(config).await?;
        application.readiness().await;
        anyhow::Ok(application)
    })?;
    let elapsed = begun.elapsed();
    let address = application.address();
    runtime.spawn(application.run_until_stopped(std::future::pending()));
    let ready = runtime.block_on(async {
        let (status, body) = send(address, Method::GET, "/ready", Bytes::new()).await?;
        anyhow::ensure!(status == 200, "/ready answered {status}");
        anyhow::Ok(serde_json::from_str::<serde_json::Value>(&body)?)
    })?;
    anyhow::ensure!(
        ready["processes"] == MODULES,
        "every module is served: {ready}"
    );
    drop(runtime);
    let count = |name: &str| ready[name].as_u64().unwrap_or_default();
    Ok((elapsed, count("modulesCompiled"), count("modulesFromCache")))
}

/// Compiling the largest example, against loading its cached artifact.
fn compile_largest(root: &Path, scratch: &Path) -> anyhow::Result<()> {
    let largest = largest_component(&root.join("modules"))?;
    let bytes = std::fs::read(&largest)?;
    let digest = ModuleDigest::of(&bytes);
    let config = Config {
        data_dir: scratch.join("compile"),
        ..Config::default()
    };
    let sandbox = Sandbox::new(config.sandbox_config())?;
    let begun = Instant::now();
    sandbox.load(&bytes, &digest)?;
    let compiled = begun.elapsed();
    let begun = Instant::now();
    sandbox.load(&bytes, &digest)?;
    let cached = begun.elapsed();
    println!(
        "| largest example | size KiB | compile ms | load from cache ms | ratio |\n|---|---|---|---|---|"
    );
    println!(
        "| {} | {} | {:.1} | {:.2} | {:.0}× |\n",
        largest.file_name().unwrap_or_default().to_string_lossy(),
        bytes.len() / 1024,
        compiled.as_secs_f64() * 1e3,
        cached.as_secs_f64() * 1e3,
        compiled.as_secs_f64() / cached.as_secs_f64()
    );
    Ok(())
}

fn largest_component(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "wasm")
        })
        .filter_map(|path| Some((std::fs::metadata(&path).ok()?.len(), path)))
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, path)| path)
        .ok_or_else(|| anyhow::anyhow!("no components in {}", dir.display()))
}

/// `POST /processes` of a new component (compiled), of the same bytes again (nothing to do),
/// and after `DELETE` (its artifact is cached): each timed from the first byte sent to the
/// answer, beside `GET /health` on the same server.
fn deploy_round_trip(root: &Path, scratch: &Path) -> anyhow::Result<()> {
    let component = Bytes::from(std::fs::read(root.join("modules/rosenbrock.wasm"))?);
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        auth: open_auth(),
        modules_dir: scratch.join("deploy/modules"),
        data_dir: scratch.join("deploy/data"),
        ..Config::default()
    };
    let (runtime, address) = crate::serve(config)?;
    let deploy = || send(address, Method::POST, "/processes", component.clone());
    let rows = runtime.block_on(async {
        let timed = |status: u16, begun: Instant| (status, begun.elapsed());
        let begun = Instant::now();
        let health = timed(
            send(address, Method::GET, "/health", Bytes::new()).await?.0,
            begun,
        );
        let begun = Instant::now();
        let first = timed(deploy().await?.0, begun);
        let begun = Instant::now();
        let again = timed(deploy().await?.0, begun);
        send(
            address,
            Method::DELETE,
            "/processes/Rosenbrock",
            Bytes::new(),
        )
        .await?;
        let begun = Instant::now();
        let redeployed = timed(deploy().await?.0, begun);
        anyhow::Ok([
            ("GET /health (baseline)", health),
            ("new component (compiled)", first),
            ("the same bytes again", again),
            ("after DELETE (artifact cached)", redeployed),
        ])
    })?;
    println!(
        "| deploy round trip ({} KiB) | status | ms |\n|---|---|---|",
        component.len() / 1024
    );
    for (label, (status, elapsed)) in rows {
        println!(
            "| {label} | {status} | {:.2} |",
            elapsed.as_secs_f64() * 1e3
        );
    }
    println!();
    Ok(())
}

/// One request with a raw body (`application/wasm`) on a fresh connection: status and body.
async fn send(
    address: std::net::SocketAddr,
    method: Method,
    path: &str,
    body: Bytes,
) -> anyhow::Result<(u16, String)> {
    let mut sender = connect(address, true).await?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "bench")
        .header("content-type", "application/wasm")
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
