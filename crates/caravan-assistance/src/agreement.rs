//! The agreement as data (assistance spec §1).
//!
//! Why data and not code: agreements differ (court use allowed in one, forbidden in another;
//! 90 or 120 days to reply), and the US–Uzbekistan text is not even published yet. So every
//! rule the workflow applies is read from an [`Agreement`], which is loaded from a TOML file
//! and checked once into typed values. The loader never touches the file system: it takes the
//! text, and every refusal names the line and column it comes from.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use crate::catalogue::RequestType;
use crate::roles::{self, Actor, Capability, RoleError};

/// The US–UZ CMAA (signed 13 September 2024, entry into force pending), compiled in.
pub const US_UZ_CMAA_2024: &str = include_str!("../agreements/us-uz-cmaa-2024.toml");

coded_enum! {
    /// The purposes of §1.3.
    pub enum Purpose {
        Intel => "INTEL",
        Admin => "ADMIN",
        Civil => "CIVIL",
        Criminal => "CRIMINAL",
    }
}

/// §1.3: `consent` is `none` or `prior_written`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentRule {
    None,
    PriorWritten,
}

/// §1.3: one purpose's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseRule {
    pub allowed: bool,
    pub consent: ConsentRule,
    pub conditions: Vec<String>,
}

coded_enum! {
    /// §1.2 states.
    pub enum AgreementState {
        Draft => "draft",
        Signed => "signed",
        InForce => "in_force",
        Suspended => "suspended",
        Terminated => "terminated",
    }
}

impl AgreementState {
    /// §1.2: `draft → signed → in_force ⇄ suspended → terminated`, and `in_force → terminated`.
    pub fn may_become(self, to: AgreementState) -> bool {
        use AgreementState as S;
        matches!(
            (self, to),
            (S::Draft, S::Signed)
                | (S::Signed, S::InForce)
                | (S::InForce, S::Suspended)
                | (S::Suspended, S::InForce)
                | (S::Suspended, S::Terminated)
                | (S::InForce, S::Terminated)
        )
    }
}

/// The agreement's status with the dates of §1.2.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Status {
    pub state: AgreementState,
    pub signed_date: Option<NaiveDate>,
    pub in_force_date: Option<NaiveDate>,
    pub suspended_date: Option<NaiveDate>,
    pub terminated_date: Option<NaiveDate>,
    /// The legal act (e.g. a diplomatic note) cited by the last change.
    pub legal_act: Option<String>,
}

/// A party (§1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub code: String,
    pub state: String,
    pub administration: String,
    pub implementing_agencies: Vec<String>,
    pub signing_date: NaiveDate,
    pub time_zone: String,
    /// Public holidays, skipped when counting working days (§1.5: each party has its own
    /// holiday calendar).
    pub holidays: Vec<NaiveDate>,
}

/// §1.5 deadlines in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub ack_working_days: u32,
    pub exec_days: u32,
    pub urgent_cap_days: u32,
    pub confirm_days: u32,
    pub correct_days: u32,
    pub reminder_percent: u32,
    pub overdue_reminder_every_days: u32,
    pub serious_spontaneous_ack_working_days: u32,
}

/// §1.6 translation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranslationRule {
    Attached,
    OnDemand,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    pub working: String,
    pub accepted: Vec<String>,
    pub translation: TranslationRule,
}

/// §1.7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostRule {
    pub waive_ordinary: bool,
    pub requester_pays_experts_and_witnesses: bool,
}

/// §1.1 `data_protection` and the personal-data gate of §1.9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProtection {
    pub personal_data_allowed: bool,
    pub adequacy_reference: Option<String>,
    pub retention_schedule: String,
}

/// §1.8: one designated contact point.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactPoint {
    pub id: String,
    pub party: String,
    pub unit: String,
    pub role: String,
    pub request_types: Vec<RequestType>,
    pub languages: Vec<String>,
    pub channels: Vec<String>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// §1.8: the versioned directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Directory {
    pub version: u32,
    pub entries: Vec<ContactPoint>,
}

impl Directory {
    /// Whether `id` is a designated contact point of `party` on `on`.
    pub fn designated(&self, party: &str, id: &str, on: NaiveDate) -> Option<&ContactPoint> {
        self.entries.iter().find(|e| {
            e.party == party
                && e.id == id
                && e.valid_from <= on
                && e.valid_to.is_none_or(|to| on <= to)
        })
    }

    /// Applies a `Directory.Update`: versions advance by exactly one.
    pub fn apply_update(&mut self, update: Directory) -> Result<(), AgreementError> {
        if update.version != self.version + 1 {
            return Err(AgreementError::DirectoryVersion {
                current: self.version,
                got: update.version,
            });
        }
        *self = update;
        Ok(())
    }

    /// One party's contact points (its section of the directory).
    pub fn section(&self, party: &str) -> Vec<ContactPoint> {
        self.entries
            .iter()
            .filter(|e| e.party == party)
            .cloned()
            .collect()
    }

    /// The next version of the directory with `party`'s section replaced by `entries` (the
    /// other party's entries unchanged); the version advances by exactly one.
    pub fn with_section(
        &self,
        party: &str,
        entries: Vec<ContactPoint>,
    ) -> Result<Directory, AgreementError> {
        if let Some(e) = entries.iter().find(|e| e.party != party) {
            return Err(AgreementError::DirectoryEntryWrongParty {
                id: e.id.clone(),
                party: party.to_owned(),
            });
        }
        let mut ids = std::collections::BTreeSet::new();
        if let Some(e) = entries.iter().find(|e| !ids.insert(e.id.as_str())) {
            return Err(AgreementError::DirectoryEntryDuplicate(e.id.clone()));
        }
        let mut all: Vec<ContactPoint> = self
            .entries
            .iter()
            .filter(|e| e.party != party)
            .cloned()
            .collect();
        all.extend(entries);
        let mut next = self.clone();
        next.apply_update(Directory {
            version: self.version + 1,
            entries: all,
        })?;
        Ok(next)
    }
}

/// §1.8 `Directory.Update`: one party's section of the directory, as that party sends it.
/// Each party numbers its own section; the agreement file's directory version is every
/// section's first version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirectoryUpdate {
    /// The party whose contact points these are (the sender).
    pub party: String,
    /// The section's version: the previous one plus one.
    pub version: u32,
    pub entries: Vec<ContactPoint>,
    pub issued_on: NaiveDate,
}

impl DirectoryUpdate {
    /// The receiver's rule: the update comes from `sender` (the partner), lists only the
    /// sender's contact points, and its version follows the section version we hold
    /// (`current`) by exactly one. An older or equal version is stale (a late or replayed
    /// copy); a jump is a gap (a version is missing).
    pub fn check(&self, sender: &str, current: u32) -> Result<(), AgreementError> {
        if self.party != sender {
            return Err(AgreementError::DirectoryEntryWrongParty {
                id: format!("section {}", self.party),
                party: sender.to_owned(),
            });
        }
        if let Some(e) = self.entries.iter().find(|e| e.party != sender) {
            return Err(AgreementError::DirectoryEntryWrongParty {
                id: e.id.clone(),
                party: sender.to_owned(),
            });
        }
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.valid_to.is_some_and(|to| to < e.valid_from))
        {
            return Err(AgreementError::DirectoryEntryDates(e.id.clone()));
        }
        if self.version <= current {
            return Err(AgreementError::DirectoryStale {
                current,
                got: self.version,
            });
        }
        if self.version != current + 1 {
            return Err(AgreementError::DirectoryGap {
                current,
                got: self.version,
            });
        }
        Ok(())
    }
}

coded_enum! {
    /// §1.9 assurance states.
    pub enum AssuranceState {
        GoodStanding => "good_standing",
        UnderReview => "under_review",
        Violated => "violated",
    }
}

/// §1.9: one assurance given by the partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    pub what: String,
    pub by: String,
    pub date: NaiveDate,
    pub document_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssuranceGate {
    pub state: AssuranceState,
    pub assurances: Vec<Assurance>,
}

/// What kind of outbound traffic a message is, for the gates of §1.2 and §1.9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Replies, spontaneous information, evidence: operational sharing.
    Operational,
    /// Scheduled bulk feeds (§5); paused while under review.
    Bulk,
    /// A request for information (the requester asking, not sharing).
    RequestForInformation,
    /// Retraction, correction, erasure and their acknowledgements (§11.2).
    Propagation,
    /// Consent requests and decisions granting consent.
    Consent,
    /// A consent refusal.
    ConsentRefusal,
    /// Disclosure notices (§10.4).
    DisclosureNotice,
    /// Directory, keys, status notices, statistics.
    Governance,
    /// Test messages marked `synthetic` (§1.2 `signed`).
    Synthetic,
}

impl Traffic {
    /// §1.2 `suspended`: these are always processed.
    fn always_processed(self) -> bool {
        matches!(
            self,
            Traffic::Propagation
                | Traffic::Consent
                | Traffic::ConsentRefusal
                | Traffic::DisclosureNotice
                | Traffic::Governance
        )
    }
}

/// What the node does with an inbound message under the agreement's status (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundDisposition {
    Process,
    /// Transport receipt given, message parked unprocessed.
    Park,
    Reject,
}

/// A refusal by the agreement, its status or its gates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    #[error("agreement {agreement} is {state}, not in force")]
    NotInForce {
        agreement: String,
        state: &'static str,
    },
    #[error("agreement {agreement} is {state}: no partner traffic of this kind")]
    NoTraffic {
        agreement: String,
        state: &'static str,
    },
    #[error("status change {from} -> {to} is not allowed")]
    IllegalStatusChange {
        from: &'static str,
        to: &'static str,
    },
    #[error("a status change must cite the legal act")]
    LegalActMissing,
    #[error("in_force needs an in_force_date")]
    InForceDateMissing,
    #[error("effective date {effective} is before the signing date {signed}")]
    EffectiveBeforeSigning {
        effective: NaiveDate,
        signed: NaiveDate,
    },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error("partner assurance is withdrawn (violated): operational sharing is blocked")]
    AssuranceViolated,
    #[error("partner is under review: supervisor approval required for operational messages")]
    AssuranceReviewApproval,
    #[error("partner is under review: bulk feeds are paused")]
    BulkPaused,
    #[error("the agreement records no adequacy: personal data may not leave the node")]
    PersonalDataNotAdequate,
    #[error("request type {0} is outside the agreement's capabilities")]
    OutsideCapabilities(RequestType),
    #[error("directory update version {got} does not follow {current}")]
    DirectoryVersion { current: u32, got: u32 },
    #[error("directory update version {got} is not newer than the section's version {current}")]
    DirectoryStale { current: u32, got: u32 },
    #[error("directory update version {got} skips a version after {current}")]
    DirectoryGap { current: u32, got: u32 },
    #[error("contact point {id} is not one of party {party}'s")]
    DirectoryEntryWrongParty { id: String, party: String },
    #[error("contact point {0} appears twice")]
    DirectoryEntryDuplicate(String),
    #[error("contact point {0}: valid_to is before valid_from")]
    DirectoryEntryDates(String),
    #[error("assurance change needs a reason")]
    ReasonMissing,
}

impl AgreementError {
    pub fn code(&self) -> &'static str {
        match self {
            AgreementError::NotInForce { .. } => "agreement_not_in_force",
            AgreementError::NoTraffic { .. } => "agreement_no_traffic",
            AgreementError::IllegalStatusChange { .. } => "agreement_status_change_illegal",
            AgreementError::LegalActMissing => "legal_act_missing",
            AgreementError::InForceDateMissing => "in_force_date_missing",
            AgreementError::EffectiveBeforeSigning { .. } => "effective_before_signing",
            AgreementError::Role(e) => e.code(),
            AgreementError::AssuranceViolated => "partner_assurance_withdrawn",
            AgreementError::AssuranceReviewApproval => "partner_under_review_approval_required",
            AgreementError::BulkPaused => "partner_under_review_bulk_paused",
            AgreementError::PersonalDataNotAdequate => "personal_data_not_adequate",
            AgreementError::OutsideCapabilities(_) => "outside_capabilities",
            AgreementError::DirectoryVersion { .. } => "directory_version_mismatch",
            AgreementError::DirectoryStale { .. } => "directory_version_stale",
            AgreementError::DirectoryGap { .. } => "directory_version_gap",
            AgreementError::DirectoryEntryWrongParty { .. } => "directory_entry_wrong_party",
            AgreementError::DirectoryEntryDuplicate(_) => "directory_entry_duplicate",
            AgreementError::DirectoryEntryDates(_) => "directory_entry_dates",
            AgreementError::ReasonMissing => "reason_missing",
        }
    }
}

/// A checked agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub parties: [Party; 2],
    pub territory: Vec<String>,
    pub territory_extensions: Vec<String>,
    pub status: Status,
    pub capabilities: Vec<RequestType>,
    pub written_letter_required: bool,
    pub submit_needs_supervisor: bool,
    pub permitted_uses: BTreeMap<Purpose, UseRule>,
    pub preauthorised_domestic_agencies: Vec<String>,
    pub deadlines: Deadlines,
    pub languages: Languages,
    pub cost_rule: CostRule,
    pub data_protection: DataProtection,
    pub governing_body: String,
    pub reporting_period_months: u32,
    pub directory: Directory,
    pub assurance: AssuranceGate,
}

/// A `Agreement.StatusNotice` produced by a status change, to be logged and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusNotice {
    pub agreement_id: String,
    pub version: u32,
    pub from: AgreementState,
    pub to: AgreementState,
    pub effective: NaiveDate,
    pub legal_act: String,
    pub approved_by: [String; 2],
}

impl Agreement {
    /// Loads the compiled-in US–UZ agreement.
    pub fn us_uz() -> Agreement {
        Agreement::from_toml(US_UZ_CMAA_2024).expect("the embedded US–UZ agreement is valid")
    }

    /// Parses and checks an agreement file.
    pub fn from_toml(text: &str) -> Result<Agreement, LoadError> {
        load::parse(text)
    }

    pub fn party(&self, code: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.code == code)
    }

    /// The other party's code.
    pub fn partner_of(&self, code: &str) -> Option<&str> {
        match (self.parties[0].code.as_str(), self.parties[1].code.as_str()) {
            (a, b) if a == code => Some(b),
            (a, b) if b == code => Some(a),
            _ => None,
        }
    }

    pub fn use_rule(&self, purpose: Purpose) -> &UseRule {
        // Every purpose is present: the loader fills the §1.3 default for a missing one.
        &self.permitted_uses[&purpose]
    }

    /// Operational traffic needs `in_force` with an entry-into-force date on or before `on`.
    pub fn check_in_force(&self, on: NaiveDate) -> Result<(), AgreementError> {
        let in_force = self.status.state == AgreementState::InForce
            && self.status.in_force_date.is_some_and(|d| d <= on);
        if in_force {
            Ok(())
        } else {
            Err(AgreementError::NotInForce {
                agreement: self.id.clone(),
                state: self.status.state.code(),
            })
        }
    }

    /// §1.2 for outbound traffic: what each status lets leave the node.
    pub fn check_outbound(&self, traffic: Traffic, on: NaiveDate) -> Result<(), AgreementError> {
        use AgreementState as S;
        let no_traffic = || AgreementError::NoTraffic {
            agreement: self.id.clone(),
            state: self.status.state.code(),
        };
        match self.status.state {
            S::Draft => Err(no_traffic()),
            S::Signed => match traffic {
                Traffic::Synthetic | Traffic::Governance => Ok(()),
                _ => Err(AgreementError::NotInForce {
                    agreement: self.id.clone(),
                    state: "signed",
                }),
            },
            S::InForce => {
                if traffic == Traffic::Synthetic || traffic == Traffic::Governance {
                    Ok(())
                } else {
                    self.check_in_force(on)
                }
            }
            S::Suspended | S::Terminated => {
                if traffic.always_processed() {
                    Ok(())
                } else {
                    Err(AgreementError::NotInForce {
                        agreement: self.id.clone(),
                        state: self.status.state.code(),
                    })
                }
            }
        }
    }

    /// §1.2 for inbound traffic.
    pub fn inbound(&self, traffic: Traffic) -> InboundDisposition {
        use AgreementState as S;
        match self.status.state {
            S::Draft => InboundDisposition::Reject,
            S::Signed => match traffic {
                Traffic::Synthetic | Traffic::Governance => InboundDisposition::Process,
                _ => InboundDisposition::Reject,
            },
            S::InForce => InboundDisposition::Process,
            S::Suspended | S::Terminated => {
                if traffic.always_processed() {
                    InboundDisposition::Process
                } else {
                    InboundDisposition::Park
                }
            }
        }
    }

    /// §1.9: the assurance gate, checked at release and again at send time.
    pub fn check_assurance(
        &self,
        traffic: Traffic,
        supervisor_approved: bool,
    ) -> Result<(), AgreementError> {
        match self.assurance.state {
            AssuranceState::GoodStanding => Ok(()),
            AssuranceState::UnderReview => match traffic {
                Traffic::Bulk => Err(AgreementError::BulkPaused),
                Traffic::Operational if !supervisor_approved => {
                    Err(AgreementError::AssuranceReviewApproval)
                }
                _ => Ok(()),
            },
            AssuranceState::Violated => match traffic {
                Traffic::RequestForInformation
                | Traffic::Propagation
                | Traffic::ConsentRefusal
                | Traffic::Governance => Ok(()),
                _ => Err(AgreementError::AssuranceViolated),
            },
        }
    }

    /// §1.9 second gate: personal data leaves only with a recorded adequacy.
    pub fn check_personal_data(&self) -> Result<(), AgreementError> {
        if self.data_protection.personal_data_allowed {
            Ok(())
        } else {
            Err(AgreementError::PersonalDataNotAdequate)
        }
    }

    /// §2.1: request types outside `capabilities` fail validation.
    pub fn check_capability(&self, kind: RequestType) -> Result<(), AgreementError> {
        if self.capabilities.contains(&kind) {
            Ok(())
        } else {
            Err(AgreementError::OutsideCapabilities(kind))
        }
    }

    /// §1.2: a status change by two people (administrator + supervisor) citing the legal act.
    /// Creates a new version of the agreement.
    pub fn change_status(
        &mut self,
        to: AgreementState,
        effective: NaiveDate,
        legal_act: &str,
        approvers: [&Actor; 2],
    ) -> Result<StatusNotice, AgreementError> {
        roles::check_two_person(
            Capability::ChangeAgreementStatus,
            approvers[0],
            approvers[1],
        )?;
        if legal_act.trim().is_empty() {
            return Err(AgreementError::LegalActMissing);
        }
        let from = self.status.state;
        if !from.may_become(to) {
            return Err(AgreementError::IllegalStatusChange {
                from: from.code(),
                to: to.code(),
            });
        }
        if let Some(signed) = self.status.signed_date
            && effective < signed
        {
            return Err(AgreementError::EffectiveBeforeSigning { effective, signed });
        }
        match to {
            AgreementState::Signed => self.status.signed_date = Some(effective),
            AgreementState::InForce => {
                if from == AgreementState::Signed {
                    self.status.in_force_date = Some(effective);
                }
                self.status.suspended_date = None;
            }
            AgreementState::Suspended => self.status.suspended_date = Some(effective),
            AgreementState::Terminated => self.status.terminated_date = Some(effective),
            AgreementState::Draft => {}
        }
        self.status.state = to;
        self.status.legal_act = Some(legal_act.to_owned());
        self.version += 1;
        Ok(StatusNotice {
            agreement_id: self.id.clone(),
            version: self.version,
            from,
            to,
            effective,
            legal_act: legal_act.to_owned(),
            approved_by: [approvers[0].account.clone(), approvers[1].account.clone()],
        })
    }

    /// §1.9: an assurance state change by a supervisor and the DPO, with reasons.
    pub fn change_assurance(
        &mut self,
        to: AssuranceState,
        reason: &str,
        approvers: [&Actor; 2],
    ) -> Result<(), AgreementError> {
        roles::check_two_person(Capability::ChangeAssuranceState, approvers[0], approvers[1])?;
        if reason.trim().is_empty() {
            return Err(AgreementError::ReasonMissing);
        }
        self.assurance.state = to;
        self.version += 1;
        Ok(())
    }
}

/// A refusal of an agreement file, with the position it comes from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct LoadError {
    pub code: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl LoadError {
    pub fn code(&self) -> &'static str {
        self.code
    }
}

mod load {
    //! Raw serde shapes of the agreement file and their checking into [`Agreement`].

    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawAgreement {
        agreement_id: Spanned<String>,
        version: u32,
        title: String,
        parties: Spanned<Vec<RawParty>>,
        territory: RawTerritory,
        status: RawStatus,
        capabilities: RawCapabilities,
        #[serde(default)]
        permitted_uses: BTreeMap<Spanned<String>, RawUseRule>,
        onward: RawOnward,
        deadlines: RawDeadlines,
        languages: RawLanguages,
        cost_rule: RawCostRule,
        data_protection: RawDataProtection,
        governing_body: RawGoverningBody,
        directory: RawDirectory,
        assurance: RawAssurance,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawParty {
        code: Spanned<String>,
        state: String,
        administration: String,
        implementing_agencies: Vec<String>,
        signing_date: Spanned<String>,
        time_zone: String,
        #[serde(default)]
        holidays: Vec<Spanned<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawTerritory {
        scope: Vec<String>,
        #[serde(default)]
        extensions: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawStatus {
        state: Spanned<String>,
        signed_date: Option<Spanned<String>>,
        in_force_date: Option<Spanned<String>>,
        suspended_date: Option<Spanned<String>>,
        terminated_date: Option<Spanned<String>>,
        legal_act: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawCapabilities {
        request_types: Vec<Spanned<String>>,
        written_letter_required: bool,
        submit_needs_supervisor: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawUseRule {
        allowed: bool,
        consent: Spanned<String>,
        #[serde(default)]
        conditions: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawOnward {
        preauthorised_domestic_agencies: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawDeadlines {
        ack_working_days: Spanned<u32>,
        exec_days: Spanned<u32>,
        urgent_cap_days: Spanned<u32>,
        confirm_days: Spanned<u32>,
        correct_days: Spanned<u32>,
        reminder_percent: Spanned<u32>,
        overdue_reminder_every_days: Spanned<u32>,
        serious_spontaneous_ack_working_days: Spanned<u32>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawLanguages {
        working: Spanned<String>,
        accepted: Vec<Spanned<String>>,
        translation: Spanned<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawCostRule {
        waive_ordinary: bool,
        requester_pays_experts_and_witnesses: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawDataProtection {
        personal_data_allowed: bool,
        adequacy_reference: Option<String>,
        retention_schedule: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawGoverningBody {
        name: String,
        reporting_period_months: Spanned<u32>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawDirectory {
        version: u32,
        #[serde(default)]
        entries: Vec<RawContactPoint>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawContactPoint {
        id: Spanned<String>,
        party: Spanned<String>,
        unit: String,
        role: String,
        request_types: Vec<Spanned<String>>,
        languages: Vec<Spanned<String>>,
        channels: Vec<String>,
        valid_from: Spanned<String>,
        valid_to: Option<Spanned<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawAssurance {
        state: Spanned<String>,
        #[serde(default)]
        assurances: Vec<RawAssuranceItem>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawAssuranceItem {
        what: String,
        by: String,
        date: Spanned<String>,
        document_sha256: Spanned<String>,
    }

    /// Line and column (1-based, in characters) of a byte offset.
    pub(super) fn position(text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    struct Ctx<'a> {
        text: &'a str,
    }

    impl Ctx<'_> {
        fn err<T>(
            &self,
            span: std::ops::Range<usize>,
            code: &'static str,
            message: String,
        ) -> Result<T, LoadError> {
            let (line, column) = position(self.text, span.start);
            Err(LoadError {
                code,
                line,
                column,
                message,
            })
        }

        fn date(&self, raw: &Spanned<String>) -> Result<NaiveDate, LoadError> {
            match NaiveDate::parse_from_str(raw.get_ref(), "%Y-%m-%d") {
                Ok(d) => Ok(d),
                Err(_) => self.err(
                    raw.span(),
                    "agreement_bad_date",
                    format!("{:?} is not a date (YYYY-MM-DD)", raw.get_ref()),
                ),
            }
        }

        fn opt_date(&self, raw: &Option<Spanned<String>>) -> Result<Option<NaiveDate>, LoadError> {
            raw.as_ref().map(|r| self.date(r)).transpose()
        }

        fn request_type(&self, raw: &Spanned<String>) -> Result<RequestType, LoadError> {
            match RequestType::parse(raw.get_ref()) {
                Some(t) => Ok(t),
                None => self.err(
                    raw.span(),
                    "agreement_unknown_request_type",
                    format!("{:?} is not a request type (R01–R13)", raw.get_ref()),
                ),
            }
        }

        fn language(&self, raw: &Spanned<String>) -> Result<String, LoadError> {
            if crate::catalogue::is_bcp47(raw.get_ref()) {
                Ok(raw.get_ref().clone())
            } else {
                self.err(
                    raw.span(),
                    "agreement_bad_language_tag",
                    format!("{:?} is not a BCP 47 language tag", raw.get_ref()),
                )
            }
        }

        fn positive(&self, raw: &Spanned<u32>, what: &str) -> Result<u32, LoadError> {
            if *raw.get_ref() == 0 {
                self.err(
                    raw.span(),
                    "agreement_bad_deadline",
                    format!("{what} must be at least 1"),
                )
            } else {
                Ok(*raw.get_ref())
            }
        }
    }

    pub(super) fn parse(text: &str) -> Result<Agreement, LoadError> {
        let ctx = Ctx { text };
        let raw: RawAgreement = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let (line, column) = e.span().map_or((1, 1), |s| position(text, s.start));
                return Err(LoadError {
                    code: "agreement_syntax",
                    line,
                    column,
                    message: e.message().to_owned(),
                });
            }
        };

        let id = raw.agreement_id.get_ref();
        let slug_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok {
            return ctx.err(
                raw.agreement_id.span(),
                "agreement_bad_id",
                "agreement_id must be a slug of a-z, 0-9 and '-' (at most 64)".to_owned(),
            );
        }

        let mut parties = Vec::new();
        for p in raw.parties.get_ref() {
            let code = p.code.get_ref();
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return ctx.err(
                    p.code.span(),
                    "agreement_bad_party",
                    format!("party code {code:?} must be two capital letters"),
                );
            }
            if parties.iter().any(|q: &Party| &q.code == code) {
                return ctx.err(
                    p.code.span(),
                    "agreement_bad_party",
                    format!("party {code} appears twice"),
                );
            }
            parties.push(Party {
                code: code.clone(),
                state: p.state.clone(),
                administration: p.administration.clone(),
                implementing_agencies: p.implementing_agencies.clone(),
                signing_date: ctx.date(&p.signing_date)?,
                time_zone: p.time_zone.clone(),
                holidays: p
                    .holidays
                    .iter()
                    .map(|h| ctx.date(h))
                    .collect::<Result<_, _>>()?,
            });
        }
        let parties: [Party; 2] = match parties.try_into() {
            Ok(p) => p,
            Err(v) => {
                return ctx.err(
                    raw.parties.span(),
                    "agreement_bad_party",
                    format!(
                        "a bilateral agreement has exactly two parties, not {}",
                        v.len()
                    ),
                );
            }
        };

        let Some(state) = AgreementState::parse(raw.status.state.get_ref()) else {
            return ctx.err(
                raw.status.state.span(),
                "agreement_bad_status",
                format!(
                    "{:?} is not a status (draft, signed, in_force, suspended, terminated)",
                    raw.status.state.get_ref()
                ),
            );
        };
        let status = Status {
            state,
            signed_date: ctx.opt_date(&raw.status.signed_date)?,
            in_force_date: ctx.opt_date(&raw.status.in_force_date)?,
            suspended_date: ctx.opt_date(&raw.status.suspended_date)?,
            terminated_date: ctx.opt_date(&raw.status.terminated_date)?,
            legal_act: raw.status.legal_act.clone(),
        };
        let needs_date = |present: bool, what: &str| -> Result<(), LoadError> {
            if present {
                Ok(())
            } else {
                ctx.err(
                    raw.status.state.span(),
                    "agreement_status_date_missing",
                    format!("status {} needs {what}", state.code()),
                )
            }
        };
        if state != AgreementState::Draft {
            needs_date(status.signed_date.is_some(), "signed_date")?;
        }
        if matches!(
            state,
            AgreementState::InForce | AgreementState::Suspended | AgreementState::Terminated
        ) {
            needs_date(status.in_force_date.is_some(), "in_force_date")?;
        }
        if state == AgreementState::Suspended {
            needs_date(status.suspended_date.is_some(), "suspended_date")?;
        }
        if state == AgreementState::Terminated {
            needs_date(status.terminated_date.is_some(), "terminated_date")?;
        }
        if let (Some(signed), Some(in_force)) = (status.signed_date, status.in_force_date)
            && in_force < signed
        {
            let span = raw.status.in_force_date.as_ref().map_or(0..0, |s| s.span());
            return ctx.err(
                span,
                "agreement_bad_date",
                "in_force_date is before signed_date".to_owned(),
            );
        }

        let mut capabilities = Vec::new();
        for t in &raw.capabilities.request_types {
            let t = ctx.request_type(t)?;
            if !capabilities.contains(&t) {
                capabilities.push(t);
            }
        }

        let mut permitted_uses = BTreeMap::new();
        for (name, rule) in &raw.permitted_uses {
            let Some(purpose) = Purpose::parse(name.get_ref()) else {
                return ctx.err(
                    name.span(),
                    "agreement_bad_purpose",
                    format!(
                        "{:?} is not a purpose (INTEL, ADMIN, CIVIL, CRIMINAL)",
                        name.get_ref()
                    ),
                );
            };
            let consent = match rule.consent.get_ref().as_str() {
                "none" => ConsentRule::None,
                "prior_written" => ConsentRule::PriorWritten,
                other => {
                    return ctx.err(
                        rule.consent.span(),
                        "agreement_bad_consent_rule",
                        format!("{other:?} is not a consent rule (none, prior_written)"),
                    );
                }
            };
            permitted_uses.insert(
                purpose,
                UseRule {
                    allowed: rule.allowed,
                    consent,
                    conditions: rule.conditions.clone(),
                },
            );
        }
        // §1.3 [D]: while uses are unconfirmed, INTEL and ADMIN allowed, CIVIL and CRIMINAL
        // prior written consent. A purpose the file leaves out gets that default.
        for &purpose in Purpose::ALL {
            permitted_uses.entry(purpose).or_insert_with(|| UseRule {
                allowed: true,
                consent: match purpose {
                    Purpose::Intel | Purpose::Admin => ConsentRule::None,
                    Purpose::Civil | Purpose::Criminal => ConsentRule::PriorWritten,
                },
                conditions: Vec::new(),
            });
        }

        let d = &raw.deadlines;
        let deadlines = Deadlines {
            ack_working_days: ctx.positive(&d.ack_working_days, "ack_working_days")?,
            exec_days: ctx.positive(&d.exec_days, "exec_days")?,
            urgent_cap_days: ctx.positive(&d.urgent_cap_days, "urgent_cap_days")?,
            confirm_days: ctx.positive(&d.confirm_days, "confirm_days")?,
            correct_days: ctx.positive(&d.correct_days, "correct_days")?,
            reminder_percent: ctx.positive(&d.reminder_percent, "reminder_percent")?,
            overdue_reminder_every_days: ctx.positive(
                &d.overdue_reminder_every_days,
                "overdue_reminder_every_days",
            )?,
            serious_spontaneous_ack_working_days: ctx.positive(
                &d.serious_spontaneous_ack_working_days,
                "serious_spontaneous_ack_working_days",
            )?,
        };
        if deadlines.reminder_percent > 100 {
            return ctx.err(
                d.reminder_percent.span(),
                "agreement_bad_deadline",
                "reminder_percent is a percentage of T_exec (1–100)".to_owned(),
            );
        }

        let working = ctx.language(&raw.languages.working)?;
        let mut accepted = Vec::new();
        for l in &raw.languages.accepted {
            accepted.push(ctx.language(l)?);
        }
        if !accepted.contains(&working) {
            return ctx.err(
                raw.languages.working.span(),
                "agreement_bad_language_tag",
                "the working language must be one of the accepted languages".to_owned(),
            );
        }
        let translation = match raw.languages.translation.get_ref().as_str() {
            "attached" => TranslationRule::Attached,
            "on_demand" => TranslationRule::OnDemand,
            other => {
                return ctx.err(
                    raw.languages.translation.span(),
                    "agreement_bad_translation_rule",
                    format!("{other:?} is not a translation rule (attached, on_demand)"),
                );
            }
        };

        let mut entries = Vec::new();
        for e in &raw.directory.entries {
            if !parties.iter().any(|p| &p.code == e.party.get_ref()) {
                return ctx.err(
                    e.party.span(),
                    "agreement_bad_party",
                    format!("contact point party {:?} is not a party", e.party.get_ref()),
                );
            }
            if entries
                .iter()
                .any(|c: &ContactPoint| &c.id == e.id.get_ref())
            {
                return ctx.err(
                    e.id.span(),
                    "agreement_duplicate_contact_point",
                    format!("contact point {:?} appears twice", e.id.get_ref()),
                );
            }
            let mut types = Vec::new();
            for t in &e.request_types {
                types.push(ctx.request_type(t)?);
            }
            let mut langs = Vec::new();
            for l in &e.languages {
                langs.push(ctx.language(l)?);
            }
            let valid_from = ctx.date(&e.valid_from)?;
            let valid_to = ctx.opt_date(&e.valid_to)?;
            if valid_to.is_some_and(|to| to < valid_from) {
                let span = e.valid_to.as_ref().map_or(0..0, |s| s.span());
                return ctx.err(
                    span,
                    "agreement_bad_date",
                    "valid_to is before valid_from".to_owned(),
                );
            }
            entries.push(ContactPoint {
                id: e.id.get_ref().clone(),
                party: e.party.get_ref().clone(),
                unit: e.unit.clone(),
                role: e.role.clone(),
                request_types: types,
                languages: langs,
                channels: e.channels.clone(),
                valid_from,
                valid_to,
            });
        }

        let Some(assurance_state) = AssuranceState::parse(raw.assurance.state.get_ref()) else {
            return ctx.err(
                raw.assurance.state.span(),
                "agreement_bad_assurance_state",
                format!(
                    "{:?} is not an assurance state (good_standing, under_review, violated)",
                    raw.assurance.state.get_ref()
                ),
            );
        };
        let mut assurances = Vec::new();
        for a in &raw.assurance.assurances {
            let hash = a.document_sha256.get_ref();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return ctx.err(
                    a.document_sha256.span(),
                    "agreement_bad_digest",
                    "document_sha256 must be 64 hex digits".to_owned(),
                );
            }
            assurances.push(Assurance {
                what: a.what.clone(),
                by: a.by.clone(),
                date: ctx.date(&a.date)?,
                document_sha256: hash.to_ascii_lowercase(),
            });
        }

        Ok(Agreement {
            id: id.clone(),
            version: raw.version,
            title: raw.title,
            parties,
            territory: raw.territory.scope,
            territory_extensions: raw.territory.extensions,
            status,
            capabilities,
            written_letter_required: raw.capabilities.written_letter_required,
            submit_needs_supervisor: raw.capabilities.submit_needs_supervisor,
            permitted_uses,
            preauthorised_domestic_agencies: raw.onward.preauthorised_domestic_agencies,
            deadlines,
            languages: Languages {
                working,
                accepted,
                translation,
            },
            cost_rule: CostRule {
                waive_ordinary: raw.cost_rule.waive_ordinary,
                requester_pays_experts_and_witnesses: raw
                    .cost_rule
                    .requester_pays_experts_and_witnesses,
            },
            data_protection: DataProtection {
                personal_data_allowed: raw.data_protection.personal_data_allowed,
                adequacy_reference: raw.data_protection.adequacy_reference,
                retention_schedule: raw.data_protection.retention_schedule,
            },
            governing_body: raw.governing_body.name,
            reporting_period_months: ctx.positive(
                &raw.governing_body.reporting_period_months,
                "reporting_period_months",
            )?,
            directory: Directory {
                version: raw.directory.version,
                entries,
            },
            assurance: AssuranceGate {
                state: assurance_state,
                assurances,
            },
        })
    }
}
