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
