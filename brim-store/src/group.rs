//! Group commit: one writer task stores what many concurrent callers ask to record (leads,
//! their scores and `score_calculated` events) in one transaction per batch, and answers each
//! caller only after that commit. Concurrent requests share transactions (and, with
//! [`crate::Durability::PowerLoss`], their syncs) instead of queueing for the database one by
//! one.

use std::sync::Arc;

use brim_core::Lead;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{NewEvent, NewScore, ScoreStore};

/// Records given to the [`Recorder`] and not yet answered: what other writers (e-mail
/// generation) can give way to.
#[derive(Debug, Default)]
pub struct Backlog {
    pending: std::sync::atomic::AtomicUsize,
    /// Requests ever added: a quiet spell is one in which this does not move.
    arrived: std::sync::atomic::AtomicU64,
    idle: tokio::sync::Notify,
}

impl Backlog {
    /// Requests waiting now.
    pub fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::Acquire)
    }

    /// One more request waits.
    pub fn add(&self) {
        self.pending
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.arrived
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// `n` requests were answered; wakes those waiting for the backlog once it is empty.
    /// (Never below zero: more `done` than `add` leaves it empty.)
    pub fn done(&self, n: usize) {
        let before = self
            .pending
            .fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |p| Some(p.saturating_sub(n)),
            )
            .unwrap_or(0);
        if before <= n {
            self.idle.notify_waiters();
        }
    }

    /// Returns once no request has waited for [`QUIET`], or after `at_most`. (Under a steady
    /// load the backlog is empty for a moment between two commits now and then; giving the
    /// writer away in such a moment stalled the next commit: measured, p99 +5-10 ms.)
    pub async fn wait_idle(&self, at_most: std::time::Duration) {
        let _ = tokio::time::timeout(at_most, async {
            loop {
                // Registered before the check, so a `done` in between is not missed.
                let idle = self.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.pending() == 0 {
                    let seen = self.arrived.load(std::sync::atomic::Ordering::Acquire);
                    tokio::time::sleep(QUIET).await;
                    if self.pending() == 0
                        && self.arrived.load(std::sync::atomic::Ordering::Acquire) == seen
                    {
                        return;
                    }
                    continue;
                }
                idle.await;
            }
        })
        .await;
    }
}

/// How long no scored request must have come for e-mail generation to take the writer before
/// its `at_most` (see [`Backlog::wait_idle`]).
pub const QUIET: std::time::Duration = std::time::Duration::from_millis(5);

/// One request counted in a [`Backlog`] until it reaches the recorder, which then counts it
/// down itself; dropped before that, it counts itself down.
struct Pending<'a> {
    backlog: &'a Backlog,
    handed_over: bool,
}

impl<'a> Pending<'a> {
    fn new(backlog: &'a Backlog) -> Pending<'a> {
        backlog.add();
        Pending {
            backlog,
            handed_over: false,
        }
    }

    fn handed_over(mut self) {
        self.handed_over = true;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.handed_over {
            self.backlog.done(1);
        }
    }
}

/// One scored lead waiting to be stored.
struct Record {
    lead: Lead,
    score: NewScore,
    event: NewEvent,
    /// Given the lead and score back once they are stored (they are moved through the batch,
    /// not copied).
    done: tokio::sync::oneshot::Sender<crate::Result<(Lead, NewScore)>>,
}

/// Group commit for scored leads: one writer stores the leads, scores and events of every
/// record waiting (up to [`Recorder::MAX_BATCH`]) with one [`ScoreStore::record_scored`] call,
/// then answers each caller — so a caller is answered only once its record is durably stored
/// (as [`crate::Durability`] says), and concurrent callers share transactions.
///
/// If a batch fails, every caller of that batch gets the error (as [`crate::Error::Batch`]):
/// the batch is stored whole or not at all.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    backlog: Arc<Backlog>,
}

impl Recorder {
    /// The most records stored in one transaction.
    pub const MAX_BATCH: usize = 1024;

    /// Starts the writer for `store`; it ends when every `Recorder` clone is dropped and the
    /// queue is empty (the returned task then completes).
    ///
    /// The writer runs on a thread of its own (`brim-recorder`), on the current Tokio
    /// runtime's I/O and timers: it is the one serial step of a busy writer, and as a task
    /// among many it waited behind the others at every wake-up (measured in
    /// docs/PERFORMANCE.md). Must be called inside a Tokio runtime.
    pub fn spawn<S>(store: Arc<S>) -> std::io::Result<(Recorder, JoinHandle<()>)>
    where
        S: ScoreStore + Send + Sync + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Record>(4 * Self::MAX_BATCH);
        let backlog = Arc::new(Backlog::default());
        let waiting = backlog.clone();
        let run = async move {
            let mut batch: Vec<Record> = Vec::with_capacity(Self::MAX_BATCH);
            while rx.recv_many(&mut batch, Self::MAX_BATCH).await > 0 {
                let n = batch.len();
                store_batch(store.as_ref(), &mut batch).await;
                waiting.done(n);
            }
        };
        let (ended, end) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("brim-recorder".into())
            .spawn(move || {
                runtime.block_on(run);
                let _ = ended.send(());
            })?;
        // Completes when the thread's loop ends (or the thread died: its sender is dropped).
        let task = tokio::spawn(async move {
            let _ = end.await;
        });
        Ok((Recorder { tx, backlog }, task))
    }

    /// The records waiting for their commit.
    pub fn backlog(&self) -> Arc<Backlog> {
        self.backlog.clone()
    }

    /// Stores `lead`, its `score` and `event` with whatever else is waiting; returns the lead
    /// and score once committed. [`crate::Error::Closed`] if the writer has stopped.
    pub async fn record(
        &self,
        lead: Lead,
        score: NewScore,
        event: NewEvent,
    ) -> crate::Result<(Lead, NewScore)> {
        let (done, wait) = tokio::sync::oneshot::channel();
        // Counted from here until the writer answers; if the record never reaches the writer
        // (it stopped, or the caller gave up while the queue was full) the guard takes it back
        // off, so nobody waits for a record that is gone.
        let pending = Pending::new(&self.backlog);
        self.tx
            .send(Record {
                lead,
                score,
                event,
                done,
            })
            .await
            .map_err(|_| crate::Error::Closed)?;
        pending.handed_over();
        wait.await.map_err(|_| crate::Error::Closed)?
    }
}

/// Stores the waiting records in one transaction and answers each, giving its lead and score
/// back; empties `batch`.
async fn store_batch<S: ScoreStore>(store: &S, batch: &mut Vec<Record>) {
    let mut leads = Vec::with_capacity(batch.len());
    let mut scores = Vec::with_capacity(batch.len());
    let mut events = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    for record in batch.drain(..) {
        leads.push(record.lead);
        scores.push(record.score);
        events.push(record.event);
        answers.push(record.done);
    }
    // The leads share one upsert, stamped with the batch's latest time.
    let now = scores.iter().map(|s| s.scored_at).max().unwrap_or(0);
    let result = store
        .record_scored(&leads, now, &scores, &events)
        .await
        .map_err(Arc::new);
    for ((lead, score), done) in leads.into_iter().zip(scores).zip(answers) {
        let answer = match &result {
            Ok(_) => Ok((lead, score)),
            Err(e) => Err(crate::Error::Batch(e.clone())),
        };
        let _ = done.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::{Backlog, Pending};

    /// Generation takes the writer after a quiet spell, not in the gaps between the commits of
    /// a steady load (there the backlog is empty for a moment, again and again).
    #[tokio::test]
    async fn generation_waits_for_a_quiet_spell_not_a_gap() {
        let backlog = std::sync::Arc::new(Backlog::default());
        let started = std::time::Instant::now();
        backlog.wait_idle(std::time::Duration::from_secs(5)).await;
        let idle = started.elapsed();
        assert!(idle >= super::QUIET, "{idle:?}");
        assert!(idle < std::time::Duration::from_secs(2), "{idle:?}");

        let load = backlog.clone();
        let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        let steady = tokio::spawn(async move {
            // A request every millisecond, each answered at once: empty most of the time.
            for _ in 0..400 {
                Pending::new(&load).handed_over();
                load.done(1);
                seen.lock().unwrap().push(std::time::Instant::now());
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
        let started = std::time::Instant::now();
        backlog
            .wait_idle(std::time::Duration::from_millis(150))
            .await;
        let waited = started.elapsed();
        if waited < std::time::Duration::from_millis(150) {
            // Only a real quiet spell may end the wait early: this machine stalled the load.
            let arrivals = arrivals.lock().unwrap();
            let longest = arrivals
                .windows(2)
                .map(|w| w[1] - w[0])
                .max()
                .unwrap_or_default();
            assert!(
                longest >= super::QUIET,
                "gave way after {waited:?} in a steady load"
            );
        }
        steady.abort();
    }

    #[test]
    fn a_request_that_never_reaches_the_recorder_leaves_the_backlog() {
        let backlog = Backlog::default();
        {
            let _given_up = Pending::new(&backlog);
            assert_eq!(backlog.pending(), 1);
        }
        assert_eq!(backlog.pending(), 0);
        Pending::new(&backlog).handed_over();
        assert_eq!(
            backlog.pending(),
            1,
            "the recorder counts it down after the commit"
        );
        backlog.done(1);
        assert_eq!(backlog.pending(), 0);
        backlog.done(2);
        assert_eq!(backlog.pending(), 0, "never below zero");
    }
}
