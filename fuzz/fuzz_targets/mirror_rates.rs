//! The mirror rate-table parser never panics, reports bad records with a line and a
//! code, and whatever it accepts, written back, parses to the same table without errors.
#![no_main]

use caravan_mirror::rates::Rates;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((rates, errors)) = Rates::parse_csv(data) else {
        return;
    };
    for e in &errors {
        assert!(e.line >= 2, "{e}");
        assert!(!e.message.is_empty());
    }
    let text = rates.to_csv();
    let (again, errors) = Rates::parse_csv(text.as_bytes()).expect("own header");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(again, rates);
});
