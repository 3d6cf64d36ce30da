//! The witness server over the in-memory store: cosigning, refusals, split-view alarms.

use std::sync::Arc;

use caravan_log::appender::{Appender, AppenderConfig};
use caravan_log::entry::{Entry, EntryBody};
use caravan_log::storage::MemoryLogStore;
use caravan_log::witness::{WitnessError, WitnessServer};
use caravan_store::log::LogStore;
use caravan_tlog::checkpoint::Checkpoint;
use caravan_tlog::cosignature::CosignatureSigner;
use caravan_tlog::note::Ed25519Signer;
use caravan_tlog::rfc6962::MemoryTree;
use caravan_tlog::witness::AddCheckpointRequest;

const PARTNER: &str = "caravan.partner.example/log";
const NOW_MS: u64 = 1_700_000_000_000;

fn tree(n: u8, salt: u8) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.append(&[salt, i]);
    }
    t
}

fn request(tree: &MemoryTree, old: u64, key: &Ed25519Signer) -> Vec<u8> {
    let signed = Checkpoint::new(PARTNER, tree.size(), tree.root())
        .sign(&[key])
        .unwrap();
    let proof = if old == 0 || old == tree.size() {
        Vec::new()
    } else {
        tree.consistency_proof(old, tree.size()).unwrap()
    };
    AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint: signed,
    }
    .encode()
}

fn status(result: Result<String, WitnessError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(WitnessError::Refused(r)) => r.status(),
        Err(WitnessError::Store(e)) => panic!("store error {e}"),
    }
}

#[test]
fn cosigns_forward_refuses_by_code_and_alarms_on_a_fork() {
    let store = Arc::new(MemoryLogStore::new());
    let partner_key = Ed25519Signer::from_seed(PARTNER, &[3; 32]).unwrap();
    let witness_key = CosignatureSigner::from_seed("caravan.me.example/witness", &[4; 32]).unwrap();
    let mut server = WitnessServer::new(store.clone(), witness_key);
    server.follow(PARTNER, partner_key.verifier()).unwrap();
    let own = Appender::open(
        store.clone(),
        "caravan.me.example/log",
        AppenderConfig::default(),
    )
    .unwrap();
    server.record_in(own.clone(), "agreement");

    let t5 = tree(5, 0);
    let t9 = tree(9, 0);
    // First sight: old 0.
    let body = server
        .add_checkpoint(&request(&t5, 0, &partner_key), NOW_MS)
        .unwrap();
    assert!(body.starts_with("— caravan.me.example/witness "), "{body}");
    assert_eq!(store.witnessed(PARTNER).unwrap().unwrap().size, 5);
    // Stale old size: 409 with the stored size.
    match server.add_checkpoint(&request(&t9, 0, &partner_key), NOW_MS) {
        Err(WitnessError::Refused(r)) => {
            assert_eq!(r.status(), 409);
            assert_eq!(r.body().unwrap(), ("text/x.tlog.size", "5\n".to_owned()));
        }
        other => panic!("{other:?}"),
    }
    // Forward with a proof.
    assert_eq!(
        status(server.add_checkpoint(&request(&t9, 5, &partner_key), NOW_MS)),
        200
    );
    // Unknown origin, wrong key, old > size, garbage.
    let stranger = Ed25519Signer::from_seed("caravan.stranger.example/log", &[5; 32]).unwrap();
    let strange = AddCheckpointRequest {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: Checkpoint::new("caravan.stranger.example/log", 1, tree(1, 0).root())
            .sign(&[&stranger])
            .unwrap(),
    }
    .encode();
    assert_eq!(status(server.add_checkpoint(&strange, NOW_MS)), 404);
    let impostor = Ed25519Signer::from_seed(PARTNER, &[6; 32]).unwrap();
    assert_eq!(
        status(server.add_checkpoint(&request(&tree(10, 0), 9, &impostor), NOW_MS)),
        403
    );
    let mut too_old = request(&t9, 9, &partner_key);
    too_old.splice(0..5, b"old 10".iter().copied());
    assert_eq!(status(server.add_checkpoint(&too_old, NOW_MS)), 400);
    assert_eq!(status(server.add_checkpoint(b"hello", NOW_MS)), 400);
    assert!(store.alarms().unwrap().is_empty());

    // A fork: same key, different entries, larger size — the proof cannot verify.
    let fork = tree(12, 1);
    let mut forged = AddCheckpointRequest::parse(&request(&fork, 9, &partner_key)).unwrap();
    forged.proof = tree(12, 0).consistency_proof(9, 12).unwrap();
    assert_eq!(status(server.add_checkpoint(&forged.encode(), NOW_MS)), 422);
    // And the same size with another root.
    assert_eq!(
        status(server.add_checkpoint(&request(&tree(9, 1), 9, &partner_key), NOW_MS)),
        409
    );
    let alarms = store.alarms().unwrap();
    assert_eq!(alarms.len(), 2);
    assert!(
        alarms
            .iter()
            .all(|a| a.kind == "split_view" && a.origin == PARTNER)
    );
    // The witnessed state did not move.
    assert_eq!(store.witnessed(PARTNER).unwrap().unwrap().size, 9);

    // Each cosigned checkpoint left a witness_seen entry in our log.
    own.flush().unwrap();
    let entries = store.entries("caravan.me.example/log", 0, 10).unwrap();
    let seen: Vec<u64> = entries
        .iter()
        .map(|e| match Entry::decode(e).unwrap().body {
            EntryBody::WitnessSeen { size, .. } => size,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seen, vec![5, 9]);
}
