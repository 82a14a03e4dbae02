//! # brim-store
//!
//! Brim's memory: storage **ports** (traits whose documentation is the contract every adapter
//! keeps) and two sqlx **adapters**: [`SqliteStore`] (a file or memory; the embedded default)
//! and [`PgStore`] (PostgreSQL, for several servers and workers sharing one database). One
//! conformance suite (`tests/conformance.rs`) holds both to the same contract.
//!
//! This first slice stores leads (with a documented merge rule), every score with its model,
//! outcomes and the append-only event log; the e-mail queue and the analytics queries come
//! next (issue 3).
//!
//! Times are Unix milliseconds (UTC) passed in by the caller: the store has no clock.

mod adapter;
mod error;
mod events;
mod postgres;
mod sqlite;

pub use error::{Error, Result};
pub use events::{Event, EventType, NewEvent, Outcome, OutcomeKind};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

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
#[allow(async_fn_in_trait)]
pub trait LeadStore {
    /// Inserts or merges `leads` at time `now` (Unix ms), atomically.
    async fn upsert_leads(&self, leads: &[Lead], now: i64) -> Result<()>;
    /// The stored (merged) lead, if any.
    async fn get_lead(&self, company_id: &str) -> Result<Option<StoredLead>>;
}

/// Append-only, typed events.
///
/// Contract every adapter keeps:
/// - `append_events` is **atomic** and cheap in bulk (one transaction, multi-row inserts):
///   either every event of the call is stored or none is.
/// - Events are never updated or deleted; ids increase in append order.
#[allow(async_fn_in_trait)]
pub trait EventStore {
    /// Appends `events`, returning how many were stored.
    async fn append_events(&self, events: &[NewEvent]) -> Result<u64>;
    /// How many events there are, of one type or all.
    async fn count_events(&self, event_type: Option<EventType>) -> Result<u64>;
    /// A company's events, oldest first.
    async fn events_for_company(&self, company_id: &str) -> Result<Vec<Event>>;
}

/// Every score given, with the model (name and version) that gave it.
///
/// Contract every adapter keeps:
/// - `save_scores` is **atomic** and cheap in bulk; scores are never overwritten: re-scoring
///   adds a row, so a company's history is complete.
/// - `latest_score` is the score with the greatest `scored_at` (ties: the one saved last), read
///   through an index on `(company_id, scored_at)`.
#[allow(async_fn_in_trait)]
pub trait ScoreStore {
    /// Saves `scores`, returning how many were stored.
    async fn save_scores(&self, scores: &[NewScore]) -> Result<u64>;
    /// The company's latest score, if it was ever scored.
    async fn latest_score(&self, company_id: &str) -> Result<Option<StoredScore>>;
    /// The company's scores, newest first.
    async fn score_history(&self, company_id: &str) -> Result<Vec<StoredScore>>;
}

/// Outcomes reported for companies (demo booked, won, lost, not a fit), the learned model's
/// labels.
///
/// Contract every adapter keeps: `report_outcomes` is atomic; outcomes are appended, never
/// replaced (a company can book a demo and later be won); `outcomes_for` lists them oldest
/// first.
#[allow(async_fn_in_trait)]
pub trait OutcomeStore {
    /// Records `outcomes`, returning how many were stored.
    async fn report_outcomes(&self, outcomes: &[Outcome]) -> Result<u64>;
    /// A company's outcomes, oldest first.
    async fn outcomes_for(&self, company_id: &str) -> Result<Vec<Outcome>>;
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
