//! Mutual assistance over HTTP: the JSON API under `/api/v1/` (agreements, requests and
//! their transitions, evidence, consents, overdue lists, statistics) and the desk officer's
//! pages under `/ui/desk/` (inbox, request form, case view, overdue).
//!
//! Why so thin: every rule lives in `caravan-assistance` and every multi-step action in
//! `caravan_assistance_node::service::AssistanceNode`, which also writes the audit rows. This
//! module authenticates (the [`Principal`] extractor), checks the §13 table where a handler
//! names one capability, moves the blocking work off the async workers, and turns the
//! workflow's coded errors into responses. The node's workflow is found through
//! `caravan_assistance_node::runtime` (the binary registers it with the node's evidence key);
//! without it the routes answer 404 `assistance_not_configured`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use caravan_assistance::agreement::Purpose;
use caravan_assistance::approval::{AgreementChange, ProposalState};
use caravan_assistance::catalogue::{PersonConcerned, PersonKind, RequestDraft, RequestType};
use caravan_assistance::evidence::Form as EvidenceForm;
use caravan_assistance::lifecycle::{Event, Ground};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::retention::{RetentionClass, ReviewDecision};
use caravan_assistance::roles::Capability;
use caravan_assistance::usecontrol::{ConsentDecision, Recipient, UseAction};
use caravan_assistance_node::approval::{ProposalDecision, proposal_view, status_choices};
use caravan_assistance_node::disclosure::DisclosureInput;
use caravan_assistance_node::error::{AssistError, ErrorKind};
use caravan_assistance_node::oral::OralIntake;
use caravan_assistance_node::service::{
    AssistanceNode, ConsentAsk, EvidenceUpload, UploadContent, today,
};
use caravan_store::Store;
use caravan_store::assistance::CaseQuery;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, now_ms, same_origin};
use crate::{ApiError, AppState, ErrorCode};

#[derive(Clone)]
pub(crate) struct AssistState {
    store: Arc<dyn Store>,
    node_name: Arc<str>,
}

impl AssistState {
    /// The state of the assistance routes, also used by `assistance_wire`.
    pub(crate) fn of(state: &AppState) -> AssistState {
        AssistState {
            store: state.store.clone(),
            node_name: state.node_name.clone(),
        }
    }
}

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    let state = AssistState {
        store: state.store.clone(),
        node_name: state.node_name.clone(),
    };
    Router::new()
        .route("/api/v1/agreements", get(api_agreements))
        .route("/api/v1/requests", get(api_requests).post(api_create))
        .route("/api/v1/requests/{id}", get(api_request))
        .route(
            "/api/v1/requests/{id}/transitions",
            get(api_transitions).post(api_transition),
        )
        .route(
            "/api/v1/requests/{id}/evidence",
            get(api_evidence).post(api_reply),
        )
        .route("/api/v1/evidence/uploads", post(api_stage_upload))
        .route(
            "/api/v1/requests/{id}/evidence/{evidence_id}/content",
            get(api_evidence_content),
        )
        .route("/api/v1/consents", get(api_consents).post(api_consent))
        .route("/api/v1/consents/{id}/decision", post(api_decision))
        .route("/api/v1/overdue", get(api_overdue))
        .route("/api/v1/stats", get(api_stats))
        .route("/ui/desk/inbox", get(page_inbox))
        .route("/ui/desk/requests/new", get(page_new))
        .route("/ui/desk/requests", post(page_create))
        .route("/ui/desk/requests/{id}", get(page_case))
        .route("/ui/desk/requests/{id}/act", post(page_act))
        .route("/ui/desk/overdue", get(page_overdue))
        .route("/api/v1/requests/oral", post(api_oral))
        .route("/api/v1/requests/{id}/disclosures", post(api_disclosure))
        .route(
            "/api/v1/requests/{id}/evidence/{evidence_id}/original",
            post(api_original),
        )
        .route("/api/v1/retention", get(api_retention))
        .route("/api/v1/retention/{evidence_id}/review", post(api_review))
        .route("/api/v1/retention/{evidence_id}/{verb}", post(api_hold))
        .route("/api/v1/proposals", get(api_proposals).post(api_propose))
        .route("/api/v1/proposals/{id}/decision", post(api_decide))
        .route("/ui/desk/agreement", get(page_agreement))
        .route("/ui/desk/agreement/proposals", post(page_propose))
        .route("/ui/desk/agreement/proposals/{id}", post(page_decide))
        .with_state(state)
}

fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::BadInput => StatusCode::BAD_REQUEST,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) fn api_error(e: AssistError) -> ApiError {
    match e.kind {
        // A failure the node names (e.g. `evidence_at_rest_corrupt`: a file altered on
        // disk) keeps its code, so the operator sees what broke; others stay `internal`.
        ErrorKind::Internal if e.code != "internal" => {
            ApiError::custom(StatusCode::INTERNAL_SERVER_ERROR, e.code, e.message)
        }
        ErrorKind::Internal => ApiError::new(ErrorCode::Internal, e.message),
        ErrorKind::Unavailable => ApiError::new(ErrorCode::StoreUnavailable, e.message),
        kind => ApiError::custom(status_of(kind), e.code, e.message),
    }
}

pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, code, message.into())
}

pub(crate) fn node(state: &AssistState) -> Result<Arc<AssistanceNode>, ApiError> {
    caravan_assistance_node::runtime::lookup(&state.store).ok_or_else(|| {
        // Not a failure of the node: it runs without the assistance workflow (no evidence
        // key registered), so there is nothing at this address.
        ApiError::custom(
            StatusCode::NOT_FOUND,
            "assistance_not_configured",
            "mutual assistance is not configured on this node",
        )
    })
}

/// Runs workflow work on the blocking pool, after a pump so the view is current.
pub(crate) async fn blocking<T: Send + 'static>(
    node: Arc<AssistanceNode>,
    work: impl FnOnce(&AssistanceNode, i64) -> Result<T, AssistError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let now = now_ms();
        // Messages waiting in either direction are moved first; a failure here leaves them
        // for the next pump and does not fail the officer's request.
        let _ = node.pump(now);
        work(&node, now)
    })
    .await
    .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
    .map_err(api_error)
}

pub(crate) fn parse_date(raw: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad("date_invalid", format!("{s:?} is not a date (YYYY-MM-DD)")))
        })
        .transpose()
}

// ---- JSON API ----------------------------------------------------------------------------

async fn api_agreements(
    State(state): State<AssistState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let _ = &principal;
    let agreement = blocking(node, |n, _| n.agreement()).await?;
    Ok(Json(json!({ "agreements": [agreement_json(&agreement)] })))
}

fn agreement_json(a: &caravan_assistance::agreement::Agreement) -> Value {
    json!({
        "agreement_id": a.id,
        "version": a.version,
        "title": a.title,
        "status": a.status,
        "assurance": a.assurance.state,
        "parties": a.parties.iter().map(|p| json!({ "code": p.code, "administration": p.administration })).collect::<Vec<_>>(),
        "capabilities": a.capabilities,
        "permitted_uses": a.permitted_uses.iter().map(|(p, r)| json!({
            "purpose": p, "allowed": r.allowed,
            "consent": if r.consent == caravan_assistance::agreement::ConsentRule::PriorWritten { "prior_written" } else { "none" },
            "conditions": r.conditions,
        })).collect::<Vec<_>>(),
        "deadlines": {
            "ack_working_days": a.deadlines.ack_working_days,
            "exec_days": a.deadlines.exec_days,
            "urgent_cap_days": a.deadlines.urgent_cap_days,
            "confirm_days": a.deadlines.confirm_days,
        },
        "languages": a.languages.accepted,
        "directory_version": a.directory.version,
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    holder: Option<String>,
    state: Option<String>,
    desk: Option<String>,
    limit: Option<u32>,
}

async fn api_requests(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    if let Some(h) = &q.holder
        && h != "requester"
        && h != "requested"
    {
        return Err(bad("holder_invalid", "holder is requester or requested"));
    }
    let actor = principal.actor().clone();
    let query = CaseQuery {
        holder: q.holder,
        state: q.state,
        desk: q.desk,
        limit: q.limit.unwrap_or(200).min(1_000),
    };
    let cases = blocking(node, move |n, _| n.list_cases(&actor, &query)).await?;
    Ok(Json(json!({ "requests": cases })))
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    desk: String,
    request: RequestDraft,
    /// The partner's oral record this written request confirms (§2.3): the request takes
    /// its id.
    #[serde(default)]
    confirms_oral: Option<String>,
}

async fn api_create(
    State(state): State<AssistState>,
    principal: Principal,
    Json(body): Json<CreateBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| match &body.confirms_oral {
        Some(oral) => n.confirm_oral_request(&actor, oral, body.request, &body.desk, now),
        None => n.create_request(&actor, body.request, &body.desk, now),
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "case_id": row.case_id, "state": row.state, "desk": row.desk })),
    )
        .into_response())
}

async fn api_request(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    Ok(Json(
        blocking(node, move |n, now| n.case_view(&actor, &id, now)).await?,
    ))
}

async fn api_transitions(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let list = blocking(node, move |n, _| n.transitions_view(&actor, &id)).await?;
    Ok(Json(json!({ "transitions": list })))
}

#[derive(Debug, Deserialize)]
struct TransitionBody {
    event: Event,
}

fn audit_action(event: &Event) -> &'static str {
    match event {
        Event::Submit => "request.send",
        Event::Acknowledge => "request.acknowledge",
        Event::Accept | Event::AcceptWithConditions { .. } => "request.accept",
        Event::Refuse { .. } => "request.refuse",
        Event::Withdraw { .. } => "request.withdraw",
        Event::Close => "request.close",
        Event::Postpone { .. } => "request.postpone",
        Event::Resume => "request.resume",
        Event::ReturnForCorrection { .. } => "request.return_for_correction",
        Event::Delegate { .. } => "request.delegate",
        Event::DelayNotice { .. } => "request.delay_notice",
        Event::ConditionsAccept | Event::ConditionsDecline { .. } => "request.conditions",
        Event::PartialReply { .. } | Event::Reply { .. } => "request.reply",
        Event::TransportReceipt | Event::CorrectionExpired | Event::Reminder => {
            "request.node_event"
        }
    }
}

async fn api_transition(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<TransitionBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    if matches!(body.event, Event::Reply { .. } | Event::PartialReply { .. }) {
        return Err(bad(
            "reply_needs_evidence_route",
            "replies are posted to /api/v1/requests/{id}/evidence with their files",
        ));
    }
    let actor = principal.actor().clone();
    let action = audit_action(&body.event);
    let row = blocking(node, move |n, now| {
        n.act(&actor, None, &id, body.event, action, now)
    })
    .await?;
    Ok(Json(
        json!({ "case_id": row.case_id, "state": row.state, "reply_due": row.reply_due }),
    ))
}

async fn api_evidence(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let list = blocking(node, move |n, now| n.evidence_list(&actor, &id, now)).await?;
    Ok(Json(json!({ "evidence": list })))
}

#[derive(Debug, Deserialize)]
struct MarkingsBody {
    tlp: String,
    pap: String,
    #[serde(default)]
    caveats: Vec<String>,
}

impl MarkingsBody {
    fn parse(&self) -> Result<Markings, ApiError> {
        let tlp = Tlp::parse_tag(&self.tlp).ok_or_else(|| {
            bad(
                "tlp_invalid",
                format!("{:?} is not a TLP 2.0 value", self.tlp),
            )
        })?;
        let pap = Pap::parse_tag(&self.pap)
            .ok_or_else(|| bad("pap_invalid", format!("{:?} is not a PAP value", self.pap)))?;
        let mut m = Markings::new(tlp, pap);
        for c in &self.caveats {
            m = m
                .with_caveat(c)
                .map_err(|e| bad("caveat_invalid", e.to_string()))?;
        }
        Ok(m)
    }
}

#[derive(Debug, Deserialize)]
struct FileBody {
    name: String,
    media_type: String,
    /// The file inline (small files), or …
    #[serde(default)]
    content_base64: Option<String>,
    /// … the evidence id of a file staged with `POST /api/v1/evidence/uploads`.
    #[serde(default)]
    upload_id: Option<String>,
    form: EvidenceForm,
    certification: Option<String>,
    markings: MarkingsBody,
    permitted_uses: Vec<Purpose>,
}

#[derive(Debug, Deserialize)]
struct PartialBody {
    outstanding: Vec<String>,
    expected_on: String,
}

#[derive(Debug, Deserialize)]
struct ReplyBody {
    files: Vec<FileBody>,
    partial: Option<PartialBody>,
}

async fn api_reply(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<ReplyBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let mut files = Vec::new();
    for f in body.files {
        let content = match (&f.content_base64, &f.upload_id) {
            (Some(b64), None) => Content::Inline(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|_| {
                        bad(
                            "content_invalid",
                            format!("{}: content is not base64", f.name),
                        )
                    })?,
            ),
            (None, Some(id)) => Content::Staged(id.clone()),
            _ => {
                return Err(bad(
                    "content_invalid",
                    format!(
                        "{}: give exactly one of content_base64 and upload_id",
                        f.name
                    ),
                ));
            }
        };
        files.push((f, content));
    }
    let files = files
        .into_iter()
        .map(|(f, content)| {
            Ok((
                EvidenceUpload {
                    name: f.name,
                    media_type: f.media_type,
                    // Filled in on the blocking thread: a staged file is read through there.
                    content: UploadContent::Bytes(Vec::new()),
                    form: f.form,
                    certification: f.certification,
                    markings: f.markings.parse()?,
                    permitted_uses: f.permitted_uses,
                },
                content,
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let partial = match body.partial {
        Some(p) => {
            let date = parse_date(Some(&p.expected_on))?
                .ok_or_else(|| bad("date_invalid", "expected_on is required"))?;
            Some((p.outstanding, date))
        }
        None => None,
    };
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| {
        let mut uploads = Vec::with_capacity(files.len());
        for (mut upload, content) in files {
            upload.content = match content {
                Content::Inline(bytes) => UploadContent::Bytes(bytes),
                Content::Staged(id) => n.staged(&id)?,
            };
            uploads.push(upload);
        }
        n.reply(&actor, None, &id, uploads, partial, now)
    })
    .await?;
    Ok(Json(json!({ "case_id": row.case_id, "state": row.state })))
}

/// Where a reply's file comes from.
enum Content {
    Inline(Vec<u8>),
    Staged(String),
}

/// Largest evidence file an officer may stage through the API (2 GiB).
const MAX_STAGED_UPLOAD: u64 = caravan_assistance_node::at_rest::DEFAULT_MAX_UPLOAD;

/// `POST /api/v1/evidence/uploads`: the file as the raw request body, streamed into the
/// vault (never whole in memory); the answer names the evidence id a reply then cites as
/// `upload_id`.
async fn api_stage_upload(
    State(state): State<AssistState>,
    principal: Principal,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let (mut reader, feed) = crate::stream_body::BodyReader::new(body);
    let stage = tokio::task::spawn_blocking(move || {
        node.stage_upload(&actor, &mut reader, MAX_STAGED_UPLOAD, now_ms())
    });
    // The feed ends when the body does, or when the reader stops taking chunks.
    let (_, staged) = tokio::join!(feed, stage);
    let stored = staged
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(api_error)?;
    let answer = json!({
        "upload_id": stored.evidence_id,
        "sha256": stored.sha256,
        "size": stored.size,
    });
    // Kept until a reply claims it or the vault's sweep removes it an hour later.
    stored.keep();
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

#[derive(Debug, Deserialize)]
struct UseQuery {
    purpose: Option<String>,
    recipient: Option<String>,
    recipient_name: Option<String>,
    action: Option<String>,
}

pub(crate) fn recipient(class: Option<&str>, name: Option<&str>) -> Result<Recipient, ApiError> {
    let name = name.unwrap_or("").to_owned();
    Ok(match class.unwrap_or("same_admin") {
        "same_admin" => Recipient::SameAdmin,
        "domestic_agency" => Recipient::DomesticAgency(name),
        "court" => Recipient::Court(name),
        "third_country" => Recipient::ThirdCountry(name),
        "intl_org" => Recipient::IntlOrg(name),
        other => {
            return Err(bad(
                "recipient_invalid",
                format!("{other:?} is not a recipient class"),
            ));
        }
    })
}

async fn api_evidence_content(
    State(state): State<AssistState>,
    principal: Principal,
    Path((id, evidence_id)): Path<(String, String)>,
    Query(q): Query<UseQuery>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let purpose = Purpose::parse(q.purpose.as_deref().unwrap_or("ADMIN")).ok_or_else(|| {
        bad(
            "purpose_invalid",
            "purpose is INTEL, ADMIN, CIVIL or CRIMINAL",
        )
    })?;
    let action = UseAction::parse(q.action.as_deref().unwrap_or("view"))
        .ok_or_else(|| bad("use_action_invalid", "not a use action"))?;
    let recipient = recipient(q.recipient.as_deref(), q.recipient_name.as_deref())?;
    let actor = principal.actor().clone();
    let file_name: String = evidence_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let (record, content) = blocking(node, move |n, now| {
        let row = n
            .store()
            .evidence_row(&evidence_id)
            .map_err(AssistError::from)?;
        if row.case_id != id {
            return Err(AssistError::not_found("evidence", &evidence_id));
        }
        n.use_evidence(&actor, &evidence_id, action, purpose, recipient, now)
    })
    .await?;
    let media = axum::http::HeaderValue::from_str(&record.media_type).unwrap_or(
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    // Evidence is the partner's file: never rendered on the node's origin, where an HTML or
    // SVG file could run script with the officer's session. It is downloaded, and even if a
    // browser ignores that, the sandbox CSP gives it an opaque origin and no scripts.
    let disposition = axum::http::HeaderValue::from_str(&format!(
        "attachment; filename=\"evidence-{file_name}\""
    ))
    .unwrap_or(axum::http::HeaderValue::from_static("attachment"));
    // The use and its custody event are recorded (and the whole file was read through and
    // checked) before the first byte leaves; the body streams the file again from the vault.
    let length = content.size();
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CONTENT_SECURITY_POLICY,
                axum::http::HeaderValue::from_static("sandbox; default-src 'none'"),
            ),
            (
                header::CONTENT_LENGTH,
                axum::http::HeaderValue::from(length),
            ),
        ],
        crate::stream_body::evidence_body(content),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct ConsentsQuery {
    case_id: Option<String>,
}

async fn api_consents(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<ConsentsQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let list = blocking(node, move |n, _| {
        n.consents_view(&actor, q.case_id.as_deref())
    })
    .await?;
    Ok(Json(json!({ "consents": list })))
}

#[derive(Debug, Deserialize)]
struct ConsentBody {
    case_id: String,
    items: Vec<String>,
    purpose: Purpose,
    recipient: Recipient,
    justification: String,
    proceedings_reference: Option<String>,
    needed_by: String,
}

async fn api_consent(
    State(state): State<AssistState>,
    principal: Principal,
    Json(body): Json<ConsentBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let needed_by = parse_date(Some(&body.needed_by))?
        .ok_or_else(|| bad("date_invalid", "needed_by is required"))?;
    let ask = ConsentAsk {
        case_id: body.case_id,
        items: body.items,
        purpose: body.purpose,
        recipient: body.recipient,
        justification: body.justification,
        proceedings_reference: body.proceedings_reference,
        needed_by,
    };
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| n.request_consent(&actor, ask, now)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "consent_id": row.consent_id, "state": row.state })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct DecisionBody {
    decision: ConsentDecision,
}

async fn api_decision(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| {
        n.decide_consent(&actor, &id, body.decision, now)
    })
    .await?;
    Ok(Json(
        json!({ "consent_id": row.consent_id, "state": row.state }),
    ))
}

#[derive(Debug, Deserialize)]
struct OnQuery {
    on: Option<String>,
    format: Option<String>,
}

async fn api_overdue(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<OnQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let on = parse_date(q.on.as_deref())?;
    let actor = principal.actor().clone();
    let lists = blocking(node, move |n, now| {
        n.overdue(&actor, on.unwrap_or(today(now)))
    })
    .await?;
    Ok(Json(json!({ "overdue": overdue_json(&lists) })))
}

fn overdue_json(
    lists: &std::collections::BTreeMap<String, Vec<caravan_assistance::lifecycle::OverdueItem>>,
) -> Value {
    Value::Object(
        lists
            .iter()
            .map(|(desk, items)| {
                (
                    desk.clone(),
                    Value::Array(
                        items
                            .iter()
                            .map(|i| {
                                json!({
                                    "case_id": i.case_id, "state": i.state, "timer": i.timer,
                                    "due": i.due, "days_late": i.days_late,
                                })
                            })
                            .collect(),
                    ),
                )
            })
            .collect(),
    )
}

async fn api_stats(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<OnQuery>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    principal
        .require(Capability::ReadStatistics, "assistance.stats", "stats")
        .await?;
    let on = parse_date(q.on.as_deref())?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(bad("format_invalid", format!("{other:?}: json or csv"))),
    };
    let actor = principal.actor().clone();
    let report = blocking(node, move |n, now| {
        n.stats(&actor, on.unwrap_or(today(now)))
    })
    .await?;
    if csv {
        Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            caravan_assistance::stats::to_csv(&report),
        )
            .into_response())
    } else {
        Ok(Json(serde_json::to_value(&report).unwrap_or_default()).into_response())
    }
}

// ---- pages -------------------------------------------------------------------------------

fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

/// One row of a case table on a page.
struct CaseLine {
    case_id: String,
    holder: String,
    state: String,
    subject: String,
    types: String,
    desk: String,
    reply_due: String,
    overdue: bool,
}

fn case_line(v: &Value) -> CaseLine {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    CaseLine {
        case_id: s("case_id"),
        holder: s("holder"),
        state: s("state"),
        subject: s("subject"),
        types: v["types"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        desk: s("desk"),
        reply_due: s("reply_due"),
        overdue: v["overdue"].as_bool().unwrap_or(false),
    }
}

#[derive(Template)]
#[template(path = "assistance/inbox.html")]
struct InboxPage<'a> {
    node_name: &'a str,
    incoming: Vec<CaseLine>,
    outgoing: Vec<CaseLine>,
}

async fn page_inbox(
    State(state): State<AssistState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let cases = blocking(node, move |n, _| {
        n.list_cases(&actor, &CaseQuery::default())
    })
    .await?;
    let lines: Vec<CaseLine> = cases.iter().map(case_line).collect();
    let (incoming, outgoing) = lines.into_iter().partition(|l| l.holder == "requested");
    Ok(render(&InboxPage {
        node_name: &state.node_name,
        incoming,
        outgoing,
    }))
}

#[derive(Template)]
#[template(path = "assistance/new.html")]
struct NewPage<'a> {
    node_name: &'a str,
    problem: Option<String>,
    types: Vec<(&'static str, &'static str)>,
}

#[derive(Debug, Deserialize)]
struct ProblemQuery {
    problem: Option<String>,
    notice: Option<String>,
}

async fn page_new(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<ProblemQuery>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::DraftRequests, "request.form", "new")
        .await?;
    Ok(render(&NewPage {
        node_name: &state.node_name,
        problem: q.problem.map(|p| p.chars().take(500).collect()),
        types: RequestType::ALL
            .iter()
            .map(|t| (t.code(), t.title()))
            .collect(),
    }))
}

/// The text fields of the request form (assistance spec §3), shared by the new-request page
/// and the written confirmation of an urgent oral request, so both map a form to a
/// `RequestDraft` the same way.
#[derive(Debug, Deserialize)]
pub(crate) struct DraftFields {
    requesting_contact_point: String,
    agreement_article: String,
    subject: String,
    object: String,
    reason: String,
    case_statement: String,
    #[serde(default)]
    enquiries_already_carried_out: String,
    legal_provisions: String,
    #[serde(default)]
    person_name: String,
    #[serde(default)]
    person_kind: String,
    #[serde(default)]
    person_identifiers: String,
    nature_of_proceedings: String,
    link_to_matter: String,
    language: String,
}

impl DraftFields {
    /// The draft these fields describe; the caller adds urgency and the type-specific extras.
    pub(crate) fn into_draft(
        self,
        types: Vec<RequestType>,
        purposes: Vec<Purpose>,
    ) -> RequestDraft {
        RequestDraft {
            requesting_contact_point: self.requesting_contact_point,
            agreement_article: self.agreement_article,
            subject: self.subject,
            types,
            object: self.object,
            reason: self.reason,
            case_statement: self.case_statement,
            enquiries_already_carried_out: self.enquiries_already_carried_out,
            legal_provisions: self.legal_provisions,
            persons: if self.person_name.trim().is_empty() {
                Vec::new()
            } else {
                vec![PersonConcerned {
                    name: self.person_name,
                    kind: if self.person_kind == "natural" {
                        PersonKind::Natural
                    } else {
                        PersonKind::Legal
                    },
                    identifiers: words(&self.person_identifiers),
                }]
            },
            nature_of_proceedings: self.nature_of_proceedings,
            link_to_matter: self.link_to_matter,
            language: self.language,
            purposes_sought: purposes,
            ..RequestDraft::default()
        }
    }
}

/// A form's list field: items separated by commas or spaces.
pub(crate) fn words(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Deserialize)]
struct NewForm {
    desk: String,
    #[serde(flatten)]
    fields: DraftFields,
    types: String,
    declaration_references: String,
    hs_codes: String,
    purposes_sought: String,
}

pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(crate) fn cross_origin(headers: &HeaderMap) -> Option<ApiError> {
    (!same_origin(headers)).then(|| {
        ApiError::custom(
            StatusCode::FORBIDDEN,
            "cross_origin_refused",
            "a form sent from another site is refused (CSRF protection)",
        )
    })
}

async fn page_create(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<NewForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let list = words;
    let types = list(&form.types)
        .iter()
        .map(|t| RequestType::parse(t).ok_or_else(|| format!("{t} is not a request type")))
        .collect::<Result<Vec<_>, _>>();
    let purposes = list(&form.purposes_sought)
        .iter()
        .map(|p| Purpose::parse(p).ok_or_else(|| format!("{p} is not a purpose")))
        .collect::<Result<Vec<_>, _>>();
    let (types, purposes) = match (types, purposes) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(e), _) | (_, Err(e)) => {
            return Ok(
                Redirect::to(&format!("/ui/desk/requests/new?problem={}", encode(&e)))
                    .into_response(),
            );
        }
    };
    let mut draft = form.fields.into_draft(types, purposes);
    draft
        .extra
        .insert("declaration_references".into(), form.declaration_references);
    draft.extra.insert("hs_codes".into(), form.hs_codes);
    let actor = principal.actor().clone();
    let desk = form.desk;
    match blocking(node, move |n, now| {
        n.create_request(&actor, draft, &desk, now)
    })
    .await
    {
        Ok(row) => Ok(
            Redirect::to(&format!("/ui/desk/requests/{}", encode(&row.case_id))).into_response(),
        ),
        Err(e) if e.status().is_client_error() => Ok(Redirect::to(&format!(
            "/ui/desk/requests/new?problem={}",
            encode(&format!("{}: {}", e.code(), e.status()))
        ))
        .into_response()),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "assistance/case.html")]
struct CasePage<'a> {
    node_name: &'a str,
    case: CaseLine,
    problem: Option<String>,
    notice: Option<String>,
    grounds: String,
    reasons: Vec<String>,
    request: Vec<(String, String)>,
    timeline: Vec<[String; 6]>,
    messages: Vec<[String; 5]>,
    evidence: Vec<EvidenceLine>,
    consents: Vec<[String; 6]>,
    /// An oral request's confirmation line (§2.3), if the case began as one.
    oral: Option<String>,
    /// Direction, notice, legal instrument, authority, date, advance or after the fact.
    disclosures: Vec<[String; 6]>,
    /// Evidence, state, custodian, due back, returned, receipt confirmed.
    originals: Vec<[String; 6]>,
    /// Evidence, reason, placed by, in force, lift reason.
    holds: Vec<[String; 5]>,
    /// Direction, action, what, items and reason.
    notices: Vec<[String; 4]>,
}

struct EvidenceLine {
    id: String,
    name: String,
    form: String,
    supplier: String,
    sha256: String,
    markings: String,
    uses: String,
    custody: String,
    erased: bool,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn page_case(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<ProblemQuery>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let view = blocking(node, move |n, now| n.case_view(&actor, &id, now)).await?;
    let request = view["request"]
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| {
                    !v.is_null() && v.as_str() != Some("") && v != &&json!([]) && v != &&json!({})
                })
                .map(|(k, v)| (k.replace('_', " "), text_of(v)))
                .collect()
        })
        .unwrap_or_default();
    let arr = |k: &str| view[k].as_array().cloned().unwrap_or_default();
    let page = CasePage {
        node_name: &state.node_name,
        case: case_line(&view),
        problem: q.problem.map(|p| p.chars().take(500).collect()),
        notice: q.notice.map(|p| p.chars().take(200).collect()),
        grounds: arr("grounds")
            .iter()
            .map(text_of)
            .collect::<Vec<_>>()
            .join(", "),
        reasons: arr("reasons").iter().map(text_of).collect(),
        request,
        timeline: arr("transitions")
            .iter()
            .map(|t| ["seq", "on", "action", "from", "to", "account"].map(|k| text_of(&t[k])))
            .collect(),
        messages: arr("messages")
            .iter()
            .map(|m| {
                [
                    "direction",
                    "action",
                    "state",
                    "code",
                    "exchange_message_id",
                ]
                .map(|k| text_of(&m[k]))
            })
            .collect(),
        evidence: arr("evidence")
            .iter()
            .map(|e| EvidenceLine {
                id: text_of(&e["evidence_id"]),
                name: text_of(&e["name"]),
                form: text_of(&e["form"]),
                supplier: format!(
                    "{} ({})",
                    text_of(&e["supplier"]),
                    text_of(&e["supplied_on"])
                ),
                sha256: text_of(&e["sha256"]),
                markings: {
                    let m = &e["markings"]["strictest"];
                    format!(
                        "TLP:{} PAP:{} {}",
                        text_of(&m["tlp"]),
                        text_of(&m["pap"]),
                        m["caveats"]
                            .as_array()
                            .map(|c| c.iter().map(text_of).collect::<Vec<_>>().join(" "))
                            .unwrap_or_default()
                    )
                },
                uses: e["permitted_uses"]
                    .as_array()
                    .map(|u| u.iter().map(text_of).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                custody: e["custody"]
                    .as_array()
                    .map(|c| {
                        c.iter()
                            .map(|x| text_of(&x["kind"]))
                            .collect::<Vec<_>>()
                            .join(" → ")
                    })
                    .unwrap_or_default(),
                erased: e["erased"].as_bool().unwrap_or(false),
            })
            .collect(),
        consents: arr("consents")
            .iter()
            .map(|c| {
                [
                    text_of(&c["consent_id"]),
                    text_of(&c["direction"]),
                    text_of(&c["purpose"]),
                    format!(
                        "{} {}",
                        text_of(&c["recipient"]["class"]),
                        text_of(&c["recipient"]["name"])
                    ),
                    text_of(&c["state"]),
                    text_of(&c["decided_by"]),
                ]
            })
            .collect(),
        oral: view["oral"].as_object().map(|o| {
            if o["confirmed"].as_bool().unwrap_or(false) {
                crate::i18n::t("case-oral-confirmed").to_owned()
            } else {
                crate::i18n::t2(
                    "case-oral-pending",
                    "due",
                    text_of(&o["confirm_due"]),
                    "alerts",
                    text_of(&o["alerts_sent"]),
                )
            }
        }),
        disclosures: arr("disclosures")
            .iter()
            .map(|d| {
                [
                    text_of(&d["direction"]),
                    text_of(&d["notice_id"]),
                    text_of(&d["legal_instrument"]),
                    format!(
                        "{} {}",
                        text_of(&d["authority"]["class"]),
                        text_of(&d["authority"]["name"])
                    ),
                    text_of(&d["disclosure_date"]),
                    if d["advance"].as_bool().unwrap_or(false) {
                        crate::i18n::t("case-disclosure-in-advance").to_owned()
                    } else {
                        crate::i18n::t("case-disclosure-after").to_owned()
                    },
                ]
            })
            .collect(),
        originals: arr("evidence")
            .iter()
            .filter(|e| e["original"].is_object())
            .map(|e| {
                let o = &e["original"];
                [
                    text_of(&e["evidence_id"]),
                    text_of(&o["state"]),
                    text_of(&o["custodian"]),
                    text_of(&o["due_back"]),
                    text_of(&o["returned_on"]),
                    text_of(&o["confirmed_on"]),
                ]
            })
            .collect(),
        holds: arr("holds")
            .iter()
            .map(|h| {
                [
                    text_of(&h["evidence_id"]),
                    text_of(&h["reason"]),
                    text_of(&h["placed_by"]),
                    if h["in_force"].as_bool().unwrap_or(false) {
                        "yes".to_owned()
                    } else {
                        "lifted".to_owned()
                    },
                    text_of(&h["lift_reason"]),
                ]
            })
            .collect(),
        notices: arr("notices")
            .iter()
            .map(|n| {
                [
                    text_of(&n["direction"]),
                    text_of(&n["action"]),
                    text_of(&n["event"]),
                    format!(
                        "{} {} {}",
                        text_of(&n["evidence_id"]),
                        n["items"]
                            .as_array()
                            .map(|i| i.iter().map(text_of).collect::<Vec<_>>().join(", "))
                            .unwrap_or_default(),
                        text_of(&n["reason"])
                    ),
                ]
            })
            .collect(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
struct ActForm {
    action: String,
    #[serde(default)]
    grounds: String,
    #[serde(default)]
    reason: String,
}

async fn page_act(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let grounds: Result<Vec<Ground>, String> = form
        .grounds
        .split([',', ' '])
        .filter(|g| !g.is_empty())
        .map(|g| Ground::parse(g).ok_or_else(|| format!("{g} is not a ground code")))
        .collect();
    let back =
        |q: String| Redirect::to(&format!("/ui/desk/requests/{}?{q}", encode(&id))).into_response();
    let grounds = match grounds {
        Ok(g) => g,
        Err(e) => return Ok(back(format!("problem={}", encode(&e)))),
    };
    let event = match form.action.as_str() {
        "submit" => Event::Submit,
        "acknowledge" => Event::Acknowledge,
        "accept" => Event::Accept,
        "refuse" => Event::Refuse {
            grounds,
            reason: form.reason,
        },
        "withdraw" => Event::Withdraw {
            reason: form.reason,
        },
        "close" => Event::Close,
        other => {
            return Ok(back(format!(
                "problem={}",
                encode(&format!("{other} is not an action on this page"))
            )));
        }
    };
    let action = audit_action(&event);
    let actor = principal.actor().clone();
    let case_id = id.clone();
    match blocking(node, move |n, now| {
        n.act(&actor, None, &case_id, event, action, now)
    })
    .await
    {
        Ok(row) => Ok(back(format!(
            "notice={}",
            encode(&crate::i18n::t1("case-now", "state", &row.state))
        ))),
        Err(e) if e.status().is_client_error() => Ok(back(format!("problem={}", encode(e.code())))),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "assistance/overdue.html")]
struct OverduePage<'a> {
    node_name: &'a str,
    on: String,
    desks: Vec<(String, Vec<[String; 5]>)>,
}

async fn page_overdue(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<OnQuery>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let on = parse_date(q.on.as_deref())?;
    let actor = principal.actor().clone();
    let (day, lists) = blocking(node, move |n, now| {
        let day = on.unwrap_or(today(now));
        Ok((day, n.overdue(&actor, day)?))
    })
    .await?;
    let desks = lists
        .into_iter()
        .map(|(desk, items)| {
            let rows = items
                .iter()
                .map(|i| {
                    [
                        i.case_id.clone(),
                        i.state.to_string(),
                        i.timer.to_owned(),
                        i.due.to_string(),
                        i.days_late.to_string(),
                    ]
                })
                .collect();
            (desk, rows)
        })
        .collect();
    Ok(render(&OverduePage {
        node_name: &state.node_name,
        on: day.to_string(),
        desks,
    }))
}

// ---- OpenAPI -----------------------------------------------------------------------------

pub(crate) fn errors(codes: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(
        "401".into(),
        json!({ "$ref": "#/components/responses/Unauthenticated" }),
    );
    for code in codes {
        let r = match *code {
            "400" => json!({ "$ref": "#/components/responses/BadRequest" }),
            "403" => json!({ "$ref": "#/components/responses/Forbidden" }),
            "404" => json!({ "$ref": "#/components/responses/NotFound" }),
            "409" => {
                json!({ "description": "Changed by someone else meanwhile (`stale_write`); read again and retry", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
            }
            "422" => {
                json!({ "description": "Refused by a rule of the agreement, the catalogue or the state machine (`request_incomplete`, `transition_not_allowed`, `agreement_not_in_force`, `partner_assurance_withdrawn`, `purpose_not_permitted`, `consent_required`, `marking_loosened`, …); audited", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
            }
            _ => json!({ "$ref": "#/components/responses/Unavailable" }),
        };
        out.insert((*code).into(), r);
    }
    out.insert(
        "503".into(),
        json!({ "$ref": "#/components/responses/Unavailable" }),
    );
    Value::Object(out)
}

pub(crate) fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

pub(crate) fn path_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

pub(crate) fn query_param(name: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema })
}

/// This module's OpenAPI 3.1 fragment: its paths and schemas.
pub fn openapi() -> Value {
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let date = json!({ "type": "string", "format": "date" });
    let mut paths = serde_json::Map::new();
    let mut add = |path: &str, method: &str, op: Value| {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = op;
    };
    let with = |ok_code: &str, okv: Value, codes: &[&str]| -> Value {
        let mut m = errors(codes).as_object().cloned().unwrap_or_default();
        m.insert(ok_code.into(), okv);
        Value::Object(m)
    };
    add(
        "/api/v1/agreements",
        "get",
        json!({
            "summary": "The agreement this node works under, with its status and assurance",
            "tags": ["assistance"],
            "responses": with("200", ok("Agreements", json!({ "type": "object", "required": ["agreements"], "properties": { "agreements": { "type": "array", "items": { "type": "object" } } } })), &[]),
        }),
    );
    add(
        "/api/v1/requests",
        "get",
        json!({
            "summary": "Requests on this node (both sides), most recently changed first",
            "tags": ["assistance"],
            "parameters": [
                query_param("holder", json!({ "type": "string", "enum": ["requester", "requested"] })),
                query_param("state", json!({ "type": "string" })),
                query_param("desk", json!({ "type": "string" })),
                query_param("limit", json!({ "type": "integer", "minimum": 0, "maximum": 4294967295u64 })),
            ],
            "responses": with("200", ok("Requests", json!({ "type": "object", "required": ["requests"], "properties": { "requests": { "type": "array", "items": r("CaseSummary") } } })), &["400", "403"]),
        }),
    );
    add(
        "/api/v1/requests",
        "post",
        json!({
            "summary": "Create a written request in draft; every missing §2.2 item is listed at once",
            "tags": ["assistance"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("CreateRequest") } } },
            "responses": with("201", ok("Created", json!({ "type": "object", "required": ["case_id", "state", "desk"], "properties": { "case_id": { "type": "string" }, "state": { "type": "string" }, "desk": { "type": "string" } } })), &["400", "403", "409", "422"]),
        }),
    );
    add(
        "/api/v1/requests/{id}",
        "get",
        json!({
            "summary": "One request: content, state, timers, timeline, messages, evidence metadata, consents (audited view)",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "responses": with("200", ok("The case", r("CaseView")), &["403", "404"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/transitions",
        "get",
        json!({
            "summary": "The case's transitions, oldest first",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "responses": with("200", ok("Transitions", json!({ "type": "object", "required": ["transitions"], "properties": { "transitions": { "type": "array", "items": { "type": "object" } } } })), &["403", "404"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/transitions",
        "post",
        json!({
            "summary": "Apply one §3.2 event of this node's side (submit, acknowledge, accept, refuse with grounds, postpone, withdraw, close…); it is sent to the partner",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("TransitionRequest") } } },
            "responses": with("200", ok("New state", json!({ "type": "object", "required": ["case_id", "state"], "properties": { "case_id": { "type": "string" }, "state": { "type": "string" }, "reply_due": { "type": ["string", "null"] } } })), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/evidence",
        "get",
        json!({
            "summary": "Evidence metadata of a case: digest, supplier, form, markings, permitted uses, custody (audited)",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "responses": with("200", ok("Evidence", json!({ "type": "object", "required": ["evidence"], "properties": { "evidence": { "type": "array", "items": { "type": "object" } } } })), &["403", "404"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/evidence",
        "post",
        json!({
            "summary": "Reply (in full or in part) with evidence files; each is digested, encrypted at rest and sent as its own part",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("ReplyRequest") } } },
            "responses": with("200", ok("New state", json!({ "type": "object", "required": ["case_id", "state"], "properties": { "case_id": { "type": "string" }, "state": { "type": "string" } } })), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/evidence/uploads",
        "post",
        json!({
            "summary": "Stage an evidence file for a reply: the raw body is streamed into the node's encrypted store (at most 2 GiB, never empty); cite the answer's upload_id in the reply. Unclaimed uploads are removed after an hour",
            "tags": ["assistance"],
            "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
            "responses": with("201", ok("Staged", json!({ "type": "object", "required": ["upload_id", "sha256", "size"], "properties": { "upload_id": { "type": "string" }, "sha256": { "type": "string" }, "size": { "type": "integer" } } })), &["400", "403", "422"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/evidence/{evidence_id}/content",
        "get",
        json!({
            "summary": "Use an evidence file (view, export, present in proceedings…) for a declared purpose and recipient; the use check and custody apply",
            "tags": ["assistance"],
            "parameters": [
                path_param("id"), path_param("evidence_id"),
                query_param("purpose", json!({ "type": "string", "enum": ["INTEL", "ADMIN", "CIVIL", "CRIMINAL"] })),
                query_param("action", json!({ "type": "string", "enum": UseAction::ALL.iter().map(|a| a.code()).collect::<Vec<_>>() })),
                query_param("recipient", json!({ "type": "string", "enum": ["same_admin", "domestic_agency", "court", "third_country", "intl_org"] })),
                query_param("recipient_name", json!({ "type": "string" })),
            ],
            "responses": with("200", json!({ "description": "The file", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } }), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/consents",
        "get",
        json!({
            "summary": "Consent-for-other-use cases, asked by us or of us",
            "tags": ["assistance"],
            "parameters": [query_param("case_id", json!({ "type": "string" }))],
            "responses": with("200", ok("Consents", json!({ "type": "object", "required": ["consents"], "properties": { "consents": { "type": "array", "items": { "type": "object" } } } })), &["400", "403"]),
        }),
    );
    add(
        "/api/v1/consents",
        "post",
        json!({
            "summary": "Ask the provider for prior written consent to another use (§10.3)",
            "tags": ["assistance"],
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("ConsentRequest") } } },
            "responses": with("201", ok("Requested", json!({ "type": "object", "required": ["consent_id", "state"], "properties": { "consent_id": { "type": "string" }, "state": { "type": "string" } } })), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/consents/{id}/decision",
        "post",
        json!({
            "summary": "The provider's decision on a consent request it received (supervisor)",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("ConsentDecisionRequest") } } },
            "responses": with("200", ok("Decided", json!({ "type": "object", "required": ["consent_id", "state"], "properties": { "consent_id": { "type": "string" }, "state": { "type": "string" } } })), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/overdue",
        "get",
        json!({
            "summary": "Overdue lists per desk on a day (today by default)",
            "tags": ["assistance"],
            "parameters": [query_param("on", date.clone())],
            "responses": with("200", ok("Overdue items by desk", json!({ "type": "object", "required": ["overdue"], "properties": { "overdue": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "object" } } } } })), &["400", "403"]),
        }),
    );
    add(
        "/api/v1/stats",
        "get",
        json!({
            "summary": "The joint committee's statistics (§15), as JSON or CSV",
            "tags": ["assistance"],
            "parameters": [query_param("on", date.clone()), query_param("format", json!({ "type": "string", "enum": ["json", "csv"] }))],
            "responses": with("200", json!({ "description": "The report", "content": { "application/json": { "schema": { "type": "object" } }, "text/csv": { "schema": { "type": "string" } } } }), &["400", "403"]),
        }),
    );
    let obj = json!({ "type": "object" });
    let body = |schema: Value| json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    let recipient_schema = json!({ "type": "object", "required": ["class"], "properties": {
        "class": { "type": "string", "enum": ["same_admin", "domestic_agency", "court", "third_country", "intl_org"] },
        "name": { "type": "string" } } });
    add(
        "/api/v1/requests/oral",
        "post",
        json!({
            "summary": "Record an urgent oral request taken by this side's contact point (§2.3); T_confirm starts",
            "tags": ["assistance"],
            "requestBody": body(json!({ "type": "object", "required": ["caller", "summary", "types", "justification", "reply_by"], "properties": {
                "caller": { "type": "string" }, "summary": { "type": "string" },
                "types": { "type": "array", "items": { "type": "string", "enum": RequestType::ALL.iter().map(|t| t.code()).collect::<Vec<_>>() } },
                "justification": { "type": "string" }, "reply_by": date.clone(),
                "received_on": { "type": ["string", "null"], "format": "date" },
                "desk": { "type": ["string", "null"] } } })),
            "responses": with("201", ok("The oral record (oral_pending_confirmation)", obj.clone()), &["400", "403", "422"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/disclosures",
        "post",
        json!({
            "summary": "Record a disclosure of partner items compelled by domestic law and send the provider its Disclosure.Notice (§10.4)",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "requestBody": body(json!({ "type": "object", "required": ["items", "legal_instrument", "authority", "disclosure_date", "summary"], "properties": {
                "items": { "type": "array", "items": { "type": "string" } },
                "legal_instrument": { "type": "string" }, "authority": recipient_schema,
                "disclosure_date": date.clone(), "summary": { "type": "string" } } })),
            "responses": with("201", ok("The notice sent", obj.clone()), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/requests/{id}/evidence/{evidence_id}/original",
        "post",
        json!({
            "summary": "An original (§6): check out (receiver), return it (Evidence.ReturnOriginal), or confirm its receipt (provider)",
            "tags": ["assistance"],
            "parameters": [path_param("id"), path_param("evidence_id")],
            "requestBody": body(json!({ "type": "object", "required": ["action", "condition"], "properties": {
                "action": { "type": "string", "enum": ["checkout", "return", "confirm_receipt"] },
                "custodian": { "type": "string" }, "condition": { "type": "string" },
                "due_back": { "type": ["string", "null"], "format": "date" }, "note": { "type": "string" } } })),
            "responses": with("200", ok("The original's state and custody", obj.clone()), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/retention",
        "get",
        json!({
            "summary": "Retention review list (§11.1): items past their limit, due for annual review, or under a legal hold",
            "tags": ["assistance"],
            "parameters": [query_param("on", date.clone())],
            "responses": with("200", ok("Review list", json!({ "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": obj.clone() } } })), &["400", "403"]),
        }),
    );
    add(
        "/api/v1/retention/{evidence_id}/review",
        "post",
        json!({
            "summary": "Annual review of an item: keep (reason, optional class) or erase (the provider is told with Data.Erased)",
            "tags": ["assistance"],
            "parameters": [path_param("evidence_id")],
            "requestBody": body(json!({ "type": "object", "required": ["decision"], "properties": {
                "decision": { "type": "string", "enum": ["keep", "erase"] }, "reason": { "type": "string" },
                "class": { "type": ["string", "null"], "enum": ["enquiry_no_act", "enquiry_no_offence", "offence_procedure_pending", "final_judgment", "person_cleared", null] },
                "personal_data": { "type": ["boolean", "null"] } } })),
            "responses": with("200", ok("The decision", obj.clone()), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/retention/{evidence_id}/{verb}",
        "post",
        json!({
            "summary": "Place (`hold`) or lift (`lift`) a legal hold on a partner item (§11.2); the provider is told",
            "tags": ["assistance"],
            "parameters": [path_param("evidence_id"), { "name": "verb", "in": "path", "required": true, "schema": { "type": "string", "enum": ["hold", "lift"] } }],
            "requestBody": body(json!({ "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string" } } })),
            "responses": with("200", ok("The hold", obj.clone()), &["400", "403", "404", "409", "422"]),
        }),
    );
    add(
        "/api/v1/proposals",
        "get",
        json!({
            "summary": "Two-person proposals (agreement status, assurance, directory), newest first",
            "tags": ["assistance"],
            "parameters": [query_param("state", json!({ "type": "string", "enum": ["pending", "approved", "rejected", "withdrawn"] }))],
            "responses": with("200", ok("Proposals", json!({ "type": "object", "required": ["proposals"], "properties": { "proposals": { "type": "array", "items": obj.clone() } } })), &["400", "403"]),
        }),
    );
    add(
        "/api/v1/proposals",
        "post",
        json!({
            "summary": "Propose a two-person change of the agreement (§1.2, §1.9, §13); a second account approves it",
            "tags": ["assistance"],
            "requestBody": body(json!({ "type": "object", "required": ["change"], "properties": {
                "change": { "type": "object", "required": ["kind"], "description": "`{\"kind\": \"status\", \"to\": \"in_force\", \"effective\": \"2026-12-01\", \"legal_act\": \"…\"}`, `{\"kind\": \"assurance\", \"to\": \"violated\", \"reason\": \"…\"}`, `{\"kind\": \"directory\", \"entry\": {…}, \"reason\": \"…\"}` (one contact point) or `{\"kind\": \"directory_section\", \"entries\": [{…}], \"reason\": \"…\"}` (our whole section)", "properties": {
                    "kind": { "type": "string", "enum": ["status", "assurance", "directory", "directory_section"] } } } } })),
            "responses": with("201", ok("The proposal (pending)", obj.clone()), &["400", "403", "422"]),
        }),
    );
    add(
        "/api/v1/proposals/{id}/decision",
        "post",
        json!({
            "summary": "Approve (a second account of the other role; makes the change), reject or withdraw a proposal",
            "tags": ["assistance"],
            "parameters": [path_param("id")],
            "requestBody": body(json!({ "type": "object", "required": ["decision"], "properties": {
                "decision": { "type": "string", "enum": ["approve", "reject", "withdraw"] }, "reason": { "type": "string" } } })),
            "responses": with("200", ok("The proposal and the agreement", obj.clone()), &["400", "403", "404", "409", "422"]),
        }),
    );
    let markings = json!({ "type": "object", "required": ["tlp", "pap"], "properties": {
        "tlp": { "type": "string", "enum": Tlp::ALL.iter().map(|t| t.code()).collect::<Vec<_>>() },
        "pap": { "type": "string", "enum": Pap::ALL.iter().map(|t| t.code()).collect::<Vec<_>>() },
        "caveats": { "type": "array", "items": { "type": "string" } } } });
    let purposes = json!({ "type": "array", "items": { "type": "string", "enum": ["INTEL", "ADMIN", "CIVIL", "CRIMINAL"] } });
    let recipient = json!({ "type": "object", "required": ["class"], "properties": {
        "class": { "type": "string", "enum": ["same_admin", "domestic_agency", "court", "third_country", "intl_org"] },
        "name": { "type": "string" } } });
    json!({
        "paths": Value::Object(paths),
        "components": { "schemas": {
            "CaseSummary": { "type": "object", "required": ["case_id", "state", "holder"], "properties": {
                "case_id": { "type": "string" }, "agreement_id": { "type": "string" },
                "holder": { "type": "string", "enum": ["requester", "requested"] },
                "partner": { "type": "string" }, "desk": { "type": "string" },
                "types": { "type": "array", "items": { "type": "string" } },
                "state": { "type": "string" }, "subject": { "type": "string" },
                "reply_due": { "type": ["string", "null"] }, "overdue": { "type": "boolean" },
                "created_at": { "type": "integer" }, "updated_at": { "type": "integer" } } },
            "CaseView": { "type": "object", "required": ["case_id", "state"], "properties": {
                "case_id": { "type": "string" }, "state": { "type": "string" },
                "request": { "type": ["object", "null"] },
                "transitions": { "type": "array", "items": { "type": "object" } },
                "messages": { "type": "array", "items": { "type": "object" } },
                "evidence": { "type": "array", "items": { "type": "object" } },
                "consents": { "type": "array", "items": { "type": "object" } } } },
            "RequestDraft": { "type": "object", "description": "The §2.2 content; absent fields are empty and reported as missing", "properties": {
                "requesting_contact_point": { "type": "string" }, "agreement_article": { "type": "string" },
                "subject": { "type": "string" },
                "types": { "type": "array", "items": { "type": "string", "enum": RequestType::ALL.iter().map(|t| t.code()).collect::<Vec<_>>() } },
                "object": { "type": "string" }, "reason": { "type": "string" },
                "case_statement": { "type": "string" }, "enquiries_already_carried_out": { "type": "string" },
                "legal_provisions": { "type": "string" },
                "persons": { "type": "array", "items": { "type": "object", "required": ["name", "kind", "identifiers"], "properties": {
                    "name": { "type": "string" }, "kind": { "type": "string", "enum": ["natural", "legal"] },
                    "identifiers": { "type": "array", "items": { "type": "string" } } } } },
                "nature_of_proceedings": { "type": "string" }, "link_to_matter": { "type": "string" },
                "language": { "type": "string" }, "purposes_sought": purposes.clone(),
                "extra": { "type": "object", "additionalProperties": { "type": "string" } } } },
            "CreateRequest": { "type": "object", "required": ["desk", "request"], "properties": {
                "desk": { "type": "string" }, "request": r("RequestDraft") } },
            "TransitionRequest": { "type": "object", "required": ["event"], "properties": {
                "event": { "type": "object", "required": ["event"], "description": "A §3.2 event: `{\"event\": \"acknowledge\"}`, `{\"event\": \"refuse\", \"grounds\": [\"G05\"], \"reason\": \"…\"}`, …", "properties": {
                    "event": { "type": "string", "enum": ["submit", "return_for_correction", "acknowledge", "accept", "accept_with_conditions", "conditions_accept", "conditions_decline", "refuse", "delegate", "postpone", "resume", "withdraw", "close", "delay_notice"] } } } } },
            "EvidenceFile": { "type": "object", "required": ["name", "media_type", "form", "markings", "permitted_uses"],
                "oneOf": [{ "required": ["content_base64"] }, { "required": ["upload_id"] }], "properties": {
                "name": { "type": "string" }, "media_type": { "type": "string" },
                "content_base64": { "type": "string", "contentEncoding": "base64" },
                "upload_id": { "type": "string", "description": "An evidence id from POST /api/v1/evidence/uploads" },
                "form": { "type": "string", "enum": ["certified_copy", "copy", "original"] },
                "certification": { "type": ["string", "null"] },
                "markings": markings, "permitted_uses": purposes.clone() } },
            "ReplyRequest": { "type": "object", "required": ["files"], "properties": {
                "files": { "type": "array", "items": r("EvidenceFile") },
                "partial": { "type": ["object", "null"], "required": ["outstanding", "expected_on"], "properties": {
                    "outstanding": { "type": "array", "items": { "type": "string" } }, "expected_on": date.clone() } } } },
            "ConsentRequest": { "type": "object", "required": ["case_id", "items", "purpose", "recipient", "justification", "needed_by"], "properties": {
                "case_id": { "type": "string" }, "items": { "type": "array", "items": { "type": "string" } },
                "purpose": { "type": "string", "enum": ["INTEL", "ADMIN", "CIVIL", "CRIMINAL"] },
                "recipient": recipient, "justification": { "type": "string" },
                "proceedings_reference": { "type": ["string", "null"] }, "needed_by": date } },
            "ConsentDecisionRequest": { "type": "object", "required": ["decision"], "properties": {
                "decision": { "type": "object", "required": ["decision"], "properties": {
                    "decision": { "type": "string", "enum": ["granted", "granted_with_conditions", "refused"] },
                    "expires_on": { "type": ["string", "null"] },
                    "conditions": { "type": "array", "items": { "type": "string" } },
                    "reasons": { "type": "string" } } } } }
        } }
    })
}

// ---- part B: oral requests, forced disclosure, originals, retention, two-person rule ----

#[derive(Debug, Deserialize)]
struct OralBody {
    caller: String,
    summary: String,
    types: Vec<RequestType>,
    justification: String,
    reply_by: chrono::NaiveDate,
    #[serde(default)]
    received_on: Option<chrono::NaiveDate>,
    #[serde(default)]
    desk: Option<String>,
}

async fn api_oral(
    State(state): State<AssistState>,
    principal: Principal,
    Json(body): Json<OralBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| {
        n.record_oral(
            &actor,
            OralIntake {
                caller: body.caller,
                received_on: body.received_on,
                summary: body.summary,
                types: body.types,
                justification: body.justification,
                reply_by: body.reply_by,
                desk: body.desk,
            },
            now,
        )
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "case_id": row.case_id, "state": row.state, "desk": row.desk })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct DisclosureBody {
    items: Vec<String>,
    legal_instrument: String,
    authority: Recipient,
    disclosure_date: chrono::NaiveDate,
    summary: String,
}

async fn api_disclosure(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<DisclosureBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let notice = blocking(node, move |n, now| {
        n.disclose_under_domestic_law(
            &actor,
            DisclosureInput {
                case_id: id,
                items: body.items,
                legal_instrument: body.legal_instrument,
                authority: body.authority,
                disclosure_date: body.disclosure_date,
                summary: body.summary,
            },
            now,
        )
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&notice).unwrap_or_default()),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct OriginalActionBody {
    action: String,
    #[serde(default)]
    custodian: String,
    condition: String,
    #[serde(default)]
    due_back: Option<chrono::NaiveDate>,
    #[serde(default)]
    note: String,
}

async fn api_original(
    State(state): State<AssistState>,
    principal: Principal,
    Path((_case, evidence_id)): Path<(String, String)>,
    Json(body): Json<OriginalActionBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    if !matches!(
        body.action.as_str(),
        "checkout" | "return" | "confirm_receipt"
    ) {
        return Err(bad(
            "original_action_invalid",
            "action is checkout, return or confirm_receipt",
        ));
    }
    if body.action == "checkout" && body.due_back.is_none() {
        return Err(bad("due_back_missing", "a checkout needs due_back"));
    }
    let actor = principal.actor().clone();
    let record = blocking(node, move |n, now| match body.action.as_str() {
        "checkout" => n.checkout_original(
            &actor,
            &evidence_id,
            &body.custodian,
            &body.condition,
            body.due_back.unwrap_or_default(),
            now,
        ),
        "return" => n.return_original(&actor, &evidence_id, &body.condition, &body.note, now),
        _ => n.confirm_original_receipt(&actor, &evidence_id, &body.condition, now),
    })
    .await?;
    Ok(Json(json!({
        "evidence_id": record.id,
        "original": record.original,
        "custody": record.custody.iter().map(|c| c.kind).collect::<Vec<_>>(),
    })))
}

async fn api_retention(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<OnQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let on = parse_date(q.on.as_deref())?;
    let actor = principal.actor().clone();
    let list = blocking(node, move |n, now| {
        n.retention_review(&actor, on.unwrap_or(today(now)))
    })
    .await?;
    Ok(Json(json!({ "items": list })))
}

#[derive(Debug, Deserialize)]
struct ReasonBody {
    reason: String,
}

async fn api_hold(
    State(state): State<AssistState>,
    principal: Principal,
    Path((evidence_id, verb)): Path<(String, String)>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let place = match verb.as_str() {
        "hold" => true,
        "lift" => false,
        _ => return Err(bad("hold_action_invalid", "POST …/hold or …/lift")),
    };
    let hold = blocking(node, move |n, now| {
        if place {
            n.place_hold(&actor, &evidence_id, &body.reason, now)
        } else {
            n.lift_hold(&actor, &evidence_id, &body.reason, now)
        }
    })
    .await?;
    Ok(Json(json!({
        "hold_id": hold.hold_id, "evidence_id": hold.item_id, "reason": hold.reason,
        "in_force": hold.lifted_at.is_none(),
    })))
}

#[derive(Debug, Deserialize)]
struct ReviewBody {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    personal_data: Option<bool>,
}

async fn api_review(
    State(state): State<AssistState>,
    principal: Principal,
    Path(evidence_id): Path<String>,
    Json(body): Json<ReviewBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let decision = match body.decision.as_str() {
        "keep" => ReviewDecision::Keep {
            reason: body.reason,
        },
        "erase" => ReviewDecision::Erase,
        _ => return Err(bad("review_decision_invalid", "decision is keep or erase")),
    };
    let class = match body.class.as_deref() {
        None | Some("") => None,
        Some(c) => Some(RetentionClass::parse(c).ok_or_else(|| {
            bad(
                "retention_class_unknown",
                format!("{c:?} is not a retention class"),
            )
        })?),
    };
    let actor = principal.actor().clone();
    Ok(Json(
        blocking(node, move |n, now| {
            n.review_retention(
                &actor,
                &evidence_id,
                decision,
                class,
                body.personal_data,
                now,
            )
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize)]
struct ProposalsQuery {
    state: Option<String>,
}

async fn api_proposals(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<ProposalsQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(ProposalState::parse(s).ok_or_else(|| {
            bad(
                "proposal_state_invalid",
                "state is pending, approved, rejected or withdrawn",
            )
        })?),
    };
    let actor = principal.actor().clone();
    let list = blocking(node, move |n, _| n.proposals(&actor, wanted)).await?;
    Ok(Json(json!({ "proposals": list })))
}

#[derive(Debug, Deserialize)]
struct ProposeBody {
    change: AgreementChange,
}

async fn api_propose(
    State(state): State<AssistState>,
    principal: Principal,
    Json(body): Json<ProposeBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| {
        n.propose_agreement_change(&actor, body.change, now)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(proposal_view(&row))).into_response())
}

#[derive(Debug, Deserialize)]
struct DecideBody {
    decision: String,
    #[serde(default)]
    reason: String,
}

fn proposal_decision(decision: &str, reason: String) -> Result<ProposalDecision, ApiError> {
    match decision {
        "approve" => Ok(ProposalDecision::Approve),
        "reject" => Ok(ProposalDecision::Reject { reason }),
        "withdraw" => Ok(ProposalDecision::Withdraw { reason }),
        _ => Err(bad(
            "proposal_decision_invalid",
            "decision is approve, reject or withdraw",
        )),
    }
}

async fn api_decide(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<DecideBody>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let decision = proposal_decision(&body.decision, body.reason)?;
    let actor = principal.actor().clone();
    let (row, agreement) = blocking(node, move |n, now| {
        let row = n.decide_proposal(&actor, &id, decision, now)?;
        Ok((row, n.agreement()?))
    })
    .await?;
    Ok(Json(json!({
        "proposal": proposal_view(&row),
        "agreement": agreement_json(&agreement),
    })))
}

#[derive(Template)]
#[template(path = "assistance/agreement.html")]
struct AgreementPage<'a> {
    node_name: &'a str,
    problem: Option<String>,
    notice: Option<String>,
    agreement_id: String,
    status: String,
    assurance: String,
    version: String,
    directory_version: String,
    /// id, kind, change, proposed by, state, decided by.
    proposals: Vec<[String; 6]>,
    status_choices: Vec<String>,
    /// Parties, permitted uses, deadlines and the directory (`agreement_terms.html`).
    terms: crate::partners::AgreementTerms,
}

async fn page_agreement(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<ProblemQuery>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let (agreement, proposals) = blocking(node, move |n, _| {
        let a = n.agreement()?;
        Ok((a, n.proposals(&actor, None)?))
    })
    .await?;
    Ok(render(&AgreementPage {
        node_name: &state.node_name,
        problem: q.problem.map(|p| p.chars().take(500).collect()),
        notice: q.notice.map(|p| p.chars().take(200).collect()),
        agreement_id: agreement.id.clone(),
        status: agreement.status.state.to_string(),
        assurance: agreement.assurance.state.to_string(),
        version: agreement.version.to_string(),
        directory_version: agreement.directory.version.to_string(),
        terms: crate::partners::AgreementTerms::of(&agreement),
        proposals: proposals
            .iter()
            .map(|p| {
                [
                    text_of(&p["proposal_id"]),
                    text_of(&p["kind"]),
                    text_of(&p["change"]),
                    format!(
                        "{} ({})",
                        text_of(&p["proposed_by"]["account"]),
                        text_of(&p["proposed_by"]["role"])
                    ),
                    text_of(&p["state"]),
                    text_of(&p["decided_by"]["account"]),
                ]
            })
            .collect(),
        status_choices: status_choices(&agreement)
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
struct ProposeForm {
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    effective: String,
    #[serde(default)]
    legal_act: String,
    #[serde(default)]
    assurance: String,
    #[serde(default)]
    reason: String,
}

fn back_to_agreement(q: String) -> Response {
    Redirect::to(&format!("/ui/desk/agreement?{q}")).into_response()
}

async fn page_propose(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<ProposeForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let problem = |m: &str| Ok(back_to_agreement(format!("problem={}", encode(m))));
    let change = match form.kind.as_str() {
        "status" => {
            let Some(to) = caravan_assistance::agreement::AgreementState::parse(&form.status)
            else {
                return problem("choose a status");
            };
            let Ok(effective) = chrono::NaiveDate::parse_from_str(&form.effective, "%Y-%m-%d")
            else {
                return problem("the effective date is YYYY-MM-DD");
            };
            AgreementChange::Status {
                to,
                effective,
                legal_act: form.legal_act,
            }
        }
        "assurance" => {
            let Some(to) = caravan_assistance::agreement::AssuranceState::parse(&form.assurance)
            else {
                return problem("choose an assurance state");
            };
            AgreementChange::Assurance {
                to,
                reason: form.reason,
            }
        }
        _ => return problem("choose status or assurance"),
    };
    let actor = principal.actor().clone();
    match blocking(node, move |n, now| {
        n.propose_agreement_change(&actor, change, now)
    })
    .await
    {
        Ok(row) => Ok(back_to_agreement(format!(
            "notice={}",
            encode(&crate::i18n::t1(
                "agr-proposed",
                "proposal",
                &row.proposal_id
            ))
        ))),
        Err(e) if e.status().is_client_error() => {
            Ok(back_to_agreement(format!("problem={}", encode(e.code()))))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
struct DecideForm {
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn page_decide(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let Ok(decision) = proposal_decision(&form.decision, form.reason) else {
        return Ok(back_to_agreement(
            "problem=choose+approve%2C+reject+or+withdraw".into(),
        ));
    };
    let actor = principal.actor().clone();
    match blocking(node, move |n, now| {
        n.decide_proposal(&actor, &id, decision, now)
    })
    .await
    {
        Ok(row) => Ok(back_to_agreement(format!(
            "notice={}",
            encode(&crate::i18n::t2(
                "agr-proposal-state",
                "proposal",
                &row.proposal_id,
                "state",
                &row.state
            ))
        ))),
        Err(e) if e.status().is_client_error() => {
            Ok(back_to_agreement(format!("problem={}", encode(e.code()))))
        }
        Err(e) => Err(e),
    }
}
