//! Delivery over SMTP to a real server on loopback (aiosmtpd): the message as a receiver
//! parses it, bounces, temporary failures, and a server that is down for a while.

mod common;

use std::sync::Arc;
use std::time::Duration;

use brim_core::{Lead, Scorer, SendWindow};
use brim_email::{SmtpMailer, TokenKind, Worker, WorkerConfig};
use brim_store::{EmailQueue, EmailStatus, EventStore, EventType, SuppressionReason};
use common::*;
use tokio::sync::watch;

fn smtp(url: &str) -> Arc<SmtpMailer> {
    Arc::new(SmtpMailer::new(url, None, 4, Duration::from_secs(5)).unwrap())
}

fn worker_config() -> WorkerConfig {
    WorkerConfig {
        worker_id: "smtp-test".into(),
        window: SendWindow::Always,
        ..WorkerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arrive_with_headers_both_parts_and_unicode_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(free_port(), dir.path());
    let store = memory_store().await;
    let lead = Lead::from_json(
        r#"{"company_name": "Café Zürich 東京", "industry": "E-commerce", "employee_count": 300,
            "timezone": "Europe/Berlin",
            "contact": {"name": "Zoë Müller", "email": "zoe@cafe.example"}}"#,
    )
    .unwrap();
    generator(store.clone(), template_author())
        .score_and_generate(
            [lead.clone()],
            &Scorer::preset("balanced").unwrap(),
            TUESDAY_10_UTC,
        )
        .await
        .unwrap();
    let queued = store
        .email_for_company(&lead.company_id())
        .await
        .unwrap()
        .unwrap();
    let composer = composer();
    let worker = Worker::new(
        store.clone(),
        smtp(&server.url()),
        composer.clone(),
        worker_config(),
        ManualClock::at(TUESDAY_10_UTC),
    );
    let (_tx, stop) = watch::channel(false);
    let report = worker.run_once(&stop).await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!(["zoe@cafe.example"]));
    assert_eq!(m["mail_from"], "sam@brim.example");
    assert_eq!(m["from"], "Sam at Brim <sam@brim.example>");
    assert_eq!(m["to"], "Zoë Müller <zoe@cafe.example>");
    assert_eq!(m["subject"], queued.subject);
    assert!(m["subject"].as_str().unwrap().contains("Café Zürich 東京"));
    assert_eq!(m["message_id"], queued.message_id);
    assert_eq!(m["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let unsubscribe = m["list_unsubscribe"].as_str().unwrap();
    let token = unsubscribe
        .strip_prefix("<https://brim.example/unsubscribe/")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap();
    let claims = composer
        .signer()
        .verify(token, TokenKind::Unsubscribe)
        .unwrap();
    assert_eq!(claims.email_id, queued.id);
    assert_eq!(m["content_type"], "multipart/alternative");
    let parts = m["parts"].as_array().unwrap();
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[1]["type"], "text/html");
    assert!(parts[0]["content"].as_str().unwrap().contains("Hi Zoë,"));
    assert!(
        parts[1]["content"]
            .as_str()
            .unwrap()
            .contains("<p>Hi Zoë,</p>")
    );
    assert!(
        parts[1]["content"]
            .as_str()
            .unwrap()
            .contains("unsubscribe")
    );

    let sent = store.get_email(queued.id).await.unwrap().unwrap();
    assert_eq!((sent.status, sent.attempts), (EmailStatus::Sent, 1));
    assert_eq!(
        store
            .count_events(Some(EventType::EmailSent))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounces_suppress_temporary_failures_retry_and_refusals_go_dead() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(free_port(), dir.path());
    let store = memory_store().await;
    let mut leads = leads(4);
    for (lead, local) in leads.iter_mut().zip(["bounce", "busy", "reject", "ok"]) {
        lead.contact.as_mut().unwrap().email = Some(format!(
            "{local}@{}.example",
            lead.company_name.replace(' ', "")
        ));
    }
    generator(store.clone(), template_author())
        .score_and_generate(
            leads.clone(),
            &Scorer::preset("balanced").unwrap(),
            TUESDAY_10_UTC,
        )
        .await
        .unwrap();
    let clock = ManualClock::at(TUESDAY_10_UTC);
    let worker = Worker::new(
        store.clone(),
        smtp(&server.url()),
        composer(),
        worker_config(),
        clock.clone(),
    );
    let (_tx, stop) = watch::channel(false);
    let report = worker.run_once(&stop).await.unwrap();
    assert_eq!(
        (report.sent, report.retried, report.dead),
        (1, 1, 2),
        "{report:?}"
    );
    let row = |i: usize| {
        let store = store.clone();
        let id = leads[i].company_id().to_string();
        async move { store.email_for_company(&id).await.unwrap().unwrap() }
    };
    let bounced = row(0).await;
    assert_eq!(bounced.status, EmailStatus::Dead);
    assert!(
        bounced.last_error.as_deref().unwrap().contains("550"),
        "{bounced:?}"
    );
    assert_eq!(
        store
            .suppression_of(bounced.recipient.as_deref().unwrap())
            .await
            .unwrap()
            .map(|s| s.reason),
        Some(SuppressionReason::HardBounce)
    );
    let busy = row(1).await;
    assert_eq!((busy.status, busy.attempts), (EmailStatus::Queued, 1));
    assert!(
        busy.due_at > TUESDAY_10_UTC + 4 * 60_000,
        "backoff of about 5 minutes"
    );
    let refused = row(2).await;
    assert_eq!(refused.status, EmailStatus::Dead);
    assert_eq!(
        store
            .suppression_of(refused.recipient.as_deref().unwrap())
            .await
            .unwrap(),
        None,
        "a 554 is not a bounce"
    );
    assert_eq!(server.received().len(), 1);
    assert_eq!(
        store
            .count_events(Some(EventType::EmailFailed))
            .await
            .unwrap(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_for_a_while_then_back_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let store = memory_store().await;
    let n = 30;
    generator(store.clone(), template_author())
        .score_and_generate(
            leads(n),
            &Scorer::preset("balanced").unwrap(),
            TUESDAY_10_UTC,
        )
        .await
        .unwrap();
    let clock = ManualClock::at(TUESDAY_10_UTC);
    let worker = Worker::new(
        store.clone(),
        smtp(&format!("smtp://127.0.0.1:{port}")),
        composer(),
        WorkerConfig {
            batch_size: 10,
            ..worker_config()
        },
        clock.clone(),
    );
    let (_tx, stop) = watch::channel(false);
    // Down: every attempt fails (connection refused) and is scheduled again.
    let mut failed = 0;
    for _ in 0..5 {
        let r = worker.run_once(&stop).await.unwrap();
        assert_eq!(r.sent, 0);
        failed += r.retried;
    }
    assert_eq!(
        failed, n,
        "each e-mail failed once and waits out its backoff"
    );
    // Two failures for some: move 6 minutes on, fail again.
    clock.advance(6 * 60_000);
    let r = worker.run_once(&stop).await.unwrap();
    assert_eq!(r.retried, 10);
    // Back up.
    let server = SmtpServer::start(port, dir.path());
    clock.advance(20 * 60_000);
    let mut sent = 0;
    for _ in 0..10 {
        sent += worker.run_once(&stop).await.unwrap().sent;
    }
    assert_eq!(sent, n);
    let received = server.received();
    assert_eq!(received.len(), n, "nothing lost");
    let mut ids: Vec<&str> = received
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "nothing sent twice");
    let counts = store.queue_counts().await.unwrap();
    assert_eq!(
        (counts.sent, counts.queued, counts.leased, counts.dead),
        (n as u64, 0, 0, 0)
    );
    // Later cycles find nothing more to send.
    clock.advance(24 * 3600 * 1000);
    assert_eq!(worker.run_once(&stop).await.unwrap().claimed, 0);
    assert_eq!(server.received().len(), n);
}
