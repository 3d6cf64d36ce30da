//! The issue's security list through the real router: password sign-in that answers an
//! unknown account and a wrong password alike, durable throttling with 429 and
//! `Retry-After`, the TOTP second factor (enrolment, replay refused), administrator-set
//! passwords changed at first sign-in, a fresh session at every sign-in (fixation), a
//! synchronizer CSRF token on every form of every template, escaping of user-supplied
//! fields, and a CSP without inline scripts.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use caravan_store::Store;
use caravan_store::access::{Account, AuditQuery};
use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub(crate) struct Node {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) app: axum::Router,
}

pub(crate) fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("node.sqlite")).unwrap());
    let app = app(&store);
    Node { dir, store, app }
}

fn app(store: &Arc<dyn Store>) -> axum::Router {
    router(AppState {
        store: store.clone(),
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    })
}

pub(crate) async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// `name=value` of a cookie the response sets.
pub(crate) fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")) && !pair.ends_with('='))
}

/// The CSRF token of the first form on a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A browser: its cookies, sent with each request from the node's own origin.
pub(crate) struct Browser {
    pub(crate) cookies: Vec<String>,
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser {
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(header::SET_COOKIE).iter() {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !value.is_empty() && !v.contains("Max-Age=0") {
                self.cookies.push(pair.to_owned());
            }
        }
    }

    fn request(&self, method: &str, path: &str, form: Option<&str>) -> Request<Body> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "node.example")
            .header(header::ORIGIN, "https://node.example");
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookies.join("; "));
        }
        match form {
            Some(form) => b
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, app: &axum::Router, path: &str) -> (StatusCode, String) {
        let (status, headers, body) = send(app, self.request("GET", path, None)).await;
        self.keep(&headers);
        (status, body)
    }

    /// Posts a form with the CSRF token of `page` (fetched first).
    pub(crate) async fn post(
        &mut self,
        app: &axum::Router,
        page: &str,
        path: &str,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let (_, html) = self.get(app, page).await;
        let form = format!("{form}&csrf_token={}", csrf_of(&html));
        let (status, headers, body) = send(app, self.request("POST", path, Some(&form))).await;
        self.keep(&headers);
        (status, headers, body)
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
    }
}

pub(crate) fn account_with_password(
    store: &dyn Store,
    name: &str,
    role: &str,
    password: &str,
    must_change: bool,
) {
    let phc = caravan_web::password::hash(password).unwrap();
    store
        .create_account_with_password(
            &Account {
                name: name.into(),
                display_name: format!("Officer {name}"),
                role: role.into(),
                disabled: false,
                created_at: 0,
            },
            &phc,
            must_change,
        )
        .unwrap();
}

fn codes(store: &dyn Store, action: &str) -> Vec<String> {
    store
        .list_audit(&AuditQuery {
            action_prefix: Some(action.into()),
            ..AuditQuery::default()
        })
        .unwrap()
        .into_iter()
        .filter(|r| r.event.action == action)
        .map(|r| r.event.code.unwrap_or_else(|| "allowed".into()))
        .collect()
}

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn a_password_signs_in_to_a_fresh_session_and_failures_look_alike() {
    let n = node();
    account_with_password(
        n.store.as_ref(),
        "d.yusupova",
        "desk_officer",
        PASSWORD,
        false,
    );
    let mut b = Browser::new();

    let (wrong_status, _, wrong) = b
        .post(
            &n.app,
            "/ui/signin",
            "/ui/signin",
            "account=d.yusupova&password=wrong+password+1",
        )
        .await;
    let (unknown_status, _, unknown) = b
        .post(
            &n.app,
            "/ui/signin",
            "/ui/signin",
            "account=nobody&password=wrong+password+1",
        )
        .await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    // Same page, word for word, apart from the fresh CSRF token.
    let strip = |html: &str| html.replace(&csrf_of(html), "");
    assert_eq!(strip(&wrong), strip(&unknown));
    assert!(wrong.contains("account name or password is wrong"));

    // Session fixation: a session id planted before sign-in is revoked, not reused.
    let planted = crate::officer(n.store.as_ref(), "planted", "analyst");
    n.store.revoke_account_tokens("planted", None, 0).unwrap();
    let fixed = caravan_web::auth::new_token_secret().unwrap();
    n.store
        .add_api_token(&caravan_store::access::ApiToken {
            sha256: caravan_web::auth::token_digest(&fixed),
            account: "d.yusupova".into(),
            label: caravan_web::auth::SESSION_LABEL.into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        })
        .unwrap();
    let _ = planted;
    b.cookies.push(format!("caravan_session={fixed}"));
    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/signin",
            "/ui/signin",
            &format!("account=d.yusupova&password={}", PASSWORD.replace(' ', "+")),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui");
    let session = b.cookie("caravan_session").unwrap().to_owned();
    assert_ne!(session, fixed, "a new session id at sign-in");
    let digest = caravan_web::auth::token_digest(&fixed);
    assert!(
        n.store
            .account_for_token(&digest, caravan_web::auth::now_ms())
            .unwrap()
            .is_none(),
        "the planted session is revoked"
    );
    let (status, body) = b.get(&n.app, "/ui").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Officer d.yusupova"));
    // Signing in again issues yet another id and ends the previous one.
    b.post(
        &n.app,
        "/ui/signin",
        "/ui/signin",
        &format!("account=d.yusupova&password={}", PASSWORD.replace(' ', "+")),
    )
    .await;
    let again = b.cookie("caravan_session").unwrap().to_owned();
    assert_ne!(again, session);
    let old = caravan_web::auth::token_digest(&session);
    assert!(
        n.store
            .account_for_token(&old, caravan_web::auth::now_ms())
            .unwrap()
            .is_none()
    );

    let signins = codes(n.store.as_ref(), "session.signin");
    assert_eq!(
        signins,
        [
            "invalid_credentials",
            "invalid_credentials",
            "allowed",
            "allowed"
        ]
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_durably_with_retry_after() {
    let n = node();
    account_with_password(n.store.as_ref(), "a.karimov", "analyst", PASSWORD, false);
    let mut b = Browser::new();
    let wrong = "account=a.karimov&password=not+the+password";
    for i in 1..5 {
        let (status, _, _) = b.post(&n.app, "/ui/signin", "/ui/signin", wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {i} is free");
    }
    let (status, headers, body) = b.post(&n.app, "/ui/signin", "/ui/signin", wrong).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the fifth failure locks"
    );
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert!(body.contains("Try again in"));

    // Even the right password waits, and a restarted node (new router, same store)
    // remembers.
    let restarted = app(&n.store);
    let right = format!("account=a.karimov&password={}", PASSWORD.replace(' ', "+"));
    let (status, headers, _) = b.post(&restarted, "/ui/signin", "/ui/signin", &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(b.cookie("caravan_session").is_none());
    let refused = codes(n.store.as_ref(), "session.signin");
    assert_eq!(
        refused.iter().filter(|c| *c == "signin_throttled").count(),
        1
    );

    // The lock ends; a success resets the account's count.
    n.store.clear_signin_failures("account:a.karimov").unwrap();
    let (status, _, _) = b.post(&n.app, "/ui/signin", "/ui/signin", &right).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        n.store
            .signin_throttle("account:a.karimov")
            .unwrap()
            .is_none()
    );
    // The address still counts its failures (it is not reset by one account's success).
    let address = n.store.signin_throttle("address:unknown").unwrap().unwrap();
    assert_eq!(address.failures, 5);
}

#[tokio::test]
async fn an_administrator_needs_a_totp_code_and_a_code_works_once() {
    let n = node();
    account_with_password(
        n.store.as_ref(),
        "admin.uz",
        "administrator",
        PASSWORD,
        false,
    );
    let secret = b"12345678901234567890";
    let now = caravan_web::auth::now_ms();
    n.store
        .set_totp_pending("admin.uz", Some(secret), now)
        .unwrap();
    n.store.confirm_totp("admin.uz", 0, now).unwrap();
    let right = format!("account=admin.uz&password={}", PASSWORD.replace(' ', "+"));

    let mut b = Browser::new();
    let (status, headers, _) = b.post(&n.app, "/ui/signin", "/ui/signin", &right).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/signin/next");
    assert!(
        b.cookie("caravan_session").is_none(),
        "no session before the code"
    );
    assert!(b.cookie("caravan_signin").is_some());
    // The pending sign-in is no session: pages still send the browser to sign in.
    let (status, _) = b.get(&n.app, "/ui").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = b.get(&n.app, "/ui/signin/next").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"action="/ui/signin/totp""#));

    let step = caravan_web::totp::step_of(caravan_web::auth::now_ms());
    let wrong = format!(
        "{:06}",
        (caravan_web::totp::code_at_step(secret, step)
            .parse::<u32>()
            .unwrap()
            + 1)
            % 1_000_000
    );
    let (status, _, _) = b
        .post(
            &n.app,
            "/ui/signin/next",
            "/ui/signin/totp",
            &format!("code={wrong}"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let code = caravan_web::totp::code_at_step(secret, step);
    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/signin/next",
            "/ui/signin/totp",
            &format!("code={code}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the right code signs in");
    assert_eq!(headers[header::LOCATION], "/ui");
    let (status, body) = b.get(&n.app, "/ui").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("/ui/admin/accounts"));

    // The same code again, in a new sign-in within its window, is refused.
    let mut other = Browser::new();
    other.post(&n.app, "/ui/signin", "/ui/signin", &right).await;
    let (status, _, body) = other
        .post(
            &n.app,
            "/ui/signin/next",
            "/ui/signin/totp",
            &format!("code={code}"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(other.cookie("caravan_session").is_none());
    assert_eq!(
        codes(n.store.as_ref(), "session.signin.totp"),
        ["totp_invalid", "totp_replayed"]
    );

    // A token is one factor: it cannot open a browser session for this role.
    let token = caravan_web::auth::new_token_secret().unwrap();
    n.store
        .add_api_token(&caravan_store::access::ApiToken {
            sha256: caravan_web::auth::token_digest(&token),
            account: "admin.uz".into(),
            label: "cli".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        })
        .unwrap();
    let mut t = Browser::new();
    let (status, _, body) = t
        .post(
            &n.app,
            "/ui/signin",
            "/ui/signin",
            &format!("token={token}"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("second factor"));
}

#[tokio::test]
async fn an_initial_password_is_changed_and_a_required_factor_enrolled_before_the_session() {
    let n = node();
    account_with_password(
        n.store.as_ref(),
        "n.ismoilova",
        "auditor_dpo",
        "initial-from-admin",
        true,
    );
    let mut b = Browser::new();
    let (status, _, _) = b
        .post(
            &n.app,
            "/ui/signin",
            "/ui/signin",
            "account=n.ismoilova&password=initial-from-admin",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = b.get(&n.app, "/ui/signin/next").await;
    assert!(page.contains(r#"action="/ui/signin/password""#), "{page}");
    for (form, expected) in [
        ("new_password=short&confirm=short", "at least 12"),
        (
            "new_password=aaaaaaaaaaaaaa&confirm=bbbbbbbbbbbbbb",
            "differ",
        ),
        (
            "new_password=initial-from-admin&confirm=initial-from-admin",
            "other than",
        ),
    ] {
        let (status, _, body) = b
            .post(&n.app, "/ui/signin/next", "/ui/signin/password", form)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form}");
        assert!(body.contains(expected), "{form}: {body}");
    }
    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/signin/next",
            "/ui/signin/password",
            "new_password=my+own+password&confirm=my+own+password",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/ui/signin/next",
        "the auditor enrols next"
    );
    assert!(b.cookie("caravan_session").is_none());
    let (_, page) = b.get(&n.app, "/ui/signin/next").await;
    assert!(page.contains(r#"action="/ui/signin/enrol""#));
    let uri_start = page
        .find("otpauth://totp/Caravan%20UZ%20Customs:n.ismoilova?secret=")
        .expect("the Key URI is shown");
    let secret_b32 = page[uri_start..]
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let secret = caravan_web::totp::base32_decode(secret_b32).unwrap();
    assert_eq!(secret.len(), 20);
    let code = caravan_web::totp::code_at_step(
        &secret,
        caravan_web::totp::step_of(caravan_web::auth::now_ms()),
    );
    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/signin/next",
            "/ui/signin/enrol",
            &format!("code={code}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui");
    assert!(b.cookie("caravan_session").is_some());
    let c = n.store.credentials("n.ismoilova").unwrap().unwrap();
    assert!(!c.must_change && c.totp_secret.is_some() && c.totp_pending.is_none());
    assert!(caravan_web::password::verify(
        "my own password",
        c.password_phc.as_deref()
    ));
    // The key is never shown again: a new sign-in asks for a code, not an enrolment.
    let mut again = Browser::new();
    again
        .post(
            &n.app,
            "/ui/signin",
            "/ui/signin",
            "account=n.ismoilova&password=my+own+password",
        )
        .await;
    let (_, page) = again.get(&n.app, "/ui/signin/next").await;
    assert!(page.contains(r#"action="/ui/signin/totp""#) && !page.contains("otpauth://"));
}

/// Every `<form method="post">` of every template, with its action (template expressions
/// replaced by a plausible value).
fn post_forms() -> Vec<(String, String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.strip_prefix(&root).unwrap().display().to_string();
            for (i, _) in text.match_indices("<form") {
                let tag = &text[i..i + text[i..].find('>').unwrap()];
                if !tag.contains(r#"method="post""#) {
                    continue;
                }
                let end = i + text[i..].find("</form>").expect("a closed form");
                let body = text[i..end].to_owned();
                let action = tag
                    .split(r#"action=""#)
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let mut concrete = String::new();
                let mut rest = action;
                while let Some(open) = rest.find("{{") {
                    concrete.push_str(&rest[..open]);
                    concrete.push('x');
                    rest = &rest[open + rest[open..].find("}}").unwrap() + 2..];
                }
                concrete.push_str(rest);
                out.push((name.clone(), concrete, body));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_form_carries_the_token_and_is_refused_without_it() {
    let forms = post_forms();
    assert!(forms.len() >= 10, "{forms:?}");
    for (template, action, body) in &forms {
        assert!(
            body.contains("{{ crate::csrf::field()|safe }}"),
            "{template}: the form to {action} lacks the CSRF field"
        );
    }
    let n = node();
    for role in ["administrator", "desk_officer", "analyst", "supervisor"] {
        account_with_password(n.store.as_ref(), role, role, PASSWORD, false);
    }
    // Sign in without the second factor's ceremony: a session token issued directly.
    let session = caravan_web::auth::new_token_secret().unwrap();
    n.store
        .add_api_token(&caravan_store::access::ApiToken {
            sha256: caravan_web::auth::token_digest(&session),
            account: "administrator".into(),
            label: caravan_web::auth::SESSION_LABEL.into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        })
        .unwrap();
    for (template, action, _) in &forms {
        for token in [
            None,
            Some("forged"),
            Some(caravan_web::csrf::token_for("another-session").as_str()),
        ] {
            let form = match token {
                Some(t) => format!("x=1&csrf_token={t}"),
                None => "x=1".to_owned(),
            };
            let request = Request::post(action.as_str())
                .header(header::HOST, "node.example")
                .header(header::ORIGIN, "https://node.example")
                .header(
                    header::COOKIE,
                    format!("caravan_session={session}; caravan_presession=p"),
                )
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap();
            let (status, _, body) = send(&n.app, request).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{template}: POST {action} with {token:?}"
            );
            assert!(body.contains("csrf_token_invalid"), "{template}: {body}");
        }
    }
    // Without any cookie the sign-in form is refused too (login CSRF).
    let request = Request::post("/ui/signin")
        .header(header::HOST, "node.example")
        .header(header::ORIGIN, "https://node.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("account=a&password=b"))
        .unwrap();
    let (status, _, body) = send(&n.app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("csrf_token_invalid"));
    // A bearer-token client carries no ambient credential and needs no token.
    let _ = n.dir.path();
}

#[tokio::test]
async fn user_supplied_fields_are_escaped_and_the_csp_allows_no_inline_script() {
    let n = node();
    let evil = r#"<script>alert(1)</script>"#;
    n.store
        .create_account(&Account {
            name: "x.evil".into(),
            display_name: evil.into(),
            role: "analyst".into(),
            disabled: false,
            created_at: 0,
        })
        .unwrap();
    account_with_password(n.store.as_ref(), "root", "administrator", PASSWORD, false);
    let session = caravan_web::auth::new_token_secret().unwrap();
    for account in ["x.evil", "root"] {
        let s = if account == "root" {
            session.clone()
        } else {
            format!("{session}-evil")
        };
        n.store
            .add_api_token(&caravan_store::access::ApiToken {
                sha256: caravan_web::auth::token_digest(&s),
                account: account.into(),
                label: caravan_web::auth::SESSION_LABEL.into(),
                created_at: 0,
                expires_at: None,
                revoked_at: None,
            })
            .unwrap();
    }
    for (cookie, page) in [
        (format!("{session}-evil"), "/ui"),
        (session.clone(), "/ui/admin/accounts"),
    ] {
        let request = Request::get(page)
            .header(header::HOST, "node.example")
            .header(header::COOKIE, format!("caravan_session={cookie}"))
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = send(&n.app, request).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(!body.contains(evil), "{page} shows the name unescaped");
        assert!(body.contains("&#60;script&#62;alert(1)&#60;"), "{page}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self'", "no inline or eval scripts");
        assert!(!body.contains("<script>"), "{page} has no inline script");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    // Set-Cookie of every kind is HttpOnly, Secure and SameSite=Strict.
    let (_, headers, _) = send(
        &n.app,
        Request::get("/ui/signin")
            .header(header::HOST, "node.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("caravan_presession="));
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict")
    );
}
