//! The SQLite adapter: a file (or memory), nothing to install; the embedded default.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::adapter::impl_ports;
use crate::analytics_sql::impl_analytics;
use crate::queue_sql::impl_queue;

/// Brim's store in SQLite. WAL mode, one writer at a time (SQLite's own rule), many readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Writers of this process take turns here before `BEGIN IMMEDIATE` (see `write_tx`).
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// How long a writer waits for its turn: in this process, then for SQLite's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A write transaction of this process: the SQLite transaction, and this process's turn as the
/// writer, given back when it commits or is dropped.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::SqliteConnection;

    fn deref(&self) -> &sqlx::SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` — `sqlite://brim.db`, or
    /// `sqlite::memory:` for a private in-memory database — and applies the migrations.
    pub async fn connect(url: &str) -> crate::Result<SqliteStore> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(if memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            // SQLite's default page cache is 2 MB: a growing event log and its indexes then
            // re-read pages from the OS on every batch. 64 MB of cache keeps the hot pages at
            // hand (memory-mapped reads were tried and were slower; see docs/PERFORMANCE.md).
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        // An in-memory database lives in one connection; a file is shared by several.
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }
}

impl SqliteStore {
    /// A write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`). A
    /// deferred transaction that reads before it writes fails with `SQLITE_BUSY` (without
    /// waiting) when another connection wrote in between; this one waits its turn instead
    /// (`busy_timeout`). Measured: concurrent score requests failed ~45 % of the time without it.
    ///
    /// Writers of this process first take turns on an async lock: a waiting writer is woken the
    /// moment the previous one commits, where SQLite's busy handler would poll with sleeps of
    /// up to 100 ms. Other processes on the same file still meet `busy_timeout`.
    pub(crate) async fn write_tx(&self) -> sqlx::Result<WriteTx> {
        let turn = self.write_turn().await?;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// This process's turn as the writer (also for a single-statement write outside
    /// `write_tx`). Waits as long as SQLite's own `busy_timeout` would, then gives up.
    pub(crate) async fn write_turn(&self) -> sqlx::Result<tokio::sync::OwnedMutexGuard<()>> {
        tokio::time::timeout(BUSY_TIMEOUT, self.writer.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// The connection pool, for queries of your own (the schema is documented in the
    /// migrations; write through the ports to keep their contracts).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl_ports!(SqliteStore, sqlx::Sqlite);
// SQLite has one writer: taking the write lock before the claim reads makes the pick and the
// lease one step no other connection can interleave with.
impl_queue!(SqliteStore, sqlx::Sqlite, "");
impl_analytics!(SqliteStore, sqlx::Sqlite);
