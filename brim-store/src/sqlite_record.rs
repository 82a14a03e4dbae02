//! SQLite's `record_scored` (and `save_scores`): each company's `leads` row written once, and
//! the company's chains of scores and of `score_calculated` events (migration 0006) kept by
//! giving the new rows their ids here, in the write transaction. The transaction runs on the
//! calling thread through the connection's handle (`sqlite_raw`), one statement prepared for
//! each kind of row and stepped once a row.

use std::collections::HashMap;

use brim_core::Lead;

use crate::adapter::latest_score_set;
use crate::sqlite::{BEGIN, SqliteStore};
use crate::sqlite_raw::Raw;
use crate::{EventType, NewEvent, NewScore};

/// A company's row, as both statements below take it (the same 15 parameters).
macro_rules! company_insert {
    ($verb:literal) => {
        concat!(
            $verb,
            " INTO leads (company_id, company_name, lead, created_at, updated_at, name_key, \
             model, fit_score, intent_score, total_score, action, scored_at, \
             first_qualified_at, last_score_id, last_event_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        )
    };
}

/// A company not stored yet (the transaction's read found no row).
///
/// `OR ROLLBACK`: a failed constraint ends the whole transaction, as `write_rows`' caller does
/// on any error anyway. With SQLite's default (`ABORT`), a statement that fires a trigger keeps a
/// statement journal to undo itself alone: a copy of every page it changes, in memory
/// (measured: 11 % of a batch's instructions, with the allocations it made).
const COMPANY_INSERT_ONE: &str = company_insert!("INSERT OR ROLLBACK");

/// A stored company's row: its lead and its latest score, either of which may be absent (then
/// the stored one stays), and the new heads of its chains.
///
/// The new lead replaces the stored one (it was merged with it); a company only scored until
/// now is "created" when its lead comes. The newer score wins; the first qualifying time is the
/// earliest either knows. (The upsert's update keeps its statement journal: `DO UPDATE` checks
/// its constraints with `ABORT` whatever the insert says.)
const COMPANY_UPSERT_ONE: &str = concat!(
    company_insert!("INSERT"),
    " ON CONFLICT (company_id) DO UPDATE SET ",
    "lead = COALESCE(excluded.lead, leads.lead), ",
    "created_at = CASE WHEN leads.lead IS NULL AND excluded.lead IS NOT NULL \
     THEN excluded.created_at ELSE leads.created_at END, ",
    "updated_at = CASE WHEN excluded.lead IS NOT NULL \
     THEN excluded.updated_at ELSE leads.updated_at END, ",
    latest_score_set!(),
    ", last_score_id = COALESCE(excluded.last_score_id, leads.last_score_id)",
    ", last_event_id = COALESCE(excluded.last_event_id, leads.last_event_id)"
);

/// One score, with its id and the company's previous score.
const SCORE_INSERT_ONE: &str = "INSERT INTO scores (id, company_id, model, model_version, \
     fit_score, intent_score, total_score, confidence, action, report, scored_at, prev_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// One event, with its id and its link (see `record_scored_tx`).
const EVENT_INSERT_ONE: &str = "INSERT INTO events (id, event_type, occurred_at, user_id, \
     company_id, payload, linked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// A company's stored row.
const READ_COMPANY: &str =
    "SELECT lead, last_score_id, last_event_id FROM leads WHERE company_id = ?1";

/// The tables' last ids.
const LAST_IDS: &str = "SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'scores'), \
     (SELECT seq FROM sqlite_sequence WHERE name = 'events')";

/// What is stored for a company: its lead (JSON, read only to merge a new one into) and the
/// heads of its chains.
#[derive(Default)]
struct Stored {
    lead: Option<String>,
    last_score_id: Option<i64>,
    last_event_id: Option<i64>,
}

/// A company's row as this call writes it.
struct CompanyRow<'a> {
    company_id: &'a str,
    lead: Option<Lead>,
    latest: Option<(&'a NewScore, Option<i64>)>,
    last_score_id: Option<i64>,
    last_event_id: Option<i64>,
}

impl SqliteStore {
    /// [`crate::ScoreStore::record_scored`] as one synchronous run on the calling thread with
    /// the connection's handle (one hand-over from its sqlx thread, instead of a round trip
    /// for each statement): `BEGIN IMMEDIATE`; the companies' stored rows and the tables' last
    /// ids; every row with its kept statement; `COMMIT` (or, on any error, `ROLLBACK`: the
    /// batch is stored whole or not at all). Each company's row is
    /// written once (lead, latest score and chain heads together); each score gets the next
    /// id and its company's previous score as `prev_id`; each `score_calculated` event of a
    /// company scored in this call gets the company's previous such event as `linked` (0 for
    /// none), any other event `linked` NULL (the per-company index finds it).
    pub(crate) async fn record_scored_tx(
        &self,
        leads: &[Lead],
        now: i64,
        scores: &[NewScore],
        events: &[NewEvent],
    ) -> crate::Result<u64> {
        let merged = crate::merge_by_company(leads);
        let latest = crate::latest_by_company(scores);
        let mut rows: Vec<CompanyRow> = Vec::with_capacity(merged.len().max(latest.len()));
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(rows.capacity());
        for (company_id, lead) in &merged {
            index.insert(company_id, rows.len());
            rows.push(CompanyRow {
                company_id,
                lead: Some(lead.clone()),
                latest: None,
                last_score_id: None,
                last_event_id: None,
            });
        }
        for &(score, first_qualified_at) in &latest {
            let company_id = score.report.company_id.as_str();
            match index.get(company_id) {
                Some(&i) => rows[i].latest = Some((score, first_qualified_at)),
                None => {
                    index.insert(company_id, rows.len());
                    rows.push(CompanyRow {
                        company_id,
                        lead: None,
                        latest: Some((score, first_qualified_at)),
                        last_score_id: None,
                        last_event_id: None,
                    });
                }
            }
        }

        // The writer's turn, then the connection borrowed from its thread: the transaction
        // runs here, start to end, without a round trip per statement (see `sqlite_raw`).
        let mut tx = self.write_tx_unbegun().await?;
        let raw = tx.lock_raw().await?;
        let started = std::time::Instant::now();
        let result = off_the_runtime(|| {
            raw.exec(BEGIN)?;
            let written = write_rows(&raw, rows, &index, now, scores, events);
            let written = written.and_then(|n| Ok(raw.exec("COMMIT").map(|()| n)?));
            if written.is_err() {
                // What failed is rolled back here; "no transaction is active" (BEGIN failed,
                // or COMMIT failed and SQLite rolled back) is fine.
                let _ = raw.exec("ROLLBACK");
            }
            written
        });
        drop(raw);
        // Committed or rolled back above, either way the transaction is over.
        tx.committed();
        // sqlx warns of its own slow statements; this path does not go through it.
        let took = started.elapsed();
        if took >= SLOW {
            tracing::warn!(
                ?took,
                scores = scores.len(),
                ok = result.is_ok(),
                "slow record_scored transaction"
            );
        }
        result
    }
}

/// A transaction that took this long is logged (sqlx's threshold for its slow statements).
const SLOW: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `f`, which blocks its thread for a while (a batch's whole transaction), where the
/// runtime allows it: on a multi-threaded Tokio runtime the worker hands its other tasks to
/// the others first; elsewhere (the request recorder's own thread, a single-threaded test
/// runtime) it simply runs.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The batch's reads and writes, inside the transaction `raw` has begun.
fn write_rows(
    raw: &Raw<'_>,
    mut rows: Vec<CompanyRow<'_>>,
    index: &HashMap<&str, usize>,
    now: i64,
    scores: &[NewScore],
    events: &[NewEvent],
) -> crate::Result<u64> {
    let (mut stored, last_score, last_event) = read_companies(raw, &rows)?;
    // Leads merge into what is stored.
    for row in &mut rows {
        if let Some(new) = row.lead.take() {
            row.lead = Some(
                match stored.get_mut(row.company_id).and_then(|s| s.lead.take()) {
                    Some(old) => {
                        let mut old: Lead =
                            serde_json::from_str(&old).map_err(|e| crate::Error::Corrupt {
                                what: "lead",
                                detail: format!("{}: {e}", row.company_id),
                            })?;
                        old.merge(new);
                        old
                    }
                    None => new,
                },
            );
        }
    }
    // Ids and chains.
    let mut next_score = last_score;
    let mut score_links = Vec::with_capacity(scores.len());
    for score in scores {
        next_score += 1;
        let company_id = score.report.company_id.as_str();
        let row = &mut rows[index[company_id]];
        let prev = row
            .last_score_id
            .or_else(|| stored.get(company_id).and_then(|s| s.last_score_id));
        row.last_score_id = Some(next_score);
        score_links.push((next_score, prev));
    }
    let mut next_event = last_event;
    let mut event_links = Vec::with_capacity(events.len());
    for event in events {
        next_event += 1;
        let scored_here = event
            .company_id
            .as_deref()
            .filter(|_| event.event_type == EventType::ScoreCalculated)
            .and_then(|id| index.get(id).map(|&i| (id, i)))
            .filter(|&(_, i)| rows[i].latest.is_some());
        let linked = scored_here.map(|(id, i)| {
            let prev = rows[i]
                .last_event_id
                .or_else(|| stored.get(id).and_then(|s| s.last_event_id))
                .unwrap_or(0);
            rows[i].last_event_id = Some(next_event);
            prev
        });
        event_links.push((next_event, linked));
    }

    let json = |what: &'static str, e: serde_json::Error| crate::Error::Corrupt {
        what,
        detail: format!("cannot be written as JSON: {e}"),
    };
    let mut insert = raw.kept(COMPANY_INSERT_ONE)?;
    let mut upsert = raw.kept(COMPANY_UPSERT_ONE)?;
    for row in &rows {
        let name = match (&row.latest, &row.lead) {
            (Some((s, _)), _) => s.report.company_name.as_str(),
            (None, Some(lead)) => lead.company_name.as_str(),
            (None, None) => unreachable!("a row has a lead or a score"),
        };
        let at = if row.lead.is_some() {
            now
        } else {
            row.latest.map_or(now, |(s, _)| s.scored_at)
        };
        let lead = match &row.lead {
            Some(lead) => Some(serde_json::to_string(lead).map_err(|e| json("lead", e))?),
            None => None,
        };
        let score = row.latest.map(|(s, _)| &s.report);
        let name_key = score.map(|r| r.company_name.to_lowercase());
        let write = if stored.contains_key(row.company_id) {
            &mut upsert
        } else {
            &mut insert
        };
        write
            .bind(&[
                row.company_id.into(),
                name.into(),
                lead.as_deref().into(),
                at.into(),
                at.into(),
                name_key.as_deref().into(),
                score.map(|r| r.model.as_str()).into(),
                score.map(|r| i64::from(r.fit_score)).into(),
                score.map(|r| i64::from(r.intent_score)).into(),
                score.map(|r| i64::from(r.total_score)).into(),
                score.map(|r| r.action.as_str()).into(),
                row.latest.map(|(s, _)| s.scored_at).into(),
                row.latest.and_then(|(_, first)| first).into(),
                row.last_score_id.into(),
                row.last_event_id.into(),
            ])?
            .run()?;
    }
    drop((insert, upsert));
    let mut insert = raw.kept(SCORE_INSERT_ONE)?;
    for (s, &(id, prev)) in scores.iter().zip(&score_links) {
        let r = &s.report;
        let report = serde_json::to_string(r).map_err(|e| json("score", e))?;
        insert
            .bind(&[
                id.into(),
                r.company_id.as_str().into(),
                r.model.as_str().into(),
                r.model_version.as_str().into(),
                i64::from(r.fit_score).into(),
                i64::from(r.intent_score).into(),
                i64::from(r.total_score).into(),
                r.confidence.into(),
                r.action.as_str().into(),
                report.as_str().into(),
                s.scored_at.into(),
                prev.into(),
            ])?
            .run()?;
    }
    drop(insert);
    let mut insert = raw.kept(EVENT_INSERT_ONE)?;
    for (e, &(id, linked)) in events.iter().zip(&event_links) {
        let payload = serde_json::to_string(&e.payload).map_err(|e| json("event", e))?;
        insert
            .bind(&[
                id.into(),
                e.event_type.as_str().into(),
                e.occurred_at.into(),
                e.user_id.as_deref().into(),
                e.company_id.as_deref().into(),
                payload.as_str().into(),
                linked.into(),
            ])?
            .run()?;
    }
    Ok(scores.len() as u64)
}

/// The stored rows of `rows`' companies, and the last ids of `scores` and `events`, read in
/// the write transaction.
fn read_companies(
    raw: &Raw<'_>,
    rows: &[CompanyRow<'_>],
) -> crate::Result<(HashMap<String, Stored>, i64, i64)> {
    let mut stored = HashMap::with_capacity(rows.len());
    let mut read = raw.kept(READ_COMPANY)?;
    for row in rows {
        read.bind(&[row.company_id.into()])?;
        if read.step()? {
            stored.insert(
                row.company_id.to_owned(),
                Stored {
                    lead: read.text(0),
                    last_score_id: read.int(1),
                    last_event_id: read.int(2),
                },
            );
        }
    }
    drop(read);
    let mut seq = raw.kept(LAST_IDS)?;
    let (mut last_score, mut last_event) = (0, 0);
    seq.bind(&[])?;
    if seq.step()? {
        last_score = seq.int(0).unwrap_or(0);
        last_event = seq.int(1).unwrap_or(0);
    }
    Ok((stored, last_score, last_event))
}
