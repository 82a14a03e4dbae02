//! `POST /api/leads/batch-score` and `GET /api/jobs/{id}`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};

use super::{Path, Query};
use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::{ApiError, AppState};
use crate::app::Store;
use crate::input::InputFormat;
use crate::jobs;

/// Largest upload accepted.
pub const UPLOAD_LIMIT: u64 = 4 << 30;

static UPLOADS: AtomicU64 = AtomicU64::new(0);

#[derive(Deserialize)]
pub(super) struct BatchQuery {
    model: Option<String>,
    format: Option<String>,
    enrich: Option<String>,
}

/// The upload being written to a temporary file; the file is removed if the upload fails
/// (dropped before `finish`).
struct Spool {
    path: std::path::PathBuf,
    file: tokio::fs::File,
    bytes: u64,
    kept: bool,
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Spool {
    async fn new() -> Result<Spool, ApiError> {
        let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("brim-upload-{}-{n}", std::process::id()));
        let file = tokio::fs::File::create(&path).await.map_err(|e| {
            tracing::error!(error = %e, path = %path.display(), "cannot create the upload file");
            unavailable()
        })?;
        Ok(Spool {
            path,
            file,
            bytes: 0,
            kept: false,
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > UPLOAD_LIMIT {
            return Err(ApiError::too_large(UPLOAD_LIMIT as usize));
        }
        self.file.write_all(chunk).await.map_err(|e| {
            tracing::error!(error = %e, "cannot write the upload file");
            unavailable()
        })
    }

    async fn finish(mut self) -> Result<(std::path::PathBuf, u64), ApiError> {
        self.file.flush().await.map_err(|_| unavailable())?;
        self.kept = true;
        Ok((self.path.clone(), self.bytes))
    }
}

fn unavailable() -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        error: "unavailable",
        detail: "the upload could not be stored; try again".into(),
        field: None,
    }
}

fn read_error() -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        error: "bad_request",
        detail: "the upload could not be read".into(),
        field: None,
    }
}

/// Score a file of leads in the background.
///
/// `POST /api/leads/batch-score?model=balanced&format=jsonl|json|csv` → 202 {job_id}. The leads
/// come as a multipart file (the original's form: any file field) or as the request body; the
/// format is the parameter, else detected from the first bytes. Streamed to disk, then scored
/// in the background; with `enrich=true`, each lead is first filled in from the server's data
/// provider (at its rate: a job of many leads takes as long as the provider's limit allows).
#[utoipa::path(post, path = "/api/leads/batch-score", tag = "scoring",
    params(("model" = Option<String>, Query, description = "a model name; default balanced"), ("format" = Option<String>, Query, description = "jsonl, json or csv; default detected"),
        ("enrich" = Option<bool>, Query, description = "fill each lead in from the server's data provider first (--enrich)")),
    request_body(content(
        (super::openapi::BatchUpload = "multipart/form-data"),
        (String = "application/x-ndjson"),
        (Vec<super::openapi::LeadInput> = "application/json"),
        (String = "text/csv"))),
    responses((status = 202, body = super::openapi::JobAccepted), super::openapi::Errors))]
pub(super) async fn batch_score<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<BatchQuery>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let model = q.model.as_deref().unwrap_or("balanced").to_string();
    let scorer = app
        .scorer_for(&model)
        .map_err(|e| ApiError::invalid("model", e))?;
    let enrich = super::enrich_flag(q.enrich.as_deref())?;
    if enrich && app.enricher.is_none() {
        return Err(ApiError::invalid(
            "enrich",
            "this server has no data provider: start it with --enrich PROVIDER",
        ));
    }
    let format = match q.format.as_deref() {
        None => None,
        Some(f) => Some(
            <InputFormat as clap::ValueEnum>::from_str(f, true).map_err(|_| {
                ApiError::invalid(
                    "format",
                    format!("expected jsonl, json or csv, got {}", brim_core::quote(f)),
                )
            })?,
        ),
    };
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut spool = Spool::new().await?;
    if multipart {
        let mut form = Multipart::from_request(request, &()).await.map_err(|e| {
            ApiError::invalid(
                "file",
                format!("expected a multipart form with a file: {e}"),
            )
        })?;
        let mut found = false;
        while let Some(mut field) = form.next_field().await.map_err(|_| read_error())? {
            if found {
                continue;
            }
            found = true;
            while let Some(chunk) = field.chunk().await.map_err(|_| read_error())? {
                spool.write(&chunk).await?;
            }
        }
        if !found {
            return Err(ApiError::invalid("file", "the form has no file field"));
        }
    } else {
        let mut stream = request.into_body().into_data_stream();
        while let Some(chunk) = stream.next().await {
            spool.write(&chunk.map_err(|_| read_error())?).await?;
        }
    }
    let (path, bytes) = spool.finish().await?;
    if bytes == 0 {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(ApiError::invalid("file", "the upload is empty"));
    }
    let detected = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || jobs::detect_format(&path, format))
            .await
            .map_err(|_| unavailable())?
            .map_err(|e| ApiError::invalid("format", e))?
    };
    let id = crate::job_runner::spawn(&app, &model, scorer, path, detected, bytes, enrich);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "job_id": id,
            "status_url": format!("/api/jobs/{id}"),
            "format": detected.as_str(),
            "bytes": bytes,
        })),
    ))
}

/// A batch job's progress and failures.
///
/// `GET /api/jobs/{id}`: scored, failed (with line numbers and reasons), handed to e-mail.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "scoring",
    params(("id" = String, Path, description = "the job id from batch-score")),
    responses((status = 200, body = super::openapi::JobStatus), super::openapi::Errors))]
pub(super) async fn job<S: Store>(
    State(app): AppState<S>,
    Path(id): Path<String>,
) -> Result<Json<jobs::JobStatus>, ApiError> {
    app.jobs
        .get(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no job {}", brim_core::quote(&id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_spool_dropped_before_it_is_finished_leaves_no_file() {
        let mut spool = Spool::new().await.unwrap();
        spool.write(b"{}").await.unwrap();
        let path = spool.path.clone();
        assert!(path.exists());
        drop(spool);
        assert!(!path.exists(), "a failed upload's file is removed");

        let mut spool = Spool::new().await.unwrap();
        spool.write(b"{\"company_name\": \"A\"}").await.unwrap();
        let (path, bytes) = spool.finish().await.unwrap();
        assert_eq!(bytes, 21);
        assert!(path.exists(), "a finished upload is kept for its job");
        std::fs::remove_file(path).unwrap();
    }
}
