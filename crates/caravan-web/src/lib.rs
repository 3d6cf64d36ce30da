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

pub mod admin;
pub mod assistance;
pub mod assistance_more;
pub mod assistance_wire;
pub mod auditor;
pub mod auth;
pub mod case_forms;
pub mod chart;
pub mod csrf;
pub mod exchange;
pub mod i18n;
pub mod log;
pub mod mirror;
mod multipart;
pub mod oidc;
pub mod openapi;
pub mod partners;
pub mod password;
pub mod response_times;
pub mod screen;
pub mod static_files;
mod stream_body;
pub mod target;
pub mod totp;
pub mod ui;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's store.
    pub store: Arc<dyn Store>,
    /// Display name of the node, e.g. `US CBP`.
    pub node_name: Arc<str>,
    /// The node's transparency log and witness, if it keeps one.
    pub log: Option<Arc<caravan_log::LogNode>>,
    /// The node-to-node exchange, when the node has partners (sending requests, replies
    /// and spontaneous information goes through it).
    pub exchange: Option<Arc<caravan_exchange::node::Exchange>>,
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
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: std::borrow::Cow<'static, str>,
    detail: String,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a public code and internal detail (logged, never sent).
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code: code.name(),
            message: code.message().into(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// An error of an area's own: a stable snake_case code and a public message, which
    /// must say what was wrong with the request and never carry internal text.
    pub fn custom(
        status: StatusCode,
        code: &'static str,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        let message = message.into();
        Self {
            status,
            code,
            detail: message.to_string(),
            message,
            retry_after: None,
        }
    }

    /// The public code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<caravan_log::appender::AppendError> for ApiError {
    fn from(err: caravan_log::appender::AppendError) -> Self {
        match err {
            caravan_log::appender::AppendError::Overloaded { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(ErrorCode::LogOverloaded, "append queue full")
            },
            other => Self::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = self.code, detail = %self.detail, "request failed");
        }
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
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

/// The router, with state applied. Each capability's module brings its own routes and
/// state; every request carries the [`auth::AuthContext`] its handlers' principals need.
pub fn router(state: AppState) -> Router {
    router_with_oidc(state, None)
}

/// [`router`], offering OpenID Connect sign-in through `oidc` when it is given
/// ([`oidc`]: `/ui/oidc/start`, `/ui/oidc/callback`, the sign-in page's button).
pub fn router_with_oidc(state: AppState, oidc: Option<Arc<oidc::Oidc>>) -> Router {
    let auth = auth::AuthContext {
        store: state.store.clone(),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(log::routes())
        .with_state(state.clone())
        .merge(ui::routes(&state))
        .merge(openapi::routes(&state))
        .merge(assistance::routes(&state))
        .merge(case_forms::routes(&state))
        .merge(response_times::routes(&state))
        .merge(assistance_wire::routes(&state))
        .merge(assistance_more::routes(&state))
        .merge(screen::routes(&state))
        .merge(target::routes(&state))
        .merge(mirror::routes(&state))
        .merge(admin::routes(&state))
        .merge(partners::routes(&state))
        .merge(auditor::routes(&state))
        .merge(static_files::routes(&state))
        .merge(i18n::routes(&state))
        .merge(oidc::routes(&state, oidc.clone()))
        .layer(axum::middleware::from_fn(csrf::protect))
        .layer(axum::middleware::from_fn(oidc::announce))
        .layer(oidc::extension(oidc))
        .layer(axum::middleware::from_fn(i18n::negotiate))
        .layer(axum::Extension(auth))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Headers every response carries: no framing by other sites, no MIME sniffing, no
/// scripts or styles from anywhere but this node, no referrer leaking case ids to other sites.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::HeaderValue;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("cache-control", "no-store"),
    ] {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
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
    // The peer address feeds the sign-in throttle (`auth::client_address`).
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
