//! Partner and agreement settings (issue 9, "Pages"): the administrator's partner page
//! (`/ui/admin/partners`) and API (`/api/v1/admin/partners`), and the agreement's terms shown
//! on the agreement page (`/ui/desk/agreement`, [`AgreementTerms`]).
//!
//! The partner page lists each registered partner of the node's exchange with its status,
//! endpoint, assurance state, manifest version and the fingerprints of its pinned keys, which
//! the administrators of both sides compare out of band (as `caravan partner show` prints
//! them). Suspending and reactivating a partner goes through the registry call of
//! `caravan partner set-status` (`Registry::set_status`), which the exchange reads on every
//! send; the administrator's change is audited, a refusal too.
//!
//! Why the assurance state is shown here but changed on the agreement page: §1.9 asks for a
//! supervisor and the data-protection officer for every assurance change, so the web path is
//! the two-person proposal (`AgreementChange::Assurance`), which moves the exchange's gate in
//! the same action. `caravan partner set-assurance` stays the host operator's path.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use caravan_assistance::agreement::{Agreement, ConsentRule};
use caravan_assistance::roles::Capability;
use caravan_exchange::partner::{Registry, RegistryError};
use caravan_store::exchange::PartnerRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::ui::{blocking, render};
use crate::{ApiError, AppState, ErrorCode};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/ui/admin/partners", get(page))
        .route("/ui/admin/partners/{party}/status", post(page_status))
        .route("/api/v1/admin/partners", get(api_list))
        .route("/api/v1/admin/partners/{party}/status", post(api_status))
        .with_state(state.clone())
}

/// The statuses an administrator may set (the registry's).
const STATUSES: [&str; 2] = ["active", "suspended"];

/// One pinned key of a partner.
#[derive(Debug, Serialize)]
struct KeyView {
    purpose: String,
    kid: String,
    fingerprint: String,
    not_before: u64,
    not_after: Option<u64>,
    revoked_at: Option<u64>,
}

/// One partner as the administrator sees it.
#[derive(Debug, Serialize)]
struct PartnerView {
    party: String,
    name: String,
    endpoint: String,
    status: String,
    assurance: String,
    manifest_version: u64,
    updated_at: u64,
    /// Root and TLS CA fingerprints, then one per message key.
    fingerprints: Vec<(String, String)>,
    keys: Vec<KeyView>,
}

fn view(p: &PartnerRecord) -> PartnerView {
    let fingerprints = Registry::fingerprints(p);
    PartnerView {
        keys: p
            .keys
            .iter()
            .map(|k| KeyView {
                purpose: k.purpose.clone(),
                kid: k.kid.clone(),
                fingerprint: caravan_exchange::identity::fingerprint(&k.public),
                not_before: k.not_before,
                not_after: k.not_after,
                revoked_at: k.revoked_at,
            })
            .collect(),
        party: p.party.clone(),
        name: p.name.clone(),
        endpoint: p.endpoint.clone(),
        status: p.status.clone(),
        assurance: p.assurance.clone(),
        manifest_version: p.manifest_version,
        updated_at: p.updated_at,
        fingerprints,
    }
}

fn registry_error(err: RegistryError) -> ApiError {
    match err {
        RegistryError::UnknownPartner { .. } => ApiError::custom(
            StatusCode::NOT_FOUND,
            "partner_not_found",
            "no such partner in this node's agreement",
        ),
        RegistryError::BadState(..) => ApiError::custom(
            StatusCode::BAD_REQUEST,
            "partner_status_invalid",
            "a partner's status is active or suspended",
        ),
        other => ApiError::new(ErrorCode::StoreUnavailable, other.to_string()),
    }
}

fn no_exchange() -> ApiError {
    ApiError::custom(
        StatusCode::NOT_FOUND,
        "exchange_not_configured",
        "this node has no exchange and so no partners",
    )
}

/// Every partner, by party; `None` when the node has no exchange.
fn partners(state: &AppState) -> Option<(String, Vec<PartnerView>)> {
    let exchange = state.exchange.as_ref()?;
    let registry = exchange.registry();
    Some((
        registry.agreement().to_owned(),
        registry.all().iter().map(view).collect(),
    ))
}

/// Sets a partner's status through the registry (the call of `caravan partner
/// set-status`), audited with the status before and after; a refusal is audited too.
async fn set_status(
    state: &AppState,
    principal: &Principal,
    party: &str,
    status: &str,
) -> Result<PartnerView, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "partner.status", party)
        .await?;
    let exchange = state.exchange.clone().ok_or_else(no_exchange)?;
    let (who, to) = (party.to_owned(), status.trim().to_owned());
    let outcome = blocking(move || {
        let registry = exchange.registry();
        let before = registry.get(&who).map_err(registry_error)?.status;
        let after = registry
            .set_status(&who, &to, crate::auth::now_ms() as u64)
            .map_err(registry_error)?;
        Ok((before, after))
    })
    .await;
    match outcome {
        Ok((before, after)) => {
            principal
                .audit(
                    "partner.status",
                    party,
                    json!({ "from": before, "to": after.status }),
                )
                .await?;
            Ok(view(&after))
        }
        Err(err) => {
            if err.status().is_client_error() {
                principal
                    .audit_refusal(
                        "partner.status",
                        party,
                        err.code(),
                        json!({ "to": status.chars().take(32).collect::<String>() }),
                    )
                    .await?;
            }
            Err(err)
        }
    }
}

async fn api_list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "partner.list", "partners")
        .await?;
    Ok(Json(match partners(&state) {
        Some((agreement, list)) => json!({ "agreement_id": agreement, "partners": list }),
        None => json!({ "agreement_id": null, "partners": [] }),
    }))
}

#[derive(Debug, Deserialize, Default)]
struct StatusBody {
    #[serde(default)]
    status: String,
}

async fn api_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(party): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PartnerView>, ApiError> {
    let body: StatusBody = serde_json::from_slice(&body).map_err(|_| {
        ApiError::custom(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the body is {\"status\": \"active\" | \"suspended\"}",
        )
    })?;
    set_status(&state, &principal, &party, &body.status)
        .await
        .map(Json)
}

#[derive(Template)]
#[template(path = "admin/partners.html")]
struct PartnersPage<'a> {
    node_name: &'a str,
    agreement_id: Option<String>,
    partners: Vec<PartnerView>,
    statuses: [&'static str; 2],
    notice: Option<String>,
    problem: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    notice: Option<String>,
    problem: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "partner.list", "partners")
        .await?;
    let (agreement_id, partners) = match partners(&state) {
        Some((a, p)) => (Some(a), p),
        None => (None, Vec::new()),
    };
    Ok(render(&PartnersPage {
        node_name: &state.node_name,
        agreement_id,
        partners,
        statuses: STATUSES,
        notice: q.notice.map(|n| n.chars().take(200).collect()),
        problem: q.problem.map(|p| p.chars().take(200).collect()),
    }))
}

#[derive(Debug, Deserialize, Default)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

async fn page_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(party): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, ApiError> {
    let back = |key: &str, text: &str| {
        Redirect::to(&format!(
            "/ui/admin/partners?{key}={}",
            crate::assistance::encode(text)
        ))
        .into_response()
    };
    match set_status(&state, &principal, &party, &form.status).await {
        Ok(p) => Ok(back(
            "notice",
            &crate::i18n::t2(
                "partners-notice-status",
                "party",
                &p.party,
                "status",
                &p.status,
            ),
        )),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::FORBIDDEN => {
            Ok(back("problem", e.code()))
        }
        Err(e) => Err(e),
    }
}

/// The agreement's terms as the agreement page shows them: parties, capabilities, permitted
/// uses per purpose, deadlines and the contact-point directory.
pub(crate) struct AgreementTerms {
    pub title: String,
    /// Code and administration.
    pub parties: Vec<(String, String)>,
    pub capabilities: String,
    /// Purpose, allowed, consent rule, conditions.
    pub uses: Vec<[String; 4]>,
    /// What the deadline is, and its value.
    pub deadlines: Vec<(&'static str, String)>,
    /// Id, party, unit, role, request types, languages, valid from–to.
    pub directory: Vec<[String; 7]>,
}

impl AgreementTerms {
    pub(crate) fn of(a: &Agreement) -> AgreementTerms {
        let d = &a.deadlines;
        let join = |items: Vec<String>| items.join(", ");
        AgreementTerms {
            title: a.title.clone(),
            parties: a
                .parties
                .iter()
                .map(|p| (p.code.clone(), p.administration.clone()))
                .collect(),
            capabilities: join(a.capabilities.iter().map(|c| c.code().to_owned()).collect()),
            uses: a
                .permitted_uses
                .iter()
                .map(|(purpose, rule)| {
                    [
                        purpose.code().to_owned(),
                        if rule.allowed {
                            crate::i18n::t("terms-allowed-yes")
                        } else {
                            crate::i18n::t("terms-allowed-no")
                        }
                        .to_owned(),
                        match rule.consent {
                            ConsentRule::None => crate::i18n::t("terms-consent-none"),
                            ConsentRule::PriorWritten => {
                                crate::i18n::t("terms-consent-prior-written")
                            }
                        }
                        .to_owned(),
                        rule.conditions.join("; "),
                    ]
                })
                .collect(),
            deadlines: vec![
                (
                    crate::i18n::t("terms-deadline-ack"),
                    d.ack_working_days.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-exec"),
                    d.exec_days.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-urgent"),
                    d.urgent_cap_days.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-confirm"),
                    d.confirm_days.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-correct"),
                    d.correct_days.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-reminder"),
                    d.reminder_percent.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-overdue-every"),
                    d.overdue_reminder_every_days.to_string(),
                ),
                (
                    crate::i18n::t("terms-deadline-spontaneous"),
                    d.serious_spontaneous_ack_working_days.to_string(),
                ),
            ],
            directory: a
                .directory
                .entries
                .iter()
                .map(|e| {
                    [
                        e.id.clone(),
                        e.party.clone(),
                        e.unit.clone(),
                        e.role.clone(),
                        join(
                            e.request_types
                                .iter()
                                .map(|t| t.code().to_owned())
                                .collect(),
                        ),
                        e.languages.join(", "),
                        format!(
                            "{} – {}",
                            e.valid_from,
                            e.valid_to.map(|t| t.to_string()).unwrap_or_default()
                        ),
                    ]
                })
                .collect(),
        }
    }
}

/// The OpenAPI fragment of the partner API.
pub fn openapi() -> Value {
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let common = |extra: Value| {
        let mut responses = json!({
            "401": { "$ref": "#/components/responses/Unauthenticated" },
            "403": { "$ref": "#/components/responses/Forbidden" },
            "503": { "$ref": "#/components/responses/Unavailable" },
        });
        if let (Some(target), Some(extra)) = (responses.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    json!({
        "paths": {
            "/api/v1/admin/partners": { "get": {
                "summary": "The partners of this node's agreement: status, endpoint, assurance, manifest version and key fingerprints for out-of-band comparison; administrator only",
                "responses": common(json!({ "200": { "description": "Partners", "content": { "application/json": { "schema": { "type": "object", "required": ["partners"], "properties": {
                    "agreement_id": { "type": ["string", "null"] },
                    "partners": { "type": "array", "items": { "$ref": "#/components/schemas/AdminPartner" } } } } } } } })),
            }},
            "/api/v1/admin/partners/{party}/status": { "post": {
                "summary": "Suspend or reactivate a partner (as `caravan partner set-status`); audited",
                "parameters": [{ "name": "party", "in": "path", "required": true, "schema": { "type": "string" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["status"], "properties": { "status": { "type": "string", "enum": STATUSES } } } } } },
                "responses": common(json!({
                    "200": { "description": "Changed", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AdminPartner" } } } },
                    "400": error("`invalid_body`, `partner_status_invalid`"),
                    "404": error("`partner_not_found`, `exchange_not_configured`"),
                })),
            }},
        },
        "components": { "schemas": {
            "AdminPartner": { "type": "object", "required": ["party", "name", "endpoint", "status", "assurance", "manifest_version", "fingerprints", "keys"], "properties": {
                "party": { "type": "string" }, "name": { "type": "string" }, "endpoint": { "type": "string" },
                "status": { "type": "string", "enum": STATUSES },
                "assurance": { "type": "string", "enum": ["good_standing", "under_review", "violated"] },
                "manifest_version": { "type": "integer" }, "updated_at": { "type": "integer" },
                "fingerprints": { "type": "array", "items": { "type": "array", "items": { "type": "string" }, "minItems": 2, "maxItems": 2 } },
                "keys": { "type": "array", "items": { "type": "object", "properties": {
                    "purpose": { "type": "string" }, "kid": { "type": "string" }, "fingerprint": { "type": "string" },
                    "not_before": { "type": "integer" }, "not_after": { "type": ["integer", "null"] }, "revoked_at": { "type": ["integer", "null"] } } } } } },
        }},
    })
}
