//! `brim enrich` and `brim score --enrich` against a local HTTP server answering as Apollo does:
//! leads filled in with their sources, the user's values kept, per-row outcomes, bad input
//! lines reported, the cache serving a second run, a refused key stopping the run with a clear
//! message, and the key never printed.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use wiremock::matchers::{header, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "apollo-secret-key-1234";

fn provider_file(dir: &Path, server: &MockServer) -> std::path::PathBuf {
    let text = brim_core::enrich::PRESETS[0]
        .1
        .replace("https://api.apollo.io", &server.uri())
        .replace("requests_per_second = 5", "requests_per_second = 200");
    let path = dir.join("apollo-local.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn brim(dir: &Path, args: &[&str], key: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brim"))
        .args(args)
        .current_dir(dir)
        .env("APOLLO_API_KEY", key)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

/// `brim ARGS` in `dir` with `key` as APOLLO_API_KEY, off the async threads.
async fn run<A: AsRef<str>>(dir: &Path, args: &[A], key: &'static str) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        brim(&dir, &args, key)
    })
    .await
    .unwrap()
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_are_enriched_with_their_sources_and_a_second_run_comes_from_the_cache() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "acme.com"))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"organization": {"id": "org-1", "estimated_num_employees": 140,
                "industry": "computer software", "technology_names": ["Zapier", "HubSpot"],
                "latest_funding_stage": "Series A"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "ghost.com"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "down.com"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = provider_file(dir.path(), &server);
    std::fs::write(
        dir.path().join("leads.csv"),
        "company_name,domain,industry,employee_count\n\
         Acme,acme.com,Logistics,\n\
         Ghost,ghost.com,,\n\
         Nodomain,,,\n\
         Bad,x.com,,many\n\
         Down,down.com,,\n",
    )
    .unwrap();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "enrich",
            "leads.csv",
            "--provider",
            config.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = run(dir.path(), &args(&[]), KEY).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 5: employee_count"), "{stderr}");
    assert!(stderr.contains("line 6: apollo: HTTP 500"), "{stderr}");
    assert!(
        stderr.contains("1 found, 1 not found, 0 pending, 1 skipped, 1 failed, 1 bad input"),
        "{stderr}"
    );
    assert!(!stderr.contains(KEY) && !String::from_utf8_lossy(&out.stdout).contains(KEY));
    let rows = lines(&out);
    assert_eq!(rows.len(), 4, "every lead but the bad line, in input order");
    let acme = &rows[0];
    assert_eq!(acme["company_name"], "Acme");
    assert_eq!(acme["industry"], "Logistics", "the user's value wins");
    assert_eq!(acme["employee_count"], 140);
    assert_eq!(acme["funding_stage"], "Series A");
    assert_eq!(acme["sources"]["employee_count"]["provider"], "apollo");
    assert_eq!(acme["sources"]["employee_count"]["id"], "org-1");
    assert!(acme["sources"].get("industry").is_none());
    assert_eq!(acme["enrichment"]["status"], "found");
    assert_eq!(acme["enrichment"]["kept"], serde_json::json!(["industry"]));
    assert_eq!(rows[1]["enrichment"]["status"], "not_found");
    assert_eq!(rows[2]["enrichment"]["status"], "skipped");
    assert_eq!(rows[2]["enrichment"]["reason"], "no domain to look up");
    assert_eq!(rows[3]["enrichment"]["status"], "failed");
    // The output is input for brim score: the reasons say what came from Apollo.
    std::fs::write(dir.path().join("enriched.jsonl"), &out.stdout).unwrap();
    let scored = run(dir.path(), &["score", "enriched.jsonl"], KEY).await;
    let reports = lines(&scored);
    let reasons = reports[0]["reasoning"]["positive"].to_string();
    assert!(reasons.contains("(from apollo)"), "{reasons}");

    // Again, the same day: Acme and Ghost from the cache (the mocks expect one call each).
    let again = run(dir.path(), &args(&["--quiet"]), KEY).await;
    assert_eq!(lines(&again)[0]["enrichment"]["cached"], true);
    assert_eq!(lines(&again)[0]["employee_count"], 140);

    // CSV, which brim score reads back.
    let out = run(
        dir.path(),
        &args(&["--quiet", "--format", "csv", "-o", "enriched.csv"]),
        KEY,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let csv = std::fs::read_to_string(dir.path().join("enriched.csv")).unwrap();
    let mut rows = csv.lines();
    let header = rows.next().unwrap();
    assert!(
        header.starts_with("id,company_name,employee_count,industry,funding_stage,tech_stack,"),
        "{header}"
    );
    assert!(
        header.ends_with(",enrichment_status,enrichment_reason,sources"),
        "{header}"
    );
    let acme = rows.next().unwrap();
    assert!(
        acme.contains(",140,Logistics,Series A,Zapier;HubSpot,"),
        "{acme}"
    );
    assert!(acme.contains(",found,,"), "{acme}");
    assert!(
        acme.contains("employee_count=apollo;funding_stage=apollo;tech_stack=apollo"),
        "{acme}"
    );
    let rescored = run(dir.path(), &["score", "enriched.csv", "--quiet"], KEY).await;
    assert_eq!(
        lines(&rescored).len(),
        4,
        "{}",
        String::from_utf8_lossy(&rescored.stderr)
    );

    // brim score --enrich does both in one go.
    let score_args = [
        "score",
        "leads.csv",
        "--enrich",
        config.to_str().unwrap(),
        "--quiet",
    ];
    let scored = run(dir.path(), &score_args, KEY).await;
    let reports = lines(&scored);
    assert_eq!(reports.len(), 4);
    assert!(
        reports[0]["reasoning"]
            .to_string()
            .contains("(from apollo)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_stops_the_run_naming_the_provider_and_the_setting() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "acme.com"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(r#"{"error": "Invalid access credentials."}"#),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = provider_file(dir.path(), &server);
    std::fs::write(
        dir.path().join("leads.csv"),
        "company_name,domain\nAcme,acme.com\nBeta,acme.com\n",
    )
    .unwrap();
    let args = [
        "enrich",
        "leads.csv",
        "--no-cache",
        "--provider",
        config.to_str().unwrap(),
    ];
    let out = run(dir.path(), &args, "wrong-key").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("apollo: the API key was refused (HTTP 401); check APOLLO_API_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-key"));
    // No key at all: refused before any request.
    let out = run(dir.path(), &args, "").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("APOLLO_API_KEY"), "{stderr}");
    // brim serve refuses an overwrite of a field no provider may set, at start.
    let port = common::free_port().to_string();
    let out = run(
        dir.path(),
        &[
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--enrich",
            config.to_str().unwrap(),
            "--enrich-overwrite",
            "company_name",
        ],
        KEY,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr
                .contains("--enrich-overwrite: \"company_name\" is not a field a provider may set"),
        "{stderr}"
    );
    // An unknown provider names the shipped ones.
    let out = run(
        dir.path(),
        &["enrich", "leads.csv", "--provider", "zoominfo"],
        KEY,
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("apollo, clearbit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brim_serve_enriches_on_request_within_a_budget_on_demand_and_in_batch_jobs() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "acme.com"))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"organization": {"id": "org-1", "estimated_num_employees": 140,
                "industry": "computer software", "technology_names": ["Zapier"]}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "slow.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"organization": {"estimated_num_employees": 9}}"#)
                .set_delay(std::time::Duration::from_millis(1500)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "beta.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                r#"{"organization": {"id": "org-2", "estimated_num_employees": 75}}"#,
            ),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), KEY).unwrap();
    let config = provider_file(dir.path(), &server);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "env = \"APOLLO_API_KEY\"",
        &format!("file = {:?}", dir.path().join("key")),
    );
    std::fs::write(&config, text).unwrap();
    let port = common::free_port();
    let dir_path = dir.path().to_path_buf();
    let config_arg = config.to_str().unwrap().to_string();
    let serve = tokio::task::spawn_blocking(move || {
        common::serve(&dir_path, port, &["--no-worker", "--enrich", &config_arg])
    })
    .await
    .unwrap();
    let http = move |method: &'static str, path: String, body: String| {
        tokio::task::spawn_blocking(move || common::http(port, method, &path, &body))
    };
    let settings = http("GET", "/api/settings".into(), String::new())
        .await
        .unwrap();
    assert!(
        settings.body.contains(r#""provider":"apollo""#),
        "{}",
        settings.body
    );

    // Within the budget: filled in, scored on it, and the answer says so.
    let acme =
        r#"{"id": "acme", "company_name": "Acme", "domain": "acme.com", "industry": "Logistics"}"#;
    let reply = http("POST", "/api/score-company?enrich=true".into(), acme.into())
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let scored: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(scored["enrichment"]["status"], "found");
    assert_eq!(
        scored["enrichment"]["kept"],
        serde_json::json!(["industry"])
    );
    assert!(
        scored["reasoning"].to_string().contains("(from apollo)"),
        "{scored}"
    );
    let page = http("GET", "/api/leads/acme".into(), String::new())
        .await
        .unwrap();
    let page: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(page["lead"]["sources"]["employee_count"]["id"], "org-1");
    assert_eq!(page["lead"]["industry"], "Logistics");
    assert!(page["events"].to_string().contains("lead_enriched"));

    // Past the budget: scored with what it had, and the reason given.
    let slow = r#"{"id": "slow", "company_name": "Slow", "domain": "slow.com"}"#;
    let reply = http(
        "POST",
        "/api/score-company?enrich=true&enrich_budget_ms=200".into(),
        slow.into(),
    )
    .await
    .unwrap();
    let scored: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(scored["enrichment"]["status"], "timeout", "{scored}");
    assert_eq!(scored["enrichment"]["reason"], "no answer within 200 ms");
    // The answer still reaches the cache: enriching the lead later needs no second call.
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let reply = http("POST", "/api/leads/slow/enrich".into(), String::new())
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let done: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(done["enrichment"]["status"], "found");
    assert_eq!(
        done["enrichment"]["filled"],
        serde_json::json!(["employee_count"])
    );
    let page = http("GET", "/api/leads/slow".into(), String::new())
        .await
        .unwrap();
    assert!(page.body.contains(r#""employee_count":9"#), "{}", page.body);

    // Bad parameters are named.
    let reply = http(
        "POST",
        "/api/score-company?enrich=maybe".into(),
        acme.into(),
    )
    .await
    .unwrap();
    assert!(
        reply.status == 422 && reply.body.contains(r#""field":"enrich""#),
        "{}",
        reply.body
    );
    let reply = http(
        "POST",
        "/api/score-company?enrich=true&enrich_budget_ms=0".into(),
        acme.into(),
    )
    .await
    .unwrap();
    assert!(reply.body.contains("enrich_budget_ms"), "{}", reply.body);
    let reply = http("POST", "/api/leads/nobody/enrich".into(), String::new())
        .await
        .unwrap();
    assert_eq!(reply.status, 404);

    // A batch job with enrich=true.
    let batch = "{\"id\": \"beta\", \"company_name\": \"Beta\", \"domain\": \"beta.com\"}\n{\"company_name\": \"NoDomain\"}\n";
    let reply = http(
        "POST",
        "/api/leads/batch-score?enrich=true&format=jsonl".into(),
        batch.into(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let status_url = job["status_url"].as_str().unwrap().to_string();
    let mut done = false;
    for _ in 0..100 {
        let s = http("GET", status_url.clone(), String::new())
            .await
            .unwrap();
        if s.body.contains(r#""status":"done""#) {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done, "the job finished");
    let page = http("GET", "/api/leads/beta".into(), String::new())
        .await
        .unwrap();
    assert!(
        page.body.contains(r#""employee_count":75"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("lead_enriched"));
    drop(serve);
}

/// A provider that answers 404 to everything and records when each request came.
async fn recording_provider() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        log.lock().unwrap().push(std::time::Instant::now());
                        let _ = socket
                            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        head.clear();
                    }
                }
            });
        }
    });
    (url, seen)
}

/// Two `brim enrich` processes on one database keep the provider's rate together.
async fn two_processes_share_the_rate(database_url: &str) {
    let (url, seen) = recording_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rated.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"rated\"\n[request]\nurl = \"{url}/lookup?d={{domain}}\"\n[limits]\nrequests_per_second = 20\ncache_hours = 0\n[fields]\nindustry = \"/industry\"\n"
        ),
    )
    .unwrap();
    for half in ["a", "b"] {
        let csv: String = std::iter::once("company_name,domain\n".to_string())
            .chain((0..15).map(|i| format!("C{half}{i},{half}{i}.example\n")))
            .collect();
        std::fs::write(dir.path().join(format!("{half}.csv")), csv).unwrap();
    }
    // The database's tables first (two first starts would both migrate it).
    std::fs::write(dir.path().join("none.csv"), "company_name,domain\n").unwrap();
    let args = [
        "enrich",
        "none.csv",
        "--provider",
        config.to_str().unwrap(),
        "--database-url",
        database_url,
        "--quiet",
    ];
    let first = run(dir.path(), &args, KEY).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let started = std::time::Instant::now();
    let dir_path = dir.path();
    let runs: Vec<_> = ["a", "b"]
        .iter()
        .map(|half| {
            let args = [
                "enrich".to_string(),
                format!("{half}.csv"),
                "--provider".into(),
                config.to_str().unwrap().into(),
                "--database-url".into(),
                database_url.into(),
                "--quiet".into(),
            ];
            async move { run(dir_path, &args, KEY).await }
        })
        .collect();
    for r in futures_util::future::join_all(runs).await {
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert_eq!(lines(&r).len(), 15);
    }
    let mut times = seen.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 30);
    // 30 requests at 20 per second between the two: at least 29 intervals of 50 ms; in any
    // half second, at most 11 (each alone would have sent 20).
    assert!(started.elapsed() >= std::time::Duration::from_millis(1400));
    for (i, t) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < std::time::Duration::from_millis(500))
            .count();
        assert!(within <= 11, "{within} requests within 500 ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brim_processes_on_sqlite_share_a_providers_rate() {
    let dir = tempfile::tempdir().unwrap();
    two_processes_share_the_rate(&format!("sqlite://{}/shared.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brim_processes_on_postgres_share_a_providers_rate() {
    let Some((url, schema)) = common::postgres_schema("brim_enrich_rate") else {
        return;
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    two_processes_share_the_rate(&format!("{url}{separator}options=-csearch_path%3D{schema}"))
        .await;
    let _ = common::psql(&url, &format!("DROP SCHEMA {schema} CASCADE"));
}
