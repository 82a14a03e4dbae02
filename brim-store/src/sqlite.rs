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
        // A file's WAL is checkpointed by this store's checkpointer (see `Checkpointer`), off
        // the commit path, instead of by whichever commit crosses 1,000 pages.
        let options = if memory {
            options
        } else {
            options
                .pragma("wal_autocheckpoint", "0")
                .pragma("journal_size_limit", WAL_SIZE_LIMIT)
        };
        // An in-memory database lives in one connection; a file is shared by several.
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let writer = Arc::new(tokio::sync::Mutex::new(()));
        if !memory {
            Checkpointer::spawn(pool.clone(), Arc::downgrade(&writer));
        }
        Ok(SqliteStore { pool, writer })
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

/// Moves a file database's WAL into the database file in the background, so that no commit
/// waits for a checkpoint (with SQLite's automatic checkpoint, the commit that crosses 1,000
/// WAL pages copies them into the database and syncs it before it returns).
///
/// Every [`CHECKPOINT_EVERY`] it runs a PASSIVE checkpoint (it copies what it can without blocking readers
/// or writers); a page changed many times in between is copied once. Once the WAL holds more
/// than [`RESTART_AT_PAGES`], it runs PASSIVE passes until all but a few pages are copied, then
/// takes this process's writer turn for one more (it copies those few while no writer of this
/// process adds any), after which the next commit starts
/// the WAL file from its beginning again: the WAL stays bounded under continuous writes.
/// Other processes on the same file (a `brim worker`) run their own; SQLite lets one
/// checkpoint run at a time and the others return at once.
/// The task ends within one period of the last clone of its store being dropped.
struct Checkpointer {
    pool: SqlitePool,
    writer: std::sync::Weak<tokio::sync::Mutex<()>>,
}

impl Checkpointer {
    fn spawn(pool: SqlitePool, writer: std::sync::Weak<tokio::sync::Mutex<()>>) {
        tokio::spawn(Checkpointer { pool, writer }.run());
    }

    async fn run(self) {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if self.pool.is_closed() {
                return;
            }
            let Some(writer) = self.writer.upgrade() else {
                return;
            };
            if let Err(e) = self.checkpoint(&writer).await {
                tracing::warn!(error = %e, "WAL checkpoint failed; retrying next period");
            }
        }
    }

    async fn checkpoint(&self, writer: &Arc<tokio::sync::Mutex<()>>) -> sqlx::Result<()> {
        // PASSIVE passes until the WAL is small again or all but a few pages are copied (each
        // pass copies what was written during the one before); then a last one under the lock.
        for _ in 0..8 {
            let (_, wal_pages, copied) = self.passive().await?;
            if wal_pages <= RESTART_AT_PAGES {
                return Ok(());
            }
            if wal_pages - copied <= RESTART_REMAINDER {
                let _turn = tokio::time::timeout(BUSY_TIMEOUT, writer.lock())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                let started = std::time::Instant::now();
                // PASSIVE again, now that no writer of this process can add pages: it copies
                // the rest, and the next commit starts the WAL over. (RESTART would also wait
                // for readers, sleeping in SQLite's busy handler while writers wait here.)
                let (busy, pages, copied) = self.passive().await?;
                tracing::debug!(busy, pages, copied, took = ?started.elapsed(), "WAL copied");
                return Ok(());
            }
        }
        Ok(())
    }

    /// One PASSIVE checkpoint: (busy, pages in the WAL, pages copied).
    async fn passive(&self) -> sqlx::Result<(i64, i64, i64)> {
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&self.pool)
            .await
    }
}

/// How often the checkpointer copies the WAL into the database, and the WAL size (pages of
/// 4 KiB) from which it starts it over. Measured under the load benchmark (docs/PERFORMANCE.md):
/// 100 ms / 4,096 pages gave the best throughput and median; 250-1,000 ms and 1,024-32,768
/// pages were within noise or had longer tails.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
const RESTART_AT_PAGES: i64 = 4096;
/// WAL pages the last checkpoint before a restart may still have to copy while writers wait.
const RESTART_REMAINDER: i64 = 256;
/// The WAL file is cut back to this size when it starts over (it is reused, not regrown).
const WAL_SIZE_LIMIT: &str = "67108864";

impl_ports!(SqliteStore, sqlx::Sqlite);
// SQLite has one writer: taking the write lock before the claim reads makes the pick and the
// lease one step no other connection can interleave with.
impl_queue!(SqliteStore, sqlx::Sqlite, "");
impl_analytics!(SqliteStore, sqlx::Sqlite);
