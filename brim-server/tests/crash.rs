//! Crashes, as they happen: `brim serve` and `brim worker` killed with SIGKILL (no shutdown of
//! any kind) again and again while they work, on SQLite.
//!
//! - The server under concurrent score requests: after each restart, every request that was
//!   answered 2xx has its lead, its score and its `score_calculated` event stored, and
//!   `PRAGMA integrity_check` is `ok`.
//! - The send worker draining a queue to a real SMTP server (aiosmtpd): no e-mail is lost, and
//!   the e-mails a recipient got twice number at most the worker's sends in flight for each
//!   kill (each e-mail is marked sent as soon as the server accepted it; before, a kill re-sent
//!   the whole claimed batch of up to 100).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brim_store::{EmailQueue, EventStore, EventType, LeadStore, NewEmail, ScoreStore, Writer};
use common::{Proc, brim, serve};

/// One POST of a lead; `Some(status)` when the server answered, `None` when the connection
/// failed or closed without an answer (the server was being killed).
fn post_lead(port: u16, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let request = format!(
        "POST /api/score-company HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).get(9..12)?.parse().ok()
}

fn kill(mut proc: Proc) {
    proc.child().kill().unwrap(); // SIGKILL
    proc.child().wait().unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn serve_killed_under_load_keeps_every_answered_request_and_a_sound_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|t| {
            let answered = answered.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("crash-{t}-{i}");
                    let body = format!(
                        r#"{{"id": "{id}", "company_name": "Crash {t} {i}", "employee_count": {}, "industry": "SaaS"}}"#,
                        10 + i % 900
                    );
                    match post_lead(port, &body) {
                        Some(200) => answered.lock().unwrap().push(id),
                        Some(status) if status < 500 => panic!("{id}: {status}"),
                        // Killed mid-request, or not listening yet: try again (a new id).
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                    i += 1;
                }
            })
        })
        .collect();

    let db = dir.path().join("brim.db");
    let rt = runtime();
    let mut checked = 0;
    for round in 0..4 {
        let server = serve(dir.path(), port, &["--no-worker"]);
        let before = answered.lock().unwrap().len();
        std::thread::sleep(Duration::from_millis(1200 + 300 * round));
        kill(server);
        let answered_now: Vec<String> = answered.lock().unwrap().clone();
        assert!(
            answered_now.len() > before,
            "round {round}: no request was answered"
        );
        // Every answered request is stored, read by a fresh store on the file left behind.
        rt.block_on(async {
            let store = brim_store::SqliteStore::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(ok, "ok", "round {round}");
            for id in &answered_now[checked..] {
                assert!(store.get_lead(id).await.unwrap().is_some(), "{id}: lead");
                assert!(
                    store.latest_score(id).await.unwrap().is_some(),
                    "{id}: score"
                );
                let events = store.events_for_company(id).await.unwrap();
                assert!(
                    events
                        .iter()
                        .any(|e| e.event_type == EventType::ScoreCalculated),
                    "{id}: event"
                );
            }
        });
        checked = answered_now.len();
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert!(checked >= 200, "only {checked} requests were answered");
}

/// What the SMTP server received: how many messages each recipient got.
fn received(dir: &Path) -> BTreeMap<String, usize> {
    let mut by_recipient = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for to in summary["rcpt_tos"].as_array().unwrap() {
                *by_recipient
                    .entry(to.as_str().unwrap().to_string())
                    .or_insert(0) += 1;
            }
        }
    }
    by_recipient
}

#[test]
fn the_send_worker_killed_while_draining_loses_nothing_and_resends_at_most_its_sends_in_flight() {
    const EMAILS: usize = 400;
    /// The worker's sends in flight (its default concurrency).
    const IN_FLIGHT: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let db = dir.path().join("brim.db");
    let url = format!("sqlite://{}", db.display());
    let rt = runtime();
    let recipients: BTreeSet<String> = (0..EMAILS)
        .map(|i| format!("lead{i:04}@crash.example"))
        .collect();
    rt.block_on(async {
        let store = brim_store::SqliteStore::connect(&url).await.unwrap();
        let emails: Vec<NewEmail> = recipients
            .iter()
            .enumerate()
            .map(|(i, to)| NewEmail {
                company_id: format!("company-{i}"),
                recipient: Some(to.clone()),
                recipient_name: None,
                timezone: None,
                score: (i % 100) as u8,
                variant: "roi_focused".into(),
                subject: format!("Hello {i}"),
                body_text: "Hi,\n\nA short note.\n".into(),
                body_html: None,
                writer: Writer::Template,
                message_id: brim_core::message_id(&format!("company-{i}"), 1, "crash.example"),
                not_before: None,
            })
            .collect();
        let queued = store.enqueue(&emails, 1).await.unwrap();
        assert_eq!(queued.queued.len(), EMAILS);
    });

    let smtp_port = common::free_port();
    let _smtp = common::smtp_server(smtp_port, &inbox);
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let worker = || {
        Proc::spawn(brim(
            dir.path(),
            &[
                "worker",
                "--database-url",
                &url,
                "--smtp-url",
                &smtp_url,
                "--send-window",
                "always",
                "--worker-interval",
                "1",
                "--lease",
                "2s",
            ],
        ))
    };
    let sent = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let store = brim_store::SqliteStore::connect(&url).await.unwrap();
            store.queue_counts().await.unwrap().sent
        })
    };

    // Killed at uneven moments while it drains, until it has sent everything.
    let mut kills = 0;
    let started = Instant::now();
    let pauses = [700, 1100, 450, 1500, 900, 600, 1300];
    while sent(&rt) < EMAILS as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the queue did not drain: {} of {EMAILS} sent",
            sent(&rt)
        );
        let proc = worker();
        let pause = if kills < 5 {
            pauses[kills % pauses.len()]
        } else {
            4000
        };
        std::thread::sleep(Duration::from_millis(pause));
        if sent(&rt) >= EMAILS as u64 {
            drop(proc);
            break;
        }
        kill(proc);
        kills += 1;
    }
    // The SMTP server writes each message's summary as it accepts it; give the last a moment.
    std::thread::sleep(Duration::from_millis(300));

    let got = received(&inbox);
    let missing: Vec<&String> = recipients
        .iter()
        .filter(|r| !got.contains_key(*r))
        .collect();
    assert!(missing.is_empty(), "never received: {missing:?}");
    let extra: usize = got.values().map(|n| n - 1).sum();
    let most = got.values().max().copied().unwrap_or(0);
    eprintln!("{kills} kills, {extra} duplicates, at most {most} copies to one recipient");
    assert!(kills >= 3, "the worker was killed only {kills} times");
    assert!(
        extra <= kills * IN_FLIGHT,
        "{extra} duplicates after {kills} kills (at most {IN_FLIGHT} a kill)"
    );
    assert!(most <= 1 + kills);
}
