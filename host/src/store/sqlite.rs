//! The job store on an embedded SQLite file in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::write::WriteTransaction;
use super::{
    Inserted, JobFilter, JobId, JobOutcome, JobRecord, JobStatus, NewJob, Recovery, StoreError,
    now_micros,
};

/// What expiring a job does to its row.
pub(super) const EXPIRE: &str =
    "outputs = NULL, jacobian = NULL, logs = NULL, result_bytes = 0, expired_at = ?1";

pub(super) const COLUMNS: &str = "seq, id, owner, process_id, module_digest, status, priority, request, outputs, jacobian, \
    error, progress, message, attempts, fuel_consumed, logs, created_at, started_at, finished_at, updated_at, \
    expired_at";

/// The problem recorded on a job whose worker vanished too often. Its status is the job's
/// failure (422, as for a guest that crashed), not a fault of the server answering for it:
/// `GET /jobs/{id}/results` replays it.
const WORKER_LOST: &str = r#"{"type":"/problems/worker-lost","title":"Worker lost","status":422,"detail":"the process running this job died too many times"}"#;

/// Jobs in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers (WAL: they never wait for the writer).
    pool: SqlitePool,
    /// The one connection that writes. Writers of this process queue for it here, woken as
    /// soon as it is free, instead of meeting in SQLite, whose busy handler sleeps a
    /// millisecond or more at each try.
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies the migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&writer).await?;
        // Readers cannot write: a write sent to the wrong pool fails at once.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.pragma("query_only", "ON"))
            .await?;
        Ok(Self { pool, writer })
    }

    /// The readers' connections, for the other parts of the store.
    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The writing connection: every statement that changes the database goes through it.
    pub(super) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Inserts jobs atomically: all or none. Returns their creation time and numbers.
    pub async fn insert(&self, jobs: &[NewJob]) -> Result<Inserted, StoreError> {
        let now = now_micros();
        let mut transaction = WriteTransaction::begin(&self.writer).await?;
        let mut last_seq = 0;
        for chunk in jobs.chunks(500) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO jobs (id, owner, process_id, module_digest, status, priority, request, created_at, updated_at) ",
            );
            insert.push_values(chunk, |mut row, job| {
                row.push_bind(job.id.to_string())
                    .push_bind(&job.owner)
                    .push_bind(&job.process_id)
                    .push_bind(&job.module_digest)
                    .push_bind(JobStatus::Accepted.as_str())
                    .push_bind(job.priority)
                    .push_bind(&job.request)
                    .push_bind(now)
                    .push_bind(now);
            });
            last_seq = insert
                .build()
                .execute(&mut *transaction)
                .await?
                .last_insert_rowid();
        }
        transaction.commit().await?;
        // The transaction held the write lock: its rows have consecutive numbers.
        let count = i64::try_from(jobs.len()).unwrap_or(i64::MAX);
        Ok(Inserted {
            created_at: now,
            first_seq: last_seq - count + 1,
        })
    }

    /// Records how running jobs ended; returns the ids that were still running (the others
    /// were dismissed meanwhile and keep their status).
    pub async fn finish(&self, outcomes: &[JobOutcome]) -> Result<Vec<JobId>, StoreError> {
        let now = now_micros();
        let mut applied = Vec::with_capacity(outcomes.len());
        let mut transaction = WriteTransaction::begin(&self.writer).await?;
        for outcome in outcomes {
            let done = sqlx::query(
                "UPDATE jobs SET status = ?1, outputs = ?2, jacobian = ?3, error = ?4, fuel_consumed = ?5, \
                 logs = ?6, progress = CASE WHEN ?1 = 'successful' THEN 100 ELSE progress END, \
                 message = CASE WHEN ?1 = 'successful' THEN '' ELSE message END, \
                 finished_at = ?7, updated_at = ?7, \
                 result_bytes = COALESCE(LENGTH(?2), 0) + COALESCE(LENGTH(?3), 0) + COALESCE(LENGTH(?6), 0) + ?9 \
                 WHERE id = ?8 AND status = 'running'",
            )
            .bind(outcome.status.as_str())
            .bind(&outcome.outputs)
            .bind(&outcome.jacobian)
            .bind(&outcome.error)
            .bind(outcome.fuel_consumed.map(|fuel| i64::try_from(fuel).unwrap_or(i64::MAX)))
            .bind(&outcome.logs)
            .bind(now)
            .bind(outcome.id.to_string())
            .bind(i64::try_from(outcome.workspace_bytes).unwrap_or(i64::MAX))
            .execute(&mut *transaction)
            .await?;
            if done.rows_affected() == 1 {
                applied.push(outcome.id);
            }
        }
        transaction.commit().await?;
        Ok(applied)
    }

    /// Records the progress of running jobs.
    pub async fn record_progress(&self, updates: &[(JobId, u8, String)]) -> Result<(), StoreError> {
        let now = now_micros();
        let mut transaction = WriteTransaction::begin(&self.writer).await?;
        for (id, percent, message) in updates {
            sqlx::query(
                "UPDATE jobs SET progress = ?1, message = ?2, updated_at = ?3 WHERE id = ?4 AND status = 'running'",
            )
            .bind(i64::from(*percent))
            .bind(message)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Dismisses a job: a queued one never starts, a running one is marked (its worker is told
    /// separately), a finished one loses its results. Returns the status it had, or `None` if
    /// there is no such job.
    pub async fn dismiss(&self, id: JobId, problem: &str) -> Result<Option<JobStatus>, StoreError> {
        let now = now_micros();
        let mut transaction = WriteTransaction::begin(&self.writer).await?;
        let previous = sqlx::query("SELECT status FROM jobs WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(previous) = previous else {
            transaction.rollback().await?;
            return Ok(None);
        };
        let previous = status_of(&previous.try_get::<String, _>(0)?)?;
        if previous != JobStatus::Dismissed {
            sqlx::query(
                "UPDATE jobs SET status = 'dismissed', outputs = NULL, jacobian = NULL, error = ?1, \
                 logs = NULL, result_bytes = 0, \
                 finished_at = COALESCE(finished_at, ?2), updated_at = ?2 WHERE id = ?3",
            )
            .bind(problem)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(Some(previous))
    }

    /// One job.
    pub async fn get(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// Jobs matching a filter, in insertion order.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM jobs WHERE 1 = 1"));
        if let Some(owner) = &filter.owner {
            query.push(" AND owner = ").push_bind(owner.clone());
        }
        if let Some(process_id) = &filter.process_id {
            query
                .push(" AND process_id = ")
                .push_bind(process_id.clone());
        }
        if !filter.statuses.is_empty() {
            query.push(" AND status IN (");
            let mut statuses = query.separated(", ");
            for status in &filter.statuses {
                statuses.push_bind(status.as_str());
            }
            query.push(")");
        }
        if let Some(from) = filter.created_from {
            query.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = filter.created_to {
            query.push(" AND created_at <= ").push_bind(to);
        }
        if let Some(after) = filter.after_seq {
            query.push(" AND seq > ").push_bind(after);
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(record).collect()
    }

    /// How many jobs wait in the queue.
    pub async fn queued(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'accepted'")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Puts running jobs back in the queue as if never claimed (a stopping server hands back
    /// what it could not finish); returns how many went back.
    pub async fn release(&self, ids: &[JobId]) -> Result<u64, StoreError> {
        let now = now_micros();
        let mut released = 0;
        let mut transaction = WriteTransaction::begin(&self.writer).await?;
        for id in ids {
            let done = sqlx::query(
                "UPDATE jobs SET status = 'accepted', attempts = MAX(attempts - 1, 0), started_at = NULL, \
                 progress = 0, message = 'requeued: the server stopped', updated_at = ?1 \
                 WHERE id = ?2 AND status = 'running'",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *transaction)
            .await?;
            released += done.rows_affected();
        }
        transaction.commit().await?;
        Ok(released)
    }

    /// Expires finished jobs that ended before `cutoff` (Unix microseconds): their results and
    /// logs are removed, their rows stay. Returns the jobs that expired.
    pub async fn expire_finished_before(&self, cutoff: i64) -> Result<Vec<JobId>, StoreError> {
        let rows = sqlx::query(&format!(
            "UPDATE jobs SET {EXPIRE} WHERE expired_at IS NULL \
             AND status IN ('successful', 'failed') AND finished_at < ?2 RETURNING id"
        ))
        .bind(now_micros())
        .bind(cutoff)
        .fetch_all(&self.writer)
        .await?;
        ids_of(&rows)
    }

    /// At start: jobs left running by a dead process go back to the queue, or fail once they
    /// have been attempted `max_attempts` times.
    pub async fn recover(&self, max_attempts: u32) -> Result<Recovery, StoreError> {
        let now = now_micros();
        let rows = sqlx::query(
            "UPDATE jobs SET \
             status = CASE WHEN attempts >= ?1 THEN 'failed' ELSE 'accepted' END, \
             error = CASE WHEN attempts >= ?1 THEN ?2 ELSE error END, \
             finished_at = CASE WHEN attempts >= ?1 THEN ?3 ELSE NULL END, \
             message = CASE WHEN attempts >= ?1 THEN 'worker lost' ELSE 'requeued: worker lost' END, \
             updated_at = ?3 WHERE status = 'running' RETURNING status",
        )
        .bind(max_attempts)
        .bind(WORKER_LOST)
        .bind(now)
        .fetch_all(&self.writer)
        .await?;
        let mut recovery = Recovery::default();
        for row in rows {
            match status_of(&row.try_get::<String, _>(0)?)? {
                JobStatus::Failed => recovery.failed += 1,
                _ => recovery.requeued += 1,
            }
        }
        Ok(recovery)
    }
}

pub(super) fn ids_of(rows: &[SqliteRow]) -> Result<Vec<JobId>, StoreError> {
    rows.iter()
        .map(|row| {
            let id: String = row.try_get(0)?;
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("job id {id:?}")))
        })
        .collect()
}

fn status_of(word: &str) -> Result<JobStatus, StoreError> {
    JobStatus::parse(word).ok_or_else(|| StoreError::Corrupt(format!("unknown status {word:?}")))
}

pub(super) fn record(row: &SqliteRow) -> Result<JobRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of job {id}"));
    Ok(JobRecord {
        seq: row.try_get("seq")?,
        id: id.parse().map_err(|_| corrupt("id"))?,
        owner: row.try_get("owner")?,
        process_id: row.try_get("process_id")?,
        module_digest: row.try_get("module_digest")?,
        status: status_of(&row.try_get::<String, _>("status")?)?,
        priority: row.try_get("priority")?,
        request: row.try_get("request")?,
        outputs: row.try_get("outputs")?,
        jacobian: row.try_get("jacobian")?,
        error: row.try_get("error")?,
        progress: u8::try_from(row.try_get::<i64, _>("progress")?)
            .map_err(|_| corrupt("progress"))?,
        message: row.try_get("message")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?)
            .map_err(|_| corrupt("attempts"))?,
        fuel_consumed: row
            .try_get::<Option<i64>, _>("fuel_consumed")?
            .map(|fuel| u64::try_from(fuel).unwrap_or(0)),
        logs: row.try_get("logs")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        updated_at: row.try_get("updated_at")?,
        expired_at: row.try_get("expired_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunningCaps;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("jobs.sqlite"))
            .await
            .expect("opens");
        (dir, store)
    }

    /// Claims up to `limit` jobs, with no running cap.
    async fn claim(store: &SqliteStore, limit: u32) -> Vec<JobRecord> {
        store
            .claim(limit, &RunningCaps::default())
            .await
            .expect("claim")
            .jobs
    }

    fn job(priority: i32) -> NewJob {
        NewJob {
            id: JobId::new_v4(),
            owner: "alice".into(),
            process_id: "P".into(),
            module_digest: "sha256:00".into(),
            priority,
            request: "{}".into(),
        }
    }

    fn success(id: JobId) -> JobOutcome {
        JobOutcome {
            id,
            status: JobStatus::Successful,
            outputs: Some("{}".into()),
            jacobian: None,
            error: None,
            fuel_consumed: Some(1),
            logs: None,
            workspace_bytes: 0,
        }
    }

    #[tokio::test]
    async fn claims_follow_priority_then_submission_order() {
        let (_dir, store) = store().await;
        let jobs = [job(0), job(5), job(0), job(5)];
        store.insert(&jobs).await.expect("insert");
        let claimed: Vec<JobId> = claim(&store, 3).await.iter().map(|job| job.id).collect();
        assert_eq!(claimed, vec![jobs[1].id, jobs[3].id, jobs[0].id]);
        let last = claim(&store, 10).await;
        assert_eq!(
            last.iter().map(|job| job.id).collect::<Vec<_>>(),
            vec![jobs[2].id]
        );
        assert_eq!(last[0].attempts, 1);
        assert!(claim(&store, 10).await.is_empty());
    }

    #[tokio::test]
    async fn a_claim_of_one_goes_to_the_user_running_fewest_jobs() {
        let (_dir, store) = store().await;
        let alices: Vec<NewJob> = (0..4).map(|_| job(0)).collect();
        store.insert(&alices).await.expect("insert");
        assert_eq!(claim(&store, 1).await[0].id, alices[0].id);
        let bobs = NewJob {
            owner: "bob".into(),
            ..job(0)
        };
        store
            .insert(std::slice::from_ref(&bobs))
            .await
            .expect("insert");
        assert_eq!(
            claim(&store, 1).await[0].id,
            bobs.id,
            "alice runs one, bob none: bob's turn though alice's queue is older"
        );
        assert_eq!(claim(&store, 1).await[0].id, alices[1].id);
    }

    #[tokio::test]
    async fn a_successful_job_keeps_no_progress_message_and_a_failed_one_keeps_its_last() {
        let (_dir, store) = store().await;
        let (done, broken) = (job(0), job(0));
        store
            .insert(&[done.clone(), broken.clone()])
            .await
            .expect("insert");
        claim(&store, 2).await;
        let halfway = |id| (id, 50, "halfway".to_owned());
        store
            .record_progress(&[halfway(done.id), halfway(broken.id)])
            .await
            .expect("progress");
        let failure = JobOutcome {
            status: JobStatus::Failed,
            outputs: None,
            error: Some("{}".into()),
            ..success(broken.id)
        };
        store
            .finish(&[success(done.id), failure])
            .await
            .expect("finish");
        let done = store.get(done.id).await.expect("get").expect("exists");
        assert_eq!((done.progress, done.message.as_str()), (100, ""));
        let broken = store.get(broken.id).await.expect("get").expect("exists");
        assert_eq!((broken.progress, broken.message.as_str()), (50, "halfway"));
    }

    #[tokio::test]
    async fn a_finished_job_never_runs_again_and_a_dismissed_one_stays_dismissed() {
        let (_dir, store) = store().await;
        let (done, dismissed) = (job(0), job(0));
        store
            .insert(&[done.clone(), dismissed.clone()])
            .await
            .expect("insert");
        claim(&store, 2).await;
        assert_eq!(
            store.finish(&[success(done.id)]).await.expect("finish"),
            vec![done.id]
        );
        assert_eq!(
            store.dismiss(dismissed.id, "{}").await.expect("dismiss"),
            Some(JobStatus::Running)
        );
        assert!(
            store
                .finish(&[success(dismissed.id)])
                .await
                .expect("finish")
                .is_empty(),
            "a dismissed job keeps its status"
        );

        let rerun = sqlx::query("UPDATE jobs SET status = 'running' WHERE id = ?1")
            .bind(done.id.to_string())
            .execute(&store.writer)
            .await;
        assert!(
            rerun.is_err(),
            "the database itself refuses to run a finished job again"
        );
        let undismiss = sqlx::query("UPDATE jobs SET status = 'accepted' WHERE id = ?1")
            .bind(dismissed.id.to_string())
            .execute(&store.writer)
            .await;
        assert!(undismiss.is_err());
        let done = store.get(done.id).await.expect("get").expect("exists");
        assert_eq!((done.status, done.progress), (JobStatus::Successful, 100));
    }

    #[tokio::test]
    async fn released_jobs_wait_again_as_if_never_claimed() {
        let (_dir, store) = store().await;
        let handed_back = job(0);
        store
            .insert(std::slice::from_ref(&handed_back))
            .await
            .expect("insert");
        claim(&store, 1).await;
        assert_eq!(store.release(&[handed_back.id]).await.expect("release"), 1);
        let job = store
            .get(handed_back.id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            (job.status, job.attempts, job.started_at),
            (JobStatus::Accepted, 0, None)
        );
        assert_eq!(claim(&store, 1).await.len(), 1);
    }

    /// Inserts, runs and finishes `count` jobs with outputs of `size` bytes, oldest first.
    async fn finished_jobs(store: &SqliteStore, count: usize, size: usize) -> Vec<JobId> {
        let mut ids = Vec::new();
        for _ in 0..count {
            let next = job(0);
            store
                .insert(std::slice::from_ref(&next))
                .await
                .expect("insert");
            claim(store, 1).await;
            let outcome = JobOutcome {
                outputs: Some("x".repeat(size)),
                ..success(next.id)
            };
            store.finish(&[outcome]).await.expect("finish");
            ids.push(next.id);
        }
        ids
    }

    async fn expired(store: &SqliteStore, ids: &[JobId]) -> Vec<bool> {
        let mut flags = Vec::new();
        for id in ids {
            let job = store.get(*id).await.expect("get").expect("exists");
            assert_eq!(
                job.expired_at.is_some(),
                job.outputs.is_none(),
                "expired means no results"
            );
            flags.push(job.expired_at.is_some());
        }
        flags
    }

    #[tokio::test]
    async fn expiry_by_age_removes_exactly_the_results_of_jobs_finished_before_the_cutoff() {
        let (_dir, store) = store().await;
        let old = finished_jobs(&store, 2, 10).await;
        let cutoff = now_micros() + 1;
        let (queued, recent) = (job(0), finished_jobs(&store, 1, 10).await);
        store
            .insert(std::slice::from_ref(&queued))
            .await
            .expect("insert");
        // Jobs finished at the cutoff's microsecond or later, and unfinished ones, stay.
        let recent_finished = store
            .get(recent[0])
            .await
            .expect("get")
            .and_then(|job| job.finished_at);
        let expected = usize::from(recent_finished.is_some_and(|at| at < cutoff));
        let expired_now = store.expire_finished_before(cutoff).await.expect("expire");
        assert_eq!(expired_now.len(), 2 + expected);
        assert_eq!(expired(&store, &old).await, vec![true, true]);
        let queued = store.get(queued.id).await.expect("get").expect("exists");
        assert_eq!(
            (queued.status, queued.expired_at),
            (JobStatus::Accepted, None)
        );
        let again = store.expire_finished_before(cutoff).await.expect("again");
        assert!(again.is_empty(), "nothing expires twice");
    }

    #[tokio::test]
    async fn the_storage_cap_expires_the_oldest_results_first_and_no_more() {
        let (_dir, store) = store().await;
        let ids = finished_jobs(&store, 5, 100).await;
        // 5 × 100 bytes kept; a cap of 250 must free 250: the three oldest.
        let mut freed = store
            .expire_oldest_to_fit("alice", 250)
            .await
            .expect("expire");
        freed.sort();
        let mut oldest = ids[..3].to_vec();
        oldest.sort();
        assert_eq!(freed, oldest);
        assert_eq!(
            expired(&store, &ids).await,
            vec![true, true, true, false, false]
        );
        let again = store
            .expire_oldest_to_fit("alice", 250)
            .await
            .expect("again");
        assert!(again.is_empty(), "under the cap, nothing more");
        assert_eq!(
            store
                .expire_oldest_to_fit("alice", 0)
                .await
                .expect("all")
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn workspace_bytes_count_against_the_storage_cap() {
        let (_dir, store) = store().await;
        let big = job(0);
        store
            .insert(std::slice::from_ref(&big))
            .await
            .expect("insert");
        claim(&store, 1).await;
        let outcome = JobOutcome {
            workspace_bytes: 10_000,
            ..success(big.id)
        };
        store.finish(&[outcome]).await.expect("finish");
        assert_eq!(
            store
                .expire_oldest_to_fit("alice", 5_000)
                .await
                .expect("expire"),
            vec![big.id]
        );
    }

    #[tokio::test]
    async fn what_an_owner_keeps_follows_finishes_dismissals_and_expiry() {
        let (_dir, store) = store().await;
        let kept = |store: &SqliteStore| {
            let store = store.clone();
            async move { store.stored_bytes_of("alice").await.expect("read") }
        };
        let jobs = [job(0), job(0), job(0)];
        store.insert(&jobs).await.expect("insert");
        assert_eq!(kept(&store).await, 0);
        claim(&store, 3).await;
        let outcomes: Vec<JobOutcome> = jobs
            .iter()
            .map(|job| JobOutcome {
                workspace_bytes: 1_000,
                ..success(job.id)
            })
            .collect();
        store.finish(&outcomes).await.expect("finish");
        // Each keeps its outputs ("{}") and its workspace.
        assert_eq!(kept(&store).await, 3 * 1_002);
        store.dismiss(jobs[0].id, "{}").await.expect("dismiss");
        let dismissed = store.get(jobs[0].id).await.expect("read").expect("a job");
        assert_eq!(dismissed.logs, None);
        assert_eq!(kept(&store).await, 2 * 1_002);
        let expired = store.expire_oldest_to_fit("alice", 1_002).await;
        assert_eq!(expired.expect("expire"), vec![jobs[1].id]);
        assert_eq!(kept(&store).await, 1_002);
        assert_eq!(store.stored_bytes_of("bob").await.expect("read"), 0);
        let summed: i64 = sqlx::query_scalar(
            "SELECT SUM(result_bytes) FROM jobs WHERE owner = 'alice' AND expired_at IS NULL",
        )
        .fetch_one(&store.pool)
        .await
        .expect("sum");
        assert_eq!(u64::try_from(summed).ok(), Some(kept(&store).await));
    }

    #[tokio::test]
    async fn recovery_requeues_lost_jobs_until_their_attempts_run_out() {
        let (_dir, store) = store().await;
        let lost = job(0);
        store
            .insert(std::slice::from_ref(&lost))
            .await
            .expect("insert");
        for attempt in 1..=2 {
            claim(&store, 1).await;
            let recovery = store.recover(3).await.expect("recover");
            assert_eq!(
                recovery,
                Recovery {
                    requeued: 1,
                    failed: 0
                },
                "attempt {attempt}"
            );
        }
        claim(&store, 1).await;
        assert_eq!(
            store.recover(3).await.expect("recover"),
            Recovery {
                requeued: 0,
                failed: 1
            }
        );
        let lost = store.get(lost.id).await.expect("get").expect("exists");
        assert_eq!((lost.status, lost.attempts), (JobStatus::Failed, 3));
        let problem: serde_json::Value =
            serde_json::from_str(lost.error.as_deref().unwrap_or_default()).expect("a problem");
        let kind = crate::problem::ProblemKind::WorkerLost;
        assert_eq!(problem["type"], kind.type_uri());
        assert_eq!(problem["title"], kind.title());
        assert_eq!(problem["status"], kind.status().as_u16());
    }

    #[tokio::test]
    async fn a_claim_says_whether_it_passed_over_a_user_at_their_cap() {
        let (_dir, store) = store().await;
        store.insert(&[job(0), job(0)]).await.expect("insert");
        let caps = RunningCaps {
            default: Some(1),
            per_user: std::collections::HashMap::new(),
        };
        let first = store.claim(10, &caps).await.expect("claim");
        assert_eq!((first.jobs.len(), first.capped), (1, false));
        let second = store.claim(10, &caps).await.expect("claim");
        assert_eq!((second.jobs.len(), second.capped), (0, true));
        let unlimited = store
            .claim(10, &RunningCaps::default())
            .await
            .expect("claim");
        assert_eq!((unlimited.jobs.len(), unlimited.capped), (1, false));
        let empty = store
            .claim(10, &RunningCaps::default())
            .await
            .expect("claim");
        assert_eq!((empty.jobs.len(), empty.capped), (0, false));
    }

    #[tokio::test]
    async fn upload_numbers_older_than_the_cutoff_are_forgotten() {
        let (_dir, store) = store().await;
        let old = store
            .number_upload(uuid::Uuid::new_v4(), "alice")
            .await
            .expect("numbered");
        let cutoff = now_micros() + 1;
        std::thread::sleep(Duration::from_millis(5));
        let young = store
            .number_upload(uuid::Uuid::new_v4(), "alice")
            .await
            .expect("numbered");
        let forgotten = store
            .forget_upload_numbers_before(cutoff)
            .await
            .expect("forgotten");
        assert_eq!(forgotten, 1);
        let kept = store
            .numbered_uploads(Some("alice"), 10)
            .await
            .expect("listed");
        assert_eq!(
            kept.iter().map(|upload| upload.number).collect::<Vec<_>>(),
            vec![young]
        );
        assert!(young > old);
    }

    #[tokio::test]
    async fn only_the_writing_connection_writes() {
        let (_dir, store) = store().await;
        let refused = sqlx::query("DELETE FROM jobs").execute(&store.pool).await;
        let message = refused.expect_err("a reader wrote").to_string();
        assert!(message.contains("readonly"), "{message}");
        assert!(
            sqlx::query("DELETE FROM jobs")
                .execute(&store.writer)
                .await
                .is_ok()
        );
    }
}
