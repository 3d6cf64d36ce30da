//! C2SP tlog-proof: the spec's example, encode/parse round trips, strict parsing, and
//! offline verification that rejects any altered proof.

use caravan_tlog::checkpoint::Checkpoint;
use caravan_tlog::cosignature::CosignatureSigner;
use caravan_tlog::note::{Ed25519Signer, VerifierList};
use caravan_tlog::proof::{Leaf, ProofError, ProofPolicy, TlogProof, verify_offline};
use caravan_tlog::rfc6962::{MemoryTree, inclusion_proof_len, leaf_hash};
use proptest::prelude::*;

use crate::{json, vector};

#[test]
fn c2sp_tlog_proof_example() {
    let text = vector("c2sp-tlog-proof-example.tlog-proof");
    let p = TlogProof::parse(text.as_bytes()).unwrap();
    assert_eq!(p.index, 73894);
    assert_eq!(p.hashes.len(), 5);
    assert!(
        p.extra
            .as_deref()
            .unwrap()
            .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz")
    );
    assert_eq!(p.encode(), text);
    // The example cannot verify: its signatures are elided with "[...]" and
    // index 73894 in a tree of 109482 needs 17 hashes, not 5.
    assert_eq!(inclusion_proof_len(73894, 109482).unwrap(), 17);
    let empty = VerifierList::new();
    let policy = ProofPolicy {
        origin: "example.com/fancylog",
        log_verifiers: &empty,
        witness_verifiers: &empty,
        min_witnesses: 0,
    };
    assert!(matches!(
        verify_offline(text.as_bytes(), Leaf::Hash([0; 32]), &policy),
        Err(ProofError::Checkpoint(_))
    ));
}

#[test]
fn transparency_dev_malformed_proofs_are_rejected() {
    let v = json("transparency-dev-merkle-tlog-proof-errors.json");
    for case in v["bad_proofs"].as_array().unwrap() {
        let p = case["proof"].as_str().unwrap();
        assert!(TlogProof::parse(p.as_bytes()).is_err(), "{}", case["name"]);
    }
}

#[test]
fn strict_header_parsing() {
    let cp = "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} o AAAAAAAA\n";
    for (t, want) in [
        (
            format!("c2sp.org/tlog-proof@v1 \nindex 0\n\n{cp}"),
            ProofError::BadHeader,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 00\n\n{cp}"),
            ProofError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex  1\n\n{cp}"),
            ProofError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra\nindex 1\n\n{cp}"),
            ProofError::BadExtra,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra QQ=\nindex 1\n\n{cp}"),
            ProofError::BadExtra,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 1\nQQ==\n\n{cp}"),
            ProofError::BadHashLine(1),
        ),
        (
            "c2sp.org/tlog-proof@v1\nindex 1\n".to_owned(),
            ProofError::MissingSeparator,
        ),
        (
            format!(
                "c2sp.org/tlog-proof@v1\nindex 1\n{}\n{cp}",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)
            ),
            ProofError::TooManyHashes,
        ),
    ] {
        assert_eq!(TlogProof::parse(t.as_bytes()), Err(want), "{t:?}");
    }
}

struct Log {
    tree: MemoryTree,
    log: Ed25519Signer,
    witnesses: Vec<CosignatureSigner>,
    logs: VerifierList,
    wl: VerifierList,
}

const ORIGIN: &str = "caravan.example/log";

fn log(size: u32) -> Log {
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.append(format!("entry {i}").as_bytes());
    }
    let log = Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap();
    let witnesses: Vec<_> = (0..3u8)
        .map(|i| CosignatureSigner::from_seed(&format!("w{i}.example"), &[10 + i; 32]).unwrap())
        .collect();
    let logs = VerifierList::new().with(log.verifier()).unwrap();
    let mut wl = VerifierList::new();
    for w in &witnesses {
        wl.push(w.verifier()).unwrap();
    }
    Log {
        tree,
        log,
        witnesses,
        logs,
        wl,
    }
}

fn proof_text(l: &Log, index: u64, cosigners: usize) -> String {
    let mut signed = Checkpoint::new(ORIGIN, l.tree.size(), l.tree.root())
        .sign(&[&l.log])
        .unwrap();
    let text = signed.note.text.clone();
    signed.add_signatures(
        l.witnesses[..cosigners]
            .iter()
            .map(|w| w.cosign(&text, 1_750_000_000).unwrap()),
    );
    TlogProof::new(
        index,
        l.tree.inclusion_proof(index, l.tree.size()).unwrap(),
        &signed,
    )
    .encode()
}

fn policy<'a>(l: &'a Log, min: usize) -> ProofPolicy<'a> {
    ProofPolicy {
        origin: ORIGIN,
        log_verifiers: &l.logs,
        witness_verifiers: &l.wl,
        min_witnesses: min,
    }
}

#[test]
fn offline_verification_end_to_end() {
    let l = log(1000);
    let text = proof_text(&l, 477, 2);
    let v = verify_offline(text.as_bytes(), Leaf::Data(b"entry 477"), &policy(&l, 2)).unwrap();
    assert_eq!((v.index, v.size, v.witnesses.len()), (477, 1000, 2));
    assert_eq!(v.leaf_hash, leaf_hash(b"entry 477"));
    let summary = v.to_string();
    assert!(
        summary.starts_with(
            "Entry 477 of log caravan.example/log is included in the tree of size 1000"
        ),
        "{summary}"
    );
    assert!(summary.contains("cosigned by w0.example"), "{summary}");
    assert!(summary.contains("at Unix time 1750000000"), "{summary}");
    verify_offline(
        text.as_bytes(),
        Leaf::Hash(leaf_hash(b"entry 477")),
        &policy(&l, 0),
    )
    .unwrap();

    assert_eq!(
        verify_offline(text.as_bytes(), Leaf::Data(b"entry 477"), &policy(&l, 3)),
        Err(ProofError::NotEnoughWitnesses { got: 2, need: 3 })
    );
    assert!(matches!(
        verify_offline(text.as_bytes(), Leaf::Data(b"entry 478"), &policy(&l, 0)),
        Err(ProofError::Inclusion(_))
    ));
    let wrong_origin = ProofPolicy {
        origin: "other/log",
        ..policy(&l, 0)
    };
    assert!(matches!(
        verify_offline(text.as_bytes(), Leaf::Data(b"entry 477"), &wrong_origin),
        Err(ProofError::WrongOrigin { .. })
    ));
    let no_logs = VerifierList::new();
    let p = ProofPolicy {
        log_verifiers: &no_logs,
        ..policy(&l, 0)
    };
    assert_eq!(
        verify_offline(text.as_bytes(), Leaf::Data(b"entry 477"), &p),
        Err(ProofError::NoLogSignature)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_flipped_byte_is_rejected(size in 1u32..300, seed in any::<u64>(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let l = log(size);
        let index = seed % u64::from(size);
        let text = proof_text(&l, index, 1);
        let leaf = format!("entry {index}");
        prop_assert!(verify_offline(text.as_bytes(), Leaf::Data(leaf.as_bytes()), &policy(&l, 1)).is_ok());
        let mut b = text.into_bytes();
        let i = at.index(b.len());
        b[i] ^= 1 << bit;
        prop_assert!(verify_offline(&b, Leaf::Data(leaf.as_bytes()), &policy(&l, 1)).is_err(), "flip at {}", i);
    }
}
