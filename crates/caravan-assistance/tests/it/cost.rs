//! Cost items (§1.7): validation, the consultation lock, and who bears what.

use caravan_assistance::cost::{self, Bearer, CostCategory, CostItem, CostLedger};
use caravan_assistance::lifecycle::Side;

use crate::fixtures::in_force;

fn item(category: CostCategory, amount: i64, extraordinary: bool) -> CostItem {
    CostItem {
        category,
        amount_minor: amount,
        currency: "USD".into(),
        incurred_by: Side::Requested,
        extraordinary,
    }
}

#[test]
fn consultation_blocks_further_extraordinary_spending() {
    let mut l = CostLedger::default();
    l.add(item(CostCategory::Laboratory, 500_000, true))
        .unwrap();
    l.consultation_open = true;
    assert_eq!(
        l.add(item(CostCategory::Travel, 1, true))
            .unwrap_err()
            .code(),
        "cost_consultation_open"
    );
    l.add(item(CostCategory::Staff, 10_000, false)).unwrap();
    assert_eq!(
        l.add(item(CostCategory::Staff, 0, false))
            .unwrap_err()
            .code(),
        "cost_amount_invalid"
    );
    let mut bad = item(CostCategory::Staff, 1, false);
    bad.currency = "usd".into();
    assert_eq!(l.add(bad).unwrap_err().code(), "cost_currency_invalid");
    assert_eq!(l.extraordinary_totals()["USD"], 500_000);
    assert_eq!(l.items.len(), 2);
}

#[test]
fn bearer_follows_the_agreement() {
    let mut a = in_force();
    assert_eq!(
        cost::bearer(&a, &item(CostCategory::WitnessFees, 1, false)),
        Bearer::Incurring
    );
    assert_eq!(
        cost::bearer(&a, &item(CostCategory::Staff, 1, true)),
        Bearer::Consultation
    );
    a.cost_rule.requester_pays_experts_and_witnesses = true;
    assert_eq!(
        cost::bearer(&a, &item(CostCategory::WitnessFees, 1, false)),
        Bearer::Requester
    );
    assert_eq!(
        cost::bearer(&a, &item(CostCategory::Staff, 1, false)),
        Bearer::Incurring
    );
}
