//! The e-mail queue's SQL, shared by both adapters. Only two things differ: how the claim's
//! transaction begins (SQLite: `BEGIN IMMEDIATE`, taking the write lock before reading) and the
//! row-locking clause of the claim's pick (PostgreSQL: `FOR UPDATE SKIP LOCKED`).

use sqlx::FromRow;

use crate::queue::{EmailStatus, QueuedEmail, SuppressionReason, WaitReason, Writer};

/// Columns of a queue row as [`EmailRow`] reads them, with the suppression looked up.
pub(crate) const EMAIL_COLUMNS: &str = "q.id, q.company_id, q.recipient, q.recipient_name, q.timezone, q.score, \
     q.variant, q.subject, q.body_text, q.body_html, q.writer, q.message_id, q.status, q.wait_reason, \
     (SELECT s.reason FROM suppressions s WHERE s.value = q.recipient_key \
      OR s.value = q.recipient_domain LIMIT 1) AS suppressed, \
     q.attempts, q.last_error, q.leased_by, q.created_at, q.due_at, q.sent_at, q.updated_at";

/// The same columns for `RETURNING` (claimed rows are never suppressed).
pub(crate) const RETURNING_COLUMNS: &str = "id, company_id, recipient, recipient_name, timezone, score, variant, \
     subject, body_text, body_html, writer, message_id, status, wait_reason, \
     CAST(NULL AS TEXT) AS suppressed, attempts, last_error, leased_by, created_at, due_at, \
     sent_at, updated_at";

/// `EmailQueue::unqueued_leads`' query over `leads` as `$from` names it (SQLite forces the
/// index: see its constants), from the start (`unqueued!(from)`) or past a key
/// (`unqueued!(from, after)`): a backward walk of the scored-leads table's date index
/// (`(scored_at + 0) DESC, company_id`, migration 0006), so oldest first and, at one time, the
/// greatest company id first, with no sort; past a key, a seek to its time, then past its
/// company.
macro_rules! unqueued {
    ($from:literal) => {
        $crate::queue_sql::unqueued!($from, "", "$1")
    };
    ($from:literal, after) => {
        $crate::queue_sql::unqueued!(
            $from,
            " AND (l.scored_at + 0) >= $1 AND ((l.scored_at + 0) > $1 OR l.company_id < $2)",
            "$3"
        )
    };
    ($from:literal, $after:literal, $limit:literal) => {
        concat!(
            "SELECT l.scored_at, l.company_id FROM ",
            $from,
            " WHERE l.scored_at IS NOT NULL AND l.email_status IS NULL AND l.lead IS NOT NULL",
            $after,
            " ORDER BY (l.scored_at + 0), l.company_id DESC LIMIT ",
            $limit
        )
    };
}
pub(crate) use unqueued;

/// A queue row as the database returns it.
#[derive(FromRow)]
pub(crate) struct EmailRow {
    id: i64,
    company_id: String,
    recipient: Option<String>,
    recipient_name: Option<String>,
    timezone: Option<String>,
    score: i16,
    variant: String,
    subject: String,
    body_text: String,
    body_html: Option<String>,
    writer: String,
    message_id: String,
    status: String,
    wait_reason: Option<String>,
    suppressed: Option<String>,
    attempts: i32,
    last_error: Option<String>,
    leased_by: Option<String>,
    created_at: i64,
    due_at: i64,
    sent_at: Option<i64>,
    updated_at: i64,
}

fn corrupt(detail: String) -> crate::Error {
    crate::Error::Corrupt {
        what: "e-mail",
        detail,
    }
}

fn parse_email_field<T: std::str::FromStr<Err = String>>(text: &str) -> crate::Result<T> {
    crate::error::parse_stored("e-mail", text)
}

impl TryFrom<EmailRow> for QueuedEmail {
    type Error = crate::Error;
    fn try_from(r: EmailRow) -> crate::Result<QueuedEmail> {
        Ok(QueuedEmail {
            id: r.id,
            company_id: r.company_id,
            recipient: r.recipient,
            recipient_name: r.recipient_name,
            timezone: r.timezone,
            score: u8::try_from(r.score).map_err(|_| corrupt(format!("score {}", r.score)))?,
            variant: r.variant,
            subject: r.subject,
            body_text: r.body_text,
            body_html: r.body_html,
            writer: parse_email_field::<Writer>(&r.writer)?,
            message_id: r.message_id,
            status: parse_email_field::<EmailStatus>(&r.status)?,
            wait_reason: r
                .wait_reason
                .map(|w| parse_email_field::<WaitReason>(&w))
                .transpose()?,
            suppressed: r
                .suppressed
                .map(|s| parse_email_field::<SuppressionReason>(&s))
                .transpose()?,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            last_error: r.last_error,
            leased_by: r.leased_by,
            created_at: r.created_at,
            due_at: r.due_at,
            sent_at: r.sent_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) fn rows_to_emails(rows: Vec<EmailRow>) -> crate::Result<Vec<QueuedEmail>> {
    rows.into_iter().map(QueuedEmail::try_from).collect()
}

/// `$lock`: the pick's locking clause. Every write, the claim included, runs in the store's
/// `write_tx()`.
macro_rules! impl_queue {
    ($store:ty, $db:ty, $lock:literal) => {
        impl $crate::EmailQueue for $store {
            async fn enqueue(
                &self,
                emails: &[$crate::NewEmail],
                now: i64,
            ) -> $crate::Result<$crate::Enqueued> {
                self.enqueue_logged(emails, now, |_| Vec::new()).await
            }

            async fn enqueue_logged<F>(
                &self,
                emails: &[$crate::NewEmail],
                now: i64,
                log: F,
            ) -> $crate::Result<$crate::Enqueued>
            where
                F: FnOnce(&$crate::Enqueued) -> Vec<$crate::NewEvent> + Send,
            {
                use std::collections::HashMap;
                let mut tx = self.write_tx().await?;
                // Ids of the rows this call inserted, by company; a company that is absent
                // already had an e-mail (ON CONFLICT ... DO NOTHING).
                let mut inserted: HashMap<String, i64> = HashMap::with_capacity(emails.len());
                for chunk in emails.chunks($crate::adapter::ROWS_PER_INSERT / 4) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO email_queue (company_id, recipient, recipient_name, \
                         timezone, recipient_key, recipient_domain, score, variant, subject, body_text, body_html, writer, \
                         message_id, status, wait_reason, created_at, due_at, updated_at) ",
                    );
                    insert.push_values(chunk, |mut row, e| {
                        let (key, domain) = $crate::queue::recipient_keys(e.recipient.as_deref());
                        let due = e.not_before.map_or(now, |t| t.max(now));
                        let (status, reason) = match (&e.recipient, due > now) {
                            (None, _) => ("waiting", Some("no_contact")),
                            (Some(_), true) => ("queued", Some("send_window")),
                            (Some(_), false) => ("queued", None),
                        };
                        row.push_bind(e.company_id.as_str())
                            .push_bind(e.recipient.as_deref())
                            .push_bind(e.recipient_name.as_deref())
                            .push_bind(e.timezone.as_deref())
                            .push_bind(key)
                            .push_bind(domain)
                            .push_bind(i16::from(e.score))
                            .push_bind(e.variant.as_str())
                            .push_bind(e.subject.as_str())
                            .push_bind(e.body_text.as_str())
                            .push_bind(e.body_html.as_deref())
                            .push_bind(e.writer.as_str())
                            .push_bind(e.message_id.as_str())
                            .push_bind(status)
                            .push_bind(reason)
                            .push_bind(now)
                            .push_bind(due)
                            .push_bind(now);
                    });
                    insert.push(
                        " ON CONFLICT (company_id) WHERE status <> 'cancelled' DO NOTHING \
                         RETURNING id, company_id",
                    );
                    let rows: Vec<(i64, String)> =
                        insert.build_query_as().fetch_all(&mut *tx).await?;
                    inserted.extend(rows.into_iter().map(|(id, c)| (c, id)));
                }
                let mut out = $crate::Enqueued::default();
                let mut seen = std::collections::HashSet::with_capacity(emails.len());
                for (index, e) in emails.iter().enumerate() {
                    let first = seen.insert(e.company_id.as_str());
                    match inserted.get(&e.company_id) {
                        Some(&id) if first => out.queued.push(id),
                        _ => {
                            let (existing,): (i64,) = sqlx::query_as(
                                "SELECT id FROM email_queue WHERE company_id = $1 \
                                 AND status <> 'cancelled'",
                            )
                            .bind(e.company_id.as_str())
                            .fetch_one(&mut *tx)
                            .await?;
                            out.skipped.push((index, e.company_id.clone(), existing));
                        }
                    }
                }
                let events = log(&out);
                if !events.is_empty() {
                    $crate::adapter::append_events_in!(tx, $db, &events)?;
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn claim(
                &self,
                worker: &str,
                n: u32,
                now: i64,
                lease_ms: u64,
            ) -> $crate::Result<Vec<$crate::QueuedEmail>> {
                if n == 0 {
                    return Ok(Vec::new());
                }
                let lease_until = now.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
                let sql = format!(
                    "UPDATE email_queue SET status = 'leased', leased_by = $1, due_at = $2, \
                     wait_reason = NULL, updated_at = $3 \
                     WHERE id IN (SELECT q.id FROM email_queue q \
                       WHERE q.status IN ('queued', 'leased') AND q.due_at <= $3 \
                       AND q.recipient IS NOT NULL \
                       AND NOT EXISTS (SELECT 1 FROM suppressions s \
                         WHERE s.value = q.recipient_key OR s.value = q.recipient_domain) \
                       ORDER BY q.score DESC, q.created_at, q.id LIMIT $4 {}) \
                     RETURNING {}",
                    $lock,
                    $crate::queue_sql::RETURNING_COLUMNS
                );
                let mut tx = self.write_tx().await?;
                let rows: Vec<$crate::queue_sql::EmailRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(worker)
                        .bind(lease_until)
                        .bind(now)
                        .bind(i64::from(n))
                        .fetch_all(&mut *tx)
                        .await?;
                tx.commit().await?;
                let mut emails = $crate::queue_sql::rows_to_emails(rows)?;
                emails.sort_by(|a, b| {
                    b.score
                        .cmp(&a.score)
                        .then(a.created_at.cmp(&b.created_at))
                        .then(a.id.cmp(&b.id))
                });
                Ok(emails)
            }

            async fn mark_sent(&self, id: i64, now: i64) -> $crate::Result<$crate::SendMark> {
                // This process's turn as the writer, for this statement only.
                let done = {
                    let mut turn = self.write_turn().await?;
                    sqlx::query(
                        "UPDATE email_queue SET status = 'sent', sent_at = $2, updated_at = $2, \
                         attempts = attempts + 1, wait_reason = NULL \
                         WHERE id = $1 AND status = 'leased'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(turn.conn())
                    .await?
                    .rows_affected()
                };
                if done == 1 {
                    return Ok($crate::SendMark::Marked);
                }
                self.not_marked_sent(id).await?
            }

            async fn mark_sent_many(
                &self,
                ids: &[i64],
                now: i64,
            ) -> $crate::Result<Vec<$crate::Result<$crate::SendMark>>> {
                let mut marked = std::collections::HashSet::with_capacity(ids.len());
                let mut tx = self.write_tx().await?;
                for chunk in ids.chunks($crate::adapter::ROWS_PER_INSERT) {
                    let mut update = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE email_queue SET status = 'sent', sent_at = ",
                    );
                    update
                        .push_bind(now)
                        .push(", updated_at = ")
                        .push_bind(now)
                        .push(
                            ", attempts = attempts + 1, wait_reason = NULL \
                             WHERE status = 'leased' AND id IN (",
                        );
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    update.push(") RETURNING id");
                    let rows: Vec<(i64,)> = update.build_query_as().fetch_all(&mut *tx).await?;
                    marked.extend(rows.into_iter().map(|(id,)| id));
                }
                tx.commit().await?;
                let mut out = Vec::with_capacity(ids.len());
                for &id in ids {
                    out.push(if marked.remove(&id) {
                        Ok($crate::SendMark::Marked)
                    } else {
                        self.not_marked_sent(id).await?
                    });
                }
                Ok(out)
            }

            async fn mark_failed(
                &self,
                id: i64,
                worker: &str,
                now: i64,
                failure: &$crate::Failure<'_>,
                backoff: &$crate::Backoff,
            ) -> $crate::Result<$crate::FailMark> {
                let mut tx = self.write_tx().await?;
                let attempts: Option<(i32,)> = sqlx::query_as(
                    "UPDATE email_queue SET attempts = attempts + 1, last_error = $3, \
                     updated_at = $4 \
                     WHERE id = $1 AND status = 'leased' AND leased_by = $2 RETURNING attempts",
                )
                .bind(id)
                .bind(worker)
                .bind(failure.error)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((attempts,)) = attempts else {
                    drop(tx);
                    return match self.status_of(id).await? {
                        Some(_) => Ok($crate::FailMark::LeaseLost),
                        None => Err($crate::Error::NotFound { what: "e-mail", id }),
                    };
                };
                let delay = if failure.transient {
                    backoff.delay_after(u32::try_from(attempts).unwrap_or(u32::MAX), failure.seed)
                } else {
                    None
                };
                let mark = match delay {
                    Some(delay) => {
                        let at = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                        sqlx::query(
                            "UPDATE email_queue SET status = 'queued', due_at = $2, \
                             wait_reason = 'backoff' WHERE id = $1",
                        )
                        .bind(id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        $crate::FailMark::Retry { at }
                    }
                    None => {
                        sqlx::query(
                            "UPDATE email_queue SET status = 'dead', wait_reason = NULL \
                             WHERE id = $1",
                        )
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        $crate::FailMark::Dead
                    }
                };
                tx.commit().await?;
                Ok(mark)
            }

            async fn defer(
                &self,
                id: i64,
                worker: &str,
                until: i64,
                reason: $crate::WaitReason,
                now: i64,
            ) -> $crate::Result<bool> {
                // This process's turn as the writer, for this statement only.
                let done = {
                    let mut turn = self.write_turn().await?;
                    sqlx::query(
                        "UPDATE email_queue SET status = 'queued', due_at = $3, wait_reason = $4, \
                         updated_at = $5 WHERE id = $1 AND status = 'leased' AND leased_by = $2",
                    )
                    .bind(id)
                    .bind(worker)
                    .bind(until)
                    .bind(reason.as_str())
                    .bind(now)
                    .execute(turn.conn())
                    .await?
                    .rows_affected()
                };
                Ok(done == 1)
            }

            async fn renew_lease(
                &self,
                worker: &str,
                now: i64,
                lease_ms: u64,
            ) -> $crate::Result<u64> {
                let lease_until = now.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
                // This process's turn as the writer, for this statement only.
                let mut turn = self.write_turn().await?;
                Ok(sqlx::query(
                    "UPDATE email_queue SET due_at = $2, updated_at = $3 \
                     WHERE status = 'leased' AND leased_by = $1 AND due_at < $2",
                )
                .bind(worker)
                .bind(lease_until)
                .bind(now)
                .execute(turn.conn())
                .await?
                .rows_affected())
            }

            async fn set_recipient(
                &self,
                company_id: &str,
                recipient: &str,
                now: i64,
            ) -> $crate::Result<bool> {
                let (key, domain) = $crate::queue::recipient_keys(Some(recipient));
                // This process's turn as the writer, for this statement only.
                let done = {
                    let mut turn = self.write_turn().await?;
                    sqlx::query(
                        "UPDATE email_queue SET recipient = $2, recipient_key = $3, \
                         recipient_domain = $4, updated_at = $5, \
                         wait_reason = CASE WHEN status = 'waiting' THEN NULL ELSE wait_reason END, \
                         due_at = CASE WHEN status = 'waiting' AND due_at < $5 THEN $5 ELSE due_at END, \
                         status = 'queued' \
                         WHERE company_id = $1 AND status IN ('waiting', 'queued')",
                    )
                    .bind(company_id)
                    .bind(recipient)
                    .bind(key)
                    .bind(domain)
                    .bind(now)
                    .execute(turn.conn())
                    .await?
                    .rows_affected()
                };
                Ok(done == 1)
            }

            async fn requeue(&self, id: i64, now: i64) -> $crate::Result<bool> {
                // This process's turn as the writer, for this statement only.
                let done = {
                    let mut turn = self.write_turn().await?;
                    sqlx::query(
                        "UPDATE email_queue SET attempts = 0, due_at = $2, updated_at = $2, \
                         leased_by = NULL, \
                         status = CASE WHEN recipient IS NULL THEN 'waiting' ELSE 'queued' END, \
                         wait_reason = CASE WHEN recipient IS NULL THEN 'no_contact' ELSE NULL END \
                         WHERE id = $1 AND status = 'dead'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(turn.conn())
                    .await?
                    .rows_affected()
                };
                Ok(done == 1)
            }

            async fn cancel(&self, id: i64, now: i64) -> $crate::Result<bool> {
                // This process's turn as the writer, for this statement only.
                let done = {
                    let mut turn = self.write_turn().await?;
                    sqlx::query(
                        "UPDATE email_queue SET status = 'cancelled', wait_reason = NULL, \
                         updated_at = $2 WHERE id = $1 AND status IN ('waiting', 'queued')",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(turn.conn())
                    .await?
                    .rows_affected()
                };
                Ok(done == 1)
            }

            async fn get_email(&self, id: i64) -> $crate::Result<Option<$crate::QueuedEmail>> {
                let sql = format!(
                    "SELECT {} FROM email_queue q WHERE q.id = $1",
                    $crate::queue_sql::EMAIL_COLUMNS
                );
                let row: Option<$crate::queue_sql::EmailRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map($crate::QueuedEmail::try_from).transpose()
            }

            async fn email_for_company(
                &self,
                company_id: &str,
            ) -> $crate::Result<Option<$crate::QueuedEmail>> {
                let sql = format!(
                    "SELECT {} FROM email_queue q WHERE q.company_id = $1 \
                     AND q.status <> 'cancelled'",
                    $crate::queue_sql::EMAIL_COLUMNS
                );
                let row: Option<$crate::queue_sql::EmailRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(company_id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map($crate::QueuedEmail::try_from).transpose()
            }

            async fn list_emails(
                &self,
                status: Option<$crate::EmailStatus>,
                limit: u32,
                offset: u64,
            ) -> $crate::Result<Vec<$crate::QueuedEmail>> {
                let sql = format!(
                    "SELECT {} FROM email_queue q WHERE ($1 IS NULL OR q.status = $1) \
                     ORDER BY q.score DESC, q.created_at, q.id LIMIT $2 OFFSET $3",
                    $crate::queue_sql::EMAIL_COLUMNS
                );
                let rows: Vec<$crate::queue_sql::EmailRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(status.map(|s| s.as_str()))
                        .bind(i64::from(limit))
                        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await?;
                $crate::queue_sql::rows_to_emails(rows)
            }

            async fn unqueued_leads(
                &self,
                after: Option<&$crate::ScoredKey>,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::ScoredKey>> {
                let rows: Vec<(i64, String)> = match after {
                    None => {
                        sqlx::query_as(Self::UNQUEUED_FIRST)
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await?
                    }
                    Some(after) => {
                        sqlx::query_as(Self::UNQUEUED_AFTER)
                            .bind(after.scored_at)
                            .bind(after.company_id.as_str())
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await?
                    }
                };
                Ok(rows
                    .into_iter()
                    .map(|(scored_at, company_id)| $crate::ScoredKey {
                        scored_at,
                        company_id,
                    })
                    .collect())
            }

            async fn queue_counts(&self) -> $crate::Result<$crate::QueueCounts> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM email_queue GROUP BY status")
                        .fetch_all(&self.pool)
                        .await?;
                let mut counts = $crate::QueueCounts::default();
                for (status, n) in rows {
                    let n = u64::try_from(n).unwrap_or(0);
                    match $crate::error::parse_stored::<$crate::EmailStatus>("e-mail", &status)? {
                        $crate::EmailStatus::Waiting => counts.waiting = n,
                        $crate::EmailStatus::Queued => counts.queued = n,
                        $crate::EmailStatus::Leased => counts.leased = n,
                        $crate::EmailStatus::Sent => counts.sent = n,
                        $crate::EmailStatus::Dead => counts.dead = n,
                        $crate::EmailStatus::Cancelled => counts.cancelled = n,
                    }
                }
                Ok(counts)
            }

            async fn suppress(&self, entries: &[$crate::Suppression]) -> $crate::Result<u64> {
                let mut tx = self.write_tx().await?;
                let added = $crate::adapter::insert_rows!(
                    tx,
                    $db,
                    entries,
                    $crate::adapter::ROWS_PER_INSERT,
                    "INSERT INTO suppressions (value, reason, created_at) ",
                    " ON CONFLICT (value) DO NOTHING",
                    |row, s| {
                        row.push_bind(s.value.trim().to_lowercase())
                            .push_bind(s.reason.as_str())
                            .push_bind(s.created_at);
                    }
                )?;
                tx.commit().await?;
                Ok(added)
            }

            async fn unsuppress(&self, value: &str) -> $crate::Result<bool> {
                // This process's turn as the writer, for this statement only.
                let done = {
                    let mut turn = self.write_turn().await?;
                    sqlx::query("DELETE FROM suppressions WHERE value = $1")
                        .bind(value.trim().to_lowercase())
                        .execute(turn.conn())
                        .await?
                        .rows_affected()
                };
                Ok(done == 1)
            }

            async fn suppression_of(
                &self,
                address: &str,
            ) -> $crate::Result<Option<$crate::Suppression>> {
                let (key, domain) = $crate::queue::recipient_keys(Some(address));
                let row: Option<(String, String, i64)> = sqlx::query_as(
                    "SELECT value, reason, created_at FROM suppressions \
                     WHERE value = $1 OR value = $2 ORDER BY value = $1 DESC LIMIT 1",
                )
                .bind(key)
                .bind(domain)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(value, reason, created_at)| {
                    Ok($crate::Suppression {
                        value,
                        reason: $crate::error::parse_stored("suppression", &reason)?,
                        created_at,
                    })
                })
                .transpose()
            }
        }

        impl $store {
            /// Why a row was not marked sent (the inner answer): it already was, it is in
            /// another state, or it does not exist. The outer error is the database's.
            async fn not_marked_sent(
                &self,
                id: i64,
            ) -> $crate::Result<$crate::Result<$crate::SendMark>> {
                Ok(match self.status_of(id).await? {
                    Some($crate::EmailStatus::Sent) => Ok($crate::SendMark::AlreadySent),
                    Some(status) => Err($crate::Error::InvalidState {
                        id,
                        status: status.to_string(),
                        action: "mark it sent (only a leased e-mail can be)",
                    }),
                    None => Err($crate::Error::NotFound { what: "e-mail", id }),
                })
            }

            async fn status_of(&self, id: i64) -> $crate::Result<Option<$crate::EmailStatus>> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM email_queue WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(s,)| $crate::error::parse_stored("e-mail", &s))
                    .transpose()
            }
        }
    };
}

pub(crate) use impl_queue;
