//! Integer handles for protocols whose ids are integers (gemseo-http): jobs by `seq`, users by
//! row number, uploads by a number of their own; and jobs recorded already finished.

use uuid::Uuid;

use super::sqlite::{COLUMNS, record};
use super::{JobOutcome, JobRecord, JobStore, NewJob, StoreError, now_micros};

/// An upload's number, and the upload it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberedUpload {
    /// The integer handle.
    pub number: i64,
    /// The upload's id in `Uploads`.
    pub upload_id: Uuid,
}

impl JobStore {
    /// The job inserted as number `seq`.
    pub async fn get_by_seq(&self, seq: i64) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE seq = ?1");
        let row = sqlx::query(&sql)
            .bind(seq)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// Inserts a job that already ran (a synchronous execution kept as a job, or a request
    /// refused before it could run), as `outcome` says it ended. Returns the job as stored.
    pub async fn insert_finished(
        &self,
        job: &NewJob,
        outcome: &JobOutcome,
        started_at: i64,
    ) -> Result<JobRecord, StoreError> {
        let now = now_micros();
        let sql = format!(
            "INSERT INTO jobs (id, owner, process_id, module_digest, status, priority, request, outputs, \
             jacobian, error, progress, attempts, fuel_consumed, logs, created_at, started_at, finished_at, \
             updated_at, result_bytes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?5 = 'successful' THEN 100 ELSE 0 END, \
             1, ?11, ?12, ?13, ?13, ?14, ?14, \
             COALESCE(LENGTH(?8), 0) + COALESCE(LENGTH(?9), 0) + COALESCE(LENGTH(?12), 0) + ?15) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(job.id.to_string())
            .bind(&job.owner)
            .bind(&job.process_id)
            .bind(&job.module_digest)
            .bind(outcome.status.as_str())
            .bind(job.priority)
            .bind(&job.request)
            .bind(&outcome.outputs)
            .bind(&outcome.jacobian)
            .bind(&outcome.error)
            .bind(
                outcome
                    .fuel_consumed
                    .map(|fuel| i64::try_from(fuel).unwrap_or(i64::MAX)),
            )
            .bind(&outcome.logs)
            .bind(started_at)
            .bind(now)
            .bind(i64::try_from(outcome.workspace_bytes).unwrap_or(i64::MAX))
            .fetch_one(self.writer())
            .await?;
        record(&row)
    }

    /// The row number of user `name`, if the user is in the users table.
    pub async fn user_number(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT rowid FROM users WHERE name = ?1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Gives upload `upload_id` of `owner` a number.
    pub async fn number_upload(&self, upload_id: Uuid, owner: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO upload_numbers (upload_id, owner, created_at) VALUES (?1, ?2, ?3) RETURNING number",
        )
        .bind(upload_id.to_string())
        .bind(owner)
        .bind(now_micros())
        .fetch_one(self.writer())
        .await?)
    }

    /// Forgets the numbers of uploads made before `cutoff` (Unix microseconds), whose files the
    /// collector removes at the same age; returns how many.
    pub async fn forget_upload_numbers_before(&self, cutoff: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM upload_numbers WHERE created_at < ?1")
            .bind(cutoff)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    /// The numbered uploads of `owner` (of everyone when `None`), oldest first, at most `limit`.
    pub async fn numbered_uploads(
        &self,
        owner: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NumberedUpload>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT number, upload_id FROM upload_numbers WHERE ?1 IS NULL OR owner = ?1 \
             ORDER BY number LIMIT ?2",
        )
        .bind(owner)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(number, upload_id)| {
                let upload_id = upload_id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("upload number {number}")))?;
                Ok(NumberedUpload { number, upload_id })
            })
            .collect()
    }
}
