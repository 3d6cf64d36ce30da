//! Signing in and out, the home page, and the account API (`/api/v1/me`, `/api/v1/audit`).
//!
//! Why sign-in takes a token for now: a node must be usable from a browser the day it is
//! installed, before an agency wires its identity provider, and the token is the credential
//! the administrator already issues. Signing in swaps it for a fresh session token that
//! expires ([`crate::auth::SESSION_TTL_MS`]) and is revoked at sign-out, so the long-lived
//! token never sits in a cookie. Both sign-in and sign-out are audited.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use caravan_assistance::roles::Capability;
use caravan_store::access::{
    ApiToken, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, verify_audit_chain,
};
use serde::{Deserialize, Serialize};

use crate::auth::{
    Principal, SESSION_COOKIE, SESSION_TTL_MS, new_token_secret, now_ms, same_origin, token_digest,
};
use crate::{ApiError, AppState, ErrorCode};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/ui", get(home))
        .route("/ui/signin", get(signin_form).post(signin))
        .route("/ui/signout", axum::routing::post(signout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit", get(audit))
        .with_state(state.clone())
}

#[derive(Template)]
#[template(path = "ui/signin.html")]
struct SigninPage<'a> {
    node_name: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "ui/home.html")]
struct HomePage<'a> {
    node_name: &'a str,
    display_name: &'a str,
    account: &'a str,
    role: &'a str,
    links: Vec<(&'static str, &'static str)>,
}

fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

async fn signin_form(State(state): State<AppState>) -> Response {
    render(&SigninPage {
        node_name: &state.node_name,
        error: None,
    })
}

#[derive(Deserialize)]
struct SigninForm {
    token: String,
}

async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    // Login CSRF: another site must not sign an officer's browser into its own account.
    if !same_origin(&headers) {
        return ApiError::custom(
            StatusCode::FORBIDDEN,
            "cross_origin_refused",
            "a form sent from another site is refused (CSRF protection)",
        )
        .into_response();
    }
    let store = state.store.clone();
    let presented = token_digest(form.token.trim());
    let outcome =
        tokio::task::spawn_blocking(move || -> Result<Option<(String, String)>, String> {
            let now = now_ms();
            let Some(account) = store
                .account_for_token(&presented, now)
                .map_err(|e| e.to_string())?
            else {
                store
                    .append_audit(&AuditEvent {
                        at: now,
                        account: "anonymous".into(),
                        role: "".into(),
                        action: "session.signin".into(),
                        object: "".into(),
                        outcome: AuditOutcome::Refused,
                        code: Some("unauthenticated".into()),
                        detail: "{}".into(),
                    })
                    .map_err(|e| e.to_string())?;
                return Ok(None);
            };
            let secret = new_token_secret().map_err(|e| e.to_string())?;
            store
                .add_api_token(&ApiToken {
                    sha256: token_digest(&secret),
                    account: account.name.clone(),
                    label: "browser session".into(),
                    created_at: now,
                    expires_at: Some(now + SESSION_TTL_MS),
                    revoked_at: None,
                })
                .map_err(|e| e.to_string())?;
            store
                .append_audit(&AuditEvent {
                    at: now,
                    account: account.name.clone(),
                    role: account.role.clone(),
                    action: "session.signin".into(),
                    object: account.name.clone(),
                    outcome: AuditOutcome::Allowed,
                    code: None,
                    detail: "{}".into(),
                })
                .map_err(|e| e.to_string())?;
            Ok(Some((account.name, secret)))
        })
        .await;
    match outcome {
        Ok(Ok(Some((_, secret)))) => {
            let mut response = Redirect::to("/ui").into_response();
            let cookie = format!(
                "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                SESSION_TTL_MS / 1000
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Ok(None)) => {
            let mut response = render(&SigninPage {
                node_name: &state.node_name,
                error: Some("That token is unknown, expired or revoked."),
            });
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
        Ok(Err(err)) => ApiError::new(ErrorCode::StoreUnavailable, err).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

async fn signout(principal: Principal) -> Result<Response, ApiError> {
    principal
        .audit(
            "session.signout",
            &principal.actor().account,
            serde_json::json!({}),
        )
        .await?;
    if principal.via() == crate::auth::Via::Session {
        let store = principal.store().clone();
        let digest = principal.token_digest();
        tokio::task::spawn_blocking(move || store.revoke_api_token(&digest, now_ms()))
            .await
            .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
            .map_err(|err| ApiError::new(ErrorCode::StoreUnavailable, err.to_string()))?;
    }
    let mut response = Redirect::to("/ui/signin").into_response();
    let expired =
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The pages of each capability, shown to the roles that may use them.
const AREAS: &[(Capability, &str, &str)] = &[
    (
        Capability::AcknowledgeAndPartialReply,
        "/ui/desk/inbox",
        "Desk: inbox",
    ),
    (
        Capability::DraftRequests,
        "/ui/desk/requests/new",
        "Desk: new request",
    ),
    (
        Capability::DraftRequests,
        "/ui/desk/overdue",
        "Desk: overdue",
    ),
    (
        Capability::RunAnalytics,
        "/ui/target/worklist",
        "Targeting: worklist",
    ),
    (
        Capability::RunAnalytics,
        "/ui/screen/hits",
        "Screening: hits",
    ),
    (Capability::RunAnalytics, "/ui/mirror", "Mirror matching"),
];

async fn home(State(state): State<AppState>, principal: Principal) -> Response {
    let mut links: Vec<(&'static str, &'static str)> = Vec::new();
    for (capability, href, label) in AREAS {
        if principal.may(*capability) && !links.iter().any(|(h, _)| h == href) {
            links.push((href, label));
        }
    }
    render(&HomePage {
        node_name: &state.node_name,
        display_name: principal.display_name(),
        account: &principal.actor().account,
        role: principal.actor().role.code(),
        links,
    })
}

/// `GET /api/v1/me`.
#[derive(Serialize)]
pub struct Me {
    account: String,
    display_name: String,
    role: &'static str,
}

async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        account: principal.actor().account.clone(),
        display_name: principal.display_name().to_owned(),
        role: principal.actor().role.code(),
    })
}

#[derive(Deserialize)]
struct AuditParams {
    account: Option<String>,
    action_prefix: Option<String>,
    object: Option<String>,
    after_seq: Option<i64>,
    limit: Option<u32>,
}

/// One row of `GET /api/v1/audit`.
#[derive(Serialize)]
struct AuditRow {
    seq: i64,
    at: i64,
    account: String,
    role: String,
    action: String,
    object: String,
    outcome: &'static str,
    code: Option<String>,
    detail: serde_json::Value,
    sha256: String,
}

#[derive(Serialize)]
struct AuditPage {
    rows: Vec<AuditRow>,
    /// Whether the returned rows chain correctly (only meaningful for an unfiltered read).
    chain_verified: Option<bool>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn audit(
    principal: Principal,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    principal
        .require(Capability::ReadAuditTrail, "audit.read", "audit")
        .await?;
    let unfiltered =
        params.account.is_none() && params.action_prefix.is_none() && params.object.is_none();
    let query = AuditQuery {
        account: params.account,
        action_prefix: params.action_prefix,
        object: params.object,
        after_seq: params.after_seq,
        limit: params.limit.unwrap_or(200).min(10_000),
    };
    let store = principal.store().clone();
    let rows: Vec<AuditRecord> = tokio::task::spawn_blocking(move || store.list_audit(&query))
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(|err| ApiError::new(ErrorCode::StoreUnavailable, err.to_string()))?;
    let chain_verified = unfiltered.then(|| verify_audit_chain(&rows).is_ok());
    principal
        .audit(
            "audit.read",
            "audit",
            serde_json::json!({ "rows": rows.len() }),
        )
        .await?;
    Ok(Json(AuditPage {
        chain_verified,
        rows: rows
            .into_iter()
            .map(|r| AuditRow {
                seq: r.seq,
                at: r.event.at,
                account: r.event.account,
                role: r.event.role,
                action: r.event.action,
                object: r.event.object,
                outcome: r.event.outcome.as_str(),
                code: r.event.code,
                detail: serde_json::from_str(&r.event.detail)
                    .unwrap_or(serde_json::Value::String(r.event.detail)),
                sha256: hex(&r.sha256),
            })
            .collect(),
    }))
}
