//! The request recorder's work without HTTP: records N scored requests (a new company each:
//! its lead, its score and its `score_calculated` event) in batches of B into a fresh SQLite
//! file, as `brim serve`'s recorder does under the load benchmark. For instruction counts
//! that do not depend on the machine's mood:
//! `valgrind --tool=callgrind target/release/examples/record_load 20000 32`.
//! `RECORD_LOAD_SQL` (SQL run once after the migrations) tries a schema change the same way.
use brim_core::{Lead, Scorer};
use brim_store::{EventType, NewEvent, NewScore, ScoreStore, SqliteStore};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20_000, |a| a.parse().expect("N"));
    let batch: usize = args.next().map_or(32, |a| a.parse().expect("B"));
    let dir = std::env::temp_dir().join(format!("brim-record-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(SqliteStore::connect(&format!(
            "sqlite://{}/load.db",
            dir.display()
        )))
        .unwrap();
    if let Ok(sql) = std::env::var("RECORD_LOAD_SQL") {
        rt.block_on(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(store.pool()))
            .unwrap();
    }
    let scorer = Scorer::preset("balanced").unwrap();
    let now = 1_764_000_000_000_i64;
    let started = std::time::Instant::now();
    for b in 0..n.div_ceil(batch) {
        let leads: Vec<Lead> = (b * batch..((b + 1) * batch).min(n))
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "company_name": format!("Load {}-{i}", (i as u64).wrapping_mul(2_654_435_761) % 1_000_000_007),
                    "employee_count": 120, "industry": "SaaS", "tech_stack": ["Zapier"],
                    "recent_job_posts": ["Head of Operations"]
                }))
                .unwrap()
            })
            .collect();
        let at = now + b as i64;
        let scores: Vec<NewScore> = leads
            .iter()
            .map(|l| NewScore {
                report: scorer.report(l),
                scored_at: at,
            })
            .collect();
        let events: Vec<NewEvent> = scores
            .iter()
            .map(|s| NewEvent {
                event_type: EventType::ScoreCalculated,
                occurred_at: at,
                user_id: None,
                company_id: Some(s.report.company_id.clone()),
                payload: serde_json::json!({
                    "model_used": s.report.model,
                    "score": s.report.total_score,
                    "company_name": s.report.company_name,
                }),
            })
            .collect();
        rt.block_on(store.record_scored(&leads, at, &scores, &events))
            .unwrap();
    }
    eprintln!(
        "{n} requests in batches of {batch}: {:?}",
        started.elapsed()
    );
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
