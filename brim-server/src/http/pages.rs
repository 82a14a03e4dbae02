//! The pages a person opens in a browser: the dashboard (`/`, `/dashboard`) and the public
//! activation page (`/activate`). Plain HTML, CSS and JavaScript compiled into the binary: no
//! build step, nothing fetched from elsewhere, so they work offline and behind firewalls.

use super::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::ApiError;

const DASHBOARD: &str = include_str!("../../assets/dashboard.html");
const ACTIVATE: &str = include_str!("../../assets/activate.html");

/// The files under `/assets/`: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "brim.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/brim.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/common.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/dashboard.js"),
    ),
    (
        "activate.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/activate.js"),
    ),
];

/// `GET /` and `GET /dashboard`: KPI cards, the funnel chart, the score distribution, e-mail
/// results per variant, the queue, and the scored-leads table with each lead's story.
pub(super) async fn dashboard() -> Response {
    page(DASHBOARD)
}

/// Headers every page carries: scripts and styles from this server only, no framing, no
/// content sniffing, no referrer to other sites.
const PAGE_HEADERS: [(header::HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
];

fn page(html: &'static str) -> Response {
    (PAGE_HEADERS, Html(html)).into_response()
}

/// `GET /activate`: upload a file, see it scored, share it; each step is an activation event.
pub(super) async fn activate() -> Response {
    page(ACTIVATE)
}

/// `GET /assets/{file}`.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::not_found(format!("no asset {file:?}")).into_response(),
    }
}
