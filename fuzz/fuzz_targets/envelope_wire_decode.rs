//! Fuzz the receiver's first look at foreign bytes, `WireView::decode`: never panics, and
//! whatever it accepts has exactly one encoding (the header re-encodes to the bytes that
//! were hashed, and the whole object re-encodes to the input).
#![no_main]
use caravan_envelope::cbor::Value;
use caravan_envelope::{Limits, WireView};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = Value::from_bytes(data) {
        assert_eq!(value.to_bytes(), data);
    }
    if let Ok(view) = WireView::decode(data, &Limits::default()) {
        assert_eq!(view.header.to_bytes(), view.hdr_bytes);
        assert_eq!(
            <[u8; 32]>::from(Sha256::digest(&view.hdr_bytes)),
            view.hdr_sha256
        );
        assert!(view.hdr_bytes.len() <= Limits::default().max_header_bytes);
    }
});
