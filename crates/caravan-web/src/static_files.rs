//! `/static/…`: the few files the pages load besides themselves, compiled into the binary.
//!
//! Why compiled in: a node is one binary on a closed customs network (no CDN, no Node
//! toolchain to build or run it), and the CSP (`script-src 'self'`) lets pages run only
//! scripts the node itself serves. Each file is written by hand for this repository and is
//! small enough to review, except htmx (vendored as published on npm, 0BSD, its version
//! in [`HTMX_VERSION`] and ARCHITECTURE.md); the table below is the whole list, so nothing
//! else under `/static` exists. No authentication: these files hold code, never data.
//!
//! Why htmx's name carries its version: it is cached for a year (`immutable`), so a new
//! version must be a new URL; our own scripts change with the node and are revalidated.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// The vendored htmx release (`static/htmx.min.js`, from the npm package `htmx.org`).
pub const HTMX_VERSION: &str = "2.0.11";

/// The URL pages load htmx from.
pub const HTMX_PATH: &str = "/static/htmx-2.0.11.min.js";

/// For templates: [`HTMX_PATH`].
pub fn htmx_path() -> &'static str {
    HTMX_PATH
}

/// `(file name, content type, bytes, cache-control)`.
const FILES: &[(&str, &str, &str, &str)] = &[
    (
        "verify.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/verify.js"),
        // Compiled in: a new binary is the only way it changes, so revalidate rather
        // than keep a stale script after an upgrade.
        "no-cache",
    ),
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/htmx.min.js"),
        "public, max-age=31536000, immutable",
    ),
];

/// The routes of this module.
pub fn routes(_state: &AppState) -> Router {
    Router::new().route("/static/{name}", get(serve_file))
}

/// The bytes of a static file, if it exists (for tests and the browser test's checks).
pub fn file(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _, _)| *n == name)
        .map(|(_, content_type, body, _)| (*content_type, *body))
}

async fn serve_file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _, _)| *n == name) {
        Some((_, content_type, body, cache)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, *cache),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such static file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_htmx_is_the_version_its_name_says() {
        let (content_type, body) = file(HTMX_PATH.trim_start_matches("/static/")).unwrap();
        assert_eq!(content_type, "text/javascript; charset=utf-8");
        assert!(body.contains(&format!("version:\"{HTMX_VERSION}\"")));
        assert!(HTMX_PATH.contains(HTMX_VERSION));
    }
}
