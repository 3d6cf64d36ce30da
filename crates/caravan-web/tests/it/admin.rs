//! The administrator's accounts API and page: only the administrator gets in; accounts are
//! created with a one-time initial password or token; a role change or a disable revokes
//! the account's browser sessions; the last administrator cannot be removed; TOTP and
//! password resets; every change is audited.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_store::access::{ApiToken, AuditQuery};
use caravan_web::auth::{SESSION_LABEL, new_token_secret, now_ms, token_digest};

use crate::officer;
use crate::security::{Browser, account_with_password, node, send};

fn api(method: &str, path: &str, token: &str, body: Option<&str>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(json) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_owned()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_default()
}

#[tokio::test]
async fn the_accounts_api_is_the_administrators_and_keeps_one() {
    let n = node();
    let admin = officer(n.store.as_ref(), "admin.uz", "administrator");
    let analyst = officer(n.store.as_ref(), "a.karimov", "analyst");

    for (method, path, body) in [
        ("GET", "/api/v1/admin/accounts", None),
        (
            "POST",
            "/api/v1/admin/accounts",
            Some(r#"{"name":"x","role":"analyst"}"#),
        ),
        (
            "POST",
            "/api/v1/admin/accounts/admin.uz",
            Some(r#"{"disabled":true}"#),
        ),
        ("POST", "/api/v1/admin/accounts/admin.uz/totp/reset", None),
        (
            "POST",
            "/api/v1/admin/accounts/admin.uz/password/reset",
            None,
        ),
        (
            "POST",
            "/api/v1/admin/accounts/admin.uz/sessions/revoke",
            None,
        ),
    ] {
        let (status, _, body) = send(&n.app, api(method, path, &analyst, body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(json(&body)["code"], "role_not_permitted");
    }

    // Create with an initial password (the default) and with a token.
    let (status, _, body) = send(
        &n.app,
        api(
            "POST",
            "/api/v1/admin/accounts",
            &admin,
            Some(
                r#"{"name":"d.yusupova","display_name":"Dilnoza Yusupova","role":"desk_officer"}"#,
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = json(&body);
    let initial = created["initial_password"].as_str().unwrap().to_owned();
    assert!(initial.len() >= 16 && created.get("token").is_none());
    let c = n.store.credentials("d.yusupova").unwrap().unwrap();
    assert!(c.must_change);
    assert!(caravan_web::password::verify(
        &initial,
        c.password_phc.as_deref()
    ));
    let (status, _, body) = send(
        &n.app,
        api(
            "POST",
            "/api/v1/admin/accounts",
            &admin,
            Some(r#"{"name":"svc.bot","role":"analyst","credential":"token"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = json(&body)["token"].as_str().unwrap().to_owned();
    let (status, _, _) = send(&n.app, api("GET", "/api/v1/me", &token, None)).await;
    assert_eq!(status, StatusCode::OK);

    for (body, code, status) in [
        (
            r#"{"name":"d.yusupova","role":"analyst"}"#,
            "account_exists",
            StatusCode::CONFLICT,
        ),
        (
            r#"{"name":"bad name","role":"analyst"}"#,
            "account_name_invalid",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"name":"ok","role":"king"}"#,
            "unknown_role",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"name":"ok","role":"analyst","credential":"sms"}"#,
            "credential_invalid",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"name":"ok","role":"analyst","display_name":"a\u0007b"}"#,
            "display_name_invalid",
            StatusCode::BAD_REQUEST,
        ),
        ("[1,2]", "invalid_body", StatusCode::BAD_REQUEST),
    ] {
        let (got, _, answer) = send(
            &n.app,
            api("POST", "/api/v1/admin/accounts", &admin, Some(body)),
        )
        .await;
        assert_eq!(
            (got, json(&answer)["code"].as_str().unwrap_or_default()),
            (status, code),
            "{body}"
        );
    }

    // The list shows credential state, never a secret.
    let (status, _, body) = send(&n.app, api("GET", "/api/v1/admin/accounts", &admin, None)).await;
    assert_eq!(status, StatusCode::OK);
    let list = json(&body);
    let d = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "d.yusupova")
        .unwrap();
    assert_eq!(d["must_change_password"], true);
    assert!(!body.contains(&initial) && !body.contains("argon2"));

    // A role change revokes the account's browser sessions, not its API tokens.
    let session = new_token_secret().unwrap();
    n.store
        .add_api_token(&ApiToken {
            sha256: token_digest(&session),
            account: "svc.bot".into(),
            label: SESSION_LABEL.into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        })
        .unwrap();
    let (status, _, body) = send(
        &n.app,
        api(
            "POST",
            "/api/v1/admin/accounts/svc.bot",
            &admin,
            Some(r#"{"role":"supervisor"}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["sessions_revoked"], 1);
    assert!(
        n.store
            .account_for_token(&token_digest(&session), now_ms())
            .unwrap()
            .is_none()
    );
    let (_, _, me) = send(&n.app, api("GET", "/api/v1/me", &token, None)).await;
    assert_eq!(json(&me)["role"], "supervisor");

    // The last administrator cannot demote or disable themself.
    for change in [r#"{"role":"analyst"}"#, r#"{"disabled":true}"#] {
        let (status, _, body) = send(
            &n.app,
            api(
                "POST",
                "/api/v1/admin/accounts/admin.uz",
                &admin,
                Some(change),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{change}");
        assert_eq!(json(&body)["code"], "last_administrator");
    }
    for (path, body, status) in [
        (
            "/api/v1/admin/accounts/nobody",
            Some(r#"{"disabled":true}"#),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/admin/accounts/svc.bot",
            Some("{}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/admin/accounts/nobody/totp/reset",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/admin/accounts/nobody/password/reset",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/admin/accounts/nobody/sessions/revoke",
            None,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, _, _) = send(&n.app, api("POST", path, &admin, body)).await;
        assert_eq!(got, status, "{path}");
    }
    // Disable: the account's token stops working.
    let (status, _, _) = send(
        &n.app,
        api(
            "POST",
            "/api/v1/admin/accounts/svc.bot",
            &admin,
            Some(r#"{"disabled":true}"#),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&n.app, api("GET", "/api/v1/me", &token, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Password reset: a new initial password, to be changed.
    let (status, _, body) = send(
        &n.app,
        api(
            "POST",
            "/api/v1/admin/accounts/d.yusupova/password/reset",
            &admin,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = json(&body)["initial_password"].as_str().unwrap().to_owned();
    assert_ne!(fresh, initial);
    let c = n.store.credentials("d.yusupova").unwrap().unwrap();
    assert!(c.must_change && caravan_web::password::verify(&fresh, c.password_phc.as_deref()));
    // TOTP reset.
    n.store
        .set_totp_pending("d.yusupova", Some(&[1; 20]), 0)
        .unwrap();
    n.store.confirm_totp("d.yusupova", 0, 0).unwrap();
    let (status, _, _) = send(
        &n.app,
        api(
            "POST",
            "/api/v1/admin/accounts/d.yusupova/totp/reset",
            &admin,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        n.store
            .credentials("d.yusupova")
            .unwrap()
            .unwrap()
            .totp_secret
            .is_none()
    );

    let audit: Vec<(String, String)> = n
        .store
        .list_audit(&AuditQuery {
            action_prefix: Some("account.".into()),
            ..AuditQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| (r.event.action, r.event.code.unwrap_or_default()))
        .collect();
    for expected in [
        ("account.create", ""),
        ("account.create", "role_not_permitted"),
        ("account.change", "last_administrator"),
        ("account.change", ""),
        ("account.password.reset", ""),
        ("account.totp.reset", ""),
    ] {
        assert!(
            audit.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {audit:?}"
        );
    }
}

#[tokio::test]
async fn the_accounts_page_creates_shows_the_secret_once_and_changes_roles() {
    let n = node();
    account_with_password(
        n.store.as_ref(),
        "root",
        "desk_officer",
        "correct horse battery",
        false,
    );
    let mut b = Browser::new();
    b.post(
        &n.app,
        "/ui/signin",
        "/ui/signin",
        "account=root&password=correct+horse+battery",
    )
    .await;
    let (status, _) = b.get(&n.app, "/ui/admin/accounts").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a desk officer is not an administrator"
    );

    // Promote root through the store (as `caravan account` would) and sign in again:
    // an administrator must enrol a second factor first.
    n.store
        .change_account(
            "root",
            &caravan_store::access::AccountChange {
                role: Some("administrator".into()),
                disabled: None,
            },
        )
        .unwrap();
    let secret = [5u8; 20];
    n.store.set_totp_pending("root", Some(&secret), 0).unwrap();
    n.store.confirm_totp("root", 0, 0).unwrap();
    let mut b = Browser::new();
    b.post(
        &n.app,
        "/ui/signin",
        "/ui/signin",
        "account=root&password=correct+horse+battery",
    )
    .await;
    let code = caravan_web::totp::code_at_step(&secret, caravan_web::totp::step_of(now_ms()));
    b.post(
        &n.app,
        "/ui/signin/next",
        "/ui/signin/totp",
        &format!("code={code}"),
    )
    .await;
    let (status, page) = b.get(&n.app, "/ui/admin/accounts").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"<th scope="row">root</th>"#));

    let (status, _, page) = b
        .post(
            &n.app,
            "/ui/admin/accounts",
            "/ui/admin/accounts",
            "name=j.miller&display_name=Jane+Miller&role=analyst&credential=password",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(page.contains("shown once"));
    let c = n.store.credentials("j.miller").unwrap().unwrap();
    let shown = page
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    assert!(caravan_web::password::verify(
        shown,
        c.password_phc.as_deref()
    ));
    let (_, page) = b.get(&n.app, "/ui/admin/accounts").await;
    assert!(!page.contains(shown), "the initial password is shown once");

    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/admin/accounts",
            "/ui/admin/accounts/j.miller/role",
            "role=supervisor",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/admin/accounts");
    assert_eq!(
        n.store.account("j.miller").unwrap().unwrap().role,
        "supervisor"
    );
    let (status, _, page) = b
        .post(
            &n.app,
            "/ui/admin/accounts",
            "/ui/admin/accounts/root/disable",
            "",
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("last_administrator"));
    let (status, _, _) = b
        .post(
            &n.app,
            "/ui/admin/accounts",
            "/ui/admin/accounts/j.miller/explode",
            "",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
