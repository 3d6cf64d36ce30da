//! The JSON API of the assistance messages that are not case transitions: hit/no-hit
//! queries (assistance spec §12), bulk declaration batches (§5) and outcome feedback (§15).
//!
//! Why a module of its own: these three travel to the partner like requests do, but they
//! have their own stores, limits and refusals, and an integrating system (a targeting
//! engine asking hit/no-hit, a scheduler cutting batches, a case system reporting seizures)
//! calls them without ever opening a case page. Every rule lives in
//! `caravan_assistance_node`; this module authenticates, moves the work off the async
//! workers through the assistance module's `blocking`, and maps the workflow's coded
//! errors. Lists show metadata only: a hit/no-hit row never carries the identifier asked.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use caravan_assistance::agreement::Purpose;
use caravan_assistance::hitnohit::QueryType;
use caravan_assistance::outcome::OutcomeReport;
use caravan_assistance_node::hitnohit::QueryAsk;
use caravan_store::assistance_wire::{BulkBatchRow, FeedbackRow, HitQueryRow};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assistance::{
    AssistState, bad, blocking, errors, node, ok, parse_date, path_param, query_param,
};
use crate::auth::Principal;
use crate::{ApiError, AppState};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/api/v1/hitnohit", get(api_queries).post(api_ask))
        .route("/api/v1/bulk", get(api_batches).post(api_send_batch))
        .route("/api/v1/outcomes", get(api_outcomes))
        .route("/api/v1/requests/{id}/outcome", post(api_report_outcome))
        .with_state(AssistState::of(state))
}

fn query_json(row: &HitQueryRow) -> Value {
    json!({
        "query_id": row.query_id,
        "direction": row.direction,
        "peer": row.peer,
        "official": row.official,
        "query_type": row.query_type,
        "purpose": row.purpose,
        "case_reference": row.case_reference,
        "commitment": row.commitment,
        "salt": row.salt,
        "answer": row.answer,
        "code": row.code,
        "handle": row.handle,
        "day": row.day,
        "asked_at": row.asked_at,
    })
}

fn batch_json(row: &BulkBatchRow) -> Value {
    json!({
        "batch_id": row.batch_id,
        "direction": row.direction,
        "peer": row.peer,
        "dataset": row.dataset,
        "period_from": row.period_from,
        "period_to": row.period_to,
        "row_count": row.row_count,
        "batch_sha256": row.batch_sha256,
        "state": row.state,
        "code": row.code,
        "exchange_message_id": row.exchange_message_id,
        "created_at": row.created_at,
    })
}

fn feedback_json(row: &FeedbackRow) -> Value {
    // The outcome was checked before it was stored; an unreadable one is shown as text
    // rather than failing the list.
    let outcome = serde_json::from_str::<Value>(&row.outcome)
        .unwrap_or_else(|_| Value::String(row.outcome.clone()));
    json!({
        "feedback_id": row.feedback_id,
        "direction": row.direction,
        "case_id": row.case_id,
        "peer": row.peer,
        "reported_by": row.reported_by,
        "outcome": outcome,
        "reported_on": row.reported_on,
        "created_at": row.created_at,
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    direction: Option<String>,
    limit: Option<u32>,
}

async fn api_queries(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let limit = q.limit.unwrap_or(100).min(1_000);
    let rows = blocking(node, move |n, _| {
        n.hitnohit_queries(&actor, q.direction.as_deref(), limit)
    })
    .await?;
    Ok(Json(
        json!({ "queries": rows.iter().map(query_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Debug, Deserialize)]
struct AskBody {
    query_type: QueryType,
    identifier: String,
    purpose: Option<Purpose>,
    case_reference: String,
}

async fn api_ask(
    State(state): State<AssistState>,
    principal: Principal,
    Json(body): Json<AskBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let ask = QueryAsk {
        query_type: body.query_type,
        identifier: body.identifier,
        purpose: body.purpose,
        case_reference: body.case_reference,
    };
    let row = blocking(node, move |n, now| n.ask_hitnohit(&actor, &ask, now)).await?;
    Ok((StatusCode::ACCEPTED, Json(query_json(&row))).into_response())
}

#[derive(Debug, Deserialize)]
struct BatchesQuery {
    limit: Option<u32>,
}

async fn api_batches(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<BatchesQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let limit = q.limit.unwrap_or(100).min(1_000);
    let rows = blocking(node, move |n, _| n.bulk_batches(&actor, limit)).await?;
    Ok(Json(
        json!({ "batches": rows.iter().map(batch_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Debug, Deserialize)]
struct SendBatchBody {
    dataset: String,
    from: String,
    to: String,
}

async fn api_send_batch(
    State(state): State<AssistState>,
    principal: Principal,
    Json(body): Json<SendBatchBody>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let from =
        parse_date(Some(&body.from))?.ok_or_else(|| bad("date_invalid", "from is required"))?;
    let to = parse_date(Some(&body.to))?.ok_or_else(|| bad("date_invalid", "to is required"))?;
    if to < from {
        return Err(bad("period_invalid", "the period ends before it starts"));
    }
    let actor = principal.actor().clone();
    let dataset = body.dataset;
    let sent = blocking(node, move |n, now| {
        n.send_bulk(&actor, &dataset, from, to, now)
    })
    .await?;
    let status = if sent.recognised {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut out = batch_json(&sent.batch);
    out["recognised"] = json!(sent.recognised);
    Ok((status, Json(out)).into_response())
}

#[derive(Debug, Deserialize)]
struct OutcomesQuery {
    case_id: Option<String>,
}

async fn api_outcomes(
    State(state): State<AssistState>,
    principal: Principal,
    Query(q): Query<OutcomesQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let rows = blocking(node, move |n, _| {
        n.outcome_reports(&actor, q.case_id.as_deref())
    })
    .await?;
    Ok(Json(
        json!({ "outcomes": rows.iter().map(feedback_json).collect::<Vec<_>>() }),
    ))
}

async fn api_report_outcome(
    State(state): State<AssistState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(report): Json<OutcomeReport>,
) -> Result<Response, ApiError> {
    let node = node(&state)?;
    let actor = principal.actor().clone();
    let row = blocking(node, move |n, now| {
        n.report_outcome(&actor, &id, report, now)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(feedback_json(&row))).into_response())
}

/// This module's OpenAPI 3.1 fragment: its paths and schemas.
pub fn openapi() -> Value {
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let with = |ok_code: &str, okv: Value, codes: &[&str]| -> Value {
        let mut m = errors(codes).as_object().cloned().unwrap_or_default();
        m.insert(ok_code.into(), okv);
        Value::Object(m)
    };
    let limit = query_param(
        "limit",
        json!({ "type": "integer", "minimum": 0, "maximum": 4294967295u64 }),
    );
    let date = json!({ "type": "string", "format": "date" });
    json!({
        "paths": {
            "/api/v1/hitnohit": {
                "get": {
                    "summary": "Hit/no-hit queries asked and answered (metadata only: the identifier is never kept)",
                    "tags": ["assistance"],
                    "parameters": [
                        query_param("direction", json!({ "type": "string", "enum": ["in", "out"] })),
                        limit.clone(),
                    ],
                    "responses": with("200", ok("Queries", json!({ "type": "object", "required": ["queries"], "properties": { "queries": { "type": "array", "items": r("HitNoHitQuery") } } })), &["400", "403", "404"]),
                },
                "post": {
                    "summary": "Ask the partner whether it holds a record (§12); the answer arrives asynchronously",
                    "tags": ["assistance"],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": r("HitNoHitAsk") } } },
                    "responses": with("202", ok("Queued; answer pending", r("HitNoHitQuery")), &["400", "403", "404", "422"]),
                },
            },
            "/api/v1/bulk": {
                "get": {
                    "summary": "Bulk declaration batches sent and received (§5)",
                    "tags": ["assistance"],
                    "parameters": [limit],
                    "responses": with("200", ok("Batches", json!({ "type": "object", "required": ["batches"], "properties": { "batches": { "type": "array", "items": r("BulkBatch") } } })), &["403", "404"]),
                },
                "post": {
                    "summary": "Cut and queue the batch of a dataset for a period; a period already sent is recognised, not cut again",
                    "tags": ["assistance"],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["dataset", "from", "to"],
                        "properties": { "dataset": { "type": "string" }, "from": date, "to": date },
                    } } } },
                    "responses": with("202", ok("Queued", r("BulkBatch")), &["400", "403", "404", "409", "422"]),
                },
            },
            "/api/v1/outcomes": {
                "get": {
                    "summary": "Outcome reports (§15) sent and received, oldest first",
                    "tags": ["assistance"],
                    "parameters": [query_param("case_id", json!({ "type": "string" }))],
                    "responses": with("200", ok("Outcomes", json!({ "type": "object", "required": ["outcomes"], "properties": { "outcomes": { "type": "array", "items": r("OutcomeRow") } } })), &["403", "404"]),
                },
            },
            "/api/v1/requests/{id}/outcome": {
                "post": {
                    "summary": "Report the outcome of one of our answered requests to the provider (§15)",
                    "tags": ["assistance"],
                    "parameters": [path_param("id")],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": r("OutcomeReport") } } },
                    "responses": with("201", ok("Reported", r("OutcomeRow")), &["400", "403", "404", "409", "422"]),
                },
            },
        },
        "components": { "schemas": {
            "HitNoHitAsk": { "type": "object", "required": ["query_type", "identifier", "case_reference"], "properties": {
                "query_type": { "type": "string", "enum": ["company", "person", "conveyance", "declaration", "document_number"] },
                "identifier": { "type": "string" },
                "purpose": { "type": "string", "enum": ["INTEL", "ADMIN", "CIVIL", "CRIMINAL"] },
                "case_reference": { "type": "string" },
            } },
            "HitNoHitQuery": { "type": "object", "required": ["query_id", "direction", "answer"], "properties": {
                "query_id": { "type": "string" }, "direction": { "type": "string", "enum": ["in", "out"] },
                "peer": { "type": "string" }, "official": { "type": "string" },
                "query_type": { "type": "string" }, "purpose": { "type": ["string", "null"] },
                "case_reference": { "type": "string" }, "commitment": { "type": "string" },
                "salt": { "type": "string" },
                "answer": { "type": "string", "enum": ["pending", "hit", "no_hit", "refused"] },
                "code": { "type": ["string", "null"] }, "handle": { "type": ["string", "null"] },
                "day": { "type": "string" }, "asked_at": { "type": "integer" },
            } },
            "BulkBatch": { "type": "object", "required": ["batch_id", "direction", "dataset", "state"], "properties": {
                "batch_id": { "type": "string" }, "direction": { "type": "string", "enum": ["in", "out"] },
                "peer": { "type": "string" }, "dataset": { "type": "string" },
                "period_from": { "type": "string" }, "period_to": { "type": "string" },
                "row_count": { "type": "integer" }, "batch_sha256": { "type": "string" },
                "state": { "type": "string" }, "code": { "type": ["string", "null"] },
                "exchange_message_id": { "type": ["string", "null"] },
                "created_at": { "type": "integer" }, "recognised": { "type": "boolean" },
            } },
            "OutcomeReport": { "type": "object", "properties": {
                "seizures": { "type": "array", "items": { "type": "object", "required": ["commodity", "hs_chapter", "quantity", "unit"], "properties": {
                    "commodity": { "type": "string" }, "hs_chapter": { "type": "string" },
                    "quantity": { "type": "integer", "minimum": 0 }, "unit": { "type": "string" },
                } } },
                "revenue": { "type": "array", "items": { "type": "object", "required": ["kind", "status", "amount_minor", "currency"], "properties": {
                    "kind": { "type": "string", "enum": ["duty", "penalty"] },
                    "status": { "type": "string", "enum": ["assessed", "recovered"] },
                    "amount_minor": { "type": "integer" }, "currency": { "type": "string" },
                } } },
                "cases_opened": { "type": "integer", "minimum": 0 },
                "convictions": { "type": "integer", "minimum": 0 },
            } },
            "OutcomeRow": { "type": "object", "required": ["feedback_id", "direction", "case_id"], "properties": {
                "feedback_id": { "type": "string" }, "direction": { "type": "string", "enum": ["in", "out"] },
                "case_id": { "type": "string" }, "peer": { "type": "string" },
                "reported_by": { "type": "string" }, "outcome": {},
                "reported_on": { "type": "string" }, "created_at": { "type": "integer" },
            } },
        } },
    })
}
