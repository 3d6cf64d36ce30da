//! Urgent oral requests (assistance spec §2.3, §3.2 rows 2–3, §1.5 `T_confirm`).
//!
//! Why the oral record is a case of its own on the requested side only: the requester's
//! official telephoned the requested side's 24/7 contact point, so only the requested node
//! knows of it. Its contact point records who called, when, what was asked and why it is
//! urgent; `T_confirm`, `T_ack` and `T_exec` start at once (the pure core's `Case::oral`).
//! The written `Request.Submit` that confirms it carries the oral record's id as its case
//! id, so both nodes then hold the same case: the requester's copy starts as a draft of that
//! id, the requested side's copy moves `oral_pending_confirmation → received` under the
//! same state machine. Until then the table allows no acknowledgement or reply, which is
//! §3.2's "withholds results until the written confirmation arrives"; a late confirmation
//! puts the case on the overdue list (`T_confirm`) and raises alerts on the reminder cadence.

use caravan_assistance::agreement::{InboundDisposition, Traffic};
use caravan_assistance::catalogue::{OralRecord, RequestDraft, RequestType, Urgency, ValidRequest};
use caravan_assistance::lifecycle::{By, Case, CaseState, Event, Side};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_exchange::node::{ReceivedMessage, uuid_v7};
use caravan_store::StoreError;
use caravan_store::assistance::{AssistanceChange, CaseQuery, CaseRow};
use chrono::NaiveDate;
use serde_json::json;

use crate::error::AssistError;
use crate::service::{AssistanceNode, allowed, audit_event, case_row, today, transition_rows};
use crate::wire::Body;

/// Prefix of oral records' case ids.
pub const ORAL_PREFIX: &str = "ORAL-";

/// An urgent oral request as the contact point takes it down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OralIntake {
    /// Who called (name, function, number).
    pub caller: String,
    /// When the call came (today if absent).
    pub received_on: Option<NaiveDate>,
    /// What was asked.
    pub summary: String,
    pub types: Vec<RequestType>,
    /// Why it is urgent (an oral request must be).
    pub justification: String,
    /// The reply date asked for.
    pub reply_by: NaiveDate,
    /// The desk it is assigned to (the intake desk if absent).
    pub desk: Option<String>,
}

/// The request content known from the call; the written request replaces it.
fn oral_content(record: &OralRecord, requested_administration: &str) -> RequestDraft {
    let mut draft = RequestDraft {
        requesting_administration: record.requesting_administration.clone(),
        requested_administration: requested_administration.to_owned(),
        agreement_id: record.agreement_id.clone(),
        subject: format!("Urgent oral request: {}", record.summary),
        types: record.types.clone(),
        object: record.summary.clone(),
        reason: record.urgency.justification.clone(),
        urgency: Some(record.urgency.clone()),
        ..RequestDraft::default()
    };
    for (key, value) in [
        ("oral_caller", record.caller.clone()),
        ("oral_recorded_by", record.recorded_by.clone()),
        ("oral_received_on", record.received_on.to_string()),
    ] {
        draft.extra.insert(key.to_owned(), value);
    }
    draft
}

fn valid_oral_reference(id: &str) -> bool {
    id.starts_with(ORAL_PREFIX)
        && id.len() <= 80
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl AssistanceNode {
    /// Records an urgent oral request received by this side's contact point (§3.2 row 2).
    pub fn record_oral(
        &self,
        actor: &Actor,
        intake: OralIntake,
        now: i64,
    ) -> Result<CaseRow, AssistError> {
        self.audited(actor, "request.oral.record", "new", now, || {
            roles::check(actor, Capability::AcknowledgeAndPartialReply, true)?;
            let agreement = self.agreement()?;
            if agreement.inbound(Traffic::RequestForInformation) != InboundDisposition::Process {
                return Err(AssistError::refused(
                    "agreement_not_in_force",
                    format!("agreement {} is {}", agreement.id, agreement.status.state),
                ));
            }
            let on = intake.received_on.unwrap_or_else(|| today(now));
            if on > today(now) {
                return Err(AssistError::bad_input(
                    "date_in_future",
                    "the call cannot have come after today",
                ));
            }
            let record = OralRecord {
                agreement_id: agreement.id.clone(),
                requesting_administration: self.config.partner_admin.clone(),
                caller: intake.caller,
                recorded_by: actor.account.clone(),
                received_on: on,
                summary: intake.summary,
                types: intake.types,
                urgency: Urgency {
                    justification: intake.justification,
                    reply_by: intake.reply_by,
                },
            };
            let desk = intake
                .desk
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| self.config.intake_desk.clone());
            let case_id = format!("{ORAL_PREFIX}{}", uuid_v7(now as u64));
            let case = Case::oral(&case_id, &desk, Side::Requested, &record, &agreement)?;
            let content = oral_content(&record, &self.config.admin);
            let row = case_row(&case, &content, &self.config.partner_party, None, now);
            let change = AssistanceChange {
                cases: vec![row.clone()],
                audit: vec![allowed(
                    actor,
                    "request.oral.record",
                    &case_id,
                    json!({
                        "caller": record.caller, "types": row.types,
                        "confirm_due": case.confirm_due, "reply_by": record.urgency.reply_by,
                    }),
                    now,
                )],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(row)
        })
    }

    /// The requester's written confirmation of an oral request it made (§2.3): a draft
    /// under the oral record's id, checked like any request and sent with
    /// `Request.Submit`.
    pub fn confirm_oral_request(
        &self,
        actor: &Actor,
        oral_case_id: &str,
        mut draft: RequestDraft,
        desk: &str,
        now: i64,
    ) -> Result<CaseRow, AssistError> {
        self.audited(actor, "request.create", oral_case_id, now, || {
            if !valid_oral_reference(oral_case_id) {
                return Err(AssistError::bad_input(
                    "oral_reference_invalid",
                    format!("an oral record's id starts with {ORAL_PREFIX} (letters, digits, -)"),
                ));
            }
            match self.store.case_row(oral_case_id) {
                Err(StoreError::NotFound) => {}
                Ok(_) => {
                    return Err(AssistError::refused(
                        "case_exists",
                        "a case with this id exists on this node",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            draft
                .extra
                .insert("confirms_oral".to_owned(), oral_case_id.to_owned());
            self.draft_case(actor, draft, desk, oral_case_id, now)
        })
    }

    /// The written `Request.Submit` for an oral record of ours: the case moves to
    /// `received` and its content becomes the written request. The written request must
    /// ask at least what was asked orally.
    pub(crate) fn on_oral_confirmation(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        valid: ValidRequest,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let (row, mut case, _) = self.load_case(&body.case_id)?;
        if case.state != CaseState::OralPendingConfirmation || case.holder != Side::Requested {
            return Err(AssistError::refused(
                "case_exists",
                "a case with this id exists",
            ));
        }
        if let Some(missing) = case.types.iter().find(|t| !valid.draft().types.contains(t)) {
            return Err(AssistError::refused(
                "oral_confirmation_types_differ",
                format!("the oral request asked for {missing}, which the written one omits"),
            ));
        }
        let agreement = self.agreement()?;
        let since = case.records.len();
        let on = body.on.max(case.last_on);
        let by = By::Officer {
            side: Side::Requester,
            actor: body.by.actor(),
            approved_by: body.approved_by.as_ref().map(|o| o.actor()),
        };
        case.apply(Event::Submit, by, on, &agreement)?;
        let detail = json!({
            "confirms_oral": case.id, "exchange_message_id": message.message_id,
            "from": message.from,
        });
        Ok(AssistanceChange {
            cases: vec![case_row(
                &case,
                valid.draft(),
                &row.partner,
                Some(&row),
                now,
            )],
            transitions: transition_rows(
                &case,
                since,
                &format!("partner:{}", body.by.account),
                &detail,
                now,
            ),
            ..AssistanceChange::default()
        })
    }

    /// Alerts on oral requests whose written confirmation is late (§3.2 rules): each due
    /// alert flags the case overdue and is audited; returns the cases alerted.
    pub fn run_confirmation_alerts(&self, now: i64) -> Result<Vec<String>, AssistError> {
        let agreement = self.agreement()?;
        let on = today(now);
        let mut alerted = Vec::new();
        let rows = self.store.case_rows(&CaseQuery {
            holder: Some("requested".into()),
            state: Some(CaseState::OralPendingConfirmation.code().into()),
            limit: 100_000,
            ..CaseQuery::default()
        })?;
        for row in rows {
            let (row, mut case, request) = self.load_case(&row.case_id)?;
            let Ok(sent) = case.note_confirm_reminder(&agreement, on) else {
                continue;
            };
            let detail = json!({ "confirm_due": case.confirm_due, "alerts_sent": sent });
            let change = AssistanceChange {
                cases: vec![case_row(&case, &request, &row.partner, Some(&row), now)],
                audit: vec![audit_event(
                    "node",
                    "system",
                    "request.oral.confirmation_overdue",
                    &case.id,
                    None,
                    detail,
                    now,
                )],
                ..AssistanceChange::default()
            };
            match self.store.commit_assistance(&change) {
                Ok(()) => alerted.push(case.id.clone()),
                // An officer changed the case meanwhile; the next run sees it again.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(alerted)
    }
}
