//! Fuzz decoding and opening a message with fixed keys (the seeds' keys): never panics,
//! and anything that opens is exactly what the sender signed (header as on the wire,
//! signer the one registered key, every part matching its manifest line).
#![no_main]
use caravan_envelope::{EncryptionSecretKey, Limits, MessageSigningKey, WireView, open};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let Ok(view) = WireView::decode(data, &Limits::default()) else {
        return;
    };
    let recipient = EncryptionSecretKey::from_bytes(&[4; 32]);
    let sender = MessageSigningKey::from_bytes(&[1; 32]).verifying_key();
    if let Ok(opened) = open(&view, &recipient, &sender) {
        assert_eq!(opened.header, view.header);
        assert_eq!(opened.signer_kid, sender.kid());
        assert_eq!(
            opened.parts.len() + opened.detached.len(),
            opened.manifest.parts.len()
        );
        for part in &opened.parts {
            assert_eq!(part.body.len() as u64, part.info.length);
            assert_eq!(
                <[u8; 32]>::from(Sha256::digest(&part.body)),
                part.info.sha256
            );
        }
    }
});
