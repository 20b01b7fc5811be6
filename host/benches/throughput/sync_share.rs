//! Synchronous Sellar1 latency at `execution.concurrency = 1` without jobs, during a storm of
//! queued jobs of about 0.1 s each, and during the same storm with no thread reserved for
//! synchronous work (`execution.sync_reserved = 0`), each as a ratio of the quiet figures.

use std::path::Path;
use std::time::{Duration, Instant};

use hyper::Method;

use host::Config;

use crate::{Stats, bench_config, dismiss, load, request, serve, wait_for_running};

/// Jobs queued for the storm: far more than one measurement can run through.
const STORM_JOBS: usize = 500;
/// How long each job of the storm computes.
const JOB_TIME: Duration = Duration::from_millis(100);
const SELLAR1: &str = "/processes/Sellar1/execution";

/// The three rows: quiet, storm with the default reservation, storm with none.
pub fn latency_during_job_storm(root: &Path, scratch: &Path) -> anyhow::Result<()> {
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let reserved = Config::default().execution.sync_reserved;
    println!(
        "\n## Synchronous Sellar1 during a storm of {STORM_JOBS} queued jobs of ≈ {} ms \
         (execution.concurrency = 1, one client)\n",
        JOB_TIME.as_millis()
    );
    println!(
        "| load | sync_reserved | p50 µs | p99 µs | p50 vs quiet | p99 vs quiet |\n|---|---|---|---|---|---|"
    );
    let (server, address) = serve(storm_config(root, scratch, "storm", reserved)?)?;
    let quiet = client.block_on(sellar1_latency(address))?;
    let stormy = client.block_on(during_storm(address))?;
    drop(server);
    let (server, address) = serve(storm_config(root, scratch, "storm-unreserved", 0)?)?;
    let unreserved = client.block_on(during_storm(address))?;
    drop(server);
    let rows = [
        ("no jobs", reserved, &quiet),
        ("job storm", reserved, &stormy),
        ("job storm", 0, &unreserved),
    ];
    for (name, reserved, stats) in rows {
        println!(
            "| {name} | {reserved} | {:.1} | {:.1} | {:.2} | {:.2} |",
            stats.p50_us,
            stats.p99_us,
            stats.p50_us / quiet.p50_us,
            stats.p99_us / quiet.p99_us
        );
    }
    Ok(())
}

/// A server with one shared guest thread and `sync_reserved` reserved ones, serving Sellar1
/// and the Adversary (whose `spin` makes the jobs), with its data in `scratch/name`.
fn storm_config(
    root: &Path,
    scratch: &Path,
    name: &str,
    sync_reserved: usize,
) -> anyhow::Result<Config> {
    let sellar1 = root.join("modules/sellar1.wasm");
    let adversary = root.join("tests/fixtures/built/adversary.wasm");
    let mut config = bench_config(&[&sellar1, &adversary], scratch, name)?;
    config.execution.concurrency = 1;
    config.execution.sync_reserved = sync_reserved;
    Ok(config)
}

/// Sellar1's latency over one keep-alive connection (the same measure as the HTTP rows).
async fn sellar1_latency(address: std::net::SocketAddr) -> anyhow::Result<Stats> {
    load(address, Method::POST, SELLAR1, crate::SELLAR1_BODY, 1, None).await
}

/// Queues the storm, measures Sellar1 while it runs, checks it still ran at the end, then
/// dismisses every job of it.
async fn during_storm(address: std::net::SocketAddr) -> anyhow::Result<Stats> {
    let amount = spin_amount_for(address, JOB_TIME).await?;
    let job = format!(r#"{{"attack": "spin", "amount": [{amount}]}}"#);
    let body = format!(r#"{{"inputs": [{}]}}"#, vec![job; STORM_JOBS].join(","));
    let (status, answer) = request(
        address,
        Method::POST,
        "/processes/Adversary/batch",
        body,
        None,
    )
    .await?;
    anyhow::ensure!(status == 201, "storm: {status} {answer}");
    wait_for_running(address, 1).await?;
    let stats = sellar1_latency(address).await?;
    let (_, queued) = request(
        address,
        Method::GET,
        "/jobs?status=accepted&limit=1",
        String::new(),
        None,
    )
    .await?;
    let queued: serde_json::Value = serde_json::from_str(&queued)?;
    anyhow::ensure!(
        queued["jobs"]
            .as_array()
            .is_some_and(|jobs| !jobs.is_empty()),
        "the storm ended before the measurement did"
    );
    let document: serde_json::Value = serde_json::from_str(&answer)?;
    for id in document["jobIDs"].as_array().into_iter().flatten() {
        dismiss(address, id.as_str().unwrap_or_default()).await?;
    }
    Ok(stats)
}

/// The Adversary `spin` amount that computes for about `target`, timed on synchronous calls.
async fn spin_amount_for(address: std::net::SocketAddr, target: Duration) -> anyhow::Result<u64> {
    let mut amount: u64 = 1_000_000;
    loop {
        let body = format!(r#"{{"inputs": {{"attack": "spin", "amount": [{amount}]}}}}"#);
        let begun = Instant::now();
        let (status, answer) = request(
            address,
            Method::POST,
            "/processes/Adversary/execution",
            body,
            None,
        )
        .await?;
        let took = begun.elapsed();
        anyhow::ensure!(status == 200, "spin {amount}: {status} {answer}");
        if took >= target / 4 {
            let scaled = amount as f64 * target.as_secs_f64() / took.as_secs_f64();
            return Ok(scaled as u64);
        }
        amount = amount.saturating_mul(4);
    }
}
