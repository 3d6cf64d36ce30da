//! The auditor's pages and log API over real routers: two logs that witness each other,
//! the witness status, proofs the node builds and checks, the audit trail with its chain
//! check and filters, and who may read what (§13).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_log::entry::{Entry, EntryBody};
use caravan_log::keys::NodeKeys;
use caravan_log::storage::MemoryLogStore;
use caravan_log::{FixedClock, LogConfig, LogNode, Partner};
use caravan_store::Store;
use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router, serve};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const US: &str = "caravan.us.example/agreement";
const UZ: &str = "caravan.uz.example/agreement";
const NOW_MS: u64 = 1_726_185_600_000;

fn entry(i: u64) -> Entry {
    Entry {
        t: NOW_MS + i * 60_000,
        agreement_id: "agreement".into(),
        body: EntryBody::AuditAnchor {
            head: [i as u8; 32],
            event_count: i,
        },
    }
}

struct Node {
    app: axum::Router,
    log: Arc<LogNode>,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

fn keys(origin: &str, witness: &str, seed: u8) -> NodeKeys {
    NodeKeys::from_seeds(origin, &[seed; 32], witness, &[seed + 1; 32]).unwrap()
}

/// Our node (US), whose partner (UZ) serves its witness endpoint on a real listener.
async fn two_nodes(entries: u64) -> (Node, tokio::sync::oneshot::Sender<()>) {
    let us_keys = keys(US, "caravan.us.example/witness", 1);
    let uz_keys = keys(UZ, "caravan.uz.example/witness", 3);

    // UZ first: it witnesses the US log.
    let uz_dir = tempfile::tempdir().unwrap();
    let mut uz_config = LogConfig::new(UZ, "agreement");
    uz_config.partners.push(Partner {
        name: "US CBP".into(),
        log_origin: US.into(),
        log_key: us_keys.log_verifier(),
        witness_key: us_keys.witness_verifier(),
        url: "http://127.0.0.1:9".into(),
    });
    let uz_log = LogNode::open(
        Arc::new(MemoryLogStore::new()),
        keys(UZ, "caravan.uz.example/witness", 3),
        uz_config,
        Arc::new(FixedClock(NOW_MS)),
    )
    .unwrap();
    let uz_state = AppState {
        store: Arc::new(SqliteStore::open(&uz_dir.path().join("uz.sqlite")).unwrap()),
        node_name: Arc::from("UZ Customs"),
        log: Some(uz_log),
        exchange: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uz_addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router(uz_state), async move {
        let _ = stopped.await;
        drop(uz_dir);
    }));

    let dir = tempfile::tempdir().unwrap();
    let mut config = LogConfig::new(US, "agreement");
    config.partners.push(Partner {
        name: "UZ Customs".into(),
        log_origin: UZ.into(),
        log_key: uz_keys.log_verifier(),
        witness_key: uz_keys.witness_verifier(),
        url: format!("http://{uz_addr}"),
    });
    let log = LogNode::open(
        Arc::new(MemoryLogStore::new()),
        us_keys,
        config,
        Arc::new(FixedClock(NOW_MS)),
    )
    .unwrap();
    for i in 0..entries {
        log.submit(&entry(i)).unwrap();
    }
    let settled = log.settle().await.unwrap();
    assert_eq!(settled.signed, Some(entries));
    assert!(
        matches!(settled.witnesses.as_slice(), [caravan_log::witness::WitnessOutcome::Cosigned { size, .. }] if *size == entries),
        "{settled:?}"
    );
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("us.sqlite")).unwrap());
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("US CBP"),
        log: Some(log.clone()),
        exchange: None,
    });
    (
        Node {
            app,
            log,
            store,
            _dir: dir,
        },
        stop,
    )
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn the_log_page_shows_the_witness_status_and_proofs_verify_on_the_node() {
    let (node, stop) = two_nodes(7).await;
    let auditor = crate::officer(node.store.as_ref(), "aud", "auditor_dpo");

    let (status, body) = call(&node.app, "GET", "/api/v1/log", &auditor, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overview = json_of(&body);
    assert_eq!(overview["origin"], US);
    assert_eq!(overview["size"], 7);
    assert_eq!(overview["checkpoint_size"], 7);
    assert_eq!(overview["witnesses"][0]["partner"], "UZ Customs");
    assert_eq!(overview["witnesses"][0]["cosigned_size"], 7);
    assert_eq!(overview["witnesses"][0]["behind"], 0);
    assert_eq!(overview["witnesses"][0]["cosigned_at"], NOW_MS / 1000);
    let kinds: Vec<(&str, bool)> = overview["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["verified"] == json!(true)))
        .collect();
    assert_eq!(kinds, vec![("log", true), ("witness", true)]);
    // Growth: cumulative, ends at the log size, over the entries' minutes.
    let growth = overview["growth"].as_array().unwrap();
    assert_eq!(growth.last().unwrap()[1], 7);
    assert_eq!(growth.first().unwrap()[0], NOW_MS);
    assert_eq!(overview["keys"].as_array().unwrap().len(), 4);

    // The log grows without a new checkpoint: the witness is now behind.
    node.log.submit(&entry(7)).unwrap();
    node.log.appender().flush().unwrap();
    let (_, body) = call(&node.app, "GET", "/api/v1/log", &auditor, None).await;
    let overview = json_of(&body);
    assert_eq!(overview["size"], 8);
    assert_eq!(overview["witnesses"][0]["cosigned_size"], 7);
    assert_eq!(overview["witnesses"][0]["behind"], 1);

    let (status, body) = call(
        &node.app,
        "GET",
        "/api/v1/log/entries?start=5&limit=10",
        &auditor,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = json_of(&body);
    assert_eq!(page["size"], 8);
    assert_eq!(page["entries"].as_array().unwrap().len(), 3);
    assert_eq!(page["entries"][0]["index"], 5);
    assert_eq!(page["entries"][0]["type"], "audit_anchor");
    assert_eq!(
        page["entries"][0]["summary"],
        "audit chain head over 5 events"
    );

    // Entry 7 is not under a signed checkpoint yet; entry 3 is.
    let (status, body) = call(&node.app, "GET", "/api/v1/log/proofs/7", &auditor, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(json_of(&body)["code"], "entry_not_checkpointed");
    let (status, body) = call(&node.app, "GET", "/api/v1/log/proofs/99", &auditor, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = call(&node.app, "GET", "/api/v1/log/proofs/x", &auditor, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(&node.app, "GET", "/api/v1/log/proofs/3", &auditor, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let proof = json_of(&body);
    let text = proof["proof"].as_str().unwrap().to_owned();
    let entry_b64 = proof["entry"]["entry"].as_str().unwrap().to_owned();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"));

    let verify = |proof: &str, entry: &str, keys: Option<Vec<String>>| {
        let mut body = json!({ "proof": proof, "entry": entry });
        if let Some(k) = keys {
            body["keys"] = json!(k);
        }
        body
    };
    let (status, body) = call(
        &node.app,
        "POST",
        "/api/v1/log/verify",
        &auditor,
        Some(verify(&text, &entry_b64, None)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let verdict = json_of(&body);
    assert_eq!(verdict["verified"], true, "{verdict}");
    assert_eq!(verdict["index"], 3);
    assert_eq!(verdict["witnesses"][0][0], "caravan.uz.example/witness");

    // The leaf hash in hex does as well as the entry.
    let leaf = proof["entry"]["leaf_hash"].as_str().unwrap().to_owned();
    let (_, body) = call(
        &node.app,
        "POST",
        "/api/v1/log/verify",
        &auditor,
        Some(verify(&text, &leaf, None)),
    )
    .await;
    assert_eq!(json_of(&body)["verified"], true);

    // Another entry's bytes do not verify at index 3.
    let other = base64_of(&entry(4).encode().unwrap());
    let (status, body) = call(
        &node.app,
        "POST",
        "/api/v1/log/verify",
        &auditor,
        Some(verify(&text, &other, None)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let verdict = json_of(&body);
    assert_eq!(verdict["verified"], false);
    assert_eq!(verdict["code"], "proof_invalid");

    // Without the log's key the proof proves nothing.
    let only_witness = vec![node.log.config().partners[0].witness_key.to_vkey()];
    let (_, body) = call(
        &node.app,
        "POST",
        "/api/v1/log/verify",
        &auditor,
        Some(verify(&text, &entry_b64, Some(only_witness))),
    )
    .await;
    assert_eq!(json_of(&body)["verified"], false);

    // A changed root in the checkpoint breaks the log signature.
    let tampered = text.replacen(&format!("{US}\n7\n"), &format!("{US}\n6\n"), 1);
    assert_ne!(tampered, text);
    let (_, body) = call(
        &node.app,
        "POST",
        "/api/v1/log/verify",
        &auditor,
        Some(verify(&tampered, &entry_b64, None)),
    )
    .await;
    assert_eq!(json_of(&body)["verified"], false);

    // Bad input is named, never a server error.
    for (body, code) in [
        (verify(&text, "%%%", None), "bad_entry"),
        (
            verify(&text, &entry_b64, Some(vec!["nonsense".into()])),
            "bad_key",
        ),
        (json!({ "proof": 3 }), "bad_body"),
    ] {
        let (status, text) = call(
            &node.app,
            "POST",
            "/api/v1/log/verify",
            &auditor,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(json_of(&text)["code"], code);
    }

    // The pages: the log page with both charts and a link to verify each entry; the
    // verify page with the node's verdict and the browser check's script.
    let (status, html) = call(&node.app, "GET", "/ui/audit/log", &auditor, None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"chart-log-growth\""));
    assert!(html.contains("id=\"chart-witness-status\""));
    assert!(html.contains("href=\"/ui/audit/verify?index=7\""));
    assert!(html.contains("UZ Customs"));
    assert!(
        html.contains("<td>log signature</td><td>this node</td>"),
        "{html}"
    );
    assert!(html.contains("<td>witness cosignature</td><td>UZ Customs</td>"));
    // The signatures' kinds and our own holder come from the catalogue, as every other text.
    let russian = Request::builder()
        .uri("/ui/audit/log")
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {auditor}"))
        .header(header::ACCEPT_LANGUAGE, "ru")
        .body(Body::empty())
        .unwrap();
    let response = node.app.clone().oneshot(russian).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let html_ru = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        html_ru.contains("<td>подпись журнала</td><td>этот узел</td>"),
        "{html_ru}"
    );
    assert!(!html_ru.contains("this node"));
    let (status, html) = call(&node.app, "GET", "/ui/audit/verify?index=3", &auditor, None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("id=\"server-result\" data-verified=\"true\""),
        "{html}"
    );
    assert!(html.contains("<script src=\"/static/verify.js\" defer></script>"));
    assert!(!html.contains("<script>"), "no inline script");
    let (status, html) = call(&node.app, "GET", "/ui/audit/verify?index=7", &auditor, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("No signed checkpoint covers that entry yet"));
    let (status, _) = call(&node.app, "GET", "/ui/audit/verify?index=x", &auditor, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The script is served by the node itself, as JavaScript.
    let response = node
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/static/verify.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let response = node
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/static/../Cargo.toml")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    stop.send(()).unwrap();
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn roles_the_audit_trail_its_chain_check_and_filters() {
    let (node, stop) = two_nodes(2).await;
    let auditor = crate::officer(node.store.as_ref(), "aud", "auditor_dpo");
    let admin = crate::officer(node.store.as_ref(), "adm", "administrator");
    let desk = crate::officer(node.store.as_ref(), "desk", "desk_officer");

    // The administrator reads the log (read-only) but not the audit trail; the desk
    // officer reads neither; every refusal is audited.
    for (token, path, expected) in [
        (&admin, "/api/v1/log", StatusCode::OK),
        (&admin, "/ui/audit/log", StatusCode::OK),
        (&admin, "/ui/audit", StatusCode::FORBIDDEN),
        (&desk, "/api/v1/log", StatusCode::FORBIDDEN),
        (&desk, "/ui/audit/verify?index=0", StatusCode::FORBIDDEN),
        (&desk, "/ui/audit", StatusCode::FORBIDDEN),
    ] {
        let (status, body) = call(&node.app, "GET", path, token, None).await;
        assert_eq!(status, expected, "{path}: {body}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(json_of(&body)["code"], "role_not_permitted");
        }
    }
    // Each home page links exactly the audit pages its role may open.
    for (token, trail, log) in [
        (&auditor, true, true),
        (&admin, false, true),
        (&desk, false, false),
    ] {
        let (status, html) = call(&node.app, "GET", "/ui", token, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(html.contains("href=\"/ui/audit\""), trail, "{html}");
        assert_eq!(html.contains("href=\"/ui/audit/log\""), log, "{html}");
    }

    let (status, html) = call(&node.app, "GET", "/ui/audit?account=desk", &auditor, None).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("id=\"chain-status\" data-verified=\"true\""),
        "{html}"
    );
    // The desk officer's three refusals, and nothing of anyone else.
    assert_eq!(html.matches("<td>desk</td>").count(), 3, "{html}");
    assert_eq!(html.matches("role_not_permitted").count(), 3);
    assert!(!html.contains("<td>adm</td>"));

    // Filters by action prefix and object.
    let (_, html) = call(
        &node.app,
        "GET",
        "/ui/audit?action=log.&account=adm",
        &auditor,
        None,
    )
    .await;
    assert_eq!(html.matches("<td>adm</td>").count(), 2, "{html}");
    // A time window in the future holds nothing; a malformed time is named.
    let (status, html) = call(
        &node.app,
        "GET",
        "/ui/audit?from=2999-01-01",
        &auditor,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No row matches."));
    let (status, html) = call(
        &node.app,
        "GET",
        "/ui/audit?until=yesterday",
        &auditor,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("“Until” is not a date"));

    // Paging: 60 more rows, 50 on the first page and a link to the rest.
    for _ in 0..60 {
        let (status, _) = call(&node.app, "GET", "/api/v1/log", &admin, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, html) = call(&node.app, "GET", "/ui/audit?account=adm", &auditor, None).await;
    assert_eq!(html.matches("<td>adm</td>").count(), 50);
    let next = html
        .split("rel=\"next\"")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .map(|s| s.trim_end_matches("\" ").replace("&#38;", "&"))
        .unwrap();
    assert!(next.starts_with("/ui/audit?account=adm&after="), "{next}");
    let (_, html) = call(&node.app, "GET", &next, &auditor, None).await;
    // Two log reads, one refused trail read and 60 API reads: 63 rows of adm in all.
    assert_eq!(html.matches("<td>adm</td>").count(), 13, "{html}");
    assert!(!html.contains("rel=\"next\""));

    // The chain check sees the whole trail.
    let check = caravan_web::auditor::check_chain(node.store.as_ref()).unwrap();
    assert!(check.verified);
    assert!(check.rows > 60);
    stop.send(()).unwrap();
}

#[tokio::test]
async fn a_node_without_a_log_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("n.sqlite")).unwrap());
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    });
    let auditor = crate::officer(store.as_ref(), "aud", "auditor_dpo");
    let (status, body) = call(&app, "GET", "/api/v1/log", &auditor, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&body)["code"], "log_not_kept");
    let (status, html) = call(&app, "GET", "/ui/audit/log", &auditor, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("keeps no transparency log"));
}
