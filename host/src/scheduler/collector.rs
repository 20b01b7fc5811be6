//! The garbage collector: finished jobs lose their results and logs by age; then each user
//! keeping more than their allowance (their own storage quota, and their share of the global
//! storage cap: see `allowances`) loses their own oldest ones. Rows are kept. Uploaded files
//! go by age too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::allowances::allowances;
use crate::files::{Disposal, Uploads};
use crate::quotas::Quotas;
use crate::store::{JobId, JobStore, now_micros};

/// When and how much to collect.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Results of jobs finished longer ago than this are removed.
    pub max_age: Duration,
    /// The most bytes of results and logs kept in all.
    pub max_bytes: u64,
    /// Each user's storage quota (`max_workspace_bytes`).
    pub quotas: Quotas,
    /// How often the collector runs (it also runs once at start).
    pub interval: Duration,
}

/// Runs one collection, then one every `interval`, until the runtime stops; the workspaces
/// of expired jobs (directories named by job id under `jobs_dir`) are removed too, and
/// uploads older than the retention.
pub fn start(
    store: JobStore,
    retention: Retention,
    jobs_dir: PathBuf,
    uploads: Uploads,
    disposal: Disposal,
) {
    tokio::spawn(async move {
        loop {
            collect(&store, &retention, &jobs_dir, &disposal).await;
            remove_old_uploads(&store, &uploads, retention.max_age).await;
            tokio::time::sleep(retention.interval).await;
        }
    });
}

/// Removes uploads older than `max_age`, and their numbers: a client uploads its files again
/// for each execution (GEMSEO's does), and nothing else would ever remove them; and what
/// crashed or abandoned uploads left (partial files, chunks).
async fn remove_old_uploads(store: &JobStore, uploads: &Uploads, max_age: Duration) {
    let age = i64::try_from(max_age.as_micros()).unwrap_or(i64::MAX);
    let numbers = store
        .forget_upload_numbers_before(now_micros().saturating_sub(age))
        .await;
    if let Err(error) = numbers {
        tracing::error!(%error, "forgetting old upload numbers failed");
    }
    let uploads = uploads.clone();
    let removed = tokio::task::spawn_blocking(move || {
        (
            uploads.remove_older_than(max_age),
            uploads.remove_abandoned(),
        )
    })
    .await;
    match removed {
        Ok((old, abandoned)) => {
            if old > 0 {
                tracing::info!(removed = old, "removed old uploads");
            }
            abandoned.log("by the collector");
        }
        Err(error) => tracing::error!(%error, "removing old uploads failed"),
    }
}

/// One collection: by age, then each user to their allowance.
pub async fn collect(
    store: &JobStore,
    retention: &Retention,
    jobs_dir: &Path,
    disposal: &Disposal,
) {
    let age = i64::try_from(retention.max_age.as_micros()).unwrap_or(i64::MAX);
    // Whatever expired is removed, even when another part of the collection failed: an
    // expired job is never looked at again, so its directory would stay for good.
    let by_age = store
        .expire_finished_before(now_micros().saturating_sub(age))
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "expiring results by age failed");
            Vec::new()
        });
    let by_size = expire_to_allowances(store, retention).await;
    if by_age.is_empty() && by_size.is_empty() {
        return;
    }
    tracing::info!(
        by_age = by_age.len(),
        by_size = by_size.len(),
        "expired finished jobs"
    );
    let dirs: Vec<PathBuf> = by_age
        .iter()
        .chain(&by_size)
        .map(|id: &JobId| jobs_dir.join(id.to_string()))
        .collect();
    let disposal = disposal.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for dir in dirs {
            disposal.dispose(&dir);
        }
    })
    .await;
}

/// Expires, user by user, the oldest results of each user keeping more than their allowance;
/// one user's failure is logged and the others go on.
async fn expire_to_allowances(store: &JobStore, retention: &Retention) -> Vec<JobId> {
    let usage = match store.stored_bytes_by_owner().await {
        Ok(usage) => usage,
        Err(error) => {
            tracing::error!(%error, "reading the storage kept failed");
            return Vec::new();
        }
    };
    let quota_of = |owner: &str| retention.quotas.of(owner).max_workspace_bytes;
    let mut expired = Vec::new();
    for (owner, allowed) in allowances(&usage, quota_of, retention.max_bytes) {
        match store.expire_oldest_to_fit(&owner, allowed).await {
            Ok(ids) => expired.extend(ids),
            Err(error) => tracing::error!(%error, owner, "expiring results to fit failed"),
        }
    }
    expired
}
