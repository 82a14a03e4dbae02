//! A file database's WAL is checkpointed by the store in the background (not by the commit
//! that crosses SQLite's 1,000-page mark): the data reaches the database file and the WAL
//! file stays bounded while writes go on.

use std::time::{Duration, Instant};

use brim_store::{EventStore, EventType, NewEvent, SqliteStore};

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_copied_into_the_database_and_stays_bounded_under_continuous_writes() {
    let dir = std::env::temp_dir().join(format!("brim-store-wal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("brim.db");
    let wal = dir.join("brim.db-wal");
    let store = SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();

    // ~48 MB of events in 48 commits, a little apart (as a busy server writes).
    let note = "x".repeat(1000);
    let mut largest_wal = 0;
    for round in 0..48 {
        let events: Vec<NewEvent> = (0..1000)
            .map(|i| NewEvent {
                event_type: EventType::ScoreCalculated,
                occurred_at: round * 1000 + i,
                user_id: None,
                company_id: Some(format!("company-{round}-{i}")),
                payload: serde_json::json!({ "note": note }),
            })
            .collect();
        store.append_events(&events).await.unwrap();
        largest_wal = largest_wal.max(file_len(&wal));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(store.count_events(None).await.unwrap(), 48_000);

    // Without a checkpoint every page would still be in the WAL (≥ 48 MB): it starts over
    // from 16 MiB (4,096 pages) on, so it never holds much more than that.
    assert!(
        largest_wal < 32 << 20,
        "the WAL grew to {largest_wal} bytes while 48 MB were written"
    );
    // And the rows reach the database file without any commit doing the copying.
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_len(&db) < 48_000_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        file_len(&db) >= 48_000_000,
        "the database file holds {} bytes after 48 MB of events",
        file_len(&db)
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
