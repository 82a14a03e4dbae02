//! The pages a person opens in a browser: the dashboard (`/`, `/dashboard`) and the public
//! activation page (`/activate`). Plain HTML, CSS and JavaScript compiled into the binary, with
//! the npm package brim-wasm (found by `build.rs`) for the activation page, which scores a
//! visitor's file in their browser: nothing fetched from elsewhere, so they work offline and
//! behind firewalls.

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
    (
        "activate-worker.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/activate-worker.js"),
    ),
];

/// The brim-wasm package's files under `/assets/brim-wasm/`: name, content type, content.
#[cfg(brim_wasm_pkg)]
const WASM_PACKAGE: &[(&str, &str, &[u8])] = &[
    (
        "index.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(env!("BRIM_WASM_PKG_DIR"), "/index.js")),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(env!("BRIM_WASM_PKG_DIR"), "/api.js")),
    ),
    (
        "brim_wasm.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(env!("BRIM_WASM_PKG_DIR"), "/brim_wasm.js")),
    ),
    (
        "brim_wasm_bg.wasm",
        "application/wasm",
        include_bytes!(concat!(env!("BRIM_WASM_PKG_DIR"), "/brim_wasm_bg.wasm")),
    ),
];

/// This binary was built without the brim-wasm package (see `build.rs`).
#[cfg(not(brim_wasm_pkg))]
const WASM_PACKAGE: &[(&str, &str, &[u8])] = &[];

/// Whether this binary serves brim-wasm, so that `/activate` can score in the browser.
pub fn has_wasm_package() -> bool {
    !WASM_PACKAGE.is_empty()
}

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

/// `GET /activate`: upload a file, see it scored in the browser (brim-wasm in a Web Worker),
/// share it; each step is an activation event. The page compiles WebAssembly, which its
/// Content-Security-Policy allows (`'wasm-unsafe-eval'`), and nothing else beyond the others'.
pub(super) async fn activate() -> Response {
    let mut response = page(ACTIVATE);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    response
}

/// `GET /assets/{file}`.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => asset_response(content_type, body.as_bytes()),
        None => {
            ApiError::not_found(format!("no asset {}", brim_core::quote(&file))).into_response()
        }
    }
}

/// `GET /assets/brim-wasm/{file}`: the npm package brim-wasm, as the activation page loads it.
pub(super) async fn wasm_asset(Path(file): Path<String>) -> Response {
    match WASM_PACKAGE.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => asset_response(content_type, body),
        None if WASM_PACKAGE.is_empty() => ApiError::not_found(
            "this brim was built without the brim-wasm package: run scripts/build-wasm, then build brim again",
        )
        .into_response(),
        None => ApiError::not_found(format!("no brim-wasm file {}", brim_core::quote(&file))).into_response(),
    }
}

fn asset_response(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
