//! Entry encoding: round trips, strictness, commitments.

use caravan_log::entry::{
    Entry, EntryBody, EntryError, ErrorEvent, ManifestOwner, MessageEvent, ReceiptEvent, commit,
};

fn samples() -> Vec<Entry> {
    let message = MessageEvent {
        message_id: "m-1".into(),
        conversation_id: "c-1".into(),
        from: "US-CBP".into(),
        to: "UZ-CUSTOMS".into(),
        service: "cmaa".into(),
        action: "request".into(),
        created_at: 1_700_000_000_123,
        header_commit: [1; 32],
        signature_commit: [2; 32],
        part_commits: vec![[3; 32], [4; 32]],
        kid: "us-sign-1".into(),
        markings: vec!["TLP:AMBER".into(), "PAP:AMBER".into()],
    };
    let receipt = ReceiptEvent {
        receipt_id: "r-1".into(),
        ref_to: "m-1".into(),
        receipt_commit: [5; 32],
        partner_origin: "caravan.customs.uz.example/us-uz-cmaa-2024".into(),
        partner_index: 41,
    };
    let error = ErrorEvent {
        ref_to: "m-1".into(),
        code: "EBMS:0004".into(),
    };
    let bodies = vec![
        EntryBody::MsgOut(message.clone()),
        EntryBody::MsgIn(message),
        EntryBody::ReceiptOut(receipt.clone()),
        EntryBody::ReceiptIn(receipt),
        EntryBody::ErrorOut(error.clone()),
        EntryBody::ErrorIn(error),
        EntryBody::ErasureDone {
            item_commit: [6; 32],
            reason: "retention".into(),
        },
        EntryBody::KeyEvent {
            owner: ManifestOwner::Partner,
            manifest_version: 3,
            manifest_sha256: [7; 32],
        },
        EntryBody::Governance {
            agreement_status: "active".into(),
            profile_version: 1,
            directory_version: 2,
            assurance_state: "ok".into(),
            documents_sha256: [8; 32],
        },
        EntryBody::AuditAnchor {
            head: [9; 32],
            event_count: 1234,
        },
        EntryBody::WitnessSeen {
            origin: "caravan.cbp.example/us-uz-cmaa-2024".into(),
            size: 99,
            root: [10; 32],
        },
    ];
    bodies
        .into_iter()
        .map(|body| Entry {
            t: 1_700_000_000_000,
            agreement_id: "us-uz-cmaa-2024".into(),
            body,
        })
        .collect()
}

#[test]
fn every_entry_type_round_trips_byte_for_byte() {
    for entry in samples() {
        let bytes = entry.encode().unwrap();
        let back = Entry::decode(&bytes).unwrap();
        assert_eq!(back, entry);
        assert_eq!(back.encode().unwrap(), bytes);
        assert!(
            bytes.len() < 600,
            "{} is {} bytes",
            entry.body.type_name(),
            bytes.len()
        );
    }
}

#[test]
fn a_known_entry_has_a_fixed_encoding() {
    let entry = Entry {
        t: 1,
        agreement_id: "a".into(),
        body: EntryBody::AuditAnchor {
            head: [0; 32],
            event_count: 2,
        },
    };
    let bytes = entry.encode().unwrap();
    // {0: 1, 1: "audit_anchor", 2: 1, 3: "a", 80: h'00…', 81: 2}
    let mut want = vec![0xa6, 0x00, 0x01, 0x01, 0x6c];
    want.extend_from_slice(b"audit_anchor");
    want.extend_from_slice(&[0x02, 0x01, 0x03, 0x61, b'a', 0x18, 80, 0x58, 32]);
    want.extend_from_slice(&[0; 32]);
    want.extend_from_slice(&[0x18, 81, 0x02]);
    assert_eq!(bytes, want);
}

#[test]
fn the_decoder_rejects_what_the_encoder_never_writes() {
    let entry = &samples()[9];
    let good = entry.encode().unwrap();
    // Non-shortest integer for t (key 2 value 1_700_000_000_000 is 9 bytes already, so
    // use the version: 0x01 -> 0x18 0x01).
    let mut long_version = good.clone();
    long_version.splice(2..3, [0x18, 0x01]);
    assert!(matches!(
        Entry::decode(&long_version),
        Err(EntryError::Cbor(_))
    ));
    // Trailing byte.
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(Entry::decode(&trailing), Err(EntryError::Cbor(_))));
    // Every truncation fails.
    for n in 0..good.len() {
        assert!(Entry::decode(&good[..n]).is_err(), "prefix {n} accepted");
    }
    // Wrong version.
    let mut v2 = good.clone();
    v2[2] = 0x02;
    assert_eq!(Entry::decode(&v2), Err(EntryError::Version(2)));
    // Not a map.
    assert_eq!(Entry::decode(&[0x80]), Err(EntryError::NotAMap));
    // Oversized input is refused before parsing.
    assert_eq!(
        Entry::decode(&vec![0; 70_000]),
        Err(EntryError::TooLarge(70_000))
    );
    // A field of another type is refused.
    let mut extra = caravan_log::cbor::Value::decode(&good).unwrap();
    if let caravan_log::cbor::Value::Map(fields) = &mut extra {
        fields.push((10, caravan_log::cbor::Value::Text("m".into())));
    }
    assert!(matches!(
        Entry::decode(&extra.encode()),
        Err(EntryError::Unexpected(_))
    ));
}

#[test]
fn oversized_entries_are_refused_when_encoding() {
    let entry = Entry {
        t: 0,
        agreement_id: "x".repeat(70_000),
        body: EntryBody::AuditAnchor {
            head: [0; 32],
            event_count: 0,
        },
    };
    assert!(matches!(entry.encode(), Err(EntryError::TooLarge(_))));
}

#[test]
fn commitments_are_salted_and_domain_separated() {
    use sha2::{Digest, Sha256};
    let salt = [42u8; 32];
    let c = commit(&salt, b"hit");
    let mut h = Sha256::new();
    h.update(b"caravan/v1 commit\x00");
    h.update(salt);
    h.update(Sha256::digest(b"hit"));
    assert_eq!(c, <[u8; 32]>::from(h.finalize()));
    assert_ne!(c, commit(&[43; 32], b"hit"));
    assert_ne!(c, commit(&salt, b"no hit"));
}
