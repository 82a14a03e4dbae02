//! A database written before migration 0006 (the per-company chains on SQLite) reads the same
//! after it: every score, every event, the first qualifying score, and new writes join the
//! companies' histories.

use std::borrow::Cow;

use brim_core::Scorer;
use brim_store::{
    Analytics, EventStore, EventType, LeadStore, LeadsQuery, NewEvent, NewScore, PgStore,
    ScoreStore, SqliteStore,
};
use sqlx::migrate::Migrator;

use crate::lead;

/// The migrations before 0006.
fn before_0006(all: Migrator) -> Migrator {
    let old: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version < 6)
        .cloned()
        .collect();
    assert_eq!(old.len(), 5);
    Migrator {
        migrations: Cow::Owned(old),
        ..all
    }
}

/// Rows as the store wrote them before 0006: three scores of one company saved out of time
/// order (the oldest, 30, the only one above 75), its latest_scores row, a score_calculated
/// event and an e-mail event; `$1` is the company's id, `$2` its report. And a lead never
/// scored.
const OLD_ROWS: &str = "
    INSERT INTO scores (company_id, model, model_version, fit_score, intent_score, total_score,
                        confidence, action, report, scored_at)
    VALUES ($1, 'balanced', '1', 60, 10, 60, 0.5, 'medium_priority_outreach', $2, 50),
           ($1, 'balanced', '1', 80, 10, 80, 0.5, 'high_priority_outreach', $2, 30),
           ($1, 'balanced', '1', 40, 10, 40, 0.5, 'low_priority_monitoring', $2, 40);
    INSERT INTO latest_scores (company_id, company_name, name_key, model, fit_score,
                               intent_score, total_score, action, scored_at)
    VALUES ($1, 'Old Co', 'old co', 'balanced', 60, 10, 60, 'medium_priority_outreach', 50);
    INSERT INTO events (event_type, occurred_at, company_id, payload)
    VALUES ('score_calculated', 50, $1, '{}'), ('email_opened', 55, $1, '{}');
    INSERT INTO leads (company_id, company_name, lead, created_at, updated_at)
    VALUES ('lead-only', 'Lead Only', '{\"company_name\": \"Lead Only\"}', 5, 6);";

async fn check_after<S: ScoreStore + EventStore + LeadStore + Analytics>(
    store: &S,
    id: &str,
    first_qualified: i64,
) {
    assert_eq!(first_qualified, 30);
    let only = store.get_lead("lead-only").await.unwrap().unwrap();
    assert_eq!(
        (only.lead.company_name.as_str(), only.created_at),
        ("Lead Only", 5)
    );
    assert!(store.get_lead(id).await.unwrap().is_none(), "only scored");
    let table = store.scored_leads(&LeadsQuery::default()).await.unwrap();
    assert_eq!(table.total, 1);
    assert_eq!(
        (table.rows[0].company_id.as_str(), table.rows[0].score),
        (id, 60)
    );
    let times = |h: Vec<brim_store::StoredScore>| h.iter().map(|s| s.scored_at).collect::<Vec<_>>();
    assert_eq!(times(store.score_history(id).await.unwrap()), [50, 40, 30]);
    assert_eq!(store.latest_score(id).await.unwrap().unwrap().scored_at, 50);
    assert_eq!(store.events_for_company(id).await.unwrap().len(), 2);
    // New writes join the old history.
    let old = lead(r#"{"company_name": "Old Co"}"#);
    let report = Scorer::preset("balanced").unwrap().report(&old);
    store
        .record_scored(
            &[old],
            70,
            &[NewScore {
                report,
                scored_at: 70,
            }],
            &[NewEvent {
                event_type: EventType::ScoreCalculated,
                occurred_at: 70,
                user_id: None,
                company_id: Some(id.to_string()),
                payload: serde_json::json!({}),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        times(store.score_history(id).await.unwrap()),
        [70, 50, 40, 30]
    );
    let events = store.events_for_company(id).await.unwrap();
    let at: Vec<i64> = events.iter().map(|e| e.occurred_at).collect();
    assert_eq!(at, [50, 55, 70]);
    let lead = store.get_lead(id).await.unwrap().unwrap();
    assert_eq!((lead.created_at, lead.updated_at), (70, 70));
}

/// The old company's id, and `OLD_ROWS` written out for it.
fn old_company() -> (String, String) {
    let report = Scorer::preset("balanced")
        .unwrap()
        .report(&lead(r#"{"company_name": "Old Co"}"#));
    let json = serde_json::to_string(&report).unwrap();
    let sql = OLD_ROWS
        .replace("$1", &format!("'{}'", report.company_id))
        .replace("$2", &format!("'{}'", json.replace('\'', "''")));
    (report.company_id, sql)
}

#[tokio::test]
async fn sqlite_data_written_before_0006_reads_the_same_after() {
    let dir = crate::tempfile_dir();
    let url = format!("sqlite://{}/brim.db?mode=rwc", dir.display());
    let (id, old_rows) = old_company();
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        before_0006(sqlx::migrate!("migrations/sqlite"))
            .run(&pool)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(old_rows.clone()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = SqliteStore::connect(&url).await.unwrap();
    let (first,): (i64,) =
        sqlx::query_as("SELECT first_qualified_at FROM leads WHERE company_id = $1")
            .bind(&id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    check_after(&store, &id, first).await;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_data_written_before_0006_reads_the_same_after() {
    let Some(schema) = crate::pg_schema().await else {
        return;
    };
    let (id, old_rows) = old_company();
    let options = schema.options();
    {
        let pool = sqlx::PgPool::connect_with(options.clone()).await.unwrap();
        before_0006(sqlx::migrate!("migrations/postgres"))
            .run(&pool)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(old_rows.clone()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = PgStore::connect_with(options).await.unwrap();
    let (first,): (i64,) =
        sqlx::query_as("SELECT first_qualified_at FROM leads WHERE company_id = $1")
            .bind(&id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    check_after(&store, &id, first).await;
    drop(store);
    schema.drop().await;
}

/// A database written by release 0.1.0 of `brim serve` (the SQL dump of
/// `tests/fixtures/sqlite-0.1.0.sql`: ten leads imported and their e-mails written, five sent,
/// a company scored twice with an outcome, an activation event; its scores and events chained
/// by id, migration 0006) opens with the current release, which drops the chains for
/// per-company indexes (0008), and reads exactly what the old schema held.
#[tokio::test]
async fn a_database_written_by_release_0_1_0_reads_the_same_after_the_upgrade() {
    let dir = crate::tempfile_dir();
    let url = format!("sqlite://{}", dir.join("old.db").display());
    let dump = include_str!("../fixtures/sqlite-0.1.0.sql");

    // What the old schema holds, read with plain SQL before the store opens it.
    let mut expected_scores = std::collections::BTreeMap::<String, Vec<i64>>::new();
    let mut expected_events = std::collections::BTreeMap::<String, Vec<i64>>::new();
    {
        let old = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
            .execute(&old)
            .await
            .unwrap();
        let chained: i64 =
            sqlx::query_scalar("SELECT count(*) FROM scores WHERE prev_id IS NOT NULL")
                .fetch_one(&old)
                .await
                .unwrap();
        assert!(chained >= 1, "the fixture holds a chained score history");
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT company_id, id FROM scores ORDER BY company_id, scored_at DESC, id DESC",
        )
        .fetch_all(&old)
        .await
        .unwrap();
        for (company, id) in rows {
            expected_scores.entry(company).or_default().push(id);
        }
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT company_id, id FROM events WHERE company_id IS NOT NULL ORDER BY company_id, id",
        )
        .fetch_all(&old)
        .await
        .unwrap();
        for (company, id) in rows {
            expected_events.entry(company).or_default().push(id);
        }
        old.close().await;
    }
    assert_eq!(expected_scores.len(), 11);

    let store = SqliteStore::connect(&url).await.unwrap();
    for (company, ids) in &expected_scores {
        let history: Vec<i64> = store
            .score_history(company)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(&history, ids, "{company}'s scores");
        assert_eq!(
            store.latest_score(company).await.unwrap().map(|s| s.id),
            ids.first().copied()
        );
        assert!(
            store.get_lead(company).await.unwrap().is_some(),
            "{company}"
        );
    }
    for (company, ids) in &expected_events {
        let events: Vec<i64> = store
            .events_for_company(company)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(&events, ids, "{company}'s events");
    }
    let rescored = "e8cefa9d84625ac";
    let lead = store.get_lead(rescored).await.unwrap().unwrap();
    assert_eq!(lead.lead.employee_count, Some(400), "the merged lead");
    let table = store.scored_leads(&LeadsQuery::default()).await.unwrap();
    assert_eq!(table.total, 11);
    let counts = brim_store::EmailQueue::queue_counts(&store).await.unwrap();
    assert_eq!((counts.sent, counts.waiting), (5, 6));
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(ok, "ok");

    // New writes join the old histories.
    let report = Scorer::preset("balanced").unwrap().report(&lead.lead);
    let event = NewEvent::score_calculated(&report, 1_900_000_000_000);
    store
        .record_scored(
            std::slice::from_ref(&lead.lead),
            1_900_000_000_000,
            &[NewScore {
                report,
                scored_at: 1_900_000_000_000,
            }],
            &[event],
        )
        .await
        .unwrap();
    assert_eq!(
        store.score_history(rescored).await.unwrap().len(),
        expected_scores[rescored].len() + 1
    );
    let events = store.events_for_company(rescored).await.unwrap();
    assert_eq!(events.len(), expected_events[rescored].len() + 1);
    assert_eq!(
        events.last().unwrap().event_type,
        EventType::ScoreCalculated
    );
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}
