//! What a refused request costs: a batch of 1 000 000 empty items (2.9 MB, past
//! `jobs.max_batch`), sent 5 times; the answer, its time, and the process's peak resident
//! memory against its memory just before.

use std::path::Path;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;

const ITEMS: usize = 1_000_000;
const TIMES: usize = 5;

pub fn huge_batch(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    let (server, address, _) = crate::start_server(sellar1, scratch, "refusals")?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let body = Bytes::from(format!("{{\"inputs\": [{}]}}", vec!["{}"; ITEMS].join(",")));
    crate::reset_peak_memory();
    let before = crate::peak_memory_mib();
    let mut answers = Vec::new();
    let begun = Instant::now();
    for _ in 0..TIMES {
        let status = client.block_on(async {
            let mut sender = crate::connect(address, false).await?;
            let request = Request::post("/processes/Sellar1/batch")
                .header("host", "bench")
                .header("content-type", "application/json")
                .body(Full::new(body.clone()))?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            response.into_body().collect().await?;
            anyhow::Ok(status)
        })?;
        answers.push(status);
    }
    let each_ms = begun.elapsed().as_secs_f64() * 1e3 / TIMES as f64;
    let peak = crate::peak_memory_mib();
    drop(server);
    println!(
        "## A refused batch: {ITEMS} items ({:.1} MB), {TIMES} times\n",
        body.len() as f64 / 1e6
    );
    println!("| answers | ms each | RSS before MiB | peak MiB | peak / before |");
    println!("|---|---|---|---|---|");
    println!(
        "| {answers:?} | {each_ms:.1} | {before:.0} | {peak:.0} | {:.2} |\n",
        peak / before.max(1.0)
    );
    Ok(())
}
