//! The enrichment cache (time to live, replacement) and the shared rate limit: two stores on
//! one database (two processes' connections) together never get slots closer than the
//! interval.

use brim_store::{CachedAnswer, EnrichmentStore, PgStore, SqliteStore};

use crate::for_each_store;

#[tokio::test]
async fn answers_are_kept_until_they_expire_and_replaced() {
    for_each_store!(|store| {
        assert!(
            store
                .cached_answer("apollo", "domain=acme.com", 0)
                .await
                .unwrap()
                .is_none()
        );
        let found = CachedAnswer {
            found: true,
            record: Some(r#"{"provider": "apollo"}"#.into()),
            fetched_at: 1_000,
            expires_at: 5_000,
        };
        store
            .cache_answer("apollo", "domain=acme.com", &found)
            .await
            .unwrap();
        let got = store
            .cached_answer("apollo", "domain=acme.com", 4_999)
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&found));
        assert!(
            store
                .cached_answer("apollo", "domain=acme.com", 5_000)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .cached_answer("clearbit", "domain=acme.com", 0)
                .await
                .unwrap()
                .is_none()
        );
        let unknown = CachedAnswer {
            found: false,
            record: None,
            fetched_at: 6_000,
            expires_at: 9_000,
        };
        store
            .cache_answer("apollo", "domain=acme.com", &unknown)
            .await
            .unwrap();
        assert_eq!(
            store
                .cached_answer("apollo", "domain=acme.com", 6_000)
                .await
                .unwrap(),
            Some(unknown)
        );
    });
}

#[tokio::test]
async fn slots_are_spaced_by_the_interval_and_never_early() {
    for_each_store!(|store| {
        // Idle: the first slot is now; the next ones follow at the interval.
        assert_eq!(
            store.take_slot("p", 20_000, 1_000_000).await.unwrap(),
            1_000_000
        );
        assert_eq!(
            store.take_slot("p", 20_000, 1_000_000).await.unwrap(),
            1_020_000
        );
        assert_eq!(
            store.take_slot("p", 20_000, 1_005_000).await.unwrap(),
            1_040_000
        );
        // After a pause, now again; other providers have their own slots.
        assert_eq!(
            store.take_slot("p", 20_000, 9_000_000).await.unwrap(),
            9_000_000
        );
        assert_eq!(
            store.take_slot("q", 20_000, 1_000_000).await.unwrap(),
            1_000_000
        );
    });
}

/// `n` slots taken by each of the two stores at once; every slot, sorted.
async fn take_n<S: EnrichmentStore + Sync>(s: &S, n: usize, interval: i64) -> Vec<i64> {
    let mut slots = Vec::new();
    for _ in 0..n {
        slots.push(s.take_slot("shared", interval, 1_000).await.unwrap());
    }
    slots
}

async fn race<S: EnrichmentStore + Sync>(a: &S, b: &S, n: usize, interval: i64) -> Vec<i64> {
    let (x, y) = tokio::join!(take_n(a, n, interval), take_n(b, n, interval));
    let mut all: Vec<i64> = x.into_iter().chain(y).collect();
    all.sort_unstable();
    all
}

fn check_spaced(slots: &[i64], interval: i64) {
    for w in slots.windows(2) {
        assert!(
            w[1] - w[0] >= interval,
            "slots {} and {} too close",
            w[0],
            w[1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_share_the_limit() {
    let interval = 20_000;
    let dir = crate::tempfile_dir();
    let url = format!("sqlite://{}/brim.db", dir.display());
    let (a, b) = (
        SqliteStore::connect(&url).await.unwrap(),
        SqliteStore::connect(&url).await.unwrap(),
    );
    let slots = race(&a, &b, 50, interval).await;
    assert_eq!(slots.len(), 100);
    check_spaced(&slots, interval);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(schema) = crate::pg_schema().await {
        let a = PgStore::connect_with(schema.options()).await.unwrap();
        let b = PgStore::connect_with(schema.options()).await.unwrap();
        let slots = race(&a, &b, 50, interval).await;
        assert_eq!(slots.len(), 100);
        check_spaced(&slots, interval);
        a.pool().close().await;
        b.pool().close().await;
        schema.drop().await;
    }
}
