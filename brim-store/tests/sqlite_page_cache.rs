//! The page cache layer (`brim_store::sqlite_page_cache`) under a write load that balances
//! b-trees all the time (random keys into indexes), with readers alongside: installed before
//! SQLite starts, it parks pages away from the lock page's number, and the database stays whole.

use brim_store::sqlite_page_cache;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_parks_pages_and_the_database_stays_whole() {
    assert!(
        sqlite_page_cache::install(),
        "installed before SQLite starts"
    );
    assert!(sqlite_page_cache::install(), "the first answer again");
    assert!(sqlite_page_cache::installed());
    let dir = std::env::temp_dir().join(format!("brim-page-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.join("cache.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("cache_size", "-2048");
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL); \
         CREATE UNIQUE INDEX t_k ON t (k); CREATE INDEX t_v ON t (v, k)",
    )
    .execute(&pool)
    .await
    .unwrap();

    let reader = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut seen = 0_i64;
            for _ in 0..200 {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t INDEXED BY t_k")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert!(n >= seen, "a reader never sees rows go away");
                seen = n;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut key = 7_u64;
    let mut rows = 0;
    for batch in 0..60 {
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..500 {
            key = key
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            sqlx::query("INSERT INTO t (k, v) VALUES (?1, ?2)")
                .bind(format!("{key:016x}"))
                .bind(vec![(key >> 56) as u8; 40 + (key % 200) as usize])
                .execute(&mut *tx)
                .await
                .unwrap();
            rows += 1;
        }
        tx.commit().await.unwrap();
        if batch % 10 == 9 {
            // A rolled-back transaction in between: its pages leave the cache again.
            let mut doomed = pool.begin().await.unwrap();
            sqlx::query("DELETE FROM t WHERE id % 3 = 0")
                .execute(&mut *doomed)
                .await
                .unwrap();
            doomed.rollback().await.unwrap();
        }
    }
    reader.await.unwrap();

    assert!(sqlite_page_cache::parked() > 0, "balancing parked pages");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, rows);
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT k) FROM t")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(distinct, rows);
    pool.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
