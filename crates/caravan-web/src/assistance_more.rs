//! The desk pages and forms for what mutual assistance had only on the CLI and the API:
//! hit/no-hit queries (§12), bulk batches (§5), urgent oral requests taken by telephone
//! (§2.3), the contact-point directory (§1.8), and, on the case page, re-marking
//! (`Marking.Change`, §9), outcome feedback (§15), forced disclosure (§10.4), originals
//! (§6) and legal holds (§11). Also the JSON API of the two governance messages:
//! `POST /api/v1/markings/{item_id}/change` and `GET /api/v1/directory`.
//!
//! Why a module of its own: every rule lives in `caravan_assistance_node`; this module only
//! parses forms into the workflow's types and sends the officer back to the page with the
//! outcome or the refusal's code. Each form carries the CSRF token (`crate::csrf::field()`,
//! checked by [`crate::csrf::protect`] before any handler runs) and the same-origin check;
//! the role is checked by the workflow's call (and audited there when refused), and the
//! list pages ask [`Principal::require`] first so a refused look is audited too. Lists of
//! hit/no-hit queries show metadata only: the identifier asked is never kept.
//!
//! The directory page also replaces our whole section at once, as `caravan directory update
//! --file` does, but through a two-person proposal (`AgreementChange::DirectorySection`):
//! one account holding the §13 two-person right proposes here, a second account of the
//! other role approves it on the agreement page, and the approval sends the section with the
//! same workflow call the command makes. The form takes the section in the command's file
//! format (`directory::parse_entries`), starting from the section as it stands.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use caravan_assistance::agreement::Purpose;
use caravan_assistance::annex::Annex;
use caravan_assistance::approval::{AgreementChange, ProposalState};
use caravan_assistance::catalogue::{RequestDraft, RequestType, Urgency};
use caravan_assistance::hitnohit::QueryType;
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::outcome::{OutcomeReport, RevenueReport, SeizureReport};
use caravan_assistance::roles::{Capability, Grant, grant};
use caravan_assistance_node::directory::{DirectoryView, parse_entries};
use caravan_assistance_node::disclosure::DisclosureInput;
use caravan_assistance_node::hitnohit::QueryAsk;
use caravan_assistance_node::marking_change::{MarkingChangeBody, MarkingChangeInput};
use caravan_assistance_node::oral::OralIntake;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assistance::{
    AssistState, bad, blocking, cross_origin, encode, errors, node, ok, parse_date, path_param,
    recipient, words,
};
use crate::auth::Principal;
use crate::{ApiError, AppState, ErrorCode};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/markings/{item_id}/change",
            post(api_marking_change),
        )
        .route("/api/v1/directory", get(api_directory))
        .route("/ui/desk/directory", get(page_directory))
        .route("/ui/desk/directory/section", post(page_propose_section))
        .route("/ui/desk/hitnohit", get(page_hitnohit).post(page_ask))
        .route("/ui/desk/bulk", get(page_bulk).post(page_send_batch))
        .route("/ui/desk/oral", get(page_oral).post(page_record_oral))
        .route("/ui/desk/oral/confirm", post(page_confirm_oral))
        .route("/ui/desk/requests/{id}/marking", post(page_marking))
        .route("/ui/desk/requests/{id}/outcome", post(page_outcome))
        .route("/ui/desk/requests/{id}/disclosure", post(page_disclosure))
        .route("/ui/desk/requests/{id}/original", post(page_original))
        .route("/ui/desk/requests/{id}/hold", post(page_hold))
        .with_state(MoreState {
            assist: AssistState::of(state),
            node_name: state.node_name.clone(),
        })
}

/// The assistance state and the node's name for the pages.
#[derive(Clone)]
struct MoreState {
    assist: AssistState,
    node_name: std::sync::Arc<str>,
}

fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

fn short(text: Option<String>, max: usize) -> Option<String> {
    text.map(|t| t.chars().take(max).collect())
}

/// Back to `path` with a notice, or with the refusal's code (a client error); a server
/// error stays an error.
fn back<T>(path: &str, outcome: Result<T, ApiError>, notice: impl FnOnce(T) -> String) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    match outcome {
        Ok(v) => Redirect::to(&format!("{path}{sep}notice={}", encode(&notice(v)))).into_response(),
        Err(e) if e.status().is_client_error() => {
            Redirect::to(&format!("{path}{sep}problem={}", encode(e.code()))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn case_path(id: &str) -> String {
    format!("/ui/desk/requests/{}", encode(id))
}

fn markings(tlp: &str, pap: &str, caveats: &str) -> Result<Markings, ApiError> {
    let tlp = Tlp::parse_tag(tlp.trim())
        .ok_or_else(|| bad("tlp_invalid", format!("{tlp:?} is not a TLP value")))?;
    let pap = Pap::parse_tag(pap.trim())
        .ok_or_else(|| bad("pap_invalid", format!("{pap:?} is not a PAP value")))?;
    caveats
        .split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .try_fold(Markings::new(tlp, pap), |m, c| m.with_caveat(c))
        .map_err(|e| bad(e.code(), e.to_string()))
}

fn change_json(c: &MarkingChangeBody) -> Value {
    json!({
        "change_id": c.change_id, "item_id": c.item_id, "field": c.field,
        "markings": c.markings, "seq": c.seq, "reason": c.reason,
    })
}

// ---- JSON API ----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct MarkingChangeRequest {
    #[serde(default)]
    field: Option<String>,
    tlp: String,
    pap: String,
    #[serde(default)]
    caveats: Vec<String>,
    #[serde(default)]
    reason: String,
}

async fn api_marking_change(
    State(state): State<MoreState>,
    principal: Principal,
    Path(item_id): Path<String>,
    Json(body): Json<MarkingChangeRequest>,
) -> Result<Response, ApiError> {
    let node = node(&state.assist)?;
    let markings = markings(&body.tlp, &body.pap, &body.caveats.join(","))?;
    let actor = principal.actor().clone();
    let input = MarkingChangeInput {
        item_id,
        field: body.field,
        markings,
        reason: body.reason,
    };
    let change = blocking(node, move |n, now| n.change_marking(&actor, input, now)).await?;
    Ok((StatusCode::ACCEPTED, Json(change_json(&change))).into_response())
}

async fn api_directory(
    State(state): State<MoreState>,
    principal: Principal,
) -> Result<Json<DirectoryView>, ApiError> {
    principal
        .require(Capability::ViewPartnerData, "directory.view", "directory")
        .await?;
    let node = node(&state.assist)?;
    Ok(Json(blocking(node, |n, _| n.directory_view()).await?))
}

// ---- pages -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Notices {
    problem: Option<String>,
    notice: Option<String>,
}

/// One contact point as a table row: id, unit, role, request types, languages, channels,
/// validity.
type ContactRow = [String; 7];

fn contact_rows(entries: &[caravan_assistance::agreement::ContactPoint]) -> Vec<ContactRow> {
    entries
        .iter()
        .map(|e| {
            [
                e.id.clone(),
                e.unit.clone(),
                e.role.clone(),
                e.request_types
                    .iter()
                    .map(|t| t.code())
                    .collect::<Vec<_>>()
                    .join(" "),
                e.languages.join(" "),
                e.channels.join(", "),
                format!(
                    "{} – {}",
                    e.valid_from,
                    e.valid_to.map(|d| d.to_string()).unwrap_or_default()
                ),
            ]
        })
        .collect()
}

#[derive(Template)]
#[template(path = "assistance/directory.html")]
struct DirectoryPage<'a> {
    node_name: &'a str,
    problem: Option<String>,
    notice: Option<String>,
    agreement_id: String,
    document_version: u32,
    /// Party, section version, contact points, whose (ours / the partner's as it sent it).
    sections: Vec<(String, u32, Vec<ContactRow>, &'static str)>,
    /// Direction, party, version, contact points, state, code.
    updates: Vec<[String; 6]>,
    /// Whether the officer holds the two-person right to propose a directory change (§13:
    /// supervisor or administrator); the form is shown only then.
    may_propose: bool,
    /// Our section in the form's format, the starting point of an edit.
    section_json: String,
    /// Pending directory proposals: id, proposed by, the contact points proposed.
    pending: Vec<[String; 3]>,
}

async fn page_directory(
    State(state): State<MoreState>,
    principal: Principal,
    Query(q): Query<Notices>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::ViewPartnerData, "directory.view", "directory")
        .await?;
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let may_propose =
        grant(actor.role, Capability::ChangeAgreementStatus) == Some(Grant::TwoPerson);
    let (view, proposals) = blocking(node, move |n, _| {
        let proposals = if may_propose {
            n.proposals(&actor, Some(ProposalState::Pending))?
        } else {
            Vec::new()
        };
        Ok((n.directory_view()?, proposals))
    })
    .await?;
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let section_json = serde_json::to_string_pretty(&json!({ "entries": view.own.entries }))
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let pending = proposals
        .iter()
        .filter(|p| p["change"]["kind"] == "directory_section")
        .map(|p| {
            let ids: Vec<String> = p["change"]["entries"]
                .as_array()
                .map(|a| a.iter().map(|e| s(&e["id"])).collect())
                .unwrap_or_default();
            [
                s(&p["proposal_id"]),
                s(&p["proposed_by"]["account"]),
                ids.join(", "),
            ]
        })
        .collect();
    Ok(render(&DirectoryPage {
        node_name: &state.node_name,
        problem: short(q.problem, 200),
        notice: short(q.notice, 200),
        may_propose,
        section_json,
        pending,
        agreement_id: view.agreement_id.clone(),
        document_version: view.document_version,
        sections: vec![
            (
                view.own.party.clone(),
                view.own.version,
                contact_rows(&view.own.entries),
                "ours",
            ),
            (
                view.partner.party.clone(),
                view.partner.version,
                contact_rows(&view.partner.entries),
                "the partner's, as it sent it",
            ),
        ],
        updates: view
            .updates
            .iter()
            .map(|u| {
                ["direction", "party", "version", "entries", "state", "code"].map(|k| s(&u[k]))
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
struct SectionForm {
    #[serde(default)]
    entries: String,
    #[serde(default)]
    reason: String,
}

/// Proposes our whole directory section (§1.8) for a second account to approve. A section
/// that does not parse is refused first (`directory_file_invalid`); the role (two-person
/// right), the reason and every contact point are checked by the workflow, which audits a
/// refusal.
async fn page_propose_section(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<SectionForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let outcome = blocking(node, move |n, now| {
        let entries = parse_entries(&form.entries)?;
        let change = AgreementChange::DirectorySection {
            entries,
            reason: form.reason,
        };
        n.propose_agreement_change(&actor, change, now)
    })
    .await;
    Ok(back("/ui/desk/directory", outcome, |row| {
        crate::i18n::t1("dir-section-proposed", "proposal", &row.proposal_id)
    }))
}

#[derive(Template)]
#[template(path = "assistance/hitnohit.html")]
struct HitNoHitPage<'a> {
    node_name: &'a str,
    problem: Option<String>,
    notice: Option<String>,
    types: Vec<&'static str>,
    /// Query, direction, type, purpose, case reference, answer, code or handle, day.
    queries: Vec<[String; 8]>,
}

async fn page_hitnohit(
    State(state): State<MoreState>,
    principal: Principal,
    Query(q): Query<Notices>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::ViewPartnerData, "hitnohit.list", "hitnohit")
        .await?;
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let rows = blocking(node, move |n, _| n.hitnohit_queries(&actor, None, 200)).await?;
    Ok(render(&HitNoHitPage {
        node_name: &state.node_name,
        problem: short(q.problem, 300),
        notice: short(q.notice, 300),
        types: QueryType::ALL.iter().map(|t| t.code()).collect(),
        queries: rows
            .into_iter()
            .map(|r| {
                [
                    r.query_id,
                    r.direction,
                    r.query_type,
                    r.purpose.unwrap_or_default(),
                    r.case_reference,
                    r.answer,
                    r.code
                        .or(r
                            .handle
                            .map(|h| format!("handle {}…", &h[..h.len().min(16)])))
                        .unwrap_or_default(),
                    r.day,
                ]
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
struct AskForm {
    query_type: String,
    identifier: String,
    #[serde(default)]
    purpose: String,
    case_reference: String,
}

async fn page_ask(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<AskForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = "/ui/desk/hitnohit";
    let Some(query_type) = QueryType::parse(&form.query_type) else {
        return Ok(back::<()>(page, Err(bad("query_type_invalid", "")), |_| {
            String::new()
        }));
    };
    let purpose = match form.purpose.trim() {
        "" => None,
        p => match Purpose::parse(p) {
            Some(p) => Some(p),
            None => {
                return Ok(back::<()>(page, Err(bad("purpose_invalid", "")), |_| {
                    String::new()
                }));
            }
        },
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let ask = QueryAsk {
        query_type,
        identifier: form.identifier,
        purpose,
        case_reference: form.case_reference,
    };
    let outcome = blocking(node, move |n, now| n.ask_hitnohit(&actor, &ask, now)).await;
    Ok(back(page, outcome, |row| {
        format!("query {} sent; the answer arrives here", row.query_id)
    }))
}

#[derive(Template)]
#[template(path = "assistance/bulk.html")]
struct BulkPage<'a> {
    node_name: &'a str,
    problem: Option<String>,
    notice: Option<String>,
    /// Dataset id, provider, direction, frequency, legal article.
    datasets: Vec<[String; 5]>,
    /// Batch, direction, dataset, period, rows, state, SHA-256.
    batches: Vec<[String; 7]>,
}

async fn page_bulk(
    State(state): State<MoreState>,
    principal: Principal,
    Query(q): Query<Notices>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::ViewPartnerData, "bulk.list", "bulk")
        .await?;
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let (rows, agreement_id) = blocking(node, move |n, _| {
        Ok((
            n.bulk_batches(&actor, 200)?,
            n.config().agreement_id.clone(),
        ))
    })
    .await?;
    let datasets = Annex::shipped(&agreement_id)
        .map(|a| {
            a.datasets
                .iter()
                .map(|d| {
                    [
                        d.id.clone(),
                        d.provider.clone(),
                        d.direction.clone(),
                        format!("every {} days", d.frequency_days),
                        d.legal_article.clone(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&BulkPage {
        node_name: &state.node_name,
        problem: short(q.problem, 300),
        notice: short(q.notice, 300),
        datasets,
        batches: rows
            .into_iter()
            .map(|b| {
                [
                    b.batch_id,
                    b.direction,
                    b.dataset,
                    format!("{} – {}", b.period_from, b.period_to),
                    b.row_count.to_string(),
                    b.state,
                    b.batch_sha256.chars().take(16).collect::<String>() + "…",
                ]
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
struct BatchForm {
    dataset: String,
    from: String,
    to: String,
}

async fn page_send_batch(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<BatchForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = "/ui/desk/bulk";
    let dates = parse_date(Some(&form.from)).and_then(|f| Ok((f, parse_date(Some(&form.to))?)));
    let (Some(from), Some(to)) = (match dates {
        Ok(d) => d,
        Err(e) => return Ok(back::<()>(page, Err(e), |_| String::new())),
    }) else {
        return Ok(back::<()>(page, Err(bad("date_missing", "")), |_| {
            String::new()
        }));
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let dataset = form.dataset;
    let outcome = blocking(node, move |n, now| {
        n.send_bulk(&actor, &dataset, from, to, now)
    })
    .await;
    Ok(back(page, outcome, |sent| {
        if sent.recognised {
            format!(
                "batch {} for this period was recorded before; nothing new was cut",
                sent.batch.batch_id
            )
        } else {
            format!(
                "batch {} queued: {} rows",
                sent.batch.batch_id, sent.batch.row_count
            )
        }
    }))
}

#[derive(Template)]
#[template(path = "assistance/oral.html")]
struct OralPage<'a> {
    node_name: &'a str,
    problem: Option<String>,
    notice: Option<String>,
    types: Vec<(&'static str, &'static str)>,
}

async fn page_oral(
    State(state): State<MoreState>,
    principal: Principal,
    Query(q): Query<Notices>,
) -> Result<Response, ApiError> {
    principal
        .require(
            Capability::AcknowledgeAndPartialReply,
            "request.oral.form",
            "new",
        )
        .await?;
    Ok(render(&OralPage {
        node_name: &state.node_name,
        problem: short(q.problem, 300),
        notice: short(q.notice, 300),
        types: RequestType::ALL
            .iter()
            .map(|t| (t.code(), t.title()))
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
struct OralForm {
    caller: String,
    #[serde(default)]
    received_on: String,
    summary: String,
    types: String,
    justification: String,
    reply_by: String,
    #[serde(default)]
    desk: String,
}

async fn page_record_oral(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<OralForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = "/ui/desk/oral";
    let types: Result<Vec<RequestType>, ApiError> = form
        .types
        .split([',', ' '])
        .filter(|t| !t.is_empty())
        .map(|t| RequestType::parse(t).ok_or_else(|| bad("request_type_invalid", t.to_owned())))
        .collect();
    let dates = parse_date(Some(&form.received_on))
        .and_then(|r| Ok((r, parse_date(Some(&form.reply_by))?)));
    let (types, (received_on, Some(reply_by))) = (
        match types {
            Ok(t) => t,
            Err(e) => return Ok(back::<()>(page, Err(e), |_| String::new())),
        },
        match dates {
            Ok(d) => d,
            Err(e) => return Ok(back::<()>(page, Err(e), |_| String::new())),
        },
    ) else {
        return Ok(back::<()>(page, Err(bad("date_missing", "")), |_| {
            String::new()
        }));
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let intake = OralIntake {
        caller: form.caller,
        received_on,
        summary: form.summary,
        types,
        justification: form.justification,
        reply_by,
        desk: Some(form.desk).filter(|d| !d.trim().is_empty()),
    };
    match blocking(node, move |n, now| n.record_oral(&actor, intake, now)).await {
        Ok(row) => Ok(back::<()>(&case_path(&row.case_id), Ok(()), |_| {
            "oral request recorded; results are withheld until the written confirmation".into()
        })),
        Err(e) => Ok(back::<()>(page, Err(e), |_| String::new())),
    }
}

#[derive(Debug, Deserialize)]
struct ConfirmOralForm {
    oral_case_id: String,
    desk: String,
    #[serde(flatten)]
    fields: crate::assistance::DraftFields,
    types: String,
    purposes_sought: String,
    urgency_justification: String,
    reply_by: String,
    #[serde(default)]
    declaration_references: String,
    #[serde(default)]
    hs_codes: String,
}

fn confirmation_draft(form: ConfirmOralForm) -> Result<RequestDraft, ApiError> {
    let types = words(&form.types)
        .iter()
        .map(|t| RequestType::parse(t).ok_or_else(|| bad("request_type_invalid", t.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    let purposes = words(&form.purposes_sought)
        .iter()
        .map(|p| Purpose::parse(p).ok_or_else(|| bad("purpose_invalid", p.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    let reply_by = parse_date(Some(&form.reply_by))?;
    let mut extra = std::collections::BTreeMap::new();
    for (key, value) in [
        ("declaration_references", &form.declaration_references),
        ("hs_codes", &form.hs_codes),
    ] {
        if !value.trim().is_empty() {
            extra.insert(key.to_owned(), value.trim().to_owned());
        }
    }
    let mut draft = form.fields.into_draft(types, purposes);
    draft.urgency = reply_by.map(|reply_by| Urgency {
        justification: form.urgency_justification,
        reply_by,
    });
    draft.extra = extra;
    Ok(draft)
}

/// The requester's written confirmation of an urgent oral request it made by telephone: a
/// draft under the oral record's ORAL- id, checked like any request (all gaps listed at
/// once), then sent from its case page.
async fn page_confirm_oral(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<ConfirmOralForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = "/ui/desk/oral";
    let oral_id = form.oral_case_id.trim().to_owned();
    let desk = form.desk.trim().to_owned();
    let draft = match confirmation_draft(form) {
        Ok(d) => d,
        Err(e) => return Ok(back::<()>(page, Err(e), |_| String::new())),
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    match blocking(node, move |n, now| {
        n.confirm_oral_request(&actor, &oral_id, draft, &desk, now)
    })
    .await
    {
        Ok(row) => Ok(back::<()>(&case_path(&row.case_id), Ok(()), |_| {
            "written confirmation drafted under the oral request's id; send it from here".into()
        })),
        Err(e) => Ok(back::<()>(page, Err(e), |_| String::new())),
    }
}

// ---- case-page forms ---------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct MarkingForm {
    item_id: String,
    #[serde(default)]
    field: String,
    tlp: String,
    pap: String,
    #[serde(default)]
    caveats: String,
    #[serde(default)]
    reason: String,
}

async fn page_marking(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<MarkingForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = case_path(&id);
    let markings = match markings(&form.tlp, &form.pap, &form.caveats) {
        Ok(m) => m,
        Err(e) => return Ok(back::<()>(&page, Err(e), |_| String::new())),
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let input = MarkingChangeInput {
        item_id: form.item_id,
        field: Some(form.field).filter(|f| !f.trim().is_empty()),
        markings,
        reason: form.reason,
    };
    let outcome = blocking(node, move |n, now| n.change_marking(&actor, input, now)).await;
    Ok(back(&page, outcome, |c| {
        format!(
            "markings of {} changed; Marking.Change {} sent",
            c.item_id, c.change_id
        )
    }))
}

#[derive(Debug, Deserialize)]
struct OutcomeForm {
    #[serde(default)]
    commodity: String,
    #[serde(default)]
    hs_chapter: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    revenue_kind: String,
    #[serde(default)]
    revenue_status: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    cases_opened: String,
    #[serde(default)]
    convictions: String,
}

fn number<T: std::str::FromStr + Default>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    match raw.trim() {
        "" => Ok(T::default()),
        t => t.parse().map_err(|_| {
            bad(
                "number_invalid",
                format!("{what}: {t:?} is not a whole number"),
            )
        }),
    }
}

fn outcome_report(form: &OutcomeForm) -> Result<OutcomeReport, ApiError> {
    let mut report = OutcomeReport {
        cases_opened: number(&form.cases_opened, "cases opened")?,
        convictions: number(&form.convictions, "convictions")?,
        ..OutcomeReport::default()
    };
    if !form.commodity.trim().is_empty() {
        report.seizures.push(SeizureReport {
            commodity: form.commodity.trim().to_owned(),
            hs_chapter: form.hs_chapter.trim().to_owned(),
            quantity: number(&form.quantity, "quantity")?,
            unit: form.unit.trim().to_owned(),
        });
    }
    if !form.amount.trim().is_empty() {
        // Major units with up to two decimals, stored in minor units.
        let amount = form.amount.trim();
        let (whole, cents) = amount.split_once('.').unwrap_or((amount, "0"));
        let cents = format!("{cents:0<2}");
        let minor = whole
            .parse::<i64>()
            .ok()
            .zip(cents.get(..2).and_then(|c| c.parse::<i64>().ok()))
            .filter(|_| cents.len() == 2)
            .and_then(|(w, c)| w.checked_mul(100)?.checked_add(c))
            .ok_or_else(|| bad("amount_invalid", format!("{amount:?} is not an amount")))?;
        report.revenue.push(RevenueReport {
            kind: form.revenue_kind.trim().to_owned(),
            status: form.revenue_status.trim().to_owned(),
            amount_minor: minor,
            currency: form.currency.trim().to_uppercase(),
        });
    }
    Ok(report)
}

async fn page_outcome(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = case_path(&id);
    let report = match outcome_report(&form) {
        Ok(r) => r,
        Err(e) => return Ok(back::<()>(&page, Err(e), |_| String::new())),
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let outcome = blocking(node, move |n, now| {
        n.report_outcome(&actor, &id, report, now)
    })
    .await;
    Ok(back(&page, outcome, |row| {
        format!("outcome {} reported to the provider", row.feedback_id)
    }))
}

#[derive(Debug, Deserialize)]
struct DisclosureForm {
    items: String,
    legal_instrument: String,
    authority_class: String,
    authority_name: String,
    disclosure_date: String,
    summary: String,
}

async fn page_disclosure(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DisclosureForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = case_path(&id);
    let parsed = recipient(Some(&form.authority_class), Some(&form.authority_name))
        .and_then(|r| Ok((r, parse_date(Some(&form.disclosure_date))?)));
    let (authority, Some(disclosure_date)) = (match parsed {
        Ok(p) => p,
        Err(e) => return Ok(back::<()>(&page, Err(e), |_| String::new())),
    }) else {
        return Ok(back::<()>(&page, Err(bad("date_missing", "")), |_| {
            String::new()
        }));
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let input = DisclosureInput {
        case_id: id,
        items: form
            .items
            .split([',', ' '])
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect(),
        legal_instrument: form.legal_instrument,
        authority,
        disclosure_date,
        summary: form.summary,
    };
    let outcome = blocking(node, move |n, now| {
        n.disclose_under_domestic_law(&actor, input, now)
    })
    .await;
    Ok(back(&page, outcome, |notice| {
        format!(
            "disclosure recorded; notice {} sent to the provider ({})",
            notice.notice_id,
            if notice.advance {
                "in advance"
            } else {
                "after the fact"
            }
        )
    }))
}

#[derive(Debug, Deserialize)]
struct OriginalForm {
    evidence_id: String,
    /// `checkout`, `return` or `confirm`.
    verb: String,
    #[serde(default)]
    custodian: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    due_back: String,
    #[serde(default)]
    note: String,
}

async fn page_original(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<OriginalForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = case_path(&id);
    let due_back = match parse_date(Some(&form.due_back)) {
        Ok(d) => d,
        Err(e) => return Ok(back::<()>(&page, Err(e), |_| String::new())),
    };
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let verb = form.verb.clone();
    let outcome = blocking(node, move |n, now| match verb.as_str() {
        "checkout" => {
            let due = due_back.ok_or_else(|| {
                caravan_assistance_node::error::AssistError::bad_input(
                    "due_back_missing",
                    "a checked-out original has a date it is due back",
                )
            })?;
            n.checkout_original(
                &actor,
                &form.evidence_id,
                &form.custodian,
                &form.condition,
                due,
                now,
            )
        }
        "return" => n.return_original(&actor, &form.evidence_id, &form.condition, &form.note, now),
        "confirm" => n.confirm_original_receipt(&actor, &form.evidence_id, &form.condition, now),
        _ => Err(caravan_assistance_node::error::AssistError::bad_input(
            "original_verb_invalid",
            "checkout, return or confirm",
        )),
    })
    .await;
    let verb = form.verb;
    Ok(back(&page, outcome, |record| {
        format!("original {}: {verb} recorded", record.id)
    }))
}

#[derive(Debug, Deserialize)]
struct HoldForm {
    evidence_id: String,
    /// `place` or `lift`.
    verb: String,
    reason: String,
}

async fn page_hold(
    State(state): State<MoreState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let page = case_path(&id);
    let node = node(&state.assist)?;
    let actor = principal.actor().clone();
    let verb = form.verb.clone();
    let outcome = blocking(node, move |n, now| match verb.as_str() {
        "place" => n.place_hold(&actor, &form.evidence_id, &form.reason, now),
        "lift" => n.lift_hold(&actor, &form.evidence_id, &form.reason, now),
        _ => Err(caravan_assistance_node::error::AssistError::bad_input(
            "hold_verb_invalid",
            "place or lift",
        )),
    })
    .await;
    let verb = form.verb;
    Ok(back(&page, outcome, |row| {
        format!("legal hold on {}: {verb} recorded", row.item_id)
    }))
}

/// This module's OpenAPI 3.1 fragment: its paths and schemas.
pub fn openapi() -> Value {
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let with = |ok_code: &str, okv: Value, codes: &[&str]| -> Value {
        let mut m = errors(codes).as_object().cloned().unwrap_or_default();
        m.insert(ok_code.into(), okv);
        Value::Object(m)
    };
    let markings = json!({ "type": "object", "required": ["tlp", "pap", "caveats"], "properties": {
        "tlp": { "type": "string", "enum": ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] },
        "pap": { "type": "string", "enum": ["WHITE", "GREEN", "AMBER", "RED"] },
        "caveats": { "type": "array", "items": { "type": "string" } },
    } });
    let contact = json!({ "type": "object", "required": ["id", "party"], "properties": {
        "id": { "type": "string" }, "party": { "type": "string" }, "unit": { "type": "string" },
        "role": { "type": "string" },
        "request_types": { "type": "array", "items": { "type": "string" } },
        "languages": { "type": "array", "items": { "type": "string" } },
        "channels": { "type": "array", "items": { "type": "string" } },
        "valid_from": { "type": "string", "format": "date" },
        "valid_to": { "type": ["string", "null"], "format": "date" },
    } });
    let section = json!({ "type": "object", "required": ["party", "version", "entries"], "properties": {
        "party": { "type": "string" }, "version": { "type": "integer", "minimum": 0 },
        "entries": { "type": "array", "items": contact },
    } });
    json!({
        "paths": {
            "/api/v1/markings/{item_id}/change": {
                "post": {
                    "summary": "Re-mark an item or a field and send the Marking.Change to the partner (§9): the provider loosens or tightens, the receiver only tightens (`marking_loosened_not_by_provider`)",
                    "tags": ["assistance"],
                    "parameters": [path_param("item_id")],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["tlp", "pap", "reason"],
                        "properties": {
                            "field": { "type": ["string", "null"] },
                            "tlp": { "type": "string" }, "pap": { "type": "string" },
                            "caveats": { "type": "array", "items": { "type": "string" } },
                            "reason": { "type": "string" },
                        },
                    } } } },
                    "responses": with("202", ok("Changed here; the Marking.Change is queued for the partner", r("MarkingChange")), &["400", "403", "404", "409", "422"]),
                },
            },
            "/api/v1/directory": {
                "get": {
                    "summary": "The designated contact-point directory (§1.8): our section and the partner's, each with its version, and the Directory.Update messages exchanged. Our section changes through a two-person proposal (`POST /api/v1/proposals`, kind `directory` for one contact point or `directory_section` for the whole section; the page `/ui/desk/directory` proposes the latter), whose approval sends it",
                    "tags": ["assistance"],
                    "responses": with("200", ok("Directory", r("Directory")), &["403", "404"]),
                },
            },
        },
        "components": { "schemas": {
            "MarkingChange": { "type": "object", "required": ["change_id", "item_id", "markings", "seq"], "properties": {
                "change_id": { "type": "string" }, "item_id": { "type": "string" },
                "field": { "type": ["string", "null"] }, "markings": markings,
                "seq": { "type": "integer", "minimum": 1 }, "reason": { "type": "string" },
            } },
            "Directory": { "type": "object", "required": ["agreement_id", "document_version", "own", "partner", "updates"], "properties": {
                "agreement_id": { "type": "string" },
                "document_version": { "type": "integer", "minimum": 0 },
                "own": section.clone(), "partner": section,
                "updates": { "type": "array", "items": { "type": "object" } },
            } },
        } },
    })
}
