//! Property tests: the normaliser never panics and is idempotent on its own output; the
//! scorer is symmetric, stays in [0, 1] and gives 1 for identical names.

use caravan_screen::normalize::normalize_name;
use caravan_screen::score::{ScoreConfig, name_similarity};
use proptest::prelude::*;

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z' .,-]{0,40}",
        "[А-Яа-яЁёЎўҚқҒғҲҳ ]{0,30}",
        "\\PC{0,30}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn normalizer_never_panics_and_is_idempotent(raw in name_strategy()) {
        if let Ok(name) = normalize_name(&raw, true) {
            let again = normalize_name(&name.fingerprint, false).unwrap();
            prop_assert_eq!(again.fingerprint, name.fingerprint);
            prop_assert!(!name.tokens.is_empty());
        }
    }

    #[test]
    fn score_is_symmetric_and_bounded(a in name_strategy(), b in name_strategy()) {
        let config = ScoreConfig::default();
        let ab = name_similarity(&a, &b, &config);
        let ba = name_similarity(&b, &a, &config);
        prop_assert!((0.0..=1.0).contains(&ab));
        prop_assert!((ab - ba).abs() < 1e-12, "{} vs {}", ab, ba);
    }

    #[test]
    fn identical_names_score_one(a in name_strategy()) {
        let config = ScoreConfig::default();
        if normalize_name(&a, true).is_ok() {
            prop_assert_eq!(name_similarity(&a, &a, &config), 1.0);
        }
    }
}
