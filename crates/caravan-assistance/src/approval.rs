//! The two-person rule as a proposal and an approval (assistance spec §1.2, §1.9, §13).
//!
//! Why a proposal object: an agreement's status, its partner-assurance state and its
//! contact-point directory change only with two different accounts of the required roles
//! (administrator + supervisor; supervisor + data-protection officer for assurance). Two
//! people rarely sit at one keyboard, so one account proposes, the proposal waits, and a
//! second account approves (or rejects) it later. The rule is checked twice: the proposer
//! must hold the two-person right when proposing, and [`Proposal::approve`] runs
//! [`roles::check_two_person`] on the pair, so the same account can never approve its own
//! proposal and two accounts of the same role are not enough.

use chrono::NaiveDate;

use crate::agreement::{AgreementState, AssuranceState, ContactPoint};
use crate::roles::{self, Actor, Capability, Grant, Role, RoleError};

/// What a proposal would change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgreementChange {
    /// §1.2: a status change citing the legal act (e.g. the diplomatic note).
    Status {
        to: AgreementState,
        effective: NaiveDate,
        legal_act: String,
    },
    /// §1.9: an assurance state change, with reasons.
    Assurance { to: AssuranceState, reason: String },
    /// §1.8: a contact point added, replaced (same id) or ended (`valid_to` set); the
    /// directory's version advances by one.
    Directory { entry: ContactPoint, reason: String },
    /// §1.8: our whole section of the directory replaced at once (every contact point of
    /// ours, as `caravan directory update --file` sends it). Its kind code is `directory`
    /// too: one directory proposal waits at a time, since each would advance the same
    /// section's version.
    DirectorySection {
        entries: Vec<ContactPoint>,
        reason: String,
    },
}

impl AgreementChange {
    /// The stable kind code (`status`, `assurance`, `directory`).
    pub fn kind(&self) -> &'static str {
        match self {
            AgreementChange::Status { .. } => "status",
            AgreementChange::Assurance { .. } => "assurance",
            AgreementChange::Directory { .. } | AgreementChange::DirectorySection { .. } => {
                "directory"
            }
        }
    }

    /// The §13 capability the change needs (two-person).
    pub fn capability(&self) -> Capability {
        match self {
            AgreementChange::Assurance { .. } => Capability::ChangeAssuranceState,
            // §13 puts the directory in the same row as the agreement status.
            AgreementChange::Status { .. }
            | AgreementChange::Directory { .. }
            | AgreementChange::DirectorySection { .. } => Capability::ChangeAgreementStatus,
        }
    }

    fn check_content(&self) -> Result<(), ApprovalError> {
        let (text, missing) = match self {
            AgreementChange::Status { legal_act, .. } => (legal_act, "legal_act"),
            AgreementChange::Assurance { reason, .. } => (reason, "reason"),
            AgreementChange::Directory { entry, reason } => {
                check_entry(entry)?;
                (reason, "reason")
            }
            AgreementChange::DirectorySection { entries, reason } => {
                entries.iter().try_for_each(check_entry)?;
                (reason, "reason")
            }
        };
        if text.trim().is_empty() {
            return Err(ApprovalError::ContentMissing(missing));
        }
        Ok(())
    }
}

fn check_entry(entry: &ContactPoint) -> Result<(), ApprovalError> {
    if entry.id.trim().is_empty() || entry.party.trim().is_empty() {
        return Err(ApprovalError::ContentMissing("entry.id and entry.party"));
    }
    if entry.valid_to.is_some_and(|to| to < entry.valid_from) {
        return Err(ApprovalError::ContentMissing(
            "valid_to on or after valid_from",
        ));
    }
    Ok(())
}

coded_enum! {
    /// Where a proposal stands.
    pub enum ProposalState {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
    }
}

/// One account's part in a proposal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signatory {
    pub account: String,
    pub role: Role,
    pub on: NaiveDate,
}

impl Signatory {
    fn of(by: &Actor, on: NaiveDate) -> Signatory {
        Signatory {
            account: by.account.clone(),
            role: by.role,
            on,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::new(&self.account, self.role)
    }
}

/// A two-person change waiting for its second account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Proposal {
    pub id: String,
    pub agreement_id: String,
    pub change: AgreementChange,
    pub proposed_by: Signatory,
    pub state: ProposalState,
    pub decided_by: Option<Signatory>,
    /// The rejecting or withdrawing account's reason.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error("the proposal is {0}, not pending")]
    NotPending(ProposalState),
    #[error("the change is missing {0}")]
    ContentMissing(&'static str),
    #[error("only the proposing account may withdraw a proposal")]
    NotProposer,
    #[error("a rejection needs a reason")]
    ReasonMissing,
}

impl ApprovalError {
    pub fn code(&self) -> &'static str {
        match self {
            ApprovalError::Role(e) => e.code(),
            ApprovalError::NotPending(_) => "proposal_not_pending",
            ApprovalError::ContentMissing(_) => "proposal_incomplete",
            ApprovalError::NotProposer => "proposal_not_yours",
            ApprovalError::ReasonMissing => "reason_missing",
        }
    }
}

fn holds_two_person_right(actor: &Actor, capability: Capability) -> Result<(), RoleError> {
    match roles::grant(actor.role, capability) {
        Some(Grant::TwoPerson) => Ok(()),
        _ => Err(RoleError::NotPermitted {
            role: actor.role,
            capability,
        }),
    }
}

impl Proposal {
    /// Opens a proposal. The proposer must hold the two-person right for the change.
    pub fn propose(
        id: &str,
        agreement_id: &str,
        change: AgreementChange,
        by: &Actor,
        on: NaiveDate,
    ) -> Result<Proposal, ApprovalError> {
        holds_two_person_right(by, change.capability())?;
        change.check_content()?;
        Ok(Proposal {
            id: id.to_owned(),
            agreement_id: agreement_id.to_owned(),
            change,
            proposed_by: Signatory::of(by, on),
            state: ProposalState::Pending,
            decided_by: None,
            note: None,
        })
    }

    fn pending(&self) -> Result<(), ApprovalError> {
        if self.state == ProposalState::Pending {
            Ok(())
        } else {
            Err(ApprovalError::NotPending(self.state))
        }
    }

    /// The second account approves: the pair must satisfy the two-person rule (two
    /// accounts, the required pair of roles). Returns the pair, proposer first, for the
    /// change itself to be made with.
    pub fn approve(&mut self, by: &Actor, on: NaiveDate) -> Result<[Actor; 2], ApprovalError> {
        self.pending()?;
        let proposer = self.proposed_by.actor();
        roles::check_two_person(self.change.capability(), &proposer, by)?;
        self.close(ProposalState::Approved, by, None, on);
        Ok([proposer, by.clone()])
    }

    /// A second account with the right refuses the proposal, with a reason.
    pub fn reject(&mut self, by: &Actor, reason: &str, on: NaiveDate) -> Result<(), ApprovalError> {
        self.pending()?;
        holds_two_person_right(by, self.change.capability())?;
        if by.account == self.proposed_by.account {
            return Err(RoleError::SameAccount {
                account: by.account.clone(),
            }
            .into());
        }
        if reason.trim().is_empty() {
            return Err(ApprovalError::ReasonMissing);
        }
        self.close(ProposalState::Rejected, by, Some(reason), on);
        Ok(())
    }

    /// The proposer takes the proposal back.
    pub fn withdraw(
        &mut self,
        by: &Actor,
        reason: &str,
        on: NaiveDate,
    ) -> Result<(), ApprovalError> {
        self.pending()?;
        if by.account != self.proposed_by.account {
            return Err(ApprovalError::NotProposer);
        }
        self.close(ProposalState::Withdrawn, by, Some(reason), on);
        Ok(())
    }

    fn close(&mut self, state: ProposalState, by: &Actor, note: Option<&str>, on: NaiveDate) {
        self.state = state;
        self.decided_by = Some(Signatory::of(by, on));
        self.note = note.map(str::to_owned);
    }
}

/// The directory after a §1.8 change: the entry with the same id is replaced, or the entry
/// is added; the version advances by exactly one (checked by `Directory::apply_update`).
pub fn next_directory(
    current: &crate::agreement::Directory,
    entry: ContactPoint,
) -> Result<crate::agreement::Directory, crate::agreement::AgreementError> {
    let mut entries: Vec<ContactPoint> = current
        .entries
        .iter()
        .filter(|e| e.id != entry.id)
        .cloned()
        .collect();
    entries.push(entry);
    let mut next = current.clone();
    next.apply_update(crate::agreement::Directory {
        version: current.version + 1,
        entries,
    })?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn in_force() -> AgreementChange {
        AgreementChange::Status {
            to: AgreementState::InForce,
            effective: day(),
            legal_act: "Diplomatic note No. 1".into(),
        }
    }

    #[test]
    fn the_same_account_cannot_approve_its_own_proposal() {
        let admin = Actor::new("us.admin", Role::Administrator);
        let mut p = Proposal::propose("P1", "a", in_force(), &admin, day()).unwrap();
        assert_eq!(
            p.approve(&admin, day()).unwrap_err().code(),
            "two_person_same_account"
        );
        assert_eq!(p.state, ProposalState::Pending);
        let other_admin = Actor::new("us.admin2", Role::Administrator);
        assert_eq!(
            p.approve(&other_admin, day()).unwrap_err().code(),
            "two_person_wrong_roles"
        );
        let sup = Actor::new("us.supervisor", Role::Supervisor);
        let pair = p.approve(&sup, day()).unwrap();
        assert_eq!(pair[0].account, "us.admin");
        assert_eq!(pair[1].account, "us.supervisor");
        assert_eq!(p.state, ProposalState::Approved);
        assert_eq!(
            p.approve(&sup, day()).unwrap_err().code(),
            "proposal_not_pending"
        );
    }

    #[test]
    fn a_proposer_needs_the_two_person_right_and_content() {
        let desk = Actor::new("us.desk", Role::DeskOfficer);
        assert!(Proposal::propose("P", "a", in_force(), &desk, day()).is_err());
        let admin = Actor::new("us.admin", Role::Administrator);
        let assurance = AgreementChange::Assurance {
            to: AssuranceState::Violated,
            reason: "breach".into(),
        };
        // Assurance is supervisor + DPO: an administrator may not propose it.
        assert!(Proposal::propose("P", "a", assurance, &admin, day()).is_err());
        let empty = AgreementChange::Status {
            to: AgreementState::InForce,
            effective: day(),
            legal_act: " ".into(),
        };
        assert_eq!(
            Proposal::propose("P", "a", empty, &admin, day())
                .unwrap_err()
                .code(),
            "proposal_incomplete"
        );
    }

    #[test]
    fn rejection_and_withdrawal_close_a_proposal() {
        let admin = Actor::new("us.admin", Role::Administrator);
        let sup = Actor::new("us.supervisor", Role::Supervisor);
        let mut p = Proposal::propose("P", "a", in_force(), &admin, day()).unwrap();
        assert_eq!(
            p.reject(&sup, "", day()).unwrap_err().code(),
            "reason_missing"
        );
        assert_eq!(
            p.withdraw(&sup, "x", day()).unwrap_err().code(),
            "proposal_not_yours"
        );
        p.reject(&sup, "note not yet received", day()).unwrap();
        assert_eq!(p.state, ProposalState::Rejected);
        let mut q = Proposal::propose("Q", "a", in_force(), &admin, day()).unwrap();
        q.withdraw(&admin, "typo", day()).unwrap();
        assert_eq!(q.state, ProposalState::Withdrawn);
    }
}
