//! Two nodes witnessing each other over real HTTP with SQLite stores, a forked log caught
//! as a split view, and `caravan log verify` against every single-byte change of a proof.

use std::sync::Arc;

use caravan_log::entry::{Entry, EntryBody};
use caravan_log::keys::NodeKeys;
use caravan_log::storage::MemoryLogStore;
use caravan_log::witness::WitnessOutcome;
use caravan_log::{FixedClock, LogConfig, LogNode, Partner};
use caravan_store::log::LogStore;
use caravan_store_sqlite::SqliteStore;

const A: &str = "caravan.a.example/agreement";
const B: &str = "caravan.b.example/agreement";
const NOW_MS: u64 = 1_700_000_000_000;

fn entry(i: u64, salt: u8) -> Entry {
    Entry {
        t: NOW_MS + i,
        agreement_id: "agreement".into(),
        body: EntryBody::AuditAnchor {
            head: [salt; 32],
            event_count: i,
        },
    }
}

fn partner(name: &str, origin: &str, keys: &NodeKeys, addr: std::net::SocketAddr) -> Partner {
    Partner {
        name: name.into(),
        log_origin: origin.into(),
        log_key: keys.log_verifier(),
        witness_key: keys.witness_verifier(),
        url: format!("http://{addr}"),
    }
}

#[tokio::test]
async fn two_nodes_witness_each_other_and_a_fork_is_caught() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let keys = [
        NodeKeys::from_seeds(A, &[1; 32], "caravan.a.example/witness", &[2; 32]).unwrap(),
        NodeKeys::from_seeds(B, &[3; 32], "caravan.b.example/witness", &[4; 32]).unwrap(),
    ];
    let stores: Vec<Arc<SqliteStore>> = dirs
        .iter()
        .map(|d| Arc::new(SqliteStore::open(&d.path().join("node.sqlite")).unwrap()))
        .collect();
    let listeners = [
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ];
    let addrs = [
        listeners[0].local_addr().unwrap(),
        listeners[1].local_addr().unwrap(),
    ];
    let origins = [A, B];
    let mut nodes = Vec::new();
    for i in 0..2 {
        let j = 1 - i;
        let mut config = LogConfig::new(origins[i], "agreement");
        config
            .partners
            .push(partner("other", origins[j], &keys[j], addrs[j]));
        let store: Arc<dyn LogStore> = stores[i].clone();
        nodes.push(
            LogNode::open(store, keys[i].clone(), config, Arc::new(FixedClock(NOW_MS))).unwrap(),
        );
    }
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut servers = Vec::new();
    for ((listener, node), store) in listeners.into_iter().zip(&nodes).zip(&stores) {
        let state = caravan_web::AppState {
            store: store.clone(),
            node_name: Arc::from("node"),
            log: Some(node.clone()),
            exchange: None,
        };
        let mut stopped = stop.subscribe();
        servers.push(tokio::spawn(caravan_web::serve(
            listener,
            caravan_web::router(state),
            async move {
                let _ = stopped.recv().await;
            },
        )));
    }

    for i in 0..3 {
        nodes[0].submit(&entry(i, 0)).unwrap();
        nodes[1].submit(&entry(i, 1)).unwrap();
    }
    for _round in 0..2 {
        for node in &nodes {
            let settled = node.settle().await.unwrap();
            for outcome in &settled.witnesses {
                assert!(
                    matches!(outcome, WitnessOutcome::Cosigned { .. }),
                    "{outcome:?}"
                );
            }
        }
    }
    // Each witnessed the other: the stored state and the witness_seen entries agree.
    for (i, node) in nodes.iter().enumerate() {
        let other = &nodes[1 - i];
        let witnessed = node.store().witnessed(origins[1 - i]).unwrap().unwrap();
        let other_head = other.store().open_log(origins[1 - i]).unwrap();
        let other_cp = other_head.checkpoint.unwrap();
        assert_eq!(
            (witnessed.size, witnessed.root),
            (other_cp.size, other_cp.root)
        );
        let note = String::from_utf8(other_cp.note).unwrap();
        assert!(
            note.contains(&format!("— caravan.{}.example/witness ", ["a", "b"][i])),
            "{note}"
        );
        let entries = node.store().entries(origins[i], 0, 100).unwrap();
        assert!(entries.iter().any(|e| matches!(
            Entry::decode(e).unwrap().body,
            EntryBody::WitnessSeen { .. }
        )));
    }
    assert!(stores[1].alarms().unwrap().is_empty());

    // A fork of A: same origin and key, different entries, shown to B.
    let mut fork_config = LogConfig::new(A, "agreement");
    fork_config
        .partners
        .push(partner("b", B, &keys[1], addrs[1]));
    let fork = LogNode::open(
        Arc::new(MemoryLogStore::new()),
        keys[0].clone(),
        fork_config,
        Arc::new(FixedClock(NOW_MS)),
    )
    .unwrap();
    for i in 0..6 {
        fork.submit(&entry(i, 9)).unwrap();
    }
    let settled = fork.settle().await.unwrap();
    assert!(
        matches!(&settled.witnesses[0], WitnessOutcome::Failed { reason, .. } if reason.contains("422")),
        "{settled:?}"
    );
    let alarms = stores[1].alarms().unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(
        (alarms[0].kind.as_str(), alarms[0].origin.as_str()),
        ("split_view", A)
    );

    let _ = stop.send(());
    for server in servers {
        server.await.unwrap().unwrap();
    }
}

#[test]
fn log_verify_accepts_a_genuine_proof_and_rejects_every_single_byte_change() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_caravan"))
        .args([
            "demo",
            "--exit",
            "--shipments",
            "30",
            "--us-listen",
            "127.0.0.1:0",
            "--uz-listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let us = NodeKeys::load_or_generate(
        &dir.path().join("us"),
        "caravan.cbp.example/us-uz-cmaa-2024",
        "caravan.cbp.example/witness",
    )
    .unwrap();
    let uz = NodeKeys::load_or_generate(
        &dir.path().join("uz"),
        "caravan.customs.uz.example/us-uz-cmaa-2024",
        "caravan.customs.uz.example/witness",
    )
    .unwrap();
    let store = SqliteStore::open(&dir.path().join("us/caravan.sqlite")).unwrap();
    let entry = store
        .entries("caravan.cbp.example/us-uz-cmaa-2024", 1, 1)
        .unwrap()
        .pop()
        .unwrap();
    let entry_path = dir.path().join("entry.bin");
    std::fs::write(&entry_path, &entry).unwrap();
    let proof = std::fs::read(dir.path().join("us/entry-1.tlog-proof")).unwrap();
    let proof_path = dir.path().join("check.tlog-proof");
    let verify = |bytes: &[u8]| {
        std::fs::write(&proof_path, bytes).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_caravan"))
            .args([
                "log",
                "verify",
                "--log-key",
                &us.log_vkey(),
                "--witness-key",
                &uz.witness_vkey(),
                "--proof",
            ])
            .arg(&proof_path)
            .arg("--entry")
            .arg(&entry_path)
            .output()
            .unwrap()
    };
    let genuine = verify(&proof);
    let said = String::from_utf8(genuine.stdout).unwrap();
    assert!(genuine.status.success(), "{said}");
    assert!(
        said.starts_with("VALID. Entry 1 of log caravan.cbp.example/us-uz-cmaa-2024"),
        "{said}"
    );
    for i in 0..proof.len() {
        let mut changed = proof.clone();
        changed[i] ^= 0x01;
        let out = verify(&changed);
        assert_eq!(
            out.status.code(),
            Some(1),
            "byte {i} changed, still accepted: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
