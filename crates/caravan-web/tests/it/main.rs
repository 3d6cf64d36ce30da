//! HTTP tests of caravan-web against a real listener and a real SQLite store.

use std::sync::Arc;

use caravan_store_sqlite::SqliteStore;
use caravan_web::{AppState, router, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod admin;
mod assistance;
mod assistance_more;
mod auditor;
mod auth;
mod desk_forms;
mod i18n;
mod log;
mod mirror;
mod partners;
mod routes;
mod screen;
mod security;
mod target;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.sqlite")).unwrap();
    let state = AppState {
        store: Arc::new(store),
        node_name: Arc::from("UZ Customs"),
        log: None,
        exchange: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router(state), async move {
        let _ = stopped.await;
    }));

    let (status, body) = get(addr, "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"status":"ok","node":"UZ Customs"}"#);
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"status":"ready","node":"UZ Customs"}"#);
    let (status, _) = get(addr, "/nope").await;
    assert_eq!(status, 404);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// An account in `role` with one API token; returns the token secret.
pub(crate) fn officer(store: &dyn caravan_store::Store, name: &str, role: &str) -> String {
    use caravan_store::access::{Account, ApiToken};
    use caravan_web::auth::{new_token_secret, token_digest};
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
            label: "test".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        })
        .unwrap();
    secret
}
