//! Hit/no-hit (§12): only hit, no_hit or refused; normalisation; rate limit; commitments.

use caravan_assistance::agreement::Purpose;
use caravan_assistance::hitnohit::{self, HitAnswer, HitQuery, Holdings, QueryType, RateLimit};
use proptest::prelude::*;

use crate::fixtures::day;

fn query(id: &str) -> HitQuery {
    HitQuery {
        kind: QueryType::Conveyance,
        identifier: id.into(),
        purpose: Some(Purpose::Intel),
        official: "us-cbp-ilo-desk".into(),
        case_reference: "case-1".into(),
        on: day(2025, 3, 1),
    }
}

#[test]
fn answers_reveal_only_presence() {
    let holdings: Holdings = [(QueryType::Conveyance, "MSCU1234565".to_owned())].into();
    let mut limit = RateLimit::new(3);
    let HitAnswer::Hit { handle } =
        hitnohit::answer(&query("mscu 123456-5"), &holdings, &mut limit, b"k")
    else {
        panic!("expected a hit")
    };
    assert_eq!(handle.len(), 64);
    assert!(!handle.contains("MSCU"));
    assert_eq!(
        hitnohit::answer(&query("MSCU7654321"), &holdings, &mut limit, b"k"),
        HitAnswer::NoHit
    );
    let mut q = query("MSCU1234565");
    q.purpose = None;
    assert_eq!(
        hitnohit::answer(&q, &holdings, &mut limit, b"k"),
        HitAnswer::Refused {
            code: "purpose_missing"
        }
    );
    let mut q = query("MSCU1234565");
    q.case_reference.clear();
    assert_eq!(
        hitnohit::answer(&q, &holdings, &mut limit, b"k"),
        HitAnswer::Refused {
            code: "query_incomplete"
        }
    );
    assert_eq!(
        hitnohit::answer(&query("<script>"), &holdings, &mut limit, b"k"),
        HitAnswer::Refused {
            code: "identifier_invalid"
        }
    );
    assert!(matches!(
        hitnohit::answer(&query("MSCU1234565"), &holdings, &mut limit, b"k"),
        HitAnswer::Hit { .. }
    ));
    assert_eq!(
        hitnohit::answer(&query("MSCU1234565"), &holdings, &mut limit, b"k"),
        HitAnswer::Refused {
            code: "rate_limited"
        }
    );
    let mut tomorrow = query("MSCU1234565");
    tomorrow.on = day(2025, 3, 2);
    assert!(matches!(
        hitnohit::answer(&tomorrow, &holdings, &mut limit, b"k"),
        HitAnswer::Hit { .. }
    ));
    assert_ne!(
        hitnohit::commitment(&query("a"), b"s1"),
        hitnohit::commitment(&query("a"), b"s2")
    );
}

proptest! {
    /// Normalisation is idempotent, and the answer depends only on whether the normalised
    /// identifier is held: the same hit gets the same handle for the same case.
    #[test]
    fn normalise_is_idempotent(raw in "[A-Za-z0-9 ./-]{1,30}") {
        if let Some(n) = hitnohit::normalise(QueryType::Company, &raw) {
            prop_assert_eq!(hitnohit::normalise(QueryType::Company, &n), Some(n.clone()));
            let holdings: Holdings = [(QueryType::Company, n)].into();
            let mut limit = RateLimit::new(10);
            let mut q = query(&raw);
            q.kind = QueryType::Company;
            let a = hitnohit::answer(&q, &holdings, &mut limit, b"k");
            let b = hitnohit::answer(&q, &holdings, &mut limit, b"k");
            let is_hit = matches!(a, HitAnswer::Hit { .. });
            prop_assert!(is_hit);
            prop_assert_eq!(a, b);
        }
    }
}
