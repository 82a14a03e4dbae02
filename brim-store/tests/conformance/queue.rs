//! The e-mail queue's contract.

use brim_store::{
    Backoff, EmailQueue, EmailStatus, Error, EventStore, EventType, FailMark, Failure, NewEmail,
    NewEvent, SendMark, Suppression, SuppressionReason, WaitReason, Writer,
};

use crate::{Raw, for_each_store};

pub fn email(company: &str, score: u8, recipient: Option<&str>) -> NewEmail {
    NewEmail {
        company_id: company.to_string(),
        recipient: recipient.map(str::to_string),
        recipient_name: recipient.map(|_| "Ada Lovelace".to_string()),
        timezone: Some("Europe/Berlin".into()),
        score,
        variant: if score > 75 {
            "roi_focused"
        } else {
            "problem_focused"
        }
        .to_string(),
        subject: format!("Hello {company}"),
        body_text: "Hi,\n\nplain text".to_string(),
        body_html: Some("<p>Hi</p>".to_string()),
        writer: Writer::Template,
        message_id: format!("<{company}@test>"),
        not_before: None,
    }
}

const MIN: i64 = 60_000;
const LEASE: u64 = 60_000;

#[tokio::test]
async fn claims_best_first_once_per_company() {
    for_each_store!(|store| {
        let first = store
            .enqueue(
                &[
                    email("low", 50, Some("a@low.io")),
                    email("high-old", 90, Some("a@high-old.io")),
                    email("mid", 70, Some("a@mid.io")),
                    email("nobody", 99, None),
                ],
                1_000,
            )
            .await
            .unwrap();
        assert_eq!(first.queued.len(), 4);
        assert!(first.skipped.is_empty());
        let second = store
            .enqueue(
                &[
                    email("high-new", 90, Some("a@high-new.io")),
                    NewEmail {
                        message_id: "<another@test>".into(),
                        ..email("low", 100, Some("b@low.io"))
                    },
                    NewEmail {
                        message_id: "<twice@test>".into(),
                        ..email("high-new", 10, Some("c@high-new.io"))
                    },
                ],
                2_000,
            )
            .await
            .unwrap();
        assert_eq!(second.queued.len(), 1);
        assert_eq!(
            second.skipped,
            vec![
                (1, "low".to_string(), first.queued[0]),
                (2, "high-new".to_string(), second.queued[0]),
            ],
            "a company already queued is skipped, with the row it has"
        );

        let got = store.claim("w1", 2, 5_000, LEASE).await.unwrap();
        let names: Vec<_> = got.iter().map(|e| e.company_id.as_str()).collect();
        assert_eq!(
            names,
            ["high-old", "high-new"],
            "highest score, then oldest"
        );
        assert!(got.iter().all(|e| e.status == EmailStatus::Leased
            && e.leased_by.as_deref() == Some("w1")
            && e.due_at == 5_000 + MIN));
        assert_eq!(got[0].subject, "Hello high-old");
        assert_eq!(got[0].body_html.as_deref(), Some("<p>Hi</p>"));
        assert_eq!(got[0].writer, Writer::Template);

        let rest = store.claim("w2", 10, 5_000, LEASE).await.unwrap();
        let names: Vec<_> = rest.iter().map(|e| e.company_id.as_str()).collect();
        assert_eq!(names, ["mid", "low"], "the waiting row is not claimed");
        assert!(
            store
                .claim("w3", 10, 5_000, LEASE)
                .await
                .unwrap()
                .is_empty()
        );

        for e in got.iter().chain(&rest) {
            assert_eq!(
                store.mark_sent(e.id, 6_000).await.unwrap(),
                SendMark::Marked
            );
        }
        assert_eq!(
            store.mark_sent(got[0].id, 7_000).await.unwrap(),
            SendMark::AlreadySent,
            "idempotent"
        );
        let sent = store.get_email(got[0].id).await.unwrap().unwrap();
        assert_eq!(
            (sent.status, sent.sent_at, sent.attempts),
            (EmailStatus::Sent, Some(6_000), 1)
        );
        assert_eq!(
            (sent.recipient_name.as_deref(), sent.timezone.as_deref()),
            (Some("Ada Lovelace"), Some("Europe/Berlin")),
            "the contact's name and the lead's zone are kept"
        );

        // Sent once per company, for ever: a new e-mail for it is skipped.
        let again = store
            .enqueue(
                &[NewEmail {
                    message_id: "<third@test>".into(),
                    ..email("mid", 100, Some("a@mid.io"))
                }],
                8_000,
            )
            .await
            .unwrap();
        assert!(again.queued.is_empty());
        let counts = store.queue_counts().await.unwrap();
        assert_eq!((counts.sent, counts.waiting, counts.queued), (4, 1, 0));
        assert!(store.claim("w1", 0, 9_000, LEASE).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn the_database_refuses_a_second_live_email_for_a_company() {
    for_each_store!(|store| {
        store
            .enqueue(&[email("acme", 80, Some("a@acme.io"))], 0)
            .await
            .unwrap();
        // Even a caller that bypasses `enqueue`'s skip cannot add a second live row: the
        // unique index refuses it.
        let direct = store.insert_raw_for_test("acme").await;
        assert!(direct.is_err(), "{direct:?}");
    });
}

#[tokio::test]
async fn an_expired_lease_returns_the_row_and_the_old_holder_loses_it() {
    for_each_store!(|store| {
        store
            .enqueue(&[email("acme", 80, Some("a@acme.io"))], 0)
            .await
            .unwrap();
        let held = store.claim("crashed", 5, 1_000, 30_000).await.unwrap();
        assert_eq!(held.len(), 1);
        assert!(
            store
                .claim("w2", 5, 30_999, 30_000)
                .await
                .unwrap()
                .is_empty()
        );
        let retaken = store.claim("w2", 5, 31_000, 30_000).await.unwrap();
        assert_eq!(retaken.len(), 1);
        assert_eq!(retaken[0].leased_by.as_deref(), Some("w2"));
        let failure = Failure {
            error: "timeout",
            transient: true,
            seed: 1,
        };
        let mark = store
            .mark_failed(held[0].id, "crashed", 32_000, &failure, &Backoff::default())
            .await
            .unwrap();
        assert_eq!(mark, FailMark::LeaseLost);
        assert!(
            !store
                .defer(
                    held[0].id,
                    "crashed",
                    99_000,
                    WaitReason::SendWindow,
                    32_000
                )
                .await
                .unwrap()
        );
        assert_eq!(
            store.mark_sent(held[0].id, 33_000).await.unwrap(),
            SendMark::Marked
        );
    });
}

#[tokio::test]
async fn failures_back_off_then_die_and_dead_rows_can_be_requeued() {
    for_each_store!(|store| {
        let ids = store
            .enqueue(
                &[
                    email("flaky", 80, Some("a@flaky.io")),
                    email("bounced", 60, Some("x@bounced.io")),
                ],
                0,
            )
            .await
            .unwrap()
            .queued;
        let backoff = Backoff::default();
        let mut now = 1_000;
        for attempt in 1..=backoff.max_attempts() {
            let got = store.claim("w", 1, now, LEASE).await.unwrap();
            assert_eq!(got[0].id, ids[0], "attempt {attempt}");
            let failure = Failure {
                error: "451 try later",
                transient: true,
                seed: 7,
            };
            let mark = store
                .mark_failed(ids[0], "w", now, &failure, &backoff)
                .await
                .unwrap();
            match backoff.delay_after(attempt, 7) {
                Some(delay) => {
                    let at = now + delay as i64;
                    assert_eq!(mark, FailMark::Retry { at });
                    let row = store.get_email(ids[0]).await.unwrap().unwrap();
                    assert_eq!(row.status, EmailStatus::Queued);
                    assert_eq!(row.wait_reason, Some(WaitReason::Backoff));
                    assert_eq!(row.attempts, attempt);
                    assert_eq!(row.last_error.as_deref(), Some("451 try later"));
                    // Not due before the backoff is over: the other row comes instead.
                    let early = store.claim("w", 1, at - 1, LEASE).await.unwrap();
                    if let Some(other) = early.first() {
                        assert_eq!(other.id, ids[1]);
                        let permanent = Failure {
                            error: "550 no such user",
                            transient: false,
                            seed: 0,
                        };
                        assert_eq!(
                            store
                                .mark_failed(other.id, "w", at - 1, &permanent, &backoff)
                                .await
                                .unwrap(),
                            FailMark::Dead,
                            "a permanent failure is not retried"
                        );
                    }
                    now = at;
                }
                None => assert_eq!(mark, FailMark::Dead),
            }
        }
        let dead = store
            .list_emails(Some(EmailStatus::Dead), 10, 0)
            .await
            .unwrap();
        assert_eq!(dead.len(), 2, "dead rows stay visible");
        assert_eq!(dead[0].attempts, backoff.max_attempts());
        assert!(
            store
                .claim("w", 10, now + 1_000 * MIN, LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.requeue(ids[0], now).await.unwrap());
        assert!(!store.requeue(ids[0], now).await.unwrap(), "only dead rows");
        let back = store.claim("w", 10, now, LEASE).await.unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].attempts, 0);
    });
}

#[tokio::test]
async fn suppressed_addresses_and_domains_are_never_claimed() {
    for_each_store!(|store| {
        store
            .enqueue(
                &[
                    email("a", 90, Some("Ann@Blocked.example")),
                    email("b", 80, Some("bob@unsubscribed.example")),
                    email("c", 70, Some("Carl@OK.example")),
                ],
                0,
            )
            .await
            .unwrap();
        let added = store
            .suppress(&[
                Suppression {
                    value: "blocked.example".into(),
                    reason: SuppressionReason::Manual,
                    created_at: 1,
                },
                Suppression {
                    value: "BOB@unsubscribed.example".into(),
                    reason: SuppressionReason::Unsubscribed,
                    created_at: 2,
                },
                Suppression {
                    value: "blocked.example".into(),
                    reason: SuppressionReason::HardBounce,
                    created_at: 3,
                },
            ])
            .await
            .unwrap();
        assert_eq!(added, 2, "an existing entry keeps its first reason");
        let got = store.claim("w", 10, 10, LEASE).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].company_id, "c");
        let a = store.email_for_company("a").await.unwrap().unwrap();
        assert_eq!(a.suppressed, Some(SuppressionReason::Manual));
        assert_eq!(a.status, EmailStatus::Queued);
        let why = store
            .suppression_of("someone@BLOCKED.example")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (why.value.as_str(), why.reason),
            ("blocked.example", SuppressionReason::Manual)
        );
        assert!(
            store
                .suppression_of("c@ok.example")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.unsuppress("Blocked.Example").await.unwrap());
        assert!(!store.unsuppress("blocked.example").await.unwrap());
        let now_free = store.claim("w", 10, 20, LEASE).await.unwrap();
        assert_eq!(now_free.len(), 1);
        assert_eq!(now_free[0].company_id, "a");
    });
}

#[tokio::test]
async fn waiting_rows_say_why() {
    for_each_store!(|store| {
        let window_opens = 9 * 60 * MIN;
        let ids = store
            .enqueue(
                &[
                    email("no-contact", 90, None),
                    NewEmail {
                        not_before: Some(window_opens),
                        ..email("night", 80, Some("n@night.io"))
                    },
                    email("now", 10, Some("x@now.io")),
                ],
                0,
            )
            .await
            .unwrap()
            .queued;
        let waiting = store.get_email(ids[0]).await.unwrap().unwrap();
        assert_eq!(
            (waiting.status, waiting.wait_reason),
            (EmailStatus::Waiting, Some(WaitReason::NoContact))
        );
        let night = store.get_email(ids[1]).await.unwrap().unwrap();
        assert_eq!(
            (night.status, night.wait_reason, night.due_at),
            (
                EmailStatus::Queued,
                Some(WaitReason::SendWindow),
                window_opens
            )
        );
        let got = store.claim("w", 10, 1_000, LEASE).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].company_id, "now");
        // The worker finds the lead's local time outside business hours and defers it.
        assert!(
            store
                .defer(ids[2], "w", window_opens + 1, WaitReason::SendWindow, 1_000)
                .await
                .unwrap()
        );
        let deferred = store.get_email(ids[2]).await.unwrap().unwrap();
        assert_eq!(deferred.attempts, 0, "a deferral is not an attempt");
        assert_eq!(deferred.wait_reason, Some(WaitReason::SendWindow));

        assert!(
            store
                .set_recipient("no-contact", "ceo@found.io", 2_000)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_recipient("unknown", "x@y.z", 2_000)
                .await
                .unwrap()
        );
        let got = store.claim("w", 10, 2_000, LEASE).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].recipient.as_deref(), Some("ceo@found.io"));
        store.mark_sent(got[0].id, 2_001).await.unwrap();
        let got = store.claim("w", 10, window_opens + 1, LEASE).await.unwrap();
        let names: Vec<_> = got.iter().map(|e| e.company_id.as_str()).collect();
        assert_eq!(names, ["night", "now"]);
    });
}

#[tokio::test]
async fn only_the_allowed_transitions_happen() {
    for_each_store!(|store| {
        let ids = store
            .enqueue(
                &[
                    email("a", 50, Some("a@a.io")),
                    email("b", 40, Some("b@b.io")),
                ],
                0,
            )
            .await
            .unwrap()
            .queued;
        match store.mark_sent(ids[0], 1).await {
            Err(Error::InvalidState { status, .. }) => assert_eq!(status, "queued"),
            other => panic!("expected InvalidState, got {other:?}"),
        }
        assert!(matches!(
            store.mark_sent(9_999, 1).await,
            Err(Error::NotFound { id: 9_999, .. })
        ));
        assert!(store.cancel(ids[0], 2).await.unwrap());
        assert!(!store.cancel(ids[0], 2).await.unwrap());
        assert!(store.email_for_company("a").await.unwrap().is_none());
        // A cancelled e-mail frees the company for a new one.
        let again = store
            .enqueue(
                &[NewEmail {
                    message_id: "<a-2@test>".into(),
                    ..email("a", 55, Some("a@a.io"))
                }],
                3,
            )
            .await
            .unwrap();
        assert_eq!(again.queued.len(), 1);
        let held = store.claim("w", 1, 4, LEASE).await.unwrap();
        assert!(
            !store.cancel(held[0].id, 5).await.unwrap(),
            "a leased row is not cancelled"
        );
        let counts = store.queue_counts().await.unwrap();
        assert_eq!((counts.cancelled, counts.leased, counts.queued), (1, 1, 1));
    });
}

#[tokio::test]
async fn an_interrupted_batch_leaves_nothing_half_written() {
    for_each_store!(|store| {
        // A duplicate Message-ID in the second chunk of a big enqueue: the database refuses it,
        // and the first chunk, already inserted, is rolled back with it.
        let mut batch: Vec<NewEmail> = (0..600)
            .map(|i| email(&format!("c{i}"), (i % 100) as u8, Some("x@y.io")))
            .collect();
        batch[550].message_id = batch[3].message_id.clone();
        assert!(store.enqueue(&batch, 0).await.is_err());
        assert_eq!(store.queue_counts().await.unwrap(), Default::default());

        // A batch whose future is dropped midway (the caller gave up, the task was cancelled):
        // either all of it is stored or none of it.
        let events: Vec<NewEvent> = (0..60_000)
            .map(|i| NewEvent {
                event_type: EventType::EmailOpened,
                occurred_at: i,
                user_id: None,
                company_id: Some(format!("c{i}")),
                payload: serde_json::json!({}),
            })
            .collect();
        let interrupted = tokio::time::timeout(
            std::time::Duration::from_millis(30),
            store.append_events(&events),
        )
        .await;
        let stored = store.count_events(None).await.unwrap();
        match interrupted {
            Ok(result) => assert_eq!((result.unwrap(), stored), (60_000, 60_000)),
            Err(_) => assert_eq!(stored, 0, "a cancelled batch left {stored} rows"),
        }
    });
}

#[tokio::test]
async fn a_batch_of_marks_answers_per_id_and_keeps_the_good_ones() {
    for_each_store!(|store| {
        let ids = store
            .enqueue(
                &[
                    email("a", 90, Some("a@a.io")),
                    email("b", 80, Some("b@b.io")),
                    email("c", 70, Some("c@c.io")),
                    email("d", 10, Some("d@d.io")),
                ],
                0,
            )
            .await
            .unwrap()
            .queued;
        let held = store.claim("w", 3, 1, LEASE).await.unwrap();
        assert_eq!(held.len(), 3);
        store.mark_sent(ids[2], 2).await.unwrap();
        let marks = store
            .mark_sent_many(&[ids[0], ids[3], ids[1], ids[2], 777_777, ids[0]], 3)
            .await
            .unwrap();
        assert_eq!(marks[0].as_ref().unwrap(), &SendMark::Marked);
        assert!(matches!(&marks[1], Err(Error::InvalidState { status, .. }) if status == "queued"));
        assert_eq!(marks[2].as_ref().unwrap(), &SendMark::Marked);
        assert_eq!(marks[3].as_ref().unwrap(), &SendMark::AlreadySent);
        assert!(matches!(marks[4], Err(Error::NotFound { id: 777_777, .. })));
        assert_eq!(marks[5].as_ref().unwrap(), &SendMark::AlreadySent);
        let b = store.get_email(ids[1]).await.unwrap().unwrap();
        assert_eq!(
            (b.status, b.sent_at, b.attempts),
            (EmailStatus::Sent, Some(3), 1)
        );
        assert!(store.mark_sent_many(&[], 4).await.unwrap().is_empty());
    });
}

#[tokio::test]
async fn e_mails_and_their_events_are_stored_together_or_not_at_all() {
    for_each_store!(|store| {
        let log = |queued: &brim_store::Enqueued| -> Vec<NewEvent> {
            queued
                .queued
                .iter()
                .map(|id| NewEvent {
                    event_type: EventType::EmailGenerated,
                    occurred_at: 5,
                    user_id: None,
                    company_id: None,
                    payload: serde_json::json!({"email_id": id}),
                })
                .collect()
        };
        let batch = vec![email("a", 80, Some("a@a.io")), email("b", 70, None)];
        let done = store.enqueue_logged(&batch, 0, log).await.unwrap();
        assert_eq!(done.queued.len(), 2);
        assert_eq!(
            store
                .count_events(Some(EventType::EmailGenerated))
                .await
                .unwrap(),
            2
        );
        // Again, plus one new: the existing two are skipped, one event for the new one.
        let again = vec![
            email("a", 80, Some("a@a.io")),
            email("b", 70, None),
            email("c", 60, None),
        ];
        let mut again = again;
        again[0].message_id = "<a2@test>".into();
        again[1].message_id = "<b2@test>".into();
        let done = store.enqueue_logged(&again, 0, log).await.unwrap();
        assert_eq!((done.queued.len(), done.skipped.len()), (1, 2));
        assert_eq!(
            store
                .count_events(Some(EventType::EmailGenerated))
                .await
                .unwrap(),
            3
        );
        // A refused batch (a duplicate Message-ID) stores neither e-mails nor events.
        let mut bad = vec![email("d", 50, None), email("e", 50, None)];
        bad[1].message_id = bad[0].message_id.clone();
        assert!(store.enqueue_logged(&bad, 0, log).await.is_err());
        assert_eq!(
            store
                .count_events(Some(EventType::EmailGenerated))
                .await
                .unwrap(),
            3
        );
        assert_eq!(store.queue_counts().await.unwrap().waiting, 2);
    });
}

/// The sweep's listing: scored companies with a lead and no e-mail, oldest latest score first,
/// each once however the pages fall (ties at one time included), past a key of the page before.
#[tokio::test]
async fn unqueued_leads_pages_through_scored_leads_without_an_email() {
    use brim_store::{LeadStore, NewScore, ScoreStore, ScoredKey};
    for_each_store!(|store| {
        let scorer = brim_core::Scorer::preset("balanced").unwrap();
        let scored = |name: &str, at: i64| {
            let lead = crate::lead(&format!(r#"{{"company_name": "{name}"}}"#));
            let report = scorer.report(&lead);
            (
                lead,
                NewScore {
                    report,
                    scored_at: at,
                },
            )
        };
        // Scored with a lead: at 10 (three at once), 20, 30; "Later" is rescored at 40.
        let rows = [
            scored("Tie A", 10),
            scored("Tie B", 10),
            scored("Tie C", 10),
            scored("Twenty", 20),
            scored("Later", 5),
            scored("Later", 40),
            scored("Thirty", 30),
            scored("Mailed", 15),
        ];
        for (lead, score) in &rows {
            store
                .record_scored(
                    std::slice::from_ref(lead),
                    score.scored_at,
                    std::slice::from_ref(score),
                    &[],
                )
                .await
                .unwrap();
        }
        // Not listed: a company with an e-mail, one only scored (no lead), one never scored.
        let mailed = brim_core::company_id_for_name("Mailed");
        store
            .enqueue(&[email(&mailed, 50, Some("a@mailed.io"))], 50)
            .await
            .unwrap();
        store
            .save_scores(&[scored("Score only", 12).1])
            .await
            .unwrap();
        store
            .upsert_leads(&[crate::lead(r#"{"company_name": "Lead only"}"#)], 12)
            .await
            .unwrap();

        let all = store.unqueued_leads(None, 100).await.unwrap();
        let id = brim_core::company_id_for_name;
        let times: Vec<(i64, String)> = all
            .iter()
            .map(|k| (k.scored_at, k.company_id.clone()))
            .collect();
        let mut ties = vec![id("Tie A"), id("Tie B"), id("Tie C")];
        ties.sort();
        ties.reverse();
        let mut want: Vec<(i64, String)> = ties.into_iter().map(|c| (10, c)).collect();
        want.extend([(20, id("Twenty")), (30, id("Thirty")), (40, id("Later"))]);
        assert_eq!(times, want, "oldest latest score first, ties in one order");

        // Any page size gives the same rows, each once.
        for limit in [1, 2, 3, 5] {
            let mut paged: Vec<ScoredKey> = Vec::new();
            loop {
                let page = store.unqueued_leads(paged.last(), limit).await.unwrap();
                assert!(page.len() <= limit as usize);
                let last = page.len() < limit as usize;
                paged.extend(page);
                if last {
                    break;
                }
            }
            assert_eq!(paged, all, "pages of {limit}");
        }
        // A key that is not (or no longer) a row still marks a place: after time 15.
        let after = ScoredKey {
            scored_at: 15,
            company_id: String::new(),
        };
        let rest = store.unqueued_leads(Some(&after), 100).await.unwrap();
        assert_eq!(rest, all[3..].to_vec());

        // Once a company has an e-mail it leaves the list.
        store
            .enqueue(&[email(&id("Twenty"), 50, None)], 60)
            .await
            .unwrap();
        let now: Vec<String> = store
            .unqueued_leads(None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.company_id)
            .collect();
        assert!(!now.contains(&id("Twenty")));
        assert_eq!(now.len(), 5);
        // A cancelled e-mail does not count: the company may be written another.
        let cancelled = store
            .email_for_company(&id("Twenty"))
            .await
            .unwrap()
            .unwrap();
        assert!(store.cancel(cancelled.id, 70).await.unwrap());
        assert_eq!(store.unqueued_leads(None, 100).await.unwrap(), all);
    });
}

/// A live worker keeps its rows by renewing its leases; another worker's renewal touches none
/// of them; a renewal never shortens a lease; once renewals stop, the rows come back when the
/// last renewed lease runs out.
#[tokio::test]
async fn renewed_leases_keep_rows_and_lapse_when_renewals_stop() {
    for_each_store!(|store| {
        store
            .enqueue(
                &[
                    email("kept-a", 80, Some("a@kept.io")),
                    email("kept-b", 70, Some("b@kept.io")),
                    email("free", 60, Some("c@free.io")),
                ],
                0,
            )
            .await
            .unwrap();
        let held = store.claim("w1", 2, 1_000, 10_000).await.unwrap();
        assert_eq!(held.len(), 2);
        // Renewed at 8 s for another 10 s: held until 18 s, not 11 s.
        assert_eq!(store.renew_lease("w1", 8_000, 10_000).await.unwrap(), 2);
        assert_eq!(store.renew_lease("w2", 8_000, 60_000).await.unwrap(), 0);
        // Never shortened.
        assert_eq!(store.renew_lease("w1", 8_000, 1).await.unwrap(), 0);
        let other = store.claim("w2", 10, 12_000, 10_000).await.unwrap();
        let names: Vec<_> = other.iter().map(|e| e.company_id.as_str()).collect();
        assert_eq!(names, ["free"], "w1's rows are still held at 12 s");
        let back = store.claim("w3", 10, 18_000, 10_000).await.unwrap();
        let mut names: Vec<_> = back.iter().map(|e| e.company_id.clone()).collect();
        names.sort();
        assert_eq!(
            names,
            ["kept-a", "kept-b"],
            "claimable once the renewed lease ran out"
        );
        // w1 no longer holds them: its renewal changes nothing, and w3 keeps them.
        assert_eq!(store.renew_lease("w1", 19_000, 60_000).await.unwrap(), 0);
        for row in &back {
            assert_eq!(
                store
                    .get_email(row.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .leased_by
                    .as_deref(),
                Some("w3")
            );
        }
    });
}
