//! # brim-store
//!
//! Brim's memory: storage **ports** (traits whose documentation is the contract every adapter
//! keeps) and two sqlx **adapters**: [`SqliteStore`] (a file or memory; the embedded default)
//! and [`PgStore`] (PostgreSQL, for several servers and workers sharing one database). One
//! conformance suite (`tests/conformance.rs`) holds both to the same contract.
//!
//! Ports: [`LeadStore`] (leads with a documented merge rule), [`ScoreStore`] (every score with
//! its model), [`OutcomeStore`], [`EventStore`] (append-only, typed), [`EmailQueue`] (the
//! durable, prioritised outbound queue with leases, backoff and a suppression list) and
//! [`Analytics`] (KPIs, funnel, the scored-leads table — all computed in SQL) and
//! [`LearnedModelStore`] (the learned models and which one scores) and [`EnrichmentStore`]
//! (providers' answers with a time to live, and their request slots shared across processes).
//!
//! Each adapter is behind a feature: `sqlite` (default) and `postgres`; an embedder of one
//! does not compile the other. With neither, the crate is the ports alone (for code that is
//! generic over them, as `brim-email` is).
//!
//! Times are Unix milliseconds (UTC) passed in by the caller: the store has no clock.
//!
//! The crate has no `unsafe` code and no process-wide side effects: it installs no SQLite VFS,
//! page cache, logger or allocator, so the rest of an embedding process (its own SQLite
//! databases, Python's `sqlite3` module) behaves as if it were not there.
#![forbid(unsafe_code)]
// The SQL both adapters share is unused when neither is compiled (the ports alone).
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused_macros, unused_imports, dead_code)
)]

mod adapter;
mod analytics;
mod analytics_sql;
mod enrichment;
mod error;
mod events;
mod group;
mod learned;
mod names;
#[cfg(feature = "postgres")]
mod postgres;
mod queue;
mod queue_sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_direct;

pub use analytics::{
    ACTIVATION_STEP, ACTIVATION_STEPS, DAY_MS, FunnelDay, Kpi, Kpis, LeadSort, LeadsQuery, Page,
    Period, QUALIFIED_SCORE, ScoreBin, ScoredLead, StatusFilter, StepCount, VariantStats,
};
pub use brim_core::Backoff;
pub use enrichment::{CachedAnswer, EnrichmentStore};
pub use error::{Error, Result};
pub use events::{Event, EventType, NewEvent, Outcome, OutcomeKind};
pub use group::{Backlog, QUIET, Recorder};
pub use learned::{
    Activation, LearnedModelInfo, LearnedModelStore, NewLearnedModel, RESTORES_START,
    RollbackTarget, rollback_target,
};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use queue::{
    EmailStatus, Enqueued, FailMark, Failure, NewEmail, QueueCounts, QueuedEmail, ScoredKey,
    SendMark, Suppression, SuppressionReason, WaitReason, Writer,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteStore};

use brim_core::Lead;

/// Leads by `company_id`.
///
/// Contract every adapter keeps:
/// - `upsert_leads` is **atomic**: either every lead of the call is stored or none is.
/// - A lead is keyed by `Lead::company_id()`: its `id` when given, else the original's hash of
///   `company_name` exactly as given — so `"Acme"` and `"Acme "` are two companies, and two
///   companies named "Acme" without ids are **one** (give ids to keep them apart).
/// - Upserting a company that exists **merges** ([`Lead::merge`]): what the new record states
///   wins, what it leaves out is kept (a re-import without `contact` keeps the contact).
///   Several records of one company in the same call merge in order.
/// - `created_at` is set once; `updated_at` is the `now` of the last upsert.
/// - `delete_lead` removes the company atomically: the lead, its scores, its events and
///   outcomes, and its e-mail unless it was sent (a worker holding it finds its lease gone and
///   sends nothing), so it leaves the table, the charts and the KPIs. What stays: a **sent**
///   e-mail (it counts in the A/B results, its unsubscribe link keeps working, and the company
///   is not written to twice if it comes back) and suppressions (an address that unsubscribed
///   stays unsubscribed).
pub trait LeadStore {
    /// Inserts or merges `leads` at time `now` (Unix ms), atomically.
    fn upsert_leads(&self, leads: &[Lead], now: i64) -> impl Future<Output = Result<()>> + Send;
    /// The stored (merged) lead, if any.
    fn get_lead(&self, company_id: &str)
    -> impl Future<Output = Result<Option<StoredLead>>> + Send;
    /// Deletes the company and what is recorded about it but its sent e-mail and its
    /// suppressions; `false` (nothing changed) when there was no such company.
    fn delete_lead(&self, company_id: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// Append-only, typed events.
///
/// Contract every adapter keeps:
/// - `append_events` is **atomic** and cheap in bulk (one transaction, multi-row inserts):
///   either every event of the call is stored or none is.
/// - Events are never changed, and deleted only with their company
///   ([`LeadStore::delete_lead`]); ids increase in append order.
/// - `events_for_company` lists every event with that company id, oldest first (through a
///   per-company index).
pub trait EventStore {
    /// Appends `events`, returning how many were stored.
    fn append_events(&self, events: &[NewEvent]) -> impl Future<Output = Result<u64>> + Send;
    /// How many events there are, of one type or all.
    fn count_events(
        &self,
        event_type: Option<EventType>,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// A company's events, oldest first.
    fn events_for_company(
        &self,
        company_id: &str,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
}

/// Every score given, with the model (name and version) that gave it.
///
/// Contract every adapter keeps:
/// - `save_scores` is **atomic** and cheap in bulk; scores are never overwritten: re-scoring
///   adds a row, so a company's history is complete.
/// - `latest_score` is the score with the greatest `scored_at` (ties: the one saved last).
///   `latest_score` and `score_history` read only the company's own scores, through an index
///   on `(company_id, scored_at)`.
pub trait ScoreStore {
    /// Saves `scores`, returning how many were stored.
    fn save_scores(&self, scores: &[NewScore]) -> impl Future<Output = Result<u64>> + Send;
    /// The company's latest score, if it was ever scored.
    fn latest_score(
        &self,
        company_id: &str,
    ) -> impl Future<Output = Result<Option<StoredScore>>> + Send;
    /// The company's scores, newest first.
    fn score_history(
        &self,
        company_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredScore>>> + Send;
    /// What scoring a batch of leads writes, in **one** transaction (all or nothing): the
    /// leads as [`LeadStore::upsert_leads`] at `now`, the scores as [`ScoreStore::save_scores`]
    /// and the events as [`EventStore::append_events`]. Returns how many scores were stored.
    fn record_scored(
        &self,
        leads: &[brim_core::Lead],
        now: i64,
        scores: &[NewScore],
        events: &[NewEvent],
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Outcomes reported for companies (demo booked, won, lost, not a fit), the learned model's
/// labels.
///
/// Contract every adapter keeps: `report_outcomes` is atomic; outcomes are appended, never
/// replaced (a company can book a demo and later be won); `outcomes_for` lists them oldest
/// first; `labelled_leads` pairs every stored lead that has an outcome with its **latest**
/// one (by time, then by the order reported), in `company_id` order.
pub trait OutcomeStore {
    /// Records `outcomes`, returning how many were stored.
    fn report_outcomes(&self, outcomes: &[Outcome]) -> impl Future<Output = Result<u64>> + Send;
    /// A company's outcomes, oldest first.
    fn outcomes_for(&self, company_id: &str) -> impl Future<Output = Result<Vec<Outcome>>> + Send;
    /// Every stored lead with an outcome, and its latest outcome: a learned model's training
    /// data.
    fn labelled_leads(&self) -> impl Future<Output = Result<Vec<(Lead, OutcomeKind)>>> + Send;
}

/// The outbound e-mail queue: durable, prioritised, shared by any number of workers.
///
/// Contract every adapter keeps:
/// - **Once per company, enforced by the database**: a company has at most one e-mail that is
///   not cancelled (a unique index), so at most one is ever *sent*. `enqueue` skips companies
///   that already have one and says so.
/// - `claim(worker, n, now, lease_ms)` returns up to `n` *due* rows — queued with
///   `due_at <= now`, or leased with an expired lease — highest score first, ties oldest first
///   (then lowest id), and leases them to `worker` until `now + lease_ms`. Two workers never
///   hold the same row: PostgreSQL picks with `FOR UPDATE SKIP LOCKED`, SQLite in one
///   `BEGIN IMMEDIATE` transaction (one writer at a time).
/// - Rows whose recipient address or domain is on the suppression list are never claimed;
///   rows waiting for a contact (`waiting`) or deferred to a send window are not claimed
///   before they are due, and say why (`wait_reason`).
/// - A worker that dies loses its lease when it expires; the row is claimable again. A live
///   worker keeps its rows with `renew_lease` (every third of the lease, say), so a lease can be
///   short: a crashed worker's rows return within one lease.
/// - `mark_sent` is idempotent: marking a sent row again answers [`SendMark::AlreadySent`] and
///   changes nothing. It accepts a leased row whoever holds the lease (the mail has left).
/// - `mark_failed` counts the attempt; a transient failure is retried after the [`Backoff`]
///   delay for that attempt (jittered by the caller's seed); a permanent failure or the last
///   attempt makes the row *dead*. Dead rows stay visible and `requeue` brings them back with
///   their attempts reset. A worker that no longer holds the lease gets
///   [`FailMark::LeaseLost`] and changes nothing.
/// - Every change is one transaction: a batch is stored whole or not at all.
pub trait EmailQueue {
    /// Queues `emails` at time `now`, atomically. An e-mail without a recipient is *waiting*
    /// (`no_contact`); one with `not_before` in the future is queued as deferred to its send
    /// window. A duplicate Message-ID is an error (and nothing of the call is stored).
    fn enqueue(
        &self,
        emails: &[NewEmail],
        now: i64,
    ) -> impl Future<Output = Result<Enqueued>> + Send;
    /// [`EmailQueue::enqueue`], and in the same transaction the events `log` makes from what
    /// was queued (e.g. one `email_generated` per queued e-mail, naming its id): the e-mails
    /// and their events are stored together or not at all.
    fn enqueue_logged<F>(
        &self,
        emails: &[NewEmail],
        now: i64,
        log: F,
    ) -> impl Future<Output = Result<Enqueued>> + Send
    where
        F: FnOnce(&Enqueued) -> Vec<NewEvent> + Send;
    /// Leases up to `n` due rows to `worker` until `now + lease_ms`, best first.
    fn claim(
        &self,
        worker: &str,
        n: u32,
        now: i64,
        lease_ms: u64,
    ) -> impl Future<Output = Result<Vec<QueuedEmail>>> + Send;
    /// Marks a leased row sent at `now`.
    fn mark_sent(&self, id: i64, now: i64) -> impl Future<Output = Result<SendMark>> + Send;
    /// Marks several leased rows sent at `now` in one statement (one commit for the lot: a
    /// worker that sends a claimed batch marks it with one round trip). Answers per id, in
    /// order: what [`EmailQueue::mark_sent`] would have answered; a bad id never keeps the
    /// others from being marked.
    fn mark_sent_many(
        &self,
        ids: &[i64],
        now: i64,
    ) -> impl Future<Output = Result<Vec<Result<SendMark>>>> + Send;
    /// Records a failed attempt of `worker` on a row it holds.
    fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        now: i64,
        failure: &Failure<'_>,
        backoff: &Backoff,
    ) -> impl Future<Output = Result<FailMark>> + Send;
    /// Extends every lease `worker` holds to `now + lease_ms` (never shortens one); returns how
    /// many leases it extended.
    fn renew_lease(
        &self,
        worker: &str,
        now: i64,
        lease_ms: u64,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Gives a held row back without counting an attempt, not to be claimed before `until`
    /// (e.g. the start of the lead's send window). `false` if `worker` does not hold it.
    fn defer(
        &self,
        id: i64,
        worker: &str,
        until: i64,
        reason: WaitReason,
        now: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Sets the recipient of the company's unsent e-mail; a *waiting* row becomes queued.
    /// `false` if the company has no waiting or queued e-mail.
    fn set_recipient(
        &self,
        company_id: &str,
        recipient: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Brings a dead row back to the queue, attempts reset. `false` if it is not dead.
    fn requeue(&self, id: i64, now: i64) -> impl Future<Output = Result<bool>> + Send;
    /// Withdraws a waiting or queued row. `false` if it is leased, sent, dead or cancelled.
    fn cancel(&self, id: i64, now: i64) -> impl Future<Output = Result<bool>> + Send;
    /// One row.
    fn get_email(&self, id: i64) -> impl Future<Output = Result<Option<QueuedEmail>>> + Send;
    /// The company's e-mail that is not cancelled, if any.
    fn email_for_company(
        &self,
        company_id: &str,
    ) -> impl Future<Output = Result<Option<QueuedEmail>>> + Send;
    /// Rows in one status (or all), best first, `limit` from `offset`.
    fn list_emails(
        &self,
        status: Option<EmailStatus>,
        limit: u32,
        offset: u64,
    ) -> impl Future<Output = Result<Vec<QueuedEmail>>> + Send;
    /// How many rows are in each status.
    fn queue_counts(&self) -> impl Future<Output = Result<QueueCounts>> + Send;
    /// Scored companies with a stored lead and no e-mail in the queue that is not cancelled
    /// (a company whose e-mail was cancelled may be written another): at most
    /// `limit`, oldest latest score first (companies scored at the same time in an order of the
    /// adapter's, the same at every call), starting after `after` (the last key of the page
    /// before; `None`: from the start). What e-mail generation's sweep pages through: a page is
    /// read through the scored-leads table's date index from `after` on until it has `limit`
    /// rows (keyset paging: no count, no sort, no offset to skip), so page 10,000 costs what
    /// page 1 does; only companies that have an e-mail, passed over on the way, add to it.
    fn unqueued_leads(
        &self,
        after: Option<&ScoredKey>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ScoredKey>>> + Send;
    /// Adds addresses or domains to the suppression list (lower-cased; an existing entry keeps
    /// its first reason). Returns how many were new.
    fn suppress(&self, entries: &[Suppression]) -> impl Future<Output = Result<u64>> + Send;
    /// Removes an address or domain; `false` if it was not there.
    fn unsuppress(&self, value: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Why `address` (or its domain) is suppressed, if it is.
    fn suppression_of(
        &self,
        address: &str,
    ) -> impl Future<Output = Result<Option<Suppression>>> + Send;
}

/// Analytics, computed in SQL (nothing is loaded into memory to be counted).
///
/// Contract every adapter keeps: the same data gives the same answers on every database; all
/// times are UTC, periods are `[start, end)`.
pub trait Analytics {
    /// The KPI cards for `period`, each against the period before.
    fn kpis(&self, period: Period) -> impl Future<Output = Result<Kpis>> + Send;
    /// Per UTC day of `period` (oldest first, every day present): qualified leads and
    /// activations.
    fn funnel_over_time(
        &self,
        period: Period,
    ) -> impl Future<Output = Result<Vec<FunnelDay>>> + Send;
    /// One page of the scored-leads table: one row per company (its latest score).
    fn scored_leads(
        &self,
        query: &LeadsQuery,
    ) -> impl Future<Output = Result<Page<ScoredLead>>> + Send;
    /// Latest scores in ten bins: 0–9, 10–19, ..., 90–100 (all ten, empty ones too), of the
    /// companies whose latest score was made in `[start, end)`.
    fn score_distribution(
        &self,
        start: i64,
        end: i64,
    ) -> impl Future<Output = Result<Vec<ScoreBin>>> + Send;
    /// The `n` best companies by latest score.
    fn top_leads(&self, n: u32) -> impl Future<Output = Result<Vec<ScoredLead>>> + Send;
    /// Distinct users per step of `steps` (the configured flow, in its order; zero when nobody
    /// reached one) in `[start, end)`. Steps outside `steps` are not counted.
    fn activation_funnel(
        &self,
        start: i64,
        end: i64,
        steps: &[String],
    ) -> impl Future<Output = Result<Vec<StepCount>>> + Send;
    /// Per variant, over the e-mails sent in `[start, end)`: how many, and how many of those
    /// companies opened and clicked (at any time).
    fn variant_stats(
        &self,
        start: i64,
        end: i64,
    ) -> impl Future<Output = Result<Vec<VariantStats>>> + Send;
}

/// A score to save: brim-core's report and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScore {
    /// The full report (its `company_id`, model and version key the row).
    pub report: brim_core::ScoreReport,
    /// When it was scored (Unix ms, UTC).
    pub scored_at: i64,
}

/// A stored score.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredScore {
    /// Increases in save order.
    pub id: i64,
    /// The report as it was saved.
    pub report: brim_core::ScoreReport,
    /// When it was scored (Unix ms, UTC).
    pub scored_at: i64,
}

/// A lead as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLead {
    /// The merged lead.
    pub lead: Lead,
    /// When the company was first stored (Unix ms).
    pub created_at: i64,
    /// When it was last upserted (Unix ms).
    pub updated_at: i64,
}

/// Leads that are in one call for the same company are merged before they reach the database.
fn merge_by_company(leads: &[Lead]) -> Vec<(String, Lead)> {
    let mut out: Vec<(String, Lead)> = Vec::with_capacity(leads.len());
    let mut index = std::collections::HashMap::with_capacity(leads.len());
    for lead in leads {
        let id = lead.company_id().into_owned();
        match index.get(&id) {
            Some(&i) => {
                let (_, existing): &mut (String, Lead) = &mut out[i];
                existing.merge(lead.clone());
            }
            None => {
                index.insert(id.clone(), out.len());
                out.push((id, lead.clone()));
            }
        }
    }
    out
}

/// A company's lead after an upsert: `new` merged onto what was `stored` (see
/// [`LeadStore`]'s merge rule), or `new` itself for a company not stored yet.
fn merged_onto(stored: Option<Lead>, new: Lead) -> Lead {
    match stored {
        Some(mut old) => {
            old.merge(new);
            old
        }
        None => new,
    }
}

/// Each company's latest score of a batch (greatest `scored_at`; ties: the later in the batch),
/// with the time of its first score of the batch above [`QUALIFIED_SCORE`], if any.
fn latest_by_company(scores: &[NewScore]) -> Vec<(&NewScore, Option<i64>)> {
    let mut index: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(scores.len());
    let mut out: Vec<(&NewScore, Option<i64>)> = Vec::with_capacity(scores.len());
    for score in scores {
        let qualified = (score.report.total_score > QUALIFIED_SCORE).then_some(score.scored_at);
        match index.get(score.report.company_id.as_str()) {
            Some(&i) => {
                let (latest, first) = &mut out[i];
                if score.scored_at >= latest.scored_at {
                    *latest = score;
                }
                *first = match (*first, qualified) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                index.insert(score.report.company_id.as_str(), out.len());
                out.push((score, qualified));
            }
        }
    }
    out
}

/// docs/storage.md's Rust example, compiled and run as a doc test.
#[doc = include_str!("../../docs/storage.md")]
#[cfg(doctest)]
pub struct StorageDoctests;
