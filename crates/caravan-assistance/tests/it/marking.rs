//! Markings (§9): strictest wins, tighten only, provider-only loosening; lattice properties.

use caravan_assistance::marking::{ItemMarkings, Markings, Pap, Tlp};
use proptest::prelude::*;

fn m(tlp: Tlp, pap: Pap, caveats: &[&str]) -> Markings {
    caveats.iter().fold(Markings::new(tlp, pap), |acc, c| {
        acc.with_caveat(c).unwrap()
    })
}

#[test]
fn field_markings_join_item_container_and_default() {
    let mut item = ItemMarkings::new(m(Tlp::Green, Pap::Green, &["PERSONAL-DATA"]));
    item.fields.insert(
        "value".into(),
        m(Tlp::Amber, Pap::White, &["COMMERCIAL-CONFIDENTIAL"]),
    );
    let default = m(Tlp::Green, Pap::Amber, &[]);
    let container = m(Tlp::Clear, Pap::White, &["CONDITIONS:case-7"]);
    let e = item.effective(Some("value"), Some(&container), &default);
    assert_eq!(e.tlp, Tlp::Amber);
    assert_eq!(e.pap, Pap::Amber);
    let caveats: Vec<&str> = e.caveats.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        caveats,
        [
            "COMMERCIAL-CONFIDENTIAL",
            "CONDITIONS:case-7",
            "PERSONAL-DATA"
        ]
    );
    let other = item.effective(Some("origin"), None, &default);
    assert_eq!((other.tlp, other.pap), (Tlp::Green, Pap::Amber));
    assert_eq!(
        item.effective(None, None, &default).tlp,
        Tlp::Amber,
        "whole item = strictest field"
    );
}

#[test]
fn receiver_may_only_tighten_and_only_the_provider_loosens() {
    let mut item = ItemMarkings::new(m(Tlp::Amber, Pap::Green, &["NO-ONWARD"]));
    let err = item
        .tighten(None, m(Tlp::Green, Pap::Green, &["NO-ONWARD"]))
        .unwrap_err();
    assert_eq!(err.code(), "marking_loosened");
    let err = item.tighten(None, m(Tlp::Red, Pap::Red, &[])).unwrap_err();
    assert_eq!(err.code(), "marking_loosened", "dropping a caveat loosens");
    let err = item
        .tighten(Some("value"), m(Tlp::Amber, Pap::White, &["NO-ONWARD"]))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "marking_loosened",
        "a field starts from the item's markings"
    );
    item.tighten(
        None,
        m(Tlp::AmberStrict, Pap::Green, &["NO-ONWARD", "LE-SENSITIVE"]),
    )
    .unwrap();
    assert_eq!(item.item.tlp, Tlp::AmberStrict);
    let err = item
        .apply_change(None, m(Tlp::Green, Pap::White, &[]), false)
        .unwrap_err();
    assert_eq!(err.code(), "marking_loosened_not_by_provider");
    item.apply_change(None, m(Tlp::Green, Pap::White, &[]), true)
        .unwrap();
    assert_eq!(
        item.item,
        m(Tlp::Green, Pap::White, &[]),
        "replaces, never two TLP values"
    );
}

#[test]
fn tags_and_caveats_parse() {
    assert_eq!(Tlp::parse_tag("TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
    assert_eq!(Pap::parse_tag("PAP:CLEAR"), Some(Pap::White));
    assert_eq!(Pap::parse_tag("CLEAR"), Some(Pap::White));
    assert_eq!(
        Tlp::parse_tag("TLP:WHITE"),
        None,
        "TLP 2.0 renamed WHITE to CLEAR"
    );
    for bad in ["", "no-onward", "A:", "A:b:c", "X Y"] {
        assert_eq!(
            Markings::new(Tlp::Red, Pap::Red)
                .with_caveat(bad)
                .unwrap_err()
                .code(),
            "caveat_invalid",
            "{bad}"
        );
    }
}

fn arb() -> impl Strategy<Value = Markings> {
    (
        0usize..5,
        0usize..4,
        proptest::sample::subsequence(
            vec!["NO-EVIDENCE", "NO-ONWARD", "PERSONAL-DATA", "LE-SENSITIVE"],
            0..4,
        ),
    )
        .prop_map(|(t, p, c)| m(Tlp::ALL[t], Pap::ALL[p], &c))
}

proptest! {
    /// `join` is the least upper bound: it covers both inputs, is commutative, associative
    /// and idempotent, and anything covering both inputs covers the join.
    #[test]
    fn join_is_a_least_upper_bound(a in arb(), b in arb(), c in arb()) {
        let j = a.join(&b);
        prop_assert!(j.covers(&a) && j.covers(&b));
        prop_assert_eq!(&j, &b.join(&a));
        prop_assert_eq!(a.join(&b).join(&c), a.join(&b.join(&c)));
        prop_assert_eq!(a.join(&a), a.clone());
        if c.covers(&a) && c.covers(&b) {
            prop_assert!(c.covers(&j));
        }
    }

    /// A receiver's tighten succeeds exactly when the new value covers the old one.
    #[test]
    fn tighten_accepts_exactly_the_covering_values(a in arb(), b in arb()) {
        let mut item = ItemMarkings::new(a.clone());
        let ok = item.tighten(None, b.clone()).is_ok();
        prop_assert_eq!(ok, b.covers(&a));
        prop_assert_eq!(item.item, if ok { b } else { a });
    }
}

#[test]
fn provider_changes_apply_in_their_order_only() {
    use caravan_assistance::marking::check_change_order;
    check_change_order(None, 1).unwrap();
    check_change_order(Some(1), 2).unwrap();
    check_change_order(Some(1), 5).unwrap();
    assert_eq!(
        check_change_order(Some(2), 1).unwrap_err().code(),
        "marking_change_superseded"
    );
    assert_eq!(
        check_change_order(Some(2), 2).unwrap_err().code(),
        "marking_change_superseded"
    );
    let mut item = ItemMarkings::new(m(Tlp::Amber, Pap::Amber, &["NO-ONWARD"]));
    assert!(item.loosens(None, &m(Tlp::Green, Pap::Amber, &["NO-ONWARD"])));
    assert!(item.loosens(Some("value"), &m(Tlp::Amber, Pap::Amber, &[])));
    assert!(!item.loosens(None, &m(Tlp::Red, Pap::Amber, &["NO-ONWARD"])));
    item.apply_change(Some("value"), m(Tlp::Red, Pap::Red, &[]), true)
        .unwrap();
    assert_eq!(item.current(Some("value")).tlp, Tlp::Red);
    assert_eq!(item.current(Some("other")).tlp, Tlp::Amber);
}
