//! Analytics in SQL: the same data gives the same answers on every database.

use brim_core::{Action, Scorer};
use brim_store::{
    Analytics, DAY_MS, EmailQueue, EmailStatus, EventStore, EventType, LeadSort, LeadsQuery,
    NewEvent, NewScore, Period, ScoreStore, StatusFilter,
};
use serde_json::json;

use crate::queue::email;
use crate::{for_each_store, lead};

/// 2024-10-04 00:00 UTC: the end of the current period.
const END: i64 = 20_000 * DAY_MS;
const HOUR: i64 = 3_600_000;

/// Day `d` (0-based) of the current 7-day period, plus `h` hours.
fn cur(d: i64, h: i64) -> i64 {
    END - 7 * DAY_MS + d * DAY_MS + h * HOUR
}

fn prev(d: i64) -> i64 {
    END - 14 * DAY_MS + d * DAY_MS
}

fn score(company: &str, name: &str, total: u8, at: i64) -> NewScore {
    let mut report = Scorer::preset("balanced")
        .unwrap()
        .report(&lead(&format!(r#"{{"company_name": "{name}"}}"#)));
    report.company_id = company.to_string();
    report.total_score = total;
    report.fit_score = total;
    report.intent_score = total / 2;
    report.action = if total > 75 {
        Action::HighPriorityOutreach
    } else if total > 50 {
        Action::MediumPriorityOutreach
    } else {
        Action::LowPriorityMonitoring
    };
    NewScore {
        report,
        scored_at: at,
    }
}

fn event(
    t: EventType,
    at: i64,
    user: Option<&str>,
    company: Option<&str>,
    payload: serde_json::Value,
) -> NewEvent {
    NewEvent {
        event_type: t,
        occurred_at: at,
        user_id: user.map(str::to_string),
        company_id: company.map(str::to_string),
        payload,
    }
}

fn step(name: &str) -> serde_json::Value {
    json!({ "step": name })
}

/// The shared fixture: four companies that matter and 60 fillers.
macro_rules! fixture {
    ($store:ident) => {{
        let mut scores = vec![
            score("a", "Acme Robotics", 80, cur(1, 2)),
            score("a", "Acme Robotics", 90, cur(2, 3)),
            score("b", "Beta_Labs 100%", 76, cur(2, 5)),
            score("c", "Cobalt", 75, cur(0, 1)),
            score("d", "Delta", 95, prev(3)),
        ];
        for i in 0..60u8 {
            scores.push(score(
                &format!("f{i:02}"),
                &format!("Filler {i:02}"),
                i,
                prev(0) - 1_000,
            ));
        }
        $store.save_scores(&scores).await.unwrap();
        $store
            .enqueue(
                &[email("c", 75, Some("cto@cobalt.io")), email("f01", 1, None)],
                prev(0),
            )
            .await
            .unwrap();
        $store
            .enqueue(
                &[
                    email("a", 90, Some("ceo@acme.io")),
                    email("b", 76, Some("ops@beta.io")),
                ],
                cur(2, 6),
            )
            .await
            .unwrap();
        for (company, at) in [("c", prev(2)), ("a", cur(3, 0)), ("b", cur(4, 0))] {
            let got = $store.claim("w", 1, at, 60_000).await.unwrap();
            assert_eq!(got[0].company_id, company);
            $store.mark_sent(got[0].id, at).await.unwrap();
        }
        use EventType::*;
        $store
            .append_events(&[
                event(EmailOpened, cur(3, 1), None, Some("a"), json!({})),
                event(EmailClicked, cur(3, 2), None, Some("a"), json!({})),
                event(EmailClicked, cur(3, 3), None, Some("a"), json!({})),
                event(EmailOpened, prev(2), None, Some("c"), json!({})),
                event(EmailClicked, prev(3), None, Some("c"), json!({})),
                event(
                    ActivationStepCompleted,
                    cur(3, 0),
                    Some("u1"),
                    None,
                    step("file_upload"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(3, 0),
                    Some("u2"),
                    None,
                    step("file_upload"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(3, 0),
                    Some("u4"),
                    None,
                    step("file_upload"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(3, 1),
                    Some("u1"),
                    Some("a"),
                    step("result_viewed"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(3, 2),
                    Some("u1"),
                    Some("a"),
                    step("result_viewed"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(5, 0),
                    Some("u2"),
                    None,
                    step("result_viewed"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(5, 1),
                    Some("u2"),
                    None,
                    step("share_step_reached"),
                ),
                event(
                    ActivationStepCompleted,
                    cur(5, 1),
                    Some("u9"),
                    None,
                    step("custom_step"),
                ),
                event(
                    ActivationStepCompleted,
                    prev(4),
                    Some("u3"),
                    None,
                    step("result_viewed"),
                ),
            ])
            .await
            .unwrap();
    }};
}

#[tokio::test]
async fn kpis_compare_two_periods() {
    for_each_store!(|store| {
        fixture!(store);
        let k = store.kpis(Period { end: END, days: 7 }).await.unwrap();
        // a and b scored above 75 now (a twice: once); d before; c's 75 does not qualify.
        assert_eq!(
            (
                k.qualified_leads.current_value,
                k.qualified_leads.previous_value
            ),
            (2.0, 1.0)
        );
        assert_eq!(k.qualified_leads.percentage_change, Some(100.0));
        // Now: 2 sent, 1 company clicked (twice) = 50 %; before: 1 sent, 1 clicked = 100 %.
        let ctr = &k.email_click_through_rate;
        assert_eq!((ctr.current_value, ctr.previous_value), (50.0, 100.0));
        assert_eq!(ctr.percentage_change, Some(-50.0));
        // u1 and u2 reached result_viewed now, u3 before.
        assert_eq!(
            (
                k.new_activations.current_value,
                k.new_activations.previous_value
            ),
            (2.0, 1.0)
        );
        assert_eq!(k.funnel_conversion_rate.current_value, 100.0);
        assert_eq!(k.funnel_conversion_rate.percentage_change, Some(0.0));
        // a first qualified on day 1 at 02:00, activated on day 3 at 01:00: 1.96 days.
        assert_eq!(k.average_days_to_activation, Some(1.96));

        let empty = store
            .kpis(Period {
                end: END - 100 * DAY_MS,
                days: 7,
            })
            .await
            .unwrap();
        assert_eq!(empty.qualified_leads.current_value, 0.0);
        assert_eq!(empty.qualified_leads.percentage_change, Some(0.0));
        assert_eq!(empty.average_days_to_activation, None);
        assert!(store.kpis(Period { end: END, days: 0 }).await.is_err());
    });
}

#[tokio::test]
async fn the_funnel_has_every_day() {
    for_each_store!(|store| {
        fixture!(store);
        let days = store
            .funnel_over_time(Period { end: END, days: 7 })
            .await
            .unwrap();
        assert_eq!(days.len(), 7);
        assert_eq!(days[0].date, "2024-09-27");
        assert_eq!(days[6].date, "2024-10-03");
        let q: Vec<u64> = days.iter().map(|d| d.qualified_leads).collect();
        let a: Vec<u64> = days.iter().map(|d| d.activations).collect();
        assert_eq!(q, [0, 1, 2, 0, 0, 0, 0]);
        assert_eq!(a, [0, 0, 0, 1, 0, 1, 0]);
    });
}

#[tokio::test]
async fn the_scored_leads_table_pages_sorts_filters_and_searches() {
    for_each_store!(|store| {
        fixture!(store);
        let first = store.scored_leads(&LeadsQuery::default()).await.unwrap();
        assert_eq!(first.total, 64, "one row per company");
        assert_eq!(first.rows.len(), 50);
        let top: Vec<(&str, u8)> = first
            .rows
            .iter()
            .take(4)
            .map(|r| (r.company_id.as_str(), r.score))
            .collect();
        assert_eq!(
            top,
            [("d", 95), ("a", 90), ("b", 76), ("c", 75)],
            "a's latest score"
        );
        assert_eq!(first.rows[1].email_status, Some(EmailStatus::Sent));
        assert_eq!(first.rows[1].email_variant.as_deref(), Some("roi_focused"));
        assert_eq!(first.rows[0].email_status, None);

        let second = store
            .scored_leads(&LeadsQuery {
                page: 2,
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(second.rows.len(), 14);
        assert_eq!(second.rows.last().unwrap().company_id, "f00");

        let by_name = store
            .scored_leads(&LeadsQuery {
                sort: LeadSort::Name,
                descending: false,
                per_page: 3,
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        let names: Vec<_> = by_name
            .rows
            .iter()
            .map(|r| r.company_name.as_str())
            .collect();
        assert_eq!(names, ["Acme Robotics", "Beta_Labs 100%", "Cobalt"]);

        let by_date = store
            .scored_leads(&LeadsQuery {
                sort: LeadSort::Date,
                per_page: 2,
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        let ids: Vec<_> = by_date.rows.iter().map(|r| r.company_id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);

        let high = store
            .scored_leads(&LeadsQuery {
                action: Some("high_priority_outreach".into()),
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(high.total, 3);

        let sent = store
            .scored_leads(&LeadsQuery {
                status: Some(StatusFilter::Is(EmailStatus::Sent)),
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(sent.total, 3);
        let pending = store
            .scored_leads(&LeadsQuery {
                status: Some("pending".parse().unwrap()),
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            pending
                .rows
                .iter()
                .map(|r| r.company_id.as_str())
                .collect::<Vec<_>>(),
            ["f01"]
        );
        let none = store
            .scored_leads(&LeadsQuery {
                status: Some(StatusFilter::NoEmail),
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(none.total, 60);

        let search = |s: &str| LeadsQuery {
            search: Some(s.into()),
            ..LeadsQuery::default()
        };
        let acme = store.scored_leads(&search("ACME rob")).await.unwrap();
        assert_eq!(acme.total, 1);
        // LIKE wildcards in the search are literal.
        assert_eq!(store.scored_leads(&search("_")).await.unwrap().total, 1);
        assert_eq!(store.scored_leads(&search("100%")).await.unwrap().total, 1);
        assert_eq!(store.scored_leads(&search("%")).await.unwrap().total, 1);
        assert_eq!(
            store.scored_leads(&search("filler 1")).await.unwrap().total,
            10
        );
        assert_eq!(store.scored_leads(&search("  ")).await.unwrap().total, 64);

        let bad = store
            .scored_leads(&LeadsQuery {
                per_page: 0,
                ..LeadsQuery::default()
            })
            .await;
        assert!(bad.unwrap_err().to_string().starts_with("per_page:"));
        assert!(
            store
                .scored_leads(&LeadsQuery {
                    page: 0,
                    ..LeadsQuery::default()
                })
                .await
                .is_err()
        );
        assert!("sometimes".parse::<StatusFilter>().is_err());
    });
}

#[tokio::test]
async fn distribution_top_activation_and_variants() {
    for_each_store!(|store| {
        fixture!(store);
        let bins = store.score_distribution(i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(bins.len(), 10);
        let counts: Vec<u64> = bins.iter().map(|b| b.companies).collect();
        // Fillers 0..59 fill bins 0-5 with ten each; c (75) and b (76) in 70-79; a, d in 90-100.
        assert_eq!(counts, [10, 10, 10, 10, 10, 10, 0, 2, 0, 2]);
        assert_eq!((bins[9].from, bins[9].to), (90, 100));
        // A period counts the companies whose latest score was made in it: a, b and c this week
        // (d and the fillers were last scored the week before).
        let week = store
            .score_distribution(END - 7 * DAY_MS, END)
            .await
            .unwrap();
        let counts: Vec<u64> = week.iter().map(|b| b.companies).collect();
        assert_eq!(counts, [0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);

        let top = store.top_leads(2).await.unwrap();
        assert_eq!(
            top.iter()
                .map(|r| r.company_id.as_str())
                .collect::<Vec<_>>(),
            ["d", "a"]
        );
        assert!(store.top_leads(0).await.unwrap().is_empty());

        let flow: Vec<String> = brim_store::ACTIVATION_STEPS.map(String::from).to_vec();
        let steps = store
            .activation_funnel(END - 7 * DAY_MS, END, &flow)
            .await
            .unwrap();
        let got: Vec<(&str, u64)> = steps.iter().map(|s| (s.step.as_str(), s.users)).collect();
        // Only the configured steps, in their order: custom_step is not one of them.
        assert_eq!(
            got,
            [
                ("file_upload", 3),
                ("result_viewed", 2),
                ("share_step_reached", 1),
            ]
        );
        let flow = vec!["custom_step".to_string(), "never_reached".to_string()];
        let steps = store
            .activation_funnel(END - 7 * DAY_MS, END, &flow)
            .await
            .unwrap();
        let got: Vec<(&str, u64)> = steps.iter().map(|s| (s.step.as_str(), s.users)).collect();
        assert_eq!(got, [("custom_step", 1), ("never_reached", 0)]);

        let variants = store.variant_stats(i64::MIN, i64::MAX).await.unwrap();
        let got: Vec<(&str, u64, u64, u64)> = variants
            .iter()
            .map(|v| (v.variant.as_str(), v.sent, v.opened, v.clicked))
            .collect();
        assert_eq!(
            got,
            [("problem_focused", 1, 1, 1), ("roi_focused", 2, 1, 1)]
        );
    });
}

#[tokio::test]
async fn the_table_follows_the_email_whatever_came_first() {
    for_each_store!(|store| {
        // The e-mail is queued before the company's first score is saved.
        let ids = store
            .enqueue(&[email("early", 80, Some("a@early.io"))], 1)
            .await
            .unwrap()
            .queued;
        store
            .save_scores(&[score("early", "Early Bird", 80, 2)])
            .await
            .unwrap();
        let row = |page: brim_store::Page<brim_store::ScoredLead>| page.rows[0].clone();
        let r = row(store.scored_leads(&LeadsQuery::default()).await.unwrap());
        assert_eq!(r.email_status, Some(EmailStatus::Queued));
        assert_eq!(r.email_variant.as_deref(), Some("roi_focused"));
        // A newer score keeps the e-mail's status.
        store
            .save_scores(&[score("early", "Early Bird", 85, 3)])
            .await
            .unwrap();
        let held = store.claim("w", 1, 4, 60_000).await.unwrap();
        assert_eq!(held.len(), 1);
        let r = row(store.scored_leads(&LeadsQuery::default()).await.unwrap());
        assert_eq!((r.score, r.email_status), (85, Some(EmailStatus::Leased)));
        store.mark_sent(ids[0], 5).await.unwrap();
        let sent = LeadsQuery {
            status: Some(StatusFilter::Is(EmailStatus::Sent)),
            ..LeadsQuery::default()
        };
        assert_eq!(store.scored_leads(&sent).await.unwrap().total, 1);

        // Cancelling leaves the company without an e-mail.
        store
            .save_scores(&[score("late", "Late", 40, 6)])
            .await
            .unwrap();
        let late = store
            .enqueue(&[email("late", 40, Some("b@late.io"))], 7)
            .await
            .unwrap()
            .queued;
        assert!(store.cancel(late[0], 8).await.unwrap());
        let none = LeadsQuery {
            status: Some(StatusFilter::NoEmail),
            ..LeadsQuery::default()
        };
        let page = store.scored_leads(&none).await.unwrap();
        assert_eq!(
            page.rows
                .iter()
                .map(|r| r.company_id.as_str())
                .collect::<Vec<_>>(),
            ["late"]
        );
        assert_eq!(page.rows[0].email_variant, None);
    });
}

#[tokio::test]
async fn time_to_activation_counts_from_the_first_qualifying_score_however_it_was_saved() {
    for_each_store!(|store| {
        let viewed = || step(brim_store::ACTIVATION_STEP);
        store
            .save_scores(&[score("q", "Q", 90, cur(2, 0))])
            .await
            .unwrap();
        // Saved later, scored earlier: q's first qualifying score is day 1's.
        store
            .save_scores(&[
                score("q", "Q", 50, cur(0, 0)),
                score("q", "Q", 80, cur(1, 0)),
            ])
            .await
            .unwrap();
        // Qualified only after activating: not counted.
        store
            .save_scores(&[score("late", "Late", 95, cur(5, 0))])
            .await
            .unwrap();
        store
            .save_scores(&[score("late", "Late", 20, cur(0, 0))])
            .await
            .unwrap();
        store
            .append_events(&[
                event(
                    EventType::ActivationStepCompleted,
                    cur(3, 0),
                    Some("u"),
                    Some("q"),
                    viewed(),
                ),
                event(
                    EventType::ActivationStepCompleted,
                    cur(4, 0),
                    Some("v"),
                    Some("late"),
                    viewed(),
                ),
            ])
            .await
            .unwrap();
        let k = store.kpis(Period { end: END, days: 7 }).await.unwrap();
        assert_eq!(k.average_days_to_activation, Some(2.0));
        // The table still shows q's latest score (day 2's 90), not the later-saved ones.
        let top = store.top_leads(1).await.unwrap();
        assert_eq!((top[0].company_id.as_str(), top[0].score), ("late", 95));
        let q = store
            .scored_leads(&LeadsQuery {
                search: Some("q".into()),
                ..LeadsQuery::default()
            })
            .await
            .unwrap();
        assert_eq!((q.rows[0].score, q.rows[0].scored_at), (90, cur(2, 0)));
    });
}
