//! Statistics (§15): percentiles, the report over real cases, CSV.

use caravan_assistance::catalogue::{self, RequestType};
use caravan_assistance::lifecycle::{By, Case, Event, Ground, Side};
use caravan_assistance::roles::{Actor, Role};
use caravan_assistance::stats::{self, Outcome, Seizure};
use proptest::prelude::*;

use crate::fixtures::{complete_draft, day, in_force};

#[test]
fn nearest_rank_percentiles() {
    assert_eq!(stats::percentile(&[], 50), None);
    assert_eq!(stats::percentile(&[7], 90), Some(7));
    let v = [15, 20, 35, 40, 50];
    assert_eq!(stats::percentile(&v, 50), Some(35));
    assert_eq!(stats::percentile(&v, 90), Some(50));
    let v: Vec<i64> = (1..=10).collect();
    assert_eq!(stats::percentile(&v, 50), Some(5));
    assert_eq!(stats::percentile(&v, 90), Some(9));
}

#[test]
fn report_counts_types_times_outcomes_and_results() {
    let a = in_force();
    let v = catalogue::validate(complete_draft(), &a, day(2025, 3, 1)).unwrap();
    let desk = By::officer(Side::Requested, Actor::new("d", Role::DeskOfficer));
    let sup = By::officer(Side::Requested, Actor::new("s", Role::Supervisor));
    let mk = |id: &str| {
        let mut c = Case::incoming(id, "uz", &v, day(2025, 3, 3));
        c.apply(
            Event::TransportReceipt,
            By::Node(Side::Requested),
            day(2025, 3, 3),
            &a,
        )
        .unwrap();
        c
    };
    let mut answered = mk("a");
    answered
        .apply(Event::Acknowledge, desk.clone(), day(2025, 3, 5), &a)
        .unwrap();
    answered
        .apply(Event::Accept, sup.clone(), day(2025, 3, 5), &a)
        .unwrap();
    let item = caravan_assistance::lifecycle::ReplyItem {
        item_id: "x".into(),
        markings: caravan_assistance::marking::Markings::new(
            caravan_assistance::marking::Tlp::Amber,
            caravan_assistance::marking::Pap::Green,
        ),
        permitted_uses: vec![caravan_assistance::agreement::Purpose::Admin],
    };
    answered
        .apply(
            Event::Reply { items: vec![item] },
            sup.clone(),
            day(2025, 4, 2),
            &a,
        )
        .unwrap();
    let mut refused = mk("r");
    refused
        .apply(Event::Acknowledge, desk.clone(), day(2025, 3, 4), &a)
        .unwrap();
    refused
        .apply(
            Event::Refuse {
                grounds: vec![Ground::G05, Ground::G07],
                reason: "secret".into(),
            },
            sup,
            day(2025, 3, 6),
            &a,
        )
        .unwrap();
    let silent = mk("s");
    let outcomes = [Outcome {
        case_id: "a".into(),
        seizures: vec![Seizure {
            commodity: "cotton yarn".into(),
            hs_chapter: "52".into(),
            quantity: 20_000,
        }],
        revenue_minor: vec![("USD".into(), 1_250_000), ("USD".into(), 50_000)],
        cases_opened: 1,
        convictions: 0,
    }];
    let r = stats::report(&[answered, refused, silent], &outcomes, day(2025, 7, 1));
    assert_eq!(r.by_type[&RequestType::R02], 3);
    assert_eq!(r.receipt_to_ack_days.n, 2);
    assert_eq!(r.receipt_to_ack_days.median, Some(1));
    assert_eq!(r.receipt_to_ack_days.p90, Some(2));
    assert_eq!(r.receipt_to_reply_days.median, Some(30));
    assert_eq!(r.answered, 1);
    assert_eq!(r.refused_by_ground[&Ground::G05], 1);
    assert_eq!(r.refused_by_ground[&Ground::G07], 1);
    assert_eq!(r.overdue, 1, "the silent case");
    assert_eq!(r.seizures_by_chapter["52"], 20_000);
    assert_eq!(r.revenue_minor_by_currency["USD"], 1_300_000);
    let csv = stats::to_csv(&r);
    assert!(csv.starts_with("metric,key,value\n"));
    assert!(csv.contains("requests_by_type,R02,3\n"));
    assert!(csv.contains("receipt_to_reply_days,median,30\n"));
    assert!(csv.contains("refused_by_ground,G07,1\n"));
    assert!(csv.contains("outcome,overdue,1\n"));
    assert!(csv.contains("revenue_minor,USD,1300000\n"));
}

proptest! {
    /// The percentile is an element of the input, and it never decreases with p.
    #[test]
    fn percentile_is_a_monotone_element(v in proptest::collection::vec(-1000i64..1000, 1..50), p in 1u32..100) {
        let a = stats::percentile(&v, p).unwrap();
        let b = stats::percentile(&v, p + 1).unwrap();
        prop_assert!(v.contains(&a));
        prop_assert!(a <= b);
        let below = v.iter().filter(|x| **x <= a).count() as u64;
        prop_assert!(below * 100 >= u64::from(p) * v.len() as u64);
    }
}
