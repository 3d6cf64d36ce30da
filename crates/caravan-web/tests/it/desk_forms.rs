//! The case page's upload form (`multipart/form-data`): the CSRF check finds the token among
//! the parts and refuses the upload without it or with another browser's; a body larger than
//! the upload bound is refused before any handler runs. (The reply, consent and decision
//! forms' whole journey between two nodes runs in `caravan-testkit`'s browser test.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::security::{Browser, account_with_password, csrf_of, node, send};

const PASSWORD: &str = "a long enough passphrase 42";
const BOUNDARY: &str = "----caravanTestBoundary7MA4YWxkTrZu0gW";

/// A multipart body with an evidence file and, if given, the CSRF token field.
fn upload(token: Option<&str>, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(token) = token {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"invoice.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn post(browser: &Browser, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/ui/desk/requests/REQ-1/reply")
        .header(header::HOST, "node.example")
        .header(header::ORIGIN, "https://node.example")
        .header(header::COOKIE, browser.cookies.join("; "))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn an_upload_carries_its_csrf_token_in_the_multipart_body() {
    let n = node();
    account_with_password(n.store.as_ref(), "desk.uz", "desk_officer", PASSWORD, false);
    let mut b = Browser::new();
    let form = format!("account=desk.uz&password={}", PASSWORD.replace(' ', "+"));
    let (status, _, _) = b.post(&n.app, "/ui/signin", "/ui/signin", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed in");
    let (_, home) = b.get(&n.app, "/ui").await;
    let token = csrf_of(&home);
    let pdf = b"%PDF-1.7\n% an invoice\n%%EOF\n";

    // No token, or another browser's: refused before the handler.
    for (what, presented) in [("no token", None), ("a forged token", Some("AAAA"))] {
        let (status, _, body) = send(&n.app, post(&b, upload(presented, pdf))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert!(body.contains("csrf_token_invalid"), "{what}: {body}");
    }
    // The session's token among the parts passes the check: the handler answers (this node
    // runs without the assistance workflow).
    let (status, _, body) = send(&n.app, post(&b, upload(Some(&token), pdf))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("assistance_not_configured"), "{body}");

    // An upload beyond the bound is refused whole, with its code.
    let big = vec![b'x'; caravan_web::csrf::MAX_UPLOAD_BYTES + 1];
    let (status, _, body) = send(&n.app, post(&b, upload(Some(&token), &big))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("form_too_large"), "{body}");
}
