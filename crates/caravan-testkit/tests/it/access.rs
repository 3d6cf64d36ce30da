//! Accounts, tokens and the audit trail behave the same on every backend: tokens act only
//! while valid, the trail chains from its first row, survives a reopen, and cannot be
//! edited in place, even by SQL sent straight to the database.

use caravan_store::access::{
    Account, ApiToken, AuditEvent, AuditOutcome, AuditQuery, verify_audit_chain,
};
use caravan_store::{Conflict, Store, StoreError};

type Open<'a> = &'a dyn Fn() -> Result<Box<dyn Store>, StoreError>;

fn account(name: &str, role: &str) -> Account {
    Account {
        name: name.into(),
        display_name: format!("{name} (display)"),
        role: role.into(),
        disabled: false,
        created_at: 1_000,
    }
}

fn token(byte: u8, account: &str, expires_at: Option<i64>) -> ApiToken {
    ApiToken {
        sha256: [byte; 32],
        account: account.into(),
        label: "test".into(),
        created_at: 1_000,
        expires_at,
        revoked_at: None,
    }
}

fn event(n: i64, account: &str, action: &str, refused: bool) -> AuditEvent {
    AuditEvent {
        at: 2_000 + n,
        account: account.into(),
        role: "analyst".into(),
        action: action.into(),
        object: format!("obj-{}", n % 3),
        outcome: if refused {
            AuditOutcome::Refused
        } else {
            AuditOutcome::Allowed
        },
        code: refused.then(|| "role_not_permitted".to_owned()),
        detail: format!(r#"{{"n":{n}}}"#),
    }
}

fn access_story(open: Open<'_>) {
    let store = open().unwrap();
    store
        .create_account(&account("a.karimov", "analyst"))
        .unwrap();
    store
        .create_account(&account("j.miller", "desk_officer"))
        .unwrap();
    match store.create_account(&account("a.karimov", "supervisor")) {
        Err(StoreError::Conflict(Conflict::AccountExists { name })) => {
            assert_eq!(name, "a.karimov")
        }
        other => panic!("a duplicate account must conflict, got {other:?}"),
    }
    assert_eq!(store.account("a.karimov").unwrap().unwrap().role, "analyst");
    assert_eq!(store.account("nobody").unwrap(), None);
    let names: Vec<String> = store
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["a.karimov", "j.miller"]);

    // Tokens: valid until expiry or revocation, and only for enabled accounts.
    store.add_api_token(&token(1, "a.karimov", None)).unwrap();
    store
        .add_api_token(&token(2, "a.karimov", Some(5_000)))
        .unwrap();
    assert!(matches!(
        store.add_api_token(&token(3, "nobody", None)),
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .account_for_token(&[1; 32], 10_000)
            .unwrap()
            .unwrap()
            .name,
        "a.karimov"
    );
    assert!(store.account_for_token(&[2; 32], 4_999).unwrap().is_some());
    assert!(
        store.account_for_token(&[2; 32], 5_000).unwrap().is_none(),
        "expired"
    );
    assert!(
        store.account_for_token(&[9; 32], 1).unwrap().is_none(),
        "unknown"
    );
    store.set_account_disabled("a.karimov", true).unwrap();
    assert!(
        store.account_for_token(&[1; 32], 10_000).unwrap().is_none(),
        "disabled"
    );
    assert!(matches!(
        store.add_api_token(&token(4, "a.karimov", None)),
        Err(StoreError::NotFound)
    ));
    store.set_account_disabled("a.karimov", false).unwrap();
    assert!(store.account_for_token(&[1; 32], 10_000).unwrap().is_some());
    store.revoke_api_token(&[1; 32], 11_000).unwrap();
    assert!(
        store.account_for_token(&[1; 32], 12_000).unwrap().is_none(),
        "revoked"
    );
    assert!(matches!(
        store.revoke_api_token(&[1; 32], 12_000),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_account_disabled("nobody", true),
        Err(StoreError::NotFound)
    ));

    // The page language an officer chose (issue 9): none until chosen, then kept.
    assert_eq!(store.account_language("a.karimov").unwrap(), None);
    store.set_account_language("a.karimov", Some("uz")).unwrap();
    store.set_account_language("j.miller", Some("ru")).unwrap();
    store.set_account_language("j.miller", Some("en")).unwrap();
    assert_eq!(
        store.account_language("a.karimov").unwrap().as_deref(),
        Some("uz")
    );
    assert_eq!(
        store.account_language("j.miller").unwrap().as_deref(),
        Some("en")
    );
    assert!(
        store.set_account_language("a.karimov", Some("de")).is_err(),
        "only the pages' languages"
    );
    assert_eq!(
        store.account_language("a.karimov").unwrap().as_deref(),
        Some("uz"),
        "a refused language changes nothing"
    );
    assert!(matches!(
        store.account_language("nobody"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_account_language("nobody", Some("ru")),
        Err(StoreError::NotFound)
    ));

    // The trail chains from its first row.
    for n in 0..25 {
        let who = if n % 2 == 0 { "a.karimov" } else { "j.miller" };
        let row = store
            .append_audit(&event(
                n,
                who,
                if n % 5 == 0 {
                    "screen.hit.view"
                } else {
                    "request.view"
                },
                n % 7 == 0,
            ))
            .unwrap();
        assert_eq!(row.seq, n + 1);
    }
    let all = store.list_audit(&AuditQuery::default()).unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(all[0].prev_sha256, [0; 32]);
    verify_audit_chain(&all).unwrap();
    assert_eq!(all[7].event.outcome, AuditOutcome::Refused);
    assert_eq!(all[7].event.code.as_deref(), Some("role_not_permitted"));

    let mine = store
        .list_audit(&AuditQuery {
            account: Some("j.miller".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 12);
    assert!(mine.iter().all(|r| r.event.account == "j.miller"));
    let screening = store
        .list_audit(&AuditQuery {
            action_prefix: Some("screen.".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(
        screening.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 6, 11, 16, 21]
    );
    // A prefix is a prefix, not a LIKE pattern.
    let pattern = store
        .list_audit(&AuditQuery {
            action_prefix: Some("%".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(pattern.is_empty());
    let page = store
        .list_audit(&AuditQuery {
            after_seq: Some(20),
            limit: 3,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [21, 22, 23]);
    let object = store
        .list_audit(&AuditQuery {
            object: Some("obj-1".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert!(object.len() >= 8 && object.iter().all(|r| r.event.object == "obj-1"));

    // Reopened, the trail and the accounts are all there and the chain continues.
    drop(store);
    let store = open().unwrap();
    let next = store
        .append_audit(&event(99, "j.miller", "request.view", false))
        .unwrap();
    assert_eq!(next.seq, 26);
    assert_eq!(
        store.account_language("a.karimov").unwrap().as_deref(),
        Some("uz"),
        "the language survives a reopen"
    );
    store.set_account_language("a.karimov", None).unwrap();
    assert_eq!(store.account_language("a.karimov").unwrap(), None);
    assert_eq!(next.prev_sha256, all[24].sha256);
    verify_audit_chain(&store.list_audit(&AuditQuery::default()).unwrap()).unwrap();
    assert!(store.account_for_token(&[2; 32], 4_000).unwrap().is_some());
}

#[test]
fn sqlite_access_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.sqlite");
    access_story(&|| {
        caravan_store_sqlite::SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>)
    });
    // The trail is append-only below the store too: the database itself refuses an edit.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let edit = conn.execute(
        "UPDATE access_audit SET outcome = 'allowed' WHERE seq = 8",
        [],
    );
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM access_audit WHERE seq = 1", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[test]
fn postgres_access_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_access_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "access_story");
    access_story(&|| {
        caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name())
            .map(|s| Box::new(s) as Box<dyn Store>)
    });
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("SET search_path TO \"{}\"", schema.name()))
        .unwrap();
    let edit = client.execute(
        "UPDATE access_audit SET outcome = 'allowed' WHERE seq = 8",
        &[],
    );
    assert!(db_message(edit.unwrap_err()).contains("append-only"));
    let delete = client.execute("DELETE FROM access_audit WHERE seq = 1", &[]);
    assert!(db_message(delete.unwrap_err()).contains("append-only"));
}

/// The server's own message: `postgres::Error`'s Display says only "db error".
fn db_message(err: postgres::Error) -> String {
    err.as_db_error()
        .map(|db| db.message().to_owned())
        .unwrap_or_else(|| err.to_string())
}
