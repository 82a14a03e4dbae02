//! Shared helpers for brim-email's integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use brim_core::Lead;
use brim_email::{
    Author, Clock, Composer, GenerateConfig, Generator, MessageConfig, Sender, Signer,
    TemplateWriter,
};
use brim_store::SqliteStore;

/// A clock the test moves by hand.
#[derive(Debug, Default)]
pub struct ManualClock(pub AtomicI64);

impl ManualClock {
    pub fn at(ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(ms)))
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Tuesday 2026-11-24 10:00 UTC (inside Mon–Fri 09:00–17:00 for UTC leads).
pub const TUESDAY_10_UTC: i64 = 1_795_514_400_000;

pub async fn memory_store() -> Arc<SqliteStore> {
    Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap())
}

pub fn composer() -> Arc<Composer> {
    Arc::new(Composer::new(
        MessageConfig::new("Sam at Brim <sam@brim.example>", "https://brim.example").unwrap(),
        Signer::new("test secret, 16+ bytes long").unwrap(),
    ))
}

pub fn template_author() -> Arc<Author> {
    Arc::new(Author::new(
        None,
        TemplateWriter::new(Sender::default()),
        Sender::default(),
    ))
}

/// `n` leads in UTC with contacts, scores spread out.
pub fn leads(n: usize) -> Vec<Lead> {
    (0..n)
        .map(|i| {
            Lead::from_json(&format!(
                r#"{{"company_name": "Company {i}", "employee_count": {}, "industry": "SaaS",
                    "tech_stack": {}, "timezone": "UTC",
                    "contact": {{"name": "Pat {i}", "email": "pat{i}@company{i}.example"}}}}"#,
                20 + (i * 37) % 400,
                if i % 3 == 0 { r#"["Zapier"]"# } else { "[]" },
            ))
            .unwrap()
        })
        .collect()
}

pub fn generator(store: Arc<SqliteStore>, author: Arc<Author>) -> Generator<SqliteStore> {
    Generator::new(
        store,
        author,
        GenerateConfig {
            message_domain: "brim.example".into(),
            // Every lead, monitoring ones too: these tests are about writing and sending.
            actions: None,
            ..GenerateConfig::default()
        },
    )
}

/// A real SMTP server (aiosmtpd, from PyPI) on a loopback port, stopped on drop.
pub struct SmtpServer {
    child: std::process::Child,
    pub port: u16,
    pub dir: std::path::PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    /// Starts the server on `port`, saving into `dir`. Fails (never skips) when python3 or
    /// aiosmtpd is missing: scripts/test installs aiosmtpd.
    pub fn start(port: u16, dir: &std::path::Path) -> SmtpServer {
        use std::io::BufRead;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is needed for the SMTP tests");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "READY",
            "the test SMTP server did not start (is aiosmtpd installed? `pip install aiosmtpd`)"
        );
        SmtpServer {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The summaries of the messages received so far, in order.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
