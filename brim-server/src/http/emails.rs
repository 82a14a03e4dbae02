//! E-mails: list, preview, re-queue, cancel; tracking (opens, clicks) and one-click
//! unsubscribe.

use axum::Json;
use axum::extract::State;

use super::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use brim_email::{TokenKind, preview};
use brim_store::{EmailStatus, EventType, NewEvent, Suppression, SuppressionReason};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::app::Store;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// E-mail previews by status.
///
/// `GET /api/emails?status=queued&limit=50&offset=0`: previews, best score first.
#[utoipa::path(get, path = "/api/emails", tag = "emails",
    params(("status" = Option<String>, Query, description = "all, waiting, queued, leased, sent, dead or cancelled"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500), ("offset" = Option<u64>, Query, minimum = 0)),
    responses((status = 200, body = Vec<super::openapi::EmailPreview>), super::openapi::Errors))]
pub(super) async fn list<S: Store>(
    State(app): AppState<S>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<brim_email::Preview>>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => Some(
            s.parse::<EmailStatus>()
                .map_err(|e| ApiError::invalid("status", e))?,
        ),
    };
    let limit = super::number("limit", &q.limit, 50, 500)?;
    let offset = match &q.offset {
        None => 0,
        Some(t) => t.trim().parse::<u64>().map_err(|_| {
            ApiError::invalid(
                "offset",
                format!("expected a whole number >= 0, got {}", brim_core::quote(t)),
            )
        })?,
    };
    let rows = app.store.list_emails(status, limit, offset).await?;
    Ok(Json(
        rows.iter().map(|e| preview(&app.composer, e)).collect(),
    ))
}

fn email_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| {
        ApiError::invalid(
            "id",
            format!(
                "expected an e-mail id (a number), got {}",
                brim_core::quote(text)
            ),
        )
    })
}

/// An e-mail as it will be sent, and why it waits.
///
/// `GET /api/emails/{id}`: recipient, subject, text, HTML, planned send time, why it waits,
/// attempts and last error.
#[utoipa::path(get, path = "/api/emails/{id}", tag = "emails", params(("id" = i64, Path, description = "the e-mail id")),
    responses((status = 200, body = super::openapi::EmailPreview), super::openapi::Errors))]
pub(super) async fn get<S: Store>(
    State(app): AppState<S>,
    Path(id): Path<String>,
) -> Result<Json<brim_email::Preview>, ApiError> {
    let id = email_id(&id)?;
    let email = app
        .store
        .get_email(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no e-mail with id {id}")))?;
    Ok(Json(preview(&app.composer, &email)))
}

async fn change<S: Store>(
    app: &crate::App<S>,
    id: &str,
    requeue: bool,
) -> Result<Json<brim_email::Preview>, ApiError> {
    let id = email_id(id)?;
    let now = app.clock.now_ms();
    let done = if requeue {
        app.store.requeue(id, now).await?
    } else {
        app.store.cancel(id, now).await?
    };
    let email = app
        .store
        .get_email(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no e-mail with id {id}")))?;
    if !done {
        return Err(ApiError::conflict(if requeue {
            format!(
                "e-mail {id} is {}; only dead e-mails can be re-queued",
                email.status
            )
        } else {
            format!(
                "e-mail {id} is {}; only waiting or queued e-mails can be cancelled",
                email.status
            )
        }));
    }
    Ok(Json(preview(&app.composer, &email)))
}

/// Put a dead e-mail back in the queue.
///
/// `POST /api/emails/{id}/requeue`: a dead e-mail goes back to the queue (attempts reset).
#[utoipa::path(post, path = "/api/emails/{id}/requeue", tag = "emails", params(("id" = i64, Path, description = "the e-mail id")),
    responses((status = 200, body = super::openapi::EmailPreview), super::openapi::Errors))]
pub(super) async fn requeue<S: Store>(
    State(app): AppState<S>,
    Path(id): Path<String>,
) -> Result<Json<brim_email::Preview>, ApiError> {
    change(&app, &id, true).await
}

/// Withdraw a waiting or queued e-mail.
///
/// `POST /api/emails/{id}/cancel`: a waiting or queued e-mail is withdrawn.
#[utoipa::path(post, path = "/api/emails/{id}/cancel", tag = "emails", params(("id" = i64, Path, description = "the e-mail id")),
    responses((status = 200, body = super::openapi::EmailPreview), super::openapi::Errors))]
pub(super) async fn cancel<S: Store>(
    State(app): AppState<S>,
    Path(id): Path<String>,
) -> Result<Json<brim_email::Preview>, ApiError> {
    change(&app, &id, false).await
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

async fn log_for_email<S: Store>(
    app: &crate::App<S>,
    email_id: i64,
    event_type: EventType,
    payload: Value,
) -> Result<Option<brim_store::QueuedEmail>, ApiError> {
    let Some(email) = app.store.get_email(email_id).await? else {
        return Ok(None);
    };
    let mut payload = payload;
    payload["email_id"] = json!(email_id);
    payload["variant"] = json!(email.variant);
    app.store
        .append_events(&[NewEvent {
            event_type,
            occurred_at: app.clock.now_ms(),
            user_id: None,
            company_id: Some(email.company_id.clone()),
            payload,
        }])
        .await?;
    Ok(Some(email))
}

/// Open-tracking pixel.
///
/// `GET /t/open/{token}`: logs `email_opened`, answers the pixel (always, so a bad token
/// reveals nothing).
#[utoipa::path(get, path = "/t/open/{token}", tag = "public", security(()), params(("token" = String, Path, description = "a signed token from an e-mail")),
    responses((status = 200, description = "a 1×1 GIF, whatever the token", content_type = "image/gif", body = Vec<u8>), super::openapi::Errors))]
pub(super) async fn open<S: Store>(State(app): AppState<S>, Path(token): Path<String>) -> Response {
    if let Ok(claims) = app.composer.signer().verify(&token, TokenKind::Open)
        && let Err(e) =
            log_for_email(&app, claims.email_id, EventType::EmailOpened, json!({})).await
    {
        tracing::warn!(detail = %e.detail, "could not log an open");
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL,
    )
        .into_response()
}

/// Tracked link: logs the click, redirects to the signed URL.
///
/// `GET /t/click/{token}`: logs `email_clicked` and redirects to the URL signed into the token
/// (and only there: no open redirect).
#[utoipa::path(get, path = "/t/click/{token}", tag = "public", security(()), params(("token" = String, Path, description = "a signed token from an e-mail")),
    responses((status = 302, description = "to the URL signed into the token", headers(("location" = String))), super::openapi::Errors))]
pub(super) async fn click<S: Store>(
    State(app): AppState<S>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let claims = app
        .composer
        .signer()
        .verify(&token, TokenKind::Click)
        .map_err(|_| ApiError::not_found("this link is not valid"))?;
    let url = claims
        .url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| ApiError::not_found("this link is not valid"))?;
    log_for_email(
        &app,
        claims.email_id,
        EventType::EmailClicked,
        json!({"url": url}),
    )
    .await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response())
}

fn page(title: &str, message: &str, form: Option<&str>) -> Html<String> {
    let form = form
        .map(|action| {
            format!(
                "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
                brim_email::escape_html(action)
            )
        })
        .unwrap_or_default();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}button{{font-size:1rem;padding:.5rem 1rem}}</style></head>\
         <body><h1>{title}</h1><p>{message}</p>{form}</body></html>\n"
    ))
}

/// Unsubscribe page.
///
/// `GET /unsubscribe/{token}`: a plain page with a button (mail scanners that follow links do
/// not unsubscribe anyone).
#[utoipa::path(get, path = "/unsubscribe/{token}", tag = "public", security(()), params(("token" = String, Path, description = "a signed token from an e-mail")),
    responses((status = 200, description = "a page with an Unsubscribe button", content_type = "text/html", body = String),
        (status = 404, description = "the link is not valid", content_type = "text/html", body = String),
        (status = 422, description = "the token is not text", body = super::openapi::ErrorBody),
        (status = 429, body = super::openapi::ErrorBody)))]
pub(super) async fn unsubscribe_page<S: Store>(
    State(app): AppState<S>,
    Path(token): Path<String>,
) -> Response {
    match app.composer.signer().verify(&token, TokenKind::Unsubscribe) {
        Ok(_) => page(
            "Unsubscribe",
            "Press the button to stop receiving these e-mails.",
            Some(&format!("/unsubscribe/{token}")),
        )
        .into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            page(
                "Link not valid",
                "This unsubscribe link is not valid.",
                None,
            ),
        )
            .into_response(),
    }
}

/// One-click unsubscribe (RFC 8058).
///
/// `POST /unsubscribe/{token}` (RFC 8058 one-click, or the page's button): suppresses the
/// recipient's address and logs `unsubscribed`. Idempotent.
#[utoipa::path(post, path = "/unsubscribe/{token}", tag = "public", security(()), params(("token" = String, Path, description = "a signed token from an e-mail")),
    responses((status = 200, description = "unsubscribed (RFC 8058 one-click)", content_type = "text/html", body = String), super::openapi::Errors))]
pub(super) async fn unsubscribe<S: Store>(
    State(app): AppState<S>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let claims = app
        .composer
        .signer()
        .verify(&token, TokenKind::Unsubscribe)
        .map_err(|_| ApiError::not_found("this unsubscribe link is not valid"))?;
    let email = app
        .store
        .get_email(claims.email_id)
        .await?
        .ok_or_else(|| ApiError::not_found("this unsubscribe link is not valid"))?;
    if let Some(address) = &email.recipient {
        let added = app
            .store
            .suppress(&[Suppression {
                value: address.clone(),
                reason: SuppressionReason::Unsubscribed,
                created_at: app.clock.now_ms(),
            }])
            .await?;
        if added > 0 {
            log_for_email(&app, email.id, EventType::Unsubscribed, json!({})).await?;
        }
    }
    Ok(page(
        "Unsubscribed",
        "You will not receive these e-mails any more.",
        None,
    )
    .into_response())
}
