//! E2: UN persons (primary names and aliases) screened as perturbed queries against 5,000
//! seeded innocent names (the CLI runs 50,000). Gate: recall above 0.98 where at most
//! 0.1 % of innocent names are flagged.

use caravan_screen::eval::{recall_at_alert_rate, run_screening_set, screening_set};
use caravan_screen::index::ScreenIndex;
use caravan_screen::model::{EntryKind, ScreeningList};
use caravan_screen::parse::un_xml;
use caravan_screen::screen::Screener;

#[test]
fn recall_at_one_in_a_thousand_innocent_flagged() {
    let list = un_xml::parse(&crate::data::read("un_consolidated.xml"), "t").unwrap();
    let persons = ScreeningList {
        entries: list
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Person)
            .cloned()
            .collect(),
        version: list.version.clone(),
    };
    let screener = Screener::new(
        ScreenIndex::build(std::slice::from_ref(&persons)),
        Default::default(),
    );
    let set = screening_set(&persons, 42, 5_000);
    assert!(set.positives.len() > 2_700, "{}", set.positives.len());
    let report = run_screening_set(&screener, &set);
    let (threshold, recall, flagged) =
        recall_at_alert_rate(&report.positive_scores, &report.negative_scores, 0.001);
    println!("threshold {threshold:.3} recall {recall:.4} flagged {flagged:.4}");
    assert!(recall > 0.98, "recall {recall} at {threshold}");
    assert!(flagged <= 0.001);
}
