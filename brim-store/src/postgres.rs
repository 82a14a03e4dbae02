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
    /// PostgreSQL has row locks and many writers: no turn to take (see the SQLite store's).
    pub(crate) async fn write_turn(&self) -> sqlx::Result<()> {
        Ok(())
    }

    /// A write transaction (PostgreSQL's row locks and MVCC need nothing special).
    pub(crate) async fn write_tx(
        &self,
    ) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin().await
    }
}

impl_ports!(PgStore, sqlx::Postgres);
// Concurrent claims skip the rows another transaction has locked instead of waiting for them.
impl_queue!(PgStore, sqlx::Postgres, "FOR UPDATE SKIP LOCKED");
impl_analytics!(PgStore, sqlx::Postgres);
