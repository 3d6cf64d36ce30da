//! Roles and the permission table of assistance spec §13.
//!
//! Why a table and not scattered `if role == …` checks: the table in the spec is what a data
//! protection officer reviews, so the code keeps it as one `const` that reads like the spec and
//! one `check` that every workflow calls. A role acting outside its rights is refused with the
//! stable code `role_not_permitted`; the two-person rule has its own codes.

coded_enum! {
    /// The six roles of §13.
    pub enum Role {
        DeskOfficer => "desk_officer",
        Analyst => "analyst",
        Supervisor => "supervisor",
        Investigator => "investigator",
        AuditorDpo => "auditor_dpo",
        Administrator => "administrator",
    }
}

/// The capabilities, one per row of the §13 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    DraftRequests,
    ReleaseOutbound,
    AcknowledgeAndPartialReply,
    AcceptRefusePostpone,
    ViewPartnerData,
    RunAnalytics,
    ExportCourtPackage,
    RequestConsent,
    DecideConsent,
    TightenMarkings,
    LoosenOwnMarkings,
    RetractCorrectErase,
    RetentionReview,
    ChangeAgreementStatus,
    ChangeAssuranceState,
    ManageKeysAndUsers,
    ReadAuditTrail,
    ReadStatistics,
}

/// How a role holds a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The role may act alone.
    Yes,
    /// The role may act on its own cases only (§13 "own cases").
    OwnCases,
    /// The role sees metadata only, never content (auditor).
    MetadataOnly,
    /// The role may act only as one of two different accounts (two-person rule).
    TwoPerson,
}

use Capability as C;
use Grant as G;
use Role as R;

/// The §13 table. A pair absent from it is a refusal.
pub const PERMISSIONS: &[(Capability, Role, Grant)] = &[
    (C::DraftRequests, R::DeskOfficer, G::Yes),
    (C::DraftRequests, R::Supervisor, G::Yes),
    (C::DraftRequests, R::Investigator, G::OwnCases),
    // "if approval not required" for the desk officer: the workflow adds the approval check.
    (C::ReleaseOutbound, R::DeskOfficer, G::Yes),
    (C::ReleaseOutbound, R::Supervisor, G::Yes),
    (C::AcknowledgeAndPartialReply, R::DeskOfficer, G::Yes),
    (C::AcknowledgeAndPartialReply, R::Supervisor, G::Yes),
    (C::AcceptRefusePostpone, R::Supervisor, G::Yes),
    (C::ViewPartnerData, R::DeskOfficer, G::Yes),
    (C::ViewPartnerData, R::Analyst, G::Yes),
    (C::ViewPartnerData, R::Supervisor, G::Yes),
    (C::ViewPartnerData, R::Investigator, G::Yes),
    (C::ViewPartnerData, R::AuditorDpo, G::MetadataOnly),
    (C::RunAnalytics, R::Analyst, G::Yes),
    (C::RunAnalytics, R::Supervisor, G::Yes),
    (C::ExportCourtPackage, R::Supervisor, G::Yes),
    (C::ExportCourtPackage, R::Investigator, G::Yes),
    (C::RequestConsent, R::DeskOfficer, G::Yes),
    (C::RequestConsent, R::Analyst, G::Yes),
    (C::RequestConsent, R::Supervisor, G::Yes),
    (C::RequestConsent, R::Investigator, G::Yes),
    (C::DecideConsent, R::Supervisor, G::Yes),
    (C::TightenMarkings, R::DeskOfficer, G::Yes),
    (C::TightenMarkings, R::Analyst, G::Yes),
    (C::TightenMarkings, R::Supervisor, G::Yes),
    (C::TightenMarkings, R::Investigator, G::Yes),
    (C::LoosenOwnMarkings, R::Supervisor, G::Yes),
    (C::RetractCorrectErase, R::DeskOfficer, G::Yes),
    (C::RetractCorrectErase, R::Supervisor, G::Yes),
    (C::RetractCorrectErase, R::AuditorDpo, G::Yes),
    (C::RetentionReview, R::Supervisor, G::Yes),
    (C::RetentionReview, R::AuditorDpo, G::Yes),
    (C::ChangeAgreementStatus, R::Supervisor, G::TwoPerson),
    (C::ChangeAgreementStatus, R::Administrator, G::TwoPerson),
    (C::ChangeAssuranceState, R::Supervisor, G::TwoPerson),
    (C::ChangeAssuranceState, R::AuditorDpo, G::TwoPerson),
    (C::ManageKeysAndUsers, R::Administrator, G::Yes),
    (C::ReadAuditTrail, R::AuditorDpo, G::Yes),
    (C::ReadStatistics, R::Supervisor, G::Yes),
    (C::ReadStatistics, R::AuditorDpo, G::Yes),
];

/// A signed-in person acting in one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub account: String,
    pub role: Role,
}

impl Actor {
    pub fn new(account: &str, role: Role) -> Actor {
        Actor {
            account: account.to_owned(),
            role,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("role {role} may not {capability:?}")]
    NotPermitted { role: Role, capability: Capability },
    #[error("{capability:?} is a two-person action and needs two approvals")]
    TwoPersonRequired { capability: Capability },
    #[error("two-person rule: both approvals come from account {account}")]
    SameAccount { account: String },
    #[error("two-person rule for {capability:?} needs roles {needed}")]
    WrongPair {
        capability: Capability,
        needed: &'static str,
    },
    #[error("investigator may act on own cases only")]
    NotOwnCase,
}

impl RoleError {
    pub fn code(&self) -> &'static str {
        match self {
            RoleError::NotPermitted { .. } => "role_not_permitted",
            RoleError::TwoPersonRequired { .. } => "two_person_required",
            RoleError::SameAccount { .. } => "two_person_same_account",
            RoleError::WrongPair { .. } => "two_person_wrong_roles",
            RoleError::NotOwnCase => "not_own_case",
        }
    }
}

/// The grant a role has for a capability, if any.
pub fn grant(role: Role, capability: Capability) -> Option<Grant> {
    PERMISSIONS
        .iter()
        .find(|(c, r, _)| *c == capability && *r == role)
        .map(|(_, _, g)| *g)
}

/// Checks a single-person action. `own_case` says whether the actor is assigned to the case.
pub fn check(actor: &Actor, capability: Capability, own_case: bool) -> Result<Grant, RoleError> {
    match grant(actor.role, capability) {
        None => Err(RoleError::NotPermitted {
            role: actor.role,
            capability,
        }),
        Some(Grant::TwoPerson) => Err(RoleError::TwoPersonRequired { capability }),
        Some(Grant::OwnCases) if !own_case => Err(RoleError::NotOwnCase),
        Some(g) => Ok(g),
    }
}

/// Checks a two-person action (§1.2, §1.9, §13): two different accounts whose roles are the
/// pair the table requires for the capability.
pub fn check_two_person(
    capability: Capability,
    first: &Actor,
    second: &Actor,
) -> Result<(), RoleError> {
    for actor in [first, second] {
        if grant(actor.role, capability) != Some(Grant::TwoPerson) {
            return Err(RoleError::NotPermitted {
                role: actor.role,
                capability,
            });
        }
    }
    if first.account == second.account {
        return Err(RoleError::SameAccount {
            account: first.account.clone(),
        });
    }
    if first.role == second.role {
        let needed = match capability {
            Capability::ChangeAssuranceState => "supervisor + auditor_dpo",
            _ => "supervisor + administrator",
        };
        return Err(RoleError::WrongPair { capability, needed });
    }
    Ok(())
}
