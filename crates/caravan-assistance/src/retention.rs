//! Retention schedules, the review list, and propagated erasure, correction and retraction
//! (assistance spec §11).
//!
//! Why propagation is a protocol obligation here: MISP lost deletions between instances
//! (#4681, #8977). A provider's `Data.Retract`/`Correct`/`Erase`/`Marking.Change` is therefore
//! an open [`Propagation`] until the receiver's signed `Data.ComplianceAck` accounts for every
//! item — changed, or kept under a legal hold with a reason — and it is chased on the reminder
//! cadence until then.

use chrono::{Days, Months, NaiveDate};

use crate::roles::{self, Actor, Capability, RoleError};

coded_enum! {
    /// The example schedule of §11.1 (FIDE limits).
    pub enum RetentionClass {
        EnquiryNoInvestigativeAct => "enquiry_no_act",
        EnquiryNoOffence => "enquiry_no_offence",
        OffenceProcedurePending => "offence_procedure_pending",
        FinalJudgment => "final_judgment",
        PersonCleared => "person_cleared",
    }
}

impl RetentionClass {
    /// Maximum retention in months (§11.1); `PersonCleared` is immediate erasure.
    pub fn months(self) -> u32 {
        match self {
            RetentionClass::EnquiryNoInvestigativeAct => 12,
            RetentionClass::EnquiryNoOffence => 36,
            RetentionClass::OffenceProcedurePending => 72,
            RetentionClass::FinalJudgment => 120,
            RetentionClass::PersonCleared => 0,
        }
    }
}

/// An item under retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedItem {
    pub id: String,
    pub class: RetentionClass,
    /// When the retention clock started (receipt, or the class's triggering event).
    pub since: NaiveDate,
    pub personal_data: bool,
    pub last_review: Option<NaiveDate>,
    pub legal_hold: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("an item without a retention class cannot be stored")]
    ClassMissing,
    #[error("unknown retention class {0:?}")]
    UnknownClass(String),
    #[error("\"keep\" needs a reason")]
    KeepReasonMissing,
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error("compliance acknowledgement does not account for item {0}")]
    AckIncomplete(String),
    #[error("legal hold on {0} needs a reason")]
    HoldReasonMissing(String),
    #[error("acknowledgement names item {0}, which the message did not")]
    AckUnknownItem(String),
    #[error("the propagation is already acknowledged")]
    AlreadyAcknowledged,
    #[error("item {0} is already under a legal hold")]
    HoldExists(String),
    #[error("item {0} is not under a legal hold")]
    NoHold(String),
}

impl RetentionError {
    pub fn code(&self) -> &'static str {
        match self {
            RetentionError::ClassMissing => "retention_class_missing",
            RetentionError::UnknownClass(_) => "retention_class_unknown",
            RetentionError::KeepReasonMissing => "reason_missing",
            RetentionError::Role(e) => e.code(),
            RetentionError::AckIncomplete(_) => "compliance_ack_incomplete",
            RetentionError::HoldReasonMissing(_) => "legal_hold_reason_missing",
            RetentionError::AckUnknownItem(_) => "compliance_ack_unknown_item",
            RetentionError::AlreadyAcknowledged => "compliance_ack_duplicate",
            RetentionError::HoldExists(_) => "legal_hold_exists",
            RetentionError::NoHold(_) => "legal_hold_missing",
        }
    }
}

/// §11.1: "items with no retention class cannot be stored".
pub fn admit(
    id: &str,
    class: Option<&str>,
    since: NaiveDate,
    personal_data: bool,
) -> Result<RetainedItem, RetentionError> {
    let raw = class.ok_or(RetentionError::ClassMissing)?;
    let class =
        RetentionClass::parse(raw).ok_or_else(|| RetentionError::UnknownClass(raw.to_owned()))?;
    Ok(RetainedItem {
        id: id.to_owned(),
        class,
        since,
        personal_data,
        last_review: None,
        legal_hold: None,
    })
}

impl RetainedItem {
    /// The day the item must be erased by (unless under legal hold).
    pub fn erase_on(&self) -> NaiveDate {
        self.since
            .checked_add_months(Months::new(self.class.months()))
            .unwrap_or(NaiveDate::MAX)
    }

    /// The next annual review date for personal data (§11.1 "at least yearly").
    pub fn review_due(&self) -> Option<NaiveDate> {
        if !self.personal_data {
            return None;
        }
        let base = self.last_review.unwrap_or(self.since);
        base.checked_add_months(Months::new(12))
    }
}

coded_enum! {
    /// Why an item is on the review list.
    pub enum ReviewReason {
        RetentionExpired => "retention_expired",
        AnnualReview => "annual_review",
    }
}

/// One line of the review list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewLine {
    pub item_id: String,
    pub reason: ReviewReason,
    pub due: NaiveDate,
}

/// §11.1: items whose limit has passed (automatic erasure unless held) and personal-data items
/// due for their annual review, ordered by due date.
pub fn review_list(items: &[RetainedItem], today: NaiveDate) -> Vec<ReviewLine> {
    let mut out = Vec::new();
    for item in items {
        let erase = item.erase_on();
        if erase <= today && item.legal_hold.is_none() {
            out.push(ReviewLine {
                item_id: item.id.clone(),
                reason: ReviewReason::RetentionExpired,
                due: erase,
            });
        } else if let Some(due) = item.review_due()
            && due <= today
        {
            out.push(ReviewLine {
                item_id: item.id.clone(),
                reason: ReviewReason::AnnualReview,
                due,
            });
        }
    }
    out.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.item_id.cmp(&b.item_id)));
    out
}

/// §11.2: places a legal hold on an item, which keeps it past its retention date and is
/// reported in the `Data.ComplianceAck`. The reason is mandatory; a supervisor or the
/// data-protection officer decides (the retention-review right of §13).
pub fn place_hold(item: &mut RetainedItem, reason: &str, by: &Actor) -> Result<(), RetentionError> {
    roles::check(by, Capability::RetentionReview, true)?;
    if reason.trim().is_empty() {
        return Err(RetentionError::HoldReasonMissing(item.id.clone()));
    }
    if item.legal_hold.is_some() {
        return Err(RetentionError::HoldExists(item.id.clone()));
    }
    item.legal_hold = Some(reason.to_owned());
    Ok(())
}

/// Lifts a legal hold; from then on the item's retention date applies again.
pub fn lift_hold(item: &mut RetainedItem, reason: &str, by: &Actor) -> Result<(), RetentionError> {
    roles::check(by, Capability::RetentionReview, true)?;
    if reason.trim().is_empty() {
        return Err(RetentionError::KeepReasonMissing);
    }
    if item.legal_hold.take().is_none() {
        return Err(RetentionError::NoHold(item.id.clone()));
    }
    Ok(())
}

/// Items whose retention date has passed and that no legal hold keeps: erased automatically
/// (§11.1 "erasure runs automatically when a limit passes").
pub fn expired(items: &[RetainedItem], today: NaiveDate) -> Vec<&RetainedItem> {
    items
        .iter()
        .filter(|i| i.legal_hold.is_none() && i.erase_on() <= today)
        .collect()
}

/// The reviewer's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    Keep { reason: String },
    Erase,
}

/// Records an annual review by a supervisor or DPO. Returns whether to erase.
pub fn review(
    item: &mut RetainedItem,
    decision: &ReviewDecision,
    by: &Actor,
    on: NaiveDate,
) -> Result<bool, RetentionError> {
    roles::check(by, Capability::RetentionReview, true)?;
    match decision {
        ReviewDecision::Keep { reason } if reason.trim().is_empty() => {
            Err(RetentionError::KeepReasonMissing)
        }
        ReviewDecision::Keep { .. } => {
            item.last_review = Some(on);
            Ok(false)
        }
        ReviewDecision::Erase => {
            item.last_review = Some(on);
            Ok(true)
        }
    }
}

coded_enum! {
    /// Provider-initiated propagation messages (§11.2).
    pub enum PropagationKind {
        Retract => "Data.Retract",
        Correct => "Data.Correct",
        Erase => "Data.Erase",
        MarkingChange => "Marking.Change",
    }
}

/// What the receiver did with one item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ItemCompliance {
    Applied,
    /// Kept under a legal hold; the reason is mandatory and the provider is notified.
    LegalHold {
        reason: String,
    },
}

/// A signed `Data.ComplianceAck`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComplianceAck {
    pub items: Vec<(String, ItemCompliance)>,
    pub on: NaiveDate,
}

/// An outstanding propagation on the provider's side.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Propagation {
    pub id: String,
    pub kind: PropagationKind,
    pub items: Vec<String>,
    pub sent_on: NaiveDate,
    pub ack: Option<ComplianceAck>,
}

impl Propagation {
    /// Opens a propagation; the sender needs the retract/correct/erase right.
    pub fn send(
        id: &str,
        kind: PropagationKind,
        items: Vec<String>,
        by: &Actor,
        on: NaiveDate,
    ) -> Result<Propagation, RetentionError> {
        roles::check(by, Capability::RetractCorrectErase, true)?;
        if items.is_empty() {
            return Err(RetentionError::AckIncomplete("(no items)".to_owned()));
        }
        Ok(Propagation {
            id: id.to_owned(),
            kind,
            items,
            sent_on: on,
            ack: None,
        })
    }

    /// Accepts the receiver's acknowledgement only if it accounts for every item.
    pub fn acknowledge(&mut self, ack: ComplianceAck) -> Result<(), RetentionError> {
        if self.ack.is_some() {
            return Err(RetentionError::AlreadyAcknowledged);
        }
        for (id, c) in &ack.items {
            if !self.items.contains(id) {
                return Err(RetentionError::AckUnknownItem(id.clone()));
            }
            if let ItemCompliance::LegalHold { reason } = c
                && reason.trim().is_empty()
            {
                return Err(RetentionError::HoldReasonMissing(id.clone()));
            }
        }
        if let Some(missing) = self
            .items
            .iter()
            .find(|i| !ack.items.iter().any(|(id, _)| id == *i))
        {
            return Err(RetentionError::AckIncomplete(missing.clone()));
        }
        self.ack = Some(ack);
        Ok(())
    }

    /// Chase dates for a missing acknowledgement, every `every_days` after sending.
    pub fn chases_due(&self, every_days: u32, today: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        if self.ack.is_some() || every_days == 0 {
            return out;
        }
        let mut next = self.sent_on + Days::new(u64::from(every_days));
        while next <= today {
            out.push(next);
            next = next + Days::new(u64::from(every_days));
        }
        out
    }

    /// Days from sending to acknowledgement (§15 "time to ComplianceAck").
    pub fn days_to_ack(&self) -> Option<i64> {
        self.ack.as_ref().map(|a| (a.on - self.sent_on).num_days())
    }
}
