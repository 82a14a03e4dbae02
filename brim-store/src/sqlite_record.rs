//! SQLite's `record_scored` (and `save_scores`): each company's `leads` row written once, and
//! the company's chains of scores and of `score_calculated` events (migration 0006) kept by
//! giving the new rows their ids here, in the write transaction.

use std::collections::HashMap;

use brim_core::Lead;
use sqlx::types::Json;

use crate::adapter::{ROWS_PER_INSERT, event_row, latest_score_set, score_row};
use crate::sqlite::{KEEP_PREPARED_ROWS, SqliteStore};
use crate::{EventType, NewEvent, NewScore};

/// A company's row: its lead and its latest score, either of which may be absent (then the
/// stored one stays), and the new heads of its chains.
const COMPANY_INSERT: &str = "INSERT INTO leads (company_id, company_name, lead, created_at, \
     updated_at, name_key, model, fit_score, intent_score, total_score, action, scored_at, \
     first_qualified_at, last_score_id, last_event_id) ";

/// The new lead replaces the stored one (it was merged with it); a company only scored until
/// now is "created" when its lead comes. The newer score wins; the first qualifying time is the
/// earliest either knows.
const COMPANY_UPSERT: &str = concat!(
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

const SCORES_INSERT: &str = "INSERT INTO scores (id, company_id, model, model_version, \
     fit_score, intent_score, total_score, confidence, action, report, scored_at, prev_id) ";

const EVENTS_INSERT: &str = "INSERT INTO events (id, event_type, occurred_at, user_id, \
     company_id, payload, linked) ";

/// The tables' last ids (one row), then the stored rows of the companies asked for.
const READ_COMPANIES: &str = "SELECT NULL, NULL, NULL, NULL, \
       (SELECT seq FROM sqlite_sequence WHERE name = 'scores'), \
       (SELECT seq FROM sqlite_sequence WHERE name = 'events') \
     UNION ALL SELECT company_id, lead, last_score_id, last_event_id, NULL, NULL FROM leads \
     WHERE company_id IN (";

type ReadRow = (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

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
    /// [`crate::ScoreStore::record_scored`] in three round trips to the connection's thread
    /// (each statement is one; under load each costs ~100 µs of waiting for a core, measured):
    /// `BEGIN IMMEDIATE`; one read of the companies' stored rows and the tables' last ids;
    /// then every INSERT and the `COMMIT` as one multi-statement query. Each company's row is
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

        let mut tx = self.write_tx().await?;
        let (mut stored, last_score, last_event) = read_companies(&mut tx, &rows).await?;
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

        let mut sql = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        for chunk in rows.chunks(ROWS_PER_INSERT / 2) {
            sql.push(COMPANY_INSERT);
            sql.push_values(chunk, |mut b, row| {
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
                let score = row.latest.map(|(s, _)| &s.report);
                b.push_bind(row.company_id)
                    .push_bind(name)
                    .push_bind(row.lead.as_ref().map(Json))
                    .push_bind(at)
                    .push_bind(at)
                    .push_bind(score.map(|r| r.company_name.to_lowercase()))
                    .push_bind(score.map(|r| r.model.as_str()))
                    .push_bind(score.map(|r| i16::from(r.fit_score)))
                    .push_bind(score.map(|r| i16::from(r.intent_score)))
                    .push_bind(score.map(|r| i16::from(r.total_score)))
                    .push_bind(score.map(|r| r.action.as_str()))
                    .push_bind(row.latest.map(|(s, _)| s.scored_at))
                    .push_bind(row.latest.and_then(|(_, first)| first))
                    .push_bind(row.last_score_id)
                    .push_bind(row.last_event_id);
            });
            sql.push(COMPANY_UPSERT).push(";\n");
        }
        let scored: Vec<_> = scores.iter().zip(&score_links).collect();
        for chunk in scored.chunks(ROWS_PER_INSERT / 2) {
            sql.push(SCORES_INSERT);
            sql.push_values(chunk, |mut b, (s, (id, prev))| {
                b.push_bind(*id);
                score_row!(b, s).push_bind(*prev);
            });
            sql.push(";\n");
        }
        let appended: Vec<_> = events.iter().zip(&event_links).collect();
        for chunk in appended.chunks(ROWS_PER_INSERT / 2) {
            sql.push(EVENTS_INSERT);
            sql.push_values(chunk, |mut b, (e, (id, linked))| {
                b.push_bind(*id);
                event_row!(b, e).push_bind(*linked);
            });
            sql.push(";\n");
        }
        sql.push("COMMIT");
        // The text depends only on the batch's row counts, so a request-sized batch's
        // statements are prepared once and kept (parsing them was ~10 % of the writer's time,
        // measured); a bulk import's big ones are not kept.
        let keep = rows.len().max(scores.len()).max(events.len()) <= KEEP_PREPARED_ROWS;
        sql.build().persistent(keep).execute(&mut *tx).await?;
        tx.committed();
        Ok(scores.len() as u64)
    }
}

/// The stored rows of `rows`' companies, and the last ids of `scores` and `events`, read in
/// the write transaction `tx`.
async fn read_companies(
    tx: &mut crate::sqlite::WriteTx,
    rows: &[CompanyRow<'_>],
) -> crate::Result<(HashMap<String, Stored>, i64, i64)> {
    let mut stored = HashMap::with_capacity(rows.len());
    let (mut last_score, mut last_event) = (0, 0);
    let mut chunks: Vec<&[CompanyRow]> = rows.chunks(ROWS_PER_INSERT).collect();
    if chunks.is_empty() {
        chunks.push(&[]); // still one read, for the last ids
    }
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut select = sqlx::QueryBuilder::<sqlx::Sqlite>::new(READ_COMPANIES);
        let mut ids = select.separated(", ");
        for row in chunk {
            ids.push_bind(row.company_id);
        }
        select.push(")");
        let found: Vec<ReadRow> = select.build_query_as().fetch_all(&mut **tx).await?;
        for (company_id, lead, last_score_id, last_event_id, scores_seq, events_seq) in found {
            match company_id {
                Some(company_id) => {
                    stored.insert(
                        company_id,
                        Stored {
                            lead,
                            last_score_id,
                            last_event_id,
                        },
                    );
                }
                None if i == 0 => {
                    last_score = scores_seq.unwrap_or(0);
                    last_event = events_seq.unwrap_or(0);
                }
                None => {}
            }
        }
    }
    Ok((stored, last_score, last_event))
}
