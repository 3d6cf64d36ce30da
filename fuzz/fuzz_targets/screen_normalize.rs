//! The name normaliser and the scorer never panic on any text: a name is normalised or
//! refused with a code, and any two names score in [0, 1], the same both ways.
#![no_main]

use caravan_screen::normalize::normalize_name;
use caravan_screen::score::{ScoreConfig, name_similarity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (left, right) = text.split_once('\u{1}').unwrap_or((&text, "Xoʻjayev Nuriddin MChJ"));
    if let Ok(name) = normalize_name(left, true) {
        assert!(!name.tokens.is_empty());
        assert!(name.tokens.iter().all(|t| !t.variants.is_empty() && t.keys.len() == t.variants.len()));
    }
    let config = ScoreConfig::default();
    let ab = name_similarity(left, right, &config);
    let ba = name_similarity(right, left, &config);
    assert!((0.0..=1.0).contains(&ab));
    assert!((ab - ba).abs() < 1e-12);
});
