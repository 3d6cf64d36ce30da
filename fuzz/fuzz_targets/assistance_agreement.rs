//! The agreement-file loader never panics; a refusal points at a real line of the input, and
//! an accepted file satisfies the invariants the workflow relies on.
#![no_main]

use caravan_assistance::agreement::{Agreement, Purpose};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Agreement::from_toml(text) {
        Ok(a) => {
            assert_ne!(a.parties[0].code, a.parties[1].code);
            for &p in Purpose::ALL {
                let _ = a.use_rule(p);
            }
            assert!(a.languages.accepted.contains(&a.languages.working));
            assert!(a.deadlines.exec_days >= 1 && a.deadlines.reminder_percent <= 100);
        }
        Err(e) => {
            assert!(!e.code().is_empty());
            assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{e}");
        }
    }
});
