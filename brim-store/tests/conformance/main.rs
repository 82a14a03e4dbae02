//! One contract, every adapter: each test runs against SQLite in memory, SQLite on a file and
//! PostgreSQL (127.0.0.1:5432, or `BRIM_TEST_DATABASE_URL`), each PostgreSQL test in its own
//! schema. Under `CI=true` an unreachable PostgreSQL fails the run; elsewhere it is skipped
//! with a loud message.

use std::sync::atomic::{AtomicU32, Ordering};

mod analytics;
mod concurrency;
mod enrichment;
mod learned;
mod migrations;
mod queue;
mod records;

use brim_core::Lead;
use brim_store::{PgStore, SqliteStore};
use sqlx::postgres::PgConnectOptions;

pub fn pg_url() -> String {
    std::env::var("BRIM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A test's own PostgreSQL schema; `drop` removes it with everything in it.
pub struct Schema {
    admin: sqlx::PgPool,
    name: String,
    options: PgConnectOptions,
}

impl Schema {
    /// Connection options whose `search_path` is this schema.
    pub fn options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    pub async fn drop(self) {
        // The name is built from numbers only. A lock held by a connection still open fails
        // the test after a while instead of hanging it.
        let sql = format!(
            "SET lock_timeout = '20s'; DROP SCHEMA {} CASCADE",
            self.name
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}

/// A PostgreSQL store in a fresh schema, or `None` (skip) when the server is unreachable
/// outside CI.
pub async fn pg_store() -> Option<(PgStore, Schema)> {
    let schema = pg_schema().await?;
    let store = PgStore::connect_with(schema.options()).await.unwrap();
    Some((store, schema))
}

/// A fresh, empty PostgreSQL schema, or `None` (skip) when the server is unreachable outside
/// CI.
pub async fn pg_schema() -> Option<Schema> {
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "brim_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let base: PgConnectOptions = pg_url().parse().expect("a PostgreSQL URL");
    let admin = match sqlx::PgPool::connect_with(base.clone()).await {
        Ok(pool) => pool,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!(
                "SKIPPING the PostgreSQL half of this test: {} unreachable: {e}",
                pg_url()
            );
            return None;
        }
        Err(e) => panic!("PostgreSQL at {} is required under CI=true: {e}", pg_url()),
    };
    // The name is built from numbers only.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let options = base.options([("search_path", schema.as_str())]);
    Some(Schema {
        admin,
        name: schema,
        options,
    })
}

/// Runs `$body` with `$store` bound to each adapter in turn.
#[macro_export]
macro_rules! for_each_store {
    (|$store:ident| $body:block) => {{
        {
            let $store = $crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
            $body
        }
        {
            let dir = $crate::tempfile_dir();
            let url = format!("sqlite://{}/brim.db", dir.display());
            let $store = $crate::SqliteStore::connect(&url).await.unwrap();
            $body
            let _ = std::fs::remove_dir_all(&dir);
        }
        if let Some(($store, schema)) = $crate::pg_store().await {
            $body
            // Closed first: a transaction the body gave up midway ends with its connection,
            // instead of holding locks the schema's DROP would wait for.
            $store.pool().close().await;
            schema.drop().await;
        }
    }};
}

pub fn tempfile_dir() -> std::path::PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "brim-store-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn lead(json: &str) -> Lead {
    Lead::from_json(json).unwrap()
}

/// Raw SQL on a store's own pool, for tests that check what the database itself enforces.
#[allow(async_fn_in_trait)]
pub trait Raw {
    /// Inserts a live e-mail row for `company` directly, bypassing `enqueue`.
    async fn insert_raw_for_test(&self, company: &str) -> Result<(), sqlx::Error>;
}

const RAW_INSERT: &str = "INSERT INTO email_queue (company_id, score, variant, subject, \
     body_text, writer, message_id, status, created_at, due_at, updated_at) \
     VALUES ($1, 1, 'v', 's', 'b', 'llm', $2, 'queued', 0, 0, 0)";

impl Raw for SqliteStore {
    async fn insert_raw_for_test(&self, company: &str) -> Result<(), sqlx::Error> {
        sqlx::query(RAW_INSERT)
            .bind(company)
            .bind(format!("<raw-{company}@test>"))
            .execute(self.pool())
            .await
            .map(drop)
    }
}

impl Raw for PgStore {
    async fn insert_raw_for_test(&self, company: &str) -> Result<(), sqlx::Error> {
        sqlx::query(RAW_INSERT)
            .bind(company)
            .bind(format!("<raw-{company}@test>"))
            .execute(self.pool())
            .await
            .map(drop)
    }
}
