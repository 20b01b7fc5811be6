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

    /// Expires the oldest finished jobs of `owner` until their results take at most `cap`
    /// bytes, in one statement. Returns the jobs that expired.
    pub async fn expire_oldest_to_fit(
        &self,
        owner: &str,
        cap: u64,
    ) -> Result<Vec<JobId>, StoreError> {
        // The oldest jobs whose results, added up from the oldest, first reach what the owner
        // keeps beyond `cap` (none when within it).
        let rows = sqlx::query(&format!(
            "UPDATE jobs SET {EXPIRE} WHERE seq IN (\
               SELECT seq FROM (\
                 SELECT seq, result_bytes, \
                        SUM(result_bytes) OVER (ORDER BY finished_at, seq) AS freed, \
                        SUM(result_bytes) OVER () AS kept \
                 FROM jobs WHERE {KEPT} AND owner = ?3) \
               WHERE freed - result_bytes < kept - ?2) RETURNING id"
        ))
        .bind(now_micros())
        .bind(i64::try_from(cap).unwrap_or(i64::MAX))
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
            .expire_oldest_to_fit("alice", 1500)
            .await
            .expect("expire");
        expired.sort();
        let mut oldest = alices[..2].to_vec();
        oldest.sort();
        assert_eq!(expired, oldest, "alice's two oldest");
        assert!(!is_expired(&store, alices[2]).await);
        assert!(!is_expired(&store, bobs).await, "bob's older job stays");
        let mut everyone = store.expire_oldest_to_fit("alice", 0).await.expect("all");
        everyone.extend(store.expire_oldest_to_fit("bob", 0).await.expect("all"));
        assert_eq!(everyone.len(), 2);
    }
}
