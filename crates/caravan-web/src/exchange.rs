//! HTTP of the node-to-node exchange (spec §2), served only over mutual TLS:
//! `POST /caravan/v1/messages`, `PUT /caravan/v1/parts/{part_ref}/{n}` (a segment of a
//! large part, spec §7), `GET /caravan/v1/receipts/{message_id}` and
//! `GET /caravan/v1/keys`.
//!
//! Why a separate router with its own state: the exchange listens on its own mTLS port
//! (`caravan_exchange::transport::serve_mtls`), and every handler needs the peer's
//! verified certificate chain, which that server puts on each request as a
//! [`PeerChain`] extension. The handlers are thin: the receiver procedure, its codes and
//! its statuses live in `caravan_exchange::node`. A refusal answers
//! `{ "code": …, "message": … }` like every other API error of the node, plus the signed
//! error of spec §5 (base64 COSE_Sign1) when the header could be read, and never internal
//! text.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use caravan_exchange::node::{Exchange, MESSAGES_PATH, PARTS_PATH, Rejection};
use caravan_exchange::parts::SEGMENT_CT_LEN;
use caravan_exchange::transport::PeerChain;
use serde::Serialize;

/// Media type of a receipt.
pub const RECEIPT_MEDIA_TYPE: &str = "application/caravan-receipt+cbor";
/// Media type of a key manifest (a COSE_Sign1).
pub const MANIFEST_MEDIA_TYPE: &str = "application/cose";

/// The exchange routes, with their state applied; merge into the mTLS server's router.
pub fn routes(exchange: Arc<Exchange>) -> Router {
    let max = exchange.config().limits.max_wire_bytes;
    Router::new()
        .route(
            MESSAGES_PATH,
            post(messages).layer(DefaultBodyLimit::max(max)),
        )
        .route(
            &format!("{PARTS_PATH}/{{part_ref}}/{{segment}}"),
            put(segment).layer(DefaultBodyLimit::max(SEGMENT_CT_LEN)),
        )
        .route("/caravan/v1/receipts/{message_id}", get(receipt))
        .route("/caravan/v1/keys", get(keys))
        .with_state(exchange)
}

#[derive(Serialize)]
struct RejectionBody {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_error: Option<String>,
}

fn rejection(r: Rejection) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = if status.is_server_error() && r.status != 503 {
        "internal error".to_owned()
    } else {
        r.message
    };
    let body = RejectionBody {
        code: r.code,
        message,
        signed_error: r
            .signed
            .map(|s| base64::engine::general_purpose::STANDARD.encode(s)),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = r.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn plain(status: StatusCode, code: &'static str, message: &str) -> Response {
    rejection(Rejection {
        status: status.as_u16(),
        code,
        message: message.to_owned(),
        signed: None,
        retry_after: None,
    })
}

async fn messages(
    State(exchange): State<Arc<Exchange>>,
    chain: Option<axum::Extension<PeerChain>>,
    body: Bytes,
) -> Response {
    let Some(axum::Extension(PeerChain(chain))) = chain else {
        return plain(
            StatusCode::FORBIDDEN,
            "tls_client_certificate_required",
            "messages are accepted only over mutual TLS",
        );
    };
    match exchange.receive(&chain, body).await {
        Ok(receipt) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, RECEIPT_MEDIA_TYPE)],
            receipt,
        )
            .into_response(),
        Err(r) => rejection(r),
    }
}

async fn segment(
    State(exchange): State<Arc<Exchange>>,
    chain: Option<axum::Extension<PeerChain>>,
    Path((part_ref, n)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(axum::Extension(PeerChain(chain))) = chain else {
        return plain(
            StatusCode::FORBIDDEN,
            "tls_client_certificate_required",
            "parts are accepted only over mutual TLS",
        );
    };
    match exchange.put_segment(&chain, &part_ref, &n, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => rejection(r),
    }
}

async fn receipt(
    State(exchange): State<Arc<Exchange>>,
    chain: Option<axum::Extension<PeerChain>>,
    Path(message_id): Path<String>,
) -> Response {
    let Some(axum::Extension(PeerChain(chain))) = chain else {
        return plain(
            StatusCode::FORBIDDEN,
            "tls_client_certificate_required",
            "receipts are served only over mutual TLS",
        );
    };
    let Some(party) = exchange.peer_party(&chain) else {
        return plain(
            StatusCode::FORBIDDEN,
            "unknown_sender",
            "the TLS client is not a registered partner",
        );
    };
    let found =
        tokio::task::spawn_blocking(move || exchange.stored_receipt(&party, &message_id)).await;
    match found {
        Ok(Ok(receipt)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, RECEIPT_MEDIA_TYPE)],
            receipt,
        )
            .into_response(),
        Ok(Err(caravan_store::StoreError::NotFound)) => plain(
            StatusCode::NOT_FOUND,
            "not_found",
            "no receipt for that message",
        ),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "receipt lookup failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the node's store is not answering",
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "receipt task failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal", "")
        }
    }
}

async fn keys(State(exchange): State<Arc<Exchange>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, MANIFEST_MEDIA_TYPE)],
        exchange.signed_manifest(),
    )
        .into_response()
}
