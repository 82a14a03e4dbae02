//! The SQL both adapters share. SQLite and PostgreSQL both take `$N` parameters, `ON CONFLICT
//! ... DO UPDATE` and multi-row `VALUES`, so one macro writes the port implementations for each
//! pool type; only connecting and migrating differ (see `sqlite.rs`, `postgres.rs`).

/// Rows per multi-row INSERT: 6 parameters a row stays far below both databases' limits.
pub(crate) const ROWS_PER_INSERT: usize = 1000;

/// A company's scores, newest first, through the index on `(company_id, scored_at)`.
pub(crate) const SCORE_HISTORY: &str = "SELECT id, report, scored_at FROM scores \
     WHERE company_id = $1 ORDER BY scored_at DESC, id DESC";
/// A company's latest score.
pub(crate) const LATEST_SCORE: &str = "SELECT id, report, scored_at FROM scores \
     WHERE company_id = $1 ORDER BY scored_at DESC, id DESC LIMIT 1";
/// A company's events, oldest first, through the index on `(company_id, id)`.
pub(crate) const COMPANY_EVENTS: &str = "SELECT id, event_type, occurred_at, user_id, \
     company_id, payload FROM events WHERE company_id = $1 ORDER BY id";

/// The INSERTs of scoring, for the ports below.
pub(crate) const LEADS_INSERT: &str =
    "INSERT INTO leads (company_id, company_name, lead, created_at, updated_at) ";
/// The leads are merged with what is stored before the upsert, so the new row wins. A company
/// that was only scored until now gets its lead, and is "created" now; its name stays its
/// latest score's.
pub(crate) const LEADS_UPSERT: &str = " ON CONFLICT (company_id) DO UPDATE SET \
     company_name = CASE WHEN leads.scored_at IS NULL THEN excluded.company_name \
       ELSE leads.company_name END, \
     lead = excluded.lead, \
     created_at = CASE WHEN leads.lead IS NULL THEN excluded.created_at ELSE leads.created_at END, \
     updated_at = excluded.updated_at";
pub(crate) const SCORES_INSERT: &str = "INSERT INTO scores (company_id, model, model_version, \
     fit_score, intent_score, total_score, confidence, action, report, scored_at) ";
/// A company's latest score, on its `leads` row (created, without a lead, for a company that is
/// only scored).
pub(crate) const LATEST_INSERT: &str = "INSERT INTO leads (company_id, company_name, name_key, \
     model, fit_score, intent_score, total_score, action, scored_at, first_qualified_at, \
     created_at, updated_at) ";

/// `col = ` the new score's value if it is at least as new as the stored one, else the stored.
macro_rules! newer {
    ($col:literal) => {
        concat!(
            $col,
            " = CASE WHEN leads.scored_at IS NULL OR excluded.scored_at >= leads.scored_at \
             THEN excluded.",
            $col,
            " ELSE leads.",
            $col,
            " END"
        )
    };
}

/// The SET list that keeps a company's latest score on its `leads` row: a newer score already
/// there wins; the first qualifying time is the earliest either knows.
macro_rules! latest_score_set {
    () => {
        concat!(
            $crate::adapter::newer!("company_name"),
            ", ",
            $crate::adapter::newer!("name_key"),
            ", ",
            $crate::adapter::newer!("model"),
            ", ",
            $crate::adapter::newer!("fit_score"),
            ", ",
            $crate::adapter::newer!("intent_score"),
            ", ",
            $crate::adapter::newer!("total_score"),
            ", ",
            $crate::adapter::newer!("action"),
            ", ",
            $crate::adapter::newer!("scored_at"),
            ", first_qualified_at = CASE WHEN leads.first_qualified_at IS NULL \
               OR excluded.first_qualified_at < leads.first_qualified_at \
               THEN excluded.first_qualified_at ELSE leads.first_qualified_at END"
        )
    };
}

/// A newer score already there wins (see `latest_score_set`).
pub(crate) const LATEST_UPSERT: &str = concat!(
    " ON CONFLICT (company_id) DO UPDATE SET ",
    latest_score_set!()
);
pub(crate) const EVENTS_INSERT: &str =
    "INSERT INTO events (event_type, occurred_at, user_id, company_id, payload) ";

/// Binds one row of `LEADS_INSERT`: a company's merged lead, stored at `now`.
macro_rules! lead_row {
    ($row:ident, $company_id:expr, $lead:expr, $now:expr) => {
        $row.push_bind(&**$company_id)
            .push_bind($lead.company_name.as_str())
            .push_bind(sqlx::types::Json($lead))
            .push_bind($now)
            .push_bind($now)
    };
}

/// Binds one row of `SCORES_INSERT` from a `NewScore`.
macro_rules! score_row {
    ($row:ident, $s:expr) => {{
        let r = &$s.report;
        $row.push_bind(r.company_id.as_str())
            .push_bind(r.model.as_str())
            .push_bind(r.model_version.as_str())
            .push_bind(i16::from(r.fit_score))
            .push_bind(i16::from(r.intent_score))
            .push_bind(i16::from(r.total_score))
            .push_bind(r.confidence)
            .push_bind(r.action.as_str())
            .push_bind(sqlx::types::Json(r))
            .push_bind($s.scored_at)
    }};
}

/// Binds one row of `LATEST_INSERT` from a `latest_by_company` entry.
macro_rules! latest_row {
    ($row:ident, $latest:expr) => {{
        let (s, first_qualified_at): (&$crate::NewScore, Option<i64>) = $latest;
        let r = &s.report;
        $row.push_bind(r.company_id.as_str())
            .push_bind(r.company_name.as_str())
            .push_bind(r.company_name.to_lowercase())
            .push_bind(r.model.as_str())
            .push_bind(i16::from(r.fit_score))
            .push_bind(i16::from(r.intent_score))
            .push_bind(i16::from(r.total_score))
            .push_bind(r.action.as_str())
            .push_bind(s.scored_at)
            .push_bind(first_qualified_at)
            .push_bind(s.scored_at)
            .push_bind(s.scored_at)
    }};
}

/// Binds one row of `EVENTS_INSERT` from a `NewEvent`.
macro_rules! event_row {
    ($row:ident, $e:expr) => {
        $row.push_bind($e.event_type.as_str())
            .push_bind($e.occurred_at)
            .push_bind($e.user_id.as_deref())
            .push_bind($e.company_id.as_deref())
            .push_bind(sqlx::types::Json(&$e.payload))
    };
}

/// Multi-row INSERTs of `items`, `rows` rows each, inside the transaction `tx`; `suffix`
/// follows the VALUES (e.g. an ON CONFLICT clause). Evaluates to `Result<u64>`, the number of
/// rows stored.
macro_rules! insert_rows {
    ($tx:expr, $db:ty, $items:expr, $rows:expr, $sql:expr, $suffix:expr, |$row:ident, $item:ident| $push:block) => {{
        let mut stored = 0u64;
        for chunk in $items.chunks($rows) {
            let mut insert = sqlx::QueryBuilder::<$db>::new($sql);
            insert.push_values(chunk, |mut $row, $item| $push);
            insert.push($suffix);
            stored += insert.build().execute(&mut *$tx).await?.rows_affected();
        }
        Ok::<u64, $crate::Error>(stored)
    }};
}

/// One transaction of multi-row INSERTs: every item is stored or none is.
/// Evaluates to `Result<u64>`, the number of rows stored.
macro_rules! batch_insert {
    ($store:expr, $db:ty, $items:expr, $rows:expr, $sql:expr, |$row:ident, $item:ident| $push:block) => {{
        let mut tx = $store.write_tx().await?;
        let stored =
            $crate::adapter::insert_rows!(tx, $db, $items, $rows, $sql, "", |$row, $item| $push)?;
        tx.commit().await?;
        Ok(stored)
    }};
}

/// Upserts `leads` (merged per company with what is stored) inside the transaction `tx`.
macro_rules! upsert_leads_in {
    ($tx:ident, $db:ty, $leads:expr, $now:expr) => {{
        let tx = &mut $tx;
        let now: i64 = $now;
        let merged = $crate::merge_by_company($leads);
        let rows = $crate::adapter::merged_with_stored!(tx, $db, &merged);
        for chunk in rows.chunks($crate::adapter::ROWS_PER_INSERT / 2) {
            let mut insert = sqlx::QueryBuilder::<$db>::new($crate::adapter::LEADS_INSERT);
            insert.push_values(chunk, |mut row, (company_id, lead)| {
                $crate::adapter::lead_row!(row, company_id, lead, now);
            });
            insert.push($crate::adapter::LEADS_UPSERT);
            insert.build().execute(&mut **tx).await?;
        }
    }};
}

/// `merged` (one lead per company, from `merge_by_company`) each merged into what is stored
/// for its company, read inside the transaction `tx` (`&mut` to it): one read per chunk, the
/// merge in memory. Evaluates to `Vec<(&str, Lead)>`, in `merged`'s order.
macro_rules! merged_with_stored {
    ($tx:expr, $db:ty, $merged:expr) => {{
        let merged: &[(String, brim_core::Lead)] = $merged;
        let mut stored: std::collections::HashMap<String, brim_core::Lead> =
            std::collections::HashMap::new();
        for chunk in merged.chunks($crate::adapter::ROWS_PER_INSERT / 2) {
            let mut select = sqlx::QueryBuilder::<$db>::new(
                "SELECT company_id, lead FROM leads WHERE lead IS NOT NULL AND company_id IN (",
            );
            let mut ids = select.separated(", ");
            for (company_id, _) in chunk {
                ids.push_bind(company_id.as_str());
            }
            select.push(")");
            let rows: Vec<(String, sqlx::types::Json<brim_core::UncheckedLead>)> =
                select.build_query_as().fetch_all(&mut **$tx).await?;
            stored.extend(rows.into_iter().map(|(id, lead)| (id, lead.0.0)));
        }
        merged
            .iter()
            .map(|(company_id, lead)| {
                (
                    company_id.as_str(),
                    $crate::merged_onto(stored.remove(company_id), lead.clone()),
                )
            })
            .collect::<Vec<(&str, brim_core::Lead)>>()
    }};
}

/// Inserts `scores` and keeps each company's latest score on its `leads` row, inside the
/// transaction `tx`.
/// Evaluates to the number of scores stored.
macro_rules! save_scores_in {
    ($tx:ident, $db:ty, $scores:expr) => {{
        let scores: &[$crate::NewScore] = $scores;
        let tx = &mut $tx;
        // Keep each company's latest score on its leads row (one row per company for the
        // scored-leads table); a newer score already there wins.
        let latest = $crate::latest_by_company(scores);
        $crate::adapter::insert_rows!(
            *tx,
            $db,
            latest,
            $crate::adapter::ROWS_PER_INSERT / 2,
            $crate::adapter::LATEST_INSERT,
            $crate::adapter::LATEST_UPSERT,
            |row, s| {
                $crate::adapter::latest_row!(row, *s);
            }
        )?;
        // 10 parameters a row: half the rows keeps under both databases' limits.
        $crate::adapter::insert_rows!(
            *tx,
            $db,
            scores,
            $crate::adapter::ROWS_PER_INSERT / 2,
            $crate::adapter::SCORES_INSERT,
            "",
            |row, s| {
                $crate::adapter::score_row!(row, s);
            }
        )?
    }};
}

/// Appends `events` inside the transaction `tx`; evaluates to `Result<u64>`.
macro_rules! append_events_in {
    ($tx:ident, $db:ty, $events:expr) => {
        $crate::adapter::insert_rows!(
            $tx,
            $db,
            $events,
            $crate::adapter::ROWS_PER_INSERT,
            $crate::adapter::EVENTS_INSERT,
            "",
            |row, e| {
                $crate::adapter::event_row!(row, e);
            }
        )
    };
}

macro_rules! impl_ports {
    ($store:ty, $db:ty) => {
        impl $crate::LeadStore for $store {
            async fn upsert_leads(
                &self,
                leads: &[brim_core::Lead],
                now: i64,
            ) -> $crate::Result<()> {
                let mut tx = self.write_tx().await?;
                $crate::adapter::upsert_leads_in!(tx, $db, leads, now);
                tx.commit().await?;
                Ok(())
            }

            async fn get_lead(
                &self,
                company_id: &str,
            ) -> $crate::Result<Option<$crate::StoredLead>> {
                let row: Option<(sqlx::types::Json<brim_core::UncheckedLead>, i64, i64)> =
                    sqlx::query_as(
                        "SELECT lead, created_at, updated_at FROM leads \
                         WHERE company_id = $1 AND lead IS NOT NULL",
                    )
                    .bind(company_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(
                    |(
                        sqlx::types::Json(brim_core::UncheckedLead(lead)),
                        created_at,
                        updated_at,
                    )| {
                        $crate::StoredLead {
                            lead,
                            created_at,
                            updated_at,
                        }
                    },
                ))
            }

            async fn delete_lead(&self, company_id: &str) -> $crate::Result<bool> {
                let mut tx = self.write_tx().await?;
                // The company's row first: it locks the company (every score write updates this
                // row in its transaction), so on PostgreSQL a concurrent write either committed
                // before (and its rows are deleted below) or waits and starts the company afresh.
                let deleted = sqlx::query("DELETE FROM leads WHERE company_id = $1")
                    .bind(company_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    return Ok(false); // dropped: rolled back, nothing changed
                }
                // Sent e-mails stay: they were sent (and count in the A/B results), their
                // unsubscribe links must keep working, and once per company holds if the company
                // comes back.
                sqlx::query("DELETE FROM email_queue WHERE company_id = $1 AND status <> 'sent'")
                    .bind(company_id)
                    .execute(&mut *tx)
                    .await?;
                for table in ["scores", "outcomes", "events"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE company_id = $1"
                    )))
                    .bind(company_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
        }

        impl $crate::ScoreStore for $store {
            async fn save_scores(&self, scores: &[$crate::NewScore]) -> $crate::Result<u64> {
                if let Some(done) = self.record_directly(&[], 0, scores, &[]).await {
                    return done;
                }
                let mut tx = self.write_tx().await?;
                let stored = $crate::adapter::save_scores_in!(tx, $db, scores);
                tx.commit().await?;
                Ok(stored)
            }

            async fn record_scored(
                &self,
                leads: &[brim_core::Lead],
                now: i64,
                scores: &[$crate::NewScore],
                events: &[$crate::NewEvent],
            ) -> $crate::Result<u64> {
                // SQLite on a file writes these its own way (`sqlite_direct.rs`); otherwise a
                // statement per table, multi-row, in one transaction.
                if let Some(done) = self.record_directly(leads, now, scores, events).await {
                    return done;
                }
                let mut tx = self.write_tx().await?;
                $crate::adapter::upsert_leads_in!(tx, $db, leads, now);
                let stored = $crate::adapter::save_scores_in!(tx, $db, scores);
                $crate::adapter::append_events_in!(tx, $db, events)?;
                tx.commit().await?;
                Ok(stored)
            }

            async fn latest_score(
                &self,
                company_id: &str,
            ) -> $crate::Result<Option<$crate::StoredScore>> {
                let row: Option<(i64, sqlx::types::Json<brim_core::ScoreReport>, i64)> =
                    sqlx::query_as($crate::adapter::LATEST_SCORE)
                        .bind(company_id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(id, report, scored_at)| $crate::StoredScore {
                    id,
                    report: report.0,
                    scored_at,
                }))
            }

            async fn score_history(
                &self,
                company_id: &str,
            ) -> $crate::Result<Vec<$crate::StoredScore>> {
                let rows: Vec<(i64, sqlx::types::Json<brim_core::ScoreReport>, i64)> =
                    sqlx::query_as($crate::adapter::SCORE_HISTORY)
                        .bind(company_id)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, report, scored_at)| $crate::StoredScore {
                        id,
                        report: report.0,
                        scored_at,
                    })
                    .collect())
            }
        }

        impl $crate::OutcomeStore for $store {
            async fn report_outcomes(&self, outcomes: &[$crate::Outcome]) -> $crate::Result<u64> {
                $crate::adapter::batch_insert!(
                    self,
                    $db,
                    outcomes,
                    $crate::adapter::ROWS_PER_INSERT,
                    "INSERT INTO outcomes (company_id, outcome, occurred_at) ",
                    |row, o| {
                        row.push_bind(o.company_id.as_str())
                            .push_bind(o.outcome.as_str())
                            .push_bind(o.occurred_at);
                    }
                )
            }

            async fn outcomes_for(&self, company_id: &str) -> $crate::Result<Vec<$crate::Outcome>> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as(
                    "SELECT company_id, outcome, occurred_at FROM outcomes \
                     WHERE company_id = $1 ORDER BY occurred_at, id",
                )
                .bind(company_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(company_id, outcome, occurred_at)| {
                        let outcome = $crate::error::parse_stored("outcome", &outcome)?;
                        Ok($crate::Outcome {
                            company_id,
                            outcome,
                            occurred_at,
                        })
                    })
                    .collect()
            }

            async fn labelled_leads(
                &self,
            ) -> $crate::Result<Vec<(brim_core::Lead, $crate::OutcomeKind)>> {
                let rows: Vec<(sqlx::types::Json<brim_core::UncheckedLead>, String)> =
                    sqlx::query_as(
                        "SELECT l.lead, o.outcome FROM leads l JOIN outcomes o \
                         ON o.id = (SELECT o2.id FROM outcomes o2 WHERE o2.company_id = l.company_id \
                                    ORDER BY o2.occurred_at DESC, o2.id DESC LIMIT 1) \
                         WHERE l.lead IS NOT NULL ORDER BY l.company_id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(lead, outcome)| {
                        Ok((
                            lead.0.0,
                            $crate::error::parse_stored("outcome", &outcome)?,
                        ))
                    })
                    .collect()
            }
        }

        impl $crate::EventStore for $store {
            async fn append_events(&self, events: &[$crate::NewEvent]) -> $crate::Result<u64> {
                let mut tx = self.write_tx().await?;
                let stored = $crate::adapter::append_events_in!(tx, $db, events)?;
                tx.commit().await?;
                Ok(stored)
            }

            async fn count_events(
                &self,
                event_type: Option<$crate::EventType>,
            ) -> $crate::Result<u64> {
                let (n,): (i64,) = match event_type {
                    Some(t) => {
                        sqlx::query_as("SELECT COUNT(*) FROM events WHERE event_type = $1")
                            .bind(t.as_str())
                            .fetch_one(&self.pool)
                            .await?
                    }
                    None => {
                        sqlx::query_as("SELECT COUNT(*) FROM events")
                            .fetch_one(&self.pool)
                            .await?
                    }
                };
                Ok(n as u64)
            }

            async fn events_for_company(
                &self,
                company_id: &str,
            ) -> $crate::Result<Vec<$crate::Event>> {
                let rows: Vec<(
                    i64,
                    String,
                    i64,
                    Option<String>,
                    Option<String>,
                    sqlx::types::Json<serde_json::Value>,
                )> = sqlx::query_as($crate::adapter::COMPANY_EVENTS)
                    .bind(company_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(
                        |(id, event_type, occurred_at, user_id, company_id, payload)| {
                            let event_type = $crate::error::parse_stored("event", &event_type)?;
                            Ok($crate::Event {
                                id,
                                event_type,
                                occurred_at,
                                user_id,
                                company_id,
                                payload: payload.0,
                            })
                        },
                    )
                    .collect()
            }
        }
    };
}

pub(crate) use {
    append_events_in, batch_insert, event_row, impl_ports, insert_rows, latest_row, lead_row,
    merged_with_stored, newer, save_scores_in, score_row, upsert_leads_in,
};
