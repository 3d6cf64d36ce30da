//! HTTP for the transparency log: the C2SP tlog-tiles read API and the tlog-witness
//! `add-checkpoint` endpoint.
//!
//! Reads are the standard's resources under `/log/<name>/`, so stock tlog clients can
//! follow the log. Cache headers carry the standard's promises: a full tile or bundle
//! never changes (`immutable`, one year), a partial one is superseded when its tile fills
//! (one minute), and the checkpoint changes all the time (`no-cache`). The witness
//! endpoint answers with the status codes tlog-witness assigns and, for 409, the stored
//! size as `text/x.tlog.size`; its bodies never carry internal text. Storage calls run on
//! the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use caravan_log::LogNode;
use caravan_log::witness::WitnessError;
use caravan_tlog::tiles::{self, TilePath};
use caravan_tlog::witness::MAX_REQUEST_SIZE;

use crate::{ApiError, AppState, ErrorCode};

/// `Cache-Control` of full tiles and bundles.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of partial tiles and bundles.
pub const CACHE_PARTIAL: &str = "public, max-age=60";
/// `Cache-Control` of the checkpoint.
pub const CACHE_CHECKPOINT: &str = "no-cache";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/{name}/checkpoint", get(checkpoint))
        .route("/log/{name}/tile/{*path}", get(tile))
        .route(
            "/witness/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE)),
        )
}

fn log_named(state: &AppState, name: &str) -> Result<Arc<LogNode>, ApiError> {
    state
        .log
        .as_ref()
        .filter(|log| log.config().name == name)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no log named {name:?}")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| ApiError::new(ErrorCode::StoreUnavailable, e))
}

async fn checkpoint(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let log = log_named(&state, &name)?;
    let note = blocking(move || {
        caravan_log::read::checkpoint(log.store().as_ref(), &log.config().origin)
            .map_err(|e| e.to_string())
    })
    .await?
    .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no checkpoint signed yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE_CHECKPOINT),
        ],
        note,
    )
        .into_response())
}

async fn tile(
    State(state): State<AppState>,
    Path((name, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let log = log_named(&state, &name)?;
    let parsed = tiles::parse_path(&format!("tile/{path}"))
        .map_err(|e| ApiError::new(ErrorCode::BadPath, e.to_string()))?;
    let full = match parsed {
        TilePath::Hash(id) => id.is_full(),
        TilePath::Entries(bundle) => bundle.width == tiles::TILE_WIDTH,
    };
    let bytes = blocking(move || {
        caravan_log::read::tile(log.store().as_ref(), &log.config().origin, &parsed)
            .map_err(|e| e.to_string())
    })
    .await?
    .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "tile does not exist (yet)"))?;
    let cache = if full { CACHE_IMMUTABLE } else { CACHE_PARTIAL };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

async fn add_checkpoint(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(log) = state.log.clone() else {
        // A node without a log witnesses nothing: every origin is unknown to it.
        return StatusCode::NOT_FOUND.into_response();
    };
    let decided = tokio::task::spawn_blocking(move || log.add_checkpoint(&body)).await;
    match decided {
        Ok(Ok(cosignature)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            cosignature,
        )
            .into_response(),
        Ok(Err(WitnessError::Refused(refusal))) => {
            let status =
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            tracing::info!(status = status.as_u16(), reason = %refusal, "add-checkpoint refused");
            match refusal.body() {
                Some((content_type, text)) => {
                    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
                }
                None => status.into_response(),
            }
        }
        Ok(Err(WitnessError::Store(err))) => {
            ApiError::new(ErrorCode::StoreUnavailable, err.to_string()).into_response()
        }
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}
