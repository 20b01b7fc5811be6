//! Fair claiming: users take turns. Each claim picks every user's next job (their highest
//! priority, then oldest), round after round, until the claim is full; the users with the
//! fewest jobs running take the first turn, so a claim of a single job goes to whoever runs
//! least. A user never has more jobs running than their cap. One user's 10 000 queued jobs
//! thus delay another user's single job only until the next claim.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite};

use super::sqlite::{COLUMNS, record};
use super::write::WriteTransaction;
use super::{JobRecord, JobStore, StoreError, now_micros};

/// How many jobs each user may have running (claimed) at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunningCaps {
    /// The cap of users without their own; `None`: no cap.
    pub default: Option<u64>,
    /// Caps of named users.
    pub per_user: HashMap<String, u64>,
}

impl RunningCaps {
    /// The cap of `user` (`u64::MAX` when none).
    pub fn of(&self, user: &str) -> u64 {
        self.per_user
            .get(user)
            .copied()
            .or(self.default)
            .unwrap_or(u64::MAX)
    }
}

/// What a claim took.
#[derive(Debug, Default)]
pub struct Claim {
    /// The jobs now running, users taking turns.
    pub jobs: Vec<JobRecord>,
    /// Whether a user with queued jobs was passed over for being at their running cap: one of
    /// their jobs ending may make room.
    pub capped: bool,
}

impl JobStore {
    /// How many jobs of `owner` wait in the queue.
    pub async fn queued_of(&self, owner: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE status = 'accepted' AND owner = ?1",
        )
        .bind(owner)
        .fetch_one(self.pool())
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Bytes kept by the finished jobs of `owner` (results, logs, workspace files): one row
    /// that triggers keep current, however many jobs the owner has.
    pub async fn stored_bytes_of(&self, owner: &str) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT COALESCE((SELECT bytes FROM stored_by_owner WHERE owner = ?1), 0)",
        )
        .bind(owner)
        .fetch_one(self.pool())
        .await?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Moves up to `limit` accepted jobs to running, users taking turns (see the module), each
    /// user's own jobs by priority then submission order.
    pub async fn claim(&self, limit: u32, caps: &RunningCaps) -> Result<Claim, StoreError> {
        let mut transaction = WriteTransaction::begin(self.writer()).await?;
        let running: HashMap<String, i64> = sqlx::query(
            "SELECT owner, COUNT(*) AS n FROM jobs WHERE status = 'running' GROUP BY owner",
        )
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("owner")?, row.try_get("n")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        // The distinct owners of queued jobs by skipping through the per-user queue index (one
        // seek per owner), never reading the whole queue; the planner would otherwise pick the
        // status index and scan every queued row.
        let waiting: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE owners(owner) AS ( \
                SELECT MIN(owner) FROM jobs INDEXED BY jobs_queued_by_owner WHERE status = 'accepted' \
                UNION ALL \
                SELECT (SELECT MIN(owner) FROM jobs INDEXED BY jobs_queued_by_owner \
                        WHERE status = 'accepted' AND owner > owners.owner) \
                FROM owners WHERE owner IS NOT NULL \
             ) SELECT owner FROM owners WHERE owner IS NOT NULL",
        )
        .fetch_all(&mut *transaction)
        .await?;
        let mut queues = Vec::with_capacity(waiting.len());
        let mut capped = false;
        for owner in waiting {
            let busy = u64::try_from(running.get(&owner).copied().unwrap_or(0)).unwrap_or(0);
            let room = caps.of(&owner).saturating_sub(busy).min(u64::from(limit));
            if room == 0 {
                capped = true;
                continue;
            }
            let seqs: Vec<i64> = sqlx::query_scalar(
                "SELECT seq FROM jobs WHERE status = 'accepted' AND owner = ?1 \
                 ORDER BY priority DESC, seq LIMIT ?2",
            )
            .bind(&owner)
            .bind(i64::try_from(room).unwrap_or(i64::MAX))
            .fetch_all(&mut *transaction)
            .await?;
            queues.push((busy, seqs));
        }
        // Who runs fewest jobs takes the first turn (else a claim of one job, as when a single
        // guest thread frees, would always go to the user with the oldest queue); among equals,
        // whose oldest claimable job came first.
        queues.sort_by_key(|(busy, seqs)| (*busy, seqs.iter().min().copied().unwrap_or(i64::MAX)));
        let chosen = take_turns(
            queues.into_iter().map(|(_, seqs)| seqs).collect(),
            limit as usize,
        );
        if chosen.is_empty() {
            transaction.rollback().await?;
            return Ok(Claim {
                jobs: Vec::new(),
                capped,
            });
        }
        let now = now_micros();
        let mut update = QueryBuilder::<Sqlite>::new(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, progress = 0, message = '', started_at = ",
        );
        update
            .push_bind(now)
            .push(", updated_at = ")
            .push_bind(now)
            .push(" WHERE status = 'accepted' AND seq IN (");
        let mut list = update.separated(", ");
        for seq in &chosen {
            list.push_bind(*seq);
        }
        update.push(format!(") RETURNING {COLUMNS}"));
        let rows = update.build().fetch_all(&mut *transaction).await?;
        transaction.commit().await?;
        let order: HashMap<i64, usize> = chosen
            .iter()
            .enumerate()
            .map(|(at, seq)| (*seq, at))
            .collect();
        let mut jobs = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|job| order.get(&job.seq).copied().unwrap_or(usize::MAX));
        Ok(Claim { jobs, capped })
    }
}

/// Round-robin over the users' queues: everyone's first, then everyone's second…, at most
/// `limit` in all.
fn take_turns(queues: Vec<Vec<i64>>, limit: usize) -> Vec<i64> {
    let mut chosen = Vec::with_capacity(limit);
    let mut queues: Vec<std::vec::IntoIter<i64>> = queues.into_iter().map(Vec::into_iter).collect();
    while chosen.len() < limit && !queues.is_empty() {
        queues.retain_mut(|queue| match queue.next() {
            Some(seq) if chosen.len() < limit => {
                chosen.push(seq);
                true
            }
            _ => false,
        });
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_take_turns_until_the_claim_is_full() {
        let queues = vec![vec![1, 2, 3, 4], vec![10], vec![20, 21]];
        assert_eq!(take_turns(queues.clone(), 10), vec![1, 10, 20, 2, 21, 3, 4]);
        assert_eq!(take_turns(queues, 4), vec![1, 10, 20, 2]);
        assert!(take_turns(Vec::new(), 4).is_empty());
    }

    #[test]
    fn caps_fall_back_to_the_default_then_to_none() {
        let caps = RunningCaps {
            default: Some(2),
            per_user: HashMap::from([("alice".to_owned(), 5)]),
        };
        assert_eq!((caps.of("alice"), caps.of("bob")), (5, 2));
        assert_eq!(RunningCaps::default().of("bob"), u64::MAX);
    }
}
