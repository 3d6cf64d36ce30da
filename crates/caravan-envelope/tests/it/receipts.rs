//! Receipts and signed errors: signing, the sender's check, and an auditor's offline
//! verification against a real log built with `caravan_log`.

use std::sync::Arc;

use caravan_envelope::receipt::ReceiptLog;
use caravan_envelope::{
    Category, Compression, EnvelopeError, LogSalts, Opened, Outcome, Part, PartDigest, ReceiptBody,
    Sealed, SignedError, message_event, seal, sign_error, sign_receipt, verify_error,
    verify_receipt, verify_receipt_offline,
};
use caravan_log::entry::{Entry, EntryBody};
use caravan_log::keys::NodeKeys;
use caravan_log::storage::MemoryLogStore;
use caravan_log::{FixedClock, LogConfig, LogNode};
use caravan_tlog::cosignature::CosignatureSigner;
use caravan_tlog::note::{Ed25519Signer, Note, VerifierList};
use caravan_tlog::proof::TlogProof;

use crate::{NOW, Node, Registry, header, receive, us, uz};

const US_LOG: &str = "caravan.cbp.example/us-uz-cmaa-2024";
const UZ_WITNESS: &str = "caravan.customs.uz/witness";
const LOG_SEED: [u8; 32] = [11; 32];
const WITNESS_SEED: [u8; 32] = [13; 32];

/// What the US node did for one message from UZ: opened it, logged `msg_in`, signed a
/// receipt with a proof cosigned by UZ's witness.
struct Exchange {
    sealed: Sealed,
    opened: Opened,
    body: ReceiptBody,
    receipt: Vec<u8>,
}

fn log_verifiers() -> VerifierList {
    VerifierList::new()
        .with(
            Ed25519Signer::from_seed(US_LOG, &LOG_SEED)
                .unwrap()
                .verifier(),
        )
        .unwrap()
}

fn witness_verifiers() -> VerifierList {
    VerifierList::new()
        .with(
            CosignatureSigner::from_seed(UZ_WITNESS, &WITNESS_SEED)
                .unwrap()
                .verifier(),
        )
        .unwrap()
}

fn exchange(uz: &Node, us: &Node, cosigned: bool) -> Exchange {
    let header = header(uz, us, 1);
    let parts = [
        Part {
            part_id: "body",
            media_type: "application/json",
            compression: Compression::None,
            body: br#"{"lrn":"UZ-EX-7"}"#,
        },
        Part {
            part_id: "invoice",
            media_type: "application/pdf",
            compression: Compression::None,
            body: b"%PDF-1.7 invoice",
        },
    ];
    let sealed = seal(&header, &parts, &uz.signing, &us.encryption.public_key()).unwrap();
    let opened = receive(&sealed.wire, us, &Registry::knowing(uz)).unwrap();

    let keys =
        NodeKeys::from_seeds(US_LOG, &LOG_SEED, "caravan.cbp.example/witness", &[12; 32]).unwrap();
    let node = LogNode::open(
        Arc::new(MemoryLogStore::new()),
        keys,
        LogConfig::new(US_LOG, "us-uz-cmaa-2024"),
        Arc::new(FixedClock(NOW)),
    )
    .unwrap();
    // Another entry first, so the proof is not trivial.
    let anchor = Entry {
        t: NOW,
        agreement_id: "us-uz-cmaa-2024".into(),
        body: EntryBody::AuditAnchor {
            head: [7; 32],
            event_count: 1,
        },
    };
    node.submit(&anchor).unwrap();
    let salts = LogSalts::generate(opened.manifest.parts.len()).unwrap();
    let event = message_event(
        &opened.header,
        &opened.hdr_sha256,
        &opened.sig_sha256,
        &opened.manifest.parts,
        &opened.signer_kid,
        &salts,
        vec!["TLP:AMBER".into()],
    )
    .unwrap();
    let entry = Entry {
        t: NOW,
        agreement_id: "us-uz-cmaa-2024".into(),
        body: EntryBody::MsgIn(event),
    };
    let mut ticket = node.submit(&entry).unwrap();
    node.appender().flush().unwrap();
    let index = ticket.try_index().unwrap();
    assert_eq!(index, 1);
    node.checkpointer().step(NOW).unwrap().unwrap();
    let mut proof: TlogProof = node.proof(index).unwrap();
    if cosigned {
        let mut note = Note::parse(proof.checkpoint.as_bytes()).unwrap();
        let witness = CosignatureSigner::from_seed(UZ_WITNESS, &WITNESS_SEED).unwrap();
        note.signatures
            .push(witness.cosign(&note.text, NOW / 1000).unwrap());
        proof.checkpoint = note.to_string();
    }

    let body = ReceiptBody {
        receipt_id: "0190f6c2-7d1e-7000-9000-000000000001@caravan.cbp.example".into(),
        ref_to: opened.header.message_id.clone(),
        from: us.party.clone(),
        to: uz.party.clone(),
        received_at: NOW + 40,
        hdr_sha256: opened.hdr_sha256,
        sig_sha256: opened.sig_sha256,
        parts: opened
            .parts
            .iter()
            .map(|p| PartDigest {
                part_id: p.info.part_id.clone(),
                sha256: p.info.sha256,
            })
            .collect(),
        outcome: Outcome::Accepted,
        log: ReceiptLog {
            origin: US_LOG.into(),
            index,
            entry: entry.encode().unwrap(),
            salts,
        },
        proof: proof.encode(),
    };
    let receipt = sign_receipt(&body, &us.signing);
    Exchange {
        sealed,
        opened,
        body,
        receipt,
    }
}

#[test]
fn a_receipt_verifies_and_matches_what_was_sent() {
    let (uz, us) = (uz(), us());
    let ex = exchange(&uz, &us, true);
    let back = verify_receipt(&ex.receipt, &us.signing.verifying_key()).unwrap();
    assert_eq!(back, ex.body);
    back.check_matches(&ex.opened.header, &ex.sealed).unwrap();

    // The receipt of one message does not acknowledge another.
    let other_header = header(&uz, &us, 2);
    let body = Part {
        part_id: "body",
        media_type: "application/json",
        compression: Compression::None,
        body: b"{}",
    };
    let other = seal(
        &other_header,
        &[body],
        &uz.signing,
        &us.encryption.public_key(),
    )
    .unwrap();
    let err = back.check_matches(&other_header, &other).unwrap_err();
    assert_eq!(err.code(), "receipt_mismatch");
    // Same header, other parts: the signature over the manifest differs.
    let mut same_id = other_header.clone();
    same_id.message_id = ex.opened.header.message_id.clone();
    let other = seal(&same_id, &[body], &uz.signing, &us.encryption.public_key()).unwrap();
    let err = back.check_matches(&same_id, &other).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::ReceiptMismatch {
            reason: "sig_sha256 differs".into()
        }
    );
}

#[test]
fn an_auditor_with_public_keys_only_verifies_the_receipt_offline() {
    let (uz, us) = (uz(), us());
    let ex = exchange(&uz, &us, true);
    let verdict = verify_receipt_offline(
        &ex.receipt,
        &us.signing.verifying_key(),
        &log_verifiers(),
        &witness_verifiers(),
        1,
    )
    .unwrap();
    assert_eq!(verdict.receipt.ref_to, ex.opened.header.message_id);
    assert_eq!(verdict.proof.index, 1);
    assert_eq!(verdict.proof.size, 2);
    assert_eq!(verdict.proof.witnesses.len(), 1);
    let EntryBody::MsgIn(event) = &verdict.entry.body else {
        panic!("msg_in")
    };
    assert_eq!(event.markings, vec!["TLP:AMBER".to_owned()]);
}

#[test]
fn offline_verification_refuses_each_broken_link() {
    let (uz, us) = (uz(), us());
    let ex = exchange(&uz, &us, true);
    let check = |receipt: &[u8], min_witnesses: usize| {
        verify_receipt_offline(
            receipt,
            &us.signing.verifying_key(),
            &log_verifiers(),
            &witness_verifiers(),
            min_witnesses,
        )
        .unwrap_err()
        .code()
    };
    // The wrong receiver key.
    let err = verify_receipt_offline(
        &ex.receipt,
        &uz.signing.verifying_key(),
        &log_verifiers(),
        &witness_verifiers(),
        1,
    );
    assert_eq!(err.unwrap_err().code(), "signature_invalid");
    // The wrong log key.
    let stranger = VerifierList::new()
        .with(
            Ed25519Signer::from_seed(US_LOG, &[99; 32])
                .unwrap()
                .verifier(),
        )
        .unwrap();
    let err = verify_receipt_offline(
        &ex.receipt,
        &us.signing.verifying_key(),
        &stranger,
        &witness_verifiers(),
        1,
    );
    assert_eq!(err.unwrap_err().code(), "receipt_proof_invalid");
    // No cosignature where one is required.
    let uncosigned = exchange(&uz, &us, false);
    assert_eq!(check(&uncosigned.receipt, 1), "receipt_proof_invalid");
    verify_receipt_offline(
        &uncosigned.receipt,
        &us.signing.verifying_key(),
        &log_verifiers(),
        &witness_verifiers(),
        0,
    )
    .unwrap();

    // A receiver that signs a receipt its log entry does not back.
    let resign = |change: &dyn Fn(&mut ReceiptBody)| {
        let mut body = ex.body.clone();
        change(&mut body);
        sign_receipt(&body, &us.signing)
    };
    assert_eq!(
        check(&resign(&|b| b.hdr_sha256[0] ^= 1), 1),
        "receipt_log_entry_mismatch"
    );
    assert_eq!(
        check(&resign(&|b| b.sig_sha256[0] ^= 1), 1),
        "receipt_log_entry_mismatch"
    );
    assert_eq!(
        check(&resign(&|b| b.parts[1].sha256[0] ^= 1), 1),
        "receipt_log_entry_mismatch"
    );
    assert_eq!(
        check(&resign(&|b| b.parts.truncate(1)), 1),
        "receipt_log_entry_mismatch"
    );
    assert_eq!(
        check(&resign(&|b| b.log.salts.hdr[0] ^= 1), 1),
        "receipt_log_entry_mismatch"
    );
    assert_eq!(
        check(
            &resign(&|b| b.ref_to = "another@caravan.customs.uz".into()),
            1
        ),
        "receipt_log_entry_mismatch"
    );
    assert_eq!(
        check(&resign(&|b| b.log.index = 0), 1),
        "receipt_proof_invalid"
    );
    assert_eq!(
        check(&resign(&|b| b.log.entry[5] ^= 1), 1),
        "receipt_proof_invalid"
    );
    assert_eq!(
        check(
            &resign(&|b| b.log.origin = "caravan.other.example/log".into()),
            1
        ),
        "receipt_proof_invalid"
    );
}

#[test]
fn tampered_receipt_bytes_are_refused() {
    let (uz, us) = (uz(), us());
    let ex = exchange(&uz, &us, false);
    for at in [0, 5, ex.receipt.len() / 2, ex.receipt.len() - 1] {
        let mut bytes = ex.receipt.clone();
        bytes[at] ^= 0x04;
        assert!(
            verify_receipt(&bytes, &us.signing.verifying_key()).is_err(),
            "flip at {at}"
        );
    }
    let err = verify_receipt(&ex.receipt, &uz.signing.verifying_key()).unwrap_err();
    assert_eq!(err, EnvelopeError::SignatureInvalid);
}

#[test]
fn signed_errors_round_trip_and_cannot_pass_for_receipts() {
    let us = us();
    let error = SignedError::from_error(
        "0190f6c2-7d1e-7000-8000-000000000009@caravan.customs.uz",
        &EnvelopeError::SignerKey(caravan_envelope::KeyRefusal::Revoked),
    );
    assert_eq!(error.code, "signer_key_revoked");
    assert_eq!(error.category, Category::Security);
    assert!(!error.retryable);
    let bytes = sign_error(&error, &us.signing);
    assert_eq!(
        verify_error(&bytes, &us.signing.verifying_key()).unwrap(),
        error
    );
    assert_eq!(
        verify_receipt(&bytes, &us.signing.verifying_key())
            .unwrap_err()
            .code(),
        "cose_structure_invalid"
    );
    let io = SignedError::from_error(
        "m",
        &EnvelopeError::Io("/var/lib/caravan/parts: No space left on device".into()),
    );
    assert!(io.retryable);
    assert_eq!(io.category, Category::Transport);
    assert!(!io.detail.contains("/var"), "{}", io.detail);
    let receipt = exchange(&uz(), &us, false).receipt;
    assert_eq!(
        verify_error(&receipt, &us.signing.verifying_key())
            .unwrap_err()
            .code(),
        "cose_structure_invalid"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    #[test]
    fn any_single_flipped_bit_of_a_receipt_is_refused(position in proptest::prelude::any::<proptest::sample::Index>(), bit in 0u8..8) {
        let (uz, us) = (uz(), us());
        let ex = exchange(&uz, &us, true);
        let mut bytes = ex.receipt.clone();
        let at = position.index(bytes.len());
        bytes[at] ^= 1 << bit;
        proptest::prop_assert!(verify_receipt(&bytes, &us.signing.verifying_key()).is_err(), "flip at {}", at);
    }
}
