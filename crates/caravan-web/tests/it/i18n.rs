//! The pages' languages (issue 9): the browser's `Accept-Language` before sign-in, the
//! switcher's cookie, the account's stored choice after sign-in (audited), `<html lang>`,
//! and the vendored htmx served under the CSP.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_store::access::AuditQuery;

use crate::security::{Browser, account_with_password, node, send};

fn page(path: &str, accept_language: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .uri(path)
        .header(header::HOST, "node.example");
    if let Some(value) = accept_language {
        b = b.header(header::ACCEPT_LANGUAGE, value);
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_sign_in_page_speaks_the_browsers_language() {
    let n = node();
    for (accept, tag, title, field) in [
        (None, "en", "Sign in", "Account name"),
        (Some("de, fr;q=0.8"), "en", "Sign in", "Account name"),
        (
            Some("ru-RU,ru;q=0.9,en;q=0.5"),
            "ru",
            "Вход в систему",
            "Имя учётной записи",
        ),
        (
            Some("uz, ru;q=0.5"),
            "uz-Latn",
            "Tizimga kirish",
            "Hisob nomi",
        ),
        (Some("uz-Cyrl, ru;q=0.4"), "ru", "Вход в систему", "Пароль"),
    ] {
        let (status, headers, body) = send(&n.app, page("/ui/signin", accept)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains(&format!(r#"<html lang="{tag}">"#)),
            "{accept:?}: {}",
            &body[..200]
        );
        assert!(body.contains(title) && body.contains(field), "{accept:?}");
        if tag != "en" {
            assert!(!body.contains("Account name"), "{accept:?} shows English");
        }
        let vary = headers.get(header::VARY).unwrap().to_str().unwrap();
        assert!(vary.contains("Accept-Language"), "{vary}");
    }
}

#[tokio::test]
async fn a_stranger_chooses_a_language_with_the_switcher() {
    let n = node();
    let mut b = Browser::new();
    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/signin",
            "/ui/language",
            "lang=ru&back=%2Fui%2Fsignin",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/signin");
    assert_eq!(b.cookie("caravan_lang"), Some("ru"));
    let (_, body) = b.get(&n.app, "/ui/signin").await;
    assert!(body.contains(r#"<html lang="ru">"#));
    assert!(body.contains(r#"<option value="ru" lang="ru" selected>Русский</option>"#));
    // Nobody was signed in: nothing is stored or audited.
    let rows = n
        .store
        .list_audit(&AuditQuery {
            action_prefix: Some("account.language".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(rows.is_empty());

    // A language the pages do not have, and a way back to another site, are refused.
    let (status, _, body) = b
        .post(&n.app, "/ui/signin", "/ui/language", "lang=de&back=%2Fui")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("language_unknown"));
    let (status, headers, _) = b
        .post(
            &n.app,
            "/ui/signin",
            "/ui/language",
            "lang=uz&back=%2F%2Fevil.example%2Fui",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui");
    // Without the form's CSRF token the switch is refused like any other form.
    let (status, _, _) = send(
        &n.app,
        Request::builder()
            .method("POST")
            .uri("/ui/language")
            .header(header::HOST, "node.example")
            .header(header::ORIGIN, "https://node.example")
            .header(header::COOKIE, b.cookies.join("; "))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("lang=en&back=%2Fui"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_officers_choice_is_kept_on_the_account_and_audited() {
    let n = node();
    account_with_password(
        n.store.as_ref(),
        "d.officer",
        "desk_officer",
        "correct horse battery",
        false,
    );
    let signin = "account=d.officer&password=correct+horse+battery";
    let mut b = Browser::new();
    let (status, _, _) = b.post(&n.app, "/ui/signin", "/ui/signin", signin).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, home) = b.get(&n.app, "/ui").await;
    assert!(home.contains(r#"<html lang="en">"#));
    assert!(
        home.contains("Your work") && home.contains("desk officer"),
        "{home}"
    );

    let (status, headers, _) = b
        .post(&n.app, "/ui", "/ui/language", "lang=uz&back=%2Fui")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui");
    assert_eq!(
        n.store.account_language("d.officer").unwrap().as_deref(),
        Some("uz")
    );
    let (_, home) = b.get(&n.app, "/ui").await;
    assert!(home.contains(r#"<html lang="uz-Latn">"#));
    assert!(home.contains("Sizning ishingiz"), "translated heading");
    assert!(home.contains("boʻlim xodimi"), "translated role");
    assert!(
        home.contains("Boʻlim: kiruvchi soʻrovlar"),
        "translated link"
    );

    let rows = n
        .store
        .list_audit(&AuditQuery {
            action_prefix: Some("account.language".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event.account, "d.officer");
    assert_eq!(rows[0].event.action, "account.language.set");
    assert!(rows[0].event.detail.contains(r#""language":"uz""#));

    // Another browser, with no cookie and a browser asking for Russian: the account's
    // choice wins once signed in.
    let mut other = Browser::new();
    other.post(&n.app, "/ui/signin", "/ui/signin", signin).await;
    let (_, home) = other.get(&n.app, "/ui").await;
    assert!(home.contains(r#"<html lang="uz-Latn">"#));

    // And Russian, for the analyst's pages too.
    b.post(&n.app, "/ui", "/ui/language", "lang=ru&back=%2Fui")
        .await;
    let (_, home) = b.get(&n.app, "/ui").await;
    assert!(home.contains(r#"<html lang="ru">"#));
    assert!(home.contains("Ваша работа") && home.contains("сотрудник отдела"));
    assert!(home.contains("Выйти"), "the nav is translated");
}

#[tokio::test]
async fn htmx_is_served_from_the_node_under_the_csp() {
    let n = node();
    let path = caravan_web::static_files::HTMX_PATH;
    let (status, headers, body) = send(&n.app, page(path, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let cache = headers[header::CACHE_CONTROL].to_str().unwrap();
    assert!(cache.contains("max-age=31536000") && cache.contains("immutable"));
    assert!(body.contains(&format!(
        "version:\"{}\"",
        caravan_web::static_files::HTMX_VERSION
    )));
    assert_eq!(send(&n.app, page("/static/htmx.js", None)).await.0, 404);

    let (_, headers, html) = send(&n.app, page("/ui/signin", None)).await;
    assert!(html.contains(&format!(r#"<script src="{path}" defer></script>"#)));
    // htmx must not add its indicator <style> or evaluate code: the CSP forbids both.
    assert!(html.contains(r#""includeIndicatorStyles":false"#));
    assert!(html.contains(r#""allowEval":false"#));
    assert!(!html.contains("<script>"), "no inline script");
    let csp = headers["content-security-policy"].to_str().unwrap();
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert_eq!(script_src.trim(), "script-src 'self'");
}
