//! Partner settings: the page and API are the administrator's; other roles are refused with
//! the §13 code and the refusal is audited; a node without the exchange says it has no
//! partners; the statistics page is the supervisor's and the auditor's. (The registry
//! behind a real exchange, a status change and the fingerprints are driven in the browser
//! journey of `caravan-testkit`, which runs two nodes over mutual TLS.)

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use caravan_store::access::{AuditOutcome, AuditQuery};

use crate::officer;
use crate::security::{node, send};

fn get(path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn partner_settings_are_the_administrators() {
    let n = node();
    let admin = officer(n.store.as_ref(), "admin.uz", "administrator");
    let desk = officer(n.store.as_ref(), "desk.uz", "desk_officer");

    let (status, _, body) = send(&n.app, get("/api/v1/admin/partners", &admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["partners"], serde_json::json!([]));
    assert!(list["agreement_id"].is_null(), "{body}");
    let (status, _, body) = send(&n.app, get("/ui/admin/partners", &admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("without the exchange"), "{body}");

    for path in ["/api/v1/admin/partners", "/ui/admin/partners"] {
        let (status, _, body) = send(&n.app, get(path, &desk)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.contains("role_not_permitted"), "{path}: {body}");
    }
    let change = Request::builder()
        .method("POST")
        .uri("/api/v1/admin/partners/US-CBP/status")
        .header(header::HOST, "node.example")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"status":"suspended"}"#))
        .unwrap();
    let (status, _, body) = send(&n.app, change).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("exchange_not_configured"), "{body}");

    let refused = n
        .store
        .list_audit(&AuditQuery {
            account: Some("desk.uz".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(
        refused.iter().any(|r| r.event.action == "partner.list"
            && r.event.outcome == AuditOutcome::Refused
            && r.event.code.as_deref() == Some("role_not_permitted")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_statistics_page_is_for_those_who_read_statistics() {
    let n = node();
    let desk = officer(n.store.as_ref(), "desk.uz", "desk_officer");
    let (status, _, body) = send(&n.app, get("/ui/desk/stats", &desk)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("role_not_permitted"), "{body}");
    // A supervisor passes the role check; this node runs without the workflow.
    let supervisor = officer(n.store.as_ref(), "sup.uz", "supervisor");
    let (status, _, body) = send(&n.app, get("/ui/desk/stats", &supervisor)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("assistance_not_configured"), "{body}");
}
