//! The desk journey of issue 9 between two real nodes, in headless Chromium: create and send
//! a request on the US node; on the UZ node receive it, acknowledge and accept it, reply with
//! evidence files uploaded through the page; the US desk sees the reply and the evidence with
//! its digests and asks the provider's consent to use it in court; the UZ supervisor grants
//! it; the US desk sees the grant.
//!
//! The nodes are the testkit's exchange pair (`caravan_testkit::exchange::pair`): two SQLite
//! stores, two logs, two TLS identities onboarded from each other's signed manifests, and
//! every message between them over real mutual TLS with receipts. Each node's officers' UI is
//! the product router (`caravan_web::router`) on a listener of its own, the US one reached as
//! `127.0.0.1` and the UZ one as `localhost`, so the browser keeps one session cookie per
//! node. Nothing is carried by hand: each page load pumps the node's workflow (as
//! `caravan serve`'s pages do), and the test reloads a page until what the partner sent has
//! arrived (bounded).
//!
//! The page's elements are found by id, name and data attributes; the assertions read
//! states, codes, markings and digests, which no translation changes.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caravan_assistance::agreement::{AgreementState, US_UZ_CMAA_2024};
use caravan_assistance_node::crypto::EvidenceKey;
use caravan_assistance_node::runtime;
use caravan_assistance_node::service::{AssistanceNode, NodeConfig, UploadContent, today};
use caravan_assistance_node::story::{self, Officials};
use caravan_store::Store;
use caravan_store::access::Account;
use caravan_testkit::exchange::{RunningNode, now, pair};
use caravan_web::{AppState, router, serve};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::webdriver::{Element, Session};
use super::{accessible, page_text, shot};

const PASSWORD: &str = "a long passphrase for the desk journey";

/// One node's UI: its base URL.
struct Ui {
    base: String,
}

impl Ui {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The workflow of a node of the exchange pair: registered for its pages, the agreement
/// installed and in force by the two-person rule.
fn workflow(node: &RunningNode, us_side: bool) -> Arc<AssistanceNode> {
    let key = EvidenceKey::from_bytes(&[if us_side { 5 } else { 6 }; 32]);
    let workflow = Arc::new(AssistanceNode::new(
        node.store.clone(),
        Some(node.exchange.clone()),
        NodeConfig::us_uz(us_side),
        key,
        tempfile::tempdir().expect("evidence dir").keep(),
    ));
    runtime::register(workflow.clone());
    let t = now() as i64;
    workflow.install_agreement(US_UZ_CMAA_2024, t).unwrap();
    let o = Officials::of(if us_side { "US" } else { "UZ" });
    workflow
        .set_agreement_status(
            AgreementState::InForce,
            today(t),
            "Exchange of diplomatic notes (browser journey)",
            [&o.admin, &o.supervisor],
            t,
        )
        .unwrap();
    workflow
}

/// An account that signs in with its password.
fn officer(store: &dyn Store, name: &str, role: &str) {
    let phc = caravan_web::password::hash(PASSWORD).unwrap();
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
            false,
        )
        .unwrap();
}

/// An administrator with a password and an enrolled TOTP second factor; returns its secret.
fn administrator(store: &dyn Store, name: &str) -> Vec<u8> {
    officer(store, name, "administrator");
    let secret = caravan_web::totp::new_secret().unwrap();
    let t = now() as i64;
    store.set_totp_pending(name, Some(&secret), t).unwrap();
    // Enrolled some steps ago: the codes of now are unused.
    assert!(
        store
            .confirm_totp(name, caravan_web::totp::step_of(t) - 4, t)
            .unwrap()
    );
    secret
}

/// Serves the product router of a node on a new loopback listener.
async fn ui(node: &RunningNode, name: &str, host: &str) -> Ui {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = AppState {
        store: node.store.clone(),
        node_name: Arc::from(name),
        log: None,
        exchange: Some(node.exchange.clone()),
    };
    tokio::spawn(serve(listener, router(state), std::future::pending()));
    Ui {
        base: format!("http://{host}:{port}"),
    }
}

#[test]
fn desk_journey_between_two_nodes_in_headless_chromium() {
    let Some((driver, binary)) = super::browser() else {
        return;
    };
    let axe = super::axe_source();
    let dir = tempfile::tempdir().unwrap();
    let rt = caravan_testkit::exchange::runtime();
    let (us_node, uz_node, us, uz) = rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        let us = ui(&us_node, "US CBP", "127.0.0.1").await;
        let uz = ui(&uz_node, "UZ Customs", "localhost").await;
        (us_node, uz_node, us, uz)
    });
    let _us_flow = workflow(&us_node, true);
    let _uz_flow = workflow(&uz_node, false);
    officer(us_node.store.as_ref(), "us.desk", "desk_officer");
    officer(uz_node.store.as_ref(), "uz.desk", "desk_officer");
    officer(uz_node.store.as_ref(), "uz.supervisor", "supervisor");
    let totp = administrator(us_node.store.as_ref(), "us.admin");
    // What the US administrator compares out of band with the UZ administrator.
    let uz_root = uz_node.exchange.identity().root_fingerprint();
    let files = dir.path().join("upload");
    std::fs::create_dir_all(&files).unwrap();
    let evidence: Vec<(String, String)> = story::reply_evidence()
        .into_iter()
        .map(|e| {
            let path = files.join(&e.name);
            let UploadContent::Bytes(bytes) = &e.content else {
                unreachable!("the story's files are bytes")
            };
            std::fs::write(&path, bytes).unwrap();
            (e.name, hex(&Sha256::digest(bytes)))
        })
        .collect();

    let session = Session::start(driver.port, binary).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        journey(&session, &axe, &us, &uz, &files, &evidence);
        partners(&session, &axe, &us, &totp, &uz_root);
    }));
    session.quit();
    drop(driver);
    rt.block_on(async {
        us_node.stop().await;
        uz_node.stop().await;
    });
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs in with the password form of `ui` (after signing out of any session there).
fn sign_in(session: &Session, ui: &Ui, account: &str) {
    session.goto(&ui.url("/ui/signin")).unwrap();
    session.clear_cookies().unwrap();
    session.goto(&ui.url("/ui/signin")).unwrap();
    let field = session.find("#account").unwrap();
    session.type_into(&field, account).unwrap();
    let field = session.find("#password").unwrap();
    session.type_into(&field, PASSWORD).unwrap();
    click(session, "form[action='/ui/signin'] button[type=submit]");
    signed_in(session, account);
}

/// Asserts the browser holds a session of `account`: the page offers to sign out and names it.
fn signed_in(session: &Session, account: &str) {
    let out = session
        .script(
            "return document.querySelector(\"form[action='/ui/signout']\") !== null;",
            vec![],
        )
        .unwrap();
    let body = page_text(session);
    assert!(
        out == json!(true) && body.contains(account),
        "{account} is signed in at {}: {body}",
        session.url().unwrap_or_default()
    );
}

/// Sets a field's value by id (selects, dates, checkboxes' `checked` with a bool).
fn set(session: &Session, id: &str, value: Value) {
    let done = session
        .script(
            "const e = document.getElementById(arguments[0]);
             if (!e) return false;
             if (e.type === 'checkbox') { e.checked = arguments[1]; } else { e.value = arguments[1]; }
             return true;",
            vec![json!(id), value],
        )
        .unwrap();
    assert_eq!(done, json!(true), "no field #{id}");
}

/// Scrolls the element with this id to the top of the window, so the step's screenshot
/// shows what the step is about.
fn scroll_to(session: &Session, id: &str) {
    let found = session
        .script(
            "const e = document.getElementById(arguments[0]); if (e) e.scrollIntoView(); return !!e;",
            vec![json!(id)],
        )
        .unwrap();
    assert_eq!(found, json!(true), "no #{id} to show");
}

fn type_in(session: &Session, id: &str, text: &str) {
    let field = session.find(&format!("#{id}")).unwrap();
    session.clear(&field).unwrap();
    session.type_into(&field, text).unwrap();
}

/// Clicks what submits a form or follows a link, and waits (at most 20 s) until the next
/// page has loaded: a step's assertions must never read the page before it.
fn click(session: &Session, css: &str) {
    let element = session.find(css).unwrap();
    click_element(session, &element, css);
}

/// [`click`] for an element already found; `what` names it in the failure message.
pub(crate) fn click_element(session: &Session, element: &Element, what: &str) {
    session
        .script("window.caravanPageBefore = true;", vec![])
        .unwrap();
    session.click(element).unwrap();
    let started = Instant::now();
    loop {
        let loaded = session
            .script(
                "return window.caravanPageBefore === undefined && document.readyState === 'complete';",
                vec![],
            )
            .unwrap();
        if loaded == json!(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: no new page within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Applies a lifecycle action with the case page's act form and returns the page's notice.
fn act(session: &Session, action: &str) -> String {
    set(session, "action", json!(action));
    click(session, "form[action$='/act'] button[type=submit]");
    status(session)
}

/// The page's status or alert line (the workflow's answer to the last form); without one,
/// the page's address and text, for the failure message.
fn status(session: &Session) -> String {
    let line = session
        .script(
            "const e = document.querySelector('#main [role=status], #main [role=alert]');
             return e ? e.getAttribute('role') + ': ' + e.textContent.trim() : '';",
            vec![],
        )
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_owned();
    if line.is_empty() {
        format!(
            "no status line at {}: {}",
            session.url().unwrap_or_default(),
            page_text(session)
        )
    } else {
        line
    }
}

/// Reloads `url` until `ready` holds for its text (the partner's message has been applied),
/// for at most 60 s; returns the text.
fn until(session: &Session, url: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        session.goto(url).unwrap();
        let body = page_text(session);
        if ready(&body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not happen within 60 s; the page says: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The text of cell `column` (from 0) of the row whose header cell contains `key`, in the
/// table labelled by the heading with id `table`.
fn cell(session: &Session, table: &str, key: &str, column: usize) -> String {
    session
        .script(
            "const t = document.querySelector('table[aria-labelledby=\"' + arguments[0] + '\"]');
             if (!t) return null;
             for (const row of t.tBodies[0].rows) {
               const head = row.querySelector('th') || row.cells[0];
               if (head.textContent.includes(arguments[1])) {
                 const c = row.cells[arguments[2]]; return c ? c.textContent.trim() : null;
               }
             }
             return null;",
            vec![json!(table), json!(key), json!(column)],
        )
        .unwrap()
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no row {key} in table #{table}: {}", page_text(session)))
}

/// The case's state, as the case page shows it (the summary's one strong cell).
fn state(session: &Session) -> String {
    session
        .script(
            "const e = document.querySelector('#main table strong'); return e ? e.textContent.trim() : '';",
            vec![],
        )
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn journey(
    session: &Session,
    axe: &str,
    us: &Ui,
    uz: &Ui,
    files: &Path,
    evidence: &[(String, String)],
) {
    let request = story::origin_and_value_request();

    // 1. The US desk officer signs in and fills the request form.
    session.goto(&us.url("/ui/signin")).unwrap();
    accessible(session, axe, "US sign-in");
    shot(session, "desk-01-us-signin");
    sign_in(session, us, "us.desk");
    session.goto(&us.url("/ui/desk/requests/new")).unwrap();
    accessible(session, axe, "request form");
    let text = |id: &str, value: &str| type_in(session, id, value);
    text("desk", "us-cbp-ilo-desk");
    text(
        "requesting_contact_point",
        &request.requesting_contact_point,
    );
    text("agreement_article", &request.agreement_article);
    text("types", "R02, R04");
    text("purposes_sought", "ADMIN");
    text("subject", &request.subject);
    text("object", &request.object);
    text("reason", &request.reason);
    text("case_statement", &request.case_statement);
    text(
        "enquiries_already_carried_out",
        &request.enquiries_already_carried_out,
    );
    text("legal_provisions", &request.legal_provisions);
    text("person_name", &request.persons[0].name);
    set(session, "person_kind", json!("legal"));
    text("person_identifiers", &request.persons[0].identifiers[0]);
    text("nature_of_proceedings", &request.nature_of_proceedings);
    text("link_to_matter", &request.link_to_matter);
    text(
        "declaration_references",
        &request.extra["declaration_references"],
    );
    text("hs_codes", &request.extra["hs_codes"]);
    shot(session, "desk-02-us-request-form");
    click(
        session,
        "form[action='/ui/desk/requests'] button[type=submit]",
    );

    // The draft's page: its id is in the URL, its state on the page.
    let at = session.url().unwrap();
    let case_id = at
        .split("/ui/desk/requests/")
        .nth(1)
        .and_then(|rest| rest.split(['?', '#']).next())
        .filter(|id| !id.is_empty() && *id != "new")
        .unwrap_or_else(|| {
            panic!(
                "the form leads to the draft's page: {at} {}",
                page_text(session)
            )
        })
        .to_owned();
    let case_path = format!("/ui/desk/requests/{case_id}");
    assert_eq!(cell(session, "content", "subject", 1), request.subject);
    assert_eq!(state(session), "draft");
    accessible(session, axe, "US draft");
    shot(session, "desk-03-us-draft");

    // 2. Sent: the exchange's receipt moves it to `received` on the US copy.
    let notice = act(session, "submit");
    assert!(notice.contains("now sent"), "{notice}");
    shot(session, "desk-04-us-sent");
    until(
        session,
        &us.url(&case_path),
        "the partner's receipt",
        |_| state(session) == "received",
    );

    // 3. The UZ desk officer finds it in the inbox, opens it and acknowledges it.
    sign_in(session, uz, "uz.desk");
    let link = format!("a[href='{case_path}']");
    let inbox = until(
        session,
        &uz.url("/ui/desk/inbox"),
        "the request's arrival",
        |_| {
            session
                .script(
                    "return document.querySelector(arguments[0]) !== null;",
                    vec![json!(link)],
                )
                .unwrap()
                == json!(true)
        },
    );
    assert!(inbox.contains(&request.subject), "{inbox}");
    assert_eq!(cell(session, "incoming", &case_id, 3), "received");
    accessible(session, axe, "UZ inbox");
    shot(session, "desk-05-uz-inbox");
    click(session, &link);
    let body = page_text(session);
    assert!(body.contains("requested side"), "{body}");
    assert_eq!(
        cell(session, "content", "case statement", 1),
        request.case_statement
    );
    assert!(
        !body.contains("Reply with evidence"),
        "no reply before acceptance"
    );
    let notice = act(session, "acknowledge");
    assert!(notice.contains("now acknowledged"), "{notice}");
    // A desk officer may not accept: the supervisor's step, refused with its code.
    let refused = act(session, "accept");
    assert!(refused.contains("role_not_permitted"), "{refused}");
    accessible(session, axe, "UZ case, acknowledged");
    scroll_to(session, "timeline");
    shot(session, "desk-06-uz-acknowledged");

    // 4. The UZ supervisor accepts and replies with the two evidence files.
    sign_in(session, uz, "uz.supervisor");
    session.goto(&uz.url(&case_path)).unwrap();
    let notice = act(session, "accept");
    assert!(notice.contains("now in_execution"), "{notice}");
    assert_eq!(state(session), "in_execution");
    session
        .find("form[data-form=reply]")
        .expect("the reply form, in execution");
    accessible(session, axe, "UZ case, reply form");
    let paths: Vec<String> = evidence
        .iter()
        .map(|(name, _)| files.join(name).display().to_string())
        .collect();
    let upload = session.find("#reply-file").unwrap();
    session.type_into(&upload, &paths.join("\n")).unwrap();
    set(session, "reply-form", json!("certified_copy"));
    type_in(
        session,
        "reply-certification",
        "Certified true copy, Customs Committee of the Republic of Uzbekistan",
    );
    set(session, "reply-tlp", json!("AMBER"));
    set(session, "reply-pap", json!("AMBER"));
    set(session, "reply-use-intel", json!(true));
    set(session, "reply-use-admin", json!(true));
    set(session, "reply-use-civil", json!(false));
    set(session, "reply-use-criminal", json!(false));
    scroll_to(session, "reply");
    shot(session, "desk-07-uz-reply-form");
    click(session, "#reply-send");
    let notice = status(session);
    assert!(
        notice.contains("reply sent with 2 evidence file(s)") && notice.contains("answered"),
        "{notice}"
    );
    for (name, digest) in evidence {
        assert_eq!(cell(session, "evidence", name, 5), *digest, "{name}");
    }
    scroll_to(session, "evidence");
    shot(session, "desk-08-uz-replied");

    // 5. The US desk officer sees the reply: the evidence, its markings and digests, its
    //    custody verified on receipt.
    let body = until(session, &us.url(&case_path), "the reply's arrival", |b| {
        state(session) == "answered" && evidence.iter().all(|(n, _)| b.contains(n.as_str()))
    });
    assert!(body.contains("requester side"), "{body}");
    for (name, digest) in evidence {
        assert_eq!(cell(session, "evidence", name, 5), *digest, "{name}");
        assert_eq!(
            cell(session, "evidence", name, 0),
            "TLP:AMBER PAP:AMBER",
            "{name}"
        );
        assert_eq!(cell(session, "evidence", name, 4), "INTEL, ADMIN", "{name}");
        let custody = cell(session, "evidence", name, 6);
        assert!(
            custody.contains("received") && custody.contains("hash_verified"),
            "{name}: {custody}"
        );
        assert!(
            cell(session, "evidence", name, 2).contains("certified_copy"),
            "{name}"
        );
    }
    accessible(session, axe, "US case, evidence");
    scroll_to(session, "evidence");
    shot(session, "desk-09-us-evidence");

    // 6. Use in court is not among the permitted uses: the US desk asks the provider.
    session.find("form[data-form=consent-ask]").unwrap();
    set(session, "consent-purpose", json!("CRIMINAL"));
    set(session, "consent-recipient-class", json!("court"));
    type_in(
        session,
        "consent-recipient-name",
        "US v. Example Imports Inc., CIT No. 26-00042",
    );
    type_in(session, "consent-proceedings", "CIT No. 26-00042");
    set(session, "consent-needed-by", json!("2030-01-31"));
    type_in(
        session,
        "consent-justification",
        "Evidence of undervaluation for the criminal case",
    );
    click(session, "#consent-ask-send");
    let notice = status(session);
    assert!(notice.contains("asked of the provider"), "{notice}");
    let consent_id = notice
        .split_whitespace()
        .find(|w| w.starts_with("CON-"))
        .unwrap_or_else(|| panic!("the notice names the consent: {notice}"))
        .to_owned();
    assert_eq!(cell(session, "consent", &consent_id, 1), "outbound");
    assert_eq!(cell(session, "consent", &consent_id, 2), "CRIMINAL");
    assert_eq!(cell(session, "consent", &consent_id, 4), "requested");
    scroll_to(session, "consent");
    shot(session, "desk-10-us-consent-asked");

    // 7. The UZ supervisor (signed in on the UZ node) sees the request and grants it.
    let form = format!("form[data-consent='{consent_id}']");
    until(
        session,
        &uz.url(&case_path),
        "the consent request's arrival",
        |_| {
            session
                .script(
                    "return document.querySelector(arguments[0]) !== null;",
                    vec![json!(form)],
                )
                .unwrap()
                == json!(true)
        },
    );
    assert_eq!(cell(session, "consent", &consent_id, 1), "inbound");
    assert_eq!(cell(session, "consent", &consent_id, 4), "requested");
    accessible(session, axe, "UZ case, consent decision");
    scroll_to(session, "consent");
    shot(session, "desk-11-uz-consent-request");
    let index = session
        .script(
            "return document.querySelector(arguments[0]).querySelector('select[name=decision]').id;",
            vec![json!(form)],
        )
        .unwrap();
    let decision_id = index.as_str().unwrap().to_owned();
    let n = decision_id.trim_start_matches("decision-");
    set(session, &decision_id, json!("granted"));
    set(session, &format!("expires-{n}"), json!("2031-12-31"));
    click(session, &format!("#decide-send-{n}"));
    let notice = status(session);
    assert!(
        notice.contains(&format!("consent {consent_id} granted")),
        "{notice}"
    );
    assert_eq!(cell(session, "consent", &consent_id, 4), "granted");
    scroll_to(session, "consent");
    shot(session, "desk-12-uz-consent-granted");

    // 8. Back on the US node: the grant has arrived; every message of the case crossed the
    //    exchange and was applied or delivered.
    until(
        session,
        &us.url(&case_path),
        "the consent decision's arrival",
        |_| cell(session, "consent", &consent_id, 4) == "granted",
    );
    assert!(
        cell(session, "consent", &consent_id, 5).contains("uz.supervisor"),
        "decided by the UZ supervisor"
    );
    let messages = session
        .script(
            "const t = document.querySelector('table[aria-labelledby=messages]');
             return Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent.trim()));",
            vec![],
        )
        .unwrap();
    let messages = messages.as_array().unwrap();
    for action in [
        "Request.Submit",
        "Request.Reply",
        "Consent.Request",
        "Consent.Decision",
    ] {
        assert!(
            messages.iter().any(|m| m[1] == action),
            "{action} in {messages:?}"
        );
    }
    for m in messages {
        assert!(
            m[2] == "dispatched" || m[2] == "applied",
            "every message crossed: {m:?}"
        );
        assert!(
            !m[4].as_str().unwrap_or("").is_empty(),
            "with its exchange id: {m:?}"
        );
    }
    accessible(session, axe, "US case, consent granted");
    scroll_to(session, "consent");
    shot(session, "desk-13-us-consent-granted");

    // 9. The UZ supervisor's statistics, from the home page: the one request answered,
    //    drawn against its deadline.
    session.goto(&uz.url("/ui")).unwrap();
    click(session, "#main a[href='/ui/desk/stats']");
    let marks = session
        .script(
            "const count = (chart, sel) => { const s = document.querySelector('section[data-chart=' + chart + ']');
               return { requests: s.dataset.requests, marks: s.querySelectorAll(sel).length }; };
             return { bars: count('answered-here', 'svg rect'), deadlines: count('answered-here', 'svg line[stroke-dasharray]'),
                      sent: count('sent', 'svg rect') };",
            vec![],
        )
        .unwrap();
    assert_eq!(
        marks,
        json!({ "bars": { "requests": "1", "marks": 1 }, "deadlines": { "requests": "1", "marks": 1 },
                "sent": { "requests": "0", "marks": 0 } }),
        "{}",
        page_text(session)
    );
    accessible(session, axe, "UZ statistics");
    shot(session, "desk-14-uz-stats");
}

/// The US administrator signs in with password and TOTP, checks the UZ partner's
/// registration and fingerprint, suspends it and reactivates it; both changes are audited.
fn partners(session: &Session, axe: &str, us: &Ui, totp: &[u8], uz_root: &str) {
    session.goto(&us.url("/ui/signin")).unwrap();
    session.clear_cookies().unwrap();
    session.goto(&us.url("/ui/signin")).unwrap();
    type_in(session, "account", "us.admin");
    type_in(session, "password", PASSWORD);
    click(session, "form[action='/ui/signin'] button[type=submit]");
    let code = caravan_web::totp::code_at_step(
        totp,
        caravan_web::totp::step_of(caravan_web::auth::now_ms()),
    );
    type_in(session, "code", &code);
    click(
        session,
        "form[action='/ui/signin/totp'] button[type=submit]",
    );
    signed_in(session, "us.admin");

    session.goto(&us.url("/ui")).unwrap();
    click(session, "#main a[href='/ui/admin/partners']");
    let field = |party: &str, name: &str| {
        session
            .script(
                "const r = document.querySelector('tr[data-party=\"' + arguments[0] + '\"] [data-field=' + arguments[1] + ']');
                 return r ? r.textContent.trim() : null;",
                vec![json!(party), json!(name)],
            )
            .unwrap()
    };
    assert_eq!(field("UZ-CUSTOMS", "status"), json!("active"));
    assert_eq!(field("UZ-CUSTOMS", "assurance"), json!("good_standing"));
    let root = session
        .script(
            "const t = document.querySelector('table[data-fingerprints=\"UZ-CUSTOMS\"]');
             const row = Array.from(t.tBodies[0].rows).find(r => r.cells[0].textContent.trim() === 'root');
             return row ? row.cells[1].textContent.trim() : null;",
            vec![],
        )
        .unwrap();
    assert_eq!(
        root,
        json!(uz_root),
        "the root fingerprint to compare out of band"
    );
    accessible(session, axe, "partners");
    shot(session, "desk-15-us-admin-partners");

    let set_status = |to: &str| {
        let form = "form[data-form=partner-status][action='/ui/admin/partners/UZ-CUSTOMS/status']";
        let select = session
            .script(
                "return document.querySelector(arguments[0]).querySelector('select').id;",
                vec![json!(form)],
            )
            .unwrap();
        set(session, select.as_str().unwrap(), json!(to));
        click(session, &format!("{form} button[type=submit]"));
        status(session)
    };
    let notice = set_status("suspended");
    assert!(notice.contains("UZ-CUSTOMS is now suspended"), "{notice}");
    assert_eq!(field("UZ-CUSTOMS", "status"), json!("suspended"));
    shot(session, "desk-16-us-partner-suspended");
    let notice = set_status("active");
    assert!(notice.contains("UZ-CUSTOMS is now active"), "{notice}");

    // The agreement page shows the terms the partner registration serves.
    session.goto(&us.url("/ui/desk/agreement")).unwrap();
    let uses = session
        .script(
            "return Array.from(document.querySelectorAll('table[data-table=permitted-uses] tbody th')).map(th => th.textContent.trim());",
            vec![],
        )
        .unwrap();
    assert_eq!(uses, json!(["INTEL", "ADMIN", "CIVIL", "CRIMINAL"]));
    assert!(
        session
            .script(
                "return document.querySelectorAll('table[data-table=deadlines] tbody tr').length;",
                vec![],
            )
            .unwrap()
            .as_u64()
            .unwrap()
            >= 8
    );
    accessible(session, axe, "agreement");
    shot(session, "desk-17-us-agreement");
}
