//! The WCO DEC-DMS XML reader never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = caravan_ingest::format::wco_xml::read_document(data);
});
