//! Retention (§11): schedule, review list, annual review, propagation and its acknowledgement.

use caravan_assistance::retention::{
    self, ComplianceAck, ItemCompliance, Propagation, PropagationKind, RetentionClass,
    ReviewDecision, ReviewReason,
};
use caravan_assistance::roles::{Actor, Role};

use crate::fixtures::{day, supervisor};

#[test]
fn items_need_a_class_and_the_schedule_follows_fide() {
    assert_eq!(
        retention::admit("x", None, day(2025, 1, 1), false)
            .unwrap_err()
            .code(),
        "retention_class_missing"
    );
    assert_eq!(
        retention::admit("x", Some("forever"), day(2025, 1, 1), false)
            .unwrap_err()
            .code(),
        "retention_class_unknown"
    );
    let item = retention::admit("x", Some("enquiry_no_offence"), day(2025, 1, 31), false).unwrap();
    assert_eq!(item.class, RetentionClass::EnquiryNoOffence);
    assert_eq!(item.erase_on(), day(2028, 1, 31));
    let cleared = retention::admit("y", Some("person_cleared"), day(2025, 3, 1), true).unwrap();
    assert_eq!(cleared.erase_on(), day(2025, 3, 1), "immediate erasure");
}

#[test]
fn review_list_has_expired_items_and_annual_reviews() {
    let a = retention::admit("a", Some("enquiry_no_act"), day(2024, 1, 1), false).unwrap();
    let b = retention::admit("b", Some("final_judgment"), day(2024, 3, 1), true).unwrap();
    let mut c = retention::admit("c", Some("enquiry_no_act"), day(2024, 1, 1), true).unwrap();
    c.legal_hold = Some("pending appeal".into());
    let d = retention::admit("d", Some("final_judgment"), day(2025, 1, 1), false).unwrap();
    let list = retention::review_list(&[a, b.clone(), c, d], day(2025, 3, 15));
    let got: Vec<(&str, ReviewReason)> = list
        .iter()
        .map(|l| (l.item_id.as_str(), l.reason))
        .collect();
    assert_eq!(
        got,
        [
            ("a", ReviewReason::RetentionExpired),
            ("c", ReviewReason::AnnualReview),
            ("b", ReviewReason::AnnualReview)
        ]
    );
    let mut b = b;
    let desk = Actor::new("d", Role::DeskOfficer);
    assert_eq!(
        retention::review(&mut b, &ReviewDecision::Erase, &desk, day(2025, 3, 15))
            .unwrap_err()
            .code(),
        "role_not_permitted"
    );
    let keep = ReviewDecision::Keep { reason: " ".into() };
    assert_eq!(
        retention::review(&mut b, &keep, &supervisor(), day(2025, 3, 15))
            .unwrap_err()
            .code(),
        "reason_missing"
    );
    let keep = ReviewDecision::Keep {
        reason: "case open".into(),
    };
    assert!(!retention::review(&mut b, &keep, &supervisor(), day(2025, 3, 15)).unwrap());
    assert_eq!(b.review_due(), Some(day(2026, 3, 15)));
    assert!(retention::review_list(&[b], day(2025, 3, 16)).is_empty());
}

#[test]
fn propagation_stays_open_until_every_item_is_accounted_for() {
    let desk = Actor::new("uz-desk", Role::DeskOfficer);
    let analyst = Actor::new("an", Role::Analyst);
    assert_eq!(
        Propagation::send(
            "p",
            PropagationKind::Erase,
            vec!["i1".into()],
            &analyst,
            day(2025, 5, 1)
        )
        .unwrap_err()
        .code(),
        "role_not_permitted"
    );
    let mut p = Propagation::send(
        "p",
        PropagationKind::Retract,
        vec!["i1".into(), "i2".into()],
        &desk,
        day(2025, 5, 1),
    )
    .unwrap();
    assert_eq!(PropagationKind::Retract.code(), "Data.Retract");
    assert_eq!(
        p.chases_due(14, day(2025, 5, 29)),
        [day(2025, 5, 15), day(2025, 5, 29)]
    );
    let partial = ComplianceAck {
        items: vec![("i1".into(), ItemCompliance::Applied)],
        on: day(2025, 5, 3),
    };
    assert_eq!(
        p.acknowledge(partial).unwrap_err().code(),
        "compliance_ack_incomplete"
    );
    let stray = ComplianceAck {
        items: vec![("zz".into(), ItemCompliance::Applied)],
        on: day(2025, 5, 3),
    };
    assert_eq!(
        p.acknowledge(stray).unwrap_err().code(),
        "compliance_ack_unknown_item"
    );
    let bad_hold = ComplianceAck {
        items: vec![
            ("i1".into(), ItemCompliance::Applied),
            ("i2".into(), ItemCompliance::LegalHold { reason: "".into() }),
        ],
        on: day(2025, 5, 3),
    };
    assert_eq!(
        p.acknowledge(bad_hold).unwrap_err().code(),
        "legal_hold_reason_missing"
    );
    assert!(p.ack.is_none());
    let ok = ComplianceAck {
        items: vec![
            ("i1".into(), ItemCompliance::Applied),
            (
                "i2".into(),
                ItemCompliance::LegalHold {
                    reason: "court order".into(),
                },
            ),
        ],
        on: day(2025, 5, 3),
    };
    p.acknowledge(ok.clone()).unwrap();
    assert_eq!(p.days_to_ack(), Some(2));
    assert!(p.chases_due(14, day(2025, 6, 30)).is_empty());
    assert_eq!(
        p.acknowledge(ok).unwrap_err().code(),
        "compliance_ack_duplicate"
    );
}
