//! Analytics over 1,000,000 events: `cargo bench -p brim-benches --bench analytics`.
//!
//! Builds one data set on SQLite (a file) and on PostgreSQL (schema `brim_bench`, dropped
//! after): 100,000 companies scored 300,000 times over a year, 100,000 e-mails sent, and
//! 1,000,000 events (300,000 score_calculated, 100,000 email_sent, 300,000 email_opened,
//! 100,000 email_clicked, 200,000 activation steps). Then times each dashboard query. Building
//! takes a few minutes; numbers in docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::Duration;

use brim_benches::pg_bench_store;
use brim_core::{Lead, Scorer};
use brim_store::{
    Analytics, DAY_MS, EmailQueue, EventStore, EventType, LeadSort, LeadsQuery, NewEmail, NewEvent,
    NewScore, Period, ScoreStore, SqliteStore, StatusFilter, Writer,
};
use criterion::{Criterion, criterion_group, criterion_main};

const COMPANIES: u64 = 100_000;
const SCORES: u64 = 300_000;
const SENT: u64 = 100_000;
/// 2026-11-24 00:00 UTC.
const END: i64 = 20_781 * DAY_MS;
const YEAR_MS: i64 = 365 * DAY_MS;

/// A small deterministic generator (the data set is the same on every run).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // PCG-style output mixing of the 64-bit state.
        let x = self.0;
        (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 32)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn company(i: u64) -> String {
    format!("company-{i:06}")
}

async fn fill<S>(store: &S)
where
    S: ScoreStore + EventStore + EmailQueue,
{
    let mut rng = Rng(42);
    let scorer = Scorer::preset("balanced").unwrap();
    let names = [
        "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell",
    ];
    let mut scores = Vec::with_capacity(10_000);
    let mut events = Vec::with_capacity(10_000);
    for n in 0..SCORES {
        let c = rng.below(COMPANIES);
        let at = END - 1 - rng.below(YEAR_MS as u64) as i64;
        let lead = Lead::from_json(&format!(
            r#"{{"id": "{}", "company_name": "{} {c}", "employee_count": {}}}"#,
            company(c),
            names[(c % 8) as usize],
            rng.below(600)
        ))
        .unwrap();
        let mut report = scorer.report(&lead);
        report.total_score = rng.below(101) as u8;
        events.push(NewEvent {
            event_type: EventType::ScoreCalculated,
            occurred_at: at,
            user_id: None,
            company_id: Some(company(c)),
            payload: serde_json::json!({"model_used": "balanced", "score": report.total_score}),
        });
        scores.push(NewScore {
            report,
            scored_at: at,
        });
        if scores.len() == 10_000 || n + 1 == SCORES {
            store.save_scores(&scores).await.unwrap();
            store.append_events(&events).await.unwrap();
            scores.clear();
            events.clear();
        }
    }
    // 100,000 e-mails, sent over the year.
    let emails: Vec<NewEmail> = (0..SENT)
        .map(|c| NewEmail {
            company_id: company(c),
            recipient: Some(format!("ceo@{c}.example")),
            recipient_name: None,
            timezone: None,
            score: rng.below(101) as u8,
            variant: ["roi_focused", "problem_focused"][(c % 2) as usize].into(),
            subject: "Subject".into(),
            body_text: "Body".into(),
            body_html: None,
            writer: Writer::Template,
            message_id: format!("<{c}@bench.example>"),
            not_before: None,
        })
        .collect();
    for chunk in emails.chunks(10_000) {
        store.enqueue(chunk, END - YEAR_MS).await.unwrap();
    }
    let mut sent_at = Vec::with_capacity(SENT as usize);
    loop {
        let at = END - 1 - rng.below(YEAR_MS as u64) as i64;
        let batch = store.claim("bench", 1_000, END, 60_000).await.unwrap();
        if batch.is_empty() {
            break;
        }
        let ids: Vec<i64> = batch.iter().map(|e| e.id).collect();
        store.mark_sent_many(&ids, at).await.unwrap();
        sent_at.extend(batch.iter().map(|e| (e.company_id.clone(), at)));
    }
    // 700,000 more events: sent, opened, clicked, activation steps.
    let push =
        |events: &mut Vec<NewEvent>, t, at, user: Option<String>, c: Option<String>, payload| {
            events.push(NewEvent {
                event_type: t,
                occurred_at: at,
                user_id: user,
                company_id: c,
                payload,
            });
        };
    let mut events = Vec::with_capacity(700_000);
    for (c, at) in &sent_at {
        push(
            &mut events,
            EventType::EmailSent,
            *at,
            None,
            Some(c.clone()),
            serde_json::json!({}),
        );
    }
    for _ in 0..300_000 {
        let (c, at) = &sent_at[rng.below(SENT) as usize];
        push(
            &mut events,
            EventType::EmailOpened,
            at + 3_600_000,
            None,
            Some(c.clone()),
            serde_json::json!({}),
        );
    }
    for _ in 0..100_000 {
        let (c, at) = &sent_at[rng.below(SENT) as usize];
        push(
            &mut events,
            EventType::EmailClicked,
            at + 7_200_000,
            None,
            Some(c.clone()),
            serde_json::json!({}),
        );
    }
    let steps = ["file_upload", "result_viewed", "share_step_reached"];
    for i in 0..200_000u64 {
        let user = format!("visitor-{}", i / 2);
        let at = END - 1 - rng.below(YEAR_MS as u64) as i64;
        let c = (i % 5 == 0).then(|| company(rng.below(COMPANIES)));
        push(
            &mut events,
            EventType::ActivationStepCompleted,
            at,
            Some(user),
            c,
            serde_json::json!({"step": steps[(i % 3) as usize]}),
        );
    }
    for chunk in events.chunks(10_000) {
        store.append_events(chunk).await.unwrap();
    }
    assert_eq!(store.count_events(None).await.unwrap(), 1_000_000);
}

fn queries<S>(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: &S)
where
    S: Analytics + Sync,
{
    let mut group = c.benchmark_group(format!("analytics over 1M events/{name}"));
    let period = Period { end: END, days: 30 };
    let default = LeadsQuery::default();
    let page_deep = LeadsQuery {
        page: 100,
        ..LeadsQuery::default()
    };
    let by_name = LeadsQuery {
        sort: LeadSort::Name,
        descending: false,
        ..LeadsQuery::default()
    };
    let search = LeadsQuery {
        search: Some("hooli 12".into()),
        ..LeadsQuery::default()
    };
    let filtered = LeadsQuery {
        action: Some("low_priority_monitoring".into()),
        status: Some(StatusFilter::NoEmail),
        ..LeadsQuery::default()
    };
    group.bench_function("scored-leads page 1 (50 rows, by score)", |b| {
        b.iter(|| black_box(rt.block_on(store.scored_leads(&default)).unwrap()))
    });
    group.bench_function("scored-leads page 100", |b| {
        b.iter(|| black_box(rt.block_on(store.scored_leads(&page_deep)).unwrap()))
    });
    group.bench_function("scored-leads by name", |b| {
        b.iter(|| black_box(rt.block_on(store.scored_leads(&by_name)).unwrap()))
    });
    group.bench_function("scored-leads search", |b| {
        b.iter(|| black_box(rt.block_on(store.scored_leads(&search)).unwrap()))
    });
    group.bench_function("scored-leads action+status filter", |b| {
        b.iter(|| black_box(rt.block_on(store.scored_leads(&filtered)).unwrap()))
    });
    group.bench_function("kpis (30 days vs 30 before)", |b| {
        b.iter(|| black_box(rt.block_on(store.kpis(period)).unwrap()))
    });
    group.bench_function("funnel over time (30 days)", |b| {
        b.iter(|| black_box(rt.block_on(store.funnel_over_time(period)).unwrap()))
    });
    group.bench_function("score distribution", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(store.score_distribution(i64::MIN, i64::MAX))
                    .unwrap(),
            )
        })
    });
    group.bench_function("top 10", |b| {
        b.iter(|| black_box(rt.block_on(store.top_leads(10)).unwrap()))
    });
    let steps: Vec<String> = brim_store::ACTIVATION_STEPS.map(String::from).to_vec();
    group.bench_function("activation funnel (30 days)", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(store.activation_funnel(END - 30 * DAY_MS, END, &steps))
                    .unwrap(),
            )
        })
    });
    group.bench_function("variant stats (30 days)", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(store.variant_stats(END - 30 * DAY_MS, END))
                    .unwrap(),
            )
        })
    });
    group.finish();
}

fn analytics(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("brim-bench-analytics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db", dir.display());
    let sqlite = rt.block_on(SqliteStore::connect(&url)).unwrap();
    eprintln!("building the SQLite data set...");
    rt.block_on(fill(&sqlite));
    queries(c, &rt, "sqlite file", &sqlite);
    let _ = std::fs::remove_dir_all(&dir);

    match rt.block_on(pg_bench_store()) {
        Ok(pg) => {
            eprintln!("building the PostgreSQL data set...");
            rt.block_on(fill(&pg.store));
            rt.block_on(sqlx::query("VACUUM ANALYZE").execute(pg.store.pool()))
                .unwrap();
            queries(c, &rt, "postgres", &pg.store);
            rt.block_on(pg.drop_schema());
        }
        Err(e) => eprintln!("skipping the PostgreSQL benchmark: {e}"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = analytics
}
criterion_main!(benches);
