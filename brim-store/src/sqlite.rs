//! The SQLite adapter: a file (or memory), nothing to install; the embedded default.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::ConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::adapter::impl_ports;
use crate::analytics_sql::impl_analytics;
use crate::queue_sql::impl_queue;

/// What a committed write (an answered request) survives, on a file database.
///
/// Either way the database is never corrupted and a transaction is stored whole or not at
/// all; what differs is whether the last commits before a power cut are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// SQLite's `synchronous = NORMAL` in WAL mode (the default): a committed write survives
    /// the process crashing (killed, panicked); a power cut or an operating-system crash can
    /// lose the commits since the last checkpoint's sync.
    #[default]
    Process,
    /// `synchronous = FULL`: the WAL is synced to the disk at every commit, so a committed
    /// write also survives a power cut. Costs one `fsync` per commit (group commit shares it
    /// among the requests of a batch; numbers in docs/PERFORMANCE.md).
    PowerLoss,
}

/// Brim's store in SQLite. WAL mode, one writer at a time (SQLite's own rule), many readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// This process's writing side: writers take turns on it (see `write_tx`).
    writer: Arc<tokio::sync::Mutex<Writer>>,
    /// A file database: scores are written through `Writer::direct`.
    file: bool,
}

/// How long a writer waits for its turn: in this process, then for SQLite's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a writer's turn holds.
#[derive(Debug)]
struct Writer {
    /// A file database's connection for writing, kept for the store's life, outside the pool.
    /// A connection whose database another connection changed drops its whole page cache at
    /// its next transaction, and a pooled connection is pinged on every return to the pool;
    /// writing through one connection of its own keeps its cache warm and costs no round trip
    /// but the statements' own. `None` for an in-memory database, whose one connection is the
    /// pool's.
    conn: Option<SqliteConnection>,
    /// A file database's scoring writer (`record_scored`, `save_scores`): a rusqlite
    /// connection whose statements run on the calling thread (`sqlite_direct`). `None` for an
    /// in-memory database, which is written through the pool's connection.
    direct: Option<crate::sqlite_direct::Direct>,
    /// An in-memory database's idle second connection, which keeps the database alive when
    /// the pool replaces its connection (see `SqliteStore::connect`); never used.
    #[allow(dead_code)]
    keeper: Option<SqliteConnection>,
    /// A transaction was left open by a writer dropped before it finished (an error, or a
    /// cancelled future): the next turn rolls it back before anything else.
    abandoned: bool,
}

/// This process's turn as the writer, with the connection to write through; given back when
/// dropped.
pub(crate) struct WriteTurn {
    writer: tokio::sync::OwnedMutexGuard<Writer>,
    /// The pool's connection, for an in-memory database.
    pooled: Option<PoolConnection<sqlx::Sqlite>>,
}

impl WriteTurn {
    /// The connection this turn writes through.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        match (&mut self.pooled, &mut self.writer.conn) {
            (Some(pooled), _) => pooled,
            (None, Some(own)) => own,
            (None, None) => unreachable!("a turn without its own connection holds a pooled one"),
        }
    }

    /// Rolls back what an abandoned writer left open ("no transaction is active" is fine).
    async fn recover(&mut self) {
        if self.writer.abandoned {
            let _ = sqlx::query("ROLLBACK").execute(self.conn()).await;
            self.writer.abandoned = false;
        }
    }
}

/// A write transaction of this process (`BEGIN IMMEDIATE` ... `COMMIT`) in its writer turn.
/// Dropped before `commit` succeeds, it rolls back in a task of its own that keeps the turn
/// until done (or, without a runtime, leaves that to the next turn).
pub(crate) struct WriteTx {
    turn: Option<WriteTurn>,
}

impl WriteTx {
    pub(crate) async fn commit(mut self) -> sqlx::Result<()> {
        sqlx::query("COMMIT").execute(&mut *self).await?;
        self.turn = None;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(mut turn) = self.turn.take() {
            turn.writer.abandoned = true;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { turn.recover().await });
            }
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        let turn = self
            .turn
            .as_ref()
            .expect("an open transaction has its turn");
        match (&turn.pooled, &turn.writer.conn) {
            (Some(pooled), _) => pooled,
            (None, Some(own)) => own,
            (None, None) => unreachable!("a turn without its own connection holds a pooled one"),
        }
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.turn
            .as_mut()
            .expect("an open transaction has its turn")
            .conn()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` — `sqlite://brim.db`, or
    /// `sqlite::memory:` for a private in-memory database — and applies the migrations, with
    /// the default [`Durability`] (a committed write survives the process crashing).
    pub async fn connect(url: &str) -> crate::Result<SqliteStore> {
        Self::connect_with(url, Durability::default()).await
    }

    /// [`SqliteStore::connect`] with a chosen [`Durability`].
    pub async fn connect_with(url: &str, durability: Durability) -> crate::Result<SqliteStore> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(if memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            .synchronous(match durability {
                Durability::Process => SqliteSynchronous::Normal,
                Durability::PowerLoss => SqliteSynchronous::Full,
            })
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
        // An in-memory database lives in one connection; a file is shared by several readers
        // and written through a connection of its own.
        let mut pool_options = SqlitePoolOptions::new().max_connections(if memory { 1 } else { 4 });
        if memory {
            // The pool must not close the database's connection for being idle or old: an
            // in-memory database ends with its last connection.
            pool_options = pool_options.idle_timeout(None).max_lifetime(None);
        }
        let pool = pool_options.connect_with(options.clone()).await?;
        // sqlx opens `sqlite::memory:` as a named shared-cache database, which lives while any
        // connection to it is open. The pool replaces a connection left unusable by a cancelled
        // query (it fails the ping on its way back), and the new one would find an empty
        // database: this idle connection, kept for the store's life, keeps the data alive.
        let keeper = if memory {
            Some(options.connect().await?)
        } else {
            None
        };
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let conn = if memory {
            None
        } else {
            Some(
                options
                    .clone()
                    .pragma("cache_size", WRITER_CACHE)
                    .statement_cache_capacity(WRITER_STATEMENTS)
                    .connect()
                    .await?,
            )
        };
        let direct = if memory {
            None
        } else {
            Some(crate::sqlite_direct::Direct::open(
                options.get_filename(),
                durability,
                BUSY_TIMEOUT,
                WRITER_CACHE,
                WAL_SIZE_LIMIT,
            )?)
        };
        let writer = Arc::new(tokio::sync::Mutex::new(Writer {
            direct,
            conn,
            keeper,
            abandoned: false,
        }));
        if !memory {
            Checkpointer::spawn(pool.clone(), Arc::downgrade(&writer));
        }
        Ok(SqliteStore {
            pool,
            writer,
            file: !memory,
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
        // Counted as open before BEGIN is sent: if this future is dropped while BEGIN is on its
        // way, the rollback still follows it on the connection.
        let mut tx = WriteTx {
            turn: Some(self.write_turn().await?),
        };
        sqlx::query(BEGIN).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// This process's turn as the writer (also for a single-statement write outside
    /// `write_tx`, through `WriteTurn::conn`). Waits as long as SQLite's own `busy_timeout`
    /// would, then gives up.
    pub(crate) async fn write_turn(&self) -> sqlx::Result<WriteTurn> {
        let writer = tokio::time::timeout(BUSY_TIMEOUT, self.writer.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        let pooled = match writer.conn {
            Some(_) => None,
            None => Some(self.pool.acquire().await?),
        };
        let mut turn = WriteTurn { writer, pooled };
        turn.recover().await;
        Ok(turn)
    }

    /// Scored companies without an e-mail, from the start (see `queue_sql::unqueued!`).
    /// `INDEXED BY`: without statistics SQLite's planner takes the e-mail status index for
    /// `email_status IS NULL` and sorts every company without an e-mail for each page.
    pub(crate) const UNQUEUED_FIRST: &str =
        crate::queue_sql::unqueued!("leads l INDEXED BY leads_date");
    /// The same, past a key.
    pub(crate) const UNQUEUED_AFTER: &str =
        crate::queue_sql::unqueued!("leads l INDEXED BY leads_date", after);

    /// On a file database, what `record_scored` (and `save_scores`) writes, through the scoring writer
    /// (`sqlite_direct`) in this process's writer turn, the transaction run synchronously on
    /// this thread (nothing awaits between its `BEGIN` and its `COMMIT`, so no cancelled caller
    /// can leave it open). `None` for an in-memory database.
    pub(crate) async fn record_directly(
        &self,
        leads: &[brim_core::Lead],
        now: i64,
        scores: &[crate::NewScore],
        events: &[crate::NewEvent],
    ) -> Option<crate::Result<u64>> {
        if !self.file {
            return None;
        }
        let mut turn = match self.write_turn().await {
            Ok(turn) => turn,
            Err(e) => return Some(Err(e.into())),
        };
        let direct = turn.writer.direct.as_mut()?;
        let started = std::time::Instant::now();
        let result = off_the_runtime(|| direct.record(leads, now, scores, events));
        let took = started.elapsed();
        if took >= SLOW {
            // sqlx warns of its own slow statements; this connection is not sqlx's.
            tracing::warn!(
                ?took,
                scores = scores.len(),
                ok = result.is_ok(),
                "slow record_scored transaction"
            );
        }
        Some(result)
    }

    /// The connection pool, for reads of your own (the schema is documented in the
    /// migrations). Write through the ports: they keep the contracts (the merge rule, the
    /// latest score on each company's row, the queue's statuses); the schema's triggers keep
    /// only the e-mail status on `leads`.
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
/// than [`RESTART_AT_PAGES`], it runs PASSIVE passes until one finds only a few new pages to
/// copy (measured: one pass after the WAL was caught up still left 1,300-1,700 pages, 7-14 ms of
/// copying, for the pass under the lock), then
/// takes this process's writer turn for one more (it copies those few while no writer of this
/// process adds any), after which the next commit starts
/// the WAL file from its beginning again: the WAL stays bounded under continuous writes.
/// Other processes on the same file (a `brim worker`) run their own; SQLite lets one
/// checkpoint run at a time and the others return at once.
/// The task ends within one period of the last clone of its store being dropped.
struct Checkpointer {
    pool: SqlitePool,
    writer: std::sync::Weak<tokio::sync::Mutex<Writer>>,
}

impl Checkpointer {
    fn spawn(pool: SqlitePool, writer: std::sync::Weak<tokio::sync::Mutex<Writer>>) {
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

    async fn checkpoint(&self, writer: &Arc<tokio::sync::Mutex<Writer>>) -> sqlx::Result<()> {
        // PASSIVE passes until the WAL is small again, or until a pass found only a few new
        // pages to copy (each pass copies what was written during the one before, so they get
        // shorter); then a last one under the lock, which copies what came in meanwhile.
        let mut copied_before: Option<i64> = None;
        for _ in 0..16 {
            let (_, wal_pages, copied) = self.passive().await?;
            if wal_pages <= RESTART_AT_PAGES {
                return Ok(());
            }
            let fresh = copied_before.map(|before| copied - before);
            copied_before = Some(copied);
            if fresh.is_some_and(|fresh| fresh <= RESTART_REMAINDER) && copied == wal_pages {
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

/// The statement that opens a write transaction (see [`SqliteStore::write_tx`]).
pub(crate) const BEGIN: &str = "BEGIN IMMEDIATE";

/// The writing connection's page cache (KiB, as SQLite's negative `cache_size`): smaller than
/// the readers' on purpose. SQLite's default page cache visits every page it holds at each
/// commit that follows a b-tree balance while the database is under 1 GiB, so a bigger cache
/// costs more than its hits save. Measured under the load benchmark: the writer's CPU per
/// request 122 µs at 64 MiB, 99 µs at 8-16 MiB, 103-106 µs at 2-4 MiB.
const WRITER_CACHE: &str = "-16384";
/// A scoring transaction that took this long is logged (sqlx's threshold for its slow
/// statements).
const SLOW: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `f`, which blocks its thread for a while (a batch's whole transaction), where the
/// runtime allows it: on a multi-threaded Tokio runtime the worker hands its other tasks to
/// the others first; elsewhere (the recorder's own thread, a single-threaded runtime) it
/// simply runs.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Prepared statements sqlx keeps for the writing connection: the queue's and the ports'
/// fixed statements and their multi-row INSERTs (one text per row count).
const WRITER_STATEMENTS: usize = 256;

/// How often the checkpointer copies the WAL into the database, and the WAL size (pages of
/// 4 KiB) from which it starts it over. A page written by many commits between two passes is
/// copied once, so longer periods copy less: under the load benchmark (~12-16 k scored
/// requests/s, docs/PERFORMANCE.md) the checkpoints took ~15 % of the machine's CPU at 100 ms;
/// 500 ms gave +7.5 % requests/s (median ratio of ten alternating pairs, seven of them faster)
/// with the same p99, and +10 % over 60 s. (At 2-3 k requests/s, where they were first
/// measured, 100 ms / 4,096 pages was best and 250-1,000 ms within noise.)
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
const RESTART_AT_PAGES: i64 = 4096;
/// The passes before the one under the writer's lock go on until a pass copied at most this many
/// new pages: the one under the lock then has about as few to copy while writers wait.
/// Measured under the load benchmark (docs/PERFORMANCE.md, side by side): 256 pages held the
/// writer 4-8 ms a time, p99 21.8-27.0 ms; 64, p99 15.7-20.4 ms at the same throughput; 16 no
/// better than 64.
const RESTART_REMAINDER: i64 = 64;
/// The WAL file is cut back to this size when it starts over (it is reused, not regrown).
/// Under a load of 12-18 k scored requests/s the WAL reached 70-270 MB between start-overs with
/// a checkpoint every 100 ms, 480-690 MB with one every 500 ms; a start-over that finds it
/// past the limit truncates it on the commit that started it, and on a file system mounted
/// with `discard` the truncation waits for the device (5-10 ms, the p99's tail: 30-32 ms
/// against 10-15 ms when the WAL stayed under the limit, docs/PERFORMANCE.md). So the limit is
/// well above what a sustained load reaches: a file that large stays only after such a load.
const WAL_SIZE_LIMIT: &str = "1073741824";

impl_ports!(SqliteStore, sqlx::Sqlite);
crate::learned::impl_learned!(SqliteStore, "");
crate::enrichment::impl_enrichment!(SqliteStore, "max");
// SQLite has one writer: taking the write lock before the claim reads makes the pick and the
// lease one step no other connection can interleave with.
impl_queue!(SqliteStore, sqlx::Sqlite, "");
impl_analytics!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    /// An empty folder of the system's temporary one, and the URL of a database file in it.
    fn fresh_file(name: &str) -> (std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("brim-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("brim.db").display());
        (dir, url)
    }

    /// A lead (from its JSON), its balanced score and its `score_calculated` event, at `at`.
    fn scored(json: &str, at: i64) -> (brim_core::Lead, crate::NewScore, crate::NewEvent) {
        let lead = brim_core::Lead::from_json(json).unwrap();
        let report = brim_core::Scorer::preset("balanced").unwrap().report(&lead);
        let event = crate::NewEvent {
            event_type: crate::EventType::ScoreCalculated,
            occurred_at: at,
            user_id: None,
            company_id: Some(report.company_id.clone()),
            payload: serde_json::json!({"score": report.total_score}),
        };
        let score = crate::NewScore {
            report,
            scored_at: at,
        };
        (lead, score, event)
    }

    async fn count(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM suppressions")
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    async fn insert(tx: &mut super::WriteTx, value: &str) {
        sqlx::query(
            "INSERT INTO suppressions (value, reason, created_at) VALUES ($1, 'manual', 0)",
        )
        .bind(value)
        .execute(&mut **tx)
        .await
        .unwrap();
    }

    /// A batch that fails inside its transaction (here a trigger refuses its event, so the
    /// last INSERT fails after the lead and score went in) is rolled back whole, the error is
    /// SQLite's, and the writer goes on: the next batch is stored; and the store closes and
    /// reopens its file cleanly.
    #[tokio::test]
    async fn a_failed_batch_is_rolled_back_whole_and_the_next_one_stored() {
        use crate::{EventStore, LeadStore, ScoreStore};
        let (dir, url) = fresh_file("failed-batch");
        let batch = |name: &str| scored(&format!(r#"{{"company_name": "{name}"}}"#), 5);
        {
            let store = SqliteStore::connect(&url).await.unwrap();
            let (lead, score, event) = batch("First");
            store
                .record_scored(&[lead], 5, &[score], &[event])
                .await
                .unwrap();
            // Events are refused behind the store's back (the batch's last INSERT fails).
            sqlx::raw_sql(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON events \
                 BEGIN SELECT RAISE(ABORT, 'test: events refused'); END",
            )
            .execute(store.pool())
            .await
            .unwrap();
            let (lead, score, event) = batch("Second");
            let second = score.report.company_id.clone();
            let err = store
                .record_scored(&[lead], 5, &[score], &[event])
                .await
                .unwrap_err();
            assert!(err.to_string().contains("test: events refused"), "{err}");
            assert!(store.get_lead(&second).await.unwrap().is_none());
            assert!(store.score_history(&second).await.unwrap().is_empty());

            // Repaired, the writer goes on.
            sqlx::raw_sql("DROP TRIGGER test_refuse")
                .execute(store.pool())
                .await
                .unwrap();
            let (lead, score, event) = batch("Third");
            let third = score.report.company_id.clone();
            store
                .record_scored(&[lead], 5, &[score], &[event])
                .await
                .unwrap();
            assert!(store.get_lead(&third).await.unwrap().is_some());
            assert_eq!(store.score_history(&third).await.unwrap().len(), 1);
            assert_eq!(store.events_for_company(&third).await.unwrap().len(), 1);
        }
        // Dropped with its kept statements: the file opens again, nothing lost.
        let store = SqliteStore::connect(&url).await.unwrap();
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(stored, 2);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A new company's row that breaks a constraint fails the batch (here a stored company
    /// rescored, then the new one): it is stored not at all, the error says which constraint,
    /// and the next batch goes through.
    #[tokio::test]
    async fn a_new_company_breaking_a_constraint_rolls_the_batch_back() {
        use crate::{LeadStore, ScoreStore};
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let (lead, score, event) = scored(r#"{"company_name": "Acme"}"#, 1);
        let acme = score.report.company_id.clone();
        store
            .record_scored(&[lead], 1, &[score], &[event])
            .await
            .unwrap();
        // A constraint the schema does not have, so that a new row can break it: another
        // company (its own id) with Acme's name.
        sqlx::raw_sql("CREATE UNIQUE INDEX test_one_name ON leads (company_name)")
            .execute(store.pool())
            .await
            .unwrap();
        let (lead_a, score_a, event_a) = scored(r#"{"company_name": "Acme"}"#, 2);
        let (lead_b, score_b, event_b) = scored(r#"{"id": "crm-7", "company_name": "Acme"}"#, 2);
        let err = store
            .record_scored(
                &[lead_a, lead_b],
                2,
                &[score_a, score_b],
                &[event_a, event_b],
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("UNIQUE constraint failed: leads.company_name"),
            "{err}"
        );
        assert!(store.get_lead("crm-7").await.unwrap().is_none());
        let history = store.score_history(&acme).await.unwrap();
        assert_eq!(history.len(), 1, "Acme's rescore went back with the batch");
        assert_eq!(
            store.latest_score(&acme).await.unwrap().unwrap().scored_at,
            1
        );

        let (lead, score, event) = scored(r#"{"id": "crm-8", "company_name": "Beta"}"#, 3);
        store
            .record_scored(&[lead], 3, &[score], &[event])
            .await
            .unwrap();
        assert!(store.get_lead("crm-8").await.unwrap().is_some());
        let (lead, score, event) = scored(r#"{"company_name": "Acme"}"#, 4);
        store
            .record_scored(&[lead], 4, &[score], &[event])
            .await
            .unwrap();
        assert_eq!(store.score_history(&acme).await.unwrap().len(), 2);
    }

    /// A write transaction dropped before its commit (an error, or a cancelled caller) is
    /// rolled back, and the next writer gets a connection with no transaction open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_dropped_before_its_commit_is_rolled_back_and_writing_goes_on() {
        let (dir, file) = fresh_file("writer");
        for url in [file, "sqlite::memory:".to_string()] {
            let store = SqliteStore::connect(&url).await.unwrap();
            let mut tx = store.write_tx().await.unwrap();
            insert(&mut tx, "dropped@example.com").await;
            drop(tx);
            let mut tx = store.write_tx().await.unwrap();
            insert(&mut tx, "kept@example.com").await;
            tx.commit().await.unwrap();
            assert_eq!(count(&store).await, 1, "{url}");

            // Left open where no runtime could roll it back: the next turn does it first.
            let mut tx = store.write_tx().await.unwrap();
            insert(&mut tx, "abandoned@example.com").await;
            let mut turn = tx.turn.take().unwrap();
            turn.writer.abandoned = true;
            drop(turn);
            let mut tx = store.write_tx().await.unwrap();
            insert(&mut tx, "after@example.com").await;
            tx.commit().await.unwrap();
            assert_eq!(count(&store).await, 2, "{url}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A caller that gives up while its `BEGIN` is on the way to the connection (an HTTP
    /// client that disconnects) leaves no transaction open behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_tx_dropped_while_it_begins_leaves_no_transaction_open() {
        use std::future::Future;
        let (dir, url) = fresh_file("begin");
        let store = SqliteStore::connect(&url).await.unwrap();
        for i in 0..20 {
            {
                let mut begin = std::pin::pin!(store.write_tx());
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                let _ = begin.as_mut().poll(&mut cx);
            }
            let mut tx = store.write_tx().await.unwrap();
            insert(&mut tx, &format!("{i}@example.com")).await;
            tx.commit().await.unwrap();
        }
        assert_eq!(count(&store).await, 20);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `Durability` sets `synchronous` on every connection of a file store, the scoring
    /// writer's included (NORMAL = 1, FULL = 2), and both keep the WAL's checkpoints to the
    /// store's checkpointer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn durability_sets_synchronous_on_every_connection() {
        let (dir, url) = fresh_file("durability");
        for (durability, level) in [
            (super::Durability::Process, 1),
            (super::Durability::PowerLoss, 2),
        ] {
            let store = SqliteStore::connect_with(&url, durability).await.unwrap();
            let read: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await
                .unwrap();
            let mut turn = store.write_turn().await.unwrap();
            let written: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(turn.conn())
                .await
                .unwrap();
            let direct = turn.writer.direct.as_ref().unwrap();
            assert_eq!(
                (read, written, direct.pragma("synchronous")),
                (level, level, level),
                "{durability:?}"
            );
            assert_eq!(direct.pragma("wal_autocheckpoint"), 0);
            assert_eq!(direct.pragma("busy_timeout"), 10_000);
            drop(turn);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The e-mail sweep's pages (`unqueued_leads`) walk the date index: neither sorts, and a
    /// page past a key seeks to it instead of scanning from the start (the sweep used to count
    /// and sort every company without an e-mail for each page: ~1 s a page at a few million).
    #[tokio::test]
    async fn unqueued_pages_seek_the_date_index_without_a_sort() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        for (sql, binds) in [
            (SqliteStore::UNQUEUED_FIRST, 1),
            (SqliteStore::UNQUEUED_AFTER, 3),
        ] {
            let mut plan = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(
                format!("EXPLAIN QUERY PLAN {sql}"),
            ));
            for _ in 0..binds {
                plan = plan.bind(1_i64);
            }
            let plan: Vec<String> = plan
                .fetch_all(&store.pool)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.3)
                .collect();
            let plan = plan.join("; ");
            assert!(plan.contains("USING INDEX leads_date"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
            if binds > 1 {
                assert!(plan.starts_with("SEARCH"), "a seek, not a scan: {plan}");
            }
        }
    }
}
