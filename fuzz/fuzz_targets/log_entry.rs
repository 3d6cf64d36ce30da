//! Fuzz the log entry decoder: never panics, and anything accepted re-encodes to the
//! same bytes (one encoding per entry, so one leaf hash).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = caravan_log::cbor::Value::decode(data) {
        assert_eq!(value.encode(), data);
    }
    if let Ok(entry) = caravan_log::entry::Entry::decode(data) {
        assert_eq!(entry.encode().unwrap(), data);
    }
});
