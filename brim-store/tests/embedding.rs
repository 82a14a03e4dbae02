//! brim-store changes nothing process-wide: a program that embeds it and keeps SQLite
//! databases of its own (here through sqlx) sees them behave exactly as before it used the
//! store. (An earlier version registered its own default VFS and page cache for the whole
//! process; the default VFS's name below would then have been Brim's.)

use brim_store::{EmailQueue, NewEvent, NewScore, ScoreStore, SqliteStore};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

/// The embedding program's own database work: a fixed script on a file of its own, with a
/// rollback journal (so the file's bytes depend only on what was written), then the file's
/// bytes and what a new connection reports.
async fn own_database(path: &std::path::Path) -> (Vec<u8>, i64, String, String) {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL); \
         CREATE INDEX notes_body ON notes (body); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
         INSERT INTO notes (body) SELECT printf('note %08d %s', i * 7919 % 5000, hex(i)) FROM n; \
         DELETE FROM notes WHERE id % 3 = 0; \
         UPDATE notes SET body = body || '!' WHERE id % 5 = 0;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(check, "ok");
    (std::fs::read(path).unwrap(), cache_size, journal, check)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_programs_own_sqlite_database_behaves_the_same_before_and_after() {
    let dir = std::env::temp_dir().join(format!("brim-store-embedding-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let before = own_database(&dir.join("before.db")).await;

    // The store at work on a file of its own: scores, events, the queue.
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.join("brim.db").display()))
        .await
        .unwrap();
    let scorer = brim_core::Scorer::preset("balanced").unwrap();
    for round in 0..20 {
        let leads: Vec<brim_core::Lead> = (0..50)
            .map(|i| {
                brim_core::Lead::from_json(&format!(
                    r#"{{"company_name": "Embedded {round}-{i}", "employee_count": {}}}"#,
                    10 + i * 13
                ))
                .unwrap()
            })
            .collect();
        let scores: Vec<NewScore> = leads
            .iter()
            .map(|lead| NewScore {
                report: scorer.report(lead),
                scored_at: round,
            })
            .collect();
        let events: Vec<NewEvent> = scores
            .iter()
            .map(|s| NewEvent::score_calculated(&s.report, round))
            .collect();
        store
            .record_scored(&leads, round, &scores, &events)
            .await
            .unwrap();
    }
    assert!(store.claim("w", 10, 0, 1000).await.unwrap().is_empty());

    let during = own_database(&dir.join("during.db")).await;
    drop(store);
    let after = own_database(&dir.join("after.db")).await;

    for (when, got) in [("while the store is open", &during), ("after", &after)] {
        assert_eq!(got.1, before.1, "cache_size {when}");
        assert_eq!(got.2, before.2, "journal_mode {when}");
        assert!(got.0 == before.0, "the file's bytes differ {when}");
    }
    assert_eq!(before.1, -2000, "SQLite's own default page cache");
    assert_eq!(default_vfs(), "unix", "SQLite's own default VFS");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The name of the process's default SQLite VFS (what a new connection uses unless told).
fn default_vfs() -> String {
    // SAFETY: `sqlite3_vfs_find(NULL)` returns the default VFS (SQLite is initialized: the
    // connections above were opened), which lives as long as the process; its `zName` is a
    // NUL-terminated string it owns.
    unsafe {
        let vfs = libsqlite3_sys::sqlite3_vfs_find(std::ptr::null());
        assert!(!vfs.is_null());
        std::ffi::CStr::from_ptr((*vfs).zName)
            .to_string_lossy()
            .into_owned()
    }
}
