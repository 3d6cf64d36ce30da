//! Fuzz the KCS declaration reader: never panic, and every accepted row has an ID, finite
//! non-negative numbers and a unique ID.
#![no_main]
use caravan_target::kcs::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = read(data) {
        let mut ids = std::collections::HashSet::new();
        for r in &rows {
            assert!(!r.id.is_empty());
            assert!(ids.insert(r.id.clone()));
            for v in [r.net_mass, r.value, r.tax_rate].into_iter().flatten() {
                assert!(v.is_finite() && v >= 0.0);
            }
        }
    }
});
