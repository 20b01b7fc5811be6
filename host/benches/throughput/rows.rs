//! Whether a call's cost grows with the jobs already stored: gemseo synchronous executions
//! (each writes a job row) and OGC asynchronous submissions of Sellar1 over 16 connections, on
//! stores holding 0, 100 000 and 1 000 000 finished jobs of the caller's.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::Method;
use sqlx::Connection;

use host::Config;
use host::store::JobStore;

/// The gemseo-http client's synchronous execution of Sellar1 at its defaults.
const GEMSEO_BODY: &str = r#"{"input_data": {}}"#;
const STORED: [u64; 3] = [0, 100_000, 1_000_000];

/// One fresh server per store size, each measured for both calls.
pub fn submissions_by_stored_jobs(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    println!(
        "## Submissions as stored jobs grow (Sellar1, 16 connections, {}s per figure)\n",
        crate::MEASURE.as_secs()
    );
    println!(
        "| stored jobs | gemseo sync req/s | vs empty store | OGC async submissions/s | vs empty store |\n|---|---|---|---|---|"
    );
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut empty: Option<(f64, f64)> = None;
    for stored in STORED {
        let config = crate::bench_config(&[sellar1], scratch, &format!("rows-{stored}"))?;
        client.block_on(fill(&config, stored))?;
        let (server, address) = crate::serve(config)?;
        let gemseo = client.block_on(crate::load(
            address,
            Method::POST,
            "/v1/discipline/Sellar1/execute",
            GEMSEO_BODY,
            16,
            None,
        ))?;
        let ogc = client.block_on(crate::load(
            address,
            Method::POST,
            "/processes/Sellar1/execution",
            crate::SELLAR1_BODY,
            16,
            Some("respond-async"),
        ))?;
        drop(server);
        let (gemseo_empty, ogc_empty) = *empty.get_or_insert((gemseo.per_second, ogc.per_second));
        println!(
            "| {stored} | {:.0} | {:.2} | {:.0} | {:.2} |",
            gemseo.per_second,
            gemseo.per_second / gemseo_empty,
            ogc.per_second,
            ogc.per_second / ogc_empty
        );
    }
    println!();
    Ok(())
}

/// Creates the store of `config` and fills it with `count` finished Sellar1 jobs of the open
/// mode's caller, as synchronous gemseo executions leave them, all recent (none expires).
async fn fill(config: &Config, count: u64) -> anyhow::Result<()> {
    let path = config.jobs_database();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    drop(JobStore::open(&path).await?);
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 WHERE ?1 > 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO jobs (id, owner, process_id, module_digest, status, priority, request, outputs, \
                           progress, created_at, started_at, finished_at, updated_at, result_bytes) \
         SELECT lower(hex(randomblob(16))), ?2, 'Sellar1', 'sha256:bench', 'successful', 0, \
                '{\"inputs\": {\"x_1\": [0.5]}}', '{\"y_1\": [1.0]}', 100, \
                ?3 - ?1 + i, ?3 - ?1 + i, ?3 - ?1 + i, ?3 - ?1 + i, 40 FROM n",
    )
    .bind(i64::try_from(count)?)
    .bind(host::auth::OPEN_MODE_USER)
    // Finished over the last second (one job a microsecond), well within the retention.
    .bind(i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros())?)
    .execute(&mut connection)
    .await?;
    connection.close().await?;
    Ok(())
}
