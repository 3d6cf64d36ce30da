//! Fuzz receipt and signed-error verification with a fixed receiver key: never panics,
//! and what verifies re-signs to the same bytes (Ed25519 is deterministic, so an accepted
//! receipt has one encoding). The first byte picks the mode: 0 verifies the rest as
//! signed bytes; 1 signs the rest as a receipt payload first, so the decoder and the
//! offline checks behind the signature are fuzzed too.
#![no_main]
use caravan_envelope::cose::{CONTENT_TYPE_RECEIPT, sign};
use caravan_envelope::{
    MessageSigningKey, sign_error, sign_receipt, verify_error, verify_receipt,
    verify_receipt_offline,
};
use caravan_tlog::note::{Ed25519Signer, VerifierList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let receiver = MessageSigningKey::from_bytes(&[3; 32]);
    let key = receiver.verifying_key();
    let signed = match mode {
        0 => rest.to_vec(),
        _ => sign(rest, CONTENT_TYPE_RECEIPT, &receiver),
    };
    if let Ok(body) = verify_receipt(&signed, &key) {
        assert_eq!(sign_receipt(&body, &receiver), signed);
        let log =
            Ed25519Signer::from_seed("caravan.cbp.example/us-uz-cmaa-2024", &[11; 32]).unwrap();
        let logs = VerifierList::new().with(log.verifier()).unwrap();
        let _ = verify_receipt_offline(&signed, &key, &logs, &VerifierList::new(), 0);
    }
    if let Ok(error) = verify_error(&signed, &key) {
        assert_eq!(sign_error(&error, &receiver), signed);
    }
});
