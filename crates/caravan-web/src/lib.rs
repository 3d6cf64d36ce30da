//! The node's HTTP surface.
//!
//! For now a node answers two probes an administrator's orchestration needs: liveness
//! (`/healthz`: the process serves requests) and readiness (`/readyz`: the store answers).
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

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's store.
    pub store: Arc<dyn Store>,
    /// Display name of the node, e.g. `US CBP`.
    pub node_name: Arc<str>,
}

/// Stable public error codes: status, snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The store did not answer.
    StoreUnavailable,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorCode {
    /// HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Public name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// Public message; never internal text.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::StoreUnavailable => "the node's store is not answering",
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
        (self.code.status(), Json(body)).into_response()
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
        .map_err(|err| ApiError {
            code: ErrorCode::Internal,
            detail: err.to_string(),
        })?;
    pinged.map_err(|err| ApiError {
        code: ErrorCode::StoreUnavailable,
        detail: err.to_string(),
    })?;
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
