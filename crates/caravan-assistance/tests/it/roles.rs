//! The §13 permission table: spot checks against the spec's table.

use caravan_assistance::roles::{self, Actor, Capability, Grant, Role};

#[test]
fn table_matches_the_spec() {
    use Capability as C;
    use Role as R;
    let cases = [
        (C::AcceptRefusePostpone, R::Supervisor, Some(Grant::Yes)),
        (C::AcceptRefusePostpone, R::DeskOfficer, None),
        (C::DraftRequests, R::Investigator, Some(Grant::OwnCases)),
        (C::ViewPartnerData, R::AuditorDpo, Some(Grant::MetadataOnly)),
        (C::ViewPartnerData, R::Administrator, None),
        (C::ManageKeysAndUsers, R::Administrator, Some(Grant::Yes)),
        (C::LoosenOwnMarkings, R::Analyst, None),
        (
            C::ChangeAgreementStatus,
            R::Administrator,
            Some(Grant::TwoPerson),
        ),
        (C::ReadAuditTrail, R::Supervisor, None),
    ];
    for (c, r, g) in cases {
        assert_eq!(roles::grant(r, c), g, "{r} {c:?}");
    }
    // Administrators have no data capability at all.
    for (c, r, _) in roles::PERMISSIONS {
        if *r == R::Administrator {
            assert!(
                matches!(c, C::ManageKeysAndUsers | C::ChangeAgreementStatus),
                "{c:?}"
            );
        }
    }
}

#[test]
fn own_case_and_two_person_rules() {
    let inv = Actor::new("i", Role::Investigator);
    assert_eq!(
        roles::check(&inv, Capability::DraftRequests, false)
            .unwrap_err()
            .code(),
        "not_own_case"
    );
    assert!(roles::check(&inv, Capability::DraftRequests, true).is_ok());
    let sup = Actor::new("s", Role::Supervisor);
    assert_eq!(
        roles::check(&sup, Capability::ChangeAgreementStatus, true)
            .unwrap_err()
            .code(),
        "two_person_required"
    );
    for r in Role::ALL {
        assert_eq!(Role::parse(r.code()), Some(*r));
    }
}
