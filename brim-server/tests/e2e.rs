//! End to end over real sockets: `brim serve` on PostgreSQL (a schema of this test's own) with
//! a real SMTP server on loopback (aiosmtpd) and tracking on: score → e-mail generated → sent →
//! the recipient opens it and clicks → analytics show it. Under `CI=true` an unreachable
//! PostgreSQL fails the test; elsewhere it is skipped with a message.

use std::io::{BufRead, Read, Write};
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

fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).to_string();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_string(), body.to_string())
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-qtAc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// Kills the child when the test ends, passed or not.
struct Killed(Option<std::process::Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn postgres_smtp_tracking_and_analytics_end_to_end() {
    let url = std::env::var("BRIM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("brim_e2e_{}", std::process::id());
    if let Err(e) = psql(
        &url,
        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
    ) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("PostgreSQL at {url} is required under CI=true: {e}");
        }
        eprintln!("SKIPPING: PostgreSQL at {url} unreachable: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The real SMTP server from brim-email's tests.
    let smtp_port = free_port();
    let mail_dir = dir.path().join("mail");
    std::fs::create_dir(&mail_dir).unwrap();
    let smtp = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../brim-email/tests/smtp_server.py"
        ))
        .arg(smtp_port.to_string())
        .arg(&mail_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 for the SMTP server");
    let mut smtp = Killed(Some(smtp));
    let mut line = String::new();
    std::io::BufReader::new(smtp.0.as_mut().unwrap().stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "READY",
        "aiosmtpd must be installed (scripts/test installs it)"
    );

    let port = free_port();
    let separator = if url.contains('?') { '&' } else { '?' };
    let database = format!("{url}{separator}options=-csearch_path%3D{schema}");
    let server = Command::new(env!("CARGO_BIN_EXE_brim"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &database,
            "--smtp-url",
            &format!("smtp://127.0.0.1:{smtp_port}"),
            "--send-window",
            "always",
            "--worker-interval",
            "1",
            "--public-url",
            &format!("http://127.0.0.1:{port}"),
            "--tracking",
            "--cta-url",
            "https://cal.example/sam?week=48&slot=1",
        ])
        .current_dir(dir.path())
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("BRIM_LLM_URL")
        .env_remove("BRIM_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Killed(Some(server));
    wait_for("the server", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let (status, _, body) = http(
        port,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme Ops", "employee_count": 140, "industry": "SaaS", "tech_stack": ["Zapier"],
            "recent_job_posts": ["Head of Operations"], "contact": {"name": "Pat Doe", "email": "pat@acme.example"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the message at the SMTP server", || {
        std::fs::read_dir(&mail_dir)
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "json"))
    });
    let summary_path = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary_path).unwrap()).unwrap();
    assert_eq!(summary["rcpt_tos"], serde_json::json!(["pat@acme.example"]));
    let html = summary["parts"][1]["content"].as_str().unwrap();
    // The recipient's mail client loads the pixel and the recipient clicks the unsubscribe
    // link's neighbour: every link in the HTML is tracked.
    let base = format!("http://127.0.0.1:{port}");
    let open = html.split(&format!("{base}/t/open/")).nth(1).unwrap();
    let open = &open[..open.find('"').unwrap()];
    let (status, head, _) = http(port, "GET", &format!("/t/open/{open}"), "");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: image/gif"));
    let click = html.split(&format!("{base}/t/click/")).nth(1).unwrap();
    let click = &click[..click.find('"').unwrap()];
    let (status, head, _) = http(port, "GET", &format!("/t/click/{click}"), "");
    assert_eq!(status, 302);
    assert!(
        head.to_lowercase()
            .contains("location: https://cal.example/sam?week=48&slot=1"),
        "{head}"
    );

    wait_for("analytics to show the open and the click", || {
        let (_, _, body) = http(port, "GET", "/api/analytics/email-performance", "");
        let rows: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        rows.as_array().is_some_and(|r| {
            r.iter()
                .any(|v| v["sent"] == 1 && v["opened"] == 1 && v["clicked"] == 1)
        })
    });
    let (_, _, table) = http(port, "GET", "/api/analytics/scored-leads-table", "");
    assert!(table.contains("\"status\":\"Sent\""), "{table}");
    let (_, _, kpi) = http(port, "GET", "/api/analytics/kpi/email-engagement", "");
    assert!(kpi.contains("\"metric_name\""), "{kpi}");

    let mut child = server.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{stderr}");
    drop(smtp);
    psql(&url, &format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
