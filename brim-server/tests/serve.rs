//! `brim serve` over a real socket on SQLite: a scored lead's e-mail is written, sent to the
//! outbox, and shows as sent in the table; a separate `brim worker` sends what a `--no-worker`
//! server queued; SIGTERM stops both cleanly; bad settings are refused at start.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Proc, brim, http, serve, wait_for};

fn eml_count(outbox: &Path) -> usize {
    std::fs::read_dir(outbox)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn serve_scores_writes_sends_to_the_outbox_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let server = serve(
        dir.path(),
        port,
        &["--send-window", "always", "--worker-interval", "1"],
    );
    let reply = http(
        port,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme", "employee_count": 120, "industry": "SaaS", "contact": {"name": "Pat Doe", "email": "pat@acme.example"}}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let outbox = dir.path().join("outbox");
    wait_for("the e-mail in the outbox", || eml_count(&outbox) == 1);
    wait_for("the table to show it sent", || {
        http(port, "GET", "/api/analytics/scored-leads-table", "")
            .body
            .contains("\"status\":\"Sent\"")
    });
    assert!(dir.path().join("brim.db").exists());
    assert!(dir.path().join("brim.secret").exists());
    // SIGTERM: finishes and exits 0.
    assert!(server.terminate().contains("brim: stopped"));
}

#[test]
fn serve_refuses_a_public_address_and_a_bad_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], expected: &str| {
        let out = brim(dir.path(), args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    refused(&["serve", "--bind", "0.0.0.0:0"], "needs an API key");
    refused(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x",
        ],
        "expected sqlite://FILE or postgres://",
    );
    refused(&["serve", "--send-window", "Funday 9-5"], "send window");
}

#[test]
fn a_separate_worker_sends_what_a_server_without_one_queued() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let server = serve(
        dir.path(),
        port,
        &["--no-worker", "--send-window", "always"],
    );
    let reply = http(
        port,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme", "contact": {"email": "pat@acme.example"}}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    wait_for("the e-mail to be queued", || {
        http(port, "GET", "/api/emails", "")
            .body
            .contains("pat@acme.example")
    });
    std::thread::sleep(Duration::from_millis(300));
    let outbox = dir.path().join("outbox");
    assert_eq!(eml_count(&outbox), 0, "no worker, nothing sent");
    let worker = Proc::spawn({
        let mut command: Command = brim(
            dir.path(),
            &[
                "worker",
                "--send-window",
                "always",
                "--worker-interval",
                "1",
            ],
        );
        command.env_remove("DATABASE_URL");
        command
    });
    wait_for("the worker to send it", || eml_count(&outbox) == 1);
    assert!(worker.terminate().contains("brim: stopped"));
    assert!(server.terminate().contains("brim: stopped"));
}

/// The README's quick start: `brim serve --import examples/leads.jsonl` scores the sample,
/// writes and sends the e-mails of the leads that have a contact, and serves the dashboard.
#[test]
fn the_quick_start_imports_the_sample_and_fills_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/leads.jsonl");
    let server = serve(
        dir.path(),
        port,
        &[
            "--import",
            sample,
            "--send-window",
            "always",
            "--worker-interval",
            "1",
        ],
    );
    let with_contact = std::fs::read_to_string(sample)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"contact\""))
        .count();
    assert!(with_contact > 0);
    wait_for("the sample's e-mails in the outbox", || {
        eml_count(&dir.path().join("outbox")) == with_contact
    });
    let table = http(port, "GET", "/api/analytics/scored-leads-table", "");
    assert!(
        table.head.to_lowercase().contains("x-total-count: 10"),
        "{}",
        table.head
    );
    let page = http(port, "GET", "/", "");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Brim dashboard"));
    let stderr = server.terminate();
    assert!(stderr.contains("importing"), "{stderr}");
    assert!(stderr.contains("dashboard http://127.0.0.1:"), "{stderr}");
}
