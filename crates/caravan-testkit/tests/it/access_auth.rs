//! Sign-in credentials behave the same on every backend (migration 0011): passwords and
//! TOTP secrets are kept per account, a TOTP step is accepted once, the last enabled
//! administrator cannot be demoted or disabled, a role change can revoke the account's
//! sessions, pending sign-ins expire, and failed sign-ins lock a subject out with the
//! policy's doubling delay, durably across a reopen.

use caravan_store::access::{
    Account, AccountChange, AccountChanged, ApiToken, PendingSignin, ThrottlePolicy,
};
use caravan_store::{Store, StoreError};

type Open<'a> = &'a dyn Fn() -> Result<Box<dyn Store>, StoreError>;

fn account(name: &str, role: &str) -> Account {
    Account {
        name: name.into(),
        display_name: name.into(),
        role: role.into(),
        disabled: false,
        created_at: 1_000,
    }
}

fn auth_story(open: Open<'_>) {
    let store = open().unwrap();
    store
        .create_account_with_password(&account("admin.uz", "administrator"), "$argon2id$x", true)
        .unwrap();
    store
        .create_account(&account("a.karimov", "analyst"))
        .unwrap();
    assert!(matches!(
        store.create_account_with_password(&account("a.karimov", "analyst"), "p", false),
        Err(StoreError::Conflict(_))
    ));

    // Credentials: none yet, then a password, then a confirmed TOTP secret.
    let c = store.credentials("a.karimov").unwrap().unwrap();
    assert_eq!(
        (c.password_phc, c.must_change, c.totp_secret),
        (None, false, None)
    );
    assert!(store.credentials("nobody").unwrap().is_none());
    let admin = store.credentials("admin.uz").unwrap().unwrap();
    assert_eq!(admin.password_phc.as_deref(), Some("$argon2id$x"));
    assert!(admin.must_change);
    store
        .set_password("a.karimov", "$argon2id$y", false, 2_000)
        .unwrap();
    assert!(matches!(
        store.set_password("nobody", "p", false, 2_000),
        Err(StoreError::NotFound)
    ));
    assert!(
        !store.confirm_totp("a.karimov", 5, 2_000).unwrap(),
        "nothing pending"
    );
    assert!(
        !store.use_totp_step("a.karimov", 5).unwrap(),
        "no secret yet"
    );
    store
        .set_totp_pending("a.karimov", Some(&[7; 20]), 2_000)
        .unwrap();
    let c = store.credentials("a.karimov").unwrap().unwrap();
    assert_eq!(c.totp_pending.as_deref(), Some(&[7u8; 20][..]));
    assert_eq!(c.totp_secret, None);
    assert!(store.confirm_totp("a.karimov", 10, 2_000).unwrap());
    let c = store.credentials("a.karimov").unwrap().unwrap();
    assert_eq!(c.totp_secret.as_deref(), Some(&[7u8; 20][..]));
    assert_eq!((c.totp_pending, c.totp_last_step), (None, Some(10)));
    assert_eq!(c.password_phc.as_deref(), Some("$argon2id$y"));
    // A step is accepted once, and never one at or before the last.
    assert!(!store.use_totp_step("a.karimov", 10).unwrap());
    assert!(!store.use_totp_step("a.karimov", 9).unwrap());
    assert!(store.use_totp_step("a.karimov", 11).unwrap());
    assert!(!store.use_totp_step("a.karimov", 11).unwrap());
    store.reset_totp("a.karimov", 3_000).unwrap();
    assert_eq!(
        store.credentials("a.karimov").unwrap().unwrap().totp_secret,
        None
    );
    assert!(matches!(
        store.reset_totp("nobody", 3_000),
        Err(StoreError::NotFound)
    ));

    // The last enabled administrator stays.
    let demote = AccountChange {
        role: Some("analyst".into()),
        disabled: None,
    };
    let disable = AccountChange {
        role: None,
        disabled: Some(true),
    };
    assert_eq!(
        store.change_account("admin.uz", &demote).unwrap(),
        AccountChanged::LastAdministrator
    );
    assert_eq!(
        store.change_account("admin.uz", &disable).unwrap(),
        AccountChanged::LastAdministrator
    );
    assert_eq!(
        store.account("admin.uz").unwrap().unwrap().role,
        "administrator"
    );
    let promote = AccountChange {
        role: Some("administrator".into()),
        disabled: None,
    };
    match store.change_account("a.karimov", &promote).unwrap() {
        AccountChanged::Changed(a) => assert_eq!(a.role, "administrator"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.change_account("admin.uz", &disable).unwrap(),
        AccountChanged::Changed(Account { disabled: true, .. })
    ));
    assert_eq!(
        store.change_account("a.karimov", &demote).unwrap(),
        AccountChanged::LastAdministrator,
        "admin.uz is disabled, so a.karimov is the last one now"
    );
    assert!(matches!(
        store.change_account("nobody", &demote),
        Err(StoreError::NotFound)
    ));

    // Sessions of one label are revoked together; other tokens stay.
    for (byte, label) in [(1u8, "browser session"), (2, "browser session"), (3, "cli")] {
        store
            .add_api_token(&ApiToken {
                sha256: [byte; 32],
                account: "a.karimov".into(),
                label: label.into(),
                created_at: 1_000,
                expires_at: None,
                revoked_at: None,
            })
            .unwrap();
    }
    assert_eq!(
        store
            .revoke_account_tokens("a.karimov", Some("browser session"), 4_000)
            .unwrap(),
        2
    );
    assert!(store.account_for_token(&[1; 32], 4_001).unwrap().is_none());
    assert!(store.account_for_token(&[3; 32], 4_001).unwrap().is_some());
    assert_eq!(
        store
            .revoke_account_tokens("a.karimov", None, 4_002)
            .unwrap(),
        1
    );

    // Pending sign-ins expire and are deleted with the expired ones.
    let pending = |byte: u8, expires_at: i64| PendingSignin {
        sha256: [byte; 32],
        account: "a.karimov".into(),
        totp_ok: false,
        created_at: 1_000,
        expires_at,
    };
    store.create_signin_pending(&pending(9, 5_000)).unwrap();
    store.create_signin_pending(&pending(8, 2_000)).unwrap();
    assert_eq!(
        store.signin_pending(&[9; 32], 4_999).unwrap(),
        Some(pending(9, 5_000))
    );
    assert_eq!(store.signin_pending(&[9; 32], 5_000).unwrap(), None);
    store.set_signin_pending_totp_ok(&[9; 32]).unwrap();
    assert!(
        store
            .signin_pending(&[9; 32], 3_000)
            .unwrap()
            .unwrap()
            .totp_ok
    );
    assert!(matches!(
        store.set_signin_pending_totp_ok(&[1; 32]),
        Err(StoreError::NotFound)
    ));
    store.delete_signin_pending(&[9; 32], 3_000).unwrap();
    assert_eq!(store.signin_pending(&[9; 32], 3_000).unwrap(), None);
    assert_eq!(
        store.signin_pending(&[8; 32], 0).unwrap(),
        None,
        "expired rows go too"
    );

    // Throttling: the policy's free tries, then a doubling lockout, durable.
    let policy = ThrottlePolicy::ACCOUNT;
    let mut last = None;
    for i in 1..=7u32 {
        let t = store
            .record_signin_failure("account:a.karimov", &policy, 10_000 + i64::from(i))
            .unwrap();
        assert_eq!(t.failures, i);
        assert_eq!(t.locked_until > 0, i >= policy.free, "failure {i}");
        last = Some(t);
    }
    drop(store);
    let store = open().unwrap();
    let stored = store.signin_throttle("account:a.karimov").unwrap();
    assert_eq!(stored, last);
    assert_eq!(stored.unwrap().locked_until, 10_007 + 4 * policy.base_ms);
    // A quiet hour forgets; a clear forgets at once.
    let t = store
        .record_signin_failure(
            "account:a.karimov",
            &policy,
            10_007 + policy.forget_after_ms,
        )
        .unwrap();
    assert_eq!((t.failures, t.locked_until), (1, 0));
    store.clear_signin_failures("account:a.karimov").unwrap();
    assert_eq!(store.signin_throttle("account:a.karimov").unwrap(), None);
    assert_eq!(store.signin_throttle("address:127.0.0.1").unwrap(), None);
}

#[test]
fn sqlite_auth_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.sqlite");
    auth_story(&|| {
        caravan_store_sqlite::SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>)
    });
}

#[test]
fn postgres_auth_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_auth_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "auth_story");
    auth_story(&|| {
        caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name())
            .map(|s| Box::new(s) as Box<dyn Store>)
    });
}
