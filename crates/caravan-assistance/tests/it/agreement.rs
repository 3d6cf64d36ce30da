//! The agreement loader (line-level errors), status machine, gates and directory.

use caravan_assistance::agreement::{
    Agreement, AgreementState, AssuranceState, ConsentRule, InboundDisposition, Purpose, Traffic,
    US_UZ_CMAA_2024,
};
use caravan_assistance::catalogue::RequestType;
use caravan_assistance::roles::{Actor, Role};

use crate::fixtures::{admin, day, in_force, supervisor};

#[test]
fn embedded_us_uz_agreement_matches_the_spec() {
    let a = Agreement::us_uz();
    assert_eq!(a.id, "us-uz-cmaa-2024");
    assert_eq!(a.status.state, AgreementState::Signed);
    assert_eq!(a.status.signed_date, Some(day(2024, 9, 13)));
    assert_eq!(a.status.in_force_date, None);
    assert_eq!(a.parties[0].implementing_agencies, ["CBP", "ICE"]);
    assert!(!a.capabilities.contains(&RequestType::R12));
    assert!(!a.capabilities.contains(&RequestType::R13));
    assert_eq!(a.capabilities.len(), 11);
    assert_eq!(a.use_rule(Purpose::Intel).consent, ConsentRule::None);
    assert_eq!(a.use_rule(Purpose::Admin).consent, ConsentRule::None);
    assert_eq!(
        a.use_rule(Purpose::Civil).consent,
        ConsentRule::PriorWritten
    );
    assert_eq!(
        a.use_rule(Purpose::Criminal).consent,
        ConsentRule::PriorWritten
    );
    assert_eq!(a.deadlines.ack_working_days, 5);
    assert_eq!(a.deadlines.exec_days, 90);
    assert_eq!(a.deadlines.confirm_days, 10);
    assert_eq!(a.deadlines.correct_days, 30);
    assert_eq!(a.languages.accepted, ["en", "uz", "ru"]);
    assert_eq!(a.directory.version, 1);
    assert_eq!(a.assurance.state, AssuranceState::GoodStanding);
    assert!(!a.data_protection.personal_data_allowed);
}

#[test]
fn signed_agreement_refuses_operational_traffic_until_in_force() {
    let a = Agreement::us_uz();
    let on = day(2026, 12, 1);
    assert_eq!(
        a.check_outbound(Traffic::Operational, on)
            .unwrap_err()
            .code(),
        "agreement_not_in_force"
    );
    assert!(a.check_outbound(Traffic::Synthetic, on).is_ok());
    assert!(a.check_outbound(Traffic::Governance, on).is_ok());
    assert_eq!(a.inbound(Traffic::Operational), InboundDisposition::Reject);

    let a = in_force();
    assert_eq!(a.status.state, AgreementState::InForce);
    assert_eq!(a.status.in_force_date, Some(day(2025, 1, 15)));
    assert_eq!(a.version, 2);
    assert!(a.check_outbound(Traffic::Operational, on).is_ok());
    // Before the entry-into-force date, still refused.
    assert_eq!(
        a.check_in_force(day(2025, 1, 14)).unwrap_err().code(),
        "agreement_not_in_force"
    );
}

#[test]
fn status_changes_need_two_people_a_legal_act_and_a_legal_edge() {
    let mut a = Agreement::us_uz();
    let two_sup = [&supervisor(), &Actor::new("sup-2", Role::Supervisor)];
    let err = a
        .change_status(AgreementState::InForce, day(2025, 1, 1), "note", two_sup)
        .unwrap_err();
    assert_eq!(err.code(), "two_person_wrong_roles");
    let same = Actor::new("sup-1", Role::Administrator);
    let err = a
        .change_status(
            AgreementState::InForce,
            day(2025, 1, 1),
            "note",
            [&supervisor(), &same],
        )
        .unwrap_err();
    assert_eq!(err.code(), "two_person_same_account");
    let desk = Actor::new("desk-1", Role::DeskOfficer);
    let err = a
        .change_status(
            AgreementState::InForce,
            day(2025, 1, 1),
            "note",
            [&desk, &admin()],
        )
        .unwrap_err();
    assert_eq!(err.code(), "role_not_permitted");
    let err = a
        .change_status(
            AgreementState::InForce,
            day(2025, 1, 1),
            " ",
            [&admin(), &supervisor()],
        )
        .unwrap_err();
    assert_eq!(err.code(), "legal_act_missing");
    let err = a
        .change_status(
            AgreementState::Suspended,
            day(2025, 1, 1),
            "note",
            [&admin(), &supervisor()],
        )
        .unwrap_err();
    assert_eq!(err.code(), "agreement_status_change_illegal");
    let err = a
        .change_status(
            AgreementState::InForce,
            day(2024, 1, 1),
            "note",
            [&admin(), &supervisor()],
        )
        .unwrap_err();
    assert_eq!(err.code(), "effective_before_signing");
    assert_eq!(
        a.status.state,
        AgreementState::Signed,
        "refusals change nothing"
    );
    assert_eq!(a.version, 1);

    let n = a
        .change_status(
            AgreementState::InForce,
            day(2025, 1, 15),
            "note 1",
            [&admin(), &supervisor()],
        )
        .unwrap();
    assert_eq!(
        (n.from, n.to, n.version),
        (AgreementState::Signed, AgreementState::InForce, 2)
    );
    a.change_status(
        AgreementState::Suspended,
        day(2025, 6, 1),
        "note 2",
        [&admin(), &supervisor()],
    )
    .unwrap();
    // Suspended: propagation and consent still flow; operational traffic parks.
    assert!(
        a.check_outbound(Traffic::Propagation, day(2025, 6, 2))
            .is_ok()
    );
    assert_eq!(
        a.check_outbound(Traffic::Operational, day(2025, 6, 2))
            .unwrap_err()
            .code(),
        "agreement_not_in_force"
    );
    assert_eq!(a.inbound(Traffic::Operational), InboundDisposition::Park);
    assert_eq!(a.inbound(Traffic::Consent), InboundDisposition::Process);
    a.change_status(
        AgreementState::InForce,
        day(2025, 7, 1),
        "note 3",
        [&admin(), &supervisor()],
    )
    .unwrap();
    assert_eq!(
        a.status.in_force_date,
        Some(day(2025, 1, 15)),
        "resuming keeps the original date"
    );
    a.change_status(
        AgreementState::Terminated,
        day(2026, 1, 1),
        "note 4",
        [&admin(), &supervisor()],
    )
    .unwrap();
    assert!(!AgreementState::Terminated.may_become(AgreementState::InForce));
}

#[test]
fn assurance_gate_blocks_sharing_with_a_violating_partner() {
    let mut a = in_force();
    let dpo = Actor::new("dpo-1", Role::AuditorDpo);
    let err = a
        .change_assurance(AssuranceState::Violated, "", [&supervisor(), &dpo])
        .unwrap_err();
    assert_eq!(err.code(), "reason_missing");
    let err = a
        .change_assurance(
            AssuranceState::Violated,
            "breach",
            [&supervisor(), &admin()],
        )
        .unwrap_err();
    assert_eq!(err.code(), "role_not_permitted");
    a.change_assurance(
        AssuranceState::UnderReview,
        "press report",
        [&supervisor(), &dpo],
    )
    .unwrap();
    assert_eq!(
        a.check_assurance(Traffic::Operational, false)
            .unwrap_err()
            .code(),
        "partner_under_review_approval_required"
    );
    assert!(a.check_assurance(Traffic::Operational, true).is_ok());
    assert_eq!(
        a.check_assurance(Traffic::Bulk, true).unwrap_err().code(),
        "partner_under_review_bulk_paused"
    );
    a.change_assurance(
        AssuranceState::Violated,
        "confirmed breach",
        [&supervisor(), &dpo],
    )
    .unwrap();
    for t in [
        Traffic::Operational,
        Traffic::Bulk,
        Traffic::Consent,
        Traffic::DisclosureNotice,
    ] {
        assert_eq!(
            a.check_assurance(t, true).unwrap_err().code(),
            "partner_assurance_withdrawn"
        );
    }
    for t in [
        Traffic::RequestForInformation,
        Traffic::Propagation,
        Traffic::ConsentRefusal,
        Traffic::Governance,
    ] {
        assert!(a.check_assurance(t, false).is_ok(), "{t:?}");
    }
    assert_eq!(
        a.check_personal_data().unwrap_err().code(),
        "personal_data_not_adequate"
    );
}

#[test]
fn directory_is_versioned_and_bounds_designation() {
    let mut a = Agreement::us_uz();
    assert!(
        a.directory
            .designated("US", "us-cbp-ilo-desk", day(2025, 1, 1))
            .is_some()
    );
    assert!(
        a.directory
            .designated("UZ", "us-cbp-ilo-desk", day(2025, 1, 1))
            .is_none()
    );
    assert!(
        a.directory
            .designated("US", "us-cbp-ilo-desk", day(2024, 1, 1))
            .is_none()
    );
    let mut next = a.directory.clone();
    next.version = 3;
    assert_eq!(
        a.directory.apply_update(next.clone()).unwrap_err().code(),
        "directory_version_mismatch"
    );
    next.version = 2;
    next.entries[0].valid_to = Some(day(2025, 12, 31));
    a.directory.apply_update(next).unwrap();
    assert!(
        a.directory
            .designated("US", "us-cbp-ilo-desk", day(2026, 1, 1))
            .is_none()
    );
}

/// Replaces `from` with `to` in the embedded file and returns the load error.
#[track_caller]
fn check_error(from: &str, to: &str, code: &str, line: usize) {
    assert!(
        US_UZ_CMAA_2024.contains(from),
        "fixture text {from:?} not found"
    );
    let text = US_UZ_CMAA_2024.replacen(from, to, 1);
    let err = Agreement::from_toml(&text).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(err.line, line, "{err}");
}

fn line_of(needle: &str) -> usize {
    US_UZ_CMAA_2024
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn loader_refusals_name_the_line() {
    let l = line_of("state = \"signed\"");
    check_error(
        "state = \"signed\"",
        "state = \"ratified\"",
        "agreement_bad_status",
        l,
    );
    check_error(
        "state = \"signed\"",
        "state = \"in_force\"",
        "agreement_status_date_missing",
        l,
    );
    let l = line_of("signed_date = \"2024-09-13\"");
    check_error(
        "signed_date = \"2024-09-13\"\n\n",
        "signed_date = \"2024-13-13\"\n\n",
        "agreement_bad_date",
        l,
    );
    let l = line_of("request_types = [\"R01\"");
    check_error(
        "request_types = [\"R01\"",
        "request_types = [\"R99\"",
        "agreement_unknown_request_type",
        l,
    );
    let l = line_of("exec_days = 90");
    check_error(
        "exec_days = 90",
        "exec_days = 0",
        "agreement_bad_deadline",
        l,
    );
    check_error(
        "exec_days = 90",
        "exec_days = \"ninety\"",
        "agreement_syntax",
        l,
    );
    check_error(
        "exec_days = 90",
        "exec_days = 90\nbogus = 1",
        "agreement_syntax",
        l + 1,
    );
    let l = line_of("working = \"en\"");
    check_error(
        "working = \"en\"",
        "working = \"english!\"",
        "agreement_bad_language_tag",
        l,
    );
    let l = line_of("[permitted_uses.CIVIL]");
    check_error(
        "[permitted_uses.CIVIL]",
        "[permitted_uses.MILITARY]",
        "agreement_bad_purpose",
        l,
    );
    let l = line_of("consent = \"prior_written\"");
    check_error(
        "consent = \"prior_written\"",
        "consent = \"maybe\"",
        "agreement_bad_consent_rule",
        l,
    );
    let l = line_of("state = \"good_standing\"");
    check_error(
        "state = \"good_standing\"",
        "state = \"fine\"",
        "agreement_bad_assurance_state",
        l,
    );
    let l = line_of("code = \"UZ\"");
    check_error("code = \"UZ\"", "code = \"US\"", "agreement_bad_party", l);
    let l = line_of("agreement_id = ");
    check_error(
        "agreement_id = \"us-uz-cmaa-2024\"",
        "agreement_id = \"US UZ\"",
        "agreement_bad_id",
        l,
    );
}

#[test]
fn omitted_purposes_get_the_conservative_default() {
    let start = US_UZ_CMAA_2024.find("[permitted_uses.INTEL]").unwrap();
    let end = US_UZ_CMAA_2024.find("# §1.4").unwrap();
    let text = format!("{}{}", &US_UZ_CMAA_2024[..start], &US_UZ_CMAA_2024[end..]);
    let a = Agreement::from_toml(&text).unwrap();
    assert_eq!(a.use_rule(Purpose::Intel).consent, ConsentRule::None);
    assert_eq!(
        a.use_rule(Purpose::Criminal).consent,
        ConsentRule::PriorWritten
    );
    assert!(a.use_rule(Purpose::Criminal).conditions.is_empty());
}

proptest::proptest! {
    /// The loader never panics on arbitrary text, and an error always points inside the text.
    #[test]
    fn loader_never_panics(text in "\\PC{0,400}") {
        if let Err(e) = Agreement::from_toml(&text) {
            proptest::prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) + 1);
        }
    }
}

#[test]
fn directory_sections_replace_one_party_and_updates_follow_by_one() {
    use caravan_assistance::agreement::DirectoryUpdate;
    let a = Agreement::us_uz();
    let mut uz = a.directory.section("UZ");
    assert_eq!(uz.len(), 1);
    uz[0].channels.push("+998 71 000 0000".into());
    let next = a.directory.with_section("UZ", uz.clone()).unwrap();
    assert_eq!(next.version, a.directory.version + 1);
    assert_eq!(next.section("UZ"), uz);
    assert_eq!(
        next.section("US"),
        a.directory.section("US"),
        "the other party's section is untouched"
    );
    let us = a.directory.section("US");
    assert_eq!(
        a.directory.with_section("UZ", us).unwrap_err().code(),
        "directory_entry_wrong_party"
    );
    let twice = vec![uz[0].clone(), uz[0].clone()];
    assert_eq!(
        a.directory.with_section("UZ", twice).unwrap_err().code(),
        "directory_entry_duplicate"
    );

    let update = |version| DirectoryUpdate {
        party: "UZ".into(),
        version,
        entries: uz.clone(),
        issued_on: day(2026, 12, 1),
    };
    update(2).check("UZ", 1).unwrap();
    assert_eq!(
        update(1).check("UZ", 1).unwrap_err().code(),
        "directory_version_stale"
    );
    assert_eq!(
        update(2).check("UZ", 2).unwrap_err().code(),
        "directory_version_stale",
        "a replayed copy of the version already held"
    );
    assert_eq!(
        update(4).check("UZ", 2).unwrap_err().code(),
        "directory_version_gap"
    );
    assert_eq!(
        update(2).check("US", 1).unwrap_err().code(),
        "directory_entry_wrong_party",
        "only the sender's own section"
    );
    let mut bad = update(2);
    bad.entries[0].valid_to = Some(day(2020, 1, 1));
    assert_eq!(
        bad.check("UZ", 1).unwrap_err().code(),
        "directory_entry_dates"
    );
}
