//! Send worker throughput: `cargo bench -p brim-benches --bench email`.
//!
//! A SQLite file queue holds 2,000 e-mails (filling it is not measured); one worker (batches of
//! 500) drains it, composing each message (both parts, signed unsubscribe link, tracking) and
//! marking it sent, to (1) the outbox folder (32 sends in flight) and (2) SMTP on loopback: a
//! pool of 64 lettre connections (`BRIM_BENCH_SMTP_CONNECTIONS`), one send in flight per
//! connection, to a minimal SMTP server in this process. Numbers in docs/PERFORMANCE.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use brim_benches::smtp_sink;
use brim_core::SendWindow;
use brim_email::{
    Composer, Mailer, MessageConfig, OutboxMailer, Signer, SmtpMailer, SystemClock, Worker,
    WorkerConfig, text_to_html,
};
use brim_store::{EmailQueue, NewEmail, SqliteStore, Writer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::sync::watch;

const ROWS: usize = 2_000;

static ROUND: AtomicI64 = AtomicI64::new(0);

fn emails() -> Vec<NewEmail> {
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    let body = "Hi Pat,\n\nI saw that Acme is hiring a Head of Operations. Teams at that stage \
                usually find that hand-offs grow faster than headcount.\n\nBrim helps teams \
                automate the busywork between their tools: https://brim.example/demo\n\nBest,\nSam";
    (0..ROWS)
        .map(|i| NewEmail {
            company_id: format!("r{round}-c{i}"),
            recipient: Some(format!("pat@c{i}.example")),
            recipient_name: Some("Pat Doe".into()),
            timezone: Some("Europe/Berlin".into()),
            score: (i % 101) as u8,
            variant: "problem_focused".into(),
            subject: format!("Acme {i}: fewer manual steps?"),
            body_text: body.into(),
            body_html: Some(text_to_html(body)),
            writer: Writer::Template,
            message_id: format!("<r{round}-{i}@bench.example>"),
            not_before: None,
        })
        .collect()
}

fn composer() -> Arc<Composer> {
    Arc::new(Composer::new(
        MessageConfig::new("Sam at Brim <sam@brim.example>", "https://brim.example")
            .unwrap()
            .tracking("https://t.brim.example")
            .unwrap(),
        Signer::new("benchmark secret, 16+ bytes").unwrap(),
    ))
}

async fn drain<M: Mailer>(mailer: Arc<M>, concurrency: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::connect(&format!("sqlite://{}/queue.db", dir.path().display()))
            .await
            .unwrap(),
    );
    let now = SystemClock.now_ms_pub();
    store.enqueue(&emails(), now).await.unwrap();
    let worker = Worker::new(
        store,
        mailer,
        composer(),
        WorkerConfig {
            worker_id: "bench".into(),
            batch_size: 500,
            concurrency,
            window: SendWindow::Always,
            ..WorkerConfig::default()
        },
        Arc::new(SystemClock),
    );
    let (_tx, stop) = watch::channel(false);
    let start = Instant::now();
    let mut sent = 0;
    while sent < ROWS {
        let r = worker.run_once(&stop).await.unwrap();
        assert!(r.claimed > 0, "the queue ran dry at {sent}: {r:?}");
        sent += r.sent;
    }
    start.elapsed()
}

/// `SystemClock::now_ms` without importing the trait everywhere.
trait NowPub {
    fn now_ms_pub(&self) -> i64;
}
impl NowPub for SystemClock {
    fn now_ms_pub(&self) -> i64 {
        use brim_email::Clock;
        self.now_ms()
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("worker");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));

    let outboxes = tempfile::tempdir().unwrap();
    group.bench_function("outbox", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    // Folders are kept until the end: deleting thousands of files between
                    // samples slows the next creates (ext4's inode allocator), which a real
                    // outbox, only ever added to, does not see.
                    let out = outboxes
                        .path()
                        .join(format!("{}-{i}", ROUND.load(Ordering::Relaxed)));
                    total += drain(Arc::new(OutboxMailer::new(out).unwrap()), 32).await;
                }
                total
            })
        })
    });

    let (port, accepted) = rt.block_on(smtp_sink());
    let _runtime = rt.enter();
    let connections: u32 = std::env::var("BRIM_BENCH_SMTP_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let smtp = Arc::new(
        SmtpMailer::new(
            &format!("smtp://127.0.0.1:{port}"),
            None,
            connections,
            Duration::from_secs(10),
        )
        .unwrap(),
    );
    group.bench_function("smtp_loopback", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += drain(smtp.clone(), connections as usize).await;
                }
                total
            })
        })
    });
    group.finish();
    assert!(accepted.load(Ordering::Relaxed) >= ROWS as u64);
}

criterion_group!(benches, bench);
criterion_main!(benches);
