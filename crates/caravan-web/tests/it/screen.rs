//! Screening over HTTP through the real router: only `RunAnalytics` roles get in, a party
//! is screened against the stored active lists (and against a newly loaded version without
//! a restart), every bad input gets its own 400 code and never a 5xx, hits list with their
//! explanations, a disposition is recorded, audited and moves the hit's status, and the
//! officer's page shows the explanation and a labelled form protected against cross-site
//! posts.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_screen::index::ScreenIndex;
use caravan_screen::model::ScreeningList;
use caravan_screen::parse::lookout_csv;
use caravan_screen::score::ScoreConfig;
use caravan_screen::screen::{ScreenedParty, Screener};
use caravan_screen::stored::{entry_to_json, explanation_json};
use caravan_store::Store;
use caravan_store::access::AuditQuery;
use caravan_store::screen::{
    Change, HitRecord, HitStatus, ListLoad, PartyFacts, ScreenRunRecord, StoredEntry,
};
use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::officer;

const V1: &str = "list_id,entry_id,name,entry_kind,name_kind,country\n\
    uz-lookout,L1,Хайдаров Шуҳрат,person,primary,UZ\n\
    uz-lookout,L1,Shukhrat Khaydarov,person,alias,\n\
    uz-lookout,L2,Toshkent Tekstil MChJ,organization,primary,UZ\n";

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
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    });
    Node {
        _dir: dir,
        store,
        app,
    }
}

/// Stores `csv` as the new active version of its list (no parties known yet).
fn load(store: &dyn Store, csv: &str, expected_active: Option<i64>) -> ScreeningList {
    let list = lookout_csv::parse(csv.as_bytes(), "t").unwrap();
    store
        .screen_load_list(&ListLoad {
            list_id: list.version.list_id.clone(),
            source: "lookout".into(),
            publisher_date: None,
            digest: list.version.sha256,
            loaded_at: 1,
            expected_active,
            entries: list
                .entries
                .iter()
                .map(|e| StoredEntry {
                    entry_id: e.entry_id.clone(),
                    content_hash: e.content_hash,
                    kind: e.kind.as_str().into(),
                    primary_name: e.primary_name().into(),
                    body: entry_to_json(e),
                })
                .collect(),
            changes: list
                .entries
                .iter()
                .map(|e| (e.entry_id.clone(), Change::Added))
                .collect(),
            hits: Vec::new(),
        })
        .unwrap();
    list
}

/// Screens one stored party through the engine and records the run; returns the hit id.
fn stored_hit(store: &dyn Store, list: &ScreeningList) -> i64 {
    let screener = Screener::new(
        ScreenIndex::build(std::slice::from_ref(list)),
        ScoreConfig::default(),
    );
    let party = ScreenedParty {
        name: "Shuhrat Haydarov".into(),
        country: Some("KZ".into()),
        ..ScreenedParty::default()
    };
    let hit = screener
        .screen(&party, &mut screener.index.scratch())
        .unwrap()
        .into_iter()
        .find(|h| h.entry_id == "L1")
        .unwrap();
    let facts = PartyFacts {
        party_key: "IM|name|KZ|shuhrat haydarov".into(),
        digest: [7; 32],
        role: "IM".into(),
        name: party.name.clone(),
        country: party.country.clone(),
        id_scheme: None,
        id_value: None,
    };
    let mut entry_hash = [0u8; 32];
    entry_hash.copy_from_slice(&list.entries[0].content_hash);
    store
        .screen_record_run(&ScreenRunRecord {
            screened_at: 2,
            parties: vec![facts.clone()],
            hits: vec![HitRecord {
                party_key: facts.party_key.clone(),
                party_digest: facts.digest,
                list_id: hit.list_id.clone(),
                entry_id: hit.entry_id.clone(),
                entry_hash,
                matched_name: hit.matched_name.clone(),
                score: hit.score,
                band: hit.band.as_str().into(),
                explanation: explanation_json(&hit, &screener.config).to_string(),
            }],
        })
        .unwrap();
    store
        .screen_hits(&caravan_store::screen::HitFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap()[0]
        .id
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

fn post_json(path: &str, token: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn only_analysts_screen_and_refusals_are_audited() {
    let n = node();
    let auditor = officer(n.store.as_ref(), "n.ismoilova", "auditor_dpo");
    let party = r#"{"name":"Shuhrat Haydarov"}"#;
    let anonymous = Request::post("/api/v1/screen/party")
        .body(Body::from(party))
        .unwrap();
    let (status, body) = send(&n.app, anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "unauthenticated");
    for request in [
        post_json("/api/v1/screen/party", &auditor, party),
        get("/api/v1/screen/hits", &auditor),
        get("/api/v1/screen/lists", &auditor),
        post_json(
            "/api/v1/screen/hits/1/disposition",
            &auditor,
            r#"{"decision":"true_match","reason":"known_party"}"#,
        ),
    ] {
        let (status, body) = send(&n.app, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "role_not_permitted");
    }
    let refusals = n
        .store
        .list_audit(&AuditQuery {
            account: Some("n.ismoilova".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(
        refusals
            .iter()
            .any(|r| r.event.action == "screen.party" && r.event.code.is_some()),
        "{refusals:?}"
    );
}

#[tokio::test]
async fn a_party_is_screened_against_the_active_lists_with_explanations() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let (status, body) = send(
        &n.app,
        post_json(
            "/api/v1/screen/party",
            &analyst,
            r#"{"name":"Shuhrat Haydarov"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "no_screening_list");

    load(n.store.as_ref(), V1, None);
    let (status, body) = send(
        &n.app,
        post_json(
            "/api/v1/screen/party",
            &analyst,
            r#"{"name":"Shuhrat Haydarov","country":"KZ","role":"IM"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let hit = &answer["hits"][0];
    assert_eq!(hit["entry_id"], "L1", "{answer}");
    let explanation = &hit["explanation"];
    assert!(
        explanation["tokens"].as_array().unwrap().len() >= 2,
        "{explanation}"
    );
    let against = explanation["evidence_against"].as_array().unwrap();
    assert!(
        against
            .iter()
            .any(|e| e["what"].as_str().unwrap().contains("KZ")),
        "{explanation}"
    );
    assert_eq!(answer["lists"][0]["list_id"], "uz-lookout");

    // A new version is used without a restart.
    let v2 = format!("{V1}uz-lookout,L3,Jurabek Yusupov,person,primary,UZ\n");
    let active = n.store.screen_list_versions().unwrap()[0].id;
    load(n.store.as_ref(), &v2, Some(active));
    let (status, body) = send(
        &n.app,
        post_json(
            "/api/v1/screen/party",
            &analyst,
            r#"{"name":"Yusupov Jurabek"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["hits"][0]["entry_id"], "L3", "{answer}");

    let (status, body) = send(&n.app, get("/api/v1/screen/lists", &analyst)).await;
    assert_eq!(status, StatusCode::OK);
    let lists: Value = serde_json::from_str(&body).unwrap();
    let versions = lists["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["active"], true);
    assert_eq!(versions[1]["active"], false);
    let audit = n
        .store
        .list_audit(&AuditQuery {
            account: Some("a.karimov".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(audit.iter().any(|r| r.event.action == "screen.party"));
}

#[tokio::test]
async fn bad_inputs_get_their_own_codes_and_never_a_5xx() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    load(n.store.as_ref(), V1, None);
    let long = "A".repeat(10_000);
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "invalid_body"),
        (r#"{"nom":"x"}"#.into(), "invalid_body"),
        (r#"{"name":"x","extra":1}"#.into(), "invalid_body"),
        (r#"{"name":""}"#.into(), "screen_name_empty"),
        (r#"{"name":"🙂🙂 !!"}"#.into(), "screen_name_empty"),
        (json!({ "name": long }).to_string(), "screen_name_too_long"),
        (r#"{"name":"x","role":"ZZ"}"#.into(), "unknown_role"),
        (r#"{"name":"x","country":"uz"}"#.into(), "bad_country"),
        (
            r#"{"name":"x","birth_date":"1970-13"}"#.into(),
            "bad_birth_date",
        ),
        (
            r#"{"name":"x","identifiers":[{"scheme":"UZ STIR","value":"1"}]}"#.into(),
            "bad_identifier",
        ),
        (
            r#"{"name":"x","identifiers":[{"scheme":"INN","value":"--"}]}"#.into(),
            "bad_identifier",
        ),
        (r#"{"name":"x","limit":-1}"#.into(), "invalid_body"),
    ];
    for (body, expected) in cases {
        let (status, answer) =
            send(&n.app, post_json("/api/v1/screen/party", &analyst, &body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(code(&answer), expected, "{body}");
    }
    // Handled, not refused: right-to-left, mixed scripts, control characters.
    for name in [
        "محمد عبد الله",
        "ООО Toshkent Tекстиль",
        "Shukhrat\u{0}\u{7}Khaydarov",
        "\u{202e}vorayd Xay",
    ] {
        let body = json!({ "name": name }).to_string();
        let (status, answer) =
            send(&n.app, post_json("/api/v1/screen/party", &analyst, &body)).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{name:?}: {status} {answer}"
        );
    }
    for (path, expected) in [
        ("/api/v1/screen/hits?status=maybe", "unknown_status"),
        ("/api/v1/screen/hits?limit=abc", "bad_paging"),
        ("/api/v1/screen/hits?limit=5000", "bad_paging"),
    ] {
        let (status, answer) = send(&n.app, get(path, &analyst)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(code(&answer), expected, "{path}");
    }
}

#[tokio::test]
async fn a_disposition_is_recorded_audited_and_moves_the_hit() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let list = load(n.store.as_ref(), V1, None);
    let id = stored_hit(n.store.as_ref(), &list);

    let (status, body) = send(&n.app, get("/api/v1/screen/hits?status=open", &analyst)).await;
    assert_eq!(status, StatusCode::OK);
    let hits: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(hits["hits"].as_array().unwrap().len(), 1);
    assert_eq!(hits["hits"][0]["party"]["name"], "Shuhrat Haydarov");
    assert!(hits["hits"][0]["explanation"]["tokens"].is_array());

    let path = format!("/api/v1/screen/hits/{id}/disposition");
    for (target, body, status, expected) in [
        (
            "/api/v1/screen/hits/abc/disposition".to_owned(),
            r#"{"decision":"true_match","reason":"known_party"}"#,
            StatusCode::BAD_REQUEST,
            "bad_hit_id",
        ),
        (
            "/api/v1/screen/hits/999999/disposition".to_owned(),
            r#"{"decision":"true_match","reason":"known_party"}"#,
            StatusCode::NOT_FOUND,
            "hit_not_found",
        ),
        (
            path.clone(),
            r#"{"decision":"maybe","reason":"known_party"}"#,
            StatusCode::BAD_REQUEST,
            "unknown_decision",
        ),
        (
            path.clone(),
            r#"{"decision":"false_positive","reason":"looks fine"}"#,
            StatusCode::BAD_REQUEST,
            "unknown_reason",
        ),
        (
            path.clone(),
            r#"{"decision":"false_positive","reason":"other"}"#,
            StatusCode::BAD_REQUEST,
            "note_required",
        ),
    ] {
        let (got, answer) = send(&n.app, post_json(&target, &analyst, body)).await;
        assert_eq!(got, status, "{target} {body}: {answer}");
        assert_eq!(code(&answer), expected);
    }
    assert_eq!(
        n.store.screen_hit(id).unwrap().status,
        HitStatus::Open,
        "refused dispositions change nothing"
    );
    assert!(n.store.screen_dispositions(id).unwrap().is_empty());

    let (status, body) = send(
        &n.app,
        post_json(
            &path,
            &analyst,
            r#"{"decision":"false_positive","reason":"different_country","note":"KZ trader"}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hit: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(hit["status"], "false_positive");
    let stored = n.store.screen_dispositions(id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].record.account, "a.karimov");
    assert_eq!(stored[0].record.reason, "different_country");
    let audit = n
        .store
        .list_audit(&AuditQuery {
            account: Some("a.karimov".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap();
    let row = audit
        .iter()
        .find(|r| r.event.action == "screen.hit.disposition" && r.event.code.is_none())
        .expect("the disposition is audited");
    assert_eq!(row.event.object, id.to_string());
    assert!(row.event.detail.contains("false_positive"));
}

#[tokio::test]
async fn the_page_explains_hits_and_its_form_refuses_other_sites() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let list = load(n.store.as_ref(), V1, None);
    let id = stored_hit(n.store.as_ref(), &list);

    let (status, html) = send(&n.app, get("/ui/screen/hits", &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Shuhrat Haydarov"));
    assert!(html.contains("Shukhrat Khaydarov") || html.contains("Хайдаров"));
    assert!(html.contains("<th scope=\"col\""));
    assert!(html.contains(&format!("<label for=\"reason-{id}\"")));
    assert!(html.contains("Against"), "the evidence against is shown");

    let form = |origin: Option<&str>| {
        let mut request = Request::post(format!("/ui/screen/hits/{id}/disposition"))
            .header(header::HOST, "node.example")
            .header(header::AUTHORIZATION, format!("Bearer {analyst}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request
            .body(Body::from(
                "decision=false_positive&reason=name_only_similarity&note=",
            ))
            .unwrap()
    };
    let (status, body) = send(&n.app, form(Some("https://evil.example"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "cross_origin_refused");
    assert_eq!(n.store.screen_hit(id).unwrap().status, HitStatus::Open);
    let (status, _) = send(&n.app, form(Some("https://node.example"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        n.store.screen_hit(id).unwrap().status,
        HitStatus::FalsePositive
    );
}
