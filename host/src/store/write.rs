//! Write transactions that never outlive an error. sqlx's own transactions keep a count of
//! their depth beside SQLite's; when SQLite rolls a transaction back by itself (a full disk,
//! an I/O error) the rollback sqlx then sends fails, the count stays at one, and every later
//! transaction on that connection became a savepoint inside one that never commits: writes
//! acknowledged and lost. Here the statements are SQLite's own, and a transaction neither
//! committed nor rolled back (an error, an early `?`, a dropped request) closes its
//! connection, which rolls it back; the pool opens a clean one for the next writer.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use super::StoreError;

/// An open transaction on the writing connection; dereferences to the connection.
pub(super) struct WriteTransaction {
    connection: PoolConnection<Sqlite>,
    open: bool,
}

impl WriteTransaction {
    /// Begins a transaction that takes the write lock at once (`BEGIN IMMEDIATE`): one that
    /// reads before it writes never fails half way for another writer.
    pub(super) async fn begin(writer: &SqlitePool) -> Result<Self, StoreError> {
        let mut connection = writer.acquire().await?;
        if let Err(error) = sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *connection)
            .await
        {
            connection.close_on_drop();
            return Err(error.into());
        }
        Ok(Self {
            connection,
            open: true,
        })
    }

    /// Commits; once this returns `Ok` the writes are durable.
    pub(super) async fn commit(self) -> Result<(), StoreError> {
        self.end("COMMIT").await
    }

    /// Ends a transaction that changed nothing worth keeping, keeping its connection.
    pub(super) async fn rollback(self) -> Result<(), StoreError> {
        self.end("ROLLBACK").await
    }

    /// Ends the transaction with `statement`; if that fails, dropping closes the connection.
    async fn end(mut self, statement: &'static str) -> Result<(), StoreError> {
        sqlx::query(statement)
            .execute(&mut *self.connection)
            .await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for WriteTransaction {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.connection
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.connection
    }
}

impl Drop for WriteTransaction {
    /// Still open: closing the connection rolls the transaction back, whatever state SQLite
    /// and sqlx left it in.
    fn drop(&mut self) {
        if self.open {
            self.connection.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobStore;

    async fn rows(store: &JobStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(store.pool())
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn a_transaction_that_fails_leaves_no_trace_and_the_next_one_commits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = JobStore::open(&dir.path().join("jobs.sqlite"))
            .await
            .expect("opens");
        let mut failing = WriteTransaction::begin(store.writer())
            .await
            .expect("begin");
        sqlx::query("INSERT INTO users (name, role, created_at) VALUES ('lost', 'user', 0)")
            .execute(&mut *failing)
            .await
            .expect("insert");
        let refused = sqlx::query("INSERT INTO no_such_table VALUES (1)")
            .execute(&mut *failing)
            .await;
        assert!(refused.is_err());
        drop(failing);

        let mut next = WriteTransaction::begin(store.writer())
            .await
            .expect("begin");
        sqlx::query("INSERT INTO users (name, role, created_at) VALUES ('kept', 'user', 0)")
            .execute(&mut *next)
            .await
            .expect("insert");
        next.commit().await.expect("commit");
        assert_eq!(rows(&store).await, 1, "only the committed row is there");
    }
}
