//! `/static/…`: the few files the pages load besides themselves, compiled into the binary.
//!
//! Why compiled in: a node is one binary on a closed customs network (no CDN, no Node
//! toolchain to build or run it), and the CSP (`script-src 'self'`) lets pages run only
//! scripts the node itself serves. Each file is written by hand for this repository and is
//! small enough to review; the table below is the whole list, so nothing else under
//! `/static` exists. No authentication: these files hold code, never data.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// `(file name, content type, bytes)`.
const FILES: &[(&str, &str, &str)] = &[(
    "verify.js",
    "text/javascript; charset=utf-8",
    include_str!("../static/verify.js"),
)];

/// The routes of this module.
pub fn routes(_state: &AppState) -> Router {
    Router::new().route("/static/{name}", get(serve_file))
}

/// The bytes of a static file, if it exists (for tests and the browser test's checks).
pub fn file(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, content_type, body)| (*content_type, *body))
}

async fn serve_file(Path(name): Path<String>) -> Response {
    match file(&name) {
        Some((content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                // Compiled in: a new binary is the only way it changes, so revalidate
                // rather than keep a stale script after an upgrade.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such static file").into_response(),
    }
}
