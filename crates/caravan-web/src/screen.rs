//! Screening over HTTP (screening spec §7, §8): screen one party against the node's active
//! lists, list the stored hits with their explanations, record an officer's disposition,
//! list the loaded list versions, and the officer's page of hits with a disposition form.
//!
//! Why it keeps its own state: building the index over OFAC and UN takes a second or so,
//! far too long per request, so the module keeps the screener built from the active list
//! versions and rebuilds it only when the set of active versions changes (one cheap query
//! per request says whether it did). The engine never decides; the API ranks and explains,
//! and only an officer's disposition changes a hit. Every call needs `RunAnalytics` and is
//! audited: a screening query names a person of interest, and hits are partner-relevant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use caravan_assistance::roles::Capability;
use caravan_screen::disposition::{REASONS, check_reason};
use caravan_screen::error::NameError;
use caravan_screen::index::{Scratch, ScreenIndex};
use caravan_screen::model::{FuzzyDate, Identifier, ListVersion, ScreeningList, hex};
use caravan_screen::score::ScoreConfig;
use caravan_screen::screen::{PartyRole, ScreenedParty, Screener};
use caravan_screen::stored::{explanation_json, list_from_stored, round4};
use caravan_store::screen::{
    Decision, DispositionRecord, HitFilter, HitRow, HitStatus, ListVersionRow, ScreenStore,
};
use caravan_store::{Store, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, now_ms, same_origin};
use crate::{ApiError, AppState, ErrorCode};

/// The screener over the active list versions, and which versions those are.
struct Built {
    versions: Vec<i64>,
    lists: Vec<ListVersionRow>,
    screener: Arc<Screener>,
}

/// This module's state.
#[derive(Clone)]
struct ScreenState {
    store: Arc<dyn Store>,
    node_name: Arc<str>,
    built: Arc<Mutex<Option<Arc<Built>>>>,
    scratches: Arc<Mutex<Vec<Scratch>>>,
}

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    let screen = ScreenState {
        store: state.store.clone(),
        node_name: state.node_name.clone(),
        built: Arc::new(Mutex::new(None)),
        scratches: Arc::new(Mutex::new(Vec::new())),
    };
    Router::new()
        .route("/api/v1/screen/party", post(screen_party))
        .route("/api/v1/screen/hits", get(list_hits))
        .route("/api/v1/screen/hits/{id}/disposition", post(dispose))
        .route("/api/v1/screen/lists", get(lists))
        .route("/ui/screen/hits", get(hits_page))
        .route("/ui/screen/hits/{id}/disposition", post(dispose_form))
        .with_state(screen)
}

/// The active version of every list in `store`, decoded, in list-id order.
pub fn active_lists(store: &dyn ScreenStore) -> Result<Vec<ScreeningList>, StoreError> {
    let mut versions: Vec<ListVersionRow> = store
        .screen_list_versions()?
        .into_iter()
        .filter(|v| v.active)
        .collect();
    versions.sort_by(|a, b| a.list_id.cmp(&b.list_id));
    let mut lists = Vec::new();
    for version in versions {
        let Some((version, entries)) = store.screen_active_list(&version.list_id)? else {
            continue;
        };
        let meta = ListVersion {
            list_id: version.list_id.clone(),
            publisher_date: version.publisher_date.clone(),
            fetched_at: version.loaded_at.to_string(),
            sha256: version.digest,
            n_entries: entries.len(),
        };
        let list = list_from_stored(
            meta,
            entries.iter().map(|e| (e.body.as_str(), &e.content_hash)),
        )
        .map_err(|err| StoreError::Other(err.to_string()))?;
        lists.push(list);
    }
    Ok(lists)
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, code, message.into())
}

fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
        StoreError::Unavailable(detail) => ApiError::new(ErrorCode::StoreUnavailable, detail),
        other => ApiError::new(ErrorCode::Internal, other.to_string()),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
}

impl ScreenState {
    /// The screener for the active versions, rebuilt when they changed.
    fn screener(&self) -> Result<Arc<Built>, ApiError> {
        let lists = self.store.screen_list_versions().map_err(store_error)?;
        let active: Vec<ListVersionRow> = lists.into_iter().filter(|v| v.active).collect();
        let mut ids: Vec<i64> = active.iter().map(|v| v.id).collect();
        ids.sort_unstable();
        let mut built = self
            .built
            .lock()
            .map_err(|_| ApiError::new(ErrorCode::Internal, "screener lock poisoned"))?;
        if let Some(current) = built.as_ref()
            && current.versions == ids
        {
            return Ok(current.clone());
        }
        let decoded = active_lists(self.store.as_ref()).map_err(store_error)?;
        let fresh = Arc::new(Built {
            versions: ids,
            lists: active,
            screener: Arc::new(Screener::new(
                ScreenIndex::build(&decoded),
                ScoreConfig::default(),
            )),
        });
        *built = Some(fresh.clone());
        if let Ok(mut scratches) = self.scratches.lock() {
            scratches.clear();
        }
        Ok(fresh)
    }
}

/// `POST /api/v1/screen/party` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyRequest {
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    birth_date: Option<String>,
    #[serde(default)]
    identifiers: Vec<IdentifierRequest>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifierRequest {
    scheme: String,
    value: String,
    #[serde(default)]
    country: Option<String>,
}

fn check_country(text: &str) -> Result<String, ApiError> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(text.to_owned())
    } else {
        Err(bad_request(
            "bad_country",
            format!("country {text:?} is not an ISO 3166-1 alpha-2 code (two capital letters)"),
        ))
    }
}

/// Checks a request into a party to screen; every refusal has its own code.
fn party_from(request: PartyRequest) -> Result<(ScreenedParty, usize), ApiError> {
    let role = match request.role.as_deref() {
        None => None,
        Some(code) => Some(PartyRole::from_edifact_3035(code).ok_or_else(|| {
            bad_request(
                "unknown_role",
                format!("role {code:?} is not a UN/EDIFACT 3035 party code (CZ, EX, CN, IM, N1, MF, CA, DT)"),
            )
        })?),
    };
    let country = request.country.as_deref().map(check_country).transpose()?;
    let birth_date = match request.birth_date.as_deref() {
        None => None,
        Some(text) => Some(FuzzyDate::parse_iso(text).ok_or_else(|| {
            bad_request(
                "bad_birth_date",
                format!(
                    "birth_date {text:?} is not YYYY, YYYY-MM or YYYY-MM-DD (~ for approximate)"
                ),
            )
        })?),
    };
    if request.identifiers.len() > 20 {
        return Err(bad_request(
            "too_many_identifiers",
            "at most 20 identifiers",
        ));
    }
    let mut identifiers = Vec::new();
    for id in &request.identifiers {
        let issuer = id.country.as_deref().map(check_country).transpose()?;
        let scheme_ok = !id.scheme.is_empty()
            && id.scheme.len() <= 32
            && id
                .scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !scheme_ok || id.value.len() > 128 {
            return Err(bad_request(
                "bad_identifier",
                "an identifier needs a scheme of letters, digits and _ (at most 32) and a value of at most 128 bytes",
            ));
        }
        identifiers.push(
            Identifier::new(&id.scheme, &id.value, issuer).ok_or_else(|| {
                bad_request(
                    "bad_identifier",
                    "an identifier value has no letters or digits",
                )
            })?,
        );
    }
    let limit = request.limit.unwrap_or(10).clamp(1, 100) as usize;
    Ok((
        ScreenedParty {
            role,
            name: request.name,
            address: None,
            country,
            identifiers,
            birth_date,
        },
        limit,
    ))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| {
        bad_request(
            "invalid_body",
            format!("the body is not the JSON object this route takes: {err}"),
        )
    })
}

async fn screen_party(
    State(state): State<ScreenState>,
    principal: Principal,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    principal
        .require(Capability::RunAnalytics, "screen.party", "")
        .await?;
    let request: PartyRequest = parse_json(&body)?;
    let (party, limit) = party_from(request)?;
    let (response, n_hits, top) = blocking(move || {
        let built = state.screener()?;
        if built.lists.is_empty() {
            return Err(ApiError::custom(
                StatusCode::CONFLICT,
                "no_screening_list",
                "no screening list is loaded on this node (caravan screen load)",
            ));
        }
        let screener = &built.screener;
        let mut scratch = state
            .scratches
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| screener.index.scratch());
        let result = screener.screen(&party, &mut scratch);
        if let Ok(mut pool) = state.scratches.lock() {
            pool.push(scratch);
        }
        let hits = result.map_err(|err| match err {
            NameError::Empty => bad_request("screen_name_empty", err.to_string()),
            NameError::TooLong(_) => bad_request("screen_name_too_long", err.to_string()),
        })?;
        let n_hits = hits.len();
        let top = hits.first().map(|h| round4(h.score));
        let body = json!({
            "lists": built.lists.iter().map(list_json).collect::<Vec<_>>(),
            "hits": hits.iter().take(limit).map(|hit| json!({
                "list_id": hit.list_id,
                "entry_id": hit.entry_id,
                "matched_name": hit.matched_name,
                "score": round4(hit.score),
                "band": hit.band.as_str(),
                "explanation": explanation_json(hit, &screener.config),
            })).collect::<Vec<_>>(),
        });
        Ok((body, n_hits, top))
    })
    .await?;
    principal
        .audit(
            "screen.party",
            "",
            json!({ "hits": n_hits, "top_score": top }),
        )
        .await?;
    Ok(Json(response))
}

fn list_json(v: &ListVersionRow) -> Value {
    json!({
        "version_id": v.id,
        "list_id": v.list_id,
        "source": v.source,
        "publisher_date": v.publisher_date,
        "sha256": hex(&v.digest),
        "loaded_at": v.loaded_at,
        "entries": v.n_entries,
        "active": v.active,
        "previous_version_id": v.previous_id,
        "added": v.n_added,
        "changed": v.n_changed,
        "removed": v.n_removed,
    })
}

async fn lists(
    State(state): State<ScreenState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal
        .require(Capability::RunAnalytics, "screen.lists.view", "")
        .await?;
    let store = state.store.clone();
    let versions = blocking(move || store.screen_list_versions().map_err(store_error)).await?;
    principal
        .audit(
            "screen.lists.view",
            "",
            json!({ "versions": versions.len() }),
        )
        .await?;
    Ok(Json(json!({
        "versions": versions.iter().map(list_json).collect::<Vec<_>>(),
    })))
}

fn hit_json(row: &HitRow) -> Value {
    json!({
        "id": row.id,
        "status": row.status.as_str(),
        "party": {
            "key": row.hit.party_key,
            "role": row.party_role,
            "name": row.party_name,
            "digest": hex(&row.hit.party_digest),
        },
        "list_id": row.hit.list_id,
        "entry_id": row.hit.entry_id,
        "entry_hash": hex(&row.hit.entry_hash),
        "matched_name": row.hit.matched_name,
        "score": row.hit.score,
        "band": row.hit.band,
        "version_id": row.version_id,
        "first_seen_at": row.first_seen_at,
        "updated_at": row.updated_at,
        "explanation": serde_json::from_str::<Value>(&row.hit.explanation).unwrap_or(Value::Null),
    })
}

/// Query of `GET /api/v1/screen/hits` and the page.
#[derive(Debug, Default, Deserialize)]
struct HitsQuery {
    status: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

fn hit_filter(query: &HitsQuery) -> Result<HitFilter, ApiError> {
    let statuses = match query.status.as_deref() {
        None | Some("") | Some("all") => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|s| {
                HitStatus::parse(s.trim()).ok_or_else(|| {
                    bad_request(
                        "unknown_status",
                        format!("status {s:?} is not one of open, suppressed, true_match, false_positive, delisted, closed, all"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let number = |text: Option<&str>, default: u32, max: u32, what: &str| match text {
        None | Some("") => Ok(default),
        Some(t) => t.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| {
            bad_request(
                "bad_paging",
                format!("{what} must be a whole number from 0 to {max}"),
            )
        }),
    };
    Ok(HitFilter {
        statuses,
        party_key: None,
        limit: number(query.limit.as_deref(), 100, 1_000, "limit")?.max(1),
        offset: number(query.offset.as_deref(), 0, 1_000_000, "offset")?,
    })
}

async fn list_hits(
    State(state): State<ScreenState>,
    principal: Principal,
    Query(query): Query<HitsQuery>,
) -> Result<Json<Value>, ApiError> {
    principal
        .require(Capability::RunAnalytics, "screen.hits.view", "")
        .await?;
    let filter = hit_filter(&query)?;
    let store = state.store.clone();
    let rows = blocking(move || store.screen_hits(&filter).map_err(store_error)).await?;
    principal
        .audit(
            "screen.hits.view",
            query.status.as_deref().unwrap_or("all"),
            json!({ "rows": rows.len() }),
        )
        .await?;
    Ok(Json(
        json!({ "hits": rows.iter().map(hit_json).collect::<Vec<_>>() }),
    ))
}

/// `POST /api/v1/screen/hits/{id}/disposition` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DispositionRequest {
    decision: String,
    reason: String,
    #[serde(default)]
    note: Option<String>,
}

fn hit_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad_request("bad_hit_id", "a hit id is a positive whole number"))
}

/// Checks and records a disposition; audits it. Shared by the API and the page form.
async fn decide(
    state: &ScreenState,
    principal: &Principal,
    id: &str,
    request: DispositionRequest,
) -> Result<HitRow, ApiError> {
    principal
        .require(Capability::RunAnalytics, "screen.hit.disposition", id)
        .await?;
    let hit_id = hit_id(id)?;
    let decision = Decision::parse(&request.decision).ok_or_else(|| {
        bad_request(
            "unknown_decision",
            "decision must be true_match or false_positive",
        )
    })?;
    let (reason, note) = check_reason(&request.reason, request.note.as_deref().unwrap_or(""))
        .map_err(|err| bad_request(err.code(), err.to_string()))?;
    let record = DispositionRecord {
        hit_id,
        decision,
        reason: reason.as_str().to_owned(),
        note,
        account: principal.actor().account.clone(),
        decided_at: u64::try_from(now_ms()).unwrap_or(0),
    };
    let store = state.store.clone();
    let detail = json!({
        "decision": decision.as_str(),
        "reason": record.reason,
        "note": record.note,
    });
    let hit = blocking(move || match store.screen_decide(&record) {
        Err(StoreError::NotFound) => Err(ApiError::custom(
            StatusCode::NOT_FOUND,
            "hit_not_found",
            "no screening hit with this id",
        )),
        other => other.map_err(store_error),
    })
    .await?;
    let mut detail = detail;
    detail["party_digest"] = json!(hex(&hit.hit.party_digest));
    detail["entry_hash"] = json!(hex(&hit.hit.entry_hash));
    detail["status"] = json!(hit.status.as_str());
    principal
        .audit("screen.hit.disposition", &hit_id.to_string(), detail)
        .await?;
    Ok(hit)
}

async fn dispose(
    State(state): State<ScreenState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: DispositionRequest = parse_json(&body)?;
    let hit = decide(&state, &principal, &id, request).await?;
    Ok(Json(hit_json(&hit)))
}

/// One hit as the page shows it.
struct HitView {
    id: i64,
    status: &'static str,
    open: bool,
    score: String,
    band: String,
    party_role: String,
    party_name: String,
    list_entry: String,
    matched_name: String,
    tokens: Vec<String>,
    evidence_for: Vec<String>,
    evidence_against: Vec<String>,
}

fn view(row: &HitRow) -> HitView {
    let explanation: Value = serde_json::from_str(&row.hit.explanation).unwrap_or(Value::Null);
    let strings = |field: &str| -> Vec<String> {
        explanation[field]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => s.clone(),
                        other => format!(
                            "{} ({:+.2})",
                            other["what"].as_str().unwrap_or(""),
                            other["effect"].as_f64().unwrap_or(0.0)
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    HitView {
        id: row.id,
        status: row.status.as_str(),
        open: matches!(row.status, HitStatus::Open),
        score: format!("{:.2}", row.hit.score),
        band: row.hit.band.clone(),
        party_role: row.party_role.clone(),
        party_name: row.party_name.clone(),
        list_entry: format!("{}/{}", row.hit.list_id, row.hit.entry_id),
        matched_name: row.hit.matched_name.clone(),
        tokens: strings("tokens"),
        evidence_for: strings("evidence_for"),
        evidence_against: strings("evidence_against"),
    }
}

#[derive(Template)]
#[template(path = "screen/hits.html")]
struct HitsPage<'a> {
    node_name: &'a str,
    status: &'a str,
    statuses: Vec<&'static str>,
    hits: Vec<HitView>,
    reasons: Vec<&'static str>,
    message: Option<&'a str>,
}

fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

async fn hits_page(
    State(state): State<ScreenState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::RunAnalytics, "screen.hits.view", "page")
        .await?;
    let status = query
        .get("status")
        .map_or("open", String::as_str)
        .to_owned();
    let filter = hit_filter(&HitsQuery {
        status: Some(status.clone()),
        ..HitsQuery::default()
    })?;
    let store = state.store.clone();
    let rows = blocking(move || store.screen_hits(&filter).map_err(store_error)).await?;
    principal
        .audit(
            "screen.hits.view",
            &status,
            json!({ "rows": rows.len(), "page": true }),
        )
        .await?;
    let message = query
        .get("done")
        .map(|_| crate::i18n::t("screen-disposition-recorded"));
    let mut statuses = vec!["all"];
    statuses.extend(HitStatus::ALL.iter().map(|s| s.as_str()));
    Ok(render(&HitsPage {
        node_name: &state.node_name,
        status: &status,
        statuses,
        hits: rows.iter().map(view).collect(),
        reasons: REASONS.iter().map(|r| r.as_str()).collect(),
        message,
    }))
}

/// The page's disposition form.
#[derive(Debug, Deserialize)]
struct DispositionForm {
    decision: String,
    reason: String,
    #[serde(default)]
    note: String,
}

async fn dispose_form(
    State(state): State<ScreenState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DispositionForm>,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::custom(
            StatusCode::FORBIDDEN,
            "cross_origin_refused",
            "a form sent from another site is refused (CSRF protection)",
        ));
    }
    let request = DispositionRequest {
        decision: form.decision,
        reason: form.reason,
        note: Some(form.note),
    };
    decide(&state, &principal, &id, request).await?;
    Ok(Redirect::to("/ui/screen/hits?status=open&done=1").into_response())
}

/// The OpenAPI 3.1 fragment of this module's routes.
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
    let statuses: Vec<&str> = HitStatus::ALL.iter().map(|s| s.as_str()).collect();
    let reasons: Vec<&str> = REASONS.iter().map(|r| r.as_str()).collect();
    json!({
        "paths": {
            "/api/v1/screen/party": { "post": {
                "summary": "Screen one party against the node's active lists",
                "description": "Returns hits at or above the review threshold, best first, each with its explanation (tokens and the spelling they met under, evidence for and against). Audited as `screen.party`.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ScreenPartyRequest" } } } },
                "responses": common(json!({
                    "200": { "description": "Hits", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ScreenPartyResponse" } } } },
                    "400": error("Bad input: `invalid_body`, `screen_name_empty`, `screen_name_too_long`, `unknown_role`, `bad_country`, `bad_birth_date`, `bad_identifier`, `too_many_identifiers`"),
                    "409": error("`no_screening_list`: no list is loaded"),
                })),
            }},
            "/api/v1/screen/hits": { "get": {
                "summary": "Stored hits of the screened declarations' parties, best score first",
                "parameters": [
                    { "name": "status", "in": "query", "required": false, "schema": { "type": "string" }, "description": format!("Comma-separated statuses ({}), or `all`", statuses.join(", ")) },
                    { "name": "limit", "in": "query", "required": false, "schema": { "type": "string" }, "description": "1 to 1000, default 100" },
                    { "name": "offset", "in": "query", "required": false, "schema": { "type": "string" }, "description": "Default 0" },
                ],
                "responses": common(json!({
                    "200": { "description": "Hits", "content": { "application/json": { "schema": { "type": "object", "required": ["hits"], "properties": { "hits": { "type": "array", "items": { "$ref": "#/components/schemas/ScreenHit" } } } } } } },
                    "400": error("`unknown_status` or `bad_paging`"),
                })),
            }},
            "/api/v1/screen/hits/{id}/disposition": { "post": {
                "summary": "Record an officer's disposition of a hit",
                "description": "Appends a disposition (never edits one). A false positive stays suppressed on re-screens until the party's or the list entry's digest changes. Audited as `screen.hit.disposition`.",
                "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ScreenDisposition" } } } },
                "responses": common(json!({
                    "200": { "description": "The hit with its new status", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ScreenHit" } } } },
                    "400": error("`invalid_body`, `bad_hit_id`, `unknown_decision`, `unknown_reason`, `note_required`, `note_too_long`"),
                    "404": error("`hit_not_found`"),
                })),
            }},
            "/api/v1/screen/lists": { "get": {
                "summary": "Loaded list versions, newest first",
                "responses": common(json!({
                    "200": { "description": "Versions", "content": { "application/json": { "schema": { "type": "object", "required": ["versions"], "properties": { "versions": { "type": "array", "items": { "$ref": "#/components/schemas/ScreenListVersion" } } } } } } },
                })),
            }},
        },
        "components": { "schemas": {
            "ScreenPartyRequest": {
                "type": "object", "required": ["name"], "additionalProperties": false,
                "properties": {
                    "name": { "type": "string", "description": "The name as declared; at most 1,024 bytes" },
                    "role": { "type": "string", "description": "UN/EDIFACT 3035 party code" },
                    "country": { "type": "string", "description": "ISO 3166-1 alpha-2" },
                    "birth_date": { "type": "string", "description": "YYYY, YYYY-MM or YYYY-MM-DD, `~` prefix for approximate" },
                    "identifiers": { "type": "array", "maxItems": 20, "items": {
                        "type": "object", "required": ["scheme", "value"], "additionalProperties": false,
                        "properties": { "scheme": { "type": "string" }, "value": { "type": "string" }, "country": { "type": "string" } }
                    }},
                    "limit": { "type": "integer", "minimum": 0, "description": "Hits returned, 1 to 100 (default 10)" },
                },
            },
            "ScreenPartyResponse": {
                "type": "object", "required": ["lists", "hits"],
                "properties": {
                    "lists": { "type": "array", "items": { "$ref": "#/components/schemas/ScreenListVersion" } },
                    "hits": { "type": "array", "items": {
                        "type": "object",
                        "required": ["list_id", "entry_id", "matched_name", "score", "band", "explanation"],
                        "properties": {
                            "list_id": { "type": "string" }, "entry_id": { "type": "string" },
                            "matched_name": { "type": "string" }, "score": { "type": "number" },
                            "band": { "type": "string", "enum": ["review", "strong", "near-certain"] },
                            "explanation": { "$ref": "#/components/schemas/ScreenExplanation" },
                        },
                    }},
                },
            },
            "ScreenExplanation": {
                "type": "object",
                "description": "Spec §7: list version, entry, matched name, declared fingerprint, score and band, scorer/key/config versions, one line per aligned token (which spelling they met under), evidence for and against.",
                "properties": {
                    "tokens": { "type": "array", "items": { "type": "string" } },
                    "evidence_for": { "type": "array", "items": { "type": "object", "properties": { "what": { "type": "string" }, "effect": { "type": "number" } } } },
                    "evidence_against": { "type": "array", "items": { "type": "object", "properties": { "what": { "type": "string" }, "effect": { "type": "number" } } } },
                },
            },
            "ScreenHit": {
                "type": "object",
                "required": ["id", "status", "party", "list_id", "entry_id", "score", "band"],
                "properties": {
                    "id": { "type": "integer" },
                    "status": { "type": "string", "enum": statuses },
                    "party": { "type": "object", "properties": {
                        "key": { "type": "string" }, "role": { "type": "string" },
                        "name": { "type": "string" }, "digest": { "type": "string" },
                    }},
                    "list_id": { "type": "string" }, "entry_id": { "type": "string" },
                    "entry_hash": { "type": "string" }, "matched_name": { "type": "string" },
                    "score": { "type": "number" }, "band": { "type": "string" },
                    "version_id": { "type": "integer" },
                    "first_seen_at": { "type": "integer" }, "updated_at": { "type": "integer" },
                    "explanation": { "oneOf": [ { "$ref": "#/components/schemas/ScreenExplanation" }, { "type": "null" } ] },
                },
            },
            "ScreenDisposition": {
                "type": "object", "required": ["decision", "reason"], "additionalProperties": false,
                "properties": {
                    "decision": { "type": "string", "enum": ["true_match", "false_positive"] },
                    "reason": { "type": "string", "enum": reasons },
                    "note": { "type": "string", "maxLength": 2000, "description": "Required with reason `other`" },
                },
            },
            "ScreenListVersion": {
                "type": "object",
                "required": ["version_id", "list_id", "source", "sha256", "entries", "active"],
                "properties": {
                    "version_id": { "type": "integer" }, "list_id": { "type": "string" },
                    "source": { "type": "string", "enum": ["ofac", "un", "ftm", "lookout"] },
                    "publisher_date": { "type": ["string", "null"] }, "sha256": { "type": "string" },
                    "loaded_at": { "type": "integer" }, "entries": { "type": "integer" },
                    "active": { "type": "boolean" },
                    "previous_version_id": { "type": ["integer", "null"] },
                    "added": { "type": "integer" }, "changed": { "type": "integer" }, "removed": { "type": "integer" },
                },
            },
        }},
    })
}
