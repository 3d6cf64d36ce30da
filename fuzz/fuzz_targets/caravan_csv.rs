//! Caravan CSV never panics, and whatever it reads, written back, reads the same.
#![no_main]

use caravan_ingest::format::caravan_csv::{CsvReader, CsvWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let drafts: Vec<_> = CsvReader::new(data).map_while(Result::ok).map(|r| r.draft).collect();
    let mut writer = CsvWriter::new(Vec::new()).expect("write header");
    for draft in &drafts {
        writer.write(draft).expect("write to memory");
    }
    let bytes = writer.finish().expect("flush");
    let again: Vec<_> = CsvReader::new(&bytes[..]).map(|r| r.expect("re-read").draft).collect();
    // Consecutive drafts with the same key merge on re-read, so compare item totals.
    let items = |ds: &[caravan_domain::declaration::draft::DeclarationDraft]| {
        ds.iter().map(|d| d.items.len()).sum::<usize>()
    };
    assert_eq!(items(&drafts), items(&again));
});
