//! Every bad-input case of issue 4 yields its own error code, before or during `open`.

use caravan_envelope::cbor::Value;
use caravan_envelope::cose::{CONTENT_TYPE_MESSAGE, TAG_COSE_SIGN1, sig_structure};
use caravan_envelope::{
    Compression, EncryptionSecretKey, EnvelopeError, Header, Kid, Limits, MessageSigningKey, Part,
    Sealed, WireView, hpke, seal,
};
use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};

use crate::{Node, Registry, Status, header, receive, us, uz};

fn sealed(from: &Node, to: &Node, message: u32) -> (Header, Sealed) {
    let header = header(from, to, message);
    let body = br#"{"lrn":"UZ-EX-2026-000187"}"#;
    let part = Part {
        part_id: "body",
        media_type: "application/json",
        compression: Compression::None,
        body,
    };
    let sealed = seal(&header, &[part], &from.signing, &to.encryption.public_key()).unwrap();
    (header, sealed)
}

#[track_caller]
fn refused(wire: &[u8], to: &Node, registry: &Registry, code: &str) -> EnvelopeError {
    let err = receive(wire, to, registry).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    err
}

/// Decodes the wire object, lets `change` edit its top-level map, re-encodes canonically.
fn edit(wire: &[u8], change: impl FnOnce(&mut MapEntries)) -> Vec<u8> {
    let Value::Map(mut entries) = Value::from_bytes(wire).unwrap() else {
        panic!("wire is a map")
    };
    change(&mut entries);
    Value::Map(entries).to_bytes()
}

/// The entries of a decoded CBOR map.
type MapEntries = Vec<(Value, Value)>;

fn field<'a>(entries: &'a mut [(Value, Value)], name: &str) -> &'a mut Value {
    &mut entries
        .iter_mut()
        .find(|(k, _)| *k == Value::text(name))
        .unwrap()
        .1
}

/// A message built by hand from the public primitives, so a test can sign what a
/// well-behaved sealer never would: another algorithm id, a header that differs from the
/// wire's, or a kid that is not the signer's.
struct Forgery<'a> {
    wire_header: &'a Header,
    signed_header: &'a Header,
    alg: Value,
    kid: Kid,
    signer_seed: [u8; 32],
}

impl Forgery<'_> {
    fn wire(&self, to: &Node) -> Vec<u8> {
        let hdr_bytes = self.wire_header.to_bytes();
        let hdr_sha256: [u8; 32] = Sha256::digest(&hdr_bytes).into();
        let payload = Value::Array(vec![
            Value::from_bytes(&self.signed_header.to_bytes()).unwrap(),
            Value::Array(vec![]),
        ])
        .to_bytes();
        let protected = Value::Map(vec![
            (Value::Uint(1), self.alg.clone()),
            (Value::Uint(3), Value::text(CONTENT_TYPE_MESSAGE)),
            (Value::Uint(4), Value::bytes(self.kid.0.to_vec())),
        ])
        .to_bytes();
        let signature = ed25519_dalek::SigningKey::from_bytes(&self.signer_seed)
            .sign(&sig_structure(&protected, &payload));
        let cose = Value::Tag(
            TAG_COSE_SIGN1,
            Box::new(Value::Array(vec![
                Value::bytes(protected),
                Value::Map(vec![]),
                Value::bytes(payload),
                Value::bytes(signature.to_bytes().to_vec()),
            ])),
        )
        .to_bytes();
        let mut info = b"caravan/v1 message".to_vec();
        info.extend_from_slice(&hdr_sha256);
        let ephemeral = EncryptionSecretKey::from_bytes(&[77; 32]);
        let (enc, mut context) =
            hpke::setup_sender_with(&to.encryption.public_key(), &info, &ephemeral).unwrap();
        let sealed_sig = context.seal(&hdr_sha256, &cose).unwrap();
        Value::Map(vec![
            (Value::text("hdr"), Value::from_bytes(&hdr_bytes).unwrap()),
            (
                Value::text("suite"),
                Value::Array(vec![Value::Uint(0x20), Value::Uint(1), Value::Uint(1)]),
            ),
            (Value::text("enc"), Value::bytes(enc.to_vec())),
            (Value::text("sig"), Value::bytes(sealed_sig)),
            (Value::text("parts"), Value::Array(vec![])),
        ])
        .to_bytes()
    }
}

#[test]
fn the_forgery_helper_builds_an_acceptable_message_when_told_the_truth() {
    let (uz, us) = (uz(), us());
    let header = header(&uz, &us, 1);
    let honest = Forgery {
        wire_header: &header,
        signed_header: &header,
        alg: Value::int(-19),
        kid: uz.signing.kid(),
        signer_seed: [1; 32],
    };
    receive(&honest.wire(&us), &us, &Registry::knowing(&uz)).unwrap();
}

#[test]
fn unknown_sender_and_refused_keys_have_their_own_codes() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 1);
    let err = refused(&sealed.wire, &us, &Registry(vec![]), "unknown_sender");
    assert_eq!(err.http_status(), 403);
    let other_key = MessageSigningKey::from_bytes(&[42; 32]).verifying_key();
    refused(
        &sealed.wire,
        &us,
        &Registry(vec![(uz.party.clone(), other_key, Status::Valid)]),
        "signer_key_unknown",
    );
    for (status, code) in [
        (Status::Revoked, "signer_key_revoked"),
        (Status::RotatedOut, "signer_key_rotated_out"),
        (Status::NotYetValid, "signer_key_not_yet_valid"),
    ] {
        let registry = Registry(vec![(uz.party.clone(), uz.signing.verifying_key(), status)]);
        let err = refused(&sealed.wire, &us, &registry, code);
        assert_eq!(err.http_status(), 422);
    }
}

#[test]
fn a_signature_by_the_wrong_key_under_a_known_kid_is_invalid() {
    let (uz, us) = (uz(), us());
    let header = header(&uz, &us, 2);
    let forged = Forgery {
        wire_header: &header,
        signed_header: &header,
        alg: Value::int(-19),
        kid: uz.signing.kid(),
        signer_seed: [66; 32],
    };
    refused(
        &forged.wire(&us),
        &us,
        &Registry::knowing(&uz),
        "signature_invalid",
    );
}

#[test]
fn a_message_for_another_node_is_refused() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 3);
    // UZ receiving a message sealed to US: the header names US's key.
    let err = refused(
        &sealed.wire,
        &uz,
        &Registry::knowing(&uz),
        "wrong_recipient",
    );
    assert_eq!(err.http_status(), 422);
    // Relabelling enc_kid changes the header bound into HPKE, so it does not open either.
    let relabelled = edit(&sealed.wire, |entries| {
        let Value::Map(hdr) = field(entries, "hdr") else {
            panic!()
        };
        let enc_kid = &mut hdr
            .iter_mut()
            .find(|(k, _)| *k == Value::text("enc_kid"))
            .unwrap()
            .1;
        *enc_kid = Value::bytes(uz.encryption.kid().0.to_vec());
    });
    refused(
        &relabelled,
        &uz,
        &Registry::knowing(&uz),
        "decryption_failed",
    );
}

#[test]
fn tampered_ciphertext_and_tampered_parts_are_refused() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 4);
    let registry = Registry::knowing(&uz);
    let flip_bytes = |name: &str, at: usize| {
        edit(&sealed.wire, |entries| {
            let Value::Bytes(b) = field(entries, name) else {
                panic!()
            };
            b[at] ^= 1;
        })
    };
    refused(&flip_bytes("sig", 10), &us, &registry, "decryption_failed");
    refused(&flip_bytes("enc", 0), &us, &registry, "decryption_failed");
    let part_edit = |change: &dyn Fn(&mut MapEntries)| {
        edit(&sealed.wire, |entries| {
            let Value::Array(parts) = field(entries, "parts") else {
                panic!()
            };
            let Value::Map(part) = &mut parts[0] else {
                panic!()
            };
            change(part);
        })
    };
    let flipped_ct = part_edit(&|part| {
        let Value::Bytes(ct) = field(part, "ct") else {
            panic!()
        };
        ct[3] ^= 0x80;
    });
    refused(&flipped_ct, &us, &registry, "part_tampered");
    let wrong_digest = part_edit(&|part| {
        let Value::Bytes(d) = field(part, "ct_sha256") else {
            panic!()
        };
        d[0] ^= 1;
    });
    refused(&wrong_digest, &us, &registry, "part_digest_mismatch");
    let renamed = part_edit(&|part| *field(part, "part_id") = Value::text("other"));
    refused(&renamed, &us, &registry, "part_digest_mismatch");
}

#[test]
fn a_swapped_header_does_not_open_and_a_signed_header_must_be_the_wire_header() {
    let (uz, us) = (uz(), us());
    let (_, first) = sealed(&uz, &us, 5);
    let (_, second) = sealed(&uz, &us, 6);
    let Value::Map(second_entries) = Value::from_bytes(&second.wire).unwrap() else {
        panic!()
    };
    let second_hdr = second_entries
        .iter()
        .find(|(k, _)| *k == Value::text("hdr"))
        .unwrap()
        .1
        .clone();
    let swapped = edit(&first.wire, |entries| *field(entries, "hdr") = second_hdr);
    refused(&swapped, &us, &Registry::knowing(&uz), "decryption_failed");

    // A sender that binds one header into HPKE but signs another.
    let wire_header = header(&uz, &us, 7);
    let mut signed_header = wire_header.clone();
    signed_header.action = "Request.Withdraw".into();
    let forged = Forgery {
        wire_header: &wire_header,
        signed_header: &signed_header,
        alg: Value::int(-19),
        kid: uz.signing.kid(),
        signer_seed: [1; 32],
    };
    refused(
        &forged.wire(&us),
        &us,
        &Registry::knowing(&uz),
        "signed_header_mismatch",
    );
}

#[test]
fn oversized_headers_and_messages_are_refused_before_any_cryptography() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 8);
    let tight = Limits {
        max_header_bytes: 200,
        ..Limits::default()
    };
    let err = WireView::decode(&sealed.wire, &tight).unwrap_err();
    assert_eq!(err.code(), "header_too_large");
    assert_eq!(err.http_status(), 413);
    // A 10 KB header is refused at the default limit, whatever its fields say.
    let bloated = edit(&sealed.wire, |entries| {
        let Value::Map(hdr) = field(entries, "hdr") else {
            panic!()
        };
        hdr.push((Value::text("padding"), Value::bytes(vec![0; 10_000])));
    });
    assert_eq!(
        WireView::decode(&bloated, &Limits::default())
            .unwrap_err()
            .code(),
        "header_too_large"
    );
    let small = Limits {
        max_wire_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        WireView::decode(&sealed.wire, &small).unwrap_err().code(),
        "message_too_large"
    );
    let one_part = Limits {
        max_parts: 0,
        ..Limits::default()
    };
    assert_eq!(
        WireView::decode(&sealed.wire, &one_part)
            .unwrap_err()
            .code(),
        "message_too_large"
    );
    // A field longer than the header rules allow.
    let long_id = edit(&sealed.wire, |entries| {
        let Value::Map(hdr) = field(entries, "hdr") else {
            panic!()
        };
        *field(hdr, "message_id") = Value::text("m".repeat(300));
    });
    assert_eq!(
        WireView::decode(&long_id, &Limits::default())
            .unwrap_err()
            .code(),
        "invalid_field"
    );
}

#[test]
fn malformed_and_non_canonical_cbor_are_told_apart() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 9);
    let limits = Limits::default();
    let truncated = &sealed.wire[..sealed.wire.len() - 1];
    assert_eq!(
        WireView::decode(truncated, &limits).unwrap_err().code(),
        "malformed_cbor"
    );
    assert_eq!(
        WireView::decode(b"{\"hdr\":1}", &limits)
            .unwrap_err()
            .code(),
        "malformed_cbor"
    );
    assert_eq!(
        WireView::decode(&[0xf5], &limits).unwrap_err().code(),
        "malformed_cbor"
    );
    // The same map with its length in a two-byte head.
    assert_eq!(sealed.wire[0], 0xa5);
    let mut long_head = vec![0xb8, 0x05];
    long_head.extend_from_slice(&sealed.wire[1..]);
    let err = WireView::decode(&long_head, &limits).unwrap_err();
    assert_eq!(err.code(), "non_canonical_cbor");
    assert_eq!(err.http_status(), 400);
    // Keys out of order: "suite" written before "parts".
    let Value::Map(entries) = Value::from_bytes(&sealed.wire).unwrap() else {
        panic!()
    };
    let mut unsorted = vec![0xa5];
    for (k, v) in entries.iter().rev() {
        unsorted.extend_from_slice(&k.to_bytes());
        unsorted.extend_from_slice(&v.to_bytes());
    }
    assert_eq!(
        WireView::decode(&unsorted, &limits).unwrap_err().code(),
        "non_canonical_cbor"
    );
}

#[test]
fn unknown_and_missing_fields_are_refused() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 10);
    let limits = Limits::default();
    let extra = edit(&sealed.wire, |entries| {
        entries.push((Value::text("jwk"), Value::Uint(1)))
    });
    assert_eq!(
        WireView::decode(&extra, &limits).unwrap_err().code(),
        "unknown_field"
    );
    let extra_hdr = edit(&sealed.wire, |entries| {
        let Value::Map(hdr) = field(entries, "hdr") else {
            panic!()
        };
        hdr.push((Value::text("priority"), Value::Uint(1)));
    });
    assert_eq!(
        WireView::decode(&extra_hdr, &limits).unwrap_err().code(),
        "unknown_field"
    );
    let missing = edit(&sealed.wire, |entries| {
        entries.retain(|(k, _)| *k != Value::text("enc"))
    });
    assert_eq!(
        WireView::decode(&missing, &limits).unwrap_err().code(),
        "missing_field"
    );
}

#[test]
fn downgraded_algorithms_are_refused() {
    let (uz, us) = (uz(), us());
    let (_, sealed) = sealed(&uz, &us, 11);
    let chacha = edit(&sealed.wire, |entries| {
        *field(entries, "suite") =
            Value::Array(vec![Value::Uint(0x20), Value::Uint(1), Value::Uint(3)]);
    });
    let err = WireView::decode(&chacha, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "hpke_suite_not_allowed");
    assert_eq!(
        err,
        EnvelopeError::HpkeSuiteNotAllowed {
            kem: 0x20,
            kdf: 1,
            aead: 3
        }
    );
    let header = header(&uz, &us, 12);
    let eddsa = Forgery {
        wire_header: &header,
        signed_header: &header,
        alg: Value::int(-8),
        kid: uz.signing.kid(),
        signer_seed: [1; 32],
    };
    let err = refused(
        &eddsa.wire(&us),
        &us,
        &Registry::knowing(&uz),
        "signature_algorithm_not_allowed",
    );
    assert_eq!(err, EnvelopeError::SignatureAlgorithmNotAllowed { alg: -8 });
}
