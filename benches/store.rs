//! Event-append speed: `cargo bench -p brim-benches --bench store`.
//!
//! Appends batches of 10,000 events (one transaction each, multi-row inserts) to SQLite on a
//! file and to PostgreSQL (`BRIM_BENCH_DATABASE_URL`, default the local `test` database; the
//! PostgreSQL half is skipped with a message when it does not answer). The original committed
//! one event per transaction: about 760 events/s. Numbers in docs/PERFORMANCE.md.

use std::hint::black_box;

use brim_store::{EventStore, EventType, NewEvent, PgStore, SqliteStore};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 10_000;

fn events() -> Vec<NewEvent> {
    (0..BATCH as i64)
        .map(|i| NewEvent {
            event_type: EventType::ScoreCalculated,
            occurred_at: 1_700_000_000_000 + i,
            user_id: None,
            company_id: Some(format!("c{:07}", i % 5000)),
            payload: serde_json::json!({"model_used": "balanced", "score": i % 101, "company_name": "Acme"}),
        })
        .collect()
}

const DROP_SCHEMA: &str = "DROP SCHEMA IF EXISTS brim_bench CASCADE";

/// A store in a schema of its own (`brim_bench`, dropped before and after), so the benchmark
/// leaves the database as it found it.
async fn pg_bench_store(url: &str) -> Result<(PgStore, sqlx::PgPool), brim_store::Error> {
    let base: sqlx::postgres::PgConnectOptions =
        url.parse().map_err(brim_store::Error::Database)?;
    let admin = sqlx::PgPool::connect_with(base.clone()).await?;
    sqlx::query(DROP_SCHEMA).execute(&admin).await?;
    sqlx::query("CREATE SCHEMA brim_bench")
        .execute(&admin)
        .await?;
    let store = PgStore::connect_with(base.options([("search_path", "brim_bench")])).await?;
    Ok((store, admin))
}

fn append(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let events = events();
    let mut group = c.benchmark_group("events/append");
    group.throughput(Throughput::Elements(BATCH as u64));

    let dir = std::env::temp_dir().join(format!("brim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db", dir.display());
    let sqlite = rt.block_on(SqliteStore::connect(&url)).unwrap();
    group.bench_function("sqlite file, batches of 10,000", |b| {
        b.iter(|| black_box(rt.block_on(sqlite.append_events(&events)).unwrap()))
    });

    let pg_url = std::env::var("BRIM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    match rt.block_on(pg_bench_store(&pg_url)) {
        Ok((pg, admin)) => {
            group.bench_function("postgres, batches of 10,000", |b| {
                b.iter(|| black_box(rt.block_on(pg.append_events(&events)).unwrap()))
            });
            rt.block_on(sqlx::query(DROP_SCHEMA).execute(&admin))
                .unwrap();
        }
        Err(e) => eprintln!("skipping the PostgreSQL benchmark: {pg_url}: {e}"),
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = append
}
criterion_main!(benches);
