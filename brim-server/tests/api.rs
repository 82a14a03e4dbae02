//! The router without a socket: every endpoint's happy path and bad inputs, JSON errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use brim_email::{Author, Clock, GenerateConfig, Generator, Sender, TemplateWriter};
use brim_server::{App, router, spawn_generation};
use brim_store::{Analytics, EmailQueue, EventStore, EventType, LeadStore, SqliteStore};
use serde_json::{Value, json};
use tower::ServiceExt;

#[path = "common/router.rs"]
mod router;
use router::call;

struct FixedClock(AtomicI64);
impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Tuesday 2026-11-24 10:00 UTC.
const NOW: i64 = 1_795_514_400_000;

/// An author that writes from the templates (no LLM).
fn template_author() -> Arc<Author> {
    Arc::new(Author::new(
        None,
        TemplateWriter::new(Sender::default()),
        Sender::default(),
    ))
}

/// A store in memory and a clock fixed at [`NOW`].
async fn memory_store() -> (Arc<SqliteStore>, Arc<dyn Clock>) {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(AtomicI64::new(NOW)));
    (store, clock)
}

/// Generation for every scored lead, monitoring ones too: these tests are about how e-mails
/// are generated and served, not the policy (the default policy, outreach only, is tested in
/// brim-email's worker tests and by `brim serve` in serve.rs).
fn every_lead() -> GenerateConfig {
    GenerateConfig {
        actions: None,
        ..GenerateConfig::default()
    }
}

/// The test composer: a fixed secret, tracking on or off.
fn composer(tracking: bool) -> Arc<brim_email::Composer> {
    let mut config =
        brim_email::MessageConfig::new("Sam <sam@brim.example>", "http://localhost:8000").unwrap();
    if tracking {
        config = config.tracking("http://localhost:8000").unwrap();
    }
    Arc::new(brim_email::Composer::new(
        config,
        brim_email::Signer::new("test secret of 16+ bytes").unwrap(),
    ))
}

async fn app(
    with_generation: bool,
) -> (
    axum::Router,
    Arc<SqliteStore>,
    Option<tokio::task::JoinHandle<()>>,
) {
    let (store, clock) = memory_store().await;
    let (generation, task) = if with_generation {
        let author = template_author();
        let generator = Generator::new(store.clone(), author, every_lead());
        let (tx, task) = spawn_generation(
            generator,
            clock.clone(),
            16,
            std::time::Duration::from_secs(3600),
            tokio::sync::watch::channel(false).1,
            None,
        );
        (Some(tx), Some(task))
    } else {
        (None, None)
    };
    let composer = composer(true);
    let app = Arc::new(App::new(store.clone(), clock, composer, generation));
    (router(app), store, task)
}

#[tokio::test]
async fn score_company_returns_the_score_and_logs_score_calculated() {
    let (router, store, _) = app(false).await;
    let (status, body) = call(
        &router,
        "POST",
        "/api/score-company?model=balanced",
        r#"{"company_name": "Acme", "employee_count": 120, "industry": "SaaS", "tech_stack": ["Zapier"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for key in [
        "company_id",
        "company_name",
        "fit_score",
        "intent_score",
        "total_score",
        "confidence",
        "action",
        "reasoning",
    ] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    assert_eq!(body["company_id"], "ed099798f237671");
    assert_eq!(
        store
            .count_events(Some(EventType::ScoreCalculated))
            .await
            .unwrap(),
        1
    );
    let events = store.events_for_company("ed099798f237671").await.unwrap();
    assert_eq!(events[0].payload["model_used"], "balanced");
    assert_eq!(events[0].payload["company_name"], "Acme");
    assert_eq!(events[0].payload["score"], body["total_score"]);
    // Another model by name.
    let (status, body) = call(
        &router,
        "POST",
        "/api/score-company?model=aggressive",
        r#"{"company_name": "Acme"}"#,
    )
    .await;
    assert_eq!(
        (status, body["model"].as_str()),
        (StatusCode::OK, Some("aggressive"))
    );
}

#[tokio::test]
async fn bad_leads_get_422_naming_the_field() {
    let (router, store, _) = app(false).await;
    for (body, field) in [
        (r#"{"employee_count": 5}"#, "company_name"),
        (
            r#"{"company_name": "A", "employee_count": "many"}"#,
            "employee_count",
        ),
        (
            r#"{"company_name": "A", "tech_stack": [1]}"#,
            "tech_stack[0]",
        ),
        ("", "body"),
        ("not json", ""),
    ] {
        let (status, json) = call(&router, "POST", "/api/score-company", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {json}");
        assert_eq!(json["error"], "invalid");
        if !field.is_empty() {
            assert_eq!(json["field"], field, "{json}");
        }
        assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (status, json) = call(
        &router,
        "POST",
        "/api/score-company?model=nope",
        r#"{"company_name": "A"}"#,
    )
    .await;
    assert_eq!(
        (status, json["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("model"))
    );
    assert_eq!(
        store.count_events(None).await.unwrap(),
        0,
        "nothing stored for bad input"
    );
}

#[tokio::test]
async fn oversized_unknown_and_wrong_method_are_json_errors() {
    let (router, _, _) = app(false).await;
    let big = format!(r#"{{"company_name": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let (status, json) = call(&router, "POST", "/api/score-company", &big).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let (status, json) = call(&router, "GET", "/api/nothing-here", "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, json) = call(&router, "GET", "/api/score-company", "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (status, json) = call(&router, "GET", "/healthz", "").await;
    assert_eq!((status, json), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn activation_events_are_logged_and_counted() {
    let (router, store, _) = app(false).await;
    let (status, _) = call(&router, "POST", "/api/activation/log-event",
        r#"{"user_id": "visitor-1", "step_name": "result_viewed", "metadata": {"source": "landing"}}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        store
            .count_events(Some(EventType::ActivationStepCompleted))
            .await
            .unwrap(),
        1
    );
    for (body, field) in [
        (r#"{"step_name": "result_viewed"}"#, "user_id"),
        (r#"{"user_id": "u", "step_name": ""}"#, "step_name"),
        (
            r#"{"user_id": "u", "step_name": "x", "metadata": 3}"#,
            "metadata",
        ),
        ("[]", "body"),
    ] {
        let (status, json) = call(&router, "POST", "/api/activation/log-event", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {json}");
        assert_eq!(json["field"], field, "{body}: {json}");
    }
    let (status, json) = call(
        &router,
        "GET",
        "/api/analytics/kpi/new-activations?days=7",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["metric_name"], "new_activations");
    assert_eq!(json["current_value"], 1.0);
}

#[tokio::test]
async fn analytics_endpoints_answer_in_the_original_shapes() {
    let (router, _, _) = app(false).await;
    for body in [
        r#"{"company_name": "Big", "employee_count": 150, "industry": "SaaS", "tech_stack": ["Zapier"], "recent_job_posts": ["Head of Operations"]}"#,
        r#"{"company_name": "Small", "employee_count": 3}"#,
    ] {
        assert_eq!(
            call(&router, "POST", "/api/score-company", body).await.0,
            StatusCode::OK
        );
    }
    for metric in [
        "qualified-leads",
        "email-engagement",
        "new-activations",
        "funnel-conversion-rate",
    ] {
        let (status, json) = call(
            &router,
            "GET",
            &format!("/api/analytics/kpi/{metric}?end_date=2026-11-24&days=30"),
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{metric}: {json}");
        for key in [
            "metric_name",
            "current_value",
            "percentage_change",
            "description",
        ] {
            assert!(json.get(key).is_some(), "{metric}: {key} in {json}");
        }
    }
    let (_, json) = call(&router, "GET", "/api/analytics/kpi/qualified-leads", "").await;
    assert_eq!(json["current_value"], 1.0, "Big scores above 75: {json}");
    let (status, _) = call(&router, "GET", "/api/analytics/kpi/revenue", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (query, field) in [
        ("days=0", "days"),
        ("days=abc", "days"),
        ("end_date=yesterday", "end_date"),
    ] {
        let (status, json) = call(
            &router,
            "GET",
            &format!("/api/analytics/funnel-over-time?{query}"),
            "",
        )
        .await;
        assert_eq!(
            (status, json["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{query}"
        );
    }
    let (status, json) = call(
        &router,
        "GET",
        "/api/analytics/funnel-over-time?end_date=2026-11-24&days=7",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let days = json.as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[6]["date"], "2026-11-24");
    assert_eq!(days[6]["qualified_leads"], 1);

    let (status, json) = call(&router, "GET", "/api/analytics/scored-leads-table", "").await;
    assert_eq!(status, StatusCode::OK);
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["company_name"], "Big", "best first");
    for key in [
        "company_id",
        "company_name",
        "score",
        "status",
        "email_variant_sent",
    ] {
        assert!(rows[0].get(key).is_some(), "{key}");
    }
    assert_eq!(rows[0]["status"], "Pending");
    let (_, json) = call(
        &router,
        "GET",
        "/api/analytics/scored-leads-table?per_page=1&page=2&sort=name&order=asc",
        "",
    )
    .await;
    assert_eq!(json[0]["company_name"], "Small");
    for (query, field) in [
        ("per_page=501", "per_page"),
        ("sort=size", "sort"),
        ("order=up", "order"),
        ("status=lost", "status"),
        ("page=0", "page"),
    ] {
        let (status, json) = call(
            &router,
            "GET",
            &format!("/api/analytics/scored-leads-table?{query}"),
            "",
        )
        .await;
        assert_eq!(
            (status, json["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn scoring_queues_the_leads_email_in_the_background() {
    let (router, store, task) = app(true).await;
    let (status, _) = call(&router, "POST", "/api/score-company",
        r#"{"company_name": "Acme", "employee_count": 120, "contact": {"email": "pat@acme.example"}}"#).await;
    assert_eq!(status, StatusCode::OK);
    // Dropping the router closes the generation queue; the task drains it and ends.
    drop(router);
    task.unwrap().await.unwrap();
    let email = store
        .email_for_company("ed099798f237671")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(email.recipient.as_deref(), Some("pat@acme.example"));
    assert_eq!(
        store
            .count_events(Some(EventType::EmailGenerated))
            .await
            .unwrap(),
        1
    );
}

async fn call_raw(
    router: &axum::Router,
    method: &str,
    uri: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

/// Scores a lead with a contact and waits for its e-mail; returns the router (generation
/// stopped), the store and the e-mail's id.
async fn with_an_email() -> (axum::Router, Arc<SqliteStore>, i64) {
    let (router, store, task) = app(true).await;
    let (status, _) = call(&router, "POST", "/api/score-company",
        r#"{"company_name": "Acme", "employee_count": 120, "industry": "SaaS", "timezone": "Europe/Berlin",
            "contact": {"name": "Pat Doe", "email": "pat@acme.example"}}"#).await;
    assert_eq!(status, StatusCode::OK);
    // A second router over the same store without generation, so the task can finish.
    let composer = composer(true);
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(AtomicI64::new(NOW)));
    let second = router_over(store.clone(), clock, composer);
    drop(router);
    task.unwrap().await.unwrap();
    let id = store
        .email_for_company("ed099798f237671")
        .await
        .unwrap()
        .unwrap()
        .id;
    (second, store, id)
}

fn router_over(
    store: Arc<SqliteStore>,
    clock: Arc<dyn Clock>,
    composer: Arc<brim_email::Composer>,
) -> axum::Router {
    router(Arc::new(App::new(store, clock, composer, None)))
}

#[tokio::test]
async fn emails_can_be_listed_previewed_cancelled_and_requeued() {
    let (router, _store, id) = with_an_email().await;
    let (status, list) = call(&router, "GET", "/api/emails?status=queued", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, p) = call(&router, "GET", &format!("/api/emails/{id}"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["recipient"], "Pat Doe <pat@acme.example>");
    assert_eq!(p["status"], "queued");
    assert!(p["subject"].as_str().unwrap().contains("Acme"));
    assert!(p["text"].as_str().unwrap().starts_with("Hi Pat,"));
    assert!(p["html"].as_str().unwrap().contains("<p>Hi Pat,</p>"));
    assert!(p["planned_send_at"].is_i64());
    assert!(p["waits_because"].is_string());
    let (status, e) = call(&router, "POST", &format!("/api/emails/{id}/requeue"), "").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{e}"
    );
    let (status, p) = call(&router, "POST", &format!("/api/emails/{id}/cancel"), "").await;
    assert_eq!(
        (status, p["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (status, _) = call(&router, "POST", &format!("/api/emails/{id}/cancel"), "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, e) = call(&router, "GET", "/api/emails/abc", "").await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
    );
    let (status, _) = call(&router, "GET", "/api/emails/999", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, e) = call(&router, "GET", "/api/emails?status=lost", "").await;
    assert_eq!(
        (status, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
    );
}

fn token_after<'a>(html: &'a str, prefix: &str) -> &'a str {
    let rest = html.split(prefix).nth(1).unwrap();
    &rest[..rest.find('"').unwrap()]
}

#[tokio::test]
async fn opens_clicks_and_unsubscribes_are_tracked_through_signed_links() {
    let (router, store, id) = with_an_email().await;
    let (_, p) = call(&router, "GET", &format!("/api/emails/{id}"), "").await;
    let html = p["html"].as_str().unwrap().to_string();
    let open = token_after(&html, "http://localhost:8000/t/open/");
    let (status, headers, body) = call_raw(&router, "GET", &format!("/t/open/{open}")).await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (StatusCode::OK, "image/gif")
    );
    assert!(body.starts_with(b"GIF89a"));
    assert_eq!(
        store
            .count_events(Some(EventType::EmailOpened))
            .await
            .unwrap(),
        1
    );
    // A bad open token still gets the pixel, and logs nothing.
    let (status, _, _) = call_raw(&router, "GET", "/t/open/forged.token").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        store
            .count_events(Some(EventType::EmailOpened))
            .await
            .unwrap(),
        1
    );

    let unsubscribe = token_after(&html, "http://localhost:8000/unsubscribe/");
    let (status, headers, body) =
        call_raw(&router, "GET", &format!("/unsubscribe/{unsubscribe}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&body).contains("method=\"post\""));
    assert_eq!(
        store.suppression_of("pat@acme.example").await.unwrap(),
        None,
        "GET changes nothing"
    );
    let (status, _, _) = call_raw(&router, "POST", &format!("/unsubscribe/{unsubscribe}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        store
            .suppression_of("pat@acme.example")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .count_events(Some(EventType::Unsubscribed))
            .await
            .unwrap(),
        1
    );
    let (status, _, _) = call_raw(&router, "POST", &format!("/unsubscribe/{unsubscribe}")).await;
    assert_eq!(status, StatusCode::OK, "idempotent");
    assert_eq!(
        store
            .count_events(Some(EventType::Unsubscribed))
            .await
            .unwrap(),
        1
    );
    let (status, _, _) = call_raw(&router, "POST", "/unsubscribe/not-a-token").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A click goes only where the token says.
    let signer = brim_email::Signer::new("test secret of 16+ bytes").unwrap();
    let token = signer.sign(
        brim_email::TokenKind::Click,
        id,
        Some("https://brim.example/demo"),
    );
    let (status, headers, _) = call_raw(&router, "GET", &format!("/t/click/{token}")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "https://brim.example/demo");
    assert_eq!(
        store
            .count_events(Some(EventType::EmailClicked))
            .await
            .unwrap(),
        1
    );
    let forged = format!(
        "{}.{}",
        "Yy40Mi5odHRwczovL2V2aWwuZXhhbXBsZQ",
        token.split_once('.').unwrap().1
    );
    let (status, headers, _) = call_raw(&router, "GET", &format!("/t/click/{forged}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get("location").is_none());
    let (_, perf) = call(&router, "GET", "/api/analytics/email-performance", "").await;
    assert_eq!(perf, json!([]), "nothing was sent yet");
}

#[tokio::test]
async fn a_leads_story_outcomes_models_and_more_analytics() {
    let (router, _store, _) = with_an_email().await;
    let (status, lead) = call(&router, "GET", "/api/leads/ed099798f237671", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead["lead"]["company_name"], "Acme");
    assert_eq!(lead["scores"].as_array().unwrap().len(), 1);
    assert!(lead["scores"][0]["report"]["reasoning"]["positive"].is_array());
    assert_eq!(lead["email"]["status"], "queued");
    let types: Vec<&str> = lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["score_calculated", "email_generated"]);
    let (status, _) = call(&router, "GET", "/api/leads/nobody", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = call(
        &router,
        "POST",
        "/api/report-outcome",
        r#"{"company_id": "ed099798f237671", "outcome": "demo_booked"}"#,
    )
    .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::CREATED, Some("demo_booked"))
    );
    for (body, field, code) in [
        (
            r#"{"company_id": "ed099798f237671", "outcome": "won"}"#,
            Some("outcome"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"outcome": "closed_won"}"#,
            Some("company_id"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"company_id": "ed099798f237671", "outcome": "closed_won", "at": "yesterday"}"#,
            Some("at"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"company_id": "nobody", "outcome": "closed_won"}"#,
            None,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, json) = call(&router, "POST", "/api/report-outcome", body).await;
        assert_eq!(status, code, "{body}: {json}");
        assert_eq!(json["field"].as_str(), field, "{body}: {json}");
    }
    let (_, lead) = call(&router, "GET", "/api/leads/ed099798f237671", "").await;
    assert_eq!(lead["outcomes"][0]["outcome"], "demo_booked");

    let (status, models) = call(&router, "GET", "/api/models", "").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = models
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["aggressive", "balanced", "conservative", "intent"]
    );
    let (status, headers, body) = call_raw(&router, "GET", "/api/models/balanced").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/toml")
    );
    brim_core::ScoringModel::from_toml(std::str::from_utf8(&body).unwrap()).unwrap();
    assert_eq!(
        call(&router, "GET", "/api/models/nope", "").await.0,
        StatusCode::NOT_FOUND
    );

    let (_, bins) = call(&router, "GET", "/api/analytics/score-distribution", "").await;
    assert_eq!(bins.as_array().unwrap().len(), 10);
    let (_, top) = call(&router, "GET", "/api/analytics/top-leads?n=5", "").await;
    assert_eq!(top[0]["company_id"], "ed099798f237671");
    let (status, _) = call(&router, "GET", "/api/analytics/top-leads?n=0", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, funnel) = call(
        &router,
        "GET",
        "/api/analytics/activation-funnel?days=7",
        "",
    )
    .await;
    let steps: Vec<&str> = funnel
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        vec!["file_upload", "result_viewed", "share_step_reached"]
    );
}

#[tokio::test]
async fn with_an_api_key_only_public_endpoints_are_open() {
    let router = keyed_router().await;
    let lead = r#"{"company_name": "Acme"}"#;
    let (status, json) = call(&router, "POST", "/api/score-company", lead).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let with = |key: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/score-company")
            .header("authorization", format!("Bearer {key}"))
            .body(Body::from(lead))
            .unwrap()
    };
    assert_eq!(
        router
            .clone()
            .oneshot(with("wrong-key-of-16-chars-xx"))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        router
            .clone()
            .oneshot(with("a-key-of-16-chars-or-more"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Public: health, activation events, tracking and unsubscribe links.
    assert_eq!(call(&router, "GET", "/healthz", "").await.0, StatusCode::OK);
    assert_eq!(
        call(
            &router,
            "POST",
            "/api/activation/log-event",
            r#"{"user_id": "u", "step_name": "file_upload"}"#
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&router, "GET", "/unsubscribe/x.y", "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&router, "GET", "/api/analytics/kpi/qualified-leads", "")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, "GET", "/metrics", "").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_queue() {
    let (router, _, _) = app(false).await;
    call(
        &router,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Acme"}"#,
    )
    .await;
    call(
        &router,
        "POST",
        "/api/score-company",
        r#"{"employee_count": 1}"#,
    )
    .await;
    call(&router, "GET", "/api/emails/12345", "").await;
    let (status, headers, body) = call_raw(&router, "GET", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("brim_http_requests_total{method=\"POST\",route=\"/api/score-company\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("brim_http_requests_total{method=\"POST\",route=\"/api/score-company\",status=\"422\"} 1"), "{text}");
    assert!(
        text.contains("route=\"/api/emails/{id}\",status=\"404\"} 1"),
        "ids stay out of labels: {text}"
    );
    assert!(text.contains("brim_http_request_duration_seconds_count{method=\"POST\",route=\"/api/score-company\"} 2"), "{text}");
    assert!(text.contains("brim_emails{status=\"queued\"} 0"));
    assert!(text.contains("brim_queue_depth 0"));
}

/// A CORS preflight for `POST /api/score-company` from `https://app.example`.
fn preflight_request() -> Request<Body> {
    Request::builder()
        .method("OPTIONS")
        .uri("/api/score-company")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn public_endpoints_are_rate_limited_per_client_and_cors_is_configurable() {
    let (store, clock) = memory_store().await;
    let composer = composer(false);
    let app = App::new(store, clock, composer, None)
        .with_public_limit(3)
        .with_cors_origins(vec!["https://app.example".into()]);
    let router = router(Arc::new(app));
    let event = |ip: &str| {
        let mut r = Request::builder()
            .method("POST")
            .uri("/api/activation/log-event")
            .body(Body::from(
                r#"{"user_id": "u", "step_name": "file_upload"}"#,
            ))
            .unwrap();
        r.extensions_mut()
            .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
                format!("{ip}:5000").parse().unwrap(),
            ));
        r
    };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            router
                .clone()
                .oneshot(event("10.1.1.1"))
                .await
                .unwrap()
                .status(),
        );
    }
    // The limit is per minute of the wall clock: the 4th may land in a new minute, rarely.
    assert_eq!(&statuses[..3], &[StatusCode::CREATED; 3]);
    if statuses[3] == StatusCode::TOO_MANY_REQUESTS {
        let limited = router.clone().oneshot(event("10.1.1.1")).await.unwrap();
        assert!(limited.headers().get("retry-after").is_some());
    }
    assert_eq!(
        router
            .clone()
            .oneshot(event("10.2.2.2"))
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED,
        "another client"
    );
    // Private endpoints are not limited this way.
    for _ in 0..5 {
        assert_eq!(
            call(&router, "GET", "/api/models", "").await.0,
            StatusCode::OK
        );
    }
    let preflight = router.clone().oneshot(preflight_request()).await.unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/api/models")
                .header("origin", "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Without configured origins there is no CORS at all: no CORS headers, and a preflight
    // is an ordinary request (405: the endpoint takes POST).
    let (store, clock) = memory_store().await;
    let plain = brim_server::router(Arc::new(App::new(
        store,
        clock,
        self::composer(false),
        None,
    )));
    let preflight = plain.oneshot(preflight_request()).await.unwrap();
    assert_eq!(preflight.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(preflight.headers().get("vary").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scores_are_group_committed_and_each_event_is_stored_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::connect(&format!("sqlite://{}/g.db", dir.path().display()))
            .await
            .unwrap(),
    );
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(AtomicI64::new(NOW)));
    let composer = composer(false);
    let (recorder, task) = brim_store::Recorder::spawn(store.clone()).unwrap();
    let router = router(Arc::new(
        App::new(store.clone(), clock, composer, None).with_recorder(recorder),
    ));
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let router = router.clone();
            tokio::spawn(async move {
                call(
                    &router,
                    "POST",
                    "/api/score-company",
                    &format!(r#"{{"company_name": "Company {i}"}}"#),
                )
                .await
                .0
            })
        })
        .collect();
    let mut ok = 0;
    for c in calls {
        if c.await.unwrap() == StatusCode::OK {
            ok += 1;
            // Answered only after its event was committed: the count already includes it.
        }
    }
    assert_eq!(ok, 200);
    assert_eq!(
        store
            .count_events(Some(EventType::ScoreCalculated))
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        brim_store::Analytics::scored_leads(store.as_ref(), &brim_store::LeadsQuery::default())
            .await
            .unwrap()
            .total,
        200
    );
    drop(router);
    task.await.unwrap();
}

#[tokio::test]
async fn the_sweep_writes_emails_for_scored_leads_that_have_none() {
    // Scored without a generation queue (as when the queue was full or the process died).
    let (router, store, _) = app(false).await;
    for i in 0..300 {
        let body = format!(
            r#"{{"company_name": "Swept {i}", "contact": {{"email": "a{i}@swept.example"}}}}"#
        );
        assert_eq!(
            call(&router, "POST", "/api/score-company", &body).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(store.queue_counts().await.unwrap().queued, 0);
    let author = template_author();
    // A policy that passes over most leads: the sweep must still end, and reach the others.
    let picky = Generator::new(
        store.clone(),
        author.clone(),
        GenerateConfig {
            min_score: Some(101),
            ..every_lead()
        },
    );
    assert_eq!(
        brim_server::sweep_missing_emails(&picky, NOW)
            .await
            .unwrap(),
        0
    );
    let generator = Generator::new(store.clone(), author, every_lead());
    assert_eq!(
        brim_server::sweep_missing_emails(&generator, NOW)
            .await
            .unwrap(),
        300
    );
    assert_eq!(
        store.queue_counts().await.unwrap().queued + store.queue_counts().await.unwrap().waiting,
        300
    );
    assert_eq!(
        brim_server::sweep_missing_emails(&generator, NOW)
            .await
            .unwrap(),
        0,
        "nothing twice"
    );
}

#[tokio::test]
async fn a_shutdown_stops_a_long_sweep_between_pages() {
    let (router, store, _) = app(false).await;
    for i in 0..1200 {
        let body = format!(r#"{{"company_name": "Backlog {i}"}}"#);
        assert_eq!(
            call(&router, "POST", "/api/score-company", &body).await.0,
            StatusCode::OK
        );
    }
    let author = template_author();
    let generator = Generator::new(store.clone(), author, every_lead());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(AtomicI64::new(NOW)));
    // The first tick sweeps at once; once its first e-mails are queued the sender is dropped
    // (a shutdown) while the sweep is still going.
    let (tx, task) = spawn_generation(
        generator,
        clock,
        16,
        std::time::Duration::from_secs(3600),
        tokio::sync::watch::channel(false).1,
        None,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let counts = store.queue_counts().await.unwrap();
        if counts.queued + counts.waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep queued nothing in 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    drop(tx);
    task.await.unwrap();
    let counts = store.queue_counts().await.unwrap();
    let queued = counts.queued + counts.waiting;
    assert!(
        queued < 1200,
        "the sweep went on through the whole backlog after the shutdown ({queued})"
    );
    // The next start's sweep goes on from there.
    let author = template_author();
    let generator = Generator::new(store.clone(), author, every_lead());
    assert_eq!(
        brim_server::sweep_missing_emails(&generator, NOW)
            .await
            .unwrap() as u64,
        1200 - queued
    );
}

async fn wait_for_job(router: &axum::Router, id: &str) -> Value {
    for _ in 0..200 {
        let (status, job) = call(router, "GET", &format!("/api/jobs/{id}"), "").await;
        assert_eq!(status, StatusCode::OK);
        if job["status"] != "running" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn batch_scoring_takes_json_lines_csv_and_the_originals_multipart_file() {
    let (router, store, _) = app(false).await;
    // JSON lines as the body, one bad line.
    let body = "{\"company_name\": \"A1\", \"employee_count\": 120}\n{\"employee_count\": \"x\"}\n{\"company_name\": \"A3\"}\n";
    let (status, accepted) = call(
        &router,
        "POST",
        "/api/leads/batch-score?model=balanced",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["format"], "jsonl");
    let job = wait_for_job(&router, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        (job["scored"].as_u64(), job["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(job["failures"][0]["at"], "line 2");
    assert!(
        job["failures"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("employee_count: expected"),
        "{job}"
    );

    // CSV.
    let csv = "company_name,employee_count,tech_stack\nC1,150,Zapier;AWS\nC2,10,\n";
    let (status, accepted) = call(&router, "POST", "/api/leads/batch-score?format=csv", csv).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = wait_for_job(&router, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["scored"], 2, "{job}");

    // The original's form: a multipart file holding a JSON array.
    let boundary = "brimboundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.json\"\r\nContent-Type: application/json\r\n\r\n[{{\"company_name\": \"M1\"}}, {{\"company_name\": \"M2\"}}, 7]\r\n--{boundary}--\r\n"
    );
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/api/leads/batch-score")
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(multipart))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = serde_json::from_slice(
        &axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(accepted["format"], "json");
    let job = wait_for_job(&router, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(
        (job["scored"].as_u64(), job["failed"].as_u64()),
        (Some(2), Some(1)),
        "{job}"
    );
    assert_eq!(job["failures"][0]["at"], "item 3");

    assert_eq!(
        store
            .count_events(Some(EventType::ScoreCalculated))
            .await
            .unwrap(),
        6
    );
    for (uri, body, field) in [
        ("/api/leads/batch-score", "", "file"),
        ("/api/leads/batch-score?format=xml", "{}", "format"),
        ("/api/leads/batch-score?model=nope", "{}", "model"),
    ] {
        let (status, json) = call(&router, "POST", uri, body).await;
        assert_eq!(
            (status, json["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{uri}"
        );
    }
    assert_eq!(
        call(&router, "GET", "/api/jobs/job-0-0", "").await.0,
        StatusCode::NOT_FOUND
    );
}

/// A request with a body; answers the status, the content type and the body as text.
async fn call_text(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, String, String) {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).to_string(),
    )
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_docs_are_served() {
    let (router, _, _) = app(false).await;
    let (status, doc) = call(&router, "GET", "/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/score-company", "post"),
        ("/api/leads/batch-score", "post"),
        ("/api/jobs/{id}", "get"),
        ("/api/activation/log-event", "post"),
        ("/api/activation/try", "post"),
        ("/api/analytics/kpi/{metric}", "get"),
        ("/api/analytics/funnel-over-time", "get"),
        ("/api/analytics/scored-leads-table", "get"),
        ("/api/analytics/email-performance", "get"),
        ("/api/leads/{company_id}", "get"),
        ("/api/report-outcome", "post"),
        ("/api/models/{name}", "put"),
        ("/api/learned-models", "post"),
        ("/api/leads/{company_id}/enrich", "post"),
        ("/api/learned-models/{id}/activate", "post"),
        ("/api/learned-models/rollback", "post"),
        ("/api/learned-models/compare", "get"),
        ("/api/emails/{id}/requeue", "post"),
        ("/t/click/{token}", "get"),
        ("/unsubscribe/{token}", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    // Public operations need no key; the rest use the bearer scheme.
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([{}]));
    assert_eq!(doc["security"], json!([{"api_key": []}]));
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["required"],
        json!(["error", "detail"])
    );
    let (status, content_type, html) = call_text(&router, "GET", "/docs/", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(html.contains("swagger"), "{html}");
    let (status, served) = call(&router, "GET", "/docs/openapi.json", "").await;
    assert_eq!((status, served), (StatusCode::OK, doc));
}

#[tokio::test]
async fn pages_and_their_assets_are_served_from_the_binary() {
    let (router, _, _) = app(false).await;
    for (path, kind, marker) in [
        ("/", "text/html", "Brim dashboard"),
        ("/dashboard", "text/html", "Brim dashboard"),
        ("/activate", "text/html", "Upload your leads"),
        ("/assets/brim.css", "text/css", ".card"),
        ("/assets/dashboard.js", "text/javascript", "loadKpis"),
        (
            "/assets/activate.js",
            "text/javascript",
            "share_step_reached",
        ),
        ("/assets/common.js", "text/javascript", "Authorization"),
        (
            "/assets/activate-worker.js",
            "text/javascript",
            "StreamScorer",
        ),
        // brim-wasm, embedded when scripts/build-wasm ran before the build (scripts/test does).
        (
            "/assets/brim-wasm/index.js",
            "text/javascript",
            "brim_wasm_bg.wasm",
        ),
        ("/assets/brim-wasm/api.js", "text/javascript", "scoreStream"),
    ] {
        let (status, content_type, body) = call_text(&router, "GET", path, "").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(body.contains(marker), "{path}");
    }
    let get = |uri: &str| {
        router
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
    };
    // Pages carry a strict content security policy (no inline script, no framing).
    let response = get("/").await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    // The activation page may compile WebAssembly and start a worker, nothing more.
    let response = get("/activate").await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'") && csp.contains("worker-src 'self'"),
        "{csp}"
    );
    let wasm = get("/assets/brim-wasm/brim_wasm_bg.wasm").await.unwrap();
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(!wasm.headers().contains_key("content-encoding"));
    let plain = axum::body::to_bytes(wasm.into_body(), usize::MAX)
        .await
        .unwrap();
    // A browser that accepts gzip gets the pages and the .wasm compressed; the API stays plain.
    let gzipped = |uri: &str| {
        router.clone().oneshot(
            Request::builder()
                .uri(uri)
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .unwrap(),
        )
    };
    let wasm = gzipped("/assets/brim-wasm/brim_wasm_bg.wasm")
        .await
        .unwrap();
    assert_eq!(wasm.headers()["content-encoding"], "gzip");
    let packed = axum::body::to_bytes(wasm.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(
        packed.len() * 2 < plain.len(),
        "{} of {}",
        packed.len(),
        plain.len()
    );
    let page = gzipped("/activate").await.unwrap();
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let api = gzipped("/api/analytics/top-leads").await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert!(!api.headers().contains_key("content-encoding"));
    let (status, json) = call(&router, "GET", "/assets/nope.js", "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

fn custom_model(name: &str) -> String {
    brim_core::ScoringModel::preset_toml("balanced")
        .unwrap()
        .replacen("name = \"balanced\"", &format!("name = \"{name}\""), 1)
        .replacen("version = \"1\"", "version = \"7\"", 1)
}

#[tokio::test]
async fn custom_models_are_checked_kept_and_scored_with() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = memory_store().await;
    let build = |store: Arc<SqliteStore>, clock: Arc<dyn Clock>| {
        let app = App::new(store, clock, composer(false), None)
            .with_models_dir(dir.path().join("models"))
            .unwrap();
        router(Arc::new(app))
    };
    let router = build(store.clone(), clock.clone());
    let (status, body) = call(&router, "PUT", "/api/models/ours", &custom_model("ours")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body,
        json!({"name": "ours", "version": "7", "description": body["description"], "source": "custom"})
    );
    let (_, list) = call(&router, "GET", "/api/models", "").await;
    let sources: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().into(),
                m["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        sources.contains(&("ours".into(), "custom".into())),
        "{sources:?}"
    );
    assert!(
        sources.contains(&("balanced".into(), "preset".into())),
        "{sources:?}"
    );
    let (status, score) = call(
        &router,
        "POST",
        "/api/score-company?model=ours",
        r#"{"company_name": "Acme", "employee_count": 120}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (score["model"].as_str(), score["model_version"].as_str()),
        (Some("ours"), Some("7"))
    );
    // Replacing it: 200. The file on disk is what was sent.
    let (status, _) = call(&router, "PUT", "/api/models/ours", &custom_model("ours")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("models/ours.toml")).unwrap(),
        custom_model("ours")
    );
    // Refusals name what is wrong.
    for (uri, body, status, field) in [
        (
            "/api/models/balanced",
            custom_model("balanced"),
            StatusCode::CONFLICT,
            None,
        ),
        (
            "/api/models/no%20spaces",
            custom_model("no spaces"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            "/api/models/other",
            custom_model("ours"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            "/api/models/broken",
            "name = \"broken\"\nthis is not toml".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            "/api/models/weights",
            custom_model("weights").replacen("intent = 0.4", "intent = 0.9", 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
    ] {
        let (got, json) = call(&router, "PUT", uri, &body).await;
        assert_eq!(got, status, "{uri}: {json}");
        if let Some(field) = field {
            assert_eq!(json["field"], field, "{uri}: {json}");
        }
        assert!(!json["detail"].as_str().unwrap().is_empty());
    }
    assert!(!dir.path().join("models/broken.toml").exists());
    // A restarted server loads what was uploaded (and removes what a crashed upload left).
    std::fs::write(dir.path().join("models/.crashed.toml.tmp"), "half a mo").unwrap();
    let router = build(store, clock);
    let (status, score) = call(
        &router,
        "POST",
        "/api/score-company?model=ours",
        r#"{"company_name": "Acme"}"#,
    )
    .await;
    assert_eq!(
        (status, score["model"].as_str()),
        (StatusCode::OK, Some("ours"))
    );
    // A server without a models folder refuses uploads.
    let (router, _, _) = app(false).await;
    let (status, json) = call(&router, "PUT", "/api/models/ours", &custom_model("ours")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
}

#[tokio::test]
async fn the_activation_page_scores_a_file_without_storing_it() {
    let (store, clock) = memory_store().await;
    // Public: works with an API key set and none given.
    let app = App::new(store.clone(), clock, composer(false), None)
        .with_api_key("a-key-of-16-chars-or-more");
    let router = router(Arc::new(app));
    let (status, body) = call(
        &router,
        "POST",
        "/api/activation/try",
        "{\"company_name\": \"Small\", \"employee_count\": 5}\n{\"company_name\": \"Bad\", \"employee_count\": \"x\"}\n{\"company_name\": \"Fit\", \"employee_count\": 120, \"industry\": \"SaaS\"}\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["scored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["company_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Fit", "Small"], "best first");
    assert_eq!(body["failures"][0]["at"], "line 2");
    assert!(
        body["failures"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("employee_count")
    );
    assert!(store.get_lead("ed099798f237671").await.unwrap().is_none());
    assert_eq!(store.count_events(None).await.unwrap(), 0, "nothing stored");
    // CSV too; empty and oversized files are refused with the field named.
    let (status, body) = call(
        &router,
        "POST",
        "/api/activation/try",
        "company_name,employee_count\nAcme,120\n",
    )
    .await;
    assert_eq!(
        (status, body["scored"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (status, body) = call(&router, "POST", "/api/activation/try", "  ").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file"))
    );
    // Exactly 1,000 leads plus bad rows is fine; 1,001 leads is not.
    let mut thousand: String = (0..1000)
        .map(|i| format!("{{\"company_name\": \"C{i}\"}}\n"))
        .collect();
    thousand.push_str("{\"company_name\": \"B\", \"employee_count\": \"x\"}\n");
    let (status, body) = call(&router, "POST", "/api/activation/try", &thousand).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scored"].as_array().map(Vec::len), Some(1000));
    // Visitors score with presets only.
    let (status, body) = call(
        &router,
        "POST",
        "/api/activation/try?model=ours",
        "[{\"company_name\": \"A\"}]",
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("model"))
    );
    // Over 1 MiB: 413.
    let big = format!("[{{\"company_name\": \"{}\"}}]", "x".repeat(1 << 20));
    let (status, body) = call(&router, "POST", "/api/activation/try", &big).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let many: String = (0..1001)
        .map(|i| format!("{{\"company_name\": \"C{i}\"}}\n"))
        .collect();
    let (status, body) = call(&router, "POST", "/api/activation/try", &many).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("1000"));
}

#[tokio::test]
async fn malformed_query_strings_and_paths_are_json_errors() {
    let (router, _, _) = app(false).await;
    for uri in [
        "/api/analytics/kpi/qualified-leads?days=1&days=2",
        "/api/analytics/scored-leads-table?page=1&page=2",
        "/api/leads/%FF%FE",
    ] {
        let (status, content_type, body) = call_text(&router, "GET", uri, "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {body}");
        assert!(content_type.starts_with("application/json"), "{uri}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert!(
            matches!(json["field"].as_str(), Some("query" | "path")),
            "{uri}: {json}"
        );
    }
}

#[tokio::test]
async fn without_a_key_other_host_names_and_cross_site_writes_are_refused() {
    let (router, _, _) = app(false).await;
    let send = |method: &str, uri: &str, headers: &[(&str, &str)]| {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .header("content-type", "application/json")
            .body(Body::from(r#"{"company_name": "Acme"}"#))
            .unwrap();
        let router = router.clone();
        async move { router.oneshot(request).await.unwrap().status() }
    };
    // DNS rebinding: a page at attacker.example resolving to 127.0.0.1.
    assert_eq!(
        send(
            "GET",
            "/api/analytics/top-leads",
            &[("host", "attacker.example:8000")]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    for host in ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"] {
        assert_eq!(
            send("GET", "/api/analytics/top-leads", &[("host", host)]).await,
            StatusCode::OK,
            "{host}"
        );
    }
    // Cross-site writes: a page elsewhere posting to the API.
    assert_eq!(
        send(
            "POST",
            "/api/score-company",
            &[
                ("host", "localhost:8000"),
                ("origin", "https://evil.example")
            ]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send("POST", "/api/score-company", &[("origin", "null")]).await,
        StatusCode::FORBIDDEN
    );
    // The server's own pages, and tools that send no Origin, may write.
    assert_eq!(
        send(
            "POST",
            "/api/score-company",
            &[
                ("host", "localhost:8000"),
                ("origin", "http://localhost:8000")
            ]
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send("POST", "/api/score-company", &[]).await,
        StatusCode::OK
    );
    // With a key, the key is the guard: any host name.
    let keyed = keyed_router().await;
    let response = keyed
        .oneshot(
            Request::builder()
                .uri("/api/analytics/top-leads")
                .header("host", "brim.example.com")
                .header("authorization", "Bearer a-key-of-16-chars-or-more")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The new public paths stay open with a key; uploads and the rest do not.
    let keyed = keyed_router().await;
    for (method, uri, body, expected) in [
        ("GET", "/", "", StatusCode::OK),
        ("GET", "/activate", "", StatusCode::OK),
        ("GET", "/assets/dashboard.js", "", StatusCode::OK),
        ("GET", "/openapi.json", "", StatusCode::OK),
        ("GET", "/docs/", "", StatusCode::OK),
        (
            "POST",
            "/api/activation/try",
            r#"[{"company_name": "A"}]"#,
            StatusCode::OK,
        ),
        (
            "PUT",
            "/api/models/ours",
            "name = \"ours\"",
            StatusCode::UNAUTHORIZED,
        ),
        ("GET", "/api/models", "", StatusCode::UNAUTHORIZED),
        ("GET", "/assets/../api/models", "", StatusCode::NOT_FOUND),
        ("GET", "/docs/../api/models", "", StatusCode::NOT_FOUND),
    ] {
        let (status, _) = call(&keyed, method, uri, body).await;
        assert_eq!(status, expected, "{method} {uri}");
    }
}

/// A router over a fresh store that requires the test API key.
async fn keyed_router() -> axum::Router {
    let (store, clock) = memory_store().await;
    router(Arc::new(
        App::new(store, clock, composer(false), None).with_api_key("a-key-of-16-chars-or-more"),
    ))
}

#[tokio::test]
async fn generation_gives_way_to_requests_waiting_for_their_commit_but_is_not_starved() {
    let (store, clock) = memory_store().await;
    let author = template_author();
    let generator = Generator::new(store.clone(), author, every_lead());
    let backlog = Arc::new(brim_store::Backlog::default());
    let (tx, _task) = spawn_generation(
        generator,
        clock,
        16,
        std::time::Duration::from_secs(3600),
        tokio::sync::watch::channel(false).1,
        Some(backlog.clone()),
    );
    let scorer = brim_core::Scorer::preset("balanced").unwrap();
    let lead = |name: &str| {
        brim_core::Lead::from_json(&format!(r#"{{"company_name": "{name}"}}"#)).unwrap()
    };
    let queued = || async { store.queue_counts().await.unwrap().waiting };
    let until = |n: u64| {
        let store = store.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while store.queue_counts().await.unwrap().waiting < n {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no e-mail {n} in 10 s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };

    // A request waits for its commit: the e-mail waits too ...
    backlog.add();
    let first = lead("Patient");
    tx.send((first.clone(), scorer.report(&first)))
        .await
        .unwrap();
    tokio::time::sleep(brim_server::GIVE_WAY_AT_MOST / 4).await;
    assert_eq!(
        queued().await,
        0,
        "generation went ahead of a waiting request"
    );
    // ... and is written as soon as the request is answered.
    backlog.done(1);
    until(1).await;

    // Requests that never let up hold generation back at most GIVE_WAY_AT_MOST per batch.
    backlog.add();
    let second = lead("Busy");
    tx.send((second.clone(), scorer.report(&second)))
        .await
        .unwrap();
    until(2).await;
    assert_eq!(backlog.pending(), 1);
}

/// Issue 22's limits, as a client meets them: 422 naming the field and the limit, a short
/// quote of the bad value, duplicate keys refused, one bad row of a batch never costing the good.
#[tokio::test]
async fn leads_over_the_limits_are_refused_by_field_and_a_bad_row_keeps_the_good() {
    let (router, store, _) = app(false).await;
    let long = "A".repeat(10_000_000);
    let cases = [
        (
            serde_json::json!({"company_name": long}).to_string(),
            "company_name",
            "expected at most 100 characters, got 10000000",
        ),
        (
            serde_json::json!({"company_name": "A", "tech_stack": vec!["Zapier"; 100_000]})
                .to_string(),
            "tech_stack",
            "expected at most 100 items",
        ),
        (
            r#"{"company_name": "A", "company_name": "B"}"#.to_string(),
            "company_name",
            "given twice in one lead",
        ),
        (
            format!(
                r#"{{"company_name": "A", "industry": {}.5}}"#,
                "9".repeat(300)
            ),
            "industry",
            "expected a string",
        ),
    ];
    for (body, field, message) in cases {
        let (status, reply) = call(&router, "POST", "/api/score-company", &body).await;
        if body.len() > 1024 * 1024 {
            // Over the JSON body limit: refused before it is read.
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{reply}");
            continue;
        }
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
        assert_eq!(reply["field"], field, "{reply}");
        let detail = reply["detail"].as_str().unwrap();
        assert!(detail.starts_with(message), "{detail}");
        assert!(
            detail.len() < 160,
            "the error quotes a short prefix: {detail}"
        );
    }
    // The batch endpoint takes any size of body: the same limits, row by row.
    let body = format!(
        "{}\n{}\n{}\n",
        serde_json::json!({"company_name": "Good One"}),
        serde_json::json!({"company_name": long, "tech_stack": vec!["x"; 1_000_000]}),
        serde_json::json!({"company_name": "Good Two"}),
    );
    let (status, accepted) = call(&router, "POST", "/api/leads/batch-score", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let job = wait_for_job(&router, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(
        (job["scored"].as_u64(), job["failed"].as_u64()),
        (Some(2), Some(1)),
        "{job}"
    );
    assert_eq!(job["failures"][0]["at"], "line 2");
    let error = job["failures"][0]["error"].as_str().unwrap();
    // The million-item list is refused as soon as the parser reaches item 101.
    assert_eq!(error, "tech_stack: expected at most 100 items");
    let table = store
        .scored_leads(&brim_store::LeadsQuery::default())
        .await
        .unwrap();
    assert_eq!(table.total, 2);
    assert!(
        table
            .rows
            .iter()
            .all(|r| r.company_name.starts_with("Good"))
    );
}

#[tokio::test]
async fn activation_steps_are_the_configured_flow() {
    let (store, clock) = memory_store().await;
    let settings = brim_server::app::Settings {
        activation_steps: vec!["signed_up".into(), "result_viewed".into()],
        ..brim_server::app::Settings::default()
    };
    let router = router(Arc::new(
        App::new(store, clock, composer(false), None).with_settings(settings),
    ));
    let log = |step: &str| serde_json::json!({"user_id": "u1", "step_name": step}).to_string();
    for step in ["signed_up", "result_viewed"] {
        let (status, reply) = call(&router, "POST", "/api/activation/log-event", &log(step)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    // A step outside the flow (the default flow's own included) is refused and listed nowhere.
    for step in ["file_upload", "invented_step"] {
        let (status, reply) = call(&router, "POST", "/api/activation/log-event", &log(step)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
        assert_eq!(reply["field"], "step_name");
        assert!(
            reply["detail"]
                .as_str()
                .unwrap()
                .starts_with("expected one of signed_up, result_viewed"),
            "{reply}"
        );
    }
    let (_, steps) = call(&router, "GET", "/api/analytics/activation-funnel", "").await;
    assert_eq!(
        steps,
        serde_json::json!([{"step": "signed_up", "users": 1}, {"step": "result_viewed", "users": 1}])
    );
    let (_, settings) = call(&router, "GET", "/api/settings", "").await;
    assert_eq!(
        settings["activation_steps"],
        serde_json::json!(["signed_up", "result_viewed"])
    );
    assert_eq!(
        settings["email_policy"]["summary"],
        "Only leads whose action is high priority outreach or medium priority outreach get an e-mail."
    );
    // Metadata stays small.
    let big = serde_json::json!({"user_id": "u1", "step_name": "signed_up", "metadata": {"x": "y".repeat(5000)}});
    let (status, reply) = call(
        &router,
        "POST",
        "/api/activation/log-event",
        &big.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["field"], "metadata");
}

#[tokio::test]
async fn a_lead_is_deleted_with_its_story() {
    let (router, store, _) = app(false).await;
    let (status, score) = call(
        &router,
        "POST",
        "/api/score-company",
        r#"{"company_name": "Gone Co"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let id = score["company_id"].as_str().unwrap().to_string();
    let (status, reply) = call(&router, "DELETE", &format!("/api/leads/{id}"), "").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        reply,
        serde_json::json!({"company_id": id, "deleted": true})
    );
    assert_eq!(
        call(&router, "GET", &format!("/api/leads/{id}"), "")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert!(store.events_for_company(&id).await.unwrap().is_empty());
    let (status, reply) = call(&router, "DELETE", &format!("/api/leads/{id}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
}

#[tokio::test]
async fn ab_results_carry_intervals_and_a_significance_test() {
    let (router, store, _) = app(false).await;
    // Two variants: 200 sent each, 40 and 10 clicks.
    let mut emails = Vec::new();
    for i in 0..400 {
        let variant = if i % 2 == 0 {
            "problem_focused"
        } else {
            "roi_focused"
        };
        emails.push(brim_store::NewEmail {
            company_id: format!("c{i}"),
            recipient: Some(format!("a{i}@x.example")),
            recipient_name: None,
            timezone: None,
            score: 80,
            variant: variant.into(),
            subject: "Hi".into(),
            body_text: "Hi".into(),
            body_html: None,
            writer: brim_store::Writer::Template,
            message_id: format!("<{i}@x>"),
            not_before: None,
        });
    }
    store.enqueue(&emails, NOW - 1000).await.unwrap();
    loop {
        let got = store.claim("w", 100, NOW - 500, 60_000).await.unwrap();
        if got.is_empty() {
            break;
        }
        for e in got {
            store.mark_sent(e.id, NOW - 400).await.unwrap();
        }
    }
    let clicks: Vec<brim_store::NewEvent> = (0..400)
        .filter(|i| (i % 2 == 0 && *i < 80) || (i % 2 == 1 && *i < 20))
        .map(|i| brim_store::NewEvent {
            event_type: EventType::EmailClicked,
            occurred_at: NOW - 300,
            user_id: None,
            company_id: Some(format!("c{i}")),
            payload: serde_json::json!({}),
        })
        .collect();
    store.append_events(&clicks).await.unwrap();
    let (status, rows) = call(&router, "GET", "/api/analytics/email-performance", "").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let (best, other) = (&rows[0], &rows[1]);
    assert_eq!(
        (best["variant"].as_str(), best["clicked"].as_u64()),
        (Some("problem_focused"), Some(40))
    );
    assert_eq!(best["click_rate"], 20.0);
    let ci = best["click_rate_ci"].as_array().unwrap();
    assert!(
        ci[0].as_f64().unwrap() < 20.0 && ci[1].as_f64().unwrap() > 20.0,
        "{best}"
    );
    assert!(
        best["click_vs_best"].is_null(),
        "the leader is compared with nobody"
    );
    let vs = &other["click_vs_best"];
    assert_eq!(vs["against"], "problem_focused");
    assert_eq!(vs["significant"], true, "{vs}");
    assert!(vs["p_value"].as_f64().unwrap() < 0.001, "{vs}");
    assert_eq!(vs["more_needed"], 0);
}
