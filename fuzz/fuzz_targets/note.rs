//! Fuzz the signed-note and checkpoint parsers: never panic, and an accepted note
//! serialises back to the same bytes.
#![no_main]
use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::note::Note;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(note.to_bytes(), data);
    }
    if let Ok(checkpoint) = SignedCheckpoint::parse(data) {
        assert_eq!(checkpoint.to_bytes(), data);
    }
});
