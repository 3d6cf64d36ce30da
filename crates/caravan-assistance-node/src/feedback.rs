//! `Feedback.Outcome` (assistance spec §15): the requester tells the provider what its
//! assistance led to — seizures, duties and penalties, cases opened, convictions — and both
//! sides count it in the joint committee's statistics.
//!
//! Why the same check on both sides: each node computes the report from its own store and
//! the two reports must agree, so the receiver runs the pure `outcome::check` on its own copy
//! of the case (convictions only once that copy is closed) before recording the report; a
//! report one side would not count is refused, with its code, on the other too.

use caravan_assistance::agreement::Traffic;
use caravan_assistance::lifecycle::{CaseState, Side};
use caravan_assistance::outcome::{self, OutcomeReport};
use caravan_assistance::roles::{self, Actor, Capability, Role};
use caravan_assistance::stats::{self, Outcome};
use caravan_exchange::node::{ReceivedMessage, uuid_v7};
use caravan_store::assistance::AssistanceChange;
use caravan_store::assistance_wire::{FeedbackRow, WireChange};
use serde::{Deserialize, Serialize};

use crate::error::AssistError;
use crate::hitnohit::inbound_change;
use crate::service::{AssistanceNode, allowed, json, parse, today};
use crate::wire::{Body, Content};

/// Exchange action.
pub const ACTION: &str = "Feedback.Outcome";

/// The body of a `Feedback.Outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackBody {
    pub feedback_id: String,
    pub report: OutcomeReport,
}

fn outcome_error(e: outcome::OutcomeError) -> AssistError {
    AssistError::bad_input(e.code, e.message)
}

/// Whether a case has had a reply (in full or in part), so there is assistance to report on.
fn was_answered(case: &caravan_assistance::lifecycle::Case) -> bool {
    let reached = |s: CaseState| case.state == s || case.records.iter().any(|r| r.to == s);
    reached(CaseState::Answered) || reached(CaseState::PartiallyAnswered)
}

impl AssistanceNode {
    /// Reports the outcome of one of our requests to the provider (§15).
    pub fn report_outcome(
        &self,
        actor: &Actor,
        case_id: &str,
        report: OutcomeReport,
        now: i64,
    ) -> Result<FeedbackRow, AssistError> {
        self.audited(actor, "feedback.report", case_id, now, || {
            roles::check(actor, Capability::DraftRequests, true)?;
            let (row, case, _) = self.load_case(case_id)?;
            if case.holder != Side::Requester {
                return Err(AssistError::refused(
                    "outcome_not_requester",
                    "outcomes are reported by the requesting side on its own request",
                ));
            }
            if !was_answered(&case) {
                return Err(AssistError::refused(
                    "outcome_case_not_answered",
                    format!("case {case_id} has had no reply to report an outcome on"),
                ));
            }
            outcome::check(case_id, &report, case.state == CaseState::Closed)
                .map_err(outcome_error)?;
            let on = today(now).max(case.last_on);
            let agreement = self.agreement()?;
            agreement.check_outbound(Traffic::Operational, on)?;
            agreement.check_assurance(Traffic::Operational, actor.role == Role::Supervisor)?;
            let feedback_id = format!("FB-{}", uuid_v7(now as u64));
            let body = FeedbackBody {
                feedback_id: feedback_id.clone(),
                report,
            };
            let fb = FeedbackRow {
                feedback_id: feedback_id.clone(),
                direction: "out".into(),
                case_id: case_id.to_owned(),
                peer: row.partner.clone(),
                reported_by: actor.account.clone(),
                outcome: json(&body.report),
                reported_on: on.to_string(),
                created_at: now,
            };
            let message = self.outbound(
                case_id,
                &row.partner,
                ACTION,
                actor,
                None,
                on,
                Content::FeedbackOutcome(body.clone()),
                now,
            );
            let detail = serde_json::json!({ "feedback_id": feedback_id, "report": body.report });
            let change = WireChange {
                base: AssistanceChange {
                    messages: vec![message],
                    audit: vec![allowed(actor, "feedback.report", case_id, detail, now)],
                    ..AssistanceChange::default()
                },
                feedback: vec![fb.clone()],
                ..WireChange::default()
            };
            self.store.commit_wire(&change)?;
            Ok(fb)
        })
        .inspect(|_| {
            let _ = self.dispatch(now);
        })
    }

    /// The provider's side: records a partner's report on a case we answered.
    pub(crate) fn on_feedback(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        feedback: &FeedbackBody,
        now: i64,
    ) -> Result<(), AssistError> {
        let (row, case, _) = self.load_case(&body.case_id)?;
        if case.holder != Side::Requested || row.partner != message.from {
            return Err(AssistError::refused(
                "outcome_not_requester",
                "an outcome is reported by the requester on a case this node answered",
            ));
        }
        if !was_answered(&case) {
            return Err(AssistError::refused(
                "outcome_case_not_answered",
                format!("case {} has had no reply from this node", body.case_id),
            ));
        }
        outcome::check(
            &body.case_id,
            &feedback.report,
            case.state == CaseState::Closed,
        )
        .map_err(outcome_error)?;
        let fb = FeedbackRow {
            feedback_id: feedback.feedback_id.clone(),
            direction: "in".into(),
            case_id: body.case_id.clone(),
            peer: message.from.clone(),
            reported_by: format!("{}:{}", message.from, body.by.account),
            outcome: json(&feedback.report),
            reported_on: body.on.to_string(),
            created_at: now,
        };
        let detail = serde_json::json!({
            "feedback_id": feedback.feedback_id, "exchange_message_id": message.message_id,
        });
        let change = WireChange {
            base: inbound_change(message, body, &body.case_id, None, detail, now),
            feedback: vec![fb],
            ..WireChange::default()
        };
        self.store.commit_wire(&change)?;
        Ok(())
    }

    /// Outcome reports on a case, or all, oldest first.
    pub fn outcome_reports(
        &self,
        actor: &Actor,
        case_id: Option<&str>,
    ) -> Result<Vec<FeedbackRow>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self.store.feedback_rows(case_id)?)
    }

    /// Every recorded report, as the statistics count it.
    pub fn outcomes(&self) -> Result<Vec<Outcome>, AssistError> {
        self.store
            .feedback_rows(None)?
            .iter()
            .map(|f| {
                let report: OutcomeReport = parse(&f.outcome, "outcome report")?;
                // Stored only after the check passed; convictions were checked then.
                outcome::check(&f.case_id, &report, true)
                    .map_err(|e| AssistError::internal(format!("stored outcome: {e}")))
            })
            .collect()
    }

    /// Hit/no-hit and bulk volumes for the statistics.
    pub fn exchange_volumes(&self) -> Result<stats::Volumes, AssistError> {
        let mut v = stats::Volumes::default();
        for q in self.store.hit_query_rows(None, u32::MAX)? {
            match q.direction.as_str() {
                "out" => {
                    v.hitnohit_asked += 1;
                    if q.answer != "pending" {
                        v.hitnohit_answered += 1;
                    }
                    if q.answer == "hit" {
                        v.hits += 1;
                    }
                }
                _ => v.hitnohit_received += 1,
            }
        }
        for b in self.store.bulk_batch_rows(u32::MAX)? {
            let rows = u64::try_from(b.row_count).unwrap_or(0);
            match (b.direction.as_str(), b.state.as_str()) {
                ("out", _) => {
                    v.bulk_batches_sent += 1;
                    v.bulk_rows_sent += rows;
                }
                ("in", "stored") => {
                    v.bulk_batches_received += 1;
                    v.bulk_rows_received += rows;
                }
                _ => {}
            }
        }
        Ok(v)
    }
}
