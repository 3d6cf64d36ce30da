//! The targeting API and page through the real router: a node with the corridor's US
//! declarations, outcomes recorded for the earlier half, a model trained on them in the
//! registry; then the worklist, outcomes (new, repeated, corrected, refused) and the
//! registry as an analyst, and the refusals for strangers and roles without analytics.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_domain::declaration::validate::ValidationContext;
use caravan_ingest::format::caravan_json::write_line;
use caravan_ingest::pipeline::{Format, Mode, ingest};
use caravan_store::Store;
use caravan_store::access::AuditQuery;
use caravan_store::target::NewModel;
use caravan_store_sqlite::SqliteStore;
use caravan_target::eval::EvalConfig;
use caravan_target::features::{FeatureConfig, Protocol};
use caravan_target::gbdt::TrainConfig;
use caravan_target::retrain::{RetrainConfig, retrain};
use caravan_web::target::{OutcomeRequest, load_records, record_outcome};
use caravan_web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::officer as token;

/// A US node with the corridor ingested, half its declarations inspected (fraud where the
/// corridor planted an anomaly) and an active model; returns the uninspected LRNs too.
fn node(dir: &std::path::Path) -> (Arc<dyn Store>, Vec<String>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("node.sqlite")).unwrap());
    let corridor = caravan_corridor::generate(&caravan_corridor::CorridorConfig::with(11, 400));
    let mut lines = Vec::new();
    for d in &corridor.us {
        write_line(&mut lines, d).unwrap();
    }
    ingest(
        &*store,
        lines.as_slice(),
        Format::CaravanJson,
        &caravan_store::IngestSource {
            name: "us.jsonl".into(),
            format: "caravan-json".into(),
            provenance: caravan_domain::declaration::validate::Provenance::Local,
        },
        &ValidationContext::partner("US"),
        Mode::WholeFile,
    )
    .unwrap();
    let fraud: HashMap<&str, bool> = corridor
        .truth
        .iter()
        .flat_map(|t| {
            t.us_lrns
                .iter()
                .map(move |l| (l.as_str(), t.anomaly.is_some()))
        })
        .collect();
    let mut lrns: Vec<(String, String)> = corridor
        .us
        .iter()
        .map(|d| {
            (
                d.header.issued_at.clone().unwrap_or_default(),
                d.header.lrn.clone(),
            )
        })
        .collect();
    lrns.sort();
    let half = lrns.len() / 2;
    for (_, lrn) in &lrns[..half] {
        let request = OutcomeRequest {
            declaration: lrn.clone(),
            result: if fraud[lrn.as_str()] {
                "irregularity"
            } else {
                "no_irregularity"
            }
            .into(),
            ..OutcomeRequest::default()
        };
        record_outcome(&*store, &request, "inspector1", 1_000).unwrap();
    }
    let data = load_records(&*store).unwrap();
    assert_eq!(data.skipped, 0);
    let config = RetrainConfig {
        eval: EvalConfig {
            features: FeatureConfig::new(Protocol::LeakageControlled),
            train: TrainConfig {
                trees: 30,
                ..TrainConfig::default()
            },
            rates: vec![5.0],
        },
        holdout_share: 0.2,
        decisive_rate: 5.0,
        min_labelled: 50,
    };
    let trained = retrain(&data.records, None, &config, 1).unwrap();
    let bytes = caravan_target::model_file::encode(&trained.ranker.file);
    store
        .register_model(
            &NewModel {
                digest: [7; 32],
                bytes,
                training: "test".into(),
                evaluation: "{}".into(),
                auc: Some(trained.report.scorers[0].all.auc),
                trained_at: 5,
            },
            true,
        )
        .unwrap();
    let open = lrns[half..].iter().map(|(_, l)| l.clone()).collect();
    (store, open)
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header(header::HOST, "node.example");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

fn post(path: &str, token: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worklist_outcomes_and_models_through_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let (store, open) = node(dir.path());
    let analyst = token(&*store, "ana", "analyst");
    let desk = token(&*store, "dora", "desk_officer");
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("US CBP"),
        log: None,
        exchange: None,
    });

    // Strangers and roles without analytics are refused.
    let (status, _) = send(&app, get("/api/v1/target/worklist", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = send(&app, get("/api/v1/target/worklist", Some(&desk))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("role_not_permitted"));
    let (status, body) = send(&app, get("/api/v1/target/worklist?limit=0", Some(&analyst))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("invalid_query"));

    // The worklist: uninspected declarations only, ranked, each explained and laned.
    let (status, body) = send(&app, get("/api/v1/target/worklist?rate=10", Some(&analyst))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let w: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(w["model_version"], 1);
    let entries = w["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    let scored = w["scored"].as_u64().unwrap() as usize;
    assert_eq!(w["quotas"][0]["lane"], "red");
    assert_eq!(
        w["quotas"][0]["limit"].as_u64().unwrap() as usize,
        (scored as f64 * 0.10).round() as usize
    );
    for (n, e) in entries.iter().enumerate() {
        assert_eq!(e["rank"].as_u64().unwrap() as usize, n + 1);
        assert!(open.contains(&e["lrn"].as_str().unwrap().to_owned()), "{e}");
        assert_eq!(e["lane"], "red");
        assert!(e["missing"].is_array());
        if e["reason"] == "score" {
            assert!(!e["explanation"].as_array().unwrap().is_empty(), "{e}");
        }
    }
    let lrn = entries[0]["lrn"].as_str().unwrap().to_owned();

    // Record an outcome; a repeat is refused; a correction supersedes; bad ones refused.
    let body = format!(
        r#"{{"declaration":"{lrn}","result":"seizure","seizure":"12 kg","revenue":"1500.25","currency":"usd"}}"#
    );
    let (status, text) = send(&app, post("/api/v1/target/outcomes", &analyst, &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let o: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(o["revision"], 1);
    assert_eq!(o["revenue"], "1500.250");
    assert_eq!(o["currency"], "USD");
    assert_eq!(o["inspector"], "ana");
    let (status, text) = send(&app, post("/api/v1/target/outcomes", &analyst, &body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(text.contains("outcome_exists"));
    let fix = format!(
        r#"{{"declaration":"{lrn}","result":"irregularity","correction":true,"reason":"lab"}}"#
    );
    let (status, text) = send(&app, post("/api/v1/target/outcomes", &analyst, &fix)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert!(text.contains(r#""revision":2"#));
    for (bad, code, want) in [
        (
            format!(r#"{{"declaration":"{lrn}","result":"maybe"}}"#),
            "invalid_outcome",
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                r#"{{"declaration":"{lrn}","result":"irregularity","revenue":"-3","currency":"USD","correction":true}}"#
            ),
            "invalid_outcome",
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(r#"{{"declaration":"{lrn}","result":"irregularity","revenue":"3"}}"#),
            "invalid_outcome",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"declaration":"NO-SUCH-LRN","result":"irregularity"}"#.to_owned(),
            "declaration_not_found",
            StatusCode::NOT_FOUND,
        ),
        (
            r#"{"declaration":"x","result":"irregularity","extra":1}"#.to_owned(),
            "invalid_outcome",
            StatusCode::BAD_REQUEST,
        ),
        (
            "not json".to_owned(),
            "invalid_outcome",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, text) = send(&app, post("/api/v1/target/outcomes", &analyst, &bad)).await;
        assert_eq!(status, want, "{bad}: {text}");
        assert!(text.contains(code), "{bad}: {text}");
    }
    let (status, _) = send(&app, post("/api/v1/target/outcomes", &desk, &fix)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = store.find_declarations(&lrn).unwrap()[0].id;
    assert_eq!(store.outcome_history(id).unwrap().len(), 2);

    // The inspected declaration leaves the worklist.
    let (_, body) = send(
        &app,
        get("/api/v1/target/worklist?limit=1000", Some(&analyst)),
    )
    .await;
    let w: Value = serde_json::from_str(&body).unwrap();
    assert!((w["scored"].as_u64().unwrap() as usize) < scored);
    assert!(!body.contains(&format!("\"lrn\":\"{lrn}\"")));

    // The registry.
    let (status, body) = send(&app, get("/api/v1/target/models", Some(&analyst))).await;
    assert_eq!(status, StatusCode::OK);
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["models"][0]["status"], "active");
    assert_eq!(m["models"][0]["version"], 1);

    // The page lists the same ranking with a labelled form per row.
    let (status, html) = send(&app, get("/ui/target/worklist", Some(&analyst))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<th scope=\"col\">Lane</th>"));
    assert!(html.contains("<label for=\"result-1\">"));

    // Every view and every recorded outcome is in the audit trail.
    let audit = store.list_audit(&AuditQuery::default()).unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.event.action.as_str()).collect();
    assert!(actions.contains(&"target.worklist.view"));
    assert!(actions.contains(&"target.models.view"));
    assert!(
        actions
            .iter()
            .filter(|a| **a == "target.outcome.record")
            .count()
            >= 3
    );
}

#[tokio::test]
async fn without_an_active_model_the_worklist_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("node.sqlite")).unwrap());
    let analyst = token(&*store, "ana", "analyst");
    let app = router(AppState {
        store,
        node_name: Arc::from("US CBP"),
        log: None,
        exchange: None,
    });
    let (status, body) = send(&app, get("/api/v1/target/worklist", Some(&analyst))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("no_active_model"));
}

#[test]
fn screening_hits_become_the_declarations_signal() {
    use caravan_screen::disposition::DeclaredParty;
    use caravan_web::target::screening_signal;
    let corridor = caravan_corridor::generate(&caravan_corridor::CorridorConfig::with(3, 5));
    let ctx = ValidationContext::partner("US");
    let declaration = caravan_domain::declaration::validate::validate(&corridor.us[0], &ctx)
        .unwrap()
        .declaration;
    // The keys screening gives the declaration's parties, from the stored party rows.
    let keys: Vec<String> = caravan_store::rows::party_rows(&declaration)
        .filter_map(|row| {
            Some(
                DeclaredParty {
                    role: row.role.to_owned(),
                    name: row.name?,
                    country: row.country,
                    id_scheme: row.id_scheme.map(str::to_owned),
                    id_value: row.id_value,
                }
                .key(),
            )
        })
        .collect();
    assert!(keys.len() >= 2, "{keys:?}");
    let mut scores = HashMap::new();
    assert_eq!(screening_signal(&declaration, &scores), None);
    scores.insert("someone|else".to_owned(), 0.99);
    assert_eq!(screening_signal(&declaration, &scores), None);
    scores.insert(keys[0].clone(), 0.71);
    scores.insert(keys[1].clone(), 0.93);
    assert_eq!(screening_signal(&declaration, &scores), Some(0.93));
}
