//! Fuzz the tlog-witness add-checkpoint body parser: never panics, and an accepted body
//! re-encodes to the same bytes.
#![no_main]
use caravan_tlog::witness::AddCheckpointRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AddCheckpointRequest::parse(data) {
        assert_eq!(request.encode(), data);
    }
});
