//! Fuzz the targeting rule-file parser: never panic, every error names a line of the file,
//! and a file that loads assesses a sparse declaration without panicking.
#![no_main]
use caravan_target::record::TargetRecord;
use caravan_target::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match RuleSet::parse(text) {
        Ok(set) => {
            let r = TargetRecord {
                id: "x".into(),
                hs6: Some("847130".into()),
                ..TargetRecord::default()
            };
            let _ = set.assess(&r, Some(0.5));
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let lines = text.lines().count().max(1);
            for e in errors {
                assert!(e.line >= 1 && e.line <= lines, "{e}");
            }
        }
    }
});
