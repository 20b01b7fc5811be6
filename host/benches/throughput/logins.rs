//! A flood of logins: 1 000 attempts at once with unknown names, from 100 loopback addresses
//! (10 each, under every address's limit, so each one reaches the password check), while an
//! administrator's authenticated calls go on beside it. Prints the answers, the process's peak
//! resident memory against its memory just before, and the authenticated calls' latency.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

use host::auth::AuthMode;
use host::config::AuthSettings;

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef0123456789";
const ADDRESSES: u8 = 100;
const PER_ADDRESS: usize = 10;

pub fn flood(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    let mut config = crate::bench_config(&[sellar1], scratch, "logins")?;
    config.auth = AuthSettings {
        mode: AuthMode::Tokens,
        bootstrap_token: Some(ADMIN_TOKEN.into()),
        ..AuthSettings::default()
    };
    let (server, address) = crate::serve(config)?;
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    client.block_on(authenticated_call(address))?;
    crate::reset_peak_memory();
    let before = crate::peak_memory_mib();
    let (statuses, calls, took) = client.block_on(async {
        let begun = Instant::now();
        let attempts = attempts(address);
        let beside = calls_while(address, attempts);
        let (statuses, calls) = beside.await;
        (statuses, calls, begun.elapsed())
    });
    let statuses = statuses?;
    let mut calls = calls?;
    let peak = crate::peak_memory_mib();
    drop(server);
    let count = |code: u16| statuses.iter().filter(|status| **status == code).count();
    calls.sort();
    let p50 = calls.get(calls.len() / 2).copied().unwrap_or_default();
    let max = calls.last().copied().unwrap_or_default();
    println!(
        "## A flood of logins: {} at once, unknown names, {ADDRESSES} addresses\n",
        statuses.len()
    );
    println!(
        "| 401 | 503 busy | 429 | other | flood s | RSS before MiB | peak MiB | peak / before | authenticated calls | p50 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {:.2} | {before:.0} | {peak:.0} | {:.2} | {} | {:.1} | {:.1} |\n",
        count(401),
        count(503),
        count(429),
        statuses.len() - count(401) - count(503) - count(429),
        took.as_secs_f64(),
        peak / before.max(1.0),
        calls.len(),
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
    Ok(())
}

/// Every attempt of the flood at once, each on its own connection from its address (raw
/// hyper: the client's own memory stays small beside the server's); their statuses.
async fn attempts(address: SocketAddr) -> anyhow::Result<Vec<u16>> {
    let mut all = Vec::new();
    for host in 1..=ADDRESSES {
        for index in 0..PER_ADDRESS {
            all.push(tokio::spawn(attempt(address, host, index)));
        }
    }
    let mut statuses = Vec::with_capacity(all.len());
    for attempt in all {
        statuses.push(attempt.await??);
    }
    Ok(statuses)
}

/// One login with an unknown name from `127.0.0.<host>`.
async fn attempt(address: SocketAddr, host: u8, index: usize) -> anyhow::Result<u16> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, host], 0)))?;
    let stream = socket.connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let body = format!("username=nobody-{host}-{index}&password=whatever-password");
    let request = Request::post("/token")
        .header("host", "bench")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// Authenticated calls one after another until `flood` ends; its result and their latencies.
async fn calls_while(
    address: SocketAddr,
    flood: impl Future<Output = anyhow::Result<Vec<u16>>>,
) -> (anyhow::Result<Vec<u16>>, anyhow::Result<Vec<Duration>>) {
    let mut flood = std::pin::pin!(flood);
    let mut latencies = Vec::new();
    loop {
        let call = async {
            let begun = Instant::now();
            authenticated_call(address).await.map(|()| begun.elapsed())
        };
        tokio::select! {
            statuses = &mut flood => return (statuses, Ok(latencies)),
            took = call => match took {
                Ok(took) => latencies.push(took),
                Err(error) => return (flood.await, Err(error)),
            },
        }
    }
}

async fn authenticated_call(address: SocketAddr) -> anyhow::Result<()> {
    let mut sender = crate::connect(address, true).await?;
    let request = Request::get("/users/me")
        .header("host", "bench")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    anyhow::ensure!(status == 200, "GET /users/me: {status}");
    Ok(())
}
