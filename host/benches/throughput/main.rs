//! `cargo xtask bench`: synchronous Sellar1 over loopback HTTP beside a static endpoint of the
//! same server, measured in the same run, and the cost of one sandboxed execution without HTTP;
//! jobs, cancellation, large files, the module lifecycle (`modules.rs`), a GEMSEO study
//! through the gemseo-http face (`gemseo.rs`), synchronous latency during a job storm
//! (`sync_share.rs`), an idle server's wake-ups (`idle.rs`), a flood of logins (`logins.rs`)
//! what a refused batch costs (`refusals.rs`), whether submissions slow down as stored jobs grow
//! (`rows.rs`), and the server's memory once ready after a cold and a cached start
//! (`memory.rs`).

mod gemseo;
mod idle;
mod logins;
mod memory;
mod modules;
mod refusals;
mod rows;
mod sync_share;

use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use host::discipline::ModuleDigest;
use host::files::Disposal;
use host::sandbox::{Call, CancelFlag, GuestWorkspace, IgnoreProgress, LoadedComponent, Sandbox};
use host::workspace::WorkspacePool;
use host::{Application, Config};

const WARM_UP: Duration = Duration::from_millis(500);
const MEASURE: Duration = Duration::from_secs(3);
const SELLAR1_BODY: &str =
    r#"{"inputs": {"x_1": [0.5], "x_shared": [1.0, 0.5], "y_2": [1.2], "gamma": [0.2]}}"#;

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sellar1 = root.join("modules/sellar1.wasm");
    anyhow::ensure!(sellar1.exists(), "run `cargo xtask build-guests` first");
    let scratch = tempfile::tempdir()?;
    println!(
        "# disciplines benchmark ({} cores)\n",
        std::thread::available_parallelism()?
    );
    // `cargo bench -p host --bench throughput -- jobs http` runs only the sections named.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let run = |section: &str| wanted.is_empty() || wanted.iter().any(|name| name == section);
    let scratch = scratch.path();
    if run("sandbox") {
        sandbox_alone(&sellar1, scratch)?;
        long_running_defaults(scratch)?;
    }
    if run("http") {
        over_http(&sellar1, scratch)?;
    }
    if run("jobs") {
        jobs_end_to_end(&sellar1, scratch)?;
    }
    if run("storm") {
        sync_share::latency_during_job_storm(&root, scratch)?;
    }
    if run("idle") {
        idle::wake_ups(&sellar1, scratch)?;
    }
    if run("cancel") {
        cancel_latency(scratch)?;
    }
    if run("files") {
        large_file(&sellar1, scratch)?;
    }
    if run("modules") {
        modules::lifecycle(&root, scratch)?;
    }
    if run("logins") {
        logins::flood(&sellar1, scratch)?;
    }
    if run("refusals") {
        refusals::huge_batch(&sellar1, scratch)?;
    }
    if run("rows") {
        rows::submissions_by_stored_jobs(&sellar1, scratch)?;
    }
    if run("memory") {
        memory::after_starts(&root, scratch)?;
    }
    if run("gemseo") {
        gemseo::mdf_study(&root, scratch)?;
    }
    Ok(())
}

/// A 1 GiB upload, copied into a job's workspace and downloaded back, with the process's peak
/// resident memory (server and client together) measured from just before.
fn large_file(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    const MIB: usize = 1 << 20;
    const SIZE_MIB: usize = 1024;
    let (server, address, _) = start_server(sellar1, scratch, "large")?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    reset_peak_memory();
    let before = peak_memory_mib();
    let (upload, download) = client.block_on(async {
        let chunk = Bytes::from(vec![0x5a_u8; MIB]);
        let frames = futures_util::stream::iter((0..SIZE_MIB).map(move |_| {
            Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(chunk.clone()))
        }));
        let begun = Instant::now();
        let mut sender = connect(address, false).await?;
        let upload_request = Request::builder()
            .method(Method::POST)
            .uri("/files?name=big.bin")
            .header("host", "bench")
            .body(http_body_util::StreamBody::new(frames))?;
        let response = sender.send_request(upload_request).await?;
        let body =
            String::from_utf8_lossy(&response.into_body().collect().await?.to_bytes()).into_owned();
        let upload = begun.elapsed();
        let file_id = string_member(&body, "fileID")?;
        let job = format!(r#"{{"files": {{"big.bin": "{file_id}"}}}}"#);
        let (status, body) = request(
            address,
            Method::POST,
            "/processes/Sellar1/execution",
            job,
            Some("respond-async"),
        )
        .await?;
        anyhow::ensure!(status == 201, "submit: {status} {body}");
        let id = string_member(&body, "jobID")?;
        let (_, _) = request(
            address,
            Method::GET,
            &format!("/jobs/{id}?wait=60"),
            String::new(),
            None,
        )
        .await?;
        let begun = Instant::now();
        let mut sender = connect(address, false).await?;
        let download_request = Request::builder()
            .uri(format!("/jobs/{id}/files/big.bin"))
            .header("host", "bench")
            .body(Full::new(Bytes::new()))?;
        let mut body = sender.send_request(download_request).await?.into_body();
        let mut received = 0usize;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                received += data.len();
            }
        }
        anyhow::ensure!(received == SIZE_MIB * MIB, "downloaded {received} bytes");
        anyhow::Ok((upload, begun.elapsed()))
    })?;
    let after = peak_memory_mib();
    println!("\n## A 1 GiB file: streamed upload, copy into a job workspace, streamed download\n");
    println!(
        "| upload MiB/s | download MiB/s | peak RSS growth MiB (server + client) |\n|---|---|---|"
    );
    println!(
        "| {:.0} | {:.0} | {:.1} |",
        SIZE_MIB as f64 / upload.as_secs_f64(),
        SIZE_MIB as f64 / download.as_secs_f64(),
        after - before
    );
    drop(server);
    Ok(())
}

/// Resets the kernel's peak-RSS mark of this process (Linux: `echo 5 > clear_refs`).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory of this process, in MiB (`VmHWM`).
fn peak_memory_mib() -> f64 {
    status_mib("self", "VmHWM:").unwrap_or(0.0)
}

/// A memory line of `/proc/<process>/status` (such as `VmRSS:`), in MiB.
fn status_mib(process: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .ok()?;
    Some(kib / 1024.0)
}

/// Time from `DELETE /jobs/{id}` of a running guest (an infinite loop) to its guest thread
/// being free again, as `/ready` reports it, polled every 0.5 ms.
fn cancel_latency(scratch: &Path) -> anyhow::Result<()> {
    const ROUNDS: usize = 20;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let adversary = root.join("tests/fixtures/built/adversary.wasm");
    let (server, address, _) = start_server(&adversary, scratch, "cancel")?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut latencies = Vec::new();
    let spin = r#"{"inputs": {"attack": "spin", "amount": [-1]}, "limits": {"deadlineMs": 60000}}"#;
    for _ in 0..ROUNDS {
        let latency = client.block_on(async {
            let (status, body) = request(
                address,
                Method::POST,
                "/processes/Adversary/execution",
                spin.into(),
                Some("respond-async"),
            )
            .await?;
            anyhow::ensure!(status == 201, "submit: {status} {body}");
            let id = string_member(&body, "jobID")?;
            wait_for_running(address, 1).await?;
            let dismissed = Instant::now();
            dismiss(address, &id).await?;
            wait_for_running(address, 0).await?;
            Ok(dismissed.elapsed())
        })?;
        latencies.push(latency);
    }
    latencies.sort();
    let stats = Stats::of(latencies.clone(), MEASURE);
    println!(
        "\n## Cancelling a running guest ({ROUNDS} rounds, infinite loop, fuel on, epoch tick 5 ms)\n"
    );
    println!("| p50 ms | max ms |\n|---|---|");
    let max = latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    println!("| {:.2} | {:.2} |", stats.p50_us / 1e3, max);
    drop(server);
    Ok(())
}

/// `DELETE /jobs/{id}`: a queued job never starts, a running one is interrupted.
async fn dismiss(address: std::net::SocketAddr, id: &str) -> anyhow::Result<()> {
    let path = format!("/jobs/{id}");
    request(address, Method::DELETE, &path, String::new(), None).await?;
    Ok(())
}

/// Polls `/ready` until exactly `running` executions run.
async fn wait_for_running(address: std::net::SocketAddr, running: usize) -> anyhow::Result<()> {
    let wanted = format!(r#""executions":{{"running":{running},"#);
    loop {
        let (_, body) = request(address, Method::GET, "/ready", String::new(), None).await?;
        if body.contains(&wanted) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// A sandbox set up as the server's defaults say (fuel on), with one component loaded.
fn load_component(module: &Path, scratch: &Path) -> anyhow::Result<(Sandbox, LoadedComponent)> {
    let config = Config {
        data_dir: scratch.to_owned(),
        ..Config::default()
    };
    let sandbox = Sandbox::new(config.sandbox_config())?;
    let bytes = std::fs::read(module)?;
    let component = sandbox.load(&bytes, &ModuleDigest::of(&bytes))?;
    Ok((sandbox, component))
}

/// Per-execution cost of a fresh sandboxed instance, without HTTP, on one thread.
fn sandbox_alone(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    let config = Config::default();
    let (sandbox, component) = load_component(sellar1, scratch)?;
    let limits = config.limit_policy().default;
    let disposal = Disposal::new(scratch.join("quarantine"));
    let workspaces = WorkspacePool::start(&scratch.join("workspaces"), 8, disposal)?;
    let call = Call::Execute {
        inputs: r#"{"x_1": [0.5], "x_shared": [1.0, 0.5], "y_2": [1.2], "gamma": [0.2]}"#.into(),
        options: "{}".into(),
    };
    println!("## One execution in a fresh instance, no HTTP (one thread)\n");
    println!("| workspace | p50 µs | p99 µs | executions/s |\n|---|---|---|---|");
    for with_workspace in [false, true] {
        let mut latencies = Vec::new();
        let started = Instant::now();
        while started.elapsed() < MEASURE {
            let begun = Instant::now();
            let workspace = with_workspace.then(|| workspaces.acquire()).transpose()?;
            let report = sandbox.run(
                &component,
                &call,
                &limits,
                workspace.as_ref().map(|w| GuestWorkspace {
                    dir: w.path(),
                    empty_since: Some(w.change_time()),
                }),
                Box::new(IgnoreProgress),
                &CancelFlag::default(),
            );
            if let Some(workspace) = workspace {
                workspaces.release(workspace);
            }
            anyhow::ensure!(report.result.is_ok(), "{:?}", report.result);
            latencies.push(begun.elapsed());
        }
        let stats = Stats::of(latencies, started.elapsed());
        let label = if with_workspace {
            "fresh (pooled)"
        } else {
            "none"
        };
        println!(
            "| {label} | {:.1} | {:.1} | {:.0} |",
            stats.p50_us, stats.p99_us, stats.per_second
        );
    }
    println!();
    Ok(())
}

/// A server offering one module on its own runtime (2 workers), with its data in `scratch/name`.
fn start_server(
    module: &Path,
    scratch: &Path,
    name: &str,
) -> anyhow::Result<(tokio::runtime::Runtime, std::net::SocketAddr, Config)> {
    let config = bench_config(&[module], scratch, name)?;
    let (server, address) = serve(config.clone())?;
    Ok((server, address, config))
}

/// The default configuration, open, on a free port, serving copies of `modules`, with its
/// directories in `scratch/name`.
fn bench_config(modules: &[&Path], scratch: &Path, name: &str) -> anyhow::Result<Config> {
    let dir = scratch.join(name).join("modules");
    std::fs::create_dir_all(&dir)?;
    for module in modules {
        anyhow::ensure!(module.exists(), "run `cargo xtask build-guests` first");
        std::fs::copy(module, dir.join(module.file_name().unwrap_or_default()))?;
    }
    Ok(Config {
        listen: "127.0.0.1:0".parse()?,
        auth: open_auth(),
        modules_dir: dir,
        data_dir: scratch.join(name).join("data"),
        ..Config::default()
    })
}

/// Runs a server on `config` on its own runtime (2 workers), once it is ready.
fn serve(config: Config) -> anyhow::Result<(tokio::runtime::Runtime, std::net::SocketAddr)> {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let application = server.block_on(Application::build(config))?;
    let address = application.address();
    server.block_on(application.readiness());
    server.spawn(application.run_until_stopped(std::future::pending()));
    Ok((server, address))
}

/// The long-running example at its default inputs, in the sandbox with fuel: it must run for
/// several seconds (jobs, progress and cancellation are tested on it).
fn long_running_defaults(scratch: &Path) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = Config::default();
    let (sandbox, component) = load_component(&root.join("modules/monte_carlo_pi.wasm"), scratch)?;
    let call = Call::Execute {
        inputs: "{}".into(),
        options: "{}".into(),
    };
    let limits = config.limit_policy().default;
    let report = sandbox.run(
        &component,
        &call,
        &limits,
        None,
        Box::new(IgnoreProgress),
        &CancelFlag::default(),
    );
    anyhow::ensure!(report.result.is_ok(), "{:?}", report.result);
    println!("## MonteCarloPi at its default inputs (10⁹ samples), fuel on\n");
    println!("| wall time s | fuel |\n|---|---|");
    println!(
        "| {:.2} | {:.2e} |\n",
        report.duration.as_secs_f64(),
        report.fuel_consumed.unwrap_or(0) as f64
    );
    Ok(())
}

/// Loopback HTTP: the static endpoint and Sellar1, at concurrency 1 and 16.
fn over_http(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    let (server, address, _) = start_server(sellar1, scratch, "http")?;

    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "## Loopback HTTP, keep-alive connections, {}s per row\n",
        MEASURE.as_secs()
    );
    println!(
        "| request | concurrency | p50 µs | p99 µs | req/s | vs static |\n|---|---|---|---|---|---|"
    );
    for concurrency in [1, 16] {
        let static_stats =
            client.block_on(load(address, Method::GET, "/health", "", concurrency, None))?;
        let sellar_stats = client.block_on(load(
            address,
            Method::POST,
            "/processes/Sellar1/execution",
            SELLAR1_BODY,
            concurrency,
            None,
        ))?;
        for (name, stats) in [
            ("GET /health (static)", &static_stats),
            ("POST Sellar1 execution", &sellar_stats),
        ] {
            println!(
                "| {name} | {concurrency} | {:.1} | {:.1} | {:.0} | {:.2} |",
                stats.p50_us,
                stats.p99_us,
                stats.per_second,
                stats.per_second / static_stats.per_second
            );
        }
    }
    drop(server);
    Ok(())
}

/// Trivial jobs (Sellar1) end to end on SQLite: 10 000 as one batch, then 10 000 submitted
/// one by one over 16 connections; each waited for until all have finished.
fn jobs_end_to_end(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    const JOBS: usize = 10_000;
    println!("\n## Jobs end to end (SQLite), {JOBS} trivial Sellar1 jobs\n");
    println!(
        "| submission | jobs/s | submit p50 ms | submit→finished p50 ms | p99 ms |\n|---|---|---|---|---|"
    );
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for batch in [true, false] {
        let name = if batch { "batch" } else { "single" };
        let (server, address, config) = start_server(sellar1, scratch, name)?;
        let started = Instant::now();
        let submit_latencies = if batch {
            client.block_on(submit_batch(address, JOBS))?
        } else {
            client.block_on(submit_singly(address, JOBS, 16))?
        };
        client.block_on(wait_until_idle(address))?;
        let elapsed = started.elapsed();
        let mut latencies = server.block_on(finish_latencies(&config))?;
        anyhow::ensure!(
            latencies.len() == JOBS,
            "{} jobs finished, not {JOBS}",
            latencies.len()
        );
        let submit = Stats::of(submit_latencies, elapsed);
        latencies.sort();
        let finished = Stats::of(latencies, elapsed);
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.1} |",
            if batch {
                "one batch request"
            } else {
                "one request per job (16 connections)"
            },
            JOBS as f64 / elapsed.as_secs_f64(),
            submit.p50_us / 1e3,
            finished.p50_us / 1e3,
            finished.p99_us / 1e3,
        );
        drop(server);
    }
    Ok(())
}

async fn submit_batch(address: std::net::SocketAddr, jobs: usize) -> anyhow::Result<Vec<Duration>> {
    let inputs: Vec<String> = (0..jobs)
        .map(|i| format!(r#"{{"x_1": [{}]}}"#, i as f64 / jobs as f64))
        .collect();
    let body = format!(r#"{{"inputs": [{}]}}"#, inputs.join(","));
    let begun = Instant::now();
    let (status, _) = request(
        address,
        Method::POST,
        "/processes/Sellar1/batch",
        body,
        None,
    )
    .await?;
    anyhow::ensure!(status == 201, "batch: {status}");
    Ok(vec![begun.elapsed()])
}

async fn submit_singly(
    address: std::net::SocketAddr,
    jobs: usize,
    connections: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut workers = Vec::new();
    for worker in 0..connections {
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in (worker..jobs).step_by(connections) {
                let begun = Instant::now();
                let (status, _) = request(
                    address,
                    Method::POST,
                    "/processes/Sellar1/execution",
                    SELLAR1_BODY.into(),
                    Some("respond-async"),
                )
                .await?;
                anyhow::ensure!(status == 201, "submit: {status}");
                latencies.push(begun.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    Ok(latencies)
}

/// Polls until no job is accepted or running.
async fn wait_until_idle(address: std::net::SocketAddr) -> anyhow::Result<()> {
    loop {
        let (_, body) = request(
            address,
            Method::GET,
            "/jobs?status=accepted,running&limit=1",
            String::new(),
            None,
        )
        .await?;
        if body.contains(r#""jobs":[]"#) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Submit→finished latency of every successful job, read from the store.
async fn finish_latencies(config: &Config) -> anyhow::Result<Vec<Duration>> {
    let store = host::store::JobStore::open(&config.jobs_database()).await?;
    let mut latencies = Vec::new();
    let mut after = None;
    loop {
        let filter = host::store::JobFilter {
            statuses: vec![host::store::JobStatus::Successful],
            after_seq: after,
            limit: 1000,
            ..Default::default()
        };
        let page = store.list(&filter).await?;
        let Some(last) = page.last() else {
            return Ok(latencies);
        };
        after = Some(last.seq);
        for job in &page {
            let micros = job.finished_at.unwrap_or(job.created_at) - job.created_at;
            latencies.push(Duration::from_micros(u64::try_from(micros).unwrap_or(0)));
        }
    }
}

/// A keep-alive HTTP/1.1 connection to the server; `small_requests` turns Nagle off (it
/// lowers the latency of small requests, and slows a streamed upload down by a third).
async fn connect<B>(
    address: std::net::SocketAddr,
    small_requests: bool,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<B>>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(small_requests)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A string member of a JSON answer, such as `jobID` or `fileID`.
fn string_member(body: &str, name: &str) -> anyhow::Result<String> {
    let document: serde_json::Value = serde_json::from_str(body)?;
    document[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {name} in {body}"))
}

/// One request on a fresh connection: status and body.
async fn request(
    address: std::net::SocketAddr,
    method: Method,
    path: &str,
    body: String,
    prefer: Option<&'static str>,
) -> anyhow::Result<(u16, String)> {
    let mut sender = connect(address, true).await?;
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "bench")
        .header("content-type", "application/json");
    if let Some(prefer) = prefer {
        builder = builder.header("prefer", prefer);
    }
    let response = sender
        .send_request(builder.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// `concurrency` clients sending the same request on keep-alive connections (with `Prefer:
/// prefer` when given), warmed up, then measured.
async fn load(
    address: std::net::SocketAddr,
    method: Method,
    path: &'static str,
    body: &'static str,
    concurrency: usize,
    prefer: Option<&'static str>,
) -> anyhow::Result<Stats> {
    let stop_warming = Instant::now() + WARM_UP;
    let stop = stop_warming + MEASURE;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let method = method.clone();
        workers.push(tokio::spawn(async move {
            let mut sender = connect(address, true).await?;
            let mut latencies = Vec::new();
            loop {
                let begun = Instant::now();
                if begun >= stop {
                    break;
                }
                let mut request = Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .header("host", "bench")
                    .header("content-type", "application/json");
                if let Some(prefer) = prefer {
                    request = request.header("prefer", prefer);
                }
                let request = request.body(Full::new(Bytes::from_static(body.as_bytes())))?;
                let response = sender.send_request(request).await?;
                let status = response.status();
                response.into_body().collect().await?;
                anyhow::ensure!(status.is_success(), "{path}: {status}");
                if begun >= stop_warming {
                    latencies.push(begun.elapsed());
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    Ok(Stats::of(latencies, MEASURE))
}

struct Stats {
    p50_us: f64,
    p99_us: f64,
    per_second: f64,
}

impl Stats {
    fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Self {
        latencies.sort();
        let at = |quantile: f64| {
            let index = ((latencies.len() as f64 - 1.0) * quantile).round() as usize;
            latencies
                .get(index)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
        };
        Self {
            p50_us: at(0.5),
            p99_us: at(0.99),
            per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        }
    }
}

/// Benchmark servers listen on loopback without authentication, as before it existed, so that
/// figures stay comparable across runs.
fn open_auth() -> host::config::AuthSettings {
    host::config::AuthSettings {
        mode: host::auth::AuthMode::Open,
        ..Default::default()
    }
}
