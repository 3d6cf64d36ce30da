//! The request catalogue and intake (assistance spec §2).
//!
//! Why intake collects every gap before refusing: a liaison officer fixing a request wants the
//! whole list of what is missing at once, not one error per round trip, and the requested side
//! runs the same check on receipt to decide on `Request.ReturnForCorrection` with that list.
//! A request that passes becomes a [`ValidRequest`], the only thing the lifecycle accepts.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

use crate::agreement::{Agreement, AgreementError, Purpose};

coded_enum! {
    /// The request types of §2.1.
    pub enum RequestType {
        R01 => "R01",
        R02 => "R02",
        R03 => "R03",
        R04 => "R04",
        R05 => "R05",
        R06 => "R06",
        R07 => "R07",
        R08 => "R08",
        R09 => "R09",
        R10 => "R10",
        R11 => "R11",
        R12 => "R12",
        R13 => "R13",
    }
}

impl RequestType {
    /// The §2.1 title.
    pub fn title(self) -> &'static str {
        match self {
            RequestType::R01 => "Lawful movement of goods",
            RequestType::R02 => "Assessment: value, tariff classification, origin",
            RequestType::R03 => "Offence information",
            RequestType::R04 => "Verification of documents",
            RequestType::R05 => "Administrative enquiry on the requester's behalf",
            RequestType::R06 => "Special surveillance",
            RequestType::R07 => "Controlled delivery",
            RequestType::R08 => "Notification or delivery of documents and decisions",
            RequestType::R09 => "Files, documents, certified copies",
            RequestType::R10 => "Experts and witnesses",
            RequestType::R11 => "Presence of the requester's officials at enquiries",
            RequestType::R12 => "Recovery of customs claims",
            RequestType::R13 => "Cross-border cooperation",
        }
    }

    /// §2.2 "extra fields by type" [D], required when the type is requested.
    pub fn extra_fields(self) -> &'static [&'static str] {
        match self {
            RequestType::R01 | RequestType::R02 | RequestType::R03 | RequestType::R04 => {
                &["declaration_references", "hs_codes"]
            }
            RequestType::R06 => &["subjects", "period", "reporting_frequency"],
            RequestType::R07 => &["consignment", "route", "timing", "operation_room"],
            RequestType::R08 => &["addressee", "documents"],
            RequestType::R09 => &["document_list", "originals_or_certified_copies"],
            RequestType::R10 => &["proceeding", "court", "date", "testimony_scope"],
            RequestType::R11 => &["officials", "dates", "role"],
            RequestType::R05 | RequestType::R12 | RequestType::R13 => &[],
        }
    }
}

/// A well-formed BCP 47 tag in the shape Caravan accepts: a 2–3 letter primary language
/// subtag followed by 1–8 character alphanumeric subtags (RFC 5646 §2.1 syntax).
pub fn is_bcp47(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(primary) = parts.next() else {
        return false;
    };
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A person concerned (§2.2 item 8).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonConcerned {
    pub name: String,
    /// `natural` or `legal`.
    pub kind: PersonKind,
    /// Identifiers as exactly as possible (e.g. `UZ-STIR:301234567`).
    pub identifiers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersonKind {
    Natural,
    Legal,
}

/// Urgency (§2.2 optional content, §1.5 `T_urgent`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Urgency {
    pub justification: String,
    pub reply_by: NaiveDate,
}

/// A request as drafted: every §2.2 field, possibly empty. Intake decides.
///
/// Every field defaults to empty when absent from a document, so intake — not the parser —
/// reports what is missing, all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RequestDraft {
    pub requesting_administration: String,
    pub requesting_contact_point: String,
    pub requested_administration: String,
    pub agreement_id: String,
    pub agreement_article: String,
    pub subject: String,
    pub types: Vec<RequestType>,
    pub object: String,
    pub reason: String,
    pub case_statement: String,
    pub enquiries_already_carried_out: String,
    pub legal_provisions: String,
    pub persons: Vec<PersonConcerned>,
    pub nature_of_proceedings: String,
    pub link_to_matter: String,
    pub specific_procedure: Option<String>,
    pub language: String,
    pub urgency: Option<Urgency>,
    pub desired_reply_date: Option<NaiveDate>,
    pub confidentiality_needs: Option<String>,
    pub reciprocity_statement: Option<String>,
    pub purposes_sought: Vec<Purpose>,
    /// Type-specific fields (§2.2 extras), by name.
    pub extra: BTreeMap<String, String>,
}

/// One gap in a request, named by the §2.2 field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missing {
    pub field: String,
    /// The request type that needs it, for type-specific fields.
    pub for_type: Option<RequestType>,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.for_type {
            Some(t) => write!(f, "{} (for {t})", self.field),
            None => f.write_str(&self.field),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("request is incomplete; missing: {}", list(.missing))]
    Incomplete { missing: Vec<Missing> },
    #[error("request names agreement {got}, not {expected}")]
    WrongAgreement { expected: String, got: String },
    #[error("{0} is not a party to the agreement")]
    UnknownParty(String),
    #[error("requesting and requested administration are the same")]
    SameParty,
    #[error("contact point {0} is not in the requesting party's current directory")]
    NotDesignated(String),
    #[error("language {0} is not accepted under the agreement")]
    LanguageNotAccepted(String),
    #[error(transparent)]
    Agreement(#[from] AgreementError),
    #[error("urgent reply date {reply_by} is past the agreement's cap of {cap_days} days")]
    UrgentBeyondCap { reply_by: NaiveDate, cap_days: u32 },
    #[error("reply date {0} is in the past")]
    ReplyDateInPast(NaiveDate),
    #[error("an oral request must be urgent, with a justification")]
    OralNotUrgent,
}

fn list(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl IntakeError {
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Incomplete { .. } => "request_incomplete",
            IntakeError::WrongAgreement { .. } => "request_wrong_agreement",
            IntakeError::UnknownParty(_) => "request_unknown_party",
            IntakeError::SameParty => "request_same_party",
            IntakeError::NotDesignated(_) => "contact_point_not_designated",
            IntakeError::LanguageNotAccepted(_) => "language_not_accepted",
            IntakeError::Agreement(e) => e.code(),
            IntakeError::UrgentBeyondCap { .. } => "urgent_beyond_cap",
            IntakeError::ReplyDateInPast(_) => "reply_date_in_past",
            IntakeError::OralNotUrgent => "oral_request_not_urgent",
        }
    }
}

/// A request that passed intake against one agreement on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    draft: RequestDraft,
}

impl ValidRequest {
    pub fn draft(&self) -> &RequestDraft {
        &self.draft
    }

    pub fn is_urgent(&self) -> bool {
        self.draft.urgency.is_some()
    }

    /// §2.2 [D]: the purposes sought become the reply's default permitted uses.
    pub fn default_reply_uses(&self) -> &[Purpose] {
        &self.draft.purposes_sought
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Lists every §2.2 gap, mandatory content first, in the spec's order.
pub fn missing_content(draft: &RequestDraft) -> Vec<Missing> {
    let mut missing = Vec::new();
    let mut need = |absent: bool, field: &str| {
        if absent {
            missing.push(Missing {
                field: field.to_owned(),
                for_type: None,
            });
        }
    };
    need(
        blank(&draft.requesting_administration),
        "requesting_administration",
    );
    need(
        blank(&draft.requesting_contact_point),
        "requesting_contact_point",
    );
    need(
        blank(&draft.requested_administration),
        "requested_administration",
    );
    need(blank(&draft.agreement_id), "agreement_id");
    need(blank(&draft.agreement_article), "agreement_article");
    need(blank(&draft.subject), "subject");
    need(draft.types.is_empty(), "types");
    need(blank(&draft.object), "object");
    need(blank(&draft.reason), "reason");
    need(blank(&draft.case_statement), "case_statement");
    need(
        blank(&draft.enquiries_already_carried_out),
        "enquiries_already_carried_out",
    );
    need(blank(&draft.legal_provisions), "legal_provisions");
    need(
        draft.persons.is_empty() || draft.persons.iter().any(|p| blank(&p.name)),
        "persons",
    );
    need(blank(&draft.nature_of_proceedings), "nature_of_proceedings");
    need(blank(&draft.link_to_matter), "link_to_matter");
    need(blank(&draft.language), "language");
    if let Some(u) = &draft.urgency {
        need(blank(&u.justification), "urgency_justification");
    }
    let mut types = draft.types.clone();
    types.sort();
    types.dedup();
    for t in types {
        for field in t.extra_fields() {
            if draft.extra.get(*field).is_none_or(|v| blank(v)) {
                missing.push(Missing {
                    field: (*field).to_owned(),
                    for_type: Some(t),
                });
            }
        }
    }
    missing
}

/// Intake (§2.2): the full content check, then the agreement's own rules. Run by the requester
/// before `Request.Submit` and again by the requested side on receipt.
pub fn validate(
    draft: RequestDraft,
    agreement: &Agreement,
    today: NaiveDate,
) -> Result<ValidRequest, IntakeError> {
    let missing = missing_content(&draft);
    if !missing.is_empty() {
        return Err(IntakeError::Incomplete { missing });
    }
    if draft.agreement_id != agreement.id {
        return Err(IntakeError::WrongAgreement {
            expected: agreement.id.clone(),
            got: draft.agreement_id.clone(),
        });
    }
    for party in [
        &draft.requesting_administration,
        &draft.requested_administration,
    ] {
        if agreement.party(party).is_none() {
            return Err(IntakeError::UnknownParty(party.clone()));
        }
    }
    if draft.requesting_administration == draft.requested_administration {
        return Err(IntakeError::SameParty);
    }
    if agreement
        .directory
        .designated(
            &draft.requesting_administration,
            &draft.requesting_contact_point,
            today,
        )
        .is_none()
    {
        return Err(IntakeError::NotDesignated(
            draft.requesting_contact_point.clone(),
        ));
    }
    if !agreement.languages.accepted.contains(&draft.language) {
        return Err(IntakeError::LanguageNotAccepted(draft.language.clone()));
    }
    for t in &draft.types {
        agreement.check_capability(*t)?;
    }
    if let Some(d) = draft.desired_reply_date
        && d < today
    {
        return Err(IntakeError::ReplyDateInPast(d));
    }
    if let Some(u) = &draft.urgency {
        if u.reply_by < today {
            return Err(IntakeError::ReplyDateInPast(u.reply_by));
        }
        let cap = agreement.deadlines.urgent_cap_days;
        if (u.reply_by - today).num_days() > i64::from(cap) {
            return Err(IntakeError::UrgentBeyondCap {
                reply_by: u.reply_by,
                cap_days: cap,
            });
        }
    }
    Ok(ValidRequest { draft })
}

/// An urgent oral request as recorded by the requested side's contact point (§2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OralRecord {
    pub agreement_id: String,
    pub requesting_administration: String,
    pub caller: String,
    pub recorded_by: String,
    pub received_on: NaiveDate,
    pub summary: String,
    pub types: Vec<RequestType>,
    pub urgency: Urgency,
}

/// Checks an oral record: only urgent requests may be oral, and the agreement must cover the
/// types. Returns the written-confirmation deadline (`T_confirm`, §1.5).
pub fn validate_oral(record: &OralRecord, agreement: &Agreement) -> Result<NaiveDate, IntakeError> {
    let mut missing = Vec::new();
    for (absent, field) in [
        (blank(&record.caller), "caller"),
        (blank(&record.recorded_by), "recorded_by"),
        (blank(&record.summary), "summary"),
        (record.types.is_empty(), "types"),
    ] {
        if absent {
            missing.push(Missing {
                field: field.to_owned(),
                for_type: None,
            });
        }
    }
    if !missing.is_empty() {
        return Err(IntakeError::Incomplete { missing });
    }
    if blank(&record.urgency.justification) {
        return Err(IntakeError::OralNotUrgent);
    }
    if record.agreement_id != agreement.id {
        return Err(IntakeError::WrongAgreement {
            expected: agreement.id.clone(),
            got: record.agreement_id.clone(),
        });
    }
    if agreement.party(&record.requesting_administration).is_none() {
        return Err(IntakeError::UnknownParty(
            record.requesting_administration.clone(),
        ));
    }
    for t in &record.types {
        agreement.check_capability(*t)?;
    }
    Ok(record.received_on + chrono::Days::new(u64::from(agreement.deadlines.confirm_days)))
}
