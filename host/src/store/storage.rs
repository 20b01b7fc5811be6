//! Storage kept by finished jobs, per owner: what each owner keeps, and the expiry of one
//! owner's oldest results until theirs fit an allowance, so that the collector can hold each
//! user to their own share without touching anyone else's results.

use sqlx::Row;

use super::sqlite::{EXPIRE, ids_of};
use super::{JobId, JobStore, StoreError, now_micros};

/// Jobs whose results count: finished, not yet expired.
const KEPT: &str = "expired_at IS NULL AND status IN ('successful', 'failed')";

impl JobStore {
    /// Bytes kept by each owner's finished jobs (results, logs and workspace files); owners
    /// keeping nothing are left out.
    pub async fn stored_bytes_by_owner(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT owner, SUM(result_bytes) AS kept FROM jobs WHERE {KEPT} \
             GROUP BY owner HAVING kept > 0"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let kept: i64 = row.try_get("kept")?;
                Ok((row.try_get("owner")?, u64::try_from(kept).unwrap_or(0)))
            })
            .collect()
    }

    /// Expires the oldest finished jobs — of `owner` only, or of everyone when `None` — until
    /// their results take at most `cap` bytes. Returns the jobs that expired.
    pub async fn expire_oldest_to_fit(
        &self,
        owner: Option<&str>,
        cap: u64,
    ) -> Result<Vec<JobId>, StoreError> {
        let kept: i64 = sqlx::query_scalar(&format!(
            "SELECT COALESCE(SUM(result_bytes), 0) FROM jobs WHERE {KEPT} \
             AND (?1 IS NULL OR owner = ?1)"
        ))
        .bind(owner)
        .fetch_one(self.pool())
        .await?;
        let excess = kept.saturating_sub(i64::try_from(cap).unwrap_or(i64::MAX));
        if excess <= 0 {
            return Ok(Vec::new());
        }
        // The oldest jobs whose results, added up from the oldest, first reach the excess.
        let rows = sqlx::query(&format!(
            "UPDATE jobs SET {EXPIRE} WHERE seq IN (\
               SELECT seq FROM (\
                 SELECT seq, result_bytes, SUM(result_bytes) OVER (ORDER BY finished_at, seq) AS freed \
                 FROM jobs WHERE {KEPT} AND (?3 IS NULL OR owner = ?3)) \
               WHERE freed - result_bytes < ?2) RETURNING id"
        ))
        .bind(now_micros())
        .bind(excess)
        .bind(owner)
        .fetch_all(self.writer())
        .await?;
        ids_of(&rows)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{JobId, JobOutcome, JobStatus, JobStore, NewJob, RunningCaps};

    async fn store() -> (tempfile::TempDir, JobStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = JobStore::open(&dir.path().join("jobs.sqlite"))
            .await
            .expect("opens");
        (dir, store)
    }

    /// Runs one job of `owner` to success, keeping `bytes` of workspace files.
    async fn finished(store: &JobStore, owner: &str, bytes: u64) -> JobId {
        let id = JobId::new_v4();
        let job = NewJob {
            id,
            owner: owner.into(),
            process_id: "P".into(),
            module_digest: "sha256:00".into(),
            priority: 0,
            request: "{}".into(),
        };
        store.insert(&[job]).await.expect("insert");
        let claim = store
            .claim(1, &RunningCaps::default())
            .await
            .expect("claim");
        assert_eq!(claim.jobs.len(), 1);
        let outcome = JobOutcome {
            id,
            status: JobStatus::Successful,
            outputs: None,
            jacobian: None,
            error: None,
            fuel_consumed: Some(1),
            logs: None,
            workspace_bytes: bytes,
        };
        store.finish(&[outcome]).await.expect("finish");
        id
    }

    async fn is_expired(store: &JobStore, id: JobId) -> bool {
        let job = store.get(id).await.expect("get").expect("exists");
        job.expired_at.is_some()
    }

    #[tokio::test]
    async fn one_owners_expiry_never_touches_another_owners_results() {
        let (_dir, store) = store().await;
        let bobs = finished(&store, "bob", 100).await;
        let alices = [
            finished(&store, "alice", 1000).await,
            finished(&store, "alice", 1000).await,
            finished(&store, "alice", 1000).await,
        ];
        let mut usage = store.stored_bytes_by_owner().await.expect("usage");
        usage.sort();
        assert_eq!(usage, vec![("alice".into(), 3000), ("bob".into(), 100)]);
        let mut expired = store
            .expire_oldest_to_fit(Some("alice"), 1500)
            .await
            .expect("expire");
        expired.sort();
        let mut oldest = alices[..2].to_vec();
        oldest.sort();
        assert_eq!(expired, oldest, "alice's two oldest");
        assert!(!is_expired(&store, alices[2]).await);
        assert!(!is_expired(&store, bobs).await, "bob's older job stays");
        let everyone = store.expire_oldest_to_fit(None, 0).await.expect("all");
        assert_eq!(everyone.len(), 2);
    }
}
