//! Every documented API route, walked with no credentials and with each role: without a
//! token every route but the OpenAPI document answers 401, and no role ever gets a server
//! error, whatever it is allowed to do. Every page sends an anonymous browser to sign in.
//! A route added to the OpenAPI document is walked here without touching this file.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use caravan_assistance::roles::Role;
use caravan_store::Store;
use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router};
use tower::ServiceExt;

fn operations(doc: &serde_json::Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            // Path parameters get a value that names nothing stored.
            let concrete: String = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            out.push((method, concrete));
        }
    }
    out
}

fn token_for(store: &dyn Store, role: Role) -> String {
    crate::officer(store, &format!("walker-{}", role.code()), role.code())
}

fn request(method: &Method, path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::HOST, "node.example");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        b = b.header(header::CONTENT_TYPE, "application/json");
        return b.body(Body::from("{}")).unwrap();
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn every_route_refuses_strangers_and_never_fails_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("node.sqlite")).unwrap());
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("US CBP"),
        log: None,
        exchange: None,
    });
    let doc = caravan_web::openapi::document();
    let ops = operations(&doc);
    assert!(ops.len() >= 3, "the document lists the API: {ops:?}");
    let tokens: Vec<(Role, String)> = Role::ALL
        .iter()
        .map(|r| (*r, token_for(store.as_ref(), *r)))
        .collect();
    for (method, path) in &ops {
        let anonymous = app
            .clone()
            .oneshot(request(method, path, None))
            .await
            .unwrap();
        if path == "/api/v1/openapi.json" {
            assert_eq!(anonymous.status(), StatusCode::OK);
            continue;
        }
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        for (role, token) in &tokens {
            let response = app
                .clone()
                .oneshot(request(method, path, Some(token)))
                .await
                .unwrap();
            assert!(
                !response.status().is_server_error(),
                "{method} {path} as {role}: {}",
                response.status()
            );
            assert_ne!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}: a valid token is not a stranger"
            );
        }
    }
}

#[tokio::test]
async fn pages_send_a_stranger_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("node.sqlite")).unwrap());
    let app = router(AppState {
        store,
        node_name: Arc::from("US CBP"),
        log: None,
        exchange: None,
    });
    for page in [
        "/ui",
        "/ui/mirror",
        "/ui/screen/hits",
        "/ui/admin/partners",
        "/ui/desk/stats",
        "/ui/desk/directory",
        "/ui/desk/hitnohit",
        "/ui/desk/bulk",
        "/ui/desk/oral",
    ] {
        let response = app
            .clone()
            .oneshot(request(&Method::GET, page, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(response.headers()[header::LOCATION], "/ui/signin", "{page}");
    }
}
