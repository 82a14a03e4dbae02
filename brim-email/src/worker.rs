//! The send worker: claim by priority, respect each lead's send window and the rate limits,
//! send, and record what happened — exactly once per company, retried with backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brim_core::{Backoff, SendWindow, TimeZone, time_zone};
use brim_store::{
    EmailQueue, EventStore, EventType, FailMark, Failure, NewEvent, QueuedEmail, SendMark,
    Suppression, SuppressionReason, WaitReason,
};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::watch;

use crate::Result;
use crate::mailer::{FailureKind, Mailer, SendError};
use crate::message::Composer;

/// "Now", in Unix milliseconds. The worker asks a clock so tests can move time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// How the worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in leases (unique per process).
    pub worker_id: String,
    /// Rows claimed per cycle.
    pub batch_size: u32,
    /// How long a claim holds a row; the worker renews it every third of it while it works,
    /// and a worker that dies releases its rows after this.
    pub lease: Duration,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Pause between cycles when the queue had nothing more to do.
    pub interval: Duration,
    /// When e-mails may leave, in each lead's own time zone.
    pub window: SendWindow,
    /// The zone of leads without one (or with an unknown one).
    pub default_zone: TimeZone,
    /// At most this many e-mails per minute from this worker.
    pub per_minute: Option<u32>,
    /// At most this many e-mails per minute to one recipient domain.
    pub per_domain_per_minute: Option<u32>,
    /// Retry schedule.
    pub backoff: Backoff,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!("worker-{}", std::process::id()),
            batch_size: 100,
            lease: Duration::from_secs(30),
            concurrency: 16,
            interval: Duration::from_secs(5),
            window: SendWindow::default(),
            default_zone: TimeZone::UTC,
            per_minute: None,
            per_domain_per_minute: None,
            backoff: Backoff::default(),
        }
    }
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Rows claimed.
    pub claimed: usize,
    /// Sent and marked.
    pub sent: usize,
    /// Given back until the lead's send window opens.
    pub deferred_window: usize,
    /// Given back until the rate limit allows.
    pub deferred_rate: usize,
    /// Failed and scheduled for a retry.
    pub retried: usize,
    /// Failed for good (dead).
    pub dead: usize,
    /// Given back unsent because the worker is stopping.
    pub released: usize,
    /// Rows whose lease was lost before they were marked.
    pub lease_lost: usize,
}

/// Fixed-minute counters for the global and per-domain rate limits.
#[derive(Debug, Default)]
struct RateLimiter {
    minute: i64,
    total: u32,
    per_domain: HashMap<String, u32>,
}

impl RateLimiter {
    /// Takes one send at `now`; `Err(t)` = not before `t`.
    fn take(
        &mut self,
        domain: &str,
        now: i64,
        per_minute: Option<u32>,
        per_domain: Option<u32>,
    ) -> std::result::Result<(), i64> {
        let minute = now.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.total = 0;
            self.per_domain.clear();
        }
        let next_minute = (minute + 1) * 60_000;
        if per_minute.is_some_and(|limit| self.total >= limit) {
            return Err(next_minute);
        }
        let count = self.per_domain.entry(domain.to_string()).or_insert(0);
        if per_domain.is_some_and(|limit| *count >= limit) {
            return Err(next_minute);
        }
        *count += 1;
        self.total += 1;
        Ok(())
    }
}

/// Sends queued e-mails.
pub struct Worker<S, M> {
    store: Arc<S>,
    mailer: Arc<M>,
    composer: Arc<Composer>,
    config: WorkerConfig,
    clock: Arc<dyn Clock>,
    limiter: Mutex<RateLimiter>,
    seed: u64,
}

enum Outcome {
    Sent(QueuedEmail),
    Failed(QueuedEmail, SendError),
    Released(QueuedEmail),
}

fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_lowercase())
        .unwrap_or_default()
}

impl<S, M> Worker<S, M>
where
    S: EmailQueue + EventStore + Send + Sync + 'static,
    M: Mailer,
{
    /// A worker over `store` sending through `mailer`.
    pub fn new(
        store: Arc<S>,
        mailer: Arc<M>,
        composer: Arc<Composer>,
        config: WorkerConfig,
        clock: Arc<dyn Clock>,
    ) -> Worker<S, M> {
        let seed = config
            .worker_id
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
        Worker {
            store,
            mailer,
            composer,
            config,
            clock,
            limiter: Mutex::new(RateLimiter::default()),
            seed,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    fn zone_of(&self, email: &QueuedEmail) -> TimeZone {
        email
            .timezone
            .as_deref()
            .and_then(|z| time_zone(z).ok())
            .unwrap_or_else(|| self.config.default_zone.clone())
    }

    /// One cycle: claim up to `batch_size` rows (best score first), give back those outside
    /// their send window or over the rate limit, send the rest (`concurrency` at a time), mark
    /// them, and log `email_sent` / `email_failed` events. When `stop` turns true, sends not yet
    /// started are given back unsent (not counted as attempts) and in-flight ones finish.
    pub async fn run_once(&self, stop: &watch::Receiver<bool>) -> Result<CycleReport> {
        let c = &self.config;
        let now = self.clock.now_ms();
        let lease_ms = u64::try_from(c.lease.as_millis()).unwrap_or(u64::MAX);
        let rows = self
            .store
            .claim(&c.worker_id, c.batch_size, now, lease_ms)
            .await?;
        let mut report = CycleReport {
            claimed: rows.len(),
            ..CycleReport::default()
        };
        if rows.is_empty() {
            return Ok(report);
        }
        let mut ready = Vec::with_capacity(rows.len());
        for row in rows {
            let zone = self.zone_of(&row);
            if !c.window.is_open(now, &zone) {
                let opens = c.window.next_open(now, &zone);
                if self
                    .store
                    .defer(row.id, &c.worker_id, opens, WaitReason::SendWindow, now)
                    .await?
                {
                    report.deferred_window += 1;
                }
                continue;
            }
            let domain = domain_of(row.recipient.as_deref().unwrap_or(""));
            let allowed = self
                .limiter
                .lock()
                .expect("the rate limiter's lock is never poisoned")
                .take(&domain, now, c.per_minute, c.per_domain_per_minute);
            match allowed {
                Ok(()) => ready.push(row),
                Err(until) => {
                    if self
                        .store
                        .defer(row.id, &c.worker_id, until, WaitReason::Backoff, now)
                        .await?
                    {
                        report.deferred_rate += 1;
                    }
                }
            }
        }

        // Each send takes one of `concurrency` slots and keeps it until its outcome is
        // committed: the recorder below marks whatever outcomes are waiting in one transaction
        // (group commit) while the other slots go on sending. So at most `concurrency` e-mails
        // have left without being marked sent: a crash re-sends at most those.
        let (outcomes, mut waiting) =
            tokio::sync::mpsc::unbounded_channel::<(Outcome, tokio::sync::oneshot::Sender<()>)>();
        let sending = async move {
            futures_util::stream::iter(ready)
                .for_each_concurrent(c.concurrency.max(1), |row| {
                    let outcomes = outcomes.clone();
                    async move {
                        let outcome = self.send(row, stop).await;
                        let (recorded, wait) = tokio::sync::oneshot::channel();
                        if outcomes.send((outcome, recorded)).is_ok() {
                            let _ = wait.await;
                        }
                    }
                })
                .await;
        };
        let recording = async {
            let mut first_error = None;
            let mut batch = Vec::new();
            while waiting.recv_many(&mut batch, 256).await > 0 {
                let (done, answers): (Vec<Outcome>, Vec<_>) = batch.drain(..).unzip();
                if let Err(e) = self.record(done, &mut report).await {
                    tracing::error!(error = %e, "the outcomes of sent e-mails could not be stored");
                    first_error.get_or_insert(e);
                }
                for answer in answers {
                    let _ = answer.send(());
                }
            }
            first_error
        };
        // The leases are renewed while the cycle runs, so a short lease never runs out under
        // a live worker.
        let renewing = async {
            let every = (c.lease / 3).max(Duration::from_millis(100));
            loop {
                tokio::time::sleep(every).await;
                let now = self.clock.now_ms();
                if let Err(e) = self.store.renew_lease(&c.worker_id, now, lease_ms).await {
                    tracing::warn!(error = %e, "could not renew the worker's leases");
                }
            }
        };
        let ((), failed) = tokio::select! {
            done = async { tokio::join!(sending, recording) } => done,
            () = renewing => unreachable!("renewing never ends"),
        };
        if let Some(e) = failed {
            return Err(e);
        }
        tracing::debug!(?report, "worker cycle");
        Ok(report)
    }

    /// Sends one claimed row (or gives it back unsent when the worker is stopping).
    async fn send(&self, row: QueuedEmail, stop: &watch::Receiver<bool>) -> Outcome {
        if *stop.borrow() {
            return Outcome::Released(row);
        }
        match self.composer.compose(&row) {
            Ok(message) => match self.mailer.send(&message, &row.message_id).await {
                Ok(()) => Outcome::Sent(row),
                Err(e) => Outcome::Failed(row, e),
            },
            Err(e) => Outcome::Failed(
                row,
                SendError {
                    kind: FailureKind::Permanent,
                    message: e.0,
                },
            ),
        }
    }

    /// Stores what happened to some sent rows, in as few transactions as the store allows: the
    /// sent ones marked in one, then the failures and releases, then their events in one.
    async fn record(&self, outcomes: Vec<Outcome>, report: &mut CycleReport) -> Result<()> {
        let c = &self.config;
        let now = self.clock.now_ms();
        let mut sent = Vec::new();
        let mut events = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Sent(row) => sent.push(row),
                Outcome::Released(row) => {
                    if self
                        .store
                        .defer(row.id, &c.worker_id, now, WaitReason::Backoff, now)
                        .await?
                    {
                        report.released += 1;
                    }
                }
                Outcome::Failed(row, error) => {
                    let mark = self
                        .store
                        .mark_failed(
                            row.id,
                            &c.worker_id,
                            now,
                            &Failure {
                                error: &error.message,
                                transient: error.kind == FailureKind::Transient,
                                seed: self.seed ^ (row.id as u64).wrapping_mul(0x9E37_79B9),
                            },
                            &c.backoff,
                        )
                        .await?;
                    if error.kind == FailureKind::HardBounce
                        && let Some(address) = &row.recipient
                    {
                        self.store
                            .suppress(&[Suppression {
                                value: address.clone(),
                                reason: SuppressionReason::HardBounce,
                                created_at: now,
                            }])
                            .await?;
                    }
                    let (outcome, retry_at) = match mark {
                        FailMark::Retry { at } => {
                            report.retried += 1;
                            ("retry", Some(at))
                        }
                        FailMark::Dead => {
                            report.dead += 1;
                            ("dead", None)
                        }
                        FailMark::LeaseLost => {
                            report.lease_lost += 1;
                            ("lease_lost", None)
                        }
                    };
                    tracing::warn!(email = row.id, company = %row.company_id, error = %error.message, outcome, "send failed");
                    events.push(NewEvent {
                        event_type: EventType::EmailFailed,
                        occurred_at: now,
                        user_id: None,
                        company_id: Some(row.company_id.clone()),
                        payload: json!({
                            "email_id": row.id,
                            "error": error.message,
                            "kind": match error.kind {
                                FailureKind::Transient => "transient",
                                FailureKind::Permanent => "permanent",
                                FailureKind::HardBounce => "hard_bounce",
                            },
                            "outcome": outcome,
                            "retry_at": retry_at,
                            "attempt": row.attempts + 1,
                        }),
                    });
                }
            }
        }
        if !sent.is_empty() {
            let ids: Vec<i64> = sent.iter().map(|r| r.id).collect();
            let marks = self.store.mark_sent_many(&ids, now).await?;
            for (row, mark) in sent.iter().zip(marks) {
                match mark {
                    Ok(SendMark::Marked) => {
                        report.sent += 1;
                        events.push(NewEvent {
                            event_type: EventType::EmailSent,
                            occurred_at: now,
                            user_id: None,
                            company_id: Some(row.company_id.clone()),
                            payload: json!({
                                "email_id": row.id,
                                "variant": row.variant,
                                "writer": row.writer.as_str(),
                                "attempt": row.attempts + 1,
                            }),
                        });
                    }
                    Ok(SendMark::AlreadySent) => {}
                    Err(e) => {
                        report.lease_lost += 1;
                        tracing::warn!(email = row.id, error = %e, "sent, but the row could not be marked");
                    }
                }
            }
        }
        if !events.is_empty() {
            self.store.append_events(&events).await?;
        }
        Ok(())
    }

    /// Runs cycles until `stop` turns true: straight on while full batches come back, otherwise
    /// pausing `interval`. A failing store is logged and retried after the pause. Returns once
    /// the cycle in progress has finished its in-flight sends.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.config.worker_id, mailer = %self.mailer.describe(), window = %self.config.window, "send worker started");
        loop {
            if *stop.borrow() {
                break;
            }
            let busy = match self.run_once(&stop).await {
                Ok(r) => r.claimed >= self.config.batch_size as usize,
                Err(e) => {
                    tracing::error!(error = %e, "send worker cycle failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.interval) => {}
                    changed = stop.changed() => {
                        if changed.is_err() {
                            break; // the sender is gone: nobody can ask us to stop any more
                        }
                    }
                }
            }
        }
        tracing::info!(worker = %self.config.worker_id, "send worker stopped");
    }
}
