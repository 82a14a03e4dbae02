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
pub(super) async fn dashboard() -> Html<&'static str> {
    Html(DASHBOARD)
}

/// `GET /activate`: upload a file, see it scored, share it; each step is an activation event.
pub(super) async fn activate() -> Html<&'static str> {
    Html(ACTIVATE)
}

/// `GET /assets/{file}`.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::not_found(format!("no asset {file:?}")).into_response(),
    }
}
