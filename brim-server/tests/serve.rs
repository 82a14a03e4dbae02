//! `brim serve` over a real socket on SQLite: a scored lead's e-mail is written, sent to the
//! outbox, and shows as sent in the table; SIGTERM stops it cleanly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_scores_writes_sends_to_the_outbox_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--send-window",
            "always",
            "--worker-interval",
            "1",
        ])
        .current_dir(dir.path())
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("BRIM_LLM_URL")
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the server to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let (status, body) = http(
        port,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme", "employee_count": 120, "industry": "SaaS", "contact": {"name": "Pat Doe", "email": "pat@acme.example"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let outbox = dir.path().join("outbox");
    wait_for("the e-mail in the outbox", || {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "eml")
                })
                .count()
                    == 1
            })
            .unwrap_or(false)
    });
    wait_for("the table to show it sent", || {
        http(port, "GET", "/api/analytics/scored-leads-table", "")
            .1
            .contains("\"status\":\"Sent\"")
    });
    assert!(dir.path().join("brim.db").exists());
    assert!(dir.path().join("brim.secret").exists());
    // SIGTERM: finishes and exits 0.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "brim serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("brim: stopped"), "{stderr}");
}

#[test]
fn serve_refuses_a_public_address_and_a_bad_database_url() {
    let out = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env_remove("BRIM_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an API key"));
    let out = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected sqlite://FILE or postgres://"));
    let out = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args(["serve", "--send-window", "Funday 9-5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("send window"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sigterm_and_wait(mut child: std::process::Child) -> String {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");
    stderr
}

#[test]
fn a_separate_worker_sends_what_a_server_without_one_queued() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args([
            "serve",
            "--no-worker",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--send-window",
            "always",
        ])
        .current_dir(dir.path())
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("BRIM_LLM_URL")
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the server to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let (status, _) = http(
        port,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme", "contact": {"email": "pat@acme.example"}}"#,
    );
    assert_eq!(status, 200);
    wait_for("the e-mail to be queued", || {
        http(port, "GET", "/api/emails", "")
            .1
            .contains("pat@acme.example")
    });
    std::thread::sleep(Duration::from_millis(300));
    let outbox = dir.path().join("outbox");
    assert!(
        !outbox.exists() || std::fs::read_dir(&outbox).unwrap().count() <= 1,
        "no worker, nothing sent"
    );
    let worker = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args([
            "worker",
            "--send-window",
            "always",
            "--worker-interval",
            "1",
        ])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the worker to send it", || {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "eml")
                })
                .count()
                    == 1
            })
            .unwrap_or(false)
    });
    assert!(sigterm_and_wait(worker).contains("brim: stopped"));
    assert!(sigterm_and_wait(server).contains("brim: stopped"));
}
