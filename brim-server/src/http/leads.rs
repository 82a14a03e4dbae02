//! A lead's whole story, reported outcomes, the models, and the analytics the original computed
//! but never exposed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;

use super::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use brim_email::preview;
use brim_store::{EventType, NewEvent, Outcome, OutcomeKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, PeriodQuery, body, json_body, period};
use crate::app::{ModelSource, Store};

/// A lead's story: scores, e-mail, events, outcomes.
///
/// `GET /api/leads/{company_id}`: the lead, its score history with explanations, its e-mail,
/// events and outcomes.
#[utoipa::path(get, path = "/api/leads/{company_id}", tag = "leads",
    params(("company_id" = String, Path)),
    responses((status = 200, body = super::openapi::LeadDetail), super::openapi::Errors))]
pub(super) async fn lead<S: Store>(
    State(app): AppState<S>,
    Path(company_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = app.store.get_lead(&company_id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no lead with company_id {}",
            brim_core::quote(&company_id)
        ))
    })?;
    let scores = app.store.score_history(&company_id).await?;
    let email = app.store.email_for_company(&company_id).await?;
    let events = app.store.events_for_company(&company_id).await?;
    let outcomes = app.store.outcomes_for(&company_id).await?;
    // The intent signals in the stored lead, with their evidence (what the explanation's
    // intent rules read).
    let signals = brim_core::extract_signals(&stored.lead);
    Ok(Json(json!({
        "company_id": company_id,
        "signals": signals,
        "lead": stored.lead,
        "created_at": stored.created_at,
        "updated_at": stored.updated_at,
        "scores": scores.iter().map(|s| json!({
            "scored_at": s.scored_at,
            "report": s.report,
        })).collect::<Vec<_>>(),
        "email": email.as_ref().map(|e| preview(&app.composer, e)),
        "events": events.iter().map(|e| json!({
            "id": e.id,
            "event_type": e.event_type.as_str(),
            "occurred_at": e.occurred_at,
            "user_id": e.user_id,
            "payload": e.payload,
        })).collect::<Vec<_>>(),
        "outcomes": outcomes.iter().map(|o| json!({
            "outcome": o.outcome.as_str(),
            "at": o.occurred_at,
        })).collect::<Vec<_>>(),
    })))
}

/// Delete a lead.
///
/// `DELETE /api/leads/{company_id}`: removes the company everywhere — the lead, its scores,
/// its e-mail (not sent yet: withdrawn; a worker holding it sends nothing), its events and
/// outcomes — so it leaves the table, the charts and the KPIs. Its suppressions stay (an
/// address that unsubscribed stays unsubscribed). Scoring the company again starts it afresh.
#[utoipa::path(delete, path = "/api/leads/{company_id}", tag = "leads",
    params(("company_id" = String, Path)),
    responses((status = 200, body = super::openapi::LeadDeleted), super::openapi::Errors))]
pub(super) async fn delete_lead<S: Store>(
    State(app): AppState<S>,
    Path(company_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !app.store.delete_lead(&company_id).await? {
        return Err(ApiError::not_found(format!(
            "no lead with company_id {}",
            brim_core::quote(&company_id)
        )));
    }
    tracing::info!(company = %company_id, "lead deleted");
    Ok(Json(json!({"company_id": company_id, "deleted": true})))
}

/// The server's settings a client needs.
///
/// `GET /api/settings`: the activation flow's steps (the only ones
/// `POST /api/activation/log-event` accepts) and the e-mail policy (which leads get an
/// outreach e-mail), as `brim serve` was started with.
#[utoipa::path(get, path = "/api/settings", tag = "analytics",
    responses((status = 200, body = super::openapi::SettingsOut), super::openapi::Errors))]
pub(super) async fn settings<S: Store>(State(app): AppState<S>) -> Json<Value> {
    let s = &app.settings;
    Json(json!({
        "activation_steps": s.activation_steps,
        "activation_step": brim_store::ACTIVATION_STEP,
        "email_policy": {
            "actions": s.email_actions.as_ref().map(|a| a.iter().map(|a| a.as_str()).collect::<Vec<_>>()),
            "min_score": s.email_min_score,
            "summary": s.email_policy(),
        },
        "enrichment": app.enricher.as_ref().map(|e| {
            let c = e.inner().config();
            json!({
                "provider": c.name,
                "description": c.description,
                "requests_per_second": c.requests_per_second,
                "cache_hours": c.cache_hours,
            })
        }),
    }))
}

#[derive(Deserialize)]
pub(super) struct EnrichQuery {
    model: Option<String>,
}

/// Fill a stored lead in from the data provider now.
///
/// `POST /api/leads/{company_id}/enrich?model=`: asks the server's data provider (`brim serve
/// --enrich`) about the stored lead, merges what it knows (the lead's own values win; each
/// filled value keeps its source), stores the lead, scores it again (with `model`, else the
/// model of its latest score) and logs `lead_enriched` and `score_calculated`. Answers
/// `{company_id, enrichment, score}`; a provider that fails leaves the lead as it was
/// (`enrichment.status`: failed, with the reason).
#[utoipa::path(post, path = "/api/leads/{company_id}/enrich", tag = "leads",
    params(("company_id" = String, Path), ("model" = Option<String>, Query, description = "default: the latest score's model")),
    responses((status = 200, body = super::openapi::Enriched), super::openapi::Errors))]
pub(super) async fn enrich<S: Store>(
    State(app): AppState<S>,
    Path(company_id): Path<String>,
    Query(q): Query<EnrichQuery>,
) -> Result<Json<Value>, ApiError> {
    if app.enricher.is_none() {
        return Err(ApiError::conflict(
            "this server has no data provider: start it with --enrich PROVIDER",
        ));
    }
    let stored = app.store.get_lead(&company_id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no lead with company_id {}",
            brim_core::quote(&company_id)
        ))
    })?;
    let model = match q.model {
        Some(m) => m,
        None => app
            .store
            .latest_score(&company_id)
            .await?
            .map_or_else(|| "balanced".to_string(), |s| s.report.model),
    };
    let scorer = app
        .scorer_for(&model)
        .map_err(|e| ApiError::invalid("model", e))?;
    let (lead, outcome) = app
        .enrich(stored.lead, None)
        .await
        .ok_or_else(ApiError::unavailable)?;
    let report = app.report(&scorer, &lead);
    let now = app.clock.now_ms();
    let events = [
        outcome.event(&company_id, now),
        NewEvent::score_calculated(&report, now),
    ];
    app.store
        .record_scored(
            std::slice::from_ref(&lead),
            now,
            &[brim_store::NewScore {
                report: report.clone(),
                scored_at: now,
            }],
            &events,
        )
        .await?;
    Ok(Json(json!({
        "company_id": company_id,
        "enrichment": outcome,
        "score": report,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeReport {
    company_id: String,
    outcome: String,
    #[serde(default)]
    at: Option<i64>,
}

/// Report what happened with a lead.
///
/// `POST /api/report-outcome` {company_id, outcome: demo_booked | closed_won | closed_lost |
/// not_a_fit, at? (Unix ms)} → 201.
#[utoipa::path(post, path = "/api/report-outcome", tag = "leads",
    request_body = super::openapi::OutcomeInput,
    responses((status = 201, body = super::openapi::OutcomeCreated), super::openapi::Errors))]
pub(super) async fn report_outcome<S: Store>(
    State(app): AppState<S>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = body(bytes)?;
    let report: OutcomeReport = json_body(&bytes, &["company_id", "outcome"], "")?;
    let outcome: OutcomeKind = report.outcome.parse().map_err(|_| {
        ApiError::invalid(
            "outcome",
            format!(
                "expected demo_booked, closed_won, closed_lost or not_a_fit, got {}",
                brim_core::quote(&report.outcome)
            ),
        )
    })?;
    if report.company_id.trim().is_empty() {
        return Err(ApiError::invalid(
            "company_id",
            "expected a non-empty company id",
        ));
    }
    if app.store.get_lead(&report.company_id).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "no lead with company_id {}; score it first",
            brim_core::quote(&report.company_id)
        )));
    }
    let now = app.clock.now_ms();
    let at = report.at.unwrap_or(now);
    app.store
        .report_outcomes(&[Outcome {
            company_id: report.company_id.clone(),
            outcome,
            occurred_at: at,
        }])
        .await?;
    app.store
        .append_events(&[NewEvent {
            event_type: EventType::OutcomeReported,
            occurred_at: now,
            user_id: None,
            company_id: Some(report.company_id.clone()),
            payload: json!({"outcome": outcome.as_str(), "at": at}),
        }])
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"company_id": report.company_id, "outcome": outcome.as_str(), "at": at})),
    ))
}

/// The models this server scores with.
///
/// The models this server scores with: the presets and the uploaded ones.
#[utoipa::path(get, path = "/api/models", tag = "models",
    responses((status = 200, body = Vec<super::openapi::ModelSummary>), super::openapi::Errors))]
pub(super) async fn models<S: Store>(State(app): AppState<S>) -> Json<Value> {
    let list: Vec<Value> = app
        .models()
        .into_iter()
        .map(|(name, entry)| model_summary(&name, &entry.scorer, entry.source))
        .collect();
    Json(json!(list))
}

/// A model in the list: name, version, description, and where it came from.
fn model_summary(name: &str, scorer: &brim_core::Scorer, source: ModelSource) -> Value {
    let model = scorer.model();
    json!({
        "name": name,
        "version": model.version,
        "description": model.description,
        "source": source.as_str(),
    })
}

/// A model as TOML.
///
/// One model as TOML (the format to copy, edit and upload).
#[utoipa::path(get, path = "/api/models/{name}", tag = "models",
    params(("name" = String, Path, description = "a model name")),
    responses((status = 200, description = "the model", content_type = "application/toml", body = String),
        super::openapi::Errors))]
pub(super) async fn model<S: Store>(
    State(app): AppState<S>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let scorer = app
        .scorer(&name)
        .ok_or_else(|| ApiError::not_found(format!("no model {}", brim_core::quote(&name))))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/toml; charset=utf-8",
        )],
        scorer.model().to_toml(),
    )
        .into_response())
}

/// Upload a custom model.
///
/// Uploads a custom model (TOML or JSON, the format `GET /api/models/{name}` shows) under
/// `name`, which must match the file's own `name`. The model is checked first — every problem
/// is listed in a 422 — then kept in the models folder and used by `?model=name` from then on.
/// Presets cannot be replaced (409).
#[utoipa::path(put, path = "/api/models/{name}", tag = "models",
    params(("name" = String, Path, description = "1–64 letters, digits, `_` or `-`; not a preset's")),
    request_body(content = String, content_type = "text/plain",
        description = "the model file: TOML, or JSON when it starts with `{` (any content type is accepted)"),
    responses(
        (status = 201, description = "a new model", body = super::openapi::ModelSummary),
        (status = 200, description = "an uploaded model replaced", body = super::openapi::ModelSummary),
        super::openapi::Errors))]
pub(super) async fn put_model<S: Store>(
    State(app): AppState<S>,
    Path(name): Path<String>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    use crate::app::PutModelError;
    let bytes = body(bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::invalid("body", "expected a model file in UTF-8 (TOML or JSON)"))?;
    let (scorer, created) = match app.put_model(&name, text).await {
        Ok(done) => done,
        Err(PutModelError::BadName(n)) => {
            return Err(ApiError::invalid(
                "name",
                format!(
                    "expected 1 to 64 letters, digits, `_` or `-`, got {}",
                    brim_core::quote(&n)
                ),
            ));
        }
        Err(PutModelError::Preset(n)) => {
            return Err(ApiError::conflict(format!(
                "{} is a preset and cannot be replaced; upload under another name",
                brim_core::quote(&n)
            )));
        }
        Err(PutModelError::Invalid(e)) => {
            let field = e
                .problems
                .first()
                .map(|p| p.path.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "body".into());
            return Err(ApiError::invalid(field, e.to_string()));
        }
        Err(PutModelError::NameMismatch { url, file }) => {
            return Err(ApiError::invalid(
                "name",
                format!(
                    "the file names its model {} but the URL says {}; make them the same",
                    brim_core::quote(&file),
                    brim_core::quote(&url)
                ),
            ));
        }
        Err(PutModelError::NoFolder) => {
            return Err(ApiError::conflict(
                "this server keeps no models folder (--models-dir), so it does not accept uploads",
            ));
        }
        Err(PutModelError::Io(e)) => {
            tracing::error!(error = %e, model = %name, "could not keep an uploaded model");
            return Err(ApiError::unavailable());
        }
    };
    let model = scorer.model();
    tracing::info!(model = %name, version = %model.version, created, "model uploaded");
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(json!({
            "name": name,
            "version": model.version,
            "description": model.description,
            "source": "custom",
        })),
    ))
}

/// Latest scores in ten bins.
///
/// `GET /api/analytics/score-distribution`: latest scores in ten bins.
#[utoipa::path(get, path = "/api/analytics/score-distribution", tag = "analytics",
    params(("end_date" = Option<String>, Query, description = "YYYY-MM-DD (UTC, inclusive); either parameter limits the answer to the companies whose latest score is from the period"), ("days" = Option<u32>, Query, minimum = 1, maximum = 3660, description = "period length, default 30; neither parameter given: every company")),
    responses((status = 200, body = Vec<super::openapi::ScoreBin>), super::openapi::Errors))]
pub(super) async fn score_distribution<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Vec<brim_store::ScoreBin>>, ApiError> {
    // Without a period: every company, as the original.
    let (start, end) = if q.days.is_none() && q.end_date.is_none() {
        (i64::MIN, i64::MAX)
    } else {
        period(&app, &q)?.current()
    };
    Ok(Json(app.store.score_distribution(start, end).await?))
}

#[derive(Deserialize)]
pub(super) struct TopQuery {
    n: Option<String>,
}

/// The best leads by latest score.
///
/// `GET /api/analytics/top-leads?n=10`.
#[utoipa::path(get, path = "/api/analytics/top-leads", tag = "analytics",
    params(("n" = Option<u32>, Query, minimum = 1, maximum = 500)),
    responses((status = 200, body = Vec<super::openapi::ScoredLeadOut>), super::openapi::Errors))]
pub(super) async fn top_leads<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<TopQuery>,
) -> Result<Json<Vec<brim_store::ScoredLead>>, ApiError> {
    let n = super::number("n", &q.n, 10, 500)?;
    Ok(Json(app.store.top_leads(n).await?))
}

/// Distinct users per activation step.
///
/// `GET /api/analytics/activation-funnel?end_date=&days=`: distinct users per step.
#[utoipa::path(get, path = "/api/analytics/activation-funnel", tag = "analytics",
    params(("end_date" = Option<String>, Query, description = "YYYY-MM-DD (UTC, inclusive); default today"), ("days" = Option<u32>, Query, minimum = 1, maximum = 3660, description = "period length; default 30")),
    responses((status = 200, body = Vec<super::openapi::StepCount>), super::openapi::Errors))]
pub(super) async fn activation_funnel<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Vec<brim_store::StepCount>>, ApiError> {
    let (start, end) = period(&app, &q)?.current();
    Ok(Json(
        app.store
            .activation_funnel(start, end, &app.settings.activation_steps)
            .await?,
    ))
}

/// E-mails sent, opened and clicked per variant, with confidence intervals and a significance test.
///
/// `GET /api/analytics/email-performance?end_date=&days=`: per variant, sent, opened, clicked,
/// their rates (percent) with 95 % Wilson intervals, and — for every variant but the leader —
/// the two-sided two-proportion z-test against the variant with the best rate (α = 0.05, no
/// correction for multiple comparisons), with the sends each variant needs to detect the
/// difference seen so far at 80 % power and how many more that is.
#[utoipa::path(get, path = "/api/analytics/email-performance", tag = "analytics",
    params(("end_date" = Option<String>, Query, description = "YYYY-MM-DD (UTC, inclusive); default today"), ("days" = Option<u32>, Query, minimum = 1, maximum = 3660, description = "period length; default 30")),
    responses((status = 200, body = Vec<super::openapi::VariantPerformance>), super::openapi::Errors))]
pub(super) async fn email_performance<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Value>, ApiError> {
    let (start, end) = period(&app, &q)?.current();
    let stats = app.store.variant_stats(start, end).await?;
    let counts: Vec<brim_core::stats::VariantCounts> = stats
        .iter()
        .map(|s| brim_core::stats::VariantCounts {
            variant: s.variant.clone(),
            sent: s.sent,
            opened: s.opened,
            clicked: s.clicked,
        })
        .collect();
    let results = brim_core::stats::compare(&counts);
    // Rates as percentages with two decimals, as the original's; p-values with four.
    let pct = |f: f64| (f * 10_000.0).round() / 100.0;
    let interval = |r: &brim_core::stats::Rate| json!([pct(r.low), pct(r.high)]);
    let versus = |c: &Option<brim_core::stats::Comparison>| {
        c.as_ref().map(|c| {
            json!({
                "against": c.against,
                "p_value": (c.p_value * 10_000.0).round() / 10_000.0,
                "significant": c.significant,
                "needed_per_variant": c.needed_per_variant,
                "more_needed": c.more_needed,
            })
        })
    };
    let rows: Vec<Value> = stats
        .iter()
        .zip(&results)
        .map(|(s, r)| {
            json!({
                "variant": s.variant,
                "sent": s.sent,
                "opened": s.opened,
                "clicked": s.clicked,
                "open_rate": pct(r.open.rate),
                "click_rate": pct(r.click.rate),
                "open_rate_ci": interval(&r.open),
                "click_rate_ci": interval(&r.click),
                "open_vs_best": versus(&r.open_vs_best),
                "click_vs_best": versus(&r.click_vs_best),
            })
        })
        .collect();
    Ok(Json(json!(rows)))
}
