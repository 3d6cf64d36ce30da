//! What only the PostgreSQL backend has: a server to lose, and nodes racing at startup.

use std::net::TcpListener;

use caravan_store::{DeclarationStore, StoreError};
use caravan_store_postgres::PgStore;
use caravan_testkit::pg::{self, TestSchema};

#[test]
fn unreachable_server_is_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/caravan_test?connect_timeout=5");
    match PgStore::connect(&url) {
        Err(StoreError::Unavailable(message)) => assert!(message.contains("connect"), "{message}"),
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("connected to a closed port"),
    }
}

#[test]
fn bad_url_and_schema_names_are_refused() {
    assert!(matches!(
        PgStore::connect("postgres://[::1"),
        Err(StoreError::Other(_))
    ));
    assert!(matches!(
        PgStore::connect_with_schema("postgres://postgres@127.0.0.1:1/x", "bad\"name"),
        Err(StoreError::Other(_))
    ));
}

#[test]
fn nodes_starting_together_migrate_once() {
    let Some(url) = pg::url("nodes_starting_together_migrate_once") else {
        return;
    };
    let schema = TestSchema::new(&url, "race");
    let stores: Vec<Result<PgStore, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PgStore::connect_with_schema(&url, schema.name())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for store in &stores {
        let store = store.as_ref().expect("every racing node connects");
        assert_eq!(store.counts().expect("counts").declarations, 0);
    }
    pg::assert_each_migration_applied_once(&schema);
}

#[test]
fn lost_connection_is_replaced() {
    let Some(url) = pg::url("lost_connection_is_replaced") else {
        return;
    };
    let schema = TestSchema::new(&url, "reconnect");
    // A distinct application name picks out this store's connection among parallel tests.
    let sep = if url.contains('?') { '&' } else { '?' };
    let tagged = format!("{url}{sep}application_name={}", schema.name());
    let store = PgStore::connect_with_schema(&tagged, schema.name()).expect("connect");
    store.ping().expect("ping");
    // Kill the store's own backend, as a server restart or a network cut would.
    let mut admin = schema.client().expect("connect");
    let killed: i64 = admin
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE application_name = $1",
            &[&schema.name()],
        )
        .expect("terminate")
        .get(0);
    assert_eq!(killed, 1);
    // The first call after the cut may fail as Unavailable; the next reconnects.
    match store.ping() {
        Ok(()) | Err(StoreError::Unavailable(_)) => {}
        Err(other) => panic!("a lost connection is Unavailable, got {other:?}"),
    }
    store.ping().expect("reconnected");
    assert_eq!(
        store.counts().expect("counts after reconnect").declarations,
        0
    );
}
