//! The garbage collector: finished jobs lose their results and logs by age, and the oldest
//! lose them first when the results kept would exceed the storage cap. Rows are kept.

use std::time::Duration;

use crate::store::{JobStore, now_micros};

/// When and how much to collect.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Results of jobs finished longer ago than this are removed.
    pub max_age: Duration,
    /// The most bytes of results and logs kept in all.
    pub max_bytes: u64,
    /// How often the collector runs (it also runs once at start).
    pub interval: Duration,
}

/// Runs one collection, then one every `interval`, until the runtime stops.
pub fn start(store: JobStore, retention: Retention) {
    tokio::spawn(async move {
        loop {
            collect(&store, &retention).await;
            tokio::time::sleep(retention.interval).await;
        }
    });
}

/// One collection: by age, then to fit the cap.
pub async fn collect(store: &JobStore, retention: &Retention) {
    let age = i64::try_from(retention.max_age.as_micros()).unwrap_or(i64::MAX);
    let by_age = store
        .expire_finished_before(now_micros().saturating_sub(age))
        .await;
    let by_size = store.expire_to_fit(retention.max_bytes).await;
    match (by_age, by_size) {
        (Ok(0), Ok(0)) => {}
        (Ok(by_age), Ok(by_size)) => {
            tracing::info!(by_age, by_size, "expired the results of finished jobs")
        }
        (Err(error), _) | (_, Err(error)) => tracing::error!(%error, "garbage collection failed"),
    }
}
