//! Shared fixtures: the US–UZ agreement put in force, a complete R02 request, and actors.

use caravan_assistance::agreement::{Agreement, AgreementState};
use caravan_assistance::catalogue::{PersonConcerned, PersonKind, RequestDraft, RequestType};
use caravan_assistance::roles::{Actor, Role};
use chrono::NaiveDate;

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn admin() -> Actor {
    Actor::new("admin-1", Role::Administrator)
}

pub(crate) fn supervisor() -> Actor {
    Actor::new("sup-1", Role::Supervisor)
}

/// The US–UZ agreement, moved to `in_force` on 2025-01-15 by the two-person rule.
pub(crate) fn in_force() -> Agreement {
    let mut a = Agreement::us_uz();
    a.change_status(
        AgreementState::InForce,
        day(2025, 1, 15),
        "Diplomatic note No. 1 (test)",
        [&admin(), &supervisor()],
    )
    .unwrap();
    a
}

/// A complete US → UZ request to verify origin and value (R02 + R04).
pub(crate) fn complete_draft() -> RequestDraft {
    let mut d = RequestDraft {
        requesting_administration: "US".into(),
        requesting_contact_point: "us-cbp-ilo-desk".into(),
        requested_administration: "UZ".into(),
        agreement_id: "us-uz-cmaa-2024".into(),
        agreement_article: "Art. 3".into(),
        subject: "Origin and value of cotton yarn shipment".into(),
        types: vec![RequestType::R02, RequestType::R04],
        object: "Verify declared origin and value".into(),
        reason: "Unit value 40 % below corridor median".into(),
        case_statement: "Entry 123-4567890-1 declares UZ origin; data flags the value".into(),
        enquiries_already_carried_out: "Importer questioned; invoice obtained".into(),
        legal_provisions: "19 U.S.C. 1401a; 19 U.S.C. 1592".into(),
        persons: vec![PersonConcerned {
            name: "Example Textile LLC".into(),
            kind: PersonKind::Legal,
            identifiers: vec!["UZ-STIR:301234567".into()],
        }],
        nature_of_proceedings: "Administrative: post-clearance audit".into(),
        link_to_matter: "The export declaration fixes origin and transaction value".into(),
        language: "en".into(),
        purposes_sought: vec![caravan_assistance::agreement::Purpose::Admin],
        ..RequestDraft::default()
    };
    d.extra
        .insert("declaration_references".into(), "UZ EX 2025/000123".into());
    d.extra.insert("hs_codes".into(), "5205.12".into());
    d
}
