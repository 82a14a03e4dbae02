//! The PostgreSQL adapter: for several servers and workers sharing one database.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::adapter::impl_ports;
use crate::analytics_sql::impl_analytics;
use crate::queue_sql::impl_queue;

/// Brim's store in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:5432/db`) and applies the migrations.
    pub async fn connect(url: &str) -> crate::Result<PgStore> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options (e.g. a `search_path` to keep a test's tables apart).
    pub async fn connect_with(options: PgConnectOptions) -> crate::Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }
}

impl PgStore {
    /// The connection pool, for queries of your own (the schema is documented in the
    /// migrations; write through the ports to keep their contracts).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PgStore {
    /// Scored companies without an e-mail, from the start (see `queue_sql::unqueued!`).
    pub(crate) const UNQUEUED_FIRST: &str = crate::queue_sql::unqueued!("leads l");
    /// The same, past a key.
    pub(crate) const UNQUEUED_AFTER: &str = crate::queue_sql::unqueued!("leads l", after);

    /// PostgreSQL has row locks and many writers: no turn to take (see the SQLite store's);
    /// a single-statement write runs on any connection of the pool.
    pub(crate) async fn write_turn(&self) -> sqlx::Result<PgTurn<'_>> {
        Ok(PgTurn(&self.pool))
    }

    /// PostgreSQL writes scores through the shared SQL (`adapter.rs`): nothing of its own.
    pub(crate) async fn record_directly(
        &self,
        _leads: &[brim_core::Lead],
        _now: i64,
        _scores: &[crate::NewScore],
        _events: &[crate::NewEvent],
    ) -> Option<crate::Result<u64>> {
        None
    }

    /// A write transaction (PostgreSQL's row locks and MVCC need nothing special).
    pub(crate) async fn write_tx(
        &self,
    ) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin().await
    }
}

/// A write outside a transaction: any connection of the pool.
pub(crate) struct PgTurn<'a>(&'a PgPool);

impl<'a> PgTurn<'a> {
    pub(crate) fn conn(&mut self) -> &'a PgPool {
        self.0
    }
}

impl_ports!(PgStore, sqlx::Postgres);
crate::learned::impl_learned!(PgStore, "LOCK TABLE learned_activations IN EXCLUSIVE MODE");
crate::enrichment::impl_enrichment!(PgStore, "GREATEST");
// Concurrent claims skip the rows another transaction has locked instead of waiting for them.
impl_queue!(PgStore, sqlx::Postgres, "FOR UPDATE SKIP LOCKED");
impl_analytics!(PgStore, sqlx::Postgres);
