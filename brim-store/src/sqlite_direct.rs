//! SQLite's scoring writes on a file database (`record_scored`, `save_scores`): one rusqlite
//! connection of the store's own, its statements prepared once and kept, the whole transaction
//! run on the calling thread, start to end, under the store's writer turn.
//!
//! Through sqlx, each statement is a round trip between threads (a command to the connection's
//! worker thread, its answer back); a batch of scored requests made seven, and the profile of
//! the load benchmark showed the thread switches among the largest costs. rusqlite calls SQLite
//! directly on the caller's thread (the recorder's own, in `brim serve`), safely: it links the
//! same `libsqlite3-sys` as sqlx, and the connection is an ordinary one, opened with the
//! store's settings. Same SQL, same rows as the shared path (`adapter.rs`), one row a step.

use brim_core::Lead;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::adapter::{EVENTS_INSERT, LATEST_INSERT, LATEST_UPSERT, LEADS_INSERT, LEADS_UPSERT};
use crate::{Durability, NewEvent, NewScore};

/// The scoring writer's connection and its statements' text.
#[derive(Debug)]
pub(crate) struct Direct {
    conn: Connection,
    lead_upsert: String,
    latest_upsert: String,
    score_insert: String,
    event_insert: String,
}

/// A stored lead, to merge a new one into.
const READ_LEAD: &str = "SELECT lead FROM leads WHERE company_id = ?1 AND lead IS NOT NULL";

impl Direct {
    /// Opens the database file at `path` (migrated already) with the store's settings for a
    /// writing connection.
    pub(crate) fn open(
        path: &std::path::Path,
        durability: Durability,
        busy_timeout: std::time::Duration,
        cache_kib: &str,
        wal_size_limit: &str,
    ) -> rusqlite::Result<Direct> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy_timeout)?;
        let synchronous = match durability {
            Durability::Process => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        // As the sqlx connections are set up (`SqliteStore::connect_with`): the WAL is
        // checkpointed by the store's checkpointer, never inside this connection's commits.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = {cache_kib}; \
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0; \
             PRAGMA journal_size_limit = {wal_size_limit};"
        ))?;
        conn.set_prepared_statement_cache_capacity(16);
        let values = |n: usize| {
            let params: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
            format!("VALUES ({})", params.join(", "))
        };
        Ok(Direct {
            conn,
            lead_upsert: format!("{LEADS_INSERT}{}{LEADS_UPSERT}", values(5)),
            latest_upsert: format!("{LATEST_INSERT}{}{LATEST_UPSERT}", values(12)),
            score_insert: format!("{}{}", crate::adapter::SCORES_INSERT, values(10)),
            event_insert: format!("{EVENTS_INSERT}{}", values(5)),
        })
    }

    /// A pragma's value on this connection (for tests).
    #[cfg(test)]
    pub(crate) fn pragma(&self, name: &str) -> i64 {
        self.conn
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .unwrap()
    }

    /// [`crate::ScoreStore::record_scored`]: one `BEGIN IMMEDIATE` transaction, committed or
    /// (on any error, when the transaction is dropped) rolled back whole.
    pub(crate) fn record(
        &mut self,
        leads: &[Lead],
        now: i64,
        scores: &[NewScore],
        events: &[NewEvent],
    ) -> crate::Result<u64> {
        let corrupt = |what: &'static str, e: serde_json::Error| crate::Error::Corrupt {
            what,
            detail: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !leads.is_empty() {
            // Each company's stored lead is read and the merged one written in one pass.
            let mut read = tx.prepare_cached(READ_LEAD)?;
            let mut upsert = tx.prepare_cached(&self.lead_upsert)?;
            for (company_id, lead) in crate::merge_by_company(leads) {
                let text: Option<String> =
                    read.query_row([&company_id], |row| row.get(0)).optional()?;
                let stored = match text {
                    Some(text) => Some(
                        serde_json::from_str::<brim_core::UncheckedLead>(&text)
                            .map(|l| l.0)
                            .map_err(|e| crate::Error::Corrupt {
                                what: "lead",
                                detail: format!("{company_id}: {e}"),
                            })?,
                    ),
                    None => None,
                };
                let lead = crate::merged_onto(stored, lead);
                let json = serde_json::to_string(&lead).map_err(|e| corrupt("lead", e))?;
                upsert.execute(params![company_id, lead.company_name, json, now, now])?;
            }
        }
        if !scores.is_empty() {
            let mut latest = tx.prepare_cached(&self.latest_upsert)?;
            for (s, first_qualified_at) in crate::latest_by_company(scores) {
                let r = &s.report;
                latest.execute(params![
                    r.company_id,
                    r.company_name,
                    r.company_name.to_lowercase(),
                    r.model,
                    r.fit_score,
                    r.intent_score,
                    r.total_score,
                    r.action.as_str(),
                    s.scored_at,
                    first_qualified_at,
                    s.scored_at,
                    s.scored_at,
                ])?;
            }
            let mut insert = tx.prepare_cached(&self.score_insert)?;
            for s in scores {
                let r = &s.report;
                let report = serde_json::to_string(r).map_err(|e| corrupt("score", e))?;
                insert.execute(params![
                    r.company_id,
                    r.model,
                    r.model_version,
                    r.fit_score,
                    r.intent_score,
                    r.total_score,
                    r.confidence,
                    r.action.as_str(),
                    report,
                    s.scored_at,
                ])?;
            }
        }
        if !events.is_empty() {
            let mut insert = tx.prepare_cached(&self.event_insert)?;
            for e in events {
                let payload = serde_json::to_string(&e.payload).map_err(|e| corrupt("event", e))?;
                insert.execute(params![
                    e.event_type.as_str(),
                    e.occurred_at,
                    e.user_id,
                    e.company_id,
                    payload,
                ])?;
            }
        }
        tx.commit()?;
        Ok(scores.len() as u64)
    }
}
