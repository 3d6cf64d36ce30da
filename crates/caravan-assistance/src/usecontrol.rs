//! Provenance, the use check and the consent-for-other-use workflow (assistance spec §10).
//!
//! Why the use check is one function: every action on partner data (view, export, disclose,
//! present in court…) must pass the same four tests of §10.2 — agreement status, purpose or
//! consent, markings, role and need to know — and a denial must be as auditable as a grant.
//! So [`use_check`] returns either a [`UseGrant`] naming the basis (agreement or a consent
//! grant) or a [`UseError`] with a stable code; the caller audits both.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::agreement::{Agreement, AgreementState, AssuranceState, ConsentRule, Purpose};
use crate::marking::{Caveat, ItemMarkings, Markings, Pap, Tlp};
use crate::roles::{self, Actor, Capability, Grant, RoleError};

/// §1.4 recipient classes. Serialised as `{"class": "court", "name": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(tag = "class", content = "name", rename_all = "snake_case")]
pub enum Recipient {
    /// Need-to-know staff of the receiving administration.
    SameAdmin,
    DomesticAgency(String),
    /// A court, for one named proceeding.
    Court(String),
    ThirdCountry(String),
    IntlOrg(String),
}

impl Recipient {
    pub fn class(&self) -> &'static str {
        match self {
            Recipient::SameAdmin => "same_admin",
            Recipient::DomesticAgency(_) => "domestic_agency",
            Recipient::Court(_) => "court",
            Recipient::ThirdCountry(_) => "third_country",
            Recipient::IntlOrg(_) => "intl_org",
        }
    }
}

coded_enum! {
    /// §10.2 actions on partner data.
    pub enum UseAction {
        View => "view",
        Search => "search",
        Analyse => "analyse",
        Export => "export",
        Print => "print",
        AttachToCase => "attach_to_case",
        Disclose => "disclose",
        PresentInProceedings => "present_in_proceedings",
        /// An active step towards the subject (contacting the company, an inspection).
        ActOnSubject => "act_on_subject",
    }
}

/// §10.1: provenance of a received item. Sticky: derived objects carry the combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub item_id: String,
    pub agreement_id: String,
    pub provider: String,
    pub provider_reference: String,
    pub message_id: String,
    pub log_index: u64,
    pub permitted_uses: BTreeSet<Purpose>,
    pub conditions: Vec<String>,
    pub markings: ItemMarkings,
    /// For `TLP:RED`: the named recipients (accounts).
    pub named_recipients: BTreeSet<String>,
    pub personal_data: bool,
    pub retention_class: String,
    pub received_on: NaiveDate,
}

/// The provenance of a derived object (extract, analytics result, report): the join of its
/// inputs. Uses are the intersection, markings the strictest, personal data if any input has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedProvenance {
    pub sources: Vec<String>,
    pub providers: BTreeSet<String>,
    pub permitted_uses: BTreeSet<Purpose>,
    pub markings: Markings,
    pub personal_data: bool,
}

pub fn derive(inputs: &[&Provenance]) -> Option<DerivedProvenance> {
    let (first, rest) = inputs.split_first()?;
    let mut d = DerivedProvenance {
        sources: vec![first.item_id.clone()],
        providers: BTreeSet::from([first.provider.clone()]),
        permitted_uses: first.permitted_uses.clone(),
        markings: first.markings.strictest(),
        personal_data: first.personal_data,
    };
    for p in rest {
        d.sources.push(p.item_id.clone());
        d.providers.insert(p.provider.clone());
        d.permitted_uses = d
            .permitted_uses
            .intersection(&p.permitted_uses)
            .copied()
            .collect();
        d.markings = d.markings.join(&p.markings.strictest());
        d.personal_data |= p.personal_data;
    }
    Some(d)
}

/// Receiving an item: the provider may narrow the agreement's uses, never widen them (§1.3).
pub fn check_received_uses(
    agreement: &Agreement,
    uses: &BTreeSet<Purpose>,
) -> Result<(), UseError> {
    match uses.iter().find(|p| !agreement.use_rule(**p).allowed) {
        Some(p) => Err(UseError::WidenedBeyondAgreement(*p)),
        None => Ok(()),
    }
}

/// The basis on which a use is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseGrant {
    /// The agreement and the item permit the purpose for this recipient.
    Agreement,
    /// A consent grant covers it.
    Consent(String),
    /// Metadata only (auditor).
    MetadataOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UseError {
    #[error("agreement is {0}: partner data may not be used")]
    AgreementNotInForce(&'static str),
    #[error("purpose {0} is not permitted for this item")]
    PurposeNotPermitted(Purpose),
    #[error("purpose {0} needs the provider's prior written consent")]
    ConsentRequired(Purpose),
    #[error("recipient class {0} needs the provider's prior written consent")]
    OnwardConsentRequired(&'static str),
    #[error("TLP:{0} does not allow this recipient")]
    TlpForbids(Tlp),
    #[error("PAP:{0} does not allow this action")]
    PapForbids(Pap),
    #[error("caveat {0} forbids this action")]
    CaveatForbids(String),
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error("no need to know: the actor is not assigned to the case")]
    NoNeedToKnow,
    #[error("the provider may narrow uses, never widen them beyond the agreement ({0})")]
    WidenedBeyondAgreement(Purpose),
}

impl UseError {
    pub fn code(&self) -> &'static str {
        match self {
            UseError::AgreementNotInForce(_) => "agreement_not_in_force",
            UseError::PurposeNotPermitted(_) => "purpose_not_permitted",
            UseError::ConsentRequired(_) => "consent_required",
            UseError::OnwardConsentRequired(_) => "onward_consent_required",
            UseError::TlpForbids(_) => "tlp_forbids",
            UseError::PapForbids(_) => "pap_forbids",
            UseError::CaveatForbids(_) => "caveat_forbids",
            UseError::Role(e) => e.code(),
            UseError::NoNeedToKnow => "no_need_to_know",
            UseError::WidenedBeyondAgreement(_) => "uses_widened_beyond_agreement",
        }
    }
}

/// One use the caller wants to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseRequest<'a> {
    pub actor: &'a Actor,
    /// Whether the actor is assigned to the case (need to know, §13).
    pub assigned: bool,
    pub action: UseAction,
    pub purpose: Purpose,
    pub recipient: Recipient,
    pub on: NaiveDate,
}

fn capability_for(action: UseAction) -> Capability {
    match action {
        UseAction::View | UseAction::Search | UseAction::AttachToCase => {
            Capability::ViewPartnerData
        }
        UseAction::Analyse => Capability::RunAnalytics,
        UseAction::Export | UseAction::Print | UseAction::PresentInProceedings => {
            Capability::ExportCourtPackage
        }
        UseAction::Disclose | UseAction::ActOnSubject => Capability::ViewPartnerData,
    }
}

/// §10.2: the four tests, in order. `consents` are the consent cases on the item.
pub fn use_check(
    agreement: &Agreement,
    item: &Provenance,
    consents: &[ConsentCase],
    request: &UseRequest<'_>,
) -> Result<UseGrant, UseError> {
    // 1. Agreement in force or suspended.
    if !matches!(
        agreement.status.state,
        AgreementState::InForce | AgreementState::Suspended
    ) {
        return Err(UseError::AgreementNotInForce(agreement.status.state.code()));
    }
    // 4 first for auditors: metadata only, whatever the purpose.
    let grant = roles::check(
        request.actor,
        capability_for(request.action),
        request.assigned,
    )?;
    if grant == Grant::MetadataOnly {
        return if request.action == UseAction::View {
            Ok(UseGrant::MetadataOnly)
        } else {
            Err(UseError::Role(RoleError::NotPermitted {
                role: request.actor.role,
                capability: capability_for(request.action),
            }))
        };
    }
    if !request.assigned {
        return Err(UseError::NoNeedToKnow);
    }
    // 2. Purpose by agreement and item, or a matching consent grant.
    let consent = consents.iter().find(|c| {
        c.covers(
            &item.item_id,
            request.purpose,
            &request.recipient,
            request.on,
            agreement,
        )
    });
    let rule = agreement.use_rule(request.purpose);
    let onward = match &request.recipient {
        Recipient::SameAdmin => false,
        Recipient::DomesticAgency(name) => !agreement
            .preauthorised_domestic_agencies
            .iter()
            .any(|a| a == name),
        _ => true,
    };
    let basis = match consent {
        Some(c) => UseGrant::Consent(c.id.clone()),
        None => {
            if !rule.allowed || !item.permitted_uses.contains(&request.purpose) {
                return Err(UseError::PurposeNotPermitted(request.purpose));
            }
            if rule.consent == ConsentRule::PriorWritten {
                return Err(UseError::ConsentRequired(request.purpose));
            }
            if onward {
                return Err(UseError::OnwardConsentRequired(request.recipient.class()));
            }
            UseGrant::Agreement
        }
    };
    // 3. Markings: TLP for the recipient, PAP for active steps, caveats.
    let m = item.markings.strictest();
    let outside = request.recipient != Recipient::SameAdmin;
    match m.tlp {
        Tlp::Red if outside || !item.named_recipients.contains(&request.actor.account) => {
            return Err(UseError::TlpForbids(Tlp::Red));
        }
        Tlp::AmberStrict if outside => return Err(UseError::TlpForbids(Tlp::AmberStrict)),
        _ => {}
    }
    if request.action == UseAction::ActOnSubject && m.pap > Pap::Green {
        return Err(UseError::PapForbids(m.pap));
    }
    if request.action == UseAction::Search && m.pap == Pap::Red {
        // PAP:RED allows only passive, non-detectable actions; a search of partner-visible
        // systems is a cross-check, which needs PAP:AMBER at most.
        return Err(UseError::PapForbids(Pap::Red));
    }
    if request.action == UseAction::PresentInProceedings && m.has(Caveat::NO_EVIDENCE) {
        return Err(UseError::CaveatForbids(Caveat::NO_EVIDENCE.to_owned()));
    }
    if outside && m.has(Caveat::NO_ONWARD) && !matches!(basis, UseGrant::Consent(_)) {
        return Err(UseError::CaveatForbids(Caveat::NO_ONWARD.to_owned()));
    }
    Ok(basis)
}

coded_enum! {
    /// The consent-for-other-use workflow (§10.3) as its own state machine.
    pub enum ConsentState {
        Requested => "requested",
        Granted => "granted",
        GrantedWithConditions => "granted_with_conditions",
        Refused => "refused",
        /// Grants are suspended while the partner's assurance is violated (§1.9).
        Suspended => "suspended",
        Expired => "expired",
    }
}

/// A `Consent.Request` and its life.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsentCase {
    pub id: String,
    pub items: Vec<String>,
    pub purpose: Purpose,
    pub recipient: Recipient,
    pub justification: String,
    pub proceedings_reference: Option<String>,
    pub needed_by: NaiveDate,
    pub state: ConsentState,
    pub expires_on: Option<NaiveDate>,
    pub conditions: Vec<String>,
    pub decided_by: Option<String>,
    pub reasons: Option<String>,
}

/// A `Consent.Decision`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ConsentDecision {
    Granted {
        expires_on: Option<NaiveDate>,
    },
    GrantedWithConditions {
        expires_on: Option<NaiveDate>,
        conditions: Vec<String>,
    },
    Refused {
        reasons: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("consent request is incomplete; missing: {0}")]
    Incomplete(String),
    #[error("a court consent names the proceeding")]
    ProceedingMissing,
    #[error("consent is {from}; {event} is not allowed")]
    NotAllowed {
        from: ConsentState,
        event: &'static str,
    },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error("a refusal needs reasons")]
    ReasonsMissing,
    #[error("conditions are missing")]
    ConditionsMissing,
    #[error("INTEL needs no consent; consent is for ADMIN, CIVIL or CRIMINAL use")]
    PurposeNeedsNoConsent,
}

impl ConsentError {
    pub fn code(&self) -> &'static str {
        match self {
            ConsentError::Incomplete(_) => "consent_request_incomplete",
            ConsentError::ProceedingMissing => "consent_proceeding_missing",
            ConsentError::NotAllowed { .. } => "consent_transition_not_allowed",
            ConsentError::Role(e) => e.code(),
            ConsentError::ReasonsMissing => "reason_missing",
            ConsentError::ConditionsMissing => "conditions_missing",
            ConsentError::PurposeNeedsNoConsent => "consent_purpose_invalid",
        }
    }
}

impl ConsentCase {
    /// Opens a `Consent.Request` (§10.3). The requester needs `RequestConsent`.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        id: &str,
        actor: &Actor,
        items: Vec<String>,
        purpose: Purpose,
        recipient: Recipient,
        justification: &str,
        proceedings_reference: Option<String>,
        needed_by: NaiveDate,
    ) -> Result<ConsentCase, ConsentError> {
        roles::check(actor, Capability::RequestConsent, true)?;
        let mut missing = Vec::new();
        if items.is_empty() {
            missing.push("items");
        }
        if justification.trim().is_empty() {
            missing.push("justification");
        }
        if !missing.is_empty() {
            return Err(ConsentError::Incomplete(missing.join(", ")));
        }
        if purpose == Purpose::Intel {
            return Err(ConsentError::PurposeNeedsNoConsent);
        }
        if matches!(recipient, Recipient::Court(ref p) if p.trim().is_empty()) {
            return Err(ConsentError::ProceedingMissing);
        }
        Ok(ConsentCase {
            id: id.to_owned(),
            items,
            purpose,
            recipient,
            justification: justification.to_owned(),
            proceedings_reference,
            needed_by,
            state: ConsentState::Requested,
            expires_on: None,
            conditions: Vec::new(),
            decided_by: None,
            reasons: None,
        })
    }

    fn not_allowed(&self, event: &'static str) -> ConsentError {
        ConsentError::NotAllowed {
            from: self.state,
            event,
        }
    }

    /// The provider's `Consent.Decision`, signed by a supervisor (§13 "decide consent").
    pub fn decide(&mut self, decision: ConsentDecision, by: &Actor) -> Result<(), ConsentError> {
        if self.state != ConsentState::Requested {
            return Err(self.not_allowed("Consent.Decision"));
        }
        roles::check(by, Capability::DecideConsent, true)?;
        match decision {
            ConsentDecision::Granted { expires_on } => {
                self.state = ConsentState::Granted;
                self.expires_on = expires_on;
            }
            ConsentDecision::GrantedWithConditions {
                expires_on,
                conditions,
            } => {
                if conditions.iter().all(|c| c.trim().is_empty()) {
                    return Err(ConsentError::ConditionsMissing);
                }
                self.state = ConsentState::GrantedWithConditions;
                self.expires_on = expires_on;
                self.conditions = conditions;
            }
            ConsentDecision::Refused { reasons } => {
                if reasons.trim().is_empty() {
                    return Err(ConsentError::ReasonsMissing);
                }
                self.state = ConsentState::Refused;
                self.reasons = Some(reasons);
            }
        }
        self.decided_by = Some(by.account.clone());
        Ok(())
    }

    /// §1.9: a violated assurance suspends existing grants; good standing reinstates them.
    pub fn follow_assurance(&mut self, state: AssuranceState) {
        match (self.state, state) {
            (
                ConsentState::Granted | ConsentState::GrantedWithConditions,
                AssuranceState::Violated,
            ) => {
                self.state = ConsentState::Suspended;
            }
            (
                ConsentState::Suspended,
                AssuranceState::GoodStanding | AssuranceState::UnderReview,
            ) => {
                self.state = if self.conditions.is_empty() {
                    ConsentState::Granted
                } else {
                    ConsentState::GrantedWithConditions
                };
            }
            _ => {}
        }
    }

    /// Marks an expired grant. No implied consent on timeout: a `Requested` case whose
    /// `needed_by` passed stays `Requested`.
    pub fn expire(&mut self, today: NaiveDate) {
        if matches!(
            self.state,
            ConsentState::Granted | ConsentState::GrantedWithConditions
        ) && self.expires_on.is_some_and(|e| e < today)
        {
            self.state = ConsentState::Expired;
        }
    }

    /// Whether this grant covers one use: narrow (one recipient, one purpose, its items),
    /// unexpired, and not suspended by the assurance gate.
    pub fn covers(
        &self,
        item: &str,
        purpose: Purpose,
        recipient: &Recipient,
        on: NaiveDate,
        agreement: &Agreement,
    ) -> bool {
        matches!(
            self.state,
            ConsentState::Granted | ConsentState::GrantedWithConditions
        ) && agreement.assurance.state != AssuranceState::Violated
            && self.purpose == purpose
            && &self.recipient == recipient
            && self.items.iter().any(|i| i == item)
            && self.expires_on.is_none_or(|e| on <= e)
    }
}

/// §10.4: a disclosure compelled by the receiver's domestic law.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureNotice {
    pub items: Vec<String>,
    pub legal_instrument: String,
    pub recipient: Recipient,
    pub disclosure_date: NaiveDate,
    pub notified_on: NaiveDate,
    /// Advance notice (before the disclosure) or after the fact.
    pub advance: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    #[error("a forced disclosure must name its legal instrument")]
    InstrumentMissing,
    #[error("a forced disclosure must name its items")]
    ItemsMissing,
}

impl DisclosureError {
    pub fn code(&self) -> &'static str {
        match self {
            DisclosureError::InstrumentMissing => "disclosure_instrument_missing",
            DisclosureError::ItemsMissing => "disclosure_items_missing",
        }
    }
}

/// Records a forced disclosure and builds the `Disclosure.Notice` to the provider; the notice
/// is `advance` when given before the disclosure date.
pub fn forced_disclosure(
    items: Vec<String>,
    legal_instrument: &str,
    recipient: Recipient,
    disclosure_date: NaiveDate,
    notified_on: NaiveDate,
) -> Result<DisclosureNotice, DisclosureError> {
    if legal_instrument.trim().is_empty() {
        return Err(DisclosureError::InstrumentMissing);
    }
    if items.is_empty() {
        return Err(DisclosureError::ItemsMissing);
    }
    Ok(DisclosureNotice {
        items,
        legal_instrument: legal_instrument.to_owned(),
        recipient,
        disclosure_date,
        notified_on,
        advance: notified_on < disclosure_date,
    })
}
