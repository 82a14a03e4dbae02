//! Generating 10,000 e-mails against a local LLM server that answers in 200 ms:
//! `cargo bench -p brim-benches --bench generate`.
//!
//! The server is a real HTTP/1.1 server on loopback (benches/lib.rs) playing an OpenAI-compatible
//! endpoint; the pipeline scores, chooses variants, writes through the real HTTP client and
//! enqueues into a SQLite file. Reports the wall time against the ideal
//! `leads / in_flight × 200 ms`, and the process's resident memory as the run progresses.
//! `BRIM_BENCH_LEADS` and `BRIM_BENCH_IN_FLIGHT` change the size (defaults 10,000 and 64).

use std::sync::Arc;
use std::time::{Duration, Instant};

use brim_benches::{rss_kib, slow_json_server};
use brim_core::{Lead, Scorer};
use brim_email::{
    Author, Clock, GenerateConfig, Generator, LlmClient, LlmConfig, Sender, SystemClock,
    TemplateWriter,
};
use brim_store::{EmailQueue, SqliteStore};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn lead(i: usize) -> Lead {
    Lead::from_json(&format!(
        r#"{{"company_name": "Company {i}", "employee_count": {}, "industry": "SaaS",
            "recent_job_posts": ["Head of Operations"], "timezone": "Europe/Berlin",
            "contact": {{"name": "Pat {i}", "email": "pat{i}@c{i}.example"}}}}"#,
        20 + (i * 37) % 400
    ))
    .unwrap()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too: keep that quick.
    let testing =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let leads = if testing {
        200
    } else {
        env_usize("BRIM_BENCH_LEADS", 10_000)
    };
    let in_flight = env_usize("BRIM_BENCH_IN_FLIGHT", 64);
    let latency = Duration::from_millis(200);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let reply = serde_json::json!({"choices": [{"message": {"role": "assistant",
            "content": "{\"variant_name\": \"problem_focused\", \"subject\": \"Fewer manual steps?\", \"body\": \"Hi Pat,\\n\\nA short, specific note.\\n\\nSam\"}"}}]});
        let url = slow_json_server(latency, reply.to_string()).await;
        let mut config = LlmConfig::openai(None);
        config.base_url = url;
        config.max_in_flight = in_flight;
        let llm = LlmClient::new(config).unwrap();
        // BRIM_BENCH_NO_LLM=1: templates only (isolates the pipeline's own cost and memory).
        let use_llm = std::env::var_os("BRIM_BENCH_NO_LLM").is_none();
        let author = Arc::new(Author::new(
            use_llm.then(|| llm.clone()),
            TemplateWriter::new(Sender::default()),
            Sender::default(),
        ));
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::connect(&format!("sqlite://{}/gen.db", dir.path().display()))
                .await
                .unwrap(),
        );
        let generator = Generator::new(
            store.clone(),
            author,
            GenerateConfig {
                concurrency: in_flight,
                chunk: 16 * in_flight,
                actions: None,
                ..GenerateConfig::default()
            },
        );
        let scorer = Scorer::preset("balanced").unwrap();
        let rss_start = rss_kib();
        let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sampler = {
            let samples = samples.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(4)).await;
                    samples.lock().unwrap().push(rss_kib() / 1024);
                }
            })
        };
        let start = Instant::now();
        let report = generator
            .score_and_generate((0..leads).map(lead), &scorer, SystemClock.now_ms())
            .await
            .unwrap();
        let elapsed = start.elapsed();
        sampler.abort();
        let rss_end = rss_kib();
        let series = samples.lock().unwrap().clone();
        let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
        let db_mib: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum::<u64>()
            / (1024 * 1024);
        assert_eq!(report.queued, leads, "{report:?}");
        assert_eq!(report.by_llm, if use_llm { leads } else { 0 }, "{report:?}");
        let counts = store.queue_counts().await.unwrap();
        let ideal = latency.as_secs_f64() * (leads as f64 / in_flight as f64).ceil();
        println!(
            "generate: {leads} e-mails, {in_flight} in flight, LLM latency {latency:?}: {:.2} s (ideal {ideal:.2} s, {:.1}% overhead), {:.0} e-mails/s; HTTP requests {}; open files {fds}; queued {}; RSS {} MiB at start, {} MiB at end; every 4 s: {series:?} MiB; database files {db_mib} MiB (SQLite caches up to 64 MiB of pages per connection)",
            elapsed.as_secs_f64(),
            (elapsed.as_secs_f64() / ideal - 1.0) * 100.0,
            leads as f64 / elapsed.as_secs_f64(),
            llm.requests_made(),
            counts.queued + counts.waiting,
            rss_start / 1024,
            rss_end / 1024,
        );
    });
}
