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

/// §9 under concurrency: the provider loosens while the receiver tightens, neither having
/// seen the other's change. Each copy weighs the other's change against its own last word
/// and both end on the join; a change made after seeing the other's word replaces it; a
/// non-provider's change below what it started from is refused even when concurrent.
#[test]
fn concurrent_changes_join_and_a_change_made_after_seeing_replaces() {
    use caravan_assistance::marking::ReceivedChange;
    let supplied = m(Tlp::Amber, Pap::Amber, &[]);
    let loosened = m(Tlp::Green, Pap::Green, &["PERSONAL-DATA"]);
    let tightened = m(Tlp::Red, Pap::Amber, &["NO-ONWARD"]);
    let received = |markings: &Markings, from_provider, seen, own: &Markings| ReceivedChange {
        markings: markings.clone(),
        from_provider,
        seen,
        own_last: Some((2, own.clone())),
        basis: (!from_provider).then(|| supplied.clone()),
    };
    let mut provider = ItemMarkings::new(loosened.clone());
    let mut receiver = ItemMarkings::new(tightened.clone());
    let change = received(&tightened, false, None, &loosened);
    assert!(change.is_concurrent());
    let at_provider = provider.receive_change(None, &change).unwrap();
    let at_receiver = receiver
        .receive_change(None, &received(&loosened, true, None, &tightened))
        .unwrap();
    assert_eq!(at_provider, at_receiver);
    assert_eq!(
        at_provider,
        m(Tlp::Red, Pap::Amber, &["NO-ONWARD", "PERSONAL-DATA"]),
        "the receiver's tightening survives and the provider's new caveat is kept"
    );
    assert_eq!(provider, receiver);

    // The provider, having seen the receiver's change 2, loosens again: it replaces.
    let published = m(Tlp::Clear, Pap::White, &[]);
    let seen = received(&published, true, Some(2), &tightened);
    assert!(!seen.is_concurrent());
    assert_eq!(receiver.receive_change(None, &seen).unwrap(), published);

    // A non-provider's concurrent change below what it started from is refused, unchanged.
    let before = provider.clone();
    let err = provider
        .receive_change(None, &received(&published, false, None, &loosened))
        .unwrap_err();
    assert_eq!(err.code(), "marking_loosened_not_by_provider");
    assert_eq!(provider, before);
    // A field without markings of its own takes a non-provider's change as sent: the item's
    // markings still bind it through `effective`.
    let field = provider
        .receive_change(
            Some("value"),
            &ReceivedChange {
                markings: supplied.clone(),
                from_provider: false,
                seen: None,
                own_last: None,
                basis: None,
            },
        )
        .unwrap();
    assert_eq!(field, supplied);
}
