//! The node's HTTP surface.
//!
//! A node answers two probes an administrator's orchestration needs: liveness
//! (`/healthz`: the process serves requests) and readiness (`/readyz`: the store answers),
//! and, when it keeps a transparency log, the C2SP tlog-tiles read API of that log
//! (`/log/<name>/checkpoint`, `/log/<name>/tile/…`, module `log`) and the C2SP tlog-witness
//! endpoint for its partners' logs (`POST /witness/add-checkpoint`). Between nodes this is
//! plain HTTP on localhost for now; mutual TLS arrives with the exchange.
//! Storage calls are blocking, so handlers move them to the blocking pool; a slow disk must
//! not stall the async workers that serve probes. Internal error text never reaches a
//! response body: a foreign administration may be the caller.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use caravan_store::Store;
use serde::Serialize;

pub mod exchange;
pub mod log;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's store.
    pub store: Arc<dyn Store>,
    /// Display name of the node, e.g. `US CBP`.
    pub node_name: Arc<str>,
    /// The node's transparency log and witness, if it keeps one.
    pub log: Option<Arc<caravan_log::LogNode>>,
}

/// Stable public error codes: status, snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The store did not answer.
    StoreUnavailable,
    /// No such log, tile or entry bundle (yet).
    NotFound,
    /// Not a canonical tlog-tiles path.
    BadPath,
    /// The log's append queue is full; retry after the `Retry-After` seconds.
    LogOverloaded,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorCode {
    /// HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::BadPath => StatusCode::BAD_REQUEST,
            ErrorCode::LogOverloaded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Public name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::NotFound => "not_found",
            ErrorCode::BadPath => "bad_path",
            ErrorCode::LogOverloaded => "log_overloaded",
            ErrorCode::Internal => "internal",
        }
    }

    /// Public message; never internal text.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::StoreUnavailable => "the node's store is not answering",
            ErrorCode::NotFound => "no such resource",
            ErrorCode::BadPath => "not a canonical tlog-tiles path",
            ErrorCode::LogOverloaded => "the log is overloaded; retry later",
            ErrorCode::Internal => "internal error",
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: &'static str,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a public code and internal detail (logged, never sent).
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The public code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<caravan_log::appender::AppendError> for ApiError {
    fn from(err: caravan_log::appender::AppendError) -> Self {
        match err {
            caravan_log::appender::AppendError::Overloaded { retry_after } => Self {
                code: ErrorCode::LogOverloaded,
                detail: "append queue full".to_owned(),
                retry_after: Some(retry_after),
            },
            other => Self::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code.status().is_server_error() {
            tracing::warn!(code = self.code.name(), detail = %self.detail, "request failed");
        }
        let body = ErrorBody {
            code: self.code.name(),
            message: self.code.message(),
        };
        let mut response = (self.code.status(), Json(body)).into_response();
        if let Some(retry_after) = self.retry_after {
            // Whole seconds, rounded up: `Retry-After: 0` would invite a retry storm.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(value) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    node: String,
}

/// The router, with state applied.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(log::routes())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        node: state.node_name.to_string(),
    })
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let store = state.store.clone();
    let pinged = tokio::task::spawn_blocking(move || store.ping())
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?;
    pinged.map_err(|err| ApiError::new(ErrorCode::StoreUnavailable, err.to_string()))?;
    Ok(Json(Health {
        status: "ready",
        node: state.node_name.to_string(),
    }))
}

/// Serves `router` on an already-bound listener until `shutdown` resolves, then drains
/// in-flight requests. Binding first lets tests use port 0 without racing.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
