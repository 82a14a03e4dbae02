//! The learned-model registry over HTTP: upload a model file (`brim train --output`), list,
//! activate with a weight, deactivate, roll back, and compare two models on the outcomes
//! reported to this server.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use brim_core::learn::{self, LearnedModel};
use brim_store::{Activation, LearnedModelInfo, NewLearnedModel};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Query};
use crate::app::Store;

/// Largest model file accepted (an ensemble of 100 trees over 300 features is about 1 MB).
pub const MODEL_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The default share of the learned probability in the total when activating.
pub const DEFAULT_WEIGHT: f64 = 0.5;

/// How many changes of the active model the list shows.
const HISTORY: u32 = 20;

/// What the registry keeps to list a model without reading its file.
fn summary(model: &LearnedModel) -> Value {
    let e = model.evaluation.as_ref();
    json!({
        "learner": model.learner.to_string(),
        "label": model.label,
        "trained_at": model.trained_at,
        "n_rows": model.n_rows,
        "n_positive": model.n_positive,
        "folds": e.map(|e| e.folds),
        "roc_auc": e.map(|e| e.roc_auc),
        "roc_auc_sd": e.map(|e| e.roc_auc_sd),
        "log_loss": e.map(|e| e.log_loss),
        "top_decile_lift": e.map(|e| e.top_decile_lift),
        "calibration": e.map(|e| &e.calibration),
        "top_features": model.top_features.iter().take(10).collect::<Vec<_>>(),
        "leak_warnings": model.leak_warnings,
        "columns": model.columns().len(),
        "foreign_columns": model.foreign_columns(),
    })
}

/// A model as the API shows it: the registry's row, its summary, and whether it is in force.
fn item(info: &LearnedModelInfo, active: Option<&Activation>) -> Value {
    let mut v = serde_json::from_str::<Value>(&info.summary)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    v["id"] = json!(info.id);
    v["name"] = json!(info.name);
    v["version"] = json!(info.version);
    v["uploaded_at"] = json!(info.uploaded_at);
    v["active"] = json!(active.is_some_and(|a| a.model_id == Some(info.id)));
    v
}

fn activation(a: &Activation) -> Value {
    json!({
        "id": a.id,
        "model_id": a.model_id,
        "weight": a.weight,
        "restores": a.restores,
        "activated_at": a.activated_at,
    })
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no learned model {}", brim_core::quote(id))))
}

/// The learned models and the one in force.
///
/// The learned models, newest first, with their cross-validated metrics and calibration; the
/// activation in force (`null`: the rules alone); the last 20 changes of it.
#[utoipa::path(get, path = "/api/learned-models", tag = "learned models",
    responses((status = 200, body = super::openapi::LearnedRegistry), super::openapi::Errors))]
pub(super) async fn list<S: Store>(State(app): AppState<S>) -> Result<Json<Value>, ApiError> {
    let history = app.store.learned_activations(HISTORY).await?;
    let current = history.first();
    let models: Vec<Value> = app
        .store
        .learned_models()
        .await?
        .iter()
        .map(|m| item(m, current))
        .collect();
    Ok(Json(json!({
        "active": current.filter(|a| a.model_id.is_some()).map(activation),
        "models": models,
        "history": history.iter().map(activation).collect::<Vec<_>>(),
    })))
}

/// Upload a learned model.
///
/// Adds a model file, as `brim train --output` (or `brim.LearnedModel.save`) writes it, to the
/// registry. The file is checked first (format, version, every tree). A model that reads none of
/// a lead's fields (one trained on a CRM export's own columns) is refused: it would give every
/// lead the same probability. Columns no lead has are listed under `warnings`. Uploading does
/// not activate.
#[utoipa::path(post, path = "/api/learned-models", tag = "learned models",
    request_body(content = String, content_type = "application/json",
        description = "the model file (JSON), at most 32 MB"),
    responses((status = 201, body = super::openapi::LearnedModelItem), super::openapi::Errors))]
pub(super) async fn upload<S: Store>(
    State(app): AppState<S>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = bytes.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(MODEL_BODY_LIMIT)
        } else {
            ApiError::invalid("body", "the request body could not be read")
        }
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::invalid("body", "expected a model file (JSON) in UTF-8"))?;
    let text = text.to_string();
    let (model, text) =
        tokio::task::spawn_blocking(move || LearnedModel::from_json(&text).map(|m| (m, text)))
            .await
            .map_err(|_| ApiError::unavailable())?
            .map_err(|e| {
                ApiError::invalid(
                    "body",
                    format!("not a learned model file (brim train --output writes one): {e}"),
                )
            })?;
    let foreign = model.foreign_columns();
    let columns = model.columns();
    if !columns.is_empty() && foreign.len() == columns.len() {
        let shown: Vec<String> = columns
            .iter()
            .take(5)
            .map(|c| brim_core::quote(c))
            .collect();
        return Err(ApiError::invalid(
            "body",
            format!(
                "the model reads none of a lead's fields (its columns: {}{}), so it would give every lead the same probability; \
                 train it on this server's leads (brim train --database-url) or on columns named as lead fields \
                 (employee_count, industry, funding_stage, country, contact.title, attributes.NAME, ...)",
                shown.join(", "),
                if columns.len() > 5 { ", ..." } else { "" }
            ),
        ));
    }
    let summary = summary(&model).to_string();
    let now = app.clock.now_ms();
    let id = app
        .store
        .add_learned_model(
            &NewLearnedModel {
                name: &model.name,
                version: &model.version,
                summary: &summary,
                body: &text,
            },
            now,
        )
        .await?;
    tracing::info!(id, name = %model.name, version = %model.version, "learned model uploaded");
    let info = LearnedModelInfo {
        id,
        name: model.name.clone(),
        version: model.version.clone(),
        summary,
        uploaded_at: now,
    };
    // A model just added has never been activated: no need to ask which one is in force.
    let mut v = item(&info, None);
    v["warnings"] = json!(
        foreign
            .iter()
            .map(|c| format!(
                "column {} is not a lead field: it is missing for every lead",
                brim_core::quote(c)
            ))
            .collect::<Vec<_>>()
    );
    Ok((StatusCode::CREATED, Json(v)))
}

/// One learned model.
///
/// One model of the registry with its summary (metrics, calibration, top features).
#[utoipa::path(get, path = "/api/learned-models/{id}", tag = "learned models",
    params(("id" = i64, Path, description = "the registry's id")),
    responses((status = 200, body = super::openapi::LearnedModelItem), super::openapi::Errors))]
pub(super) async fn get_one<S: Store>(
    State(app): AppState<S>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let (info, _) = app
        .store
        .learned_model(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no learned model {id}")))?;
    let current = app.store.learned_activations(1).await?;
    Ok(Json(item(&info, current.first())))
}

/// `POST /api/learned-models/{id}/activate`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    weight: Option<f64>,
}

/// Make a learned model score.
///
/// From now on every score this server and every server on the database gives (within 5 s)
/// blends the model in: total = (1 − weight) × rule total + weight × 100 × probability, the
/// action from the rule model's thresholds; `learned` in the score shows the probability and
/// the features behind it. `weight` 1 replaces the rule total; the default is 0.5.
#[utoipa::path(post, path = "/api/learned-models/{id}/activate", tag = "learned models",
    params(("id" = i64, Path, description = "the registry's id")),
    request_body(content = Option<super::openapi::ActivateInput>, content_type = "application/json"),
    responses((status = 200, body = super::openapi::ActivationOut), super::openapi::Errors))]
pub(super) async fn activate<S: Store>(
    State(app): AppState<S>,
    Path(id): Path<String>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let bytes = super::body(bytes)?;
    let body: ActivateBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        ActivateBody::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid(
                "weight",
                format!("expected {{\"weight\": a number from 0 to 1}}: {e}"),
            )
        })?
    };
    let weight = body.weight.unwrap_or(DEFAULT_WEIGHT);
    if !(0.0..=1.0).contains(&weight) {
        return Err(ApiError::invalid(
            "weight",
            format!(
                "expected a number from 0 (the rules alone) to 1 (the model alone), got {weight}"
            ),
        ));
    }
    let done = app
        .store
        .activate_learned(Some(id), weight, app.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no learned model {id}")))?;
    tracing::info!(model = id, weight, "learned model activated");
    app.refresh_learned().await?;
    Ok(Json(activation(&done)))
}

/// Score with the rules alone.
///
/// Stops blending a learned model in (the registry keeps every model; roll back or activate to
/// bring one back).
#[utoipa::path(post, path = "/api/learned-models/deactivate", tag = "learned models",
    responses((status = 200, body = super::openapi::ActivationOut), super::openapi::Errors))]
pub(super) async fn deactivate<S: Store>(State(app): AppState<S>) -> Result<Json<Value>, ApiError> {
    let done = app
        .store
        .activate_learned(None, 1.0, app.clock.now_ms())
        .await?
        .ok_or_else(ApiError::unavailable)?;
    tracing::info!("learned model deactivated: the rules alone");
    app.refresh_learned().await?;
    Ok(Json(activation(&done)))
}

/// Go back to the model in force before.
///
/// Brings back the model (or the rules alone) and weight in force before the current
/// activation; rolling back again goes back one more, and before the first activation are the
/// rules alone. 409 when there is nothing to go back to.
#[utoipa::path(post, path = "/api/learned-models/rollback", tag = "learned models",
    responses((status = 200, body = super::openapi::ActivationOut), super::openapi::Errors))]
pub(super) async fn rollback<S: Store>(State(app): AppState<S>) -> Result<Json<Value>, ApiError> {
    let done = app
        .store
        .rollback_learned(app.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::conflict("there is no earlier activation to go back to"))?;
    tracing::info!(model = ?done.model_id, weight = done.weight, "learned model rolled back");
    app.refresh_learned().await?;
    Ok(Json(activation(&done)))
}

#[derive(Debug, Deserialize)]
pub(super) struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
    seed: Option<u64>,
}

/// Compare two learned models on the reported outcomes.
///
/// Both models score every stored lead that has an outcome (`POST /api/report-outcome`;
/// demo booked and closed won count as converted): each one's ROC-AUC, log-loss and
/// top-decile lift, and B − A's ROC-AUC with a 95 % paired-bootstrap interval and a verdict.
#[utoipa::path(get, path = "/api/learned-models/compare", tag = "learned models",
    params(("a" = i64, Query, description = "model A's id"), ("b" = i64, Query, description = "model B's id"),
        ("seed" = Option<u64>, Query, description = "the bootstrap's seed; default 0")),
    responses((status = 200, body = super::openapi::ModelComparison), super::openapi::Errors))]
pub(super) async fn compare<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<CompareQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut models = Vec::with_capacity(2);
    for (field, id) in [("a", &q.a), ("b", &q.b)] {
        let id = id
            .as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| ApiError::invalid(field, "expected a learned model's id"))?;
        let (info, body) = app
            .store
            .learned_model(id)
            .await?
            .ok_or_else(|| ApiError::invalid(field, format!("no learned model {id}")))?;
        models.push((info, body));
    }
    let labelled = app.store.labelled_leads().await?;
    let seed = q.seed.unwrap_or(0);
    let bodies: Vec<String> = models.iter().map(|(_, b)| b.clone()).collect();
    let comparison = tokio::task::spawn_blocking(move || {
        let (leads, y): (Vec<brim_core::Lead>, Vec<bool>) = labelled
            .into_iter()
            .map(|(lead, outcome)| (lead, outcome.is_positive()))
            .unzip();
        let positives = y.iter().filter(|&&v| v).count();
        if positives == 0 || positives == y.len() {
            return Err(format!(
                "{} leads have a reported outcome, {positives} of them converted: comparing rankings needs both outcomes (report them with POST /api/report-outcome)",
                y.len()
            ));
        }
        let mut p = Vec::with_capacity(2);
        for body in &bodies {
            let model = LearnedModel::from_json(body).map_err(|e| e.to_string())?;
            p.push(model.predict_leads(&leads).map_err(|e| e.to_string())?);
        }
        Ok(learn::compare(&p[0], &p[1], &y, seed))
    })
    .await
    .map_err(|_| ApiError::unavailable())?
    .map_err(ApiError::conflict)?;
    let mut v = serde_json::to_value(&comparison).unwrap_or_default();
    v["verdict"] = json!(comparison.verdict());
    v["a_model"] =
        json!({"id": models[0].0.id, "name": models[0].0.name, "version": models[0].0.version});
    v["b_model"] =
        json!({"id": models[1].0.id, "name": models[1].0.name, "version": models[1].0.version});
    Ok(Json(v))
}
