//! The desk pages and forms of `assistance_more` through the real router: re-marking on the
//! case page and over the API (the receiver refused a loosening with its code), the
//! directory page and API, hit/no-hit, bulk and oral pages, and form input refused with a
//! code on the page it came from.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use caravan_assistance::agreement::AgreementState;
use caravan_assistance_node::crypto::EvidenceKey;
use caravan_assistance_node::service::{AssistanceNode, NodeConfig, today};
use caravan_assistance_node::story;
use caravan_store_sqlite::SqliteStore;
use caravan_web::auth::now_ms;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::officer as token;

/// Any request: status, `Location` (for a redirect) and body.
async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    content: Option<(&str, String)>,
) -> (u16, String, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        // Forms are checked for a same-origin source (CSRF).
        .header(header::HOST, "node.example")
        .header(header::ORIGIN, "https://node.example");
    let request = match content {
        Some((media, body)) => request
            .header(header::CONTENT_TYPE, media)
            .body(Body::from(body))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn form(fields: &[(&str, &str)]) -> Option<(&'static str, String)> {
    let body = fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&");
    Some(("application/x-www-form-urlencoded", body))
}

fn settle(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    now: i64,
) -> Result<(), caravan_assistance_node::error::AssistError> {
    loop {
        let mut moved = 0;
        for (from, to) in [(us, uz), (uz, us)] {
            for m in from.take_queued(now)? {
                to.receive(&m, now)?;
                moved += 1;
            }
        }
        if moved == 0 {
            return Ok(());
        }
    }
}

#[tokio::test]
async fn remarking_directory_and_the_desk_pages_of_the_other_procedures() {
    let us = Arc::new(AssistanceNode::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        None,
        NodeConfig::us_uz(true),
        EvidenceKey::from_bytes(&[9; 32]),
        tempfile::tempdir().expect("evidence dir").keep(),
    ));
    let uz = AssistanceNode::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        None,
        NodeConfig::us_uz(false),
        EvidenceKey::from_bytes(&[10; 32]),
        tempfile::tempdir().expect("evidence dir").keep(),
    );
    let main = story::play(&us, &uz, now_ms() - 400 * story::DAY_MS, &mut |now| {
        settle(&us, &uz, now)
    })
    .expect("story");
    assert_eq!(
        us.agreement().unwrap().status.state,
        AgreementState::InForce
    );
    let (store, app) = crate::assistance::us_app(&us);
    let desk = token(store.as_ref(), "us.desk", "desk_officer");
    let analyst = token(store.as_ref(), "us.analyst", "analyst");
    let supervisor = token(store.as_ref(), "us.supervisor", "supervisor");
    let admin = token(store.as_ref(), "us.admin", "administrator");
    let case = &main.main_case;
    let item = main.evidence[0].clone();

    // The case page carries the new forms, each with a CSRF field and labels.
    let (status, _, html) = send(
        &app,
        "GET",
        &format!("/ui/desk/requests/{case}"),
        &supervisor,
        None,
    )
    .await;
    assert_eq!(status, 200);
    for form in ["marking", "outcome", "disclosure", "original", "hold"] {
        let at = html
            .find(&format!("data-form=\"{form}\""))
            .unwrap_or_else(|| panic!("form {form} on the case page"));
        let end = at + html[at..].find("</form>").unwrap();
        let body = &html[at..end];
        assert!(
            body.contains("name=\"csrf\"") || body.contains("type=\"hidden\""),
            "{form}: {body}"
        );
        let inputs = body.matches(" name=\"").count();
        let labels = body.matches("<label for=").count();
        assert!(
            labels + 1 >= inputs,
            "{form}: {labels} labels for {inputs} fields"
        );
    }

    // The receiver may not loosen an item the partner supplied: refused with its code.
    let (status, location, _) = send(
        &app,
        "POST",
        &format!("/ui/desk/requests/{case}/marking"),
        &supervisor,
        form(&[
            ("item_id", &item),
            ("tlp", "CLEAR"),
            ("pap", "WHITE"),
            ("reason", "publish"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        location,
        format!("/ui/desk/requests/{case}?problem=marking_loosened_not_by_provider")
    );
    // It may tighten, and the change is queued for the partner.
    let (status, location, _) = send(
        &app,
        "POST",
        &format!("/ui/desk/requests/{case}/marking"),
        &analyst,
        form(&[
            ("item_id", &item),
            ("field", "value"),
            ("tlp", "RED"),
            ("pap", "RED"),
            ("caveats", "NO-ONWARD LE-SENSITIVE"),
            ("reason", "an open investigation"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.contains("notice="), "{location}");
    let rows = store.marking_rows(&item).unwrap();
    let last = rows
        .iter()
        .filter(|r| r.field == "value")
        .max_by_key(|r| r.seq)
        .unwrap();
    assert_eq!(
        (last.tlp.as_str(), last.set_by.as_str()),
        ("RED", "us.analyst")
    );
    assert!(
        store
            .queued_messages(50)
            .unwrap()
            .iter()
            .any(|m| m.action == "Marking.Change")
    );

    // The same over the API.
    let api = format!("/api/v1/markings/{item}/change");
    let (status, _, body) = send(
        &app,
        "POST",
        &api,
        &desk,
        Some((
            "application/json",
            json!({ "tlp": "CLEAR", "pap": "WHITE", "reason": "x" }).to_string(),
        )),
    )
    .await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("marking_loosened_not_by_provider"))
    );
    let (status, _, body) = send(&app, "POST", &api, &desk, Some(("application/json", json!({ "field": "value", "tlp": "RED", "pap": "RED", "caveats": ["NO-ONWARD", "LE-SENSITIVE", "PERSONAL-DATA"], "reason": "names a person" }).to_string()))).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["seq"], 2);
    let (status, _, body) = send(
        &app,
        "POST",
        &api,
        &desk,
        Some((
            "application/json",
            json!({ "tlp": "PURPLE", "pap": "RED", "reason": "x" }).to_string(),
        )),
    )
    .await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, body["code"].as_str()), (400, Some("tlp_invalid")));

    // The directory: both sections with their versions; an administrator has no need to know.
    let (status, _, body) = send(&app, "GET", "/api/v1/directory", &desk, None).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["own"]["party"].as_str(),
            body["own"]["version"].as_u64()
        ),
        (Some("US"), Some(1))
    );
    assert_eq!(body["partner"]["entries"][0]["id"], "uz-cc-intl-desk");
    let (status, _, _) = send(&app, "GET", "/api/v1/directory", &admin, None).await;
    assert_eq!(status, 403);
    let (status, _, html) = send(&app, "GET", "/ui/desk/directory", &supervisor, None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("uz-cc-intl-desk") && html.contains("UZ section, version 1"),
        "{html}"
    );
    let (_, _, html) = send(&app, "GET", "/ui/desk/agreement", &supervisor, None).await;
    assert!(html.contains("href=\"/ui/desk/directory\""));

    // Hit/no-hit: the purpose is mandatory; the page lists metadata only.
    let (status, _, html) = send(&app, "GET", "/ui/desk/hitnohit", &analyst, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-form=\"hitnohit-ask\""));
    let (status, location, _) = send(
        &app,
        "POST",
        "/ui/desk/hitnohit",
        &analyst,
        form(&[
            ("query_type", "conveyance"),
            ("identifier", "CSQU3054383"),
            ("purpose", ""),
            ("case_reference", "CBP-7"),
        ]),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/ui/desk/hitnohit?problem=purpose_missing")
    );

    // Bulk: the annex's datasets; a dataset the US does not provide is refused.
    let (status, _, html) = send(&app, "GET", "/ui/desk/bulk", &supervisor, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("uz-imports-v1"), "{html}");
    let yesterday = (today(now_ms()) - chrono::Days::new(1)).to_string();
    let (status, location, _) = send(
        &app,
        "POST",
        "/ui/desk/bulk",
        &supervisor,
        form(&[
            ("dataset", "uz-imports-v1"),
            ("from", &yesterday),
            ("to", &yesterday),
        ]),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/ui/desk/bulk?problem=dataset_not_ours")
    );

    // Outcome: an amount the page cannot read is refused before the workflow.
    let (status, location, _) = send(
        &app,
        "POST",
        &format!("/ui/desk/requests/{case}/outcome"),
        &desk,
        form(&[
            ("amount", "12,5"),
            ("currency", "USD"),
            ("revenue_kind", "duty"),
            ("revenue_status", "assessed"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.ends_with("?problem=amount_invalid"), "{location}");

    // A legal hold placed on the case page (supervisor) on an item still held, and a
    // disclosure a desk officer may not record.
    let kept = store
        .case_evidence(case)
        .unwrap()
        .into_iter()
        .find(|e| e.erased_at.is_none() && e.origin == "partner")
        .expect("an item not erased")
        .evidence_id;
    let (status, location, _) = send(
        &app,
        "POST",
        &format!("/ui/desk/requests/{case}/hold"),
        &supervisor,
        form(&[
            ("evidence_id", &kept),
            ("verb", "place"),
            ("reason", "D.D.C. case 1:26-cr-00042"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.contains("notice="), "{location}");
    let (status, location, _) = send(
        &app,
        "POST",
        &format!("/ui/desk/requests/{case}/disclosure"),
        &desk,
        form(&[
            ("items", &item),
            ("legal_instrument", "Subpoena 26-114"),
            ("authority_class", "court"),
            ("authority_name", "D.D.C."),
            ("disclosure_date", &today(now_ms()).to_string()),
            ("summary", "exhibit"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        location.ends_with("?problem=role_not_permitted"),
        "{location}"
    );

    // An urgent oral request recorded by the contact point opens its case.
    let (status, _, html) = send(&app, "GET", "/ui/desk/oral", &desk, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-form=\"oral\""));
    let reply_by = (today(now_ms()) + chrono::Days::new(3)).to_string();
    let (status, location, _) = send(
        &app,
        "POST",
        "/ui/desk/oral",
        &desk,
        form(&[
            ("caller", "O. Karimov, UZ duty officer, +998 71 000 0000"),
            ("summary", "Is container MSKU1234565 under a US hold?"),
            ("types", "R01"),
            ("justification", "The vessel sails tonight"),
            ("reply_by", &reply_by),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        location.starts_with("/ui/desk/requests/ORAL-"),
        "{location}"
    );
    let recorded = location
        .trim_start_matches("/ui/desk/requests/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // The requester's written confirmation of an oral request, under its ORAL- id.
    let d = story::origin_and_value_request();
    let reply_by = (today(now_ms()) + chrono::Days::new(5)).to_string();
    let confirmation = |id: &str, subject: &str| -> Vec<(String, String)> {
        [
            ("oral_case_id", id),
            ("desk", "us-cbp-ilo-desk"),
            ("requesting_contact_point", &d.requesting_contact_point),
            ("agreement_article", &d.agreement_article),
            ("subject", subject),
            ("types", "R02, R04"),
            ("object", &d.object),
            ("reason", &d.reason),
            ("case_statement", &d.case_statement),
            (
                "enquiries_already_carried_out",
                &d.enquiries_already_carried_out,
            ),
            ("legal_provisions", &d.legal_provisions),
            ("person_name", "Silk Road Yarn Export LLC"),
            ("person_kind", "legal"),
            ("person_identifiers", "UZ-STIR:301234567"),
            ("nature_of_proceedings", &d.nature_of_proceedings),
            ("link_to_matter", &d.link_to_matter),
            ("language", "en"),
            ("purposes_sought", "ADMIN"),
            (
                "urgency_justification",
                "The goods leave the bonded warehouse on Friday",
            ),
            ("reply_by", &reply_by),
            ("declaration_references", &d.extra["declaration_references"]),
            ("hs_codes", &d.extra["hs_codes"]),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };
    let post = |fields: Vec<(String, String)>| {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form(&pairs)
    };
    let (status, location, _) = send(
        &app,
        "POST",
        "/ui/desk/oral/confirm",
        &desk,
        post(confirmation(&recorded, &d.subject)),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/ui/desk/oral?problem=case_exists")
    );
    let (status, location, _) = send(
        &app,
        "POST",
        "/ui/desk/oral/confirm",
        &desk,
        post(confirmation("ORAL-UZ-2026-0007", "")),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/ui/desk/oral?problem=request_incomplete")
    );
    let (status, location, _) = send(
        &app,
        "POST",
        "/ui/desk/oral/confirm",
        &desk,
        post(confirmation("ORAL-UZ-2026-0007", &d.subject)),
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        location.starts_with("/ui/desk/requests/ORAL-UZ-2026-0007?notice="),
        "{location}"
    );
    assert_eq!(store.case_row("ORAL-UZ-2026-0007").unwrap().state, "draft");
}

/// Issue 5: our whole directory section replaced from the directory page. A supervisor
/// proposes it (the form carries the CSRF field and a label for every field), bad input is
/// refused with its code and nothing is proposed, an account without the two-person right
/// is refused, and the section changes only when an administrator approves the proposal —
/// which sends it to the partner as the next version, as `caravan directory update` does.
#[tokio::test]
async fn the_directory_page_replaces_our_whole_section_through_a_two_person_proposal() {
    use caravan_assistance::agreement::US_UZ_CMAA_2024;
    use caravan_assistance::approval::ProposalState;

    let us = Arc::new(AssistanceNode::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        None,
        NodeConfig::us_uz(true),
        EvidenceKey::from_bytes(&[11; 32]),
        tempfile::tempdir().expect("evidence dir").keep(),
    ));
    us.install_agreement(US_UZ_CMAA_2024, now_ms()).unwrap();
    crate::assistance::in_force(&us, "US");
    let officials = story::Officials::of("US");
    let (store, app) = crate::assistance::us_app(&us);
    let desk = token(store.as_ref(), "us.desk", "desk_officer");
    let supervisor = token(store.as_ref(), "us.supervisor", "supervisor");
    let admin = token(store.as_ref(), "us.admin", "administrator");
    let page = "/ui/desk/directory";
    let before = us.directory_view().unwrap();
    assert_eq!(before.own.version, 1);

    // The form, for those who may propose only; every field labelled, CSRF field present,
    // prefilled with our section as it stands.
    let (status, _, html) = send(&app, "GET", page, &supervisor, None).await;
    assert_eq!(status, 200);
    let at = html
        .find("data-form=\"directory-section\"")
        .expect("the section form");
    let end = at + html[at..].find("</form>").unwrap();
    let body = &html[at..end];
    assert!(body.contains("type=\"hidden\""), "{body}");
    for (id, name) in [("dir-entries", "entries"), ("dir-reason", "reason")] {
        assert!(body.contains(&format!("<label for=\"{id}\">")), "{id}");
        assert!(
            body.contains(&format!("id=\"{id}\" name=\"{name}\"")),
            "{id}"
        );
    }
    let own_id = &before.own.entries[0].id;
    assert!(body.contains(own_id.as_str()), "prefilled: {body}");
    let (_, _, html) = send(&app, "GET", page, &desk, None).await;
    assert!(!html.contains("data-form=\"directory-section\""));

    let mut entries = serde_json::to_value(&before.own.entries).unwrap();
    let mut added = entries[0].clone();
    added["id"] = json!("us-cbp-night-desk");
    added["channels"] = json!(["caravan", "+1 202 555 0199"]);
    entries.as_array_mut().unwrap().push(added);
    let section = json!({ "entries": entries }).to_string();
    let post = |token: String, fields: Vec<(&'static str, String)>| {
        let app = app.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, location, _) = send(
                &app,
                "POST",
                "/ui/desk/directory/section",
                &token,
                form(&fields),
            )
            .await;
            assert_eq!(status, 303);
            location
        }
    };
    let problem = |code: &str| format!("{page}?problem={code}");

    // Refusals, each with its code; nothing proposed.
    let location = post(
        desk.clone(),
        vec![
            ("entries", section.clone()),
            ("reason", "night desk".into()),
        ],
    )
    .await;
    assert_eq!(location, problem("role_not_permitted"));
    let location = post(
        supervisor.clone(),
        vec![
            ("entries", "{\"entries\": [".into()),
            ("reason", "x".into()),
        ],
    )
    .await;
    assert_eq!(location, problem("directory_file_invalid"));
    let mut foreign = entries.clone();
    foreign[0]["party"] = json!("UZ");
    let location = post(
        supervisor.clone(),
        vec![
            ("entries", json!({ "entries": foreign }).to_string()),
            ("reason", "x".into()),
        ],
    )
    .await;
    assert_eq!(location, problem("directory_entry_wrong_party"));
    let location = post(
        supervisor.clone(),
        vec![("entries", section.clone()), ("reason", " ".into())],
    )
    .await;
    assert_eq!(location, problem("proposal_incomplete"));
    assert!(
        us.proposals(&officials.supervisor, Some(ProposalState::Pending))
            .unwrap()
            .is_empty()
    );

    // The supervisor proposes; nothing changes until the second account approves.
    let location = post(
        supervisor.clone(),
        vec![
            ("entries", section.clone()),
            ("reason", "night desk".into()),
        ],
    )
    .await;
    assert!(
        location.starts_with(&format!("{page}?notice=")),
        "{location}"
    );
    let pending = us
        .proposals(&officials.supervisor, Some(ProposalState::Pending))
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["kind"], "directory");
    assert_eq!(pending[0]["change"]["kind"], "directory_section");
    let id = pending[0]["proposal_id"].as_str().unwrap().to_owned();
    assert_eq!(us.directory_view().unwrap().own, before.own);
    let (_, _, html) = send(&app, "GET", page, &supervisor, None).await;
    assert!(
        html.contains(&id) && html.contains("us-cbp-night-desk"),
        "pending on the page"
    );
    // A second pending directory proposal would collide with the first.
    let location = post(
        admin.clone(),
        vec![("entries", section.clone()), ("reason", "again".into())],
    )
    .await;
    assert_eq!(location, problem("proposal_pending_exists"));

    // The proposer cannot approve its own proposal; the administrator can.
    let decide = format!("/ui/desk/agreement/proposals/{id}");
    let (status, location, _) = send(
        &app,
        "POST",
        &decide,
        &supervisor,
        form(&[("decision", "approve")]),
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/ui/desk/agreement?problem=two_person_same_account")
    );
    assert_eq!(us.directory_view().unwrap().own, before.own);
    let (status, location, _) = send(
        &app,
        "POST",
        &decide,
        &admin,
        form(&[("decision", "approve")]),
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.contains("notice="), "{location}");
    let after = us.directory_view().unwrap();
    assert_eq!(after.own.version, 2);
    assert_eq!(after.own.entries.len(), before.own.entries.len() + 1);
    assert!(
        after
            .own
            .entries
            .iter()
            .any(|e| e.id == "us-cbp-night-desk")
    );
    let sent: Vec<_> = store
        .queued_messages(50)
        .unwrap()
        .into_iter()
        .filter(|m| m.action == "Directory.Update")
        .collect();
    assert_eq!(
        sent.len(),
        1,
        "the section goes to the partner as version 2"
    );
    let (_, _, html) = send(&app, "GET", page, &supervisor, None).await;
    assert!(html.contains("us-cbp-night-desk") && html.contains("US section, version 2"));
}
