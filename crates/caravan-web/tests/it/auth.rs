//! Authentication, the permission table and the audit trail through the real router: who
//! gets in, what each role is refused, that refusals are audited, that a browser session
//! is issued, used, protected against cross-site forms and revoked, and that every
//! response carries the security headers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_store::Store;
use caravan_store::access::{AuditOutcome, AuditQuery, verify_audit_chain};
use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router};
use http_body_util::BodyExt;
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

async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header(header::HOST, "node.example");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

fn code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn tokens_let_in_only_their_account() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");

    let (status, _, body) = send(&n.app, get("/api/v1/me", Some(&analyst))).await;
    assert_eq!(status, StatusCode::OK);
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["account"], "a.karimov");
    assert_eq!(me["role"], "analyst");

    for (token, expected) in [
        (None, "unauthenticated"),
        (Some("cvn_not-a-real-token"), "unauthenticated"),
    ] {
        let (status, _, body) = send(&n.app, get("/api/v1/me", token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&body), expected);
    }
    let basic = Request::get("/api/v1/me")
        .header(header::AUTHORIZATION, "Basic YTpi")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&n.app, basic).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "unauthenticated");

    n.store.set_account_disabled("a.karimov", true).unwrap();
    let (status, _, _) = send(&n.app, get("/api/v1/me", Some(&analyst))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled account's token is refused"
    );
}

#[tokio::test]
async fn the_audit_trail_is_for_the_auditor_and_refusals_are_in_it() {
    let n = node();
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");
    let auditor = officer(n.store.as_ref(), "n.ismoilova", "auditor_dpo");

    let (status, _, body) = send(&n.app, get("/api/v1/audit", Some(&analyst))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "role_not_permitted");

    let (status, _, body) = send(&n.app, get("/api/v1/audit", Some(&auditor))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["chain_verified"], true);
    let rows = page["rows"].as_array().unwrap();
    let refusal = rows
        .iter()
        .find(|r| r["account"] == "a.karimov")
        .expect("the analyst's refused read is audited");
    assert_eq!(refusal["outcome"], "refused");
    assert_eq!(refusal["code"], "role_not_permitted");
    assert_eq!(refusal["action"], "audit.read");

    // The auditor's own read is audited after the page was read.
    let all = n.store.list_audit(&AuditQuery::default()).unwrap();
    verify_audit_chain(&all).unwrap();
    let last = all.last().unwrap();
    assert_eq!(last.event.account, "n.ismoilova");
    assert_eq!(last.event.outcome, AuditOutcome::Allowed);

    let (status, _, _) = send(
        &n.app,
        get("/api/v1/audit?limit=notanumber", Some(&auditor)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_browser_session_is_issued_protected_and_revoked() {
    let n = node();
    let desk = officer(n.store.as_ref(), "d.yusupova", "desk_officer");

    // Pages send an anonymous browser to the sign-in form.
    let (status, headers, _) = send(&n.app, get("/ui", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/signin");
    let (status, headers, body) = send(&n.app, get("/ui/signin", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"<label for="token">"#));
    assert!(body.contains(r#"<label for="password">"#));
    let presession = crate::security::set_cookie(&headers, "caravan_presession").unwrap();
    let csrf = crate::security::csrf_of(&body);

    let signin = |origin: &str, token: &str, csrf: &str| {
        Request::post("/ui/signin")
            .header(header::HOST, "node.example")
            .header(header::ORIGIN, origin)
            .header(header::COOKIE, presession.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}&csrf_token={csrf}")))
            .unwrap()
    };
    // Login CSRF: a form posted from another site is refused.
    let (status, _, body) = send(&n.app, signin("https://evil.example", &desk, &csrf)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "cross_origin_refused");
    // So is a same-origin post without the synchronizer token.
    let (status, _, body) = send(&n.app, signin("https://node.example", &desk, "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "csrf_token_invalid");
    // A wrong token gets the form again with an error, and is audited.
    let (status, _, body) = send(&n.app, signin("https://node.example", "cvn_wrong", &csrf)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("unknown, expired or revoked"));

    let (status, headers, _) = send(&n.app, signin("https://node.example", &desk, &csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure")
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    assert!(
        !session.contains(&desk),
        "the long-lived token never goes into a cookie"
    );
    let session_csrf = caravan_web::csrf::token_for(session.split_once('=').unwrap().1);

    let with_cookie = |method: &str, path: &str, origin: Option<&str>| {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "node.example")
            .header(header::COOKIE, session.clone());
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        if method == "POST" {
            return b
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf_token={session_csrf}")))
                .unwrap();
        }
        b.body(Body::empty()).unwrap()
    };
    let (status, _, body) = send(&n.app, with_cookie("GET", "/ui", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Officer d.yusupova") && body.contains("desk_officer"));
    assert!(
        body.contains("/ui/desk/inbox"),
        "the desk officer sees the desk"
    );
    assert!(
        !body.contains("/ui/target/worklist"),
        "but not the analysts' pages"
    );
    assert!(
        body.contains(&format!(r#"name="csrf_token" value="{session_csrf}""#)),
        "the sign-out form carries the session's token"
    );

    // A state-changing request riding on the cookie from another site is refused.
    let (status, _, body) = send(
        &n.app,
        with_cookie("POST", "/ui/signout", Some("https://evil.example")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "cross_origin_refused");
    let (status, _, body) = send(&n.app, with_cookie("POST", "/ui/signout", None)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no Origin or Referer at all is refused too"
    );
    assert_eq!(code(&body), "cross_origin_refused");

    let (status, headers, _) = send(
        &n.app,
        with_cookie("POST", "/ui/signout", Some("https://node.example")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, headers, _) = send(&n.app, with_cookie("GET", "/ui", None)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the session is revoked at sign-out"
    );
    assert_eq!(headers[header::LOCATION], "/ui/signin");
    // The token the officer signed in with still works for the API.
    let (status, _, _) = send(&n.app, get("/api/v1/me", Some(&desk))).await;
    assert_eq!(status, StatusCode::OK);

    let actions: Vec<(String, AuditOutcome)> = n
        .store
        .list_audit(&AuditQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| (r.event.action, r.event.outcome))
        .collect();
    assert!(actions.contains(&("session.signin".into(), AuditOutcome::Refused)));
    assert!(actions.contains(&("session.signin".into(), AuditOutcome::Allowed)));
    assert!(actions.contains(&("session.signout".into(), AuditOutcome::Allowed)));
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_the_api_is_described() {
    let n = node();
    let (status, headers, body) = send(&n.app, get("/api/v1/openapi.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/me"]["get"].is_object());
    let (_, headers, _) = send(&n.app, get("/api/v1/me", None)).await;
    assert_eq!(headers["x-frame-options"], "DENY", "errors carry them too");
}
