//! Caravan JSON never panics, and a record it accepts round-trips exactly.
#![no_main]

use caravan_ingest::format::caravan_json::{JsonReader, write_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for record in JsonReader::new(data).map_while(Result::ok) {
        let mut bytes = Vec::new();
        write_line(&mut bytes, &record.draft).expect("write to memory");
        let again = JsonReader::new(&bytes[..]).next().expect("one record").expect("re-read");
        assert_eq!(again.draft, record.draft);
    }
});
