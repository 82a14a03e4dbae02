//! The send worker with the outbox mailer: priority, batch size, send windows, rate limits,
//! leads without a contact, graceful shutdown, tracking, previews.

mod common;

use std::sync::Arc;

use brim_core::{Lead, Scorer, SendWindow, time_zone};
use brim_email::{
    Composer, MessageConfig, OutboxMailer, Signer, TokenKind, Worker, WorkerConfig, preview,
};
use brim_store::{EmailQueue, EmailStatus, SqliteStore, WaitReason};
use common::*;
use tokio::sync::watch;

fn outbox_worker(
    store: Arc<SqliteStore>,
    dir: &std::path::Path,
    config: WorkerConfig,
    clock: Arc<ManualClock>,
) -> Worker<SqliteStore, OutboxMailer> {
    Worker::new(
        store,
        Arc::new(OutboxMailer::new(dir).unwrap()),
        composer(),
        config,
        clock,
    )
}

async fn queued(store: &Arc<SqliteStore>, leads: Vec<Lead>) {
    generator(store.clone(), template_author())
        .score_and_generate(leads, &Scorer::preset("balanced").unwrap(), TUESDAY_10_UTC)
        .await
        .unwrap();
}

#[tokio::test]
async fn sends_best_first_at_most_a_batch_per_cycle_and_copes_with_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    let (_tx, stop) = watch::channel(false);
    let worker = outbox_worker(
        store.clone(),
        dir.path(),
        WorkerConfig {
            batch_size: 5,
            ..WorkerConfig::default()
        },
        ManualClock::at(TUESDAY_10_UTC),
    );
    assert_eq!(worker.run_once(&stop).await.unwrap(), Default::default());

    queued(&store, leads(12)).await;
    let all = store.list_emails(None, 100, 0).await.unwrap();
    let mut scores: Vec<u8> = all.iter().map(|e| e.score).collect();
    scores.sort_unstable_by(|a, b| b.cmp(a));
    let first = worker.run_once(&stop).await.unwrap();
    assert_eq!((first.claimed, first.sent), (5, 5));
    let sent = store
        .list_emails(Some(EmailStatus::Sent), 100, 0)
        .await
        .unwrap();
    let mut sent_scores: Vec<u8> = sent.iter().map(|e| e.score).collect();
    sent_scores.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sent_scores, scores[..5], "the five best went first");
    for e in &sent {
        let file = dir
            .path()
            .join(format!("{}.eml", e.message_id.trim_matches(['<', '>'])));
        let eml = std::fs::read_to_string(&file).unwrap();
        assert!(
            eml.contains(&format!("Message-ID: {}", e.message_id)),
            "{eml}"
        );
        assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    }
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 5);
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 2);
    assert_eq!(worker.run_once(&stop).await.unwrap().claimed, 0);
    let eml = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(eml, 12);
    assert_eq!(
        std::fs::read_dir(dir.path().join(".tmp")).unwrap().count(),
        0,
        "no partial file left behind"
    );
}

#[tokio::test]
async fn a_lead_without_a_contact_waits_and_is_never_counted_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    let lead = Lead::from_json(r#"{"company_name": "Nobody Home", "employee_count": 90}"#).unwrap();
    queued(&store, vec![lead.clone()]).await;
    let (_tx, stop) = watch::channel(false);
    let worker = outbox_worker(
        store.clone(),
        dir.path(),
        WorkerConfig::default(),
        ManualClock::at(TUESDAY_10_UTC),
    );
    assert_eq!(worker.run_once(&stop).await.unwrap().claimed, 0);
    let email = store
        .email_for_company(&lead.company_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (email.status, email.wait_reason),
        (EmailStatus::Waiting, Some(WaitReason::NoContact))
    );
    let p = preview(&composer(), &email);
    assert_eq!(p.planned_send_at, None);
    assert!(
        p.waits_because
            .unwrap()
            .starts_with("needs a contact address")
    );
    assert!(p.subject.contains("Nobody Home"));
    // The contact arrives: it is sent on the next cycle.
    assert!(
        store
            .set_recipient(&lead.company_id(), "ceo@nobody.example", TUESDAY_10_UTC)
            .await
            .unwrap()
    );
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 1);
}

#[tokio::test]
async fn each_lead_waits_for_its_own_business_hours() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    // Tuesday 10:00 UTC = 15:30 in Kolkata (open), 05:00 in New York (closed until 09:00 EST
    // = 14:00 UTC).
    let kolkata = Lead::from_json(r#"{"company_name": "Chennai Ops", "timezone": "Asia/Kolkata", "contact": {"email": "a@chennai.example"}}"#).unwrap();
    let new_york = Lead::from_json(r#"{"company_name": "Brooklyn Ops", "timezone": "America/New_York", "contact": {"email": "b@brooklyn.example"}}"#).unwrap();
    queued(&store, vec![kolkata.clone(), new_york.clone()]).await;
    let ny = store
        .email_for_company(&new_york.company_id())
        .await
        .unwrap()
        .unwrap();
    let opens = TUESDAY_10_UTC + 4 * 3_600_000;
    assert_eq!(
        (ny.wait_reason, ny.due_at),
        (Some(WaitReason::SendWindow), opens),
        "planned at enqueue"
    );
    let p = preview(&composer(), &ny);
    assert_eq!(p.planned_send_at, Some(opens));
    assert!(
        p.waits_because
            .unwrap()
            .starts_with("outside the lead's send window")
    );

    let clock = ManualClock::at(TUESDAY_10_UTC);
    let (_tx, stop) = watch::channel(false);
    let worker = outbox_worker(
        store.clone(),
        dir.path(),
        WorkerConfig::default(),
        clock.clone(),
    );
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 1);
    clock.set(opens - 1);
    assert_eq!(worker.run_once(&stop).await.unwrap().claimed, 0);
    clock.set(opens);
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 1);

    // A row that becomes due outside its window (e.g. a retry at night) is deferred, not sent.
    let late = Lead::from_json(r#"{"company_name": "Late Night", "timezone": "Europe/Berlin", "contact": {"email": "c@late.example"}}"#).unwrap();
    queued(&store, vec![late.clone()]).await; // queued at Tuesday 11:00 Berlin: open
    let friday_evening = TUESDAY_10_UTC + 3 * 86_400_000 + 8 * 3_600_000; // Fri 19:00 Berlin
    clock.set(friday_evening);
    let r = worker.run_once(&stop).await.unwrap();
    assert_eq!((r.claimed, r.deferred_window, r.sent), (1, 1, 0));
    let row = store
        .email_for_company(&late.company_id())
        .await
        .unwrap()
        .unwrap();
    let monday_9_berlin =
        SendWindow::default().next_open(friday_evening, &time_zone("Europe/Berlin").unwrap());
    assert_eq!(
        (row.status, row.attempts, row.due_at),
        (EmailStatus::Queued, 0, monday_9_berlin)
    );
}

#[tokio::test]
async fn the_per_domain_rate_limit_defers_to_the_next_minute() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    let mut many = leads(5);
    for lead in &mut many {
        lead.contact.as_mut().unwrap().email = Some(format!(
            "{}@same.example",
            lead.company_name.replace(' ', "")
        ));
    }
    queued(&store, many).await;
    let clock = ManualClock::at(TUESDAY_10_UTC);
    let (_tx, stop) = watch::channel(false);
    let worker = outbox_worker(
        store.clone(),
        dir.path(),
        WorkerConfig {
            per_domain_per_minute: Some(2),
            ..WorkerConfig::default()
        },
        clock.clone(),
    );
    let r = worker.run_once(&stop).await.unwrap();
    assert_eq!((r.sent, r.deferred_rate), (2, 3));
    assert_eq!(
        worker.run_once(&stop).await.unwrap().claimed,
        0,
        "deferred to the next minute"
    );
    clock.advance(60_000);
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 2);
    clock.advance(60_000);
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 1);
    let counts = store.queue_counts().await.unwrap();
    assert_eq!(counts.sent, 5);
}

#[tokio::test]
async fn stopping_releases_what_was_not_started() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    queued(&store, leads(6)).await;
    let (tx, stop) = watch::channel(false);
    tx.send(true).unwrap();
    let worker = outbox_worker(
        store.clone(),
        dir.path(),
        WorkerConfig::default(),
        ManualClock::at(TUESDAY_10_UTC),
    );
    let r = worker.run_once(&stop).await.unwrap();
    assert_eq!((r.claimed, r.sent, r.released), (6, 0, 6));
    let counts = store.queue_counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.leased),
        (6, 0),
        "given back, claimable at once"
    );
    for e in store.list_emails(None, 10, 0).await.unwrap() {
        assert_eq!(e.attempts, 0, "a release is not an attempt");
    }
    // `run` returns promptly once stopped.
    tokio::time::timeout(std::time::Duration::from_secs(5), worker.run(stop))
        .await
        .unwrap();
}

#[tokio::test]
async fn tracking_links_and_the_pixel_carry_signed_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    let signer = Signer::new("tracking secret 0123456789").unwrap();
    let composer = Arc::new(Composer::new(
        MessageConfig::new("Sam <sam@brim.example>", "https://brim.example")
            .unwrap()
            .tracking("https://t.brim.example")
            .unwrap(),
        signer.clone(),
    ));
    let sender = brim_email::Sender {
        cta_url: Some("https://cal.example/sam?x=1&y=2".into()),
        ..brim_email::Sender::default()
    };
    let author = Arc::new(brim_email::Author::new(
        None,
        brim_email::TemplateWriter::new(sender.clone()),
        sender,
    ));
    generator(store.clone(), author)
        .score_and_generate(
            leads(1),
            &Scorer::preset("balanced").unwrap(),
            TUESDAY_10_UTC,
        )
        .await
        .unwrap();
    let email = store.list_emails(None, 1, 0).await.unwrap().remove(0);
    let p = preview(&composer, &email);
    let click = p
        .html
        .split("https://t.brim.example/t/click/")
        .nth(1)
        .unwrap();
    let token = &click[..click.find('"').unwrap()];
    let claims = signer.verify(token, TokenKind::Click).unwrap();
    assert_eq!(
        claims.url.as_deref(),
        Some("https://cal.example/sam?x=1&y=2")
    );
    assert_eq!(claims.email_id, email.id);
    let open = p
        .html
        .split("https://t.brim.example/t/open/")
        .nth(1)
        .unwrap();
    let token = &open[..open.find('"').unwrap()];
    assert_eq!(
        signer.verify(token, TokenKind::Open).unwrap().email_id,
        email.id
    );
    assert!(
        !p.html.contains("href=\"https://cal.example"),
        "no untracked link left"
    );
    assert!(
        p.text.contains("https://cal.example/sam?x=1&y=2"),
        "the text part keeps the real link"
    );

    let worker = Worker::new(
        store.clone(),
        Arc::new(OutboxMailer::new(dir.path()).unwrap()),
        composer,
        WorkerConfig::default(),
        ManualClock::at(TUESDAY_10_UTC),
    );
    let (_tx, stop) = watch::channel(false);
    assert_eq!(worker.run_once(&stop).await.unwrap().sent, 1);
}

#[tokio::test]
async fn dead_rows_can_be_requeued_and_queued_ones_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = memory_store().await;
    let mut two = leads(2);
    two[0].contact.as_mut().unwrap().email = Some("not an address".into());
    queued(&store, two.clone()).await;
    let (_tx, stop) = watch::channel(false);
    let worker = outbox_worker(
        store.clone(),
        dir.path(),
        WorkerConfig::default(),
        ManualClock::at(TUESDAY_10_UTC),
    );
    // The bad address is a permanent failure: dead at once; the good one is sent.
    let r = worker.run_once(&stop).await.unwrap();
    assert_eq!((r.sent, r.dead), (1, 1), "{r:?}");
    let dead = store
        .email_for_company(&two[0].company_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.status, EmailStatus::Dead);
    let p = preview(&composer(), &dead);
    let why = p.waits_because.unwrap();
    assert!(
        why.starts_with(
            "gave up after 1 attempt(s): recipient \"not an address\" is not a valid address"
        ),
        "{why}"
    );
    assert!(store.requeue(dead.id, TUESDAY_10_UTC).await.unwrap());
    let again = store.get_email(dead.id).await.unwrap().unwrap();
    assert_eq!((again.status, again.attempts), (EmailStatus::Queued, 0));
    assert!(store.cancel(dead.id, TUESDAY_10_UTC).await.unwrap());
    assert_eq!(worker.run_once(&stop).await.unwrap().claimed, 0);
    assert_eq!(
        store.get_email(dead.id).await.unwrap().unwrap().status,
        EmailStatus::Cancelled
    );
}

/// By default only leads whose action is an outreach action get an e-mail: a lead to monitor
/// is watched, not written to (issue 22: a low_priority_monitoring lead was e-mailed).
#[tokio::test]
async fn by_default_only_outreach_leads_get_an_email() {
    let store = memory_store().await;
    let generator = brim_email::Generator::new(
        store.clone(),
        template_author(),
        brim_email::GenerateConfig::default(),
    );
    let scorer = Scorer::preset("balanced").unwrap();
    let leads = leads(40);
    let outreach = leads
        .iter()
        .filter(|l| scorer.report(l).action.is_outreach())
        .count();
    assert!(
        outreach > 0 && outreach < leads.len(),
        "the leads must mix outreach and monitoring for this test to mean anything"
    );
    let report = generator
        .score_and_generate(leads.clone(), &scorer, TUESDAY_10_UTC)
        .await
        .unwrap();
    assert_eq!(report.queued, outreach, "{report:?}");
    assert_eq!(report.filtered, leads.len() - outreach, "{report:?}");
    for lead in &leads {
        let email = store.email_for_company(&lead.company_id()).await.unwrap();
        assert_eq!(
            email.is_some(),
            scorer.report(lead).action.is_outreach(),
            "{}",
            lead.company_name
        );
    }
}
