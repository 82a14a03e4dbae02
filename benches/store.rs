//! Event-append speed: `cargo bench -p brim-benches --bench store`.
//!
//! Appends batches of 10,000 events (one transaction each, multi-row inserts) to SQLite on a
//! file and to PostgreSQL (`BRIM_BENCH_DATABASE_URL`, default the local `test` database; the
//! PostgreSQL half is skipped with a message when it does not answer). The original committed
//! one event per transaction: about 760 events/s. Numbers in docs/PERFORMANCE.md.

use std::hint::black_box;

use brim_benches::pg_bench_store;
use brim_store::{EventStore, EventType, NewEvent, SqliteStore};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 10_000;

fn events() -> Vec<NewEvent> {
    (0..BATCH as i64)
        .map(|i| NewEvent {
            event_type: EventType::ScoreCalculated,
            occurred_at: 1_700_000_000_000 + i,
            user_id: None,
            // 50,000 companies, in no particular order.
            company_id: Some(format!("c{:07}", (i * 7919) % 50_000)),
            payload: serde_json::json!({"model_used": "balanced", "score": i % 101, "company_name": "Acme"}),
        })
        .collect()
}

/// Moves a batch on in time: events arrive in time order, as in a running system.
fn later(events: &mut [NewEvent]) {
    for e in events {
        e.occurred_at += BATCH as i64;
    }
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
    let mut events_sqlite = events.clone();
    group.bench_function("sqlite file, batches of 10,000", |b| {
        b.iter(|| {
            later(&mut events_sqlite);
            black_box(rt.block_on(sqlite.append_events(&events_sqlite)).unwrap())
        })
    });

    match rt.block_on(pg_bench_store()) {
        Ok(pg) => {
            let mut events_pg = events.clone();
            group.bench_function("postgres, batches of 10,000", |b| {
                b.iter(|| {
                    later(&mut events_pg);
                    black_box(rt.block_on(pg.store.append_events(&events_pg)).unwrap())
                })
            });
            rt.block_on(pg.drop_schema());
        }
        Err(e) => eprintln!("skipping the PostgreSQL benchmark: {e}"),
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
