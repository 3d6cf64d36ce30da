//! `GET /api/v1/openapi.json`: the node's versioned JSON API, described in OpenAPI 3.1.
//!
//! Why assembled from fragments: each capability's module describes its own routes next to
//! its handlers (`pub fn openapi() -> serde_json::Value` with `paths` and
//! `components.schemas`), so a route and its description change in the same commit. This
//! module merges them, adds what every route shares (the bearer scheme, the error body),
//! and refuses at test time a fragment that redefines another's path or schema.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::AppState;

/// Every module's fragment, in a fixed order.
fn fragments() -> Vec<(&'static str, Value)> {
    vec![
        ("access", access_fragment()),
        ("target", crate::target::openapi()),
        ("assistance", crate::assistance::openapi()),
        ("assistance_wire", crate::assistance_wire::openapi()),
        ("assistance_more", crate::assistance_more::openapi()),
        ("mirror", crate::mirror::openapi()),
        ("screen", crate::screen::openapi()),
        ("admin", crate::admin::openapi()),
        ("partners", crate::partners::openapi()),
        ("auditor", crate::auditor::openapi()),
    ]
}

/// The routes of this module, with state applied.
pub fn routes(_state: &AppState) -> Router {
    Router::new().route("/api/v1/openapi.json", get(|| async { Json(document()) }))
}

/// The merged document.
pub fn document() -> Value {
    merge(fragments()).unwrap_or_else(|conflict| {
        // A conflict is a programming error caught by the tests; serve what is unambiguous.
        tracing::error!(%conflict, "OpenAPI fragments conflict");
        base()
    })
}

fn base() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Caravan node API",
            "version": "1",
            "description": "The JSON API of one Caravan node: mutual assistance under a Customs Mutual Assistance Agreement, screening, mirror matching and targeting. Every route but this document needs a bearer token (`caravan account add`).",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
        },
        "security": [ { "bearer": [] } ],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": { "200": { "description": "The OpenAPI document", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A token issued by `caravan account add` or `caravan account token`." }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": { "type": "string", "description": "Stable snake_case error code." },
                        "message": { "type": "string" }
                    }
                }
            },
            "responses": {
                "Unauthenticated": { "description": "No valid token", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "Forbidden": { "description": "The role may not do this (`role_not_permitted`); the refusal is audited", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "BadRequest": { "description": "Malformed input", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "NotFound": { "description": "No such resource", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "Unavailable": { "description": "The store is not answering", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        }
    })
}

/// Merges fragments into the base document; a path or schema defined twice is an error.
pub fn merge(fragments: Vec<(&'static str, Value)>) -> Result<Value, String> {
    let mut doc = base();
    for (module, fragment) in fragments {
        for (section, pointer) in [("paths", "/paths"), ("schemas", "/components/schemas")] {
            let source = match section {
                "paths" => fragment.get("paths"),
                _ => fragment.get("components").and_then(|c| c.get("schemas")),
            };
            let Some(source) = source else { continue };
            let Some(source) = source.as_object() else {
                return Err(format!("{module}: `{section}` is not an object"));
            };
            let target: &mut Map<String, Value> = doc
                .pointer_mut(pointer)
                .and_then(Value::as_object_mut)
                .ok_or_else(|| format!("base document lacks {pointer}"))?;
            for (key, value) in source {
                if target.insert(key.clone(), value.clone()).is_some() {
                    return Err(format!(
                        "{module}: {section} entry {key:?} is defined twice"
                    ));
                }
            }
        }
    }
    Ok(doc)
}

fn error_responses() -> Value {
    json!({
        "401": { "$ref": "#/components/responses/Unauthenticated" },
        "403": { "$ref": "#/components/responses/Forbidden" },
        "503": { "$ref": "#/components/responses/Unavailable" }
    })
}

/// Adds the shared error responses to an operation's own.
pub fn with_errors(mut responses: Value) -> Value {
    if let (Some(own), Some(shared)) = (responses.as_object_mut(), error_responses().as_object()) {
        for (k, v) in shared {
            own.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    responses
}

fn access_fragment() -> Value {
    json!({
        "paths": {
            "/api/v1/me": {
                "get": {
                    "summary": "Who the token acts as",
                    "responses": with_errors(json!({
                        "200": { "description": "The account", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Me" } } } }
                    }))
                }
            },
            "/api/v1/audit": {
                "get": {
                    "summary": "The hash-chained audit trail (auditor/data-protection officer)",
                    "parameters": [
                        { "name": "account", "in": "query", "schema": { "type": "string" } },
                        { "name": "action_prefix", "in": "query", "schema": { "type": "string" } },
                        { "name": "object", "in": "query", "schema": { "type": "string" } },
                        { "name": "after_seq", "in": "query", "schema": { "type": "integer", "format": "int64" } },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 4294967295u64 } }
                    ],
                    "responses": with_errors(json!({
                        "200": { "description": "Audit rows, oldest first", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AuditPage" } } } },
                        "400": { "$ref": "#/components/responses/BadRequest" }
                    }))
                }
            }
        },
        "components": { "schemas": {
            "Me": {
                "type": "object",
                "required": ["account", "display_name", "role"],
                "properties": {
                    "account": { "type": "string" },
                    "display_name": { "type": "string" },
                    "role": { "type": "string", "enum": ["desk_officer", "analyst", "supervisor", "investigator", "auditor_dpo", "administrator"] }
                }
            },
            "AuditPage": {
                "type": "object",
                "required": ["rows", "chain_verified"],
                "properties": {
                    "chain_verified": { "type": ["boolean", "null"] },
                    "rows": { "type": "array", "items": {
                        "type": "object",
                        "required": ["seq", "at", "account", "role", "action", "object", "outcome", "code", "detail", "sha256"],
                        "properties": {
                            "seq": { "type": "integer" }, "at": { "type": "integer" },
                            "account": { "type": "string" }, "role": { "type": "string" },
                            "action": { "type": "string" }, "object": { "type": "string" },
                            "outcome": { "type": "string", "enum": ["allowed", "refused"] },
                            "code": { "type": ["string", "null"] },
                            "detail": {},
                            "sha256": { "type": "string" }
                        }
                    } }
                }
            }
        } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_merge_without_conflict() {
        let doc = merge(fragments()).expect("fragments conflict");
        assert!(doc.pointer("/paths/~1api~1v1~1me/get").is_some());
        assert!(doc.pointer("/components/schemas/AuditPage").is_some());
    }

    #[test]
    fn a_path_defined_twice_is_refused() {
        let twice = vec![("a", access_fragment()), ("b", access_fragment())];
        assert!(merge(twice).unwrap_err().contains("defined twice"));
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        if let Some(s) = v.as_str() {
                            out.push(s.to_owned());
                        }
                    } else {
                        collect_refs(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
