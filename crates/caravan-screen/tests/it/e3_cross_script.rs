//! E3: Uzbek and Russian cross-script pairs built from the romanisation tables; true pairs
//! must reach 0.85 and hard negatives stay below 0.70 (spec §10.2).

use std::collections::BTreeMap;

use caravan_screen::eval::{cross_script_pairs, prf_at};
use caravan_screen::score::{ScoreConfig, name_similarity};

#[test]
fn every_system_meets_and_near_surnames_do_not() {
    let config = ScoreConfig::default();
    let mut by_kind: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    let mut failures = Vec::new();
    for pair in cross_script_pairs() {
        let score = name_similarity(&pair.cyrillic, &pair.latin, &config);
        by_kind
            .entry(pair.kind.clone())
            .or_default()
            .push((score, pair.is_match));
        let ok = if pair.is_match {
            score >= 0.85
        } else {
            score < 0.70
        };
        if !ok {
            failures.push(format!(
                "{score:.3} {} {:?} / {:?}",
                pair.kind, pair.cyrillic, pair.latin
            ));
        }
    }
    for (kind, scored) in &by_kind {
        let at = prf_at(scored, 0.85);
        println!(
            "{kind:<14} n={:<3} P {:.3} R {:.3} F1 {:.3}",
            scored.len(),
            at.precision,
            at.recall,
            at.f1
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
