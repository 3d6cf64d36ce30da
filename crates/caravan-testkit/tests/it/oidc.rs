//! OpenID Connect sign-in end to end (issue 9): a real node router against the test
//! identity provider over HTTPS (discovery, JWKS, token endpoint with PKCE), and the
//! subject links on every backend (migration 0017). Each way an ID token or a callback can
//! be wrong is refused with its own code, shown on the sign-in page and audited.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_store::access::{Account, AuditQuery};
use caravan_store::{Store, StoreError};
use caravan_testkit::oidc_idp::{Tamper, TestIdp};
use caravan_web::oidc::Oidc;
use tower::ServiceExt;

fn account(name: &str, role: &str) -> Account {
    Account {
        name: name.into(),
        display_name: name.into(),
        role: role.into(),
        disabled: false,
        created_at: 1_000,
    }
}

type Open<'a> = &'a dyn Fn() -> Result<Box<dyn Store>, StoreError>;

fn link_story(open: Open<'_>) {
    let store = open().unwrap();
    store
        .create_account(&account("a.karimov", "analyst"))
        .unwrap();
    store
        .create_account(&account("b.tursunov", "analyst"))
        .unwrap();
    let iss = "https://sso.customs.uz";
    assert!(store.account_for_oidc(iss, "sub-1").unwrap().is_none());
    assert!(matches!(
        store.link_oidc("nobody", iss, "sub-1", 5),
        Err(StoreError::NotFound)
    ));
    store.link_oidc("a.karimov", iss, "sub-1", 5).unwrap();
    assert_eq!(
        store.account_for_oidc(iss, "sub-1").unwrap().unwrap().name,
        "a.karimov"
    );
    // The same subject at another issuer is another identity.
    assert!(
        store
            .account_for_oidc("https://other.example", "sub-1")
            .unwrap()
            .is_none()
    );
    // Linking again moves the subject; one subject, one account.
    store.link_oidc("b.tursunov", iss, "sub-1", 6).unwrap();
    assert_eq!(
        store.account_for_oidc(iss, "sub-1").unwrap().unwrap().name,
        "b.tursunov"
    );
    // A disabled account is still found (the sign-in refuses it with its own code).
    store.set_account_disabled("b.tursunov", true).unwrap();
    drop(store);
    let reopened = open().unwrap();
    assert!(
        reopened
            .account_for_oidc(iss, "sub-1")
            .unwrap()
            .unwrap()
            .disabled
    );
}

#[test]
fn sqlite_oidc_link_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    link_story(&|| {
        caravan_store_sqlite::SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>)
    });
}

#[test]
fn postgres_oidc_link_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_oidc_link_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "oidc_links");
    link_story(&|| {
        caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name())
            .map(|s| Box::new(s) as Box<dyn Store>)
    });
}

struct Node {
    idp: TestIdp,
    store: Arc<dyn Store>,
    router: axum::Router,
}

async fn node() -> Node {
    let idp = TestIdp::start().await;
    let store: Arc<dyn Store> = Arc::new(caravan_store_sqlite::SqliteStore::in_memory().unwrap());
    store
        .create_account(&account("a.karimov", "analyst"))
        .unwrap();
    store
        .create_account(&account("admin.uz", "administrator"))
        .unwrap();
    store.create_account(&account("d.off", "analyst")).unwrap();
    store
        .link_oidc("a.karimov", &idp.issuer(), "officer-1", 1)
        .unwrap();
    store
        .link_oidc("admin.uz", &idp.issuer(), "admin-1", 1)
        .unwrap();
    store
        .link_oidc("d.off", &idp.issuer(), "gone-1", 1)
        .unwrap();
    store.set_account_disabled("d.off", true).unwrap();
    let state = caravan_web::AppState {
        store: store.clone(),
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    };
    let oidc = Arc::new(Oidc::new(idp.settings()).unwrap());
    let router = caravan_web::router_with_oidc(state, Some(oidc));
    Node { idp, store, router }
}

struct Answer {
    status: StatusCode,
    cookies: Vec<String>,
    location: Option<String>,
    body: String,
}

impl Answer {
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .filter_map(|c| c.split(';').next())
            .filter_map(|c| c.split_once('='))
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| v.to_owned())
    }
}

async fn get(router: &axum::Router, uri: &str, cookie: Option<&str>) -> Answer {
    let mut request = Request::get(uri).header(header::HOST, "node.test");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = http_body(response).await;
    Answer {
        status,
        cookies,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn http_body(response: axum::response::Response) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec()
}

/// Starts a flow as a browser: the flow cookie and the provider's URL.
async fn start(node: &Node) -> (String, String) {
    let started = get(&node.router, "/ui/oidc/start", None).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let flow = started.cookie("caravan_oidc").expect("flow cookie");
    assert!(started.cookies[0].contains("HttpOnly") && started.cookies[0].contains("SameSite=Lax"));
    (flow, started.location.expect("redirect"))
}

/// The whole flow for `subject`; the callback's answer.
async fn flow(node: &Node, subject: &str) -> Answer {
    let (flow, location) = start(node).await;
    let query = node.idp.authorize(&location, subject);
    get(
        &node.router,
        &format!("/ui/oidc/callback?{query}"),
        Some(&format!("caravan_oidc={flow}")),
    )
    .await
}

fn refused_rows(store: &dyn Store, code: &str) -> usize {
    store
        .list_audit(&AuditQuery {
            action_prefix: Some("session.signin".into()),
            ..AuditQuery::default()
        })
        .unwrap()
        .iter()
        .filter(|r| r.event.code.as_deref() == Some(code))
        .count()
}

#[tokio::test]
async fn a_linked_officer_signs_in_with_the_local_role() {
    let node = node().await;
    let page = get(&node.router, "/ui/signin", None).await;
    assert!(page.body.contains("Sign in with Test IdP"), "{}", page.body);
    assert!(page.body.contains("href=\"/ui/oidc/start\""));
    let done = flow(&node, "officer-1").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("url=/ui\""));
    let session = done.cookie("caravan_session").expect("session cookie");
    assert!(done.cookies.iter().any(|c| c.starts_with("caravan_oidc=;")));
    let me = get(
        &node.router,
        "/api/v1/me",
        Some(&format!("caravan_session={session}")),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["account"], "a.karimov");
    assert_eq!(me["role"], "analyst");
    let rows = node
        .store
        .list_audit(&AuditQuery {
            account: Some("a.karimov".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    let signin = rows
        .iter()
        .find(|r| r.event.action == "session.signin")
        .expect("audited sign-in");
    assert!(signin.event.detail.contains("\"factor\":\"oidc\""));
    assert!(signin.event.detail.contains("officer-1"));
    assert_eq!(node.idp.tokens_issued(), 1);
}

#[tokio::test]
async fn the_flow_is_single_use() {
    let node = node().await;
    let (flow, location) = start(&node).await;
    let query = node.idp.authorize(&location, "officer-1");
    let uri = format!("/ui/oidc/callback?{query}");
    let cookie = format!("caravan_oidc={flow}");
    assert_eq!(
        get(&node.router, &uri, Some(&cookie)).await.status,
        StatusCode::OK
    );
    let again = get(&node.router, &uri, Some(&cookie)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("oidc_flow_expired"));
    // Without the cookie (another browser) there is no flow either.
    let (_, location) = start(&node).await;
    let query = node.idp.authorize(&location, "officer-1");
    let other = get(&node.router, &format!("/ui/oidc/callback?{query}"), None).await;
    assert!(other.body.contains("oidc_flow_expired"));
    assert_eq!(refused_rows(node.store.as_ref(), "oidc_flow_expired"), 2);
}

#[tokio::test]
async fn an_administrator_still_proves_totp_unless_the_provider_did_mfa() {
    let node = node().await;
    let pending = flow(&node, "admin-1").await;
    assert_eq!(pending.status, StatusCode::OK);
    assert!(pending.body.contains("url=/ui/signin/next"));
    assert!(pending.cookie("caravan_session").is_none());
    let signin = pending.cookie("caravan_signin").expect("pending sign-in");
    let next = get(
        &node.router,
        "/ui/signin/next",
        Some(&format!("caravan_signin={signin}")),
    )
    .await;
    assert_eq!(next.status, StatusCode::OK);
    assert!(next.body.contains("name=\"code\""), "{}", next.body);
    node.idp.tamper(Tamper::Mfa);
    let done = flow(&node, "admin-1").await;
    assert!(done.cookie("caravan_session").is_some(), "{}", done.body);
}

async fn refused(tamper: Tamper, code: &str, status: StatusCode) {
    let node = node().await;
    node.idp.tamper(tamper);
    let answer = flow(&node, "officer-1").await;
    assert_eq!(answer.status, status, "{}", answer.body);
    assert!(answer.body.contains(code), "{code}: {}", answer.body);
    assert!(answer.body.contains("role=\"alert\""));
    assert!(answer.cookie("caravan_session").is_none());
    assert_eq!(refused_rows(node.store.as_ref(), code), 1, "{code} audited");
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    refused(
        Tamper::OtherKey,
        "oidc_bad_signature",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    refused(
        Tamper::WrongAudience,
        "oidc_wrong_audience",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    refused(
        Tamper::WrongIssuer,
        "oidc_wrong_issuer",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    refused(
        Tamper::Expired,
        "oidc_token_expired",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_nonce_mismatch_is_refused() {
    refused(
        Tamper::WrongNonce,
        "oidc_nonce_mismatch",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn alg_none_is_refused() {
    refused(
        Tamper::AlgNone,
        "oidc_alg_refused",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn hs256_with_the_client_secret_is_refused() {
    refused(Tamper::Hs256, "oidc_alg_refused", StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_unknown_kid_is_refused_after_one_jwks_refetch() {
    refused(
        Tamper::UnknownKid,
        "oidc_unknown_kid",
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_state_mismatch_is_refused() {
    let node = node().await;
    let (flow, location) = start(&node).await;
    let query = node.idp.authorize(&location, "officer-1");
    let code = query.split('&').next().unwrap();
    let answer = get(
        &node.router,
        &format!("/ui/oidc/callback?{code}&state=forged"),
        Some(&format!("caravan_oidc={flow}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body.contains("oidc_state_mismatch"));
    assert_eq!(refused_rows(node.store.as_ref(), "oidc_state_mismatch"), 1);
    assert_eq!(
        node.idp.tokens_issued(),
        0,
        "no code exchanged on a bad state"
    );
}

#[tokio::test]
async fn an_unlinked_subject_is_refused() {
    let node = node().await;
    let answer = flow(&node, "stranger-9").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("oidc_unlinked_subject"));
    assert_eq!(
        refused_rows(node.store.as_ref(), "oidc_unlinked_subject"),
        1
    );
}

#[tokio::test]
async fn a_disabled_account_is_refused() {
    let node = node().await;
    let answer = flow(&node, "gone-1").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("oidc_account_disabled"));
    assert_eq!(
        refused_rows(node.store.as_ref(), "oidc_account_disabled"),
        1
    );
}

#[tokio::test]
async fn without_oidc_there_is_no_button_and_no_flow() {
    let store: Arc<dyn Store> = Arc::new(caravan_store_sqlite::SqliteStore::in_memory().unwrap());
    let router = caravan_web::router(caravan_web::AppState {
        store,
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    });
    let page = get(&router, "/ui/signin", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("/ui/oidc/start"));
    let start = get(&router, "/ui/oidc/start", None).await;
    assert_eq!(start.status, StatusCode::NOT_FOUND);
    assert!(start.body.contains("oidc_not_configured"));
}

#[tokio::test]
async fn a_provider_that_does_not_answer_is_named_not_hidden() {
    let idp = TestIdp::start().await;
    // A port nobody listens on, with the provider's CA.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = idp.settings();
    settings.issuer = format!("https://127.0.0.1:{port}");
    let store: Arc<dyn Store> = Arc::new(caravan_store_sqlite::SqliteStore::in_memory().unwrap());
    let router = caravan_web::router_with_oidc(
        caravan_web::AppState {
            store,
            node_name: Arc::from("UZ Customs"),
            log: None,
            exchange: None,
        },
        Some(Arc::new(Oidc::new(settings).unwrap())),
    );
    let start = get(&router, "/ui/oidc/start", None).await;
    assert_eq!(start.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(start.body.contains("oidc_provider_unavailable"));
    assert!(start.cookie("caravan_oidc").is_none());
}

#[tokio::test]
async fn a_provider_error_is_refused_with_its_code() {
    let node = node().await;
    let (flow, location) = start(&node).await;
    let query = node.idp.authorize(&location, "officer-1");
    let state = query.split('&').nth(1).unwrap();
    let answer = get(
        &node.router,
        &format!("/ui/oidc/callback?error=access_denied&{state}"),
        Some(&format!("caravan_oidc={flow}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body.contains("oidc_provider_error"));
    assert_eq!(refused_rows(node.store.as_ref(), "oidc_provider_error"), 1);
    assert_eq!(node.idp.tokens_issued(), 0);
}
