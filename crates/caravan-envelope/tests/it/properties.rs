//! Property tests: every well-formed message round-trips, and no single-bit change to a
//! sealed message survives decoding and opening.

use caravan_envelope::{Compression, EncryptionSecretKey, Part, seal_with_ephemeral};
use proptest::prelude::*;

use crate::{Registry, header, receive, us, uz};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_message_round_trips(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..4),
        action in "[A-Z][a-z]{1,10}\\.[A-Z][a-z]{1,10}",
        conversation in "[a-z0-9-]{1,40}",
        created_offset in 0u64..1_000_000,
        expires in proptest::option::of(1u64..1_000_000),
    ) {
        let (uz, us) = (uz(), us());
        let mut header = header(&uz, &us, 1);
        header.action = action;
        header.conversation_id = conversation;
        header.created_at += created_offset;
        header.expires_at = expires.map(|e| header.created_at + e);
        let ids: Vec<String> = (0..bodies.len()).map(|i| format!("part-{i}")).collect();
        let parts: Vec<Part<'_>> = bodies
            .iter()
            .zip(&ids)
            .map(|(body, id)| Part { part_id: id, media_type: "application/octet-stream", compression: Compression::None, body })
            .collect();
        let sealed = caravan_envelope::seal(&header, &parts, &uz.signing, &us.encryption.public_key()).unwrap();
        let opened = receive(&sealed.wire, &us, &Registry::knowing(&uz)).unwrap();
        prop_assert_eq!(&opened.header, &header);
        prop_assert_eq!(opened.parts.len(), bodies.len());
        for (part, body) in opened.parts.iter().zip(&bodies) {
            prop_assert_eq!(&part.body, body);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_single_flipped_bit_is_refused(position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (uz, us) = (uz(), us());
        let header = header(&uz, &us, 2);
        let parts = [
            Part { part_id: "body", media_type: "application/json", compression: Compression::None, body: br#"{"lrn":"UZ-EX-1"}"# },
            Part { part_id: "note", media_type: "text/plain", compression: Compression::None, body: b"inspected at Yallama" },
        ];
        let ephemeral = EncryptionSecretKey::from_bytes(&[5; 32]);
        let sealed = seal_with_ephemeral(&header, &parts, &uz.signing, &us.encryption.public_key(), &ephemeral).unwrap();
        let mut wire = sealed.wire.clone();
        let at = position.index(wire.len());
        wire[at] ^= 1 << bit;
        prop_assert!(receive(&wire, &us, &Registry::knowing(&uz)).is_err(), "flip of bit {} at byte {} was accepted", bit, at);
    }
}
