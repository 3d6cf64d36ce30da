//! The tlog-tiles read API and the witness endpoint over a real listener.

use std::sync::Arc;

use caravan_log::entry::{Entry, EntryBody};
use caravan_log::keys::NodeKeys;
use caravan_log::storage::MemoryLogStore;
use caravan_log::{FixedClock, LogConfig, LogNode, Partner};
use caravan_store_sqlite::SqliteStore;
use caravan_tlog::checkpoint::Checkpoint;
use caravan_tlog::note::Ed25519Signer;
use caravan_tlog::rfc6962::MemoryTree;
use caravan_tlog::witness::AddCheckpointRequest;
use caravan_web::{AppState, router, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORIGIN: &str = "caravan.uz.example/agreement";
const PARTNER: &str = "caravan.us.example/agreement";
const NOW_MS: u64 = 1_700_000_000_000;

struct Reply {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

async fn call(addr: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading an oversized body.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8(raw[..split].to_vec()).unwrap();
    Reply {
        status: headers[9..12].parse().unwrap(),
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn entry(i: u64) -> Entry {
    Entry {
        t: NOW_MS + i,
        agreement_id: "agreement".into(),
        body: EntryBody::AuditAnchor {
            head: [i as u8; 32],
            event_count: i,
        },
    }
}

struct Harness {
    addr: std::net::SocketAddr,
    node: Arc<LogNode>,
    partner_key: Ed25519Signer,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(entries: u64) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let partner_key = Ed25519Signer::from_seed(PARTNER, &[11; 32]).unwrap();
    let partner_witness = caravan_tlog::cosignature::CosignatureSigner::from_seed(
        "caravan.us.example/witness",
        &[12; 32],
    )
    .unwrap();
    let keys =
        NodeKeys::from_seeds(ORIGIN, &[1; 32], "caravan.uz.example/witness", &[2; 32]).unwrap();
    let mut config = LogConfig::new(ORIGIN, "agreement");
    config.partners.push(Partner {
        name: "US".into(),
        log_origin: PARTNER.into(),
        log_key: partner_key.verifier(),
        witness_key: partner_witness.verifier(),
        url: "http://127.0.0.1:9".into(),
    });
    let node = LogNode::open(
        Arc::new(MemoryLogStore::new()),
        keys,
        config,
        Arc::new(FixedClock(NOW_MS)),
    )
    .unwrap();
    for i in 0..entries {
        node.submit(&entry(i)).unwrap();
    }
    node.appender().flush().unwrap();
    node.checkpointer().step(NOW_MS).unwrap();
    let state = AppState {
        store: Arc::new(SqliteStore::open(&dir.path().join("node.sqlite")).unwrap()),
        node_name: Arc::from("UZ Customs"),
        log: Some(node.clone()),
        exchange: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router(state), async move {
        let _ = stopped.await;
    }));
    Harness {
        addr,
        node,
        partner_key,
        stop,
        server,
        _dir: dir,
    }
}

impl Harness {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.server.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn tiles_checkpoint_and_cache_headers() {
    let h = start(300).await;
    let cp = call(h.addr, "GET", "/log/agreement/checkpoint", b"").await;
    assert_eq!(cp.status, 200);
    assert_eq!(cp.header("cache-control").unwrap(), "no-cache");
    assert!(cp.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        String::from_utf8(cp.body)
            .unwrap()
            .starts_with(&format!("{ORIGIN}\n300\n"))
    );

    let full = call(h.addr, "GET", "/log/agreement/tile/0/000", b"").await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len(), 8192);
    assert_eq!(
        full.header("cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        full.header("content-type").unwrap(),
        "application/octet-stream"
    );
    // The level-0 tile holds the leaf hashes.
    let mut tree = MemoryTree::new();
    for i in 0..300 {
        tree.append(&entry(i).encode().unwrap());
    }
    assert_eq!(&full.body[..32], &tree.leaf_hashes()[0]);

    let partial = call(h.addr, "GET", "/log/agreement/tile/0/001.p/44", b"").await;
    assert_eq!(partial.status, 200);
    assert_eq!(partial.body.len(), 44 * 32);
    assert_eq!(
        partial.header("cache-control").unwrap(),
        "public, max-age=60"
    );
    let level1 = call(h.addr, "GET", "/log/agreement/tile/1/000.p/1", b"").await;
    assert_eq!(level1.status, 200);
    assert_eq!(level1.body.len(), 32);

    let bundle = call(h.addr, "GET", "/log/agreement/tile/entries/001.p/44", b"").await;
    assert_eq!(bundle.status, 200);
    let entries = caravan_tlog::tiles::decode_entry_bundle(&bundle.body).unwrap();
    assert_eq!(entries.len(), 44);
    assert_eq!(Entry::decode(entries[0]).unwrap(), entry(256));
    let full_bundle = call(h.addr, "GET", "/log/agreement/tile/entries/000", b"").await;
    assert_eq!(full_bundle.status, 200);
    assert_eq!(
        full_bundle.header("cache-control").unwrap(),
        "public, max-age=31536000, immutable"
    );

    for (path, status) in [
        ("/log/agreement/tile/0/001", 404),      // not full yet
        ("/log/agreement/tile/0/001.p/45", 404), // beyond the tree
        ("/log/agreement/tile/1/000", 404),      // level 1 is partial
        ("/log/agreement/tile/entries/002.p/1", 404),
        ("/log/other/tile/0/000", 404), // unknown log
        ("/log/other/checkpoint", 404),
        ("/log/agreement/tile/0/0", 400),         // not zero-padded
        ("/log/agreement/tile/0/000.p/256", 400), // width out of range
        ("/log/agreement/tile/0/000.p/0", 400),
        ("/log/agreement/tile/64/000", 400), // level out of range
        ("/log/agreement/tile/00/000", 400), // leading zero
        ("/log/agreement/tile/0/x000/001", 400), // leading x000 element
        ("/log/agreement/tile/0/000/", 400),
    ] {
        let reply = call(h.addr, "GET", path, b"").await;
        assert_eq!(reply.status, status, "{path}");
        if status >= 400 {
            let body = String::from_utf8(reply.body).unwrap();
            assert!(body.contains("\"code\""), "{path}: {body}");
        }
    }
    h.stop().await;
}

fn request(tree: &MemoryTree, old: u64, key: &Ed25519Signer) -> Vec<u8> {
    let proof = if old == 0 || old == tree.size() {
        Vec::new()
    } else {
        tree.consistency_proof(old, tree.size()).unwrap()
    };
    AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint: Checkpoint::new(PARTNER, tree.size(), tree.root())
            .sign(&[key])
            .unwrap(),
    }
    .encode()
}

fn tree(n: u8, salt: u8) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.append(&[salt, i]);
    }
    t
}

#[tokio::test]
async fn witness_status_codes() {
    let h = start(1).await;
    let key = &h.partner_key;
    let post = |body: Vec<u8>| {
        let addr = h.addr;
        async move { call(addr, "POST", "/witness/add-checkpoint", &body).await }
    };
    let ok = post(request(&tree(4, 0), 0, key)).await;
    assert_eq!(ok.status, 200);
    assert!(
        String::from_utf8(ok.body)
            .unwrap()
            .starts_with("— caravan.uz.example/witness ")
    );

    let stale = post(request(&tree(6, 0), 0, key)).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.header("content-type").unwrap(), "text/x.tlog.size");
    assert_eq!(stale.body, b"4\n");

    assert_eq!(post(request(&tree(6, 0), 4, key)).await.status, 200);
    assert_eq!(post(b"old 0\n".to_vec()).await.status, 400);
    let impostor = Ed25519Signer::from_seed(PARTNER, &[99; 32]).unwrap();
    assert_eq!(post(request(&tree(7, 0), 6, &impostor)).await.status, 403);
    let stranger = Ed25519Signer::from_seed("caravan.x.example/log", &[5; 32]).unwrap();
    let strange = AddCheckpointRequest {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: Checkpoint::new("caravan.x.example/log", 1, tree(1, 0).root())
            .sign(&[&stranger])
            .unwrap(),
    };
    assert_eq!(post(strange.encode()).await.status, 404);
    let mut forged = AddCheckpointRequest::parse(&request(&tree(9, 1), 6, key)).unwrap();
    forged.proof = tree(9, 0).consistency_proof(6, 9).unwrap();
    assert_eq!(post(forged.encode()).await.status, 422);
    let alarms = caravan_store::log::LogStore::alarms(h.node.store().as_ref()).unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].kind, "split_view");

    let huge = vec![b'a'; caravan_tlog::witness::MAX_REQUEST_SIZE + 1];
    assert_eq!(post(huge).await.status, 413);
    assert_eq!(
        call(h.addr, "GET", "/witness/add-checkpoint", b"")
            .await
            .status,
        405
    );
    h.stop().await;
}

#[test]
fn overload_is_503_with_retry_after() {
    use axum::response::IntoResponse;
    let err = caravan_log::appender::AppendError::Overloaded {
        retry_after: std::time::Duration::from_millis(1500),
    };
    let response = caravan_web::ApiError::from(err).into_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
}
