//! Mirror matching over HTTP through the real router: only `RunAnalytics` roles read runs,
//! links and gaps, and every view is audited with what it showed; filters select what they
//! name; every bad query value gets `invalid_query` (400) and never a 5xx; unknown ids are
//! 404; the analyst's table lists links with their flags and the drill-down shows both
//! declarations side by side with the differing fields marked and the link's evidence.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_store::Store;
use caravan_store::access::AuditQuery;
use caravan_store::mirror::{MirrorGap, NewMirrorFinding, NewMirrorLink, NewMirrorRun};
use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::officer;

struct Node {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    app: axum::Router,
}

fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("node.sqlite")).unwrap());
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("US CBP"),
        log: None,
        exchange: None,
    });
    Node {
        _dir: dir,
        store,
        app,
    }
}

fn leg(reporter: &str, lrn: &str, exporter: &str, hs6: &str, origin: &str, net: f64) -> Value {
    json!({
        "reporter": reporter, "declarant": "", "lrn": lrn, "mrn": null, "flow": "export",
        "date": "2024-03-01", "mode": "road", "ucr": null, "transport_documents": ["CMR-77"],
        "containers": [], "invoice": "INV-5", "exporter": exporter, "importer": "Chicago Cotton LLC",
        "consignee": null, "routing": ["KZ"], "dispatch": "UZ", "destination": "US",
        "items": [{ "sequence": 1, "hs6": hs6, "origin": origin, "net_mass": net, "value": 10000.0, "currency": "USD" }],
    })
}

fn run() -> NewMirrorRun {
    let flagged = NewMirrorLink {
        direction: "UZ-US".into(),
        tier: "transport_reference".into(),
        cardinality: "1:1".into(),
        confidence: Some(0.98),
        hs6: Some("520512".into()),
        export_lrns: "UZ-EX-1".into(),
        import_lrns: "US-IM-1".into(),
        log_gap: Some(-0.92),
        score: 0.88,
        flags: vec!["classification_shift".into(), "undervaluation".into()],
        evidence: json!([{ "type": "shared_key", "kind": "transport_document", "value": "CMR77" }])
            .to_string(),
        discrepancy: json!({ "log_gap": -0.92, "export_fob": 10000.0, "import_fob": 3985.0,
            "hs": [{ "export_hs6": "520512", "import_hs6": "520511", "common_digits": 4, "lower_duty_sibling": true }],
            "issues": [{ "declaration": { "reporter": "US", "declarant": "", "lrn": "US-IM-1" }, "code": "MIRROR_RATE_MISSING", "message": "no UZS rate on 2024-03-20" }] })
            .to_string(),
        exports: json!([leg("UZ", "UZ-EX-1", "Samarqand Tekstil MChJ", "520512", "UZ", 1000.0)])
            .to_string(),
        imports: json!([leg("US", "US-IM-1", "SAMARQAND TEKSTIL", "520511", "CN", 1000.0)])
            .to_string(),
    };
    let clean = NewMirrorLink {
        direction: "US-UZ".into(),
        hs6: Some("847130".into()),
        export_lrns: "US-EX-2".into(),
        import_lrns: "UZ-IM-2".into(),
        score: 0.0,
        flags: Vec::new(),
        log_gap: Some(0.01),
        ..flagged.clone()
    };
    let orphan = NewMirrorLink {
        direction: "UZ-US".into(),
        tier: "unmatched_export".into(),
        cardinality: String::new(),
        confidence: None,
        hs6: Some("610910".into()),
        export_lrns: "UZ-EX-3".into(),
        import_lrns: String::new(),
        log_gap: None,
        score: 0.4,
        flags: vec!["phantom_export".into()],
        evidence: "[]".into(),
        discrepancy: "null".into(),
        exports: json!([leg("UZ", "UZ-EX-3", "Fergana Knit", "610910", "UZ", 50.0)]).to_string(),
        imports: "[]".into(),
    };
    let gap = |group_by: &str, key: &str| MirrorGap {
        group_by: group_by.into(),
        direction: "UZ-US".into(),
        key: key.into(),
        links: 1,
        unmatched_exports: 1,
        unmatched_imports: 0,
        export_fob: 10000.0,
        import_fob: 3985.0,
        gap: -6015.0,
        weighted_gap: -6015.0,
        median_log_gap: -0.92,
        unmatched_export_value: 800.0,
    };
    NewMirrorRun {
        created_at: 1_709_251_200_000,
        exports_source: "node".into(),
        imports_source: "node".into(),
        summary: json!({ "directions": [], "comparison_currency": "USD" }).to_string(),
        links: vec![clean, flagged, orphan],
        findings: vec![
            NewMirrorFinding {
                link_seq: 1,
                kind: "undervaluation".into(),
                score: 0.88,
                hs6: Some("520512".into()),
                declarations: json!([{ "reporter": "UZ", "declarant": "", "lrn": "UZ-EX-1" }])
                    .to_string(),
                detail: "g = -0.92 against a cell median of 0.01".into(),
            },
            NewMirrorFinding {
                link_seq: 1,
                kind: "classification_shift".into(),
                score: 0.7,
                hs6: Some("520512".into()),
                declarations: "[]".into(),
                detail: "520512 > 520511, a lower-duty sibling".into(),
            },
            NewMirrorFinding {
                link_seq: 2,
                kind: "phantom_export".into(),
                score: 0.4,
                hs6: Some("610910".into()),
                declarations: "[]".into(),
                detail: "no import within the window".into(),
            },
        ],
        gaps: vec![
            gap("partner", ""),
            gap("chapter", "52"),
            gap("chapter", "61"),
        ],
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn code(body: &str) -> String {
    json_of(body)["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn audited(store: &dyn Store, account: &str) -> Vec<(String, String, Option<String>)> {
    store
        .list_audit(&AuditQuery {
            account: Some(account.into()),
            action_prefix: Some("mirror.".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| (r.event.action, r.event.object, r.event.code))
        .collect()
}

#[tokio::test]
async fn only_analytics_roles_read_runs_and_refusals_are_audited() {
    let n = node();
    n.store.put_mirror_run(&run()).unwrap();
    let desk = officer(n.store.as_ref(), "d.officer", "desk_officer");
    let anonymous = Request::get("/api/v1/mirror/runs")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&n.app, anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "unauthenticated");
    for path in [
        "/api/v1/mirror/runs",
        "/api/v1/mirror/runs/1/links",
        "/api/v1/mirror/links/1",
        "/api/v1/mirror/gaps",
        "/ui/mirror",
        "/ui/mirror/links/1",
    ] {
        let (status, body) = send(&n.app, get(path, &desk)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(code(&body), "role_not_permitted", "{path}");
    }
    let rows = audited(n.store.as_ref(), "d.officer");
    assert!(rows.len() >= 6, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.2.as_deref() == Some("role_not_permitted"))
    );
}

#[tokio::test]
async fn runs_links_and_gaps_are_served_filtered_and_audited() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let (status, body) = send(&n.app, get("/api/v1/mirror/gaps", &analyst)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    let id = n.store.put_mirror_run(&run()).unwrap();

    let (status, body) = send(&n.app, get("/api/v1/mirror/runs", &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let runs = json_of(&body);
    assert_eq!(runs["runs"][0]["id"], id);
    assert_eq!(runs["runs"][0]["links"], 3);
    assert_eq!(runs["runs"][0]["summary"]["comparison_currency"], "USD");

    let links = |query: &str| format!("/api/v1/mirror/runs/{id}/links{query}");
    let (status, body) = send(&n.app, get(&links(""), &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = json_of(&body);
    assert_eq!(page["total"], 3);
    let order: Vec<&str> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["export_lrns"][0].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["UZ-EX-1", "UZ-EX-3", "US-EX-2"]);
    assert_eq!(
        page["links"][0]["flags"],
        json!(["classification_shift", "undervaluation"])
    );
    assert!(page["links"][0].get("exports").is_none());
    let flagged_link = page["links"][0]["id"].as_i64().unwrap();

    for (query, expected) in [
        ("?pattern=undervaluation", vec!["UZ-EX-1"]),
        ("?pattern=phantom_export", vec!["UZ-EX-3"]),
        ("?hs=52", vec!["UZ-EX-1"]),
        ("?hs=847130", vec!["US-EX-2"]),
        ("?direction=US-UZ", vec!["US-EX-2"]),
        ("?direction=UZ-US&flagged=true", vec!["UZ-EX-1", "UZ-EX-3"]),
        ("?limit=1&offset=1", vec!["UZ-EX-3"]),
        ("?pattern=overvaluation", vec![]),
    ] {
        let (status, body) = send(&n.app, get(&links(query), &analyst)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let got: Vec<String> = json_of(&body)["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["export_lrns"][0].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, expected, "{query}");
    }

    let (status, body) = send(
        &n.app,
        get(&format!("/api/v1/mirror/links/{flagged_link}"), &analyst),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let link = json_of(&body);
    assert_eq!(link["exports"][0]["lrn"], "UZ-EX-1");
    assert_eq!(link["imports"][0]["items"][0]["origin"], "CN");
    assert_eq!(link["discrepancy"]["log_gap"], -0.92);
    assert_eq!(link["evidence"][0]["kind"], "transport_document");
    assert_eq!(link["findings"][0]["kind"], "undervaluation");
    assert_eq!(link["findings"][1]["kind"], "classification_shift");

    let (status, body) = send(&n.app, get("/api/v1/mirror/gaps?by=chapter", &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gaps = json_of(&body);
    assert_eq!(gaps["run"], id);
    let keys: Vec<&str> = gaps["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["52", "61"]);
    let (_, body) = send(
        &n.app,
        get(&format!("/api/v1/mirror/gaps?run={id}"), &analyst),
    )
    .await;
    assert_eq!(json_of(&body)["rows"][0]["weighted_gap"], -6015.0);

    let rows = audited(n.store.as_ref(), "a.karimov");
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for action in [
        "mirror.runs.view",
        "mirror.links.view",
        "mirror.link.view",
        "mirror.gaps.view",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
    assert!(rows.iter().all(|r| r.2.is_none()), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.0 == "mirror.link.view" && r.1 == format!("link:{flagged_link}"))
    );
}

#[tokio::test]
async fn bad_queries_get_their_code_and_unknown_ids_404() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let id = n.store.put_mirror_run(&run()).unwrap();
    for path in [
        format!("/api/v1/mirror/runs/{id}/links?pattern=valuation"),
        format!("/api/v1/mirror/runs/{id}/links?hs=5"),
        format!("/api/v1/mirror/runs/{id}/links?hs=52%25"),
        format!("/api/v1/mirror/runs/{id}/links?direction=uz-us"),
        format!("/api/v1/mirror/runs/{id}/links?flagged=yes"),
        format!("/api/v1/mirror/runs/{id}/links?limit=0"),
        format!("/api/v1/mirror/runs/{id}/links?limit=501"),
        format!("/api/v1/mirror/runs/{id}/links?offset=-1"),
        "/api/v1/mirror/runs/abc/links".to_owned(),
        "/api/v1/mirror/runs/0/links".to_owned(),
        "/api/v1/mirror/runs/99999999999999999999/links".to_owned(),
        "/api/v1/mirror/links/-4".to_owned(),
        "/api/v1/mirror/runs?limit=1e3".to_owned(),
        "/api/v1/mirror/gaps?by=week".to_owned(),
        "/api/v1/mirror/gaps?run=x".to_owned(),
        "/ui/mirror?page=0".to_owned(),
        "/ui/mirror/links/x".to_owned(),
    ] {
        let (status, body) = send(&n.app, get(&path, &analyst)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(code(&body), "invalid_query", "{path}");
    }
    for path in [
        format!("/api/v1/mirror/runs/{}/links", id + 1),
        "/api/v1/mirror/links/999".to_owned(),
        format!("/api/v1/mirror/gaps?run={}", id + 1),
        "/ui/mirror/links/999".to_owned(),
    ] {
        let (status, body) = send(&n.app, get(&path, &analyst)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(code(&body), "not_found", "{path}");
    }
}

#[tokio::test]
async fn the_table_and_the_drill_down_show_flags_and_differences() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let (status, body) = send(&n.app, get("/ui/mirror", &analyst)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No mirror run is stored yet"), "{body}");

    let id = n.store.put_mirror_run(&run()).unwrap();
    let (status, body) = send(&n.app, get("/ui/mirror?pattern=undervaluation", &analyst)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!("Run {id} of 2024-03-01 00:00 UTC")),
        "{body}"
    );
    assert!(body.contains("Links 1–1 of 1"), "{body}");
    assert!(
        body.contains("UZ-EX-1") && !body.contains("US-EX-2"),
        "{body}"
    );
    assert!(body.contains("<span class=\"lane-red\">undervaluation</span>"));
    assert!(body.contains("<option value=\"undervaluation\" selected>"));
    for field in ["pattern", "hs", "direction", "flagged"] {
        assert!(
            body.contains(&format!("<label for=\"{field}\">")),
            "{field}"
        );
    }
    let link_id = n
        .store
        .mirror_links(id, &caravan_store::mirror::LinkFilter::default(), 1, 0)
        .unwrap()
        .links[0]
        .id;
    assert!(body.contains(&format!("href=\"/ui/mirror/links/{link_id}\"")));

    let (status, body) = send(
        &n.app,
        get(&format!("/ui/mirror/links/{link_id}"), &analyst),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Export and import side by side: HS and origin differ and are marked, the exporter's
    // spelling does not count as a difference, reference numbers are never marked.
    let row = |field: &str| {
        let start = body
            .find(&format!("<th scope=\"row\">{field}</th>"))
            .unwrap();
        let end = start + body[start..].find("</tr>").unwrap();
        body[start..end].to_owned()
    };
    assert!(row("HS6").contains("<mark>520512</mark>") && row("HS6").contains("differs"));
    assert!(row("Origin").contains("<mark>CN</mark>"));
    assert!(!row("Exporter / seller").contains("differs"));
    assert!(!row("Declaration (LRN)").contains("differs"));
    assert!(row("Declaration (LRN)").contains("US-IM-1"));
    assert!(
        body.contains("<strong>shared key</strong>: kind transport_document, value CMR77"),
        "{body}"
    );
    assert!(
        body.contains("520512 → 520511: 4 digits in common; shifted into a lower-duty sibling")
    );
    assert!(body.contains("MIRROR_RATE_MISSING"));
    assert!(body.contains("caravan mirror share --finding"));

    let (status, body) = send(&n.app, get("/ui/mirror/links/3", &analyst)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("no counterpart"), "{body}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_mirror_route() {
    let doc = caravan_web::openapi::document();
    for path in [
        "/api/v1/mirror/runs",
        "/api/v1/mirror/runs/{id}/links",
        "/api/v1/mirror/links/{id}",
        "/api/v1/mirror/gaps",
    ] {
        assert!(
            doc["paths"][path]["get"]["responses"]["200"].is_object(),
            "{path}"
        );
    }
    assert!(doc["components"]["schemas"]["MirrorLink"].is_object());
}
