//! Leads, scores, outcomes and events.

use brim_core::Scorer;
use brim_store::{
    EventStore, EventType, LeadStore, NewEvent, NewScore, Outcome, OutcomeKind, OutcomeStore,
    ScoreStore,
};

use crate::{for_each_store, lead};

#[tokio::test]
async fn upsert_merges_and_keeps_what_a_new_record_leaves_out() {
    for_each_store!(|store| {
        let first = lead(
            r#"{"company_name": "Acme", "industry": "SaaS", "tech_stack": ["Zapier"],
            "contact": {"name": "Ada", "email": "ada@acme.io"}, "attributes": {"plan": "pro"}}"#,
        );
        store.upsert_leads(&[first], 1_000).await.unwrap();
        let again = lead(
            r#"{"company_name": "Acme", "employee_count": 40, "contact": {"title": "COO"},
            "attributes": {"seats": 3}}"#,
        );
        store.upsert_leads(&[again], 2_000).await.unwrap();
        let id = brim_core::company_id_for_name("Acme");
        let stored = store.get_lead(&id).await.unwrap().expect("stored");
        assert_eq!(stored.lead.industry.as_deref(), Some("SaaS"));
        assert_eq!(stored.lead.employee_count, Some(40));
        assert_eq!(stored.lead.tech_stack, vec!["Zapier"]);
        let contact = stored.lead.contact.clone().unwrap();
        assert_eq!(contact.email.as_deref(), Some("ada@acme.io"));
        assert_eq!(contact.title.as_deref(), Some("COO"));
        assert_eq!(stored.lead.attributes.len(), 2);
        assert_eq!((stored.created_at, stored.updated_at), (1_000, 2_000));
        assert!(store.get_lead("nope").await.unwrap().is_none());
    });
}

#[tokio::test]
async fn deleting_a_lead_removes_it_everywhere_but_its_suppressions() {
    use brim_store::{Analytics, EmailQueue, LeadsQuery, Suppression, SuppressionReason};
    for_each_store!(|store| {
        let scorer = Scorer::preset("balanced").unwrap();
        let (gone, kept) = (
            lead(r#"{"company_name": "Gone", "contact": {"email": "ceo@gone.io"}}"#),
            lead(r#"{"company_name": "Kept"}"#),
        );
        let scores: Vec<NewScore> = [&gone, &kept]
            .iter()
            .map(|l| NewScore {
                report: scorer.report(l),
                scored_at: 10,
            })
            .collect();
        let events: Vec<NewEvent> = scores
            .iter()
            .map(|s| NewEvent::score_calculated(&s.report, 10))
            .collect();
        store
            .record_scored(&[gone.clone(), kept.clone()], 10, &scores, &events)
            .await
            .unwrap();
        let id = gone.company_id().into_owned();
        store
            .report_outcomes(&[Outcome {
                company_id: id.clone(),
                outcome: OutcomeKind::DemoBooked,
                occurred_at: 11,
            }])
            .await
            .unwrap();
        store
            .enqueue(&[crate::queue::email(&id, 50, Some("boss@gone.io"))], 12)
            .await
            .unwrap();
        store
            .suppress(&[Suppression {
                value: "ceo@gone.io".into(),
                reason: SuppressionReason::Unsubscribed,
                created_at: 13,
            }])
            .await
            .unwrap();

        assert!(store.delete_lead(&id).await.unwrap());
        assert!(store.get_lead(&id).await.unwrap().is_none());
        assert!(store.score_history(&id).await.unwrap().is_empty());
        assert!(store.latest_score(&id).await.unwrap().is_none());
        assert!(store.events_for_company(&id).await.unwrap().is_empty());
        assert!(store.outcomes_for(&id).await.unwrap().is_empty());
        assert!(store.email_for_company(&id).await.unwrap().is_none());
        assert_eq!(store.queue_counts().await.unwrap().queued, 0);
        let table = store.scored_leads(&LeadsQuery::default()).await.unwrap();
        assert_eq!(table.total, 1);
        assert_eq!(table.rows[0].company_name, "Kept");
        assert!(
            store.suppression_of("ceo@gone.io").await.unwrap().is_some(),
            "an unsubscribed address stays unsubscribed"
        );
        // A sent e-mail stays when its company is deleted: it was sent, it counts, and its
        // unsubscribe link (which names the e-mail) must keep working.
        let sent_co = lead(r#"{"company_name": "Sent Co"}"#);
        let sent_id = sent_co.company_id().into_owned();
        store.upsert_leads(&[sent_co], 30).await.unwrap();
        store
            .enqueue(&[crate::queue::email(&sent_id, 60, Some("a@sent.io"))], 30)
            .await
            .unwrap();
        let claimed = store.claim("w", 10, 31, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        store.mark_sent(claimed[0].id, 32).await.unwrap();
        assert!(store.delete_lead(&sent_id).await.unwrap());
        assert!(store.get_lead(&sent_id).await.unwrap().is_none());
        let kept_mail = store.get_email(claimed[0].id).await.unwrap().unwrap();
        assert_eq!(kept_mail.status, brim_store::EmailStatus::Sent);
        // The other company is untouched; a second delete finds nothing.
        assert!(store.get_lead(&kept.company_id()).await.unwrap().is_some());
        assert_eq!(
            store.score_history(&kept.company_id()).await.unwrap().len(),
            1
        );
        assert!(!store.delete_lead(&id).await.unwrap());
        // Scored again, it is a new company.
        store
            .upsert_leads(std::slice::from_ref(&gone), 20)
            .await
            .unwrap();
        assert_eq!(store.get_lead(&id).await.unwrap().unwrap().created_at, 20);
    });
}

#[tokio::test]
async fn company_ids_follow_the_name_exactly_or_the_given_id() {
    for_each_store!(|store| {
        let leads = [
            lead(r#"{"company_name": "Acme"}"#),
            lead(r#"{"company_name": "Acme "}"#),
            lead(r#"{"company_name": "Acme", "industry": "AI"}"#),
            lead(r#"{"id": "crm-1", "company_name": "Acme"}"#),
        ];
        store.upsert_leads(&leads, 5).await.unwrap();
        let a = store
            .get_lead(&brim_core::company_id_for_name("Acme"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            a.lead.industry.as_deref(),
            Some("AI"),
            "same name, same company: merged"
        );
        assert!(
            store
                .get_lead(&brim_core::company_id_for_name("Acme "))
                .await
                .unwrap()
                .is_some()
        );
        assert!(store.get_lead("crm-1").await.unwrap().is_some());
    });
}

#[tokio::test]
async fn events_append_in_bulk_and_read_back_in_order() {
    for_each_store!(|store| {
        let events: Vec<NewEvent> = (0..2_500)
            .map(|i| NewEvent {
                event_type: if i % 5 == 0 {
                    EventType::EmailSent
                } else {
                    EventType::ScoreCalculated
                },
                occurred_at: 1_700_000_000_000 + i,
                user_id: (i % 2 == 0).then(|| format!("u{i}")),
                company_id: Some(format!("c{}", i % 10)),
                payload: serde_json::json!({"score": i % 101, "name": "Ünïcode \"quoted\""}),
            })
            .collect();
        assert_eq!(store.append_events(&events).await.unwrap(), 2_500);
        assert_eq!(store.count_events(None).await.unwrap(), 2_500);
        assert_eq!(
            store
                .count_events(Some(EventType::EmailSent))
                .await
                .unwrap(),
            500
        );
        let c3 = store.events_for_company("c3").await.unwrap();
        assert_eq!(c3.len(), 250);
        assert!(c3.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(c3[0].payload["name"], "Ünïcode \"quoted\"");
        assert_eq!(c3[0].occurred_at, 1_700_000_000_003);
        assert_eq!(store.append_events(&[]).await.unwrap(), 0);
    });
}

#[tokio::test]
async fn every_score_is_kept_and_the_latest_is_found() {
    for_each_store!(|store| {
        let acme = lead(r#"{"company_name": "Acme", "employee_count": 150, "industry": "SaaS"}"#);
        let balanced = Scorer::preset("balanced").unwrap().report(&acme);
        let conservative = Scorer::preset("conservative").unwrap().report(&acme);
        let other = Scorer::preset("balanced")
            .unwrap()
            .report(&lead(r#"{"company_name": "Other"}"#));
        let saved = store
            .save_scores(&[
                NewScore {
                    report: balanced.clone(),
                    scored_at: 10,
                },
                NewScore {
                    report: conservative.clone(),
                    scored_at: 20,
                },
                NewScore {
                    report: other,
                    scored_at: 30,
                },
                // Same time as the conservative score, saved later: it is the latest.
                NewScore {
                    report: balanced.clone(),
                    scored_at: 20,
                },
            ])
            .await
            .unwrap();
        assert_eq!(saved, 4);
        let id = balanced.company_id.clone();
        let latest = store.latest_score(&id).await.unwrap().unwrap();
        assert_eq!(latest.report, balanced);
        assert_eq!(latest.scored_at, 20);
        let history = store.score_history(&id).await.unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[1].report.model, "conservative");
        assert_eq!(history[2].scored_at, 10);
        assert!(store.latest_score("nobody").await.unwrap().is_none());
    });
}

#[tokio::test]
async fn outcomes_are_appended_and_listed_oldest_first() {
    for_each_store!(|store| {
        let o = |kind, at| Outcome {
            company_id: "acme".into(),
            outcome: kind,
            occurred_at: at,
        };
        let n = store
            .report_outcomes(&[
                o(OutcomeKind::ClosedWon, 300),
                o(OutcomeKind::DemoBooked, 100),
            ])
            .await
            .unwrap();
        assert_eq!(n, 2);
        let listed = store.outcomes_for("acme").await.unwrap();
        assert_eq!(
            listed,
            vec![
                o(OutcomeKind::DemoBooked, 100),
                o(OutcomeKind::ClosedWon, 300)
            ]
        );
        assert!(store.outcomes_for("other").await.unwrap().is_empty());
        // Training data: each stored lead with an outcome, and its latest; a company with an
        // outcome but no stored lead, or a lead without one, is not in it.
        store
            .upsert_leads(
                &[
                    lead(r#"{"id": "acme", "company_name": "Acme"}"#),
                    lead(r#"{"id": "beta", "company_name": "Beta"}"#),
                    lead(r#"{"id": "quiet", "company_name": "Quiet"}"#),
                ],
                1,
            )
            .await
            .unwrap();
        store
            .report_outcomes(&[
                Outcome {
                    company_id: "beta".into(),
                    outcome: OutcomeKind::NotAFit,
                    occurred_at: 500,
                },
                Outcome {
                    company_id: "beta".into(),
                    outcome: OutcomeKind::DemoBooked,
                    occurred_at: 400,
                },
                Outcome {
                    company_id: "ghost".into(),
                    outcome: OutcomeKind::ClosedWon,
                    occurred_at: 1,
                },
            ])
            .await
            .unwrap();
        let labelled = store.labelled_leads().await.unwrap();
        let got: Vec<(&str, OutcomeKind)> = labelled
            .iter()
            .map(|(l, o)| (l.company_name.as_str(), *o))
            .collect();
        assert_eq!(
            got,
            [
                ("Acme", OutcomeKind::ClosedWon),
                ("Beta", OutcomeKind::NotAFit)
            ]
        );
        assert!(OutcomeKind::ClosedWon.is_positive() && !OutcomeKind::NotAFit.is_positive());
        assert_eq!("not_a_fit".parse::<OutcomeKind>(), Ok(OutcomeKind::NotAFit));
        assert!("maybe".parse::<OutcomeKind>().is_err());
    });
}

/// What scoring `leads` at `at` writes: a score and a score_calculated event each.
fn scored(leads: &[brim_core::Lead], at: i64) -> (Vec<NewScore>, Vec<NewEvent>) {
    let scorer = Scorer::preset("balanced").unwrap();
    let scores: Vec<NewScore> = leads
        .iter()
        .map(|l| NewScore {
            report: scorer.report(l),
            scored_at: at,
        })
        .collect();
    let events = scores
        .iter()
        .map(|s| NewEvent {
            event_type: EventType::ScoreCalculated,
            occurred_at: at,
            user_id: None,
            company_id: Some(s.report.company_id.clone()),
            payload: serde_json::json!({"score": s.report.total_score}),
        })
        .collect();
    (scores, events)
}

#[tokio::test]
async fn a_scored_batch_is_recorded_in_one_transaction() {
    for_each_store!(|store| {
        let leads = vec![
            lead(r#"{"company_name": "Acme", "employee_count": 150, "industry": "SaaS"}"#),
            lead(r#"{"company_name": "Globex"}"#),
        ];
        let (scores, events) = scored(&leads, 50);
        assert_eq!(
            store
                .record_scored(&leads, 50, &scores, &events)
                .await
                .unwrap(),
            2
        );
        for s in &scores {
            let id = &s.report.company_id;
            assert_eq!(store.get_lead(id).await.unwrap().unwrap().created_at, 50);
            assert_eq!(
                store.latest_score(id).await.unwrap().unwrap().report,
                s.report
            );
            assert_eq!(store.events_for_company(id).await.unwrap().len(), 1);
        }

        // Given up midway (the caller's future dropped): all of it is stored or none of it.
        let many: Vec<brim_core::Lead> = (0..20_000)
            .map(|i| lead(&format!(r#"{{"company_name": "Bulk {i}"}}"#)))
            .collect();
        let (scores, events) = scored(&many, 60);
        let interrupted = tokio::time::timeout(
            std::time::Duration::from_millis(30),
            store.record_scored(&many, 60, &scores, &events),
        )
        .await;
        let stored_events = store.count_events(None).await.unwrap() - 2;
        let first = &scores[0].report.company_id;
        let first_lead = store.get_lead(first).await.unwrap();
        let first_score = store.latest_score(first).await.unwrap();
        match interrupted {
            Ok(result) => {
                assert_eq!((result.unwrap(), stored_events), (20_000, 20_000));
                assert!(first_lead.is_some() && first_score.is_some());
            }
            Err(_) => {
                assert_eq!(
                    stored_events, 0,
                    "a cancelled batch left {stored_events} events"
                );
                assert!(
                    first_lead.is_none() && first_score.is_none(),
                    "a cancelled batch left its leads or scores"
                );
            }
        }

        // The store writes on after that (nothing was left open), and a company scored again
        // is merged with what was stored.
        let again = vec![lead(r#"{"company_name": "Acme", "country": "DE"}"#)];
        let (scores, events) = scored(&again, 70);
        assert_eq!(
            store
                .record_scored(&again, 70, &scores, &events)
                .await
                .unwrap(),
            1
        );
        let acme = store
            .get_lead(&scores[0].report.company_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acme.lead.employee_count, Some(150));
        assert_eq!(acme.lead.country.as_deref(), Some("DE"));
        assert_eq!((acme.created_at, acme.updated_at), (50, 70));
        let history = store
            .score_history(&scores[0].report.company_id)
            .await
            .unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].scored_at, 70);

        // Batches of one size run the same statements again (SQLite keeps them prepared),
        // also after a batch of that size was given up at some point on its way: each batch
        // is stored whole or not at all, and a batch that was answered is stored.
        let mut rounds = Vec::new();
        for round in 0..12i64 {
            let pair: Vec<brim_core::Lead> = (0..2)
                .map(|i| lead(&format!(r#"{{"company_name": "Pair {round}-{i}"}}"#)))
                .collect();
            let (scores, events) = scored(&pair, 80 + round);
            let give_up_after = std::time::Duration::from_micros(if round % 2 == 0 {
                150 * round as u64
            } else {
                10_000_000
            });
            let recorded = tokio::time::timeout(
                give_up_after,
                store.record_scored(&pair, 80 + round, &scores, &events),
            )
            .await;
            rounds.push((scores, recorded.is_ok()));
        }
        // A batch given up on after its COMMIT was sent still lands: let it (PostgreSQL's
        // commit is on its way on another connection; SQLite's next writer waits for it).
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        store.upsert_leads(&[], 0).await.unwrap();
        for (round, (scores, answered)) in rounds.iter().enumerate() {
            let mut stored = Vec::new();
            for s in scores {
                let id = &s.report.company_id;
                let latest = store.latest_score(id).await.unwrap();
                let events = store.events_for_company(id).await.unwrap().len();
                assert_eq!(events, usize::from(latest.is_some()), "round {round}: {id}");
                if let Some(latest) = latest {
                    assert_eq!(latest.report, s.report, "round {round}");
                }
                stored.push(events == 1);
            }
            assert_eq!(
                stored[0], stored[1],
                "round {round}: part of a batch was stored"
            );
            assert!(
                stored[0] || !answered,
                "round {round}: answered but not stored"
            );
        }
    });
}

#[tokio::test]
async fn history_and_events_stay_whole_across_every_write_path() {
    for_each_store!(|store| {
        let chain = lead(r#"{"company_name": "Chain Co", "employee_count": 150}"#);
        let other = lead(r#"{"company_name": "Other Co"}"#);
        let balanced = Scorer::preset("balanced").unwrap();
        let (report, other_report) = (balanced.report(&chain), balanced.report(&other));
        let id = report.company_id.clone();
        let at = |t: i64| NewScore {
            report: report.clone(),
            scored_at: t,
        };
        let event = |t: EventType, at: i64, company: &str| NewEvent {
            event_type: t,
            occurred_at: at,
            user_id: None,
            company_id: Some(company.to_string()),
            payload: serde_json::json!({}),
        };
        use EventType::{EmailOpened, ScoreCalculated};
        store
            .record_scored(
                std::slice::from_ref(&chain),
                50,
                &[at(50)],
                &[event(ScoreCalculated, 50, &id)],
            )
            .await
            .unwrap();
        // Scored earlier, saved later; then events appended on their own.
        store.save_scores(&[at(30)]).await.unwrap();
        store
            .append_events(&[event(ScoreCalculated, 35, &id), event(EmailOpened, 36, &id)])
            .await
            .unwrap();
        // Two scores of the company in one batch, out of order, with another company's score
        // between them, and an event for a company this call did not score.
        store
            .record_scored(
                &[chain.clone(), other.clone()],
                60,
                &[
                    at(60),
                    NewScore {
                        report: other_report.clone(),
                        scored_at: 55,
                    },
                    at(40),
                ],
                &[
                    event(ScoreCalculated, 60, &id),
                    event(ScoreCalculated, 55, &other_report.company_id),
                    event(ScoreCalculated, 40, &id),
                    event(EmailOpened, 61, "not scored here"),
                ],
            )
            .await
            .unwrap();
        let history = store.score_history(&id).await.unwrap();
        let times: Vec<i64> = history.iter().map(|s| s.scored_at).collect();
        assert_eq!(times, [60, 50, 40, 30]);
        assert_eq!(
            store.latest_score(&id).await.unwrap().unwrap().scored_at,
            60
        );
        let events = store.events_for_company(&id).await.unwrap();
        let times: Vec<i64> = events.iter().map(|e| e.occurred_at).collect();
        assert_eq!(times, [50, 35, 36, 60, 40]);
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
        assert!(events.iter().all(|e| e.company_id.as_deref() == Some(&id)));
        let others = store
            .events_for_company(&other_report.company_id)
            .await
            .unwrap();
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].occurred_at, 55);
        let history = store.score_history(&other_report.company_id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            store.events_for_company("not scored here").await.unwrap()[0].occurred_at,
            61
        );
        assert!(store.score_history("nobody").await.unwrap().is_empty());
        assert!(store.events_for_company("nobody").await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn a_big_mixed_batch_keeps_every_company_whole() {
    for_each_store!(|store| {
        // 1,200 companies (more than one read or one INSERT takes): even ones come with their
        // lead, odd ones are only scored; the last 100 leads come without a score.
        let leads: Vec<brim_core::Lead> = (0..1_300)
            .map(|i| lead(&format!(r#"{{"company_name": "Bulk {i}"}}"#)))
            .collect();
        let with_leads: Vec<brim_core::Lead> = leads
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0 || *i >= 1_200)
            .map(|(_, l)| l.clone())
            .collect();
        for at in [100, 200] {
            let (scores, events) = scored(&leads[..1_200], at);
            let stored = store
                .record_scored(&with_leads, at, &scores, &events)
                .await
                .unwrap();
            assert_eq!(stored, 1_200);
        }
        for i in [0usize, 1, 998, 999, 1_000, 1_001, 1_199] {
            let id = leads[i].company_id();
            let history = store.score_history(&id).await.unwrap();
            let times: Vec<i64> = history.iter().map(|s| s.scored_at).collect();
            assert_eq!(times, [200, 100], "company {i}");
            assert_eq!(store.events_for_company(&id).await.unwrap().len(), 2);
            let stored = store.get_lead(&id).await.unwrap();
            assert_eq!(stored.map(|s| s.created_at), (i % 2 == 0).then_some(100));
        }
        let unscored = store.get_lead(&leads[1_250].company_id()).await.unwrap();
        assert_eq!(unscored.unwrap().updated_at, 200);
        assert!(
            store
                .score_history(&leads[1_250].company_id())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.count_events(None).await.unwrap(), 2_400);
        let table = brim_store::Analytics::scored_leads(&store, &Default::default())
            .await
            .unwrap();
        assert_eq!(
            table.total, 1_200,
            "leads never scored are not in the table"
        );
    });
}
