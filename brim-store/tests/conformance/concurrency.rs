//! Many workers on one queue: every row sent exactly once, none lost, none left leased — also
//! after a worker crashed holding leases.

use std::collections::HashSet;

use brim_store::{EmailQueue, EmailStatus, SendMark};

use crate::for_each_store;
use crate::queue::email;

const ROWS: usize = 10_000;
const WORKERS: usize = 8;
const LEASE_MS: u64 = 30_000;

/// Runs `WORKERS` workers at time `now` until the queue has nothing due; returns every id each
/// worker sent.
async fn drain<S>(store: &S, now: i64) -> Vec<Vec<i64>>
where
    S: EmailQueue + Clone + Send + Sync + 'static,
{
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut sent = Vec::new();
            loop {
                let batch = store.claim(&worker, 100, now, LEASE_MS).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                for e in batch {
                    assert_eq!(e.leased_by.as_deref(), Some(worker.as_str()));
                    assert_eq!(store.mark_sent(e.id, now).await.unwrap(), SendMark::Marked);
                    sent.push(e.id);
                }
            }
            sent
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_workers_send_ten_thousand_rows_exactly_once_even_after_a_crash() {
    for_each_store!(|store| {
        let emails: Vec<_> = (0..ROWS)
            .map(|i| {
                email(
                    &format!("company-{i}"),
                    (i % 101) as u8,
                    Some("x@example.com"),
                )
            })
            .collect();
        let queued = store.enqueue(&emails, 0).await.unwrap();
        assert_eq!(queued.queued.len(), ROWS);

        // A worker claims 700 rows and dies without a word.
        let crashed: Vec<i64> = store
            .claim("crashed", 700, 1_000, LEASE_MS)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(crashed.len(), 700);

        // While its leases last, the others take everything else and nothing of its.
        let first = drain(&store, 2_000).await;
        let first_ids: Vec<i64> = first.iter().flatten().copied().collect();
        assert_eq!(first_ids.len(), ROWS - 700);
        let crashed_set: HashSet<i64> = crashed.iter().copied().collect();
        assert!(first_ids.iter().all(|id| !crashed_set.contains(id)));
        assert!(
            first.iter().filter(|ids| !ids.is_empty()).count() > 1,
            "work was shared"
        );

        // Its leases expire; the rows come back and are sent.
        let second = drain(&store, 1_000 + LEASE_MS as i64).await;
        let second_ids: Vec<i64> = second.iter().flatten().copied().collect();
        assert_eq!(
            second_ids.iter().copied().collect::<HashSet<_>>(),
            crashed_set
        );

        let all: Vec<i64> = first_ids.into_iter().chain(second_ids).collect();
        let unique: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), ROWS, "sent exactly once");
        assert_eq!(unique.len(), ROWS, "no row sent twice");
        let counts = store.queue_counts().await.unwrap();
        assert_eq!(
            (counts.sent, counts.leased, counts.queued),
            (ROWS as u64, 0, 0)
        );
        let sample = store
            .list_emails(Some(EmailStatus::Sent), 50, 0)
            .await
            .unwrap();
        assert!(sample.iter().all(|e| e.attempts == 1));
    });
}
