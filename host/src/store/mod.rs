//! The job store: every asynchronous job from acceptance to its end, and the users and tokens
//! they belong to, in SQL.
//!
//! The public API is independent of the database: today it is backed by an embedded SQLite
//! file (WAL); a PostgreSQL backend slots in behind the same methods.

mod accounts;
mod fair;
mod handles;
mod sqlite;
mod storage;
mod write;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use uuid::Uuid;

pub use accounts::{Removal, TokenOwner, TokenRecord, UserRecord};
pub use fair::{Claim, RunningCaps};
pub use handles::NumberedUpload;
pub use sqlite::SqliteStore as JobStore;

/// A job's public id.
pub type JobId = Uuid;

/// Where a job is in its life. Transitions: accepted → running → successful | failed, any
/// state → dismissed, and running → accepted only when a lost worker's job is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a worker.
    Accepted,
    /// A worker runs it.
    Running,
    /// Finished with outputs.
    Successful,
    /// Finished with an error.
    Failed,
    /// Cancelled, or its results removed, on request.
    Dismissed,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Accepted,
        Self::Running,
        Self::Successful,
        Self::Failed,
        Self::Dismissed,
    ];

    /// The word stored and shown (OGC's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Running => "running",
            Self::Successful => "successful",
            Self::Failed => "failed",
            Self::Dismissed => "dismissed",
        }
    }

    /// Parses a stored or requested word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == word)
    }

    /// Whether the job has ended (it will never run again).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Successful | Self::Failed | Self::Dismissed)
    }
}

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its id.
    pub id: JobId,
    /// The user it belongs to.
    pub owner: String,
    /// The process it runs.
    pub process_id: String,
    /// The exact module it must run.
    pub module_digest: String,
    /// Higher runs first; FIFO within a priority.
    pub priority: i32,
    /// JSON of what to run (see `scheduler::StoredRequest`).
    pub request: String,
}

impl NewJob {
    /// The record of this job as just inserted at `created_at` as number `seq`.
    pub fn accepted_record(&self, created_at: i64, seq: i64) -> JobRecord {
        JobRecord {
            seq,
            id: self.id,
            owner: self.owner.clone(),
            process_id: self.process_id.clone(),
            module_digest: self.module_digest.clone(),
            status: JobStatus::Accepted,
            priority: self.priority,
            request: self.request.clone(),
            outputs: None,
            jacobian: None,
            error: None,
            progress: 0,
            message: String::new(),
            attempts: 0,
            fuel_consumed: None,
            logs: None,
            created_at,
            started_at: None,
            finished_at: None,
            updated_at: created_at,
            expired_at: None,
        }
    }
}

/// What inserting jobs gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// Their creation time (Unix microseconds).
    pub created_at: i64,
    /// The number (`seq`) of the first; the others follow it in order.
    pub first_seq: i64,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Insertion order, used as the paging cursor.
    pub seq: i64,
    /// Its id.
    pub id: JobId,
    /// The user it belongs to.
    pub owner: String,
    /// The process it runs.
    pub process_id: String,
    /// The exact module it runs.
    pub module_digest: String,
    /// Where it is in its life.
    pub status: JobStatus,
    /// Its priority.
    pub priority: i32,
    /// JSON of what to run.
    pub request: String,
    /// JSON outputs, once successful.
    pub outputs: Option<String>,
    /// JSON Jacobian, once successful with linearization.
    pub jacobian: Option<String>,
    /// JSON problem document, once failed or dismissed.
    pub error: Option<String>,
    /// Progress, 0 to 100.
    pub progress: u8,
    /// The last progress message.
    pub message: String,
    /// How many times a worker took it.
    pub attempts: u32,
    /// Fuel burnt by the last attempt.
    pub fuel_consumed: Option<u64>,
    /// JSON of the captured stdout, stderr and log lines.
    pub logs: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
    /// Unix microseconds.
    pub started_at: Option<i64>,
    /// Unix microseconds.
    pub finished_at: Option<i64>,
    /// Unix microseconds.
    pub updated_at: i64,
    /// When its results were removed by garbage collection (Unix microseconds).
    pub expired_at: Option<i64>,
}

/// How a running job ended.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// The job.
    pub id: JobId,
    /// `Successful` or `Failed`.
    pub status: JobStatus,
    /// JSON outputs, when successful.
    pub outputs: Option<String>,
    /// JSON Jacobian, when successful with linearization.
    pub jacobian: Option<String>,
    /// JSON problem document, when failed.
    pub error: Option<String>,
    /// Fuel burnt.
    pub fuel_consumed: Option<u64>,
    /// JSON of captured streams and log lines.
    pub logs: Option<String>,
    /// Bytes its workspace holds, counted against the storage cap with its results.
    pub workspace_bytes: u64,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this user's jobs (all users' when `None`).
    pub owner: Option<String>,
    /// Only this process.
    pub process_id: Option<String>,
    /// Only these statuses (all when empty).
    pub statuses: Vec<JobStatus>,
    /// Created at or after (Unix microseconds).
    pub created_from: Option<i64>,
    /// Created at or before (Unix microseconds).
    pub created_to: Option<i64>,
    /// Only jobs inserted after this cursor.
    pub after_seq: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// What recovery did at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Jobs put back in the queue.
    pub requeued: u64,
    /// Jobs failed after too many attempts.
    pub failed: u64,
}

/// The store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value is not what the schema allows.
    #[error("corrupt job row: {0}")]
    Corrupt(String),
}

/// SQLite's primary result code for a write refused for want of disk space.
const SQLITE_FULL: i32 = 13;

impl StoreError {
    /// Whether the database could not write for want of disk space (nothing was written).
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(error)) => error
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| code & 0xff == SQLITE_FULL),
            Self::Database(sqlx::Error::Io(error)) => {
                error.kind() == std::io::ErrorKind::StorageFull
            }
            _ => false,
        }
    }
}

/// Now, in Unix microseconds.
pub fn now_micros() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}
