//! The default party-name comparer: the noise the corridor's difficulty knobs inject
//! must still compare as the same firm; different firms must not.

use caravan_mirror::similarity::{NameSimilarity, TokenSimilarity};
use proptest::prelude::*;

fn sim(a: &str, b: &str) -> f64 {
    let n = TokenSimilarity;
    n.similarity(&n.normalise(a), &n.normalise(b))
}

#[test]
fn retyped_names_match() {
    for (a, b) in [
        ("Acme Industrial Supply LLC", "ACME INDUSTRIAL SUPPLY LLC"),
        ("Acme Industrial Supply LLC", "Acme Industrial Supply"),
        ("Acme Industrial Supply LLC", "Acme Industriall Supply LLC"),
        ("«Samarqand Tekstil» MChJ", "Samarqand Tekstil MChJ"),
        ("ООО «Самарканд Текстиль»", "Samarkand Tekstil"),
    ] {
        assert!(sim(a, b) >= 0.8, "{a} ~ {b}: {}", sim(a, b));
    }
}

#[test]
fn different_firms_do_not_match() {
    for (a, b) in [
        ("Acme Industrial Supply LLC", "Boreal Machine Works Inc"),
        ("«Samarqand Tekstil» MChJ", "«Buxoro Paxta» MChJ"),
    ] {
        assert!(sim(a, b) < 0.5, "{a} ~ {b}: {}", sim(a, b));
    }
}

proptest! {
    #[test]
    fn symmetric_bounded_and_reflexive(a in "\\PC{0,40}", b in "\\PC{0,40}") {
        let (x, y) = (sim(&a, &b), sim(&b, &a));
        prop_assert_eq!(x, y);
        prop_assert!((0.0..=1.0).contains(&x));
        let n = TokenSimilarity;
        if !n.normalise(&a).is_empty() {
            prop_assert_eq!(sim(&a, &a), 1.0);
        }
    }
}
