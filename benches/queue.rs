//! E-mail queue throughput: `cargo bench -p brim-benches --bench queue`.
//!
//! 4 workers claim batches of 100 and mark each e-mail sent, until the queue is empty; the time
//! from the first claim to the last mark is measured (filling the queue is not). PostgreSQL is
//! `BRIM_BENCH_DATABASE_URL` (default: the local `test` database), in a schema of its own that
//! is dropped after. Numbers in docs/PERFORMANCE.md.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use brim_benches::pg_bench_store;
use brim_store::{EmailQueue, NewEmail, SqliteStore, Writer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 4_000;
const WORKERS: usize = 4;
const BATCH: u32 = 100;

static ROUND: AtomicI64 = AtomicI64::new(0);

fn emails() -> Vec<NewEmail> {
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    (0..ROWS)
        .map(|i| NewEmail {
            company_id: format!("r{round}-c{i}"),
            recipient: Some(format!("ceo@c{i}.example")),
            recipient_name: None,
            timezone: None,
            score: (i % 101) as u8,
            variant: "roi_focused".into(),
            subject: "A quick idea for your operations team".into(),
            body_text: "Hi,\n\nthree sentences of plain text.\n\nBest,\nBrim".into(),
            body_html: Some("<p>Hi,</p><p>three sentences.</p>".into()),
            writer: Writer::Llm,
            message_id: format!("<r{round}-{i}@bench.example>"),
            not_before: None,
        })
        .collect()
}

/// How a worker marks what it sent.
#[derive(Clone, Copy)]
enum Marking {
    /// `mark_sent` after each e-mail: one commit per e-mail.
    Each,
    /// `mark_sent_many` after each claimed batch: one commit per batch.
    Batch,
}

async fn drain<S: EmailQueue + Clone + Send + Sync + 'static>(
    store: &S,
    marking: Marking,
) -> Duration {
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("w{w}");
            loop {
                let batch = store.claim(&name, BATCH, 1, 60_000).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                match marking {
                    Marking::Each => {
                        for e in batch {
                            store.mark_sent(e.id, 2).await.unwrap();
                        }
                    }
                    Marking::Batch => {
                        let ids: Vec<i64> = batch.iter().map(|e| e.id).collect();
                        for mark in store.mark_sent_many(&ids, 2).await.unwrap() {
                            mark.unwrap();
                        }
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    start.elapsed()
}

fn queue(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("queue/claim+mark_sent, 4 workers, batches of 100");
    group.throughput(Throughput::Elements(ROWS as u64));

    match rt.block_on(pg_bench_store()) {
        Ok(pg) => {
            for (name, marking) in [
                ("postgres, mark each", Marking::Each),
                ("postgres, mark batch", Marking::Batch),
            ] {
                group.bench_function(name, |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            rt.block_on(pg.store.enqueue(&emails(), 0)).unwrap();
                            total += rt.block_on(drain(&pg.store, marking));
                        }
                        total
                    })
                });
            }
            rt.block_on(pg.drop_schema());
        }
        Err(e) => eprintln!("skipping the PostgreSQL benchmark: {e}"),
    }

    let dir = std::env::temp_dir().join(format!("brim-bench-queue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db", dir.display());
    let sqlite = rt.block_on(SqliteStore::connect(&url)).unwrap();
    for (name, marking) in [
        ("sqlite file, mark each", Marking::Each),
        ("sqlite file, mark batch", Marking::Batch),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    rt.block_on(sqlite.enqueue(&emails(), 0)).unwrap();
                    total += rt.block_on(drain(&sqlite, marking));
                }
                total
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = queue
}
criterion_main!(benches);
