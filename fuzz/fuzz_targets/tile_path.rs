//! Fuzz the tlog-tiles path parser: never panics, and an accepted path is canonical
//! (it prints back to itself).
#![no_main]
use caravan_tlog::tiles::{TilePath, parse_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = parse_path(text) {
        let printed = match parsed {
            TilePath::Hash(id) => id.path(),
            TilePath::Entries(bundle) => bundle.path(),
        };
        assert_eq!(printed, text);
    }
});
