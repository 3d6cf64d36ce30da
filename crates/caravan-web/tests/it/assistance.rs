//! The mutual-assistance API and desk pages through the real router: a US node whose
//! workflow is registered, a UZ node joined to it by hand (loopback), officers with tokens;
//! the refusals of the issue answered with their codes, and the case visible on the pages.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use caravan_assistance::agreement::{AgreementState, US_UZ_CMAA_2024};
use caravan_assistance::lifecycle::Event;
use caravan_assistance_node::crypto::EvidenceKey;
use caravan_assistance_node::runtime;
use caravan_assistance_node::service::{AssistanceNode, NodeConfig, today};
use caravan_assistance_node::story::{self, Officials};
use caravan_store::Store;
use caravan_store::access::{AuditOutcome, AuditQuery};
use caravan_store_sqlite::SqliteStore;
use caravan_web::auth::now_ms;
use caravan_web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::officer as token;

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let request = match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn nodes() -> (Arc<AssistanceNode>, AssistanceNode) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let us = Arc::new(AssistanceNode::new(
        store,
        None,
        NodeConfig::us_uz(true),
        EvidenceKey::from_bytes(&[3; 32]),
        tempfile::tempdir().expect("evidence dir").keep(),
    ));
    let uz = AssistanceNode::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        None,
        NodeConfig::us_uz(false),
        EvidenceKey::from_bytes(&[4; 32]),
        tempfile::tempdir().expect("evidence dir").keep(),
    );
    let now = now_ms();
    for n in [us.as_ref(), &uz] {
        n.install_agreement(US_UZ_CMAA_2024, now).unwrap();
    }
    (us, uz)
}

/// Registers the US workflow and builds the US node's router over its store.
pub(crate) fn us_app(us: &Arc<AssistanceNode>) -> (Arc<dyn Store>, axum::Router) {
    runtime::register(us.clone());
    let store = us.store().clone();
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("US CBP"),
        log: None,
        exchange: None,
    });
    (store, app)
}

pub(crate) fn in_force(node: &AssistanceNode, party: &str) {
    let o = Officials::of(party);
    let now = now_ms();
    node.set_agreement_status(
        AgreementState::InForce,
        today(now),
        "note",
        [&o.admin, &o.supervisor],
        now,
    )
    .unwrap();
}

/// The request reaches UZ, whose desk acknowledges it and supervisor accepts it.
fn uz_accepts(us: &AssistanceNode, uz: &AssistanceNode, id: &str, now: i64) {
    carry(us, uz);
    let uzx = Officials::of("UZ");
    uz.act(
        &uzx.desk,
        None,
        id,
        Event::Acknowledge,
        "request.acknowledge",
        now,
    )
    .unwrap();
    uz.act(
        &uzx.supervisor,
        None,
        id,
        Event::Accept,
        "request.accept",
        now,
    )
    .unwrap();
}

fn carry(from: &AssistanceNode, to: &AssistanceNode) {
    let now = now_ms();
    for m in from.take_queued(now).unwrap() {
        to.receive(&m, now).unwrap();
    }
}

#[tokio::test]
async fn requests_over_the_api_and_the_desk_pages() {
    let (us, uz) = nodes();
    let (store, app) = us_app(&us);
    let desk = token(store.as_ref(), "us.desk", "desk_officer");
    let analyst = token(store.as_ref(), "us.analyst", "analyst");
    let investigator = token(store.as_ref(), "us.investigator", "investigator");
    let dpo = token(store.as_ref(), "us.dpo", "auditor_dpo");

    let (status, _, _) = call(&app, "GET", "/api/v1/requests", None, None).await;
    assert_eq!(status, 401);

    let full = json!({ "desk": "us-cbp-ilo-desk", "request": serde_json::to_value(story::origin_and_value_request()).unwrap() });
    // Not in force yet.
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/requests",
        Some(&desk),
        Some(full.clone()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("agreement_not_in_force"))
    );
    in_force(&us, "US");
    in_force(&uz, "UZ");
    // Incomplete: every gap listed at once.
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/requests",
        Some(&desk),
        Some(json!({ "desk": "us-cbp-ilo-desk", "request": { "subject": "x", "types": ["R02"] } })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("request_incomplete"))
    );
    let message = body["message"].as_str().unwrap();
    for field in [
        "requesting_contact_point",
        "case_statement",
        "persons",
        "hs_codes (for R02)",
    ] {
        assert!(message.contains(field), "{message}");
    }
    // Malformed input is a 4xx, never a 5xx.
    let (status, _, _) = call(
        &app,
        "POST",
        "/api/v1/requests",
        Some(&desk),
        Some(json!({ "request": 7 })),
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
    // A role outside its rights.
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/requests",
        Some(&analyst),
        Some(full.clone()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted"))
    );

    let (status, body, _) = call(&app, "POST", "/api/v1/requests", Some(&desk), Some(full)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["case_id"].as_str().unwrap().to_owned();
    let (status, body, _) = call(
        &app,
        "POST",
        &format!("/api/v1/requests/{id}/transitions"),
        Some(&desk),
        Some(json!({ "event": { "event": "submit" } })),
    )
    .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("sent")));
    // The same move again is not allowed.
    let (status, body, _) = call(
        &app,
        "POST",
        &format!("/api/v1/requests/{id}/transitions"),
        Some(&desk),
        Some(json!({ "event": { "event": "submit" } })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("transition_not_allowed"))
    );

    // UZ receives, acknowledges, accepts, replies with evidence.
    let uzx = Officials::of("UZ");
    let now = now_ms();
    uz_accepts(&us, &uz, &id, now);
    uz.reply(
        &uzx.desk,
        Some(&uzx.supervisor),
        &id,
        story::reply_evidence(),
        None,
        now,
    )
    .unwrap();
    carry(&uz, &us);

    let (status, body, _) = call(
        &app,
        "GET",
        &format!("/api/v1/requests/{id}"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("answered")));
    assert_eq!(body["evidence"].as_array().unwrap().len(), 2);
    let (status, body, _) = call(
        &app,
        "GET",
        &format!("/api/v1/requests/{id}/evidence"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let ev = body["evidence"][0]["evidence_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(body["evidence"][0]["form"], "certified_copy");
    // Court use without consent is refused; an administrative view is allowed.
    let court = format!(
        "/api/v1/requests/{id}/evidence/{ev}/content?purpose=CRIMINAL&action=present_in_proceedings&recipient=court&recipient_name=CIT"
    );
    let (status, body, _) = call(&app, "GET", &court, Some(&investigator), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("consent_required"))
    );
    let view = format!("/api/v1/requests/{id}/evidence/{ev}/content?purpose=ADMIN&action=view");
    let (status, _, text) = call(&app, "GET", &view, Some(&desk), None).await;
    assert_eq!(status, 200);
    assert!(text.contains("Export declaration UZ EX 2026/004711"));
    // The partner's file is downloaded, never rendered as a page of the node's origin.
    let response = app
        .clone()
        .oneshot(
            Request::get(&view)
                .header(header::AUTHORIZATION, format!("Bearer {desk}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(
        headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
        format!("attachment; filename=\"evidence-{ev}\"")
    );
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap(),
        "sandbox; default-src 'none'"
    );
    let (status, body, _) = call(&app, "GET", &view, Some(&dpo), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("metadata_only"))
    );
    // Consent asked through the API.
    let (status, body, _) = call(&app, "POST", "/api/v1/consents", Some(&investigator), Some(json!({
        "case_id": id, "items": [ev], "purpose": "CRIMINAL",
        "recipient": { "class": "court", "name": "CIT" },
        "justification": "criminal case", "proceedings_reference": "CIT 26-1", "needed_by": "2099-01-01"
    }))).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (201, Some("requested")),
        "{body}"
    );
    let (status, body, _) = call(
        &app,
        "GET",
        &format!("/api/v1/consents?case_id={id}"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(
        (status, body["consents"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    for path in [
        "/api/v1/agreements",
        "/api/v1/overdue",
        &format!("/api/v1/requests/{id}/transitions"),
    ] {
        let (status, _, text) = call(&app, "GET", path, Some(&desk), None).await;
        assert_eq!(status, 200, "{path}: {text}");
    }
    let (status, body, _) = call(
        &app,
        "GET",
        "/api/v1/overdue?on=not-a-date",
        Some(&desk),
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("date_invalid")));
    let (status, body, _) = call(&app, "GET", "/api/v1/stats", Some(&desk), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted"))
    );
    let (status, _, text) = call(&app, "GET", "/api/v1/stats?format=csv", Some(&dpo), None).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("metric,key,value\n"), "{text}");

    // The pages.
    for path in [
        "/ui/desk/inbox",
        &format!("/ui/desk/requests/{id}"),
        "/ui/desk/overdue",
        "/ui/desk/requests/new",
    ] {
        let (status, _, html) = call(&app, "GET", path, Some(&desk), None).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("<main"), "{path}");
        if path.contains("/requests/REQ") {
            assert!(
                html.contains("TLP:AMBER PAP:AMBER"),
                "markings shown on the case page"
            );
            assert!(html.contains("certified_copy"));
            assert!(html.contains(&id));
        }
    }
    let (status, _, html) = call(&app, "GET", "/ui/desk/inbox", Some(&desk), None).await;
    assert_eq!(status, 200);
    assert!(html.contains(&id));

    // Every refusal above is in the audit trail with its code.
    let trail = store.list_audit(&AuditQuery::default()).unwrap();
    for code in [
        "agreement_not_in_force",
        "request_incomplete",
        "role_not_permitted",
        "transition_not_allowed",
        "consent_required",
        "metadata_only",
    ] {
        assert!(
            trail
                .iter()
                .any(|r| r.event.outcome == AuditOutcome::Refused
                    && r.event.code.as_deref() == Some(code)),
            "{code} not audited"
        );
    }

    // The download streams with its length announced; one flipped byte of the file at
    // rest is refused before the response starts (500, no content, no custody event).
    let response = app
        .clone()
        .oneshot(
            Request::get(&view)
                .header(header::AUTHORIZATION, format!("Bearer {desk}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let length: usize = response.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes.len(), length);
    let path = us.vault().path_of(&ev).unwrap();
    let mut at_rest = std::fs::read(&path).unwrap();
    let last = at_rest.len() - 1;
    at_rest[last] ^= 1;
    std::fs::write(&path, &at_rest).unwrap();
    let custody = store.custody_rows(&ev).unwrap().len();
    let (status, body, text) = call(&app, "GET", &view, Some(&desk), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (500, Some("evidence_at_rest_corrupt"))
    );
    assert!(!text.contains("Export declaration"));
    assert_eq!(store.custody_rows(&ev).unwrap().len(), custody);
}

/// Issue 5 part B through the API: the two-person rule (propose, the same account cannot
/// approve, a second account of the other role can, and the agreement moves), an urgent oral
/// request, and the retention and disclosure routes' refusals; the agreement page lists the
/// proposals.
#[tokio::test]
async fn the_two_person_rule_and_the_desks_procedures_over_the_api() {
    let (us, _uz) = nodes();
    let (store, app) = us_app(&us);
    let admin = token(store.as_ref(), "us.admin", "administrator");
    let admin2 = token(store.as_ref(), "us.admin2", "administrator");
    let supervisor = token(store.as_ref(), "us.supervisor", "supervisor");
    let desk = token(store.as_ref(), "us.desk", "desk_officer");
    let dpo = token(store.as_ref(), "us.dpo", "auditor_dpo");

    let change = json!({ "change": { "kind": "status", "to": "in_force",
        "effective": today(now_ms()).to_string(), "legal_act": "Diplomatic note No. 17" } });
    // A desk officer holds no two-person right.
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/proposals",
        Some(&desk),
        Some(change.clone()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted"))
    );
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/proposals",
        Some(&admin),
        Some(change.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["proposal_id"].as_str().unwrap().to_owned();
    // One pending proposal of a kind at a time.
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/proposals",
        Some(&supervisor),
        Some(change),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("proposal_pending_exists"))
    );
    let (status, body, _) = call(
        &app,
        "GET",
        "/api/v1/proposals?state=pending",
        Some(&supervisor),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["proposals"].as_array().unwrap().len(), 1);
    let decide = format!("/api/v1/proposals/{id}/decision");
    let approve = json!({ "decision": "approve" });
    let (status, body, _) = call(&app, "POST", &decide, Some(&admin), Some(approve.clone())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("two_person_same_account"))
    );
    let (status, body, _) = call(&app, "POST", &decide, Some(&admin2), Some(approve.clone())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("two_person_wrong_roles"))
    );
    assert_eq!(us.agreement().unwrap().status.state, AgreementState::Signed);
    let (status, body, _) = call(
        &app,
        "POST",
        &decide,
        Some(&supervisor),
        Some(approve.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["proposal"]["state"], "approved");
    assert_eq!(body["agreement"]["status"]["state"], "in_force");
    let (status, body, _) = call(&app, "POST", &decide, Some(&supervisor), Some(approve)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("proposal_not_pending"))
    );
    // Both accounts are in the audit trail with the change.
    let trail = store.list_audit(&AuditQuery::default()).unwrap();
    for account in ["us.admin", "us.supervisor"] {
        assert!(trail.iter().any(|r| r.event.action == "agreement.status"
            && r.event.account == account
            && r.event.outcome == AuditOutcome::Allowed));
    }
    assert!(trail.iter().any(|r| r.event.action == "agreement.approve"
        && r.event.account == "us.admin"
        && r.event.code.as_deref() == Some("two_person_same_account")));

    // The page lists it and offers the forms.
    let (status, _, html) = call(&app, "GET", "/ui/desk/agreement", Some(&supervisor), None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&id)
            && html.contains("approved")
            && html.contains("<label for=\"legal_act\">")
    );

    // An urgent oral request (the agreement is now in force).
    let oral = json!({ "caller": "UZ duty officer, +998 71 555 0101", "summary": "Container MSCU1234565",
        "types": ["R01"], "justification": "Vessel leaves tomorrow",
        "reply_by": (today(now_ms()) + chrono::Days::new(3)).to_string() });
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/requests/oral",
        Some(&desk),
        Some(oral.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["state"], "oral_pending_confirmation");
    let case_id = body["case_id"].as_str().unwrap().to_owned();
    let mut not_urgent = oral;
    not_urgent["justification"] = json!(" ");
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/requests/oral",
        Some(&desk),
        Some(not_urgent),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("oral_request_not_urgent"))
    );
    let (status, body, _) = call(
        &app,
        "GET",
        &format!("/api/v1/requests/{case_id}"),
        Some(&supervisor),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["oral"]["confirm_due"].is_string());
    assert_eq!(body["oral"]["confirmed"], false);
    let (status, _, html) = call(
        &app,
        "GET",
        &format!("/ui/desk/requests/{case_id}"),
        Some(&supervisor),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("awaiting written confirmation"), "{html}");

    // Retention and disclosure refuse what they must.
    let (status, body, _) = call(&app, "GET", "/api/v1/retention", Some(&desk), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted"))
    );
    let (status, body, _) = call(&app, "GET", "/api/v1/retention", Some(&dpo), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/retention/EV-none/hold",
        Some(&supervisor),
        Some(json!({ "reason": "court" })),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _, _) = call(
        &app,
        "POST",
        "/api/v1/retention/EV-none/other",
        Some(&supervisor),
        Some(json!({ "reason": "x" })),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body, _) = call(&app, "POST", &format!("/api/v1/requests/{case_id}/disclosures"), Some(&desk),
        Some(json!({ "items": ["EV-x"], "legal_instrument": "Subpoena", "authority": { "class": "court", "name": "D.D.C." },
            "disclosure_date": today(now_ms()).to_string(), "summary": "exhibit" }))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted"))
    );
    let (status, _, _) = call(
        &app,
        "POST",
        "/api/v1/requests/x/evidence/y/original",
        Some(&desk),
        Some(json!({ "action": "lend", "condition": "good" })),
    )
    .await;
    assert_eq!(status, 400);
}

/// Hit/no-hit, bulk batches and outcome feedback through `/api/v1/{hitnohit,bulk,outcomes}`:
/// each refusal answered with its code, a query carried to the partner and its answer back,
/// and the lists showing metadata only.
#[tokio::test]
async fn hit_no_hit_bulk_and_outcomes_over_the_api() {
    let (us, uz) = nodes();
    let (store, app) = us_app(&us);
    let analyst = token(store.as_ref(), "us.analyst2", "analyst");
    let dpo = token(store.as_ref(), "us.dpo2", "auditor_dpo");
    let container = "MSCU1234566";
    let ask = |purpose: Option<&str>, identifier: &str| {
        let mut body = json!({
            "query_type": "conveyance",
            "identifier": identifier,
            "case_reference": "CBP-OIA-2026-0042",
        });
        if let Some(p) = purpose {
            body["purpose"] = json!(p);
        }
        body
    };

    // Not in force yet: refused by the agreement.
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/hitnohit",
        Some(&analyst),
        Some(ask(Some("INTEL"), container)),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("agreement_not_in_force")),
        "{body}"
    );
    in_force(&us, "US");
    in_force(&uz, "UZ");
    for (body, status_code, code) in [
        (ask(None, container), 422, "purpose_missing"),
        (
            ask(Some("INTEL"), "MSCU1234565"),
            400,
            "container_check_digit_invalid",
        ),
        (
            json!({ "query_type": "conveyance", "identifier": container, "purpose": "INTEL", "case_reference": " " }),
            400,
            "query_incomplete",
        ),
    ] {
        let (status, reply, _) =
            call(&app, "POST", "/api/v1/hitnohit", Some(&analyst), Some(body)).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (status_code, Some(code)),
            "{reply}"
        );
    }
    let (status, _, _) = call(
        &app,
        "POST",
        "/api/v1/hitnohit",
        Some(&analyst),
        Some(json!({ "query_type": "weather" })),
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/hitnohit",
        Some(&dpo),
        Some(ask(Some("INTEL"), container)),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted")),
        "{body}"
    );

    let (status, asked, _) = call(
        &app,
        "POST",
        "/api/v1/hitnohit",
        Some(&analyst),
        Some(ask(Some("INTEL"), container)),
    )
    .await;
    assert_eq!(status, 202, "{asked}");
    assert_eq!(asked["answer"], "pending");
    // The partner holds nothing: it answers no_hit, and the answer comes back.
    carry(&us, &uz);
    carry(&uz, &us);
    let (status, list, text) = call(
        &app,
        "GET",
        "/api/v1/hitnohit?direction=out",
        Some(&analyst),
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let row = list["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["query_id"] == asked["query_id"])
        .cloned()
        .unwrap();
    assert_eq!(row["answer"], "no_hit", "{row}");
    assert!(
        !text.contains(container),
        "a listed query never shows the identifier: {text}"
    );
    let (status, body, _) = call(
        &app,
        "GET",
        "/api/v1/hitnohit?direction=sideways",
        Some(&analyst),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("direction_invalid"))
    );

    // Bulk batches: bad periods are refused before the workflow; a dataset the US does not
    // provide is refused by it.
    for (body, code) in [
        (
            json!({ "dataset": "x", "from": "2026-13-01", "to": "2026-12-31" }),
            "date_invalid",
        ),
        (
            json!({ "dataset": "x", "from": "2026-02-01", "to": "2026-01-01" }),
            "period_invalid",
        ),
    ] {
        let (status, reply, _) =
            call(&app, "POST", "/api/v1/bulk", Some(&analyst), Some(body)).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (400, Some(code)),
            "{reply}"
        );
    }
    let (status, batches, _) = call(&app, "GET", "/api/v1/bulk", Some(&analyst), None).await;
    assert_eq!(status, 200);
    assert_eq!(batches["batches"], json!([]));

    // Outcomes: none yet; a report on an unknown case is refused with its code.
    let (status, outcomes, _) = call(&app, "GET", "/api/v1/outcomes", Some(&analyst), None).await;
    assert_eq!((status, &outcomes["outcomes"]), (200, &json!([])));
    let report = json!({ "seizures": [{ "commodity": "cigarettes", "hs_chapter": "24", "quantity": 18000, "unit": "kg" }] });
    let desk = token(store.as_ref(), "us.desk2", "desk_officer");
    let (status, body, _) = call(
        &app,
        "POST",
        "/api/v1/requests/no-such-case/outcome",
        Some(&desk),
        Some(report),
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

/// Every free-text field of a request reaches the desk pages as text, never as markup:
/// a partner's or an officer's `<script>` is escaped on the inbox and the case page.
#[tokio::test]
async fn free_text_of_a_request_is_escaped_on_the_desk_pages() {
    const EVIL: &str = r#"<script>alert(1)</script><img src=x onerror="alert(2)">'&"#;
    const ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";
    let (us, uz) = nodes();
    let (store, app) = us_app(&us);
    let desk = token(store.as_ref(), "us.desk", "desk_officer");
    in_force(&us, "US");
    in_force(&uz, "UZ");
    let mut draft = story::origin_and_value_request();
    for field in [
        &mut draft.agreement_article,
        &mut draft.subject,
        &mut draft.object,
        &mut draft.reason,
        &mut draft.case_statement,
        &mut draft.enquiries_already_carried_out,
        &mut draft.legal_provisions,
        &mut draft.nature_of_proceedings,
        &mut draft.link_to_matter,
        &mut draft.persons[0].name,
    ] {
        field.push_str(EVIL);
    }
    let request =
        json!({ "desk": "us-cbp-ilo-desk", "request": serde_json::to_value(&draft).unwrap() });
    let (status, body, _) =
        call(&app, "POST", "/api/v1/requests", Some(&desk), Some(request)).await;
    assert_eq!(status, 201, "{body}");
    let id = body["case_id"].as_str().unwrap().to_owned();
    for path in [
        "/ui/desk/inbox".to_owned(),
        format!("/ui/desk/requests/{id}"),
    ] {
        let (status, _, html) = call(&app, "GET", &path, Some(&desk), None).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("<script>alert"), "{path}: raw script tag");
        assert!(!html.contains("<img src=x"), "{path}: raw img tag");
        assert!(
            html.contains(ESCAPED),
            "{path}: the subject is shown, escaped"
        );
    }
}

/// POSTs `bytes` as the raw body of a staged evidence upload.
async fn upload(app: &axum::Router, token: &str, bytes: Vec<u8>) -> (u16, Value) {
    let request = Request::post("/api/v1/evidence/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn vault_files(node: &AssistanceNode) -> usize {
    std::fs::read_dir(node.vault().dir()).map_or(0, |d| d.count())
}

/// A file larger than any JSON body limit is staged as a raw body (streamed into the
/// vault), then cited by its upload id in the API reply, and reaches the requester with its
/// digest; the refusals each have their code and leave no file behind.
#[tokio::test]
async fn evidence_is_staged_as_a_raw_upload_and_cited_by_the_api_reply() {
    let (us, uz) = nodes();
    let uz = Arc::new(uz);
    in_force(&us, "US");
    in_force(&uz, "UZ");
    let usx = Officials::of("US");
    let now = now_ms();
    let case = us
        .create_request(
            &usx.desk,
            story::origin_and_value_request(),
            "us-cbp-ilo-desk",
            now,
        )
        .unwrap();
    let id = case.case_id;
    us.act(&usx.desk, None, &id, Event::Submit, "request.send", now)
        .unwrap();
    uz_accepts(&us, &uz, &id, now);

    runtime::register(uz.clone());
    let store = uz.store().clone();
    let app = router(AppState {
        store: store.clone(),
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    });
    let supervisor = token(store.as_ref(), "uz.sup", "supervisor");
    let analyst = token(store.as_ref(), "uz.analyst", "analyst");

    // 5 MiB: more than axum's 2 MB default body limit for JSON.
    let content: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let digest = {
        use sha2::Digest as _;
        caravan_assistance_node::at_rest::hex(&sha2::Sha256::digest(&content))
    };
    let before = vault_files(&uz);
    let (status, body) = upload(&app, &analyst, content.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_not_permitted"))
    );
    let (status, body) = upload(&app, &supervisor, Vec::new()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("evidence_empty"))
    );
    assert_eq!(vault_files(&uz), before, "refused uploads leave no file");
    let (status, staged) = upload(&app, &supervisor, content.clone()).await;
    assert_eq!(status, 201, "{staged}");
    assert_eq!(staged["sha256"], digest.as_str());
    assert_eq!(staged["size"], content.len());
    let upload_id = staged["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(vault_files(&uz), before + 1);
    let at_rest = std::fs::read(uz.vault().path_of(&upload_id).unwrap()).unwrap();
    assert!(
        !at_rest.windows(64).any(|w| w == &content[1000..1064]),
        "the staged file is encrypted"
    );

    let file = |source: Value| {
        let mut f = json!({ "name": "invoice.pdf", "media_type": "application/pdf",
            "form": "certified_copy", "certification": "certified by UZ customs",
            "markings": { "tlp": "AMBER", "pap": "AMBER" }, "permitted_uses": ["ADMIN"] });
        for (k, v) in source.as_object().unwrap() {
            f[k] = v.clone();
        }
        json!({ "files": [f] })
    };
    let path = format!("/api/v1/requests/{id}/evidence");
    for (source, code, expected) in [
        (json!({}), "content_invalid", 400),
        (
            json!({ "upload_id": upload_id, "content_base64": "AA==" }),
            "content_invalid",
            400,
        ),
        (
            json!({ "upload_id": "EV-0190a1b2-0000-7000-8000-000000000000" }),
            "evidence_upload_unknown",
            404,
        ),
        (
            json!({ "upload_id": "../x" }),
            "evidence_upload_invalid",
            400,
        ),
    ] {
        let (status, body, _) =
            call(&app, "POST", &path, Some(&supervisor), Some(file(source))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
    }
    // The reply cites the staged file; then it is the item, and citing it again is refused.
    let cite = file(json!({ "upload_id": upload_id }));
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (status, body, _) =
            call(&app, "POST", &path, Some(&supervisor), Some(cite.clone())).await;
        answers.push((
            status,
            body["state"]
                .as_str()
                .or(body["code"].as_str())
                .map(String::from),
        ));
    }
    assert_eq!(
        answers,
        vec![
            (200, Some("answered".to_owned())),
            (409, Some("evidence_upload_used".to_owned()))
        ]
    );

    // The requester receives it with the same digest and bytes.
    carry(&uz, &us);
    let row = us.store().evidence_row(&upload_id).unwrap();
    let record: Value = serde_json::from_str(&row.record).unwrap();
    assert_eq!(record["sha256"], digest.as_str(), "{record}");
    assert_eq!(record["size"], content.len());
    let content_us = us.vault().reader(&upload_id).unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut { content_us }, &mut got).unwrap();
    assert_eq!(got, content);
}
