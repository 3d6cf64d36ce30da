//! The CUSDEC reader never panics on any bytes and always stops.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for record in caravan_ingest::format::cusdec::reader(data) {
        if record.is_err() {
            break;
        }
    }
});
