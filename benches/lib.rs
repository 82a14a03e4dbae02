//! Helpers shared by Brim's benchmarks.

use brim_store::PgStore;

/// A PostgreSQL store in a schema of its own (`brim_bench`, dropped before and after), so a
/// benchmark leaves the database as it found it.
pub struct PgBench {
    /// The store, its tables in `brim_bench`.
    pub store: PgStore,
    admin: sqlx::PgPool,
}

const DROP_SCHEMA: &str = "DROP SCHEMA IF EXISTS brim_bench CASCADE";

/// The PostgreSQL URL benchmarks use: `BRIM_BENCH_DATABASE_URL`, else the local `test`
/// database.
pub fn pg_url() -> String {
    std::env::var("BRIM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Connects to [`pg_url`] in a fresh `brim_bench` schema.
pub async fn pg_bench_store() -> Result<PgBench, String> {
    let url = pg_url();
    let fail = |e: &dyn std::fmt::Display| format!("{url}: {e}");
    let base: sqlx::postgres::PgConnectOptions = url.parse().map_err(|e| fail(&e))?;
    let admin = sqlx::PgPool::connect_with(base.clone())
        .await
        .map_err(|e| fail(&e))?;
    sqlx::query(DROP_SCHEMA)
        .execute(&admin)
        .await
        .map_err(|e| fail(&e))?;
    sqlx::query("CREATE SCHEMA brim_bench")
        .execute(&admin)
        .await
        .map_err(|e| fail(&e))?;
    let store = PgStore::connect_with(base.options([("search_path", "brim_bench")]))
        .await
        .map_err(|e| fail(&e))?;
    Ok(PgBench { store, admin })
}

impl PgBench {
    /// Drops the benchmark's schema.
    pub async fn drop_schema(self) {
        self.store.pool().close().await;
        sqlx::query(DROP_SCHEMA).execute(&self.admin).await.unwrap();
    }
}

/// A minimal SMTP server on loopback that accepts every message and counts them: it speaks
/// the protocol (greeting, EHLO, MAIL, RCPT, DATA with dot-termination, RSET, NOOP, QUIT) and
/// does nothing else, so a benchmark measures the sender, not the receiver. Returns the port
/// and the count of accepted messages.
pub async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let accepted = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let accepted = accepted.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read);
                let mut line = Vec::new();
                if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                    return;
                }
                loop {
                    line.clear();
                    match lines.read_until(b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let verb = line
                        .get(..4)
                        .map(|v| v.to_ascii_uppercase())
                        .unwrap_or_default();
                    let reply: &[u8] = match &verb[..] {
                        b"EHLO" => {
                            b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                        }
                        b"DATA" => {
                            if write
                                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                                .await
                                .is_err()
                            {
                                return;
                            }
                            loop {
                                line.clear();
                                match lines.read_until(b'\n', &mut line).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(_) if line == b".\r\n" => break,
                                    Ok(_) => {}
                                }
                            }
                            accepted.fetch_add(1, Ordering::Relaxed);
                            b"250 queued\r\n"
                        }
                        b"QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 OK\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, count)
}

/// This process's resident memory, in KiB (Linux; 0 elsewhere).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A minimal HTTP/1.1 server on loopback playing an LLM: every request (keep-alive, with a
/// `Content-Length` body) is answered after `latency` with `body` as JSON. It keeps nothing
/// per request (wiremock keeps every matched request, which would grow the process during a
/// memory measurement). Returns the base URL.
pub async fn slow_json_server(latency: std::time::Duration, body: String) -> String {
    use std::sync::Arc;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response: Arc<[u8]> = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
    .into();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut reader = BufReader::new(read);
                let mut line = String::new();
                let mut body = Vec::new();
                loop {
                    // Headers.
                    let mut length = 0usize;
                    loop {
                        line.clear();
                        match reader.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    body.resize(length, 0);
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(latency).await;
                    if write.write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}
