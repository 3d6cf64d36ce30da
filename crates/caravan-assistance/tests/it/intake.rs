//! Request intake (§2.2, §2.3): every gap listed, agreement rules enforced, oral requests.

use caravan_assistance::catalogue::{self, IntakeError, Missing, OralRecord, RequestType, Urgency};

use crate::fixtures::{complete_draft, day, in_force};

#[test]
fn complete_request_passes_intake() {
    let v = catalogue::validate(complete_draft(), &in_force(), day(2025, 3, 1)).unwrap();
    assert!(!v.is_urgent());
    assert_eq!(v.default_reply_uses().len(), 1);
}

#[test]
fn incomplete_request_lists_everything_missing() {
    let mut d = complete_draft();
    d.reason = " ".into();
    d.legal_provisions.clear();
    d.persons.clear();
    d.types.push(RequestType::R09);
    d.extra.remove("hs_codes");
    let err = catalogue::validate(d, &in_force(), day(2025, 3, 1)).unwrap_err();
    assert_eq!(err.code(), "request_incomplete");
    let IntakeError::Incomplete { missing } = err else {
        panic!()
    };
    let names: Vec<String> = missing.iter().map(Missing::to_string).collect();
    assert_eq!(
        names,
        [
            "reason",
            "legal_provisions",
            "persons",
            "hs_codes (for R02)",
            "hs_codes (for R04)",
            "document_list (for R09)",
            "originals_or_certified_copies (for R09)",
        ]
    );
}

#[test]
fn an_empty_draft_misses_every_mandatory_field() {
    let missing = catalogue::missing_content(&Default::default());
    assert_eq!(missing.len(), 16);
    assert!(missing.iter().all(|m| m.for_type.is_none()));
}

#[track_caller]
fn refused(edit: impl FnOnce(&mut catalogue::RequestDraft), code: &str) {
    let mut d = complete_draft();
    edit(&mut d);
    let err = catalogue::validate(d, &in_force(), day(2025, 3, 1)).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
}

#[test]
fn agreement_rules_refuse_with_specific_codes() {
    refused(
        |d| d.agreement_id = "us-mx-2000".into(),
        "request_wrong_agreement",
    );
    refused(
        |d| d.requested_administration = "FR".into(),
        "request_unknown_party",
    );
    refused(
        |d| d.requested_administration = "US".into(),
        "request_same_party",
    );
    refused(
        |d| d.requesting_contact_point = "someone".into(),
        "contact_point_not_designated",
    );
    refused(|d| d.language = "fr".into(), "language_not_accepted");
    refused(|d| d.types = vec![RequestType::R12], "outside_capabilities");
    refused(
        |d| d.desired_reply_date = Some(day(2025, 2, 1)),
        "reply_date_in_past",
    );
    refused(
        |d| {
            d.urgency = Some(Urgency {
                justification: "vessel departs".into(),
                reply_by: day(2025, 3, 30),
            })
        },
        "urgent_beyond_cap",
    );
}

fn oral() -> OralRecord {
    OralRecord {
        agreement_id: "us-uz-cmaa-2024".into(),
        requesting_administration: "US".into(),
        caller: "CBP duty officer".into(),
        recorded_by: "uz-desk-1".into(),
        received_on: day(2025, 3, 1),
        summary: "Container MSCU1234565 about to leave Tashkent".into(),
        types: vec![RequestType::R06],
        urgency: Urgency {
            justification: "departure in 6 hours".into(),
            reply_by: day(2025, 3, 2),
        },
    }
}

#[test]
fn oral_urgent_request_gets_a_confirmation_deadline() {
    let a = in_force();
    assert_eq!(
        catalogue::validate_oral(&oral(), &a).unwrap(),
        day(2025, 3, 11)
    );
    let mut o = oral();
    o.urgency.justification.clear();
    assert_eq!(
        catalogue::validate_oral(&o, &a).unwrap_err().code(),
        "oral_request_not_urgent"
    );
    let mut o = oral();
    o.summary.clear();
    assert_eq!(
        catalogue::validate_oral(&o, &a).unwrap_err().code(),
        "request_incomplete"
    );
}

#[test]
fn bcp47_shapes() {
    for ok in ["en", "uz-Latn", "ru", "uz-Cyrl-UZ", "en-US"] {
        assert!(catalogue::is_bcp47(ok), "{ok}");
    }
    for bad in ["", "e", "english", "en_US", "en--US", "en-toolongsubtag"] {
        assert!(!catalogue::is_bcp47(bad), "{bad}");
    }
}
