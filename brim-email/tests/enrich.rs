//! The HTTP enrichment adapter against a local HTTP server (wiremock) answering in each shipped
//! provider's format: found, unknown (404), a refused key (401), 429 with Retry-After, 5xx,
//! timeouts, malformed and oversized answers, hostile strings, Clearbit's 202, the circuit and
//! the request rate. The real reqwest client throughout.

use std::time::{Duration, Instant};

use brim_core::Lead;
use brim_core::enrich::{MergePolicy, ProviderConfig, merge, preset};
use brim_email::{EnrichError, Enricher, HttpEnricher, Lookup};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "secret-key-123";

fn provider(name: &str, server: &MockServer) -> ProviderConfig {
    let mut config = preset(name).unwrap();
    let at = config
        .url
        .find("/api/")
        .or_else(|| config.url.find("/v2/"))
        .unwrap();
    config.url = format!("{}{}", server.uri(), &config.url[at..]);
    config.requests_per_second = 1000.0;
    config
}

fn enricher(config: ProviderConfig) -> HttpEnricher {
    let env = config.key_env.clone().unwrap();
    HttpEnricher::new(config, |name| (name == env).then(|| KEY.to_string()))
        .unwrap()
        .with_base_delay(Duration::from_millis(5))
}

fn lead() -> Lead {
    Lead::from_json(r#"{"company_name": "Acme", "domain": "acme.com", "industry": "Logistics"}"#)
        .unwrap()
}

const APOLLO: &str = r#"{"organization": {"id": "org-42", "name": "Acme",
    "estimated_num_employees": 120, "industry": "computer software", "country": "Germany",
    "technology_names": ["Salesforce", "Zapier"], "latest_funding_stage": "series b",
    "annual_revenue": 5000000}}"#;

#[tokio::test]
async fn apollo_answers_fill_the_lead_and_never_overwrite_what_the_user_gave() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/organizations/enrich"))
        .and(query_param("domain", "acme.com"))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(APOLLO))
        .expect(1)
        .mount(&server)
        .await;
    let apollo = enricher(provider("apollo", &server));
    let Lookup::Found(record) = apollo.lookup(&lead(), 77).await.unwrap() else {
        panic!("found expected")
    };
    assert_eq!(record.provider_id.as_deref(), Some("org-42"));
    let mut l = lead();
    let report = merge(&mut l, &record, &MergePolicy::default());
    assert_eq!(l.employee_count, Some(120));
    assert_eq!(l.funding_stage.as_deref(), Some("Series B"));
    assert_eq!(
        l.industry.as_deref(),
        Some("Logistics"),
        "the user's industry stays"
    );
    assert_eq!(report.kept, ["industry"]);
    assert!(
        report
            .filled
            .iter()
            .all(|p| p.fetched_at == 77 && p.provider == "apollo")
    );
    // A lead without a domain is not looked up at all.
    let no_domain = Lead::from_json(r#"{"company_name": "Nameless"}"#).unwrap();
    assert_eq!(
        apollo.lookup(&no_domain, 0).await.unwrap(),
        Lookup::Skipped("no domain to look up".into())
    );
}

#[tokio::test]
async fn unknown_companies_refused_keys_and_pending_lookups_say_so() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "unknown.com"))
        .respond_with(ResponseTemplate::new(404).set_body_string(r#"{"error": "not found"}"#))
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "badkey.com"))
        .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"error": "invalid api key"}"#))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "queued.com"))
        .respond_with(ResponseTemplate::new(202).set_body_string("{}"))
        .mount(&server)
        .await;
    let with = |domain: &str| {
        Lead::from_json(&format!(r#"{{"company_name": "X", "domain": "{domain}"}}"#)).unwrap()
    };
    let apollo = enricher(provider("apollo", &server));
    assert_eq!(
        apollo.lookup(&with("unknown.com"), 0).await.unwrap(),
        Lookup::NotFound
    );
    let e = apollo.lookup(&with("badkey.com"), 0).await.unwrap_err();
    assert!(
        matches!(e, EnrichError::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("apollo") && text.contains("APOLLO_API_KEY"),
        "{text}"
    );
    assert!(!text.contains(KEY) && !format!("{apollo:?}").contains(KEY));
    let clearbit = enricher(provider("clearbit", &server));
    assert_eq!(
        clearbit.lookup(&with("queued.com"), 0).await.unwrap(),
        Lookup::Pending
    );
    // No key at all: refused at construction, naming the setting.
    let e = HttpEnricher::new(provider("apollo", &server), |_| None).unwrap_err();
    assert!(e.to_string().contains("APOLLO_API_KEY"), "{e}");
}

#[tokio::test]
async fn a_429_waits_as_asked_then_succeeds_and_a_long_wait_is_refused() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "acme.com"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "acme.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string(APOLLO))
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "slow.com"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let apollo = enricher(provider("apollo", &server));
    let started = Instant::now();
    assert!(matches!(
        apollo.lookup(&lead(), 0).await.unwrap(),
        Lookup::Found(_)
    ));
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was honoured"
    );
    let slow = Lead::from_json(r#"{"company_name": "S", "domain": "slow.com"}"#).unwrap();
    let e = apollo.lookup(&slow, 0).await.unwrap_err();
    assert!(
        matches!(e, EnrichError::TooLongToWait { seconds: 3600, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "down.com"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>maintenance</html>"))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "hangs.com"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut config = provider("apollo", &server);
    config.timeout_ms = 200;
    config.retries = 3;
    let apollo = enricher(config);
    let down = Lead::from_json(r#"{"company_name": "D", "domain": "down.com"}"#).unwrap();
    let e = apollo.lookup(&down, 0).await.unwrap_err();
    assert!(
        matches!(
            e,
            EnrichError::Status {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{e:?}"
    );
    let hangs = Lead::from_json(r#"{"company_name": "H", "domain": "hangs.com"}"#).unwrap();
    let e = apollo.lookup(&hangs, 0).await.unwrap_err();
    assert!(
        matches!(&e, EnrichError::Transport { what, attempts: 4, .. } if what == "timeout"),
        "{e:?}"
    );
}

#[tokio::test]
async fn malformed_oversized_and_hostile_answers_never_reach_the_lead() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "broken.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "huge.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(3 * 1024 * 1024)))
        .mount(&server)
        .await;
    let hostile = serde_json::json!({"organization": {
        "id": "<script>alert(1)</script>",
        "industry": "x".repeat(1024 * 1024),
        "country": "<img src=x onerror=alert(1)>",
        "technology_names": vec!["y".repeat(400); 3],
        "estimated_num_employees": -5,
    }});
    Mock::given(query_param("domain", "hostile.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string(hostile.to_string()))
        .mount(&server)
        .await;
    let apollo = enricher(provider("apollo", &server));
    let with = |domain: &str| {
        Lead::from_json(&format!(r#"{{"company_name": "X", "domain": "{domain}"}}"#)).unwrap()
    };
    let e = apollo.lookup(&with("broken.com"), 0).await.unwrap_err();
    assert!(
        matches!(&e, EnrichError::Malformed(m) if m.contains("not JSON")),
        "{e:?}"
    );
    let e = apollo.lookup(&with("huge.com"), 0).await.unwrap_err();
    assert!(
        matches!(&e, EnrichError::Malformed(m) if m.contains("over 2 MB")),
        "{e:?}"
    );
    let Lookup::Found(record) = apollo.lookup(&with("hostile.com"), 0).await.unwrap() else {
        panic!()
    };
    let mut l = with("hostile.com");
    let report = merge(&mut l, &record, &MergePolicy::default());
    assert_eq!(l.industry, None);
    assert!(l.tech_stack.is_empty());
    assert_eq!(l.employee_count, None);
    // Markup is kept as text (the pages show text, never markup); within the limits.
    assert_eq!(l.country.as_deref(), Some("<img src=x onerror=alert(1)>"));
    let refused: Vec<&str> = report.refused.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(refused, ["employee_count", "industry", "tech_stack"]);
    l.validate().unwrap();
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_paused() {
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "down.com"))
        .respond_with(ResponseTemplate::new(500))
        .expect(5)
        .mount(&server)
        .await;
    let mut config = provider("apollo", &server);
    config.retries = 0;
    let apollo = enricher(config);
    let down = Lead::from_json(r#"{"company_name": "D", "domain": "down.com"}"#).unwrap();
    for _ in 0..5 {
        assert!(matches!(
            apollo.lookup(&down, 0).await.unwrap_err(),
            EnrichError::Status { status: 500, .. }
        ));
    }
    // The sixth is not sent: the circuit is open.
    let e = apollo.lookup(&down, 0).await.unwrap_err();
    assert!(
        matches!(e, EnrichError::CircuitOpen { failures: 5, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("not calling it"), "{e}");
}

#[tokio::test]
async fn requests_keep_to_the_configured_rate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let mut config = provider("apollo", &server);
    config.requests_per_second = 20.0;
    let apollo = std::sync::Arc::new(enricher(config));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..11 {
        let apollo = apollo.clone();
        tasks.push(tokio::spawn(async move {
            let l = Lead::from_json(&format!(r#"{{"company_name": "C", "domain": "c{i}.com"}}"#))
                .unwrap();
            apollo.lookup(&l, 0).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Lookup::NotFound);
    }
    // Eleven requests at 20 per second: at least ten intervals of 50 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn answers_are_cached_for_the_providers_hours_and_unknown_companies_too() {
    use brim_email::CachedEnricher;
    let server = MockServer::start().await;
    Mock::given(query_param("domain", "acme.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string(APOLLO))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(query_param("domain", "Unknown.com"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let store = std::sync::Arc::new(
        brim_store::SqliteStore::connect("sqlite::memory:")
            .await
            .unwrap(),
    );
    let cached = CachedEnricher::new(enricher(provider("apollo", &server)), store);
    let day = 24 * 3_600_000;
    let first = cached.lookup(&lead(), 1_000).await.unwrap();
    let again = cached.lookup(&lead(), 1_000 + day - 1).await.unwrap();
    assert_eq!(again, first, "the record as fetched, with its fetched_at");
    assert_eq!(cached.hits(), 1);
    // A day later it is looked up again.
    let Lookup::Found(fresh) = cached.lookup(&lead(), 1_000 + day).await.unwrap() else {
        panic!()
    };
    assert_eq!(fresh.fetched_at, 1_000 + day);
    let unknown = Lead::from_json(r#"{"company_name": "U", "domain": "Unknown.com"}"#).unwrap();
    assert_eq!(cached.lookup(&unknown, 0).await.unwrap(), Lookup::NotFound);
    // The cache keys the domain without case.
    let lower = Lead::from_json(r#"{"company_name": "U", "domain": "unknown.com"}"#).unwrap();
    assert_eq!(cached.lookup(&lower, 10).await.unwrap(), Lookup::NotFound);
    assert_eq!(cached.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_keep_one_rate_together() {
    use brim_email::SharedGate;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/brim.db", dir.path().display());
    let mut enrichers = Vec::new();
    for _ in 0..2 {
        // Each its own store on the same file, as two processes would have.
        let store = std::sync::Arc::new(brim_store::SqliteStore::connect(&url).await.unwrap());
        let mut config = provider("apollo", &server);
        config.requests_per_second = 20.0;
        enrichers.push(std::sync::Arc::new(
            enricher(config).with_gate(std::sync::Arc::new(SharedGate::new(store))),
        ));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let e = enrichers[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let l = Lead::from_json(&format!(r#"{{"company_name": "C", "domain": "c{i}.com"}}"#))
                .unwrap();
            e.lookup(&l, 0).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Lookup::NotFound);
    }
    // Twelve requests at 20 per second between them: at least eleven intervals of 50 ms (each
    // alone at 20 per second would take half that).
    assert!(
        started.elapsed() >= Duration::from_millis(530),
        "{:?}",
        started.elapsed()
    );
}
