//! Helpers shared by Brim's benchmarks.

use brim_store::PgStore;

/// A PostgreSQL store in a schema of its own (`brim_bench`, dropped before and after), so a
/// benchmark leaves the database as it found it.
pub struct PgBench {
    /// The store, its tables in `brim_bench`.
    pub store: PgStore,
    admin: sqlx::PgPool,
}

const DROP_SCHEMA: &str = "DROP SCHEMA IF EXISTS brim_bench CASCADE";

/// The PostgreSQL URL benchmarks use: `BRIM_BENCH_DATABASE_URL`, else the local `test`
/// database.
pub fn pg_url() -> String {
    std::env::var("BRIM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Connects to [`pg_url`] in a fresh `brim_bench` schema.
pub async fn pg_bench_store() -> Result<PgBench, String> {
    let url = pg_url();
    let fail = |e: &dyn std::fmt::Display| format!("{url}: {e}");
    let base: sqlx::postgres::PgConnectOptions = url.parse().map_err(|e| fail(&e))?;
    let admin = sqlx::PgPool::connect_with(base.clone())
        .await
        .map_err(|e| fail(&e))?;
    sqlx::query(DROP_SCHEMA)
        .execute(&admin)
        .await
        .map_err(|e| fail(&e))?;
    sqlx::query("CREATE SCHEMA brim_bench")
        .execute(&admin)
        .await
        .map_err(|e| fail(&e))?;
    let store = PgStore::connect_with(base.options([("search_path", "brim_bench")]))
        .await
        .map_err(|e| fail(&e))?;
    Ok(PgBench { store, admin })
}

impl PgBench {
    /// Drops the benchmark's schema.
    pub async fn drop_schema(self) {
        self.store.pool().close().await;
        sqlx::query(DROP_SCHEMA).execute(&self.admin).await.unwrap();
    }
}
