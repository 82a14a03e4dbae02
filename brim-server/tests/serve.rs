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
        r#"{"company_name": "Acme", "funding_stage": "Series A", "tech_stack": ["Zapier", "Salesforce"], "recent_job_posts": ["Head of Operations"], "employee_count": 120, "industry": "SaaS", "contact": {"name": "Pat Doe", "email": "pat@acme.example"}}"#,
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
    // Each refusal also binds an ephemeral port: a regression fails here instead of serving on
    // 8000 and hanging the test.
    refused(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--send-window",
            "Funday 9-5",
        ],
        "send window",
    );
    refused(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--email-actions",
            "high_priority_outreach,sometimes",
        ],
        "--email-actions: expected all or a list of high_priority_outreach, medium_priority_outreach, low_priority_monitoring, got \"sometimes\"",
    );
    refused(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--activation-steps",
            "signed_up,paid",
        ],
        "--activation-steps: must include result_viewed",
    );
    // --help says which leads get an e-mail by default.
    let help = brim(dir.path(), &["serve", "--help"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("By default only the outreach actions: a lead whose action is low_priority_monitoring is watched, not written to"),
        "{help}"
    );
    assert!(
        help.contains("[default: high_priority_outreach,medium_priority_outreach]"),
        "{help}"
    );
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
        r#"{"company_name": "Acme", "funding_stage": "Series A", "tech_stack": ["Zapier", "Salesforce"], "recent_job_posts": ["Head of Operations"], "employee_count": 120, "industry": "SaaS", "contact": {"email": "pat@acme.example"}}"#,
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
    // The default policy: an e-mail for each lead with a contact whose action is outreach;
    // the sample has leads to monitor too, which get none.
    let scorer = brim_core::Scorer::preset("balanced").unwrap();
    let leads: Vec<brim_core::Lead> = std::fs::read_to_string(sample)
        .unwrap()
        .lines()
        .map(|l| brim_core::Lead::from_json(l).unwrap())
        .collect();
    let written = leads
        .iter()
        .filter(|l| l.contact.is_some() && scorer.report(l).action.is_outreach())
        .count();
    let monitored = leads
        .iter()
        .filter(|l| !scorer.report(l).action.is_outreach())
        .count();
    assert!(written > 0 && monitored > 0, "{written} {monitored}");
    wait_for("the sample's e-mails in the outbox", || {
        eml_count(&dir.path().join("outbox")) == written
    });
    let unwritten = http(
        port,
        "GET",
        "/api/analytics/scored-leads-table?action=low_priority_monitoring&status=none",
        "",
    );
    assert!(
        unwritten
            .head
            .to_lowercase()
            .contains(&format!("x-total-count: {monitored}")),
        "every lead to monitor is without an e-mail: {}",
        unwritten.head
    );
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

/// A local OpenAI-compatible server (real HTTP on loopback) answering every chat completion
/// with an e-mail in the variant the prompt asks for; returns its port and a request counter.
fn fake_llm() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut line, mut length, mut path) = (String::new(), 0usize, String::new());
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end().to_ascii_lowercase();
                if path.is_empty() {
                    path = l.split(' ').nth(1).unwrap_or_default().to_string();
                }
                if let Some(n) = l.strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap_or(0);
                }
                if l.is_empty() {
                    break;
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let text = String::from_utf8_lossy(&body);
            let variant = if text.contains("exactly \\\"roi_focused\\\"") {
                "roi_focused"
            } else {
                "problem_focused"
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let content = serde_json::json!({
                "variant_name": variant,
                "subject": "Written by the local model",
                "body": "Hello from the model on loopback.",
            });
            let reply = serde_json::json!({
                "choices": [{"message": {"role": "assistant", "content": content.to_string()}}]
            })
            .to_string();
            let status = if path.ends_with("/chat/completions") {
                "200 OK"
            } else {
                "404 Not Found"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (port, calls)
}

#[test]
fn llm_flags_choose_a_local_openai_compatible_server() {
    let dir = tempfile::tempdir().unwrap();
    let (llm_port, calls) = fake_llm();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{llm_port}/v1");
    let server = serve(
        dir.path(),
        port,
        &[
            "--llm",
            "openai",
            "--llm-url",
            &url,
            "--llm-model",
            "llama3.1",
            "--no-worker",
        ],
    );
    let reply = http(
        port,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme", "funding_stage": "Series A", "tech_stack": ["Zapier", "Salesforce"], "recent_job_posts": ["Head of Operations"], "employee_count": 120, "industry": "SaaS", "contact": {"email": "pat@acme.example"}}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    wait_for("the e-mail written by the model", || {
        http(port, "GET", "/api/emails", "")
            .body
            .contains("Written by the local model")
    });
    assert!(
        http(port, "GET", "/api/emails", "")
            .body
            .contains("\"writer\":\"llm\"")
    );
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let stderr = server.terminate();
    assert!(
        stderr.contains("llama3.1"),
        "the writer is named at start: {stderr}"
    );
}

#[test]
fn llm_flags_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "sk-test").unwrap();
    for (args, expected) in [
        (
            &["serve", "--llm", "gemini"][..],
            "--llm gemini needs an API key",
        ),
        (
            &["serve", "--llm", "openai"][..],
            "--llm openai needs OPENAI_API_KEY",
        ),
        (
            &["serve", "--llm-key-file", "key"][..],
            "--llm-key-file: say whose key",
        ),
        (&["serve", "--llm", "claude"][..], "invalid value 'claude'"),
    ] {
        let out = brim(dir.path(), args)
            .env_remove("BRIM_LLM_URL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("sk-test"), "a key was printed: {stderr}");
    }
}

/// SIGTERM during a long batch job: the job stops between batches (reported as stopped, what it
/// scored is stored) and the server exits promptly instead of finishing the job first.
#[test]
fn sigterm_stops_a_long_batch_job_between_batches() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    for i in 0..300_000 {
        writeln!(
            file,
            r#"{{"company_name": "Bulk {i}", "employee_count": {}, "industry": "SaaS"}}"#,
            i % 900
        )
        .unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let port = common::free_port();
    let server = serve(
        dir.path(),
        port,
        &["--import", big.to_str().unwrap(), "--no-worker"],
    );
    let id = {
        let stderr = server.stderr();
        let at = stderr.find("as job ").expect("the import's job id") + 7;
        stderr[at..].split_whitespace().next().unwrap().to_string()
    };
    wait_for("the job to be under way", || {
        let job = http(port, "GET", &format!("/api/jobs/{id}"), "").body;
        let job: serde_json::Value = serde_json::from_str(&job).unwrap();
        job["scored"].as_u64().unwrap_or(0) > 0
    });
    let started = std::time::Instant::now();
    server.terminate();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopping took {:?}",
        started.elapsed()
    );
    // Restarted on the same database: what was scored is there, not all of it.
    let server = serve(dir.path(), port, &["--no-worker"]);
    let table = http(
        port,
        "GET",
        "/api/analytics/scored-leads-table?per_page=1",
        "",
    );
    let total: u64 = table
        .head
        .lines()
        .find_map(|l| {
            l.to_lowercase()
                .strip_prefix("x-total-count: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    assert!((1..300_000).contains(&total), "{total}");
    server.terminate();
}

/// The feedback loop with the real programs: leads scored by `brim serve`, outcomes reported,
/// `brim train --database-url` on its database, the model uploaded and activated over HTTP,
/// and the next score blends it in; a rollback brings the rules back.
#[test]
fn outcomes_teach_a_model_that_the_server_then_scores_with() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let server = common::serve(dir.path(), port, &["--no-worker"]);
    for i in 0..300 {
        let zapier = i % 2 == 0;
        let lead = serde_json::json!({
            "id": format!("c{i}"), "company_name": format!("Company {i}"),
            "employee_count": 10 + (i * 7) % 300,
            "tech_stack": if zapier { vec!["Zapier"] } else { vec!["AWS"] },
            "attributes": {"visits": i % 13},
        });
        let reply = common::http(port, "POST", "/api/score-company", &lead.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
        let won = (zapier && i % 5 != 1) || i % 11 == 0;
        let outcome = serde_json::json!({"company_id": format!("c{i}"),
            "outcome": if won { "closed_won" } else { "closed_lost" }});
        let reply = common::http(port, "POST", "/api/report-outcome", &outcome.to_string());
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let out = common::brim(
        dir.path(),
        &[
            "train",
            "--database-url",
            "sqlite://brim.db",
            "--min-class",
            "50",
            "--name",
            "from-outcomes",
            "--output",
            "model.json",
        ],
    )
    .stderr(std::process::Stdio::piped())
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let model = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
    let reply = common::http(port, "POST", "/api/learned-models", &model);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let uploaded: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(uploaded["warnings"], serde_json::json!([]));
    let id = uploaded["id"].as_i64().unwrap();
    let path = format!("/api/learned-models/{id}/activate");
    assert_eq!(
        common::http(port, "POST", &path, r#"{"weight": 1}"#).status,
        200
    );
    let score = |company: &str| -> serde_json::Value {
        let lead = serde_json::json!({"id": company, "company_name": company,
            "employee_count": 50, "tech_stack": ["Zapier"], "attributes": {"visits": 3}});
        let reply = common::http(port, "POST", "/api/score-company", &lead.to_string());
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    };
    let blended = score("new-zapier-user");
    assert_eq!(blended["learned"]["model"], "from-outcomes", "{blended}");
    let p = blended["learned"]["probability"].as_f64().unwrap();
    assert!(
        p > 0.6,
        "a Zapier user converts in these outcomes: {blended}"
    );
    assert_eq!(
        blended["total_score"],
        serde_json::json!((100.0 * p).round() as u8)
    );
    assert_eq!(
        common::http(port, "POST", "/api/learned-models/rollback", "").status,
        200
    );
    assert!(score("after-rollback").get("learned").is_none());
    drop(server);
}
