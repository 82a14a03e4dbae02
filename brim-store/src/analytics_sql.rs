//! The analytics SQL, shared by both adapters. Everything is counted by the database; only
//! the answers (a few numbers, a page of rows) cross the connection.

use crate::analytics::{LeadSort, LeadsQuery, StatusFilter};

/// Activation events that reached [`crate::ACTIVATION_STEP`] in `[$start, $end)`, as a WHERE
/// clause over `events` with the placeholders numbered from `$first`.
pub(crate) fn activations_where(first: usize) -> String {
    format!(
        "event_type = 'activation_step_completed' AND payload->>'step' = '{}' \
         AND occurred_at >= ${first} AND occurred_at < ${}",
        crate::ACTIVATION_STEP,
        first + 1
    )
}

/// The scored-leads table's FROM and WHERE, with its binds in order. One table: the e-mail's
/// status and variant are kept on the company's `leads` row by triggers.
pub(crate) fn leads_filter(query: &LeadsQuery) -> (String, Vec<String>) {
    let mut sql = String::from(" FROM leads l WHERE l.scored_at IS NOT NULL");
    let mut binds = Vec::new();
    if let Some(action) = &query.action {
        binds.push(action.clone());
        sql.push_str(&format!(" AND l.action = ${}", binds.len()));
    }
    match query.status {
        None => {}
        Some(StatusFilter::NoEmail) => sql.push_str(" AND l.email_status IS NULL"),
        Some(StatusFilter::Pending) => {
            sql.push_str(" AND l.email_status IN ('waiting', 'queued', 'leased')")
        }
        Some(StatusFilter::Is(status)) => {
            binds.push(status.as_str().to_string());
            sql.push_str(&format!(" AND l.email_status = ${}", binds.len()));
        }
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let mut pattern = String::with_capacity(search.len() + 2);
        pattern.push('%');
        for c in search.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        binds.push(pattern);
        sql.push_str(&format!(
            " AND l.name_key LIKE ${} ESCAPE '\\'",
            binds.len()
        ));
    }
    (sql, binds)
}

/// The ORDER BY of the scored-leads table (always total, ending in the key).
pub(crate) fn leads_order(query: &LeadsQuery) -> String {
    let dir = if query.descending { "DESC" } else { "ASC" };
    match query.sort {
        LeadSort::Score => {
            format!(" ORDER BY l.total_score {dir}, l.scored_at {dir}, l.company_id")
        }
        LeadSort::Name => format!(" ORDER BY l.name_key {dir}, l.company_id"),
        // `+ 0`: the date index's expression (see migration 0006).
        LeadSort::Date => format!(" ORDER BY (l.scored_at + 0) {dir}, l.company_id"),
    }
}

/// Columns of a scored-leads row.
pub(crate) const LEAD_COLUMNS: &str = "SELECT l.company_id, l.company_name, l.total_score, \
     l.fit_score, l.intent_score, l.action, l.model, l.scored_at, l.email_status, l.email_variant";

/// A scored-leads row as the database returns it.
pub(crate) type LeadRow = (
    String,
    String,
    i16,
    i16,
    i16,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
);

pub(crate) fn lead_from_row(row: LeadRow) -> crate::Result<crate::ScoredLead> {
    let (company_id, company_name, total, fit, intent, action, model, scored_at, status, variant) =
        row;
    let score = |v: i16| {
        u8::try_from(v).map_err(|_| crate::Error::Corrupt {
            what: "score",
            detail: format!("{v} is not a score"),
        })
    };
    Ok(crate::ScoredLead {
        company_id,
        company_name,
        score: score(total)?,
        fit_score: score(fit)?,
        intent_score: score(intent)?,
        action,
        model,
        scored_at,
        email_status: status
            .map(|s| crate::error::parse_stored("e-mail", &s))
            .transpose()?,
        email_variant: variant,
    })
}

macro_rules! impl_analytics {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Distinct companies scored above the qualifying score in `[start, end)`.
            async fn qualified_between(&self, (start, end): (i64, i64)) -> $crate::Result<f64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(DISTINCT company_id) FROM scores \
                     WHERE scored_at >= $1 AND scored_at < $2 AND total_score > $3",
                )
                .bind(start)
                .bind(end)
                .bind(i16::from($crate::QUALIFIED_SCORE))
                .fetch_one(&self.pool)
                .await?;
                Ok(n as f64)
            }

            /// Distinct users who reached the activation step in `[start, end)`.
            async fn activations_between(&self, (start, end): (i64, i64)) -> $crate::Result<f64> {
                let sql = format!(
                    "SELECT COUNT(DISTINCT user_id) FROM events WHERE {}",
                    $crate::analytics_sql::activations_where(1)
                );
                let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(start)
                    .bind(end)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n as f64)
            }

            /// Click-through rate (percent) of the e-mails sent in `[start, end)`.
            async fn ctr_between(&self, (start, end): (i64, i64)) -> $crate::Result<f64> {
                let (sent, clicked): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM email_queue \
                       WHERE status = 'sent' AND sent_at >= $1 AND sent_at < $2), \
                     (SELECT COUNT(DISTINCT company_id) FROM events \
                       WHERE event_type = 'email_clicked' AND occurred_at >= $1 AND occurred_at < $2)",
                )
                .bind(start)
                .bind(end)
                .fetch_one(&self.pool)
                .await?;
                Ok(if sent == 0 { 0.0 } else { clicked as f64 / sent as f64 * 100.0 })
            }
        }

        impl $crate::Analytics for $store {
            async fn kpis(&self, period: $crate::Period) -> $crate::Result<$crate::Kpis> {
                period.check()?;
                let (cur, prev) = (period.current(), period.previous());
                // Independent reads: run them side by side on the pool's connections.
                let (q_cur, q_prev, a_cur, a_prev, c_cur, c_prev) = tokio::try_join!(
                    self.qualified_between(cur),
                    self.qualified_between(prev),
                    self.activations_between(cur),
                    self.activations_between(prev),
                    self.ctr_between(cur),
                    self.ctr_between(prev),
                )?;
                let (qualified, activations, ctr) = ((q_cur, q_prev), (a_cur, a_prev), (c_cur, c_prev));
                let rate = |a: f64, q: f64| if q == 0.0 { 0.0 } else { a / q * 100.0 };
                let sql = format!(
                    "SELECT CAST(AVG(CAST(a.t - l.first_qualified_at AS DOUBLE PRECISION)) \
                       / 86400000.0 AS DOUBLE PRECISION) \
                     FROM (SELECT company_id, MIN(occurred_at) AS t FROM events \
                       WHERE {} AND company_id IS NOT NULL GROUP BY company_id) a \
                     JOIN leads l ON l.company_id = a.company_id \
                     WHERE l.first_qualified_at <= a.t",
                    $crate::analytics_sql::activations_where(1)
                );
                let (average_days,): (Option<f64>,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(cur.0)
                    .bind(cur.1)
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::Kpis {
                    qualified_leads: $crate::Kpi::new(
                        "qualified_leads",
                        "Companies scored above 75",
                        qualified.0,
                        qualified.1,
                    ),
                    email_click_through_rate: $crate::Kpi::new(
                        "email_click_through_rate",
                        "Companies that clicked, per 100 e-mails sent",
                        ctr.0,
                        ctr.1,
                    ),
                    new_activations: $crate::Kpi::new(
                        "new_activations",
                        "Visitors who saw their scored results",
                        activations.0,
                        activations.1,
                    ),
                    funnel_conversion_rate: $crate::Kpi::new(
                        "funnel_conversion_rate",
                        "Activations per 100 qualified leads",
                        rate(activations.0, qualified.0),
                        rate(activations.1, qualified.1),
                    ),
                    average_days_to_activation: average_days
                        .map($crate::analytics::round2),
                })
            }

            async fn funnel_over_time(
                &self,
                period: $crate::Period,
            ) -> $crate::Result<Vec<$crate::FunnelDay>> {
                period.check()?;
                let (start, end) = period.current();
                let qualified: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT scored_at / 86400000 AS day, COUNT(DISTINCT company_id) FROM scores \
                     WHERE scored_at >= $1 AND scored_at < $2 AND total_score > $3 \
                     GROUP BY scored_at / 86400000",
                )
                .bind(start)
                .bind(end)
                .bind(i16::from($crate::QUALIFIED_SCORE))
                .fetch_all(&self.pool)
                .await?;
                let sql = format!(
                    "SELECT occurred_at / 86400000 AS day, COUNT(DISTINCT user_id) FROM events \
                     WHERE {} GROUP BY occurred_at / 86400000",
                    $crate::analytics_sql::activations_where(1)
                );
                let activations: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(start)
                    .bind(end)
                    .fetch_all(&self.pool)
                    .await?;
                let qualified: std::collections::HashMap<i64, i64> = qualified.into_iter().collect();
                let activations: std::collections::HashMap<i64, i64> =
                    activations.into_iter().collect();
                let first = start.div_euclid($crate::DAY_MS);
                let last = (end - 1).div_euclid($crate::DAY_MS);
                Ok((first..=last)
                    .map(|day| $crate::FunnelDay {
                        date: $crate::analytics::date_of_day(day),
                        qualified_leads: qualified.get(&day).copied().unwrap_or(0) as u64,
                        activations: activations.get(&day).copied().unwrap_or(0) as u64,
                    })
                    .collect())
            }

            async fn scored_leads(
                &self,
                query: &$crate::LeadsQuery,
            ) -> $crate::Result<$crate::Page<$crate::ScoredLead>> {
                query.check()?;
                let (filter, binds) = $crate::analytics_sql::leads_filter(query);
                let count_sql = format!("SELECT COUNT(*){filter}");
                let mut count = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_sql));
                for b in &binds {
                    count = count.bind(b.as_str());
                }
                let (total,) = count.fetch_one(&self.pool).await?;
                let n = binds.len();
                let page_sql = format!(
                    "{}{filter}{} LIMIT ${} OFFSET ${}",
                    $crate::analytics_sql::LEAD_COLUMNS,
                    $crate::analytics_sql::leads_order(query),
                    n + 1,
                    n + 2
                );
                let mut page = sqlx::query_as::<_, $crate::analytics_sql::LeadRow>(
                    sqlx::AssertSqlSafe(page_sql),
                );
                for b in &binds {
                    page = page.bind(b.as_str());
                }
                let rows = page
                    .bind(i64::from(query.per_page))
                    .bind(i64::from(query.page - 1) * i64::from(query.per_page))
                    .fetch_all(&self.pool)
                    .await?;
                Ok($crate::Page {
                    rows: rows
                        .into_iter()
                        .map($crate::analytics_sql::lead_from_row)
                        .collect::<$crate::Result<_>>()?,
                    total: total as u64,
                    page: query.page,
                    per_page: query.per_page,
                })
            }

            async fn score_distribution(
                &self,
                start: i64,
                end: i64,
            ) -> $crate::Result<Vec<$crate::ScoreBin>> {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT CAST(CASE WHEN total_score >= 90 THEN 9 ELSE total_score / 10 END \
                     AS BIGINT) AS bin, COUNT(*) FROM leads \
                     WHERE scored_at >= $1 AND scored_at < $2 GROUP BY 1",
                )
                .bind(start)
                .bind(end)
                .fetch_all(&self.pool)
                .await?;
                let mut bins: Vec<$crate::ScoreBin> = (0..10u8)
                    .map(|i| $crate::ScoreBin {
                        from: i * 10,
                        to: if i == 9 { 100 } else { i * 10 + 9 },
                        companies: 0,
                    })
                    .collect();
                for (bin, n) in rows {
                    if let Some(b) = usize::try_from(bin).ok().and_then(|i| bins.get_mut(i)) {
                        b.companies = n as u64;
                    }
                }
                Ok(bins)
            }

            async fn top_leads(&self, n: u32) -> $crate::Result<Vec<$crate::ScoredLead>> {
                if n == 0 {
                    return Ok(Vec::new());
                }
                let query = $crate::LeadsQuery {
                    per_page: n.min(500),
                    ..$crate::LeadsQuery::default()
                };
                let (filter, _) = $crate::analytics_sql::leads_filter(&query);
                let sql = format!(
                    "{}{filter}{} LIMIT $1",
                    $crate::analytics_sql::LEAD_COLUMNS,
                    $crate::analytics_sql::leads_order(&query)
                );
                let rows: Vec<$crate::analytics_sql::LeadRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(i64::from(n))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map($crate::analytics_sql::lead_from_row).collect()
            }

            async fn activation_funnel(
                &self,
                start: i64,
                end: i64,
                steps: &[String],
            ) -> $crate::Result<Vec<$crate::StepCount>> {
                let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
                    "SELECT payload->>'step' AS step, COUNT(DISTINCT user_id) FROM events \
                     WHERE event_type = 'activation_step_completed' \
                     AND occurred_at >= $1 AND occurred_at < $2 GROUP BY 1",
                )
                .bind(start)
                .bind(end)
                .fetch_all(&self.pool)
                .await?;
                let mut counts: Vec<$crate::StepCount> = steps
                    .iter()
                    .map(|s| $crate::StepCount {
                        step: s.clone(),
                        users: 0,
                    })
                    .collect();
                for (step, users) in rows {
                    let step = step.unwrap_or_default();
                    if let Some(s) = counts.iter_mut().find(|s| s.step == step) {
                        s.users = users as u64;
                    }
                }
                Ok(counts)
            }

            async fn variant_stats(
                &self,
                start: i64,
                end: i64,
            ) -> $crate::Result<Vec<$crate::VariantStats>> {
                let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
                    "SELECT q.variant, COUNT(*), \
                     SUM(CASE WHEN EXISTS (SELECT 1 FROM events e WHERE e.company_id = q.company_id \
                       AND e.event_type = 'email_opened') THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN EXISTS (SELECT 1 FROM events e WHERE e.company_id = q.company_id \
                       AND e.event_type = 'email_clicked') THEN 1 ELSE 0 END) \
                     FROM email_queue q \
                     WHERE q.status = 'sent' AND q.sent_at >= $1 AND q.sent_at < $2 \
                     GROUP BY q.variant ORDER BY q.variant",
                )
                .bind(start)
                .bind(end)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(variant, sent, opened, clicked)| $crate::VariantStats {
                        variant,
                        sent: sent as u64,
                        opened: opened as u64,
                        clicked: clicked as u64,
                    })
                    .collect())
            }
        }
    };
}

pub(crate) use impl_analytics;
