//! Fuzz the tlog-proof parser: never panics, and an accepted proof re-encodes to the
//! same text.
#![no_main]
use caravan_tlog::proof::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = TlogProof::parse(data) {
        assert_eq!(proof.encode().as_bytes(), data);
    }
});
