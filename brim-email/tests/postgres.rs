//! Several workers on one PostgreSQL queue send each e-mail exactly once. PostgreSQL is
//! 127.0.0.1:5432 (or `BRIM_TEST_DATABASE_URL`), in a schema of this test's own; under
//! `CI=true` an unreachable server fails the test, elsewhere it is skipped with a message.

mod common;

use std::sync::Arc;

use brim_core::{Scorer, SendWindow};
use brim_email::{GenerateConfig, Generator, OutboxMailer, Worker, WorkerConfig};
use brim_store::{EmailQueue, EventStore, EventType, PgStore};
use common::*;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::watch;

fn pg_url() -> String {
    std::env::var("BRIM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_on_one_postgres_queue_send_each_email_once() {
    let base: PgConnectOptions = pg_url().parse().unwrap();
    let admin = match sqlx::PgPool::connect_with(base.clone()).await {
        Ok(pool) => pool,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPING: PostgreSQL at {} unreachable: {e}", pg_url());
            return;
        }
        Err(e) => panic!("PostgreSQL at {} is required under CI=true: {e}", pg_url()),
    };
    // The name is built from numbers only.
    let schema = format!("brim_email_test_{}", std::process::id());
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let store = Arc::new(
        PgStore::connect_with(base.options([("search_path", schema.as_str())]))
            .await
            .unwrap(),
    );
    let n = 400;
    Generator::new(
        store.clone(),
        template_author(),
        GenerateConfig {
            window: SendWindow::Always,
            actions: None,
            ..GenerateConfig::default()
        },
    )
    .score_and_generate(
        leads(n),
        &Scorer::preset("balanced").unwrap(),
        TUESDAY_10_UTC,
    )
    .await
    .unwrap();

    let outbox = tempfile::tempdir().unwrap();
    let mailer = Arc::new(OutboxMailer::new(outbox.path()).unwrap());
    let clock = ManualClock::at(TUESDAY_10_UTC);
    let (_tx, stop) = watch::channel(false);
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let worker = Worker::new(
                store.clone(),
                mailer.clone(),
                composer(),
                WorkerConfig {
                    worker_id: format!("w{w}"),
                    batch_size: 25,
                    window: SendWindow::Always,
                    ..WorkerConfig::default()
                },
                clock.clone(),
            );
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut sent = 0;
                loop {
                    let r = worker.run_once(&stop).await.unwrap();
                    if r.claimed == 0 {
                        break sent;
                    }
                    sent += r.sent;
                }
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    for t in tasks {
        per_worker.push(t.await.unwrap());
    }
    assert_eq!(per_worker.iter().sum::<usize>(), n, "{per_worker:?}");
    assert!(
        per_worker.iter().filter(|s| **s > 0).count() >= 2,
        "the work was shared: {per_worker:?}"
    );
    let counts = store.queue_counts().await.unwrap();
    assert_eq!(
        (counts.sent, counts.queued, counts.leased),
        (n as u64, 0, 0)
    );
    assert_eq!(
        store
            .count_events(Some(EventType::EmailSent))
            .await
            .unwrap(),
        n as u64
    );
    let files = std::fs::read_dir(outbox.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(files, n);
    store.pool().close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
