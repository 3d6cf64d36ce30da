//! Sealing and opening succeed for every shape of message the exchange sends.

use caravan_envelope::stream::{SEGMENT_CT_LEN, SEGMENT_LEN, ciphertext_len};
use caravan_envelope::{
    Compression, EncryptionSecretKey, Limits, Part, Sealer, TimePolicy, WireBody, WireView,
    check_time, seal, seal_with_ephemeral,
};
use sha2::{Digest, Sha256};

use crate::{NOW, Registry, header, receive, us, uz};

#[test]
fn inline_parts_round_trip_with_their_digests() {
    let (uz, us) = (uz(), us());
    let declaration = br#"{"lrn":"UZ-EX-2026-000187","hs":"520100"}"#;
    let scan = vec![0x5a; 70_000];
    let parts = [
        Part {
            part_id: "body",
            media_type: "application/json",
            compression: Compression::None,
            body: declaration,
        },
        Part {
            part_id: "scan",
            media_type: "image/tiff",
            compression: Compression::Zstd,
            body: &scan,
        },
        Part {
            part_id: "empty",
            media_type: "text/plain",
            compression: Compression::None,
            body: b"",
        },
    ];
    let header = header(&uz, &us, 1);
    let sealed = seal(&header, &parts, &uz.signing, &us.encryption.public_key()).unwrap();

    let view = WireView::decode(&sealed.wire, &Limits::default()).unwrap();
    assert_eq!(view.header, header);
    assert_eq!(
        view.hdr_sha256,
        <[u8; 32]>::from(Sha256::digest(header.to_bytes()))
    );
    assert_eq!(view.hdr_sha256, sealed.hdr_sha256);

    let opened = receive(&sealed.wire, &us, &Registry::knowing(&uz)).unwrap();
    assert_eq!(opened.header, header);
    assert_eq!(opened.signer_kid, uz.signing.kid());
    assert_eq!(opened.sig_sha256, sealed.sig_sha256);
    assert_eq!(opened.manifest, sealed.manifest);
    let bodies: Vec<&[u8]> = opened.parts.iter().map(|p| p.body.as_slice()).collect();
    assert_eq!(bodies, vec![&declaration[..], &scan[..], b""]);
    assert_eq!(
        opened.manifest.parts[1].sha256,
        <[u8; 32]>::from(Sha256::digest(&scan))
    );
    assert_eq!(opened.manifest.parts[1].compression, Compression::Zstd);
    assert!(opened.detached.is_empty());
}

#[test]
fn a_message_without_parts_opens() {
    let (uz, us) = (uz(), us());
    let mut header = header(&uz, &us, 2);
    header.ref_to = Some("0190f6c2-7d1e-7000-8000-000000000001@caravan.cbp.gov".into());
    header.expires_at = Some(NOW + 60_000);
    let sealed = seal(&header, &[], &uz.signing, &us.encryption.public_key()).unwrap();
    let opened = receive(&sealed.wire, &us, &Registry::knowing(&uz)).unwrap();
    assert_eq!(opened.header.ref_to, header.ref_to);
    assert_eq!(opened.header.expires_at, Some(NOW + 60_000));
    assert!(opened.parts.is_empty());
}

#[test]
fn a_pinned_ephemeral_key_gives_identical_bytes_and_a_fresh_one_does_not() {
    let (uz, us) = (uz(), us());
    let header = header(&uz, &us, 3);
    let part = [Part {
        part_id: "body",
        media_type: "text/plain",
        compression: Compression::None,
        body: b"x",
    }];
    let ephemeral = EncryptionSecretKey::from_bytes(&[9; 32]);
    let pinned = || {
        seal_with_ephemeral(
            &header,
            &part,
            &uz.signing,
            &us.encryption.public_key(),
            &ephemeral,
        )
        .unwrap()
        .wire
    };
    assert_eq!(pinned(), pinned());
    let c = seal(&header, &part, &uz.signing, &us.encryption.public_key()).unwrap();
    let d = seal(&header, &part, &uz.signing, &us.encryption.public_key()).unwrap();
    assert_ne!(c.wire, d.wire, "each message has its own HPKE context");
    assert_eq!(
        c.sig_sha256, d.sig_sha256,
        "Ed25519 is deterministic: same header and manifest, same signature"
    );
}

#[test]
fn detached_parts_stream_through_and_are_checked() {
    let (uz, us) = (uz(), us());
    let header = header(&uz, &us, 4);
    let evidence: Vec<u8> = (0..3 * SEGMENT_LEN + 17)
        .map(|i| (i * 31 % 256) as u8)
        .collect();
    let mut sealer = Sealer::new(&header, &us.encryption.public_key()).unwrap();
    sealer
        .add_inline(&Part {
            part_id: "body",
            media_type: "application/json",
            compression: Compression::None,
            body: b"{}",
        })
        .unwrap();
    let mut uploaded = Vec::new();
    let summary = sealer
        .add_streamed(
            "evidence",
            "application/pdf",
            Compression::None,
            &evidence[..],
            &mut uploaded,
        )
        .unwrap();
    let sealed = sealer.finish(&uz.signing).unwrap();
    assert_eq!(summary.length, evidence.len() as u64);
    assert_eq!(uploaded.len() as u64, ciphertext_len(evidence.len() as u64));
    assert_eq!(
        summary.ct_sha256,
        <[u8; 32]>::from(Sha256::digest(&uploaded)),
        "part_ref"
    );
    assert!(
        sealed.wire.len() < 2_000,
        "the large part is not in the wire object"
    );

    let view = WireView::decode(&sealed.wire, &Limits::default()).unwrap();
    assert_eq!(view.parts[1].body, WireBody::Detached);
    let opened = caravan_envelope::open(&view, &us.encryption, &Registry::knowing(&uz)).unwrap();
    assert_eq!(opened.parts.len(), 1);
    let detached = &opened.detached[0];
    assert_eq!(detached.part_ref, summary.ct_sha256);
    let mut out = Vec::new();
    detached.open(&uploaded[..], &mut out).unwrap();
    assert_eq!(out, evidence);

    // Segment by segment, as a receiver reading `PUT /parts/{ref}/{n}` uploads would.
    let mut opener = detached.opener();
    let segments: Vec<&[u8]> = uploaded.chunks(SEGMENT_CT_LEN).collect();
    let mut joined = Vec::new();
    for (n, segment) in segments.iter().enumerate() {
        let mut buf = segment.to_vec();
        opener
            .open_segment_in_place(&mut buf, n + 1 == segments.len())
            .unwrap();
        joined.extend_from_slice(&buf);
    }
    assert_eq!(joined, evidence);

    // A different upload under the same reference is refused.
    let mut tampered = uploaded.clone();
    tampered[SEGMENT_CT_LEN + 5] ^= 0x40;
    let err = detached.open(&tampered[..], Vec::new()).unwrap_err();
    assert_eq!(err.code(), "part_tampered");
    let err = detached
        .open(&uploaded[..2 * SEGMENT_CT_LEN], Vec::new())
        .unwrap_err();
    assert_eq!(err.code(), "part_truncated");
}

#[test]
fn time_checks_follow_spec_section_9() {
    let (uz, us) = (uz(), us());
    let policy = TimePolicy::default();
    let mut header = header(&uz, &us, 5);
    assert!(check_time(&header, NOW, &policy).is_ok());
    assert!(
        check_time(&header, NOW - policy.skew_ms, &policy).is_ok(),
        "at the skew limit"
    );
    let err = check_time(&header, NOW - policy.skew_ms - 1, &policy).unwrap_err();
    assert_eq!(err.code(), "clock_skew");
    assert!(err.retryable());
    assert!(check_time(&header, NOW + policy.replay_window_ms, &policy).is_ok());
    let err = check_time(&header, NOW + policy.replay_window_ms + 1, &policy).unwrap_err();
    assert_eq!(err.code(), "outside_replay_window");
    header.expires_at = Some(NOW + 1_000);
    assert!(check_time(&header, NOW + 999, &policy).is_ok());
    let err = check_time(&header, NOW + 1_000, &policy).unwrap_err();
    assert_eq!(err.code(), "message_expired");
    assert_eq!(err.http_status(), 400);
    assert!(!err.retryable());
}

/// The wire format is a contract with the partner: the fuzz seed written by
/// `examples/fuzz_seeds.rs` (pinned keys and ephemeral key) is also the golden message,
/// so any change to the bytes a given message seals to fails here first.
#[test]
fn the_wire_format_is_stable() {
    let golden = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/envelope_open/sealed.cbor"
    ))
    .unwrap();
    let recipient = EncryptionSecretKey::from_bytes(&[4; 32]);
    let sender = caravan_envelope::MessageSigningKey::from_bytes(&[1; 32]);
    let view = WireView::decode(&golden, &Limits::default()).unwrap();
    let opened = caravan_envelope::open(
        &view,
        &recipient,
        &Registry::knowing(&crate::Node {
            signing: sender.clone(),
            encryption: recipient.clone(),
            party: view.header.from.clone(),
        }),
    )
    .unwrap();
    let parts: Vec<Part<'_>> = opened
        .parts
        .iter()
        .map(|p| Part {
            part_id: &p.info.part_id,
            media_type: &p.info.media_type,
            compression: p.info.compression,
            body: &p.body,
        })
        .collect();
    let ephemeral = EncryptionSecretKey::from_bytes(&[5; 32]);
    let again = seal_with_ephemeral(
        &opened.header,
        &parts,
        &sender,
        &recipient.public_key(),
        &ephemeral,
    )
    .unwrap();
    assert_eq!(again.wire, golden);
    assert_eq!(opened.header.action, "Spontaneous.Inform");
    assert_eq!(opened.parts[0].body, br#"{"lrn":"UZ-EX-1"}"#);
}
