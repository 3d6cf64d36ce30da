//! The officers' and the auditor's journeys in a real headless Chromium (issue 9).
//!
//! Why a real browser: the proof check on the auditor's page runs in the browser
//! (`static/verify.js`, WebCrypto), the pages carry no inline script under a strict CSP,
//! and accessibility is a property of the rendered page; none of that is visible to an
//! HTTP-level test. The node runs in this process (a real listener, a SQLite store and a
//! log cosigned by a partner witness on a second listener); Chromium is driven through
//! chromedriver's W3C WebDriver protocol (`webdriver`).
//!
//! Every step saves a PNG under `target/browser-artifacts/`, and every HTML page visited is
//! checked with axe-core (from npm, installed under `target/ci-node/`, injected through
//! WebDriver): any violation of impact serious or critical fails the test. The tests skip,
//! saying why, only when Chromium or chromedriver is not installed.
//!
//! The desk officers' journey between two nodes over the real exchange is in `desk`.

mod desk;
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use caravan_log::entry::{Entry, EntryBody};
use caravan_log::keys::NodeKeys;
use caravan_log::storage::MemoryLogStore;
use caravan_log::{FixedClock, LogConfig, LogNode, Partner};
use caravan_store::Store;
use caravan_store::access::{Account, ApiToken};
use caravan_store_sqlite::SqliteStore;
use caravan_web::auth::{SESSION_COOKIE, new_token_secret, token_digest};
use caravan_web::{AppState, router, serve};
use serde_json::{Value, json};
use webdriver::Session;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `/usr/bin/chromium` is a shell wrapper; chromedriver wants the browser itself.
const CHROMIUM_BINARY: &str = "/usr/lib/chromium/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const US: &str = "caravan.us.example/us-uz-cmaa-2024";
const UZ: &str = "caravan.uz.example/us-uz-cmaa-2024";
const TAB: &str = "\u{E004}";

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The axe-core script, installed with npm under `target/ci-node/` if it is not there yet.
fn axe_source() -> String {
    let prefix = workspace_target().join("ci-node");
    let file = prefix.join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("axe-core@4")
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "axe-core is needed: npm install --prefix target/ci-node axe-core@4 failed ({status:?})"
        );
    }
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
}

/// chromedriver on a free port, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        // chromedriver binds its port after start-up: wait for it to accept (bounded).
        let mut driver = Driver { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return driver;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = driver.child.kill();
        let _ = driver.child.wait();
        panic!("chromedriver did not listen on port {port} within 10 s");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn account(store: &dyn Store, name: &str, role: &str) -> String {
    store
        .create_account(&Account {
            name: name.into(),
            display_name: format!("Officer {name}"),
            role: role.into(),
            disabled: false,
            created_at: 0,
        })
        .unwrap();
    let secret = new_token_secret().unwrap();
    store
        .add_api_token(&ApiToken {
            sha256: token_digest(&secret),
            account: name.into(),
            label: "browser test".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        })
        .unwrap();
    secret
}

struct Node {
    url: String,
    store: Arc<dyn Store>,
    _runtime: tokio::runtime::Runtime,
    _dirs: Vec<tempfile::TempDir>,
}

/// The US node with a log of `entries` entries, signed and cosigned by the UZ witness
/// (which serves its witness endpoint on a listener of its own).
fn start_nodes(entries: u64) -> Node {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = 1_726_185_600_000u64;
    let us_keys =
        || NodeKeys::from_seeds(US, &[1; 32], "caravan.us.example/witness", &[2; 32]).unwrap();
    let uz_keys =
        || NodeKeys::from_seeds(UZ, &[3; 32], "caravan.uz.example/witness", &[4; 32]).unwrap();
    let uz_dir = tempfile::tempdir().unwrap();
    let us_dir = tempfile::tempdir().unwrap();
    let (url, store) = runtime.block_on(async {
        let mut uz_config = LogConfig::new(UZ, "us-uz-cmaa-2024");
        uz_config.partners.push(Partner {
            name: "US CBP".into(),
            log_origin: US.into(),
            log_key: us_keys().log_verifier(),
            witness_key: us_keys().witness_verifier(),
            url: "http://127.0.0.1:9".into(),
        });
        let uz_log = LogNode::open(
            Arc::new(MemoryLogStore::new()),
            uz_keys(),
            uz_config,
            Arc::new(FixedClock(now)),
        )
        .unwrap();
        let uz_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uz_addr = uz_listener.local_addr().unwrap();
        let uz_state = AppState {
            store: Arc::new(SqliteStore::open(&uz_dir.path().join("uz.sqlite")).unwrap()),
            node_name: Arc::from("UZ Customs"),
            log: Some(uz_log),
            exchange: None,
        };
        tokio::spawn(serve(uz_listener, router(uz_state), std::future::pending()));

        let mut config = LogConfig::new(US, "us-uz-cmaa-2024");
        config.partners.push(Partner {
            name: "UZ Customs".into(),
            log_origin: UZ.into(),
            log_key: uz_keys().log_verifier(),
            witness_key: uz_keys().witness_verifier(),
            url: format!("http://{uz_addr}"),
        });
        let log = LogNode::open(
            Arc::new(MemoryLogStore::new()),
            us_keys(),
            config,
            Arc::new(FixedClock(now)),
        )
        .unwrap();
        for i in 0..entries {
            log.submit(&Entry {
                t: now + i * 3_600_000,
                agreement_id: "us-uz-cmaa-2024".into(),
                body: EntryBody::AuditAnchor {
                    head: [i as u8; 32],
                    event_count: i,
                },
            })
            .unwrap();
        }
        let settled = log.settle().await.unwrap();
        assert_eq!(settled.signed, Some(entries), "{settled:?}");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&us_dir.path().join("us.sqlite")).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState {
            store: store.clone(),
            node_name: Arc::from("US CBP"),
            log: Some(log),
            exchange: None,
        };
        tokio::spawn(serve(listener, router(state), std::future::pending()));
        (format!("http://{addr}"), store)
    });
    Node {
        url,
        store,
        _runtime: runtime,
        _dirs: vec![uz_dir, us_dir],
    }
}

/// Saves a screenshot of the current page as `target/browser-artifacts/<name>.png`.
fn shot(session: &Session, name: &str) {
    let dir = workspace_target().join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let png = session.screenshot().unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Runs axe-core on the current page; panics listing every serious or critical violation.
fn accessible(session: &Session, axe: &str, page: &str) {
    session.script(axe, vec![]).unwrap();
    let found = session
        .script_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))
               .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
            vec![],
        )
        .unwrap();
    let serious: Vec<&Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "{page}: accessibility violations {serious:#?}"
    );
}

/// Tabs through the page from the top and checks the focus visits every visible form
/// control and link in document order, and that every field it reaches has a label.
fn keyboard_reaches_everything(session: &Session, form: &str) {
    let expected = session
        .script(
            "const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
             return Array.from(document.querySelectorAll(sel))
               .filter(e => !e.disabled && e.tabIndex >= 0 && e.checkVisibility({ visibilityProperty: true }))
               .map(e => e.id || e.name || e.textContent.trim());",
            vec![],
        )
        .unwrap();
    let expected: Vec<String> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_owned())
        .collect();
    session
        .script(
            "document.activeElement && document.activeElement.blur(); window.focus();",
            vec![],
        )
        .unwrap();
    let mut visited = Vec::new();
    for _ in 0..expected.len() {
        session.press(TAB).unwrap();
        let now = session
            .script(
                "const e = document.activeElement;
                 const labelled = !['INPUT','SELECT','TEXTAREA'].includes(e.tagName) || (e.labels && e.labels.length > 0);
                 return { key: e.id || e.name || e.textContent.trim(), labelled };",
                vec![],
            )
            .unwrap();
        assert_eq!(
            now["labelled"], true,
            "{form}: the field {} has no label",
            now["key"]
        );
        visited.push(now["key"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(visited, expected, "{form}: Tab order is not document order");
}

/// chromedriver started and the browser binary to drive, or `None` (saying why) when
/// Chromium or chromedriver is not installed.
fn browser() -> Option<(Driver, &'static str)> {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(tool).exists() {
            println!("SKIPPED: {tool} is not installed (apt-get install chromium chromium-driver)");
            return None;
        }
    }
    let binary = if Path::new(CHROMIUM_BINARY).exists() {
        CHROMIUM_BINARY
    } else {
        CHROMIUM
    };
    Some((Driver::start(), binary))
}

#[test]
fn journeys_in_headless_chromium() {
    let Some((driver, binary)) = browser() else {
        return;
    };
    let axe = axe_source();
    let node = start_nodes(12);
    let desk = account(node.store.as_ref(), "d.smith", "desk_officer");
    let auditor = account(node.store.as_ref(), "a.karimova", "auditor_dpo");
    let session = Session::start(driver.port, binary).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        journeys(&session, &node, &axe, &desk, &auditor)
    }));
    session.quit();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn journeys(session: &Session, node: &Node, axe: &str, desk: &str, auditor: &str) {
    let url = |path: &str| format!("{}{path}", node.url);

    // 1. Sign in: the desk officer uses the sign-in form with the keyboard.
    session.goto(&url("/ui/signin")).unwrap();
    accessible(session, axe, "sign-in");
    keyboard_reaches_everything(session, "sign-in");
    shot(session, "01-signin");
    // The token form may sit in a <details> element: open it first.
    session
        .script(
            "const d = document.getElementById('token').closest('details'); if (d) d.open = true;",
            vec![],
        )
        .unwrap();
    let token = session.find("#token").unwrap();
    session.type_into(&token, desk).unwrap();
    let submit = session
        .script(
            "return document.getElementById('token').form.querySelector('button[type=submit]');",
            vec![],
        )
        .unwrap();
    let submit = webdriver_element(&submit);
    // Wait for the page the sign-in leads to before reading where it is.
    desk::click_element(session, &submit, "the sign-in button");
    assert!(
        session.url().unwrap().ends_with("/ui"),
        "signed in, at home: {}",
        session.url().unwrap()
    );
    let body = page_text(session);
    assert!(
        body.contains("d.smith") && body.contains("desk officer"),
        "{body}"
    );
    accessible(session, axe, "home");
    shot(session, "02-home-desk-officer");

    // 2. A refused action for the wrong role: the desk officer opens the audit trail.
    session.goto(&url("/ui/audit")).unwrap();
    let body = page_text(session);
    assert!(body.contains("role_not_permitted"), "{body}");
    shot(session, "03-refused-desk-officer-audit-trail");

    // 3. The auditor: the log page, its witness status and charts.
    session.clear_cookies().unwrap();
    session.goto(&url("/ui/signin")).unwrap();
    session.add_cookie(SESSION_COOKIE, auditor).unwrap();
    session.goto(&url("/ui/audit/log")).unwrap();
    let body = page_text(session);
    assert!(
        body.contains("Witness status") && body.contains("UZ Customs"),
        "{body}"
    );
    let svgs = session
        .script(
            "return document.querySelectorAll('svg[role=img]').length;",
            vec![],
        )
        .unwrap();
    assert_eq!(svgs, json!(2), "growth and witness charts");
    accessible(session, axe, "log");
    shot(session, "04-auditor-log");

    // 4. Verify a proof in the browser: pick entry 5, let the page's script check it.
    let link = session.find("#verify-5").unwrap();
    session.click(&link).unwrap();
    let verdict = verify_in_browser(session);
    assert_eq!(verdict["verdict"], "verified", "{verdict:#}");
    let checks = verdict["checks"].as_array().unwrap();
    for (check, ok) in [
        ("format", "true"),
        ("leaf", "true"),
        ("inclusion", "true"),
        ("log-signature", "true"),
        ("cosignature", "true"),
    ] {
        assert!(
            checks.iter().any(|c| c["check"] == check && c["ok"] == ok),
            "{check} should be {ok}: {verdict:#}"
        );
    }
    // Ed25519 ran in this browser, not on the node.
    assert!(page_text(session).contains("Log signature verified in this browser"));
    accessible(session, axe, "verify");
    shot(session, "05-proof-verified-in-browser");

    // A different entry does not verify against the same proof.
    let entry = session.find("#entry").unwrap();
    session.clear(&entry).unwrap();
    session.type_into(&entry, &"00".repeat(32)).unwrap();
    let verdict = verify_in_browser(session);
    assert_eq!(verdict["verdict"], "failed", "{verdict:#}");
    assert!(
        verdict["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "inclusion" && c["ok"] == "false"),
        "{verdict:#}"
    );
    shot(session, "06-tampered-entry-refused");

    // 5. The audit trail: the chain verifies and the desk officer's refusal is there.
    session.goto(&url("/ui/audit?account=d.smith")).unwrap();
    let body = page_text(session);
    assert!(body.contains("Hash chain verified"), "{body}");
    assert!(body.contains("role_not_permitted"), "{body}");
    accessible(session, axe, "audit trail");
    keyboard_reaches_everything(session, "audit trail filters");
    shot(session, "07-audit-trail");
}

/// Clicks "Verify in this browser" and waits for the verdict the script writes.
fn verify_in_browser(session: &Session) -> Value {
    let button = session.find("#verify-in-browser").unwrap();
    let hidden = session
        .script("return arguments[0].hidden;", vec![button.arg()])
        .unwrap();
    assert_eq!(hidden, json!(false), "the script shows its button");
    session
        .script(
            "document.getElementById('browser-result').removeAttribute('data-verdict');",
            vec![],
        )
        .unwrap();
    session.click(&button).unwrap();
    session
        .script_async(
            "const done = arguments[arguments.length - 1];
             const target = document.getElementById('browser-result');
             const started = Date.now();
             (function wait() {
               if (target.dataset.verdict) {
                 done({ verdict: target.dataset.verdict,
                        checks: Array.from(target.querySelectorAll('li')).map(li => ({ check: li.dataset.check, ok: li.dataset.ok, text: li.textContent })) });
               } else if (Date.now() - started > 20000) { done({ verdict: 'timeout', checks: [] }); }
               else { setTimeout(wait, 50); }
             })();",
            vec![],
        )
        .unwrap()
}

fn webdriver_element(value: &Value) -> webdriver::Element {
    webdriver::Element::from_value(value).expect("the script returned an element")
}

fn page_text(session: &Session) -> String {
    session
        .script("return document.body ? document.body.innerText : document.documentElement.textContent;", vec![])
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_owned()
}
