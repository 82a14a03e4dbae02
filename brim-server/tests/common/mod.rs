//! What the socket-level tests share: free ports, a raw HTTP/1.1 client, waiting, and child
//! processes (`brim serve`, `brim worker`, the SMTP server) that are killed when a test ends,
//! passed or not, with their stderr drained so a chatty child never blocks on a full pipe.

#![allow(dead_code)] // Each test file uses a part.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP answer: status, head (status line and headers) and body.
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// One HTTP/1.1 request with a JSON body. A connection closed before any answer is retried
/// (twice, 200 ms apart); a malformed answer fails with the raw bytes.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Reply {
    http_with(
        port,
        method,
        path,
        &[("content-type", "application/json")],
        body,
    )
}

/// [`http`] with headers of the caller's choice.
pub fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut last = String::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let response = String::from_utf8_lossy(&raw).to_string();
        if response.is_empty() {
            last = format!("{method} {path}: the connection closed without an answer");
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let status = response
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{method} {path}: not an HTTP answer: {response:?}"));
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        return Reply {
            status,
            head: head.to_string(),
            body: body.to_string(),
        };
    }
    panic!("{last}");
}

/// Waits up to 30 s for `ok`.
pub fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed on drop, its stderr collected.
pub struct Proc {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `command` with stderr collected (stdout discarded unless the caller set it).
    pub fn spawn(mut command: Command) -> Proc {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Proc {
            child: Some(child),
            stderr,
        }
    }

    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().unwrap()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM, waits up to 30 s for a successful exit, and returns its stderr.
    pub fn terminate(mut self) -> String {
        let mut child = self.child.take().unwrap();
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
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("did not stop on SIGTERM: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Let the reader thread take the last bytes.
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr();
        assert!(status.success(), "{stderr}");
        stderr
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `brim ARGS` in `dir`, with no LLM, API key or database from the environment.
pub fn brim(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_brim"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("BRIM_LLM_URL")
        .env_remove("BRIM_API_KEY")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null());
    command
}

/// `brim serve --bind 127.0.0.1:PORT ARGS` in `dir`, once it listens.
pub fn serve(dir: &Path, port: u16, args: &[&str]) -> Proc {
    let bind = format!("127.0.0.1:{port}");
    let mut all = vec!["serve", "--bind", &bind];
    all.extend_from_slice(args);
    let mut proc = Proc::spawn(brim(dir, &all));
    // Ready once it answers its health check (a bare connect could reach another test's
    // server that took the same port first; ours would then exit, which is reported).
    wait_for("the server to answer /healthz", || {
        if let Some(status) = proc.child().try_wait().unwrap() {
            panic!("brim serve exited ({status}): {}", proc.stderr());
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/healthz", "").status == 200
            && proc.child().try_wait().unwrap().is_none()
    });
    proc
}

/// The real SMTP server of brim-email's tests (aiosmtpd) on `port`, saving messages in `dir`.
pub fn smtp_server(port: u16, dir: &Path) -> Proc {
    let mut command = Command::new("python3");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../brim-email/tests/smtp_server.py"
        ))
        .arg(port.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut proc = Proc::spawn(command);
    let mut line = String::new();
    std::io::BufReader::new(proc.child().stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "READY",
        "aiosmtpd must be installed (scripts/test installs it): {}",
        proc.stderr()
    );
    proc
}

/// The PostgreSQL of the tests, or `None` (outside CI) when it does not answer.
pub fn postgres_schema(name: &str) -> Option<(String, String)> {
    let url = std::env::var("BRIM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("{name}_{}", std::process::id());
    if let Err(e) = psql(
        &url,
        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
    ) {
        let shown = redact(&url);
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("PostgreSQL at {shown} is required under CI=true: {e}");
        }
        eprintln!("SKIPPING: PostgreSQL at {shown} unreachable: {e}");
        return None;
    }
    Some((url, schema))
}

/// `url` without a password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        _ => url.to_string(),
    }
}

pub fn psql(url: &str, sql: &str) -> Result<String, String> {
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
