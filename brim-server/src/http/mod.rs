//! The HTTP API: the original's endpoints (spec §6) with its paths and JSON shapes, and JSON
//! errors for everything else.

mod batch;
mod emails;
mod error;
mod guard;
mod leads;
mod learned;
pub mod openapi;
mod pages;

pub use pages::has_wasm_package;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use brim_core::Lead;
use brim_store::{EventType, LeadSort, LeadsQuery, NewEvent, NewScore, Period, StatusFilter};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub use crate::telemetry::{Metrics, PublicLimit};
pub use error::ApiError;
pub use guard::{LocalOnly, is_public};

use crate::app::{App, Store};

/// Largest JSON body accepted by the JSON endpoints.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

pub(super) type AppState<S> = State<Arc<App<S>>>;

/// The router: every endpoint, with JSON 404/405/413 answers.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let key = app.api_key.clone();
    // Without a key: refuse other host names and cross-site writes (see `LocalOnly`).
    let local = key.is_none().then(|| {
        let config = app.composer.config();
        let mut urls = vec![config.public_url.as_str()];
        urls.extend(config.tracking_url.as_deref());
        LocalOnly::new(&urls, &app.cors_origins)
    });
    let guards = Arc::new(guard::Guards {
        key,
        local,
        limit: app.public_limit.clone(),
    });
    let metrics = app.metrics.clone();
    // No origins configured: no CORS layer at all (it would only add `Vary` headers).
    let cors = tower::util::option_layer(cors_layer(&app.cors_origins));
    // The pages and their assets go gzip-compressed to a browser that accepts it (the .wasm:
    // 470 KB → 200 KB); the API's JSON is left as it is.
    let site = Router::new()
        .route("/", get(pages::dashboard))
        .route("/dashboard", get(pages::dashboard))
        .route("/activate", get(pages::activate))
        .route("/assets/{file}", get(pages::asset))
        .route("/assets/brim-wasm/{file}", get(pages::wasm_asset))
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new()
        .route("/healthz", get(healthz::<S>))
        .route("/metrics", get(metrics_text::<S>))
        .route("/api/score-company", post(score_company::<S>))
        .route("/api/activation/log-event", post(log_event::<S>))
        .route("/api/analytics/kpi/{metric}", get(kpi::<S>))
        .route(
            "/api/analytics/funnel-over-time",
            get(funnel_over_time::<S>),
        )
        .route(
            "/api/analytics/scored-leads-table",
            get(scored_leads_table::<S>),
        )
        .route(
            "/api/analytics/score-distribution",
            get(leads::score_distribution::<S>),
        )
        .route("/api/analytics/top-leads", get(leads::top_leads::<S>))
        .route(
            "/api/analytics/activation-funnel",
            get(leads::activation_funnel::<S>),
        )
        .route(
            "/api/analytics/email-performance",
            get(leads::email_performance::<S>),
        )
        .route(
            "/api/leads/{company_id}",
            get(leads::lead::<S>).delete(leads::delete_lead::<S>),
        )
        .route("/api/settings", get(leads::settings::<S>))
        .route("/api/leads/{company_id}/enrich", post(leads::enrich::<S>))
        .route("/api/report-outcome", post(leads::report_outcome::<S>))
        .route(
            "/api/leads/batch-score",
            post(batch::batch_score::<S>).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/jobs/{id}", get(batch::job::<S>))
        .route("/api/models", get(leads::models::<S>))
        .route(
            "/api/models/{name}",
            get(leads::model::<S>).put(leads::put_model::<S>),
        )
        .route(
            "/api/learned-models",
            get(learned::list::<S>)
                .post(learned::upload::<S>)
                .layer(DefaultBodyLimit::max(learned::MODEL_BODY_LIMIT)),
        )
        .route("/api/learned-models/compare", get(learned::compare::<S>))
        .route(
            "/api/learned-models/deactivate",
            post(learned::deactivate::<S>),
        )
        .route("/api/learned-models/rollback", post(learned::rollback::<S>))
        .route("/api/learned-models/{id}", get(learned::get_one::<S>))
        .route(
            "/api/learned-models/{id}/activate",
            post(learned::activate::<S>),
        )
        .route("/api/activation/try", post(activation_try::<S>))
        .route("/openapi.json", get(openapi_json))
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs")
                .url("/docs/openapi.json", openapi::document()),
        )
        .merge(site)
        .route("/api/emails", get(emails::list::<S>))
        .route("/api/emails/{id}", get(emails::get::<S>))
        .route("/api/emails/{id}/requeue", post(emails::requeue::<S>))
        .route("/api/emails/{id}/cancel", post(emails::cancel::<S>))
        .route("/t/open/{token}", get(emails::open::<S>))
        .route("/t/click/{token}", get(emails::click::<S>))
        .route(
            "/unsubscribe/{token}",
            get(emails::unsubscribe_page::<S>).post(emails::unsubscribe::<S>),
        )
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                error: "method_not_allowed",
                detail: "this endpoint does not accept that method".into(),
                field: None,
            }
        })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(guards, guard::guard))
        .layer(cors)
        .route_layer(axum::middleware::from_fn_with_state(
            metrics,
            guard::measure,
        ))
        .with_state(app)
}

/// The query string, deserialized; a malformed one is a JSON 422 naming `query` (axum's own
/// rejection is plain text).
pub(super) struct Query<T>(pub T);

impl<T: DeserializeOwned, St: Send + Sync> FromRequestParts<St> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

/// The path's parameters, deserialized; a malformed one (e.g. bad percent-encoding) is a JSON
/// 422 naming `path`.
pub(super) struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, St: Send + Sync> FromRequestParts<St> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

/// `bytes` as JSON `T`; a 422 names the failing field: its path, or for a missing one, the one
/// of `required` the message names (serde reports it at the parent).
pub(super) fn json_body<T: DeserializeOwned>(
    bytes: &[u8],
    required: &[&str],
    detail_prefix: &str,
) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path == "." {
            required
                .iter()
                .find(|f| message.contains(&format!("`{f}`")))
                .copied()
                .unwrap_or("body")
                .to_string()
        } else {
            path
        };
        ApiError::invalid(field, format!("{detail_prefix}{message}"))
    })
}

/// CORS for the configured origins (`*` allows any); none configured: none.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim()).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::HeaderName::from_static("x-total-count")]),
    )
}

/// The body, or a JSON 413 / 400.
pub(super) fn body(bytes: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    bytes.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(JSON_BODY_LIMIT)
        } else {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                error: "bad_request",
                detail: "the request body could not be read".into(),
                field: None,
            }
        }
    })
}

/// Health: the database answers.
#[utoipa::path(get, path = "/healthz", tag = "public", security(()),
    responses((status = 200, body = openapi::StatusBody), (status = 503, body = openapi::ErrorBody)))]
async fn healthz<S: Store>(State(app): AppState<S>) -> Result<Json<Value>, ApiError> {
    app.store.queue_counts().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// Prometheus metrics.
///
/// `GET /metrics`: Prometheus text: requests and latencies by route, the queue by status.
#[utoipa::path(get, path = "/metrics", tag = "analytics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String), openapi::Errors))]
async fn metrics_text<S: Store>(State(app): AppState<S>) -> Result<impl IntoResponse, ApiError> {
    let counts = app.store.queue_counts().await?;
    let mut text = app.metrics.render();
    text.push_str("# HELP brim_emails E-mails in the queue by status.\n# TYPE brim_emails gauge\n");
    for (status, n) in [
        ("waiting", counts.waiting),
        ("queued", counts.queued),
        ("leased", counts.leased),
        ("sent", counts.sent),
        ("dead", counts.dead),
        ("cancelled", counts.cancelled),
    ] {
        text.push_str(&format!("brim_emails{{status=\"{status}\"}} {n}\n"));
    }
    text.push_str(&format!(
        "# HELP brim_queue_depth E-mails waiting to be sent (queued or leased).\n# TYPE brim_queue_depth gauge\nbrim_queue_depth {}\n",
        counts.queued + counts.leased
    ));
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

#[derive(Deserialize)]
struct ModelQuery {
    model: Option<String>,
}

#[derive(Deserialize)]
struct ScoreQuery {
    model: Option<String>,
    enrich: Option<String>,
    enrich_budget_ms: Option<u64>,
}

/// The default budget of `?enrich=true` (ms).
pub const ENRICH_BUDGET_MS: u64 = 1_000;
/// The longest budget `?enrich_budget_ms` may ask for.
pub const ENRICH_BUDGET_MAX_MS: u64 = 30_000;

/// `?enrich=` as a flag: `true`/`1`, `false`/`0`/absent; anything else names the parameter.
pub(super) fn enrich_flag(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ApiError::invalid(
            "enrich",
            format!("expected true or false, got {}", brim_core::quote(other)),
        )),
    }
}

/// Score one lead (stores it, logs score_calculated, queues its e-mail).
///
/// `POST /api/score-company?model=balanced`: the score in the original's shape (plus
/// contributions); stores the lead and the score, logs `score_calculated`, and queues the lead
/// for its e-mail. With `enrich=true` (a server started with `--enrich`), the data provider is
/// asked first, for at most `enrich_budget_ms` (default 1000): what it knows fills in what the
/// lead lacks (the lead's own values win), the answer says so in `enrichment`, and
/// `lead_enriched` is logged; past the budget the lead is scored with what it has.
#[utoipa::path(post, path = "/api/score-company", tag = "scoring",
    params(("model" = Option<String>, Query, description = "a model name; default balanced"),
        ("enrich" = Option<bool>, Query, description = "ask the server's data provider first"),
        ("enrich_budget_ms" = Option<u64>, Query, minimum = 1, maximum = 30000, description = "the longest the provider is waited for; default 1000")),
    request_body = openapi::LeadInput,
    responses((status = 200, body = openapi::Score), openapi::Errors))]
async fn score_company<S: Store>(
    State(app): AppState<S>,
    Query(query): Query<ScoreQuery>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<axum::response::Response, ApiError> {
    let bytes = body(bytes)?;
    let model = query.model.as_deref().unwrap_or("balanced");
    let scorer = app
        .scorer_for(model)
        .map_err(|e| ApiError::invalid("model", e))?;
    let enrich = enrich_flag(query.enrich.as_deref())?;
    if enrich && app.enricher.is_none() {
        return Err(ApiError::invalid(
            "enrich",
            "this server has no data provider: start it with --enrich PROVIDER",
        ));
    }
    let budget = query.enrich_budget_ms.unwrap_or(ENRICH_BUDGET_MS);
    if !(1..=ENRICH_BUDGET_MAX_MS).contains(&budget) {
        return Err(ApiError::invalid(
            "enrich_budget_ms",
            format!("expected 1 to {ENRICH_BUDGET_MAX_MS} ms, got {budget}"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body",
            "expected a JSON object with at least company_name",
        ));
    }
    let lead = Lead::from_json_slice(&bytes).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let (lead, enrichment) = if enrich {
        match app
            .enrich(lead, Some(std::time::Duration::from_millis(budget)))
            .await
        {
            Some((lead, outcome)) => (lead, Some(outcome)),
            None => return Err(ApiError::unavailable()),
        }
    } else {
        (lead, None)
    };
    let report = app.report(&scorer, &lead);
    let now = app.clock.now_ms();
    let event = NewEvent::score_calculated(&report, now);
    let (lead, report) = match &app.recorder {
        Some(recorder) => {
            let score = NewScore {
                report,
                scored_at: now,
            };
            let (lead, score) = recorder.record(lead, score, event).await?;
            (lead, score.report)
        }
        None => {
            app.store
                .upsert_leads(std::slice::from_ref(&lead), now)
                .await?;
            app.store
                .save_scores(&[NewScore {
                    report: report.clone(),
                    scored_at: now,
                }])
                .await?;
            app.store.append_events(&[event]).await?;
            (lead, report)
        }
    };
    if let Some(generation) = &app.generation {
        // Never wait for e-mail writing: when its queue is full, the generation task's sweep
        // finds this stored, scored lead without an e-mail and writes it later. (A slot is
        // taken first: a full queue costs no copy of the report.)
        let sent = generation
            .try_reserve()
            .map(|slot| slot.send((lead, report.clone())));
        match sent {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(company = %report.company_id, "generation queue full; left to the sweep");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!(company = %report.company_id, "e-mail generation has stopped");
            }
        }
    }
    let Some(enrichment) = enrichment else {
        return Ok(Json(report).into_response());
    };
    app.store
        .append_events(&[enrichment.event(&report.company_id, now)])
        .await?;
    let mut out = serde_json::to_value(&report).unwrap_or_default();
    out["enrichment"] = serde_json::to_value(&enrichment).unwrap_or_default();
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
struct ActivationEvent {
    user_id: String,
    step_name: String,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
}

/// Log an activation step.
///
/// `POST /api/activation/log-event` {user_id, step_name, metadata?} → 201.
#[utoipa::path(post, path = "/api/activation/log-event", tag = "public", security(()),
    request_body = openapi::ActivationEventInput,
    responses((status = 201, body = openapi::StatusBody), openapi::Errors))]
async fn log_event<S: Store>(
    State(app): AppState<S>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = body(bytes)?;
    let event: ActivationEvent = json_body(
        &bytes,
        &["user_id", "step_name"],
        "expected {\"user_id\": string, \"step_name\": string, \"metadata\"?: object}: ",
    )?;
    if event.user_id.trim().is_empty() || event.user_id.chars().count() > 200 {
        return Err(ApiError::invalid(
            "user_id",
            "expected a non-empty string of at most 200 characters",
        ));
    }
    // Only the configured flow's steps: an invented step would become a row of the funnel.
    let steps = &app.settings.activation_steps;
    if !steps.contains(&event.step_name) {
        return Err(ApiError::invalid(
            "step_name",
            format!(
                "expected one of {} (the server's activation steps), got {}",
                steps.join(", "),
                brim_core::quote(&event.step_name)
            ),
        ));
    }
    if let Some(metadata) = &event.metadata {
        // Metadata is kept with the event: a few small values, not a payload store.
        let size = serde_json::to_string(metadata).map_or(usize::MAX, |t| t.len());
        if metadata.len() > 20 || size > 2_000 {
            return Err(ApiError::invalid(
                "metadata",
                format!(
                    "expected at most 20 entries and 2,000 bytes of JSON, got {} entries and {size} bytes",
                    metadata.len()
                ),
            ));
        }
    }
    let mut payload = event.metadata.unwrap_or_default();
    payload.insert("step".into(), Value::String(event.step_name.clone()));
    app.store
        .append_events(&[NewEvent {
            event_type: EventType::ActivationStepCompleted,
            occurred_at: app.clock.now_ms(),
            user_id: Some(event.user_id),
            company_id: None,
            payload: Value::Object(payload),
        }])
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"status": "logged"}))))
}

#[derive(Deserialize)]
pub(super) struct PeriodQuery {
    end_date: Option<String>,
    days: Option<String>,
}

/// `end_date` (YYYY-MM-DD, UTC; the period includes that whole day) and `days` (1..=3660,
/// default 30), as the original.
pub(super) fn period<S: Store>(app: &App<S>, q: &PeriodQuery) -> Result<Period, ApiError> {
    let days = match &q.days {
        None => 30,
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=3660).contains(d))
            .ok_or_else(|| {
                ApiError::invalid(
                    "days",
                    format!(
                        "expected a whole number from 1 to 3660, got {}",
                        brim_core::quote(text)
                    ),
                )
            })?,
    };
    let end = match &q.end_date {
        // Periods are [start, end): one past "now" includes what happened this millisecond.
        None => app.clock.now_ms().saturating_add(1),
        Some(text) => {
            let date: jiff::civil::Date = text.trim().parse().map_err(|_| {
                ApiError::invalid(
                    "end_date",
                    format!(
                        "expected a date like 2026-11-24, got {}",
                        brim_core::quote(text)
                    ),
                )
            })?;
            let start_of_day = jiff::tz::TimeZone::UTC
                .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
                .map_err(|_| ApiError::invalid("end_date", "date out of range"))?
                .as_millisecond();
            start_of_day + DAY_MS
        }
    };
    Ok(Period { end, days })
}

/// Leads the activation page may score at once.
pub const TRY_LIMIT: usize = 1_000;

/// Score a small file for the activation page (stores nothing).
///
/// The activation page's "try it": scores a small file (a JSON array, JSON lines or CSV, at most
/// 1,000 leads and 1 MiB) and answers the scores, best first. Public, rate-limited, and stores
/// nothing: a visitor's file never enters the lead pipeline (the page logs its own activation
/// steps).
#[utoipa::path(post, path = "/api/activation/try", tag = "public", security(()),
    params(("model" = Option<String>, Query, description = "a model name; default balanced")),
    request_body(content(
        (Vec<openapi::LeadInput> = "application/json"),
        (String = "application/x-ndjson"),
        (String = "text/csv"))),
    responses((status = 200, body = openapi::TryResult), openapi::Errors))]
async fn activation_try<S: Store>(
    State(app): AppState<S>,
    Query(query): Query<ModelQuery>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let bytes = body(bytes)?;
    let model = query.model.as_deref().unwrap_or("balanced");
    // Visitors score with the presets only: uploaded models are the team's own.
    let scorer = (app.model_source(model) == Some(crate::app::ModelSource::Preset))
        .then(|| app.scorer(model))
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid(
                "model",
                format!(
                    "expected one of the presets ({}), got {}",
                    brim_core::PRESETS.map(|(n, _)| n).join(", "),
                    brim_core::quote(model)
                ),
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("file", "the file is empty"));
    }
    let bytes = bytes.to_vec();
    // Parsing and scoring up to 1,000 leads is blocking work: off the async threads.
    let (reports, failures) = tokio::task::spawn_blocking(move || {
        let (leads, failures) = crate::jobs::parse_all(bytes, None, TRY_LIMIT)?;
        let mut reports = scorer.report_batch(&leads);
        reports.sort_by_key(|r| std::cmp::Reverse(r.total_score));
        Ok::<_, String>((reports, failures))
    })
    .await
    .map_err(|_| ApiError::unavailable())?
    .map_err(|e| ApiError::invalid("file", e))?;
    Ok(Json(json!({"scored": reports, "failures": failures})))
}

/// `GET /openapi.json`: the OpenAPI document of this API.
async fn openapi_json() -> impl IntoResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| openapi::document().to_pretty_json().unwrap_or_default());
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.as_str(),
    )
}

/// A KPI card: this period against the one before.
///
/// `GET /api/analytics/kpi/{qualified-leads|email-engagement|new-activations|funnel-conversion-rate}`.
#[utoipa::path(get, path = "/api/analytics/kpi/{metric}", tag = "analytics",
    params(("metric" = openapi::KpiMetric, Path), ("end_date" = Option<String>, Query, description = "YYYY-MM-DD (UTC, inclusive); default today"), ("days" = Option<u32>, Query, minimum = 1, maximum = 3660, description = "period length; default 30")),
    responses((status = 200, body = openapi::KpiCard), openapi::Errors))]
async fn kpi<S: Store>(
    State(app): AppState<S>,
    Path(metric): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Value>, ApiError> {
    let period = period(&app, &q)?;
    let known = [
        "qualified-leads",
        "email-engagement",
        "new-activations",
        "funnel-conversion-rate",
    ];
    if !known.contains(&metric.as_str()) {
        return Err(ApiError::not_found(format!(
            "no KPI {} (known: {})",
            brim_core::quote(&metric),
            known.join(", ")
        )));
    }
    let kpis = app.store.kpis(period).await?;
    let card = match metric.as_str() {
        "qualified-leads" => &kpis.qualified_leads,
        "email-engagement" => &kpis.email_click_through_rate,
        "new-activations" => &kpis.new_activations,
        _ => &kpis.funnel_conversion_rate,
    };
    let mut value = serde_json::to_value(card).unwrap_or_default();
    if metric == "funnel-conversion-rate" {
        value["average_days_to_activation"] = json!(kpis.average_days_to_activation);
    }
    Ok(Json(value))
}

/// Qualified leads and activations per day.
///
/// `GET /api/analytics/funnel-over-time`: every UTC day of the period.
#[utoipa::path(get, path = "/api/analytics/funnel-over-time", tag = "analytics",
    params(("end_date" = Option<String>, Query, description = "YYYY-MM-DD (UTC, inclusive); default today"), ("days" = Option<u32>, Query, minimum = 1, maximum = 3660, description = "period length; default 30")),
    responses((status = 200, body = Vec<openapi::FunnelDay>), openapi::Errors))]
async fn funnel_over_time<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Vec<brim_store::FunnelDay>>, ApiError> {
    let period = period(&app, &q)?;
    Ok(Json(app.store.funnel_over_time(period).await?))
}

#[derive(Deserialize)]
struct TableQuery {
    page: Option<String>,
    per_page: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    action: Option<String>,
    status: Option<String>,
    search: Option<String>,
}

pub(super) fn number(
    field: &str,
    text: &Option<String>,
    default: u32,
    max: u32,
) -> Result<u32, ApiError> {
    match text {
        None => Ok(default),
        Some(t) => t
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    field,
                    format!(
                        "expected a whole number from 1 to {max}, got {}",
                        brim_core::quote(t)
                    ),
                )
            }),
    }
}

/// The scored-leads table, paged, sorted and filtered.
///
/// `GET /api/analytics/scored-leads-table`: the original's rows (`company_id`, `company_name`,
/// `score`, `status` Sent/Pending, `email_variant_sent`) plus the score's parts, one page at a
/// time (`page`, `per_page` ≤ 500, default 100), sortable (`sort` = score|name|date,
/// `order` = desc|asc), filterable (`action`, `status` = sent|pending|none|queued|...,
/// `search`). The total is in the `x-total-count` header.
#[utoipa::path(get, path = "/api/analytics/scored-leads-table", tag = "analytics",
    params(("page" = Option<u32>, Query, minimum = 1), ("per_page" = Option<u32>, Query, minimum = 1, maximum = 500),
        ("sort" = Option<String>, Query, description = "score, name or date"), ("order" = Option<String>, Query, description = "desc or asc"),
        ("action" = Option<String>, Query), ("status" = Option<String>, Query, description = "sent, pending, none, waiting, queued, leased, dead, cancelled"),
        ("search" = Option<String>, Query, description = "part of the company name")),
    responses((status = 200, body = Vec<openapi::TableRow>, headers(("x-total-count" = u64, description = "rows in all pages"))), openapi::Errors))]
async fn scored_leads_table<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<TableQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let sort = match q.sort.as_deref() {
        None => LeadSort::Score,
        Some(s) => s.parse::<LeadSort>().map_err(|_| {
            ApiError::invalid(
                "sort",
                format!("expected score, name or date, got {}", brim_core::quote(s)),
            )
        })?,
    };
    let descending = match q.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(o) => {
            return Err(ApiError::invalid(
                "order",
                format!("expected desc or asc, got {}", brim_core::quote(o)),
            ));
        }
    };
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<StatusFilter>()
                .map_err(|e| ApiError::invalid("status", e))?,
        ),
    };
    let query = LeadsQuery {
        page: number("page", &q.page, 1, u32::MAX)?,
        per_page: number("per_page", &q.per_page, 100, 500)?,
        sort,
        descending,
        action: q.action.clone(),
        status,
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
    };
    let page = app.store.scored_leads(&query).await?;
    let rows: Vec<Value> = page
        .rows
        .iter()
        .map(|r| {
            let sent = r.email_status == Some(brim_store::EmailStatus::Sent);
            json!({
                "company_id": r.company_id,
                "company_name": r.company_name,
                "score": r.score,
                "status": if sent { "Sent" } else { "Pending" },
                "email_variant_sent": if sent { r.email_variant.clone() } else { None },
                "fit_score": r.fit_score,
                "intent_score": r.intent_score,
                "action": r.action,
                "model": r.model,
                "scored_at": r.scored_at,
                "email_status": r.email_status.map(|s| s.as_str()),
            })
        })
        .collect();
    Ok(([("x-total-count", page.total.to_string())], Json(rows)))
}
