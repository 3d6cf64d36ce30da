//! Use control (§10): the use check, consent workflow, provenance, forced disclosure.

use std::collections::BTreeSet;

use caravan_assistance::agreement::{AssuranceState, Purpose};
use caravan_assistance::marking::{ItemMarkings, Markings, Pap, Tlp};
use caravan_assistance::roles::{Actor, Role};
use caravan_assistance::usecontrol::{
    self, ConsentCase, ConsentDecision, ConsentState, Provenance, Recipient, UseAction, UseGrant,
    UseRequest,
};
use chrono::NaiveDate;

use crate::fixtures::{day, in_force, supervisor};

fn provenance(tlp: Tlp, caveats: &[&str]) -> Provenance {
    let markings = caveats
        .iter()
        .fold(Markings::new(tlp, Pap::Green), |acc, c| {
            acc.with_caveat(c).unwrap()
        });
    Provenance {
        item_id: "uz-export-decl".into(),
        agreement_id: "us-uz-cmaa-2024".into(),
        provider: "UZ".into(),
        provider_reference: "UZ-REF-1".into(),
        message_id: "msg-1".into(),
        log_index: 7,
        permitted_uses: BTreeSet::from([Purpose::Intel, Purpose::Admin, Purpose::Criminal]),
        conditions: vec![],
        markings: ItemMarkings::new(markings),
        named_recipients: BTreeSet::from(["us-inv".to_owned()]),
        personal_data: false,
        retention_class: "enquiry_no_offence".into(),
        received_on: day(2025, 4, 1),
    }
}

fn req<'a>(
    actor: &'a Actor,
    action: UseAction,
    purpose: Purpose,
    recipient: Recipient,
    on: NaiveDate,
) -> UseRequest<'a> {
    UseRequest {
        actor,
        assigned: true,
        action,
        purpose,
        recipient,
        on,
    }
}

#[test]
fn court_use_is_blocked_until_the_provider_consents() {
    let a = in_force();
    let inv = Actor::new("us-inv", Role::Investigator);
    let item = provenance(Tlp::Amber, &[]);
    let court = Recipient::Court("US v. Example Textile, 25-cr-101".into());
    let on = day(2025, 4, 10);
    let err = usecontrol::use_check(
        &a,
        &item,
        &[],
        &req(
            &inv,
            UseAction::PresentInProceedings,
            Purpose::Criminal,
            court.clone(),
            on,
        ),
    )
    .unwrap_err();
    assert_eq!(err.code(), "consent_required");

    let mut consent = ConsentCase::request(
        "consent-1",
        &inv,
        vec!["uz-export-decl".into()],
        Purpose::Criminal,
        court.clone(),
        "evidence of origin fraud",
        Some("25-cr-101".into()),
        day(2025, 5, 1),
    )
    .unwrap();
    // No implied consent: still blocked while requested, even after the date needed.
    let err = usecontrol::use_check(
        &a,
        &item,
        std::slice::from_ref(&consent),
        &req(
            &inv,
            UseAction::PresentInProceedings,
            Purpose::Criminal,
            court.clone(),
            day(2025, 6, 1),
        ),
    )
    .unwrap_err();
    assert_eq!(err.code(), "consent_required");
    let err = consent
        .decide(ConsentDecision::Granted { expires_on: None }, &inv)
        .unwrap_err();
    assert_eq!(err.code(), "role_not_permitted");
    consent
        .decide(
            ConsentDecision::Granted {
                expires_on: Some(day(2025, 12, 31)),
            },
            &supervisor(),
        )
        .unwrap();
    assert_eq!(consent.state, ConsentState::Granted);
    let grant = usecontrol::use_check(
        &a,
        &item,
        std::slice::from_ref(&consent),
        &req(
            &inv,
            UseAction::PresentInProceedings,
            Purpose::Criminal,
            court.clone(),
            on,
        ),
    )
    .unwrap();
    assert_eq!(grant, UseGrant::Consent("consent-1".into()));
    // Narrow: another court is not covered; after expiry nothing is.
    let other = Recipient::Court("another proceeding".into());
    assert_eq!(
        usecontrol::use_check(
            &a,
            &item,
            std::slice::from_ref(&consent),
            &req(
                &inv,
                UseAction::PresentInProceedings,
                Purpose::Criminal,
                other,
                on
            )
        )
        .unwrap_err()
        .code(),
        "consent_required"
    );
    assert!(
        usecontrol::use_check(
            &a,
            &item,
            std::slice::from_ref(&consent),
            &req(
                &inv,
                UseAction::PresentInProceedings,
                Purpose::Criminal,
                court.clone(),
                day(2026, 1, 1)
            )
        )
        .is_err()
    );
    let err = consent
        .decide(
            ConsentDecision::Refused {
                reasons: "x".into(),
            },
            &supervisor(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "consent_transition_not_allowed");
    consent.follow_assurance(AssuranceState::Violated);
    assert_eq!(consent.state, ConsentState::Suspended);
    consent.follow_assurance(AssuranceState::GoodStanding);
    assert_eq!(consent.state, ConsentState::Granted);
    consent.expire(day(2026, 1, 1));
    assert_eq!(consent.state, ConsentState::Expired);
}

#[test]
fn the_four_tests_refuse_with_specific_codes() {
    let a = in_force();
    let desk = Actor::new("us-desk", Role::DeskOfficer);
    let on = day(2025, 4, 10);
    let item = provenance(Tlp::Amber, &[]);
    // Agreement not in force.
    let signed = caravan_assistance::agreement::Agreement::us_uz();
    assert_eq!(
        usecontrol::use_check(
            &signed,
            &item,
            &[],
            &req(
                &desk,
                UseAction::View,
                Purpose::Intel,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap_err()
        .code(),
        "agreement_not_in_force"
    );
    // Allowed: view for INTEL inside the administration.
    assert_eq!(
        usecontrol::use_check(
            &a,
            &item,
            &[],
            &req(
                &desk,
                UseAction::View,
                Purpose::Intel,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap(),
        UseGrant::Agreement
    );
    // Purpose the item does not permit.
    let mut narrow = item.clone();
    narrow.permitted_uses = BTreeSet::from([Purpose::Intel]);
    assert_eq!(
        usecontrol::use_check(
            &a,
            &narrow,
            &[],
            &req(
                &desk,
                UseAction::View,
                Purpose::Admin,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap_err()
        .code(),
        "purpose_not_permitted"
    );
    // Onward to another agency needs consent.
    assert_eq!(
        usecontrol::use_check(
            &a,
            &item,
            &[],
            &req(
                &desk,
                UseAction::Disclose,
                Purpose::Admin,
                Recipient::DomesticAgency("IRS".into()),
                on
            )
        )
        .unwrap_err()
        .code(),
        "onward_consent_required"
    );
    // Role: an administrator never reads partner data; an analyst may not export.
    let admin = Actor::new("adm", Role::Administrator);
    assert_eq!(
        usecontrol::use_check(
            &a,
            &item,
            &[],
            &req(
                &admin,
                UseAction::View,
                Purpose::Intel,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap_err()
        .code(),
        "role_not_permitted"
    );
    let analyst = Actor::new("an", Role::Analyst);
    assert_eq!(
        usecontrol::use_check(
            &a,
            &item,
            &[],
            &req(
                &analyst,
                UseAction::Export,
                Purpose::Admin,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap_err()
        .code(),
        "role_not_permitted"
    );
    // Auditor sees metadata only.
    let dpo = Actor::new("dpo", Role::AuditorDpo);
    assert_eq!(
        usecontrol::use_check(
            &a,
            &item,
            &[],
            &req(
                &dpo,
                UseAction::View,
                Purpose::Intel,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap(),
        UseGrant::MetadataOnly
    );
    // Need to know.
    let mut r = req(
        &desk,
        UseAction::View,
        Purpose::Intel,
        Recipient::SameAdmin,
        on,
    );
    r.assigned = false;
    assert_eq!(
        usecontrol::use_check(&a, &item, &[], &r)
            .unwrap_err()
            .code(),
        "no_need_to_know"
    );
    // TLP:RED: named recipients only.
    let red = provenance(Tlp::Red, &[]);
    assert_eq!(
        usecontrol::use_check(
            &a,
            &red,
            &[],
            &req(
                &desk,
                UseAction::View,
                Purpose::Intel,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap_err()
        .code(),
        "tlp_forbids"
    );
    let inv = Actor::new("us-inv", Role::Investigator);
    assert!(
        usecontrol::use_check(
            &a,
            &red,
            &[],
            &req(
                &inv,
                UseAction::View,
                Purpose::Intel,
                Recipient::SameAdmin,
                on
            )
        )
        .is_ok()
    );
    // PAP:RED forbids active steps.
    let mut passive = item.clone();
    passive.markings.item.pap = Pap::Red;
    assert_eq!(
        usecontrol::use_check(
            &a,
            &passive,
            &[],
            &req(
                &desk,
                UseAction::ActOnSubject,
                Purpose::Admin,
                Recipient::SameAdmin,
                on
            )
        )
        .unwrap_err()
        .code(),
        "pap_forbids"
    );
    // NO-EVIDENCE forbids court use even with consent.
    let no_ev = provenance(Tlp::Amber, &["NO-EVIDENCE"]);
    let court = Recipient::Court("p".into());
    let mut consent = ConsentCase::request(
        "c",
        &inv,
        vec!["uz-export-decl".into()],
        Purpose::Criminal,
        court.clone(),
        "j",
        None,
        on,
    )
    .unwrap();
    consent
        .decide(ConsentDecision::Granted { expires_on: None }, &supervisor())
        .unwrap();
    assert_eq!(
        usecontrol::use_check(
            &a,
            &no_ev,
            &[consent],
            &req(
                &inv,
                UseAction::PresentInProceedings,
                Purpose::Criminal,
                court,
                on
            )
        )
        .unwrap_err()
        .code(),
        "caveat_forbids"
    );
}

#[test]
fn consent_requests_are_checked() {
    let inv = Actor::new("i", Role::Investigator);
    let on = day(2025, 4, 1);
    let e = ConsentCase::request(
        "c",
        &inv,
        vec![],
        Purpose::Admin,
        Recipient::SameAdmin,
        "",
        None,
        on,
    )
    .unwrap_err();
    assert_eq!(e.code(), "consent_request_incomplete");
    let e = ConsentCase::request(
        "c",
        &inv,
        vec!["x".into()],
        Purpose::Intel,
        Recipient::SameAdmin,
        "j",
        None,
        on,
    )
    .unwrap_err();
    assert_eq!(e.code(), "consent_purpose_invalid");
    let e = ConsentCase::request(
        "c",
        &inv,
        vec!["x".into()],
        Purpose::Civil,
        Recipient::Court(" ".into()),
        "j",
        None,
        on,
    )
    .unwrap_err();
    assert_eq!(e.code(), "consent_proceeding_missing");
    let admin = Actor::new("a", Role::Administrator);
    let e = ConsentCase::request(
        "c",
        &admin,
        vec!["x".into()],
        Purpose::Civil,
        Recipient::SameAdmin,
        "j",
        None,
        on,
    )
    .unwrap_err();
    assert_eq!(e.code(), "role_not_permitted");
    let mut c = ConsentCase::request(
        "c",
        &inv,
        vec!["x".into()],
        Purpose::Civil,
        Recipient::ThirdCountry("KZ".into()),
        "j",
        None,
        on,
    )
    .unwrap();
    assert_eq!(
        c.decide(
            ConsentDecision::Refused {
                reasons: " ".into()
            },
            &supervisor()
        )
        .unwrap_err()
        .code(),
        "reason_missing"
    );
    assert_eq!(
        c.decide(
            ConsentDecision::GrantedWithConditions {
                expires_on: None,
                conditions: vec![]
            },
            &supervisor()
        )
        .unwrap_err()
        .code(),
        "conditions_missing"
    );
    c.decide(
        ConsentDecision::Refused {
            reasons: "no legal basis".into(),
        },
        &supervisor(),
    )
    .unwrap();
    assert_eq!(c.state, ConsentState::Refused);
}

#[test]
fn provenance_is_sticky_and_uses_cannot_widen() {
    let a = in_force();
    let p1 = provenance(Tlp::Green, &["PERSONAL-DATA"]);
    let mut p2 = provenance(Tlp::AmberStrict, &[]);
    p2.item_id = "invoice".into();
    p2.permitted_uses = BTreeSet::from([Purpose::Intel]);
    let d = usecontrol::derive(&[&p1, &p2]).unwrap();
    assert_eq!(d.permitted_uses, BTreeSet::from([Purpose::Intel]));
    assert_eq!(d.markings.tlp, Tlp::AmberStrict);
    assert!(d.markings.has("PERSONAL-DATA"));
    assert!(usecontrol::derive(&[]).is_none());
    assert!(usecontrol::check_received_uses(&a, &BTreeSet::from([Purpose::Civil])).is_ok());
}

#[test]
fn forced_disclosure_is_recorded_with_notice() {
    let n = usecontrol::forced_disclosure(
        vec!["x".into()],
        "subpoena 25-123",
        Recipient::Court("civil case".into()),
        day(2025, 5, 10),
        day(2025, 5, 1),
    )
    .unwrap();
    assert!(n.advance);
    let n = usecontrol::forced_disclosure(
        vec!["x".into()],
        "court order",
        Recipient::Court("c".into()),
        day(2025, 5, 10),
        day(2025, 5, 11),
    )
    .unwrap();
    assert!(!n.advance);
    assert_eq!(
        usecontrol::forced_disclosure(
            vec![],
            "x",
            Recipient::SameAdmin,
            day(2025, 1, 1),
            day(2025, 1, 1)
        )
        .unwrap_err()
        .code(),
        "disclosure_items_missing"
    );
    assert_eq!(
        usecontrol::forced_disclosure(
            vec!["x".into()],
            "",
            Recipient::SameAdmin,
            day(2025, 1, 1),
            day(2025, 1, 1)
        )
        .unwrap_err()
        .code(),
        "disclosure_instrument_missing"
    );
}
