//! Originals (assistance spec §6): "originals are supplied only where copies are
//! insufficient, and are returned as soon as possible".
//!
//! Why the loop spans both nodes: the receiver records the `OriginalCheckout` (custodian,
//! condition, due-back date) and is reminded when it falls due; when it sends the original
//! back it records `original_returned` and tells the provider with
//! `Evidence.ReturnOriginal`; the provider's officer confirms receipt once the document is
//! in hand, which records `original_receipt_confirmed` on both copies of the record (by an
//! `Evidence.CustodyEvent`) and closes the checkout. Each step is a custody event, so the
//! chain of custody of the original shows where it was at every moment.

use caravan_assistance::agreement::Traffic;
use caravan_assistance::evidence::{EvidenceRecord, Form, OriginalState};
use caravan_assistance::roles::{self, Actor, Capability, Grant};
use caravan_exchange::node::ReceivedMessage;
use caravan_store::assistance::{AssistanceChange, CaseQuery, EvidenceRow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::disclosure::evidence_of;
use crate::error::{AssistError, ErrorKind};
use crate::service::{AssistanceNode, allowed, audit_event, custody_rows, json, parse, today};
use crate::wire::{Body, Content};

/// What happened to an original, as told to the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginalEvent {
    /// The receiver sent it back (`Evidence.ReturnOriginal`).
    Returned,
    /// The provider has it back (`Evidence.CustodyEvent`).
    ReceiptConfirmed,
}

/// The body of `Evidence.ReturnOriginal` and of the provider's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalBody {
    pub evidence_id: String,
    pub event: OriginalEvent,
    /// The condition it left or arrived in.
    pub condition: String,
    /// How it travels (courier, diplomatic bag…) or any other note.
    pub note: String,
}

fn may_handle(actor: &Actor) -> Result<(), AssistError> {
    if roles::check(actor, Capability::ViewPartnerData, true)? == Grant::MetadataOnly {
        return Err(AssistError::new(
            ErrorKind::Forbidden,
            "metadata_only",
            "this role sees evidence metadata only and cannot hold originals",
        ));
    }
    Ok(())
}

impl AssistanceNode {
    fn original_row(
        &self,
        evidence_id: &str,
        origin: &str,
    ) -> Result<(EvidenceRow, EvidenceRecord, String), AssistError> {
        let row = evidence_of(self, evidence_id)?;
        let record: EvidenceRecord = parse(&row.record, "evidence")?;
        if row.origin != origin || record.form != Form::Original {
            let whose = if origin == "partner" {
                "the partner supplied"
            } else {
                "this node supplied"
            };
            return Err(AssistError::refused(
                "not_an_original",
                format!("{evidence_id} is not an original {whose}"),
            ));
        }
        // The custody event records the digest of the file as it is now, read through.
        let digest = self.required_digest(&row)?;
        Ok((row, record, digest))
    }

    fn record_change(
        row: EvidenceRow,
        record: &EvidenceRecord,
        since: usize,
        now: i64,
    ) -> AssistanceChange {
        AssistanceChange {
            custody: custody_rows(record, since, now),
            evidence: vec![EvidenceRow {
                record: json(record),
                updated_at: now,
                version: row.version + 1,
                ..row
            }],
            ..AssistanceChange::default()
        }
    }

    /// §6 `OriginalCheckout` of a partner's original held here: custodian, condition and
    /// the date it must go back to the provider.
    pub fn checkout_original(
        &self,
        actor: &Actor,
        evidence_id: &str,
        custodian: &str,
        condition: &str,
        due_back: NaiveDate,
        now: i64,
    ) -> Result<EvidenceRecord, AssistError> {
        self.audited(
            actor,
            "evidence.original_checkout",
            evidence_id,
            now,
            || {
                may_handle(actor)?;
                let (row, mut record, digest) = self.original_row(evidence_id, "partner")?;
                let since = record.custody.len();
                let on = today(now);
                record.checkout_original(
                    &digest,
                    custodian,
                    condition,
                    on,
                    due_back,
                    &self.config.place,
                )?;
                let mut change = Self::record_change(row, &record, since, now);
                change.audit.push(allowed(
                    actor,
                    "evidence.original_checkout",
                    evidence_id,
                    json!({ "custodian": custodian, "condition": condition, "due_back": due_back }),
                    now,
                ));
                self.store.commit_assistance(&change)?;
                Ok(record)
            },
        )
    }

    /// Sends a checked-out original back to the provider (`Evidence.ReturnOriginal`).
    pub fn return_original(
        &self,
        actor: &Actor,
        evidence_id: &str,
        condition: &str,
        note: &str,
        now: i64,
    ) -> Result<EvidenceRecord, AssistError> {
        self.audited(actor, "evidence.original_return", evidence_id, now, || {
            may_handle(actor)?;
            let (row, mut record, digest) = self.original_row(evidence_id, "partner")?;
            let on = today(now);
            self.agreement()?.check_outbound(Traffic::Governance, on)?;
            let since = record.custody.len();
            record.return_original(&digest, &actor.account, condition, on, &self.config.place)?;
            let (case_id, peer) = (row.case_id.clone(), self.config.partner_party.clone());
            let mut change = Self::record_change(row, &record, since, now);
            change.messages.push(self.outbound(
                &case_id,
                &peer,
                "Evidence.ReturnOriginal",
                actor,
                None,
                on,
                Content::Original(OriginalBody {
                    evidence_id: evidence_id.to_owned(),
                    event: OriginalEvent::Returned,
                    condition: condition.to_owned(),
                    note: note.to_owned(),
                }),
                now,
            ));
            change.audit.push(allowed(
                actor,
                "evidence.original_return",
                evidence_id,
                json!({ "condition": condition, "note": note }),
                now,
            ));
            self.store.commit_assistance(&change)?;
            Ok(record)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// The provider confirms it has its original back; the receiver is told and both
    /// records close the checkout.
    pub fn confirm_original_receipt(
        &self,
        actor: &Actor,
        evidence_id: &str,
        condition: &str,
        now: i64,
    ) -> Result<EvidenceRecord, AssistError> {
        self.audited(actor, "evidence.original_receipt", evidence_id, now, || {
            roles::check(actor, Capability::AcknowledgeAndPartialReply, true)?;
            let (row, mut record, digest) = self.original_row(evidence_id, "own")?;
            if record.original.as_ref().map(|o| o.state()) != Some(OriginalState::ReturnSent) {
                return Err(AssistError::refused(
                    "original_wrong_state",
                    "the partner has not said it sent this original back",
                ));
            }
            let on = today(now);
            self.agreement()?.check_outbound(Traffic::Governance, on)?;
            let since = record.custody.len();
            record.confirm_original_receipt(
                &digest,
                &actor.account,
                condition,
                on,
                &self.config.place,
            )?;
            let (case_id, peer) = (row.case_id.clone(), self.config.partner_party.clone());
            let mut change = Self::record_change(row, &record, since, now);
            change.messages.push(self.outbound(
                &case_id,
                &peer,
                "Evidence.CustodyEvent",
                actor,
                None,
                on,
                Content::Original(OriginalBody {
                    evidence_id: evidence_id.to_owned(),
                    event: OriginalEvent::ReceiptConfirmed,
                    condition: condition.to_owned(),
                    note: String::new(),
                }),
                now,
            ));
            change.audit.push(allowed(
                actor,
                "evidence.original_receipt",
                evidence_id,
                json!({ "condition": condition }),
                now,
            ));
            self.store.commit_assistance(&change)?;
            Ok(record)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// The partner's news of an original: on the provider's side it is on its way back; on
    /// the receiver's side the provider has it back.
    pub(crate) fn on_original(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        o: &OriginalBody,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let on = today(now).max(body.on);
        let partner = format!("partner:{}:{}", message.from, body.by.account);
        match o.event {
            OriginalEvent::Returned => {
                let (row, mut record, _) = self.original_row(&o.evidence_id, "own")?;
                if row.case_id != body.case_id {
                    return Err(AssistError::refused(
                        "not_an_original",
                        "evidence of another case",
                    ));
                }
                record.note_original_return(&partner, &o.condition, on)?;
                Ok(Self::record_change(row, &record, record.custody.len(), now))
            }
            OriginalEvent::ReceiptConfirmed => {
                let (row, mut record, digest) = self.original_row(&o.evidence_id, "partner")?;
                if row.case_id != body.case_id {
                    return Err(AssistError::refused(
                        "not_an_original",
                        "evidence of another case",
                    ));
                }
                let since = record.custody.len();
                let place = format!("{} (partner)", message.from);
                record.confirm_original_receipt(&digest, &partner, &o.condition, on, &place)?;
                Ok(Self::record_change(row, &record, since, now))
            }
        }
    }

    /// Every evidence row of every case on this node.
    pub(crate) fn all_evidence(&self) -> Result<Vec<EvidenceRow>, AssistError> {
        let mut out = Vec::new();
        for case in self.store.case_rows(&CaseQuery {
            limit: 100_000,
            ..CaseQuery::default()
        })? {
            out.extend(self.store.case_evidence(&case.case_id)?);
        }
        Ok(out)
    }

    /// Originals held here that are out past (or on) their due-back date, for the desk.
    pub fn originals_due(
        &self,
        actor: &Actor,
        today: NaiveDate,
    ) -> Result<Vec<serde_json::Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        let mut out = Vec::new();
        for row in self.all_evidence()? {
            let record: EvidenceRecord = parse(&row.record, "evidence")?;
            if row.origin == "partner"
                && record.original_due(today)
                && let Some(o) = &record.original
            {
                out.push(json!({
                    "evidence_id": row.evidence_id, "case_id": row.case_id, "name": record.name,
                    "custodian": o.custodian, "due_back": o.due_back,
                    "days_late": (today - o.due_back).num_days(),
                }));
            }
        }
        Ok(out)
    }

    /// Reminders of originals due back (§6), on the overdue cadence; returns the evidence
    /// ids reminded. Each reminder is recorded on the record and audited.
    pub fn run_original_reminders(&self, now: i64) -> Result<Vec<String>, AssistError> {
        let agreement = self.agreement()?;
        let every = agreement.deadlines.overdue_reminder_every_days;
        let on = today(now);
        let mut reminded = Vec::new();
        for row in self.all_evidence()? {
            let mut record: EvidenceRecord = parse(&row.record, "evidence")?;
            let Some(o) = record.original.as_mut() else {
                continue;
            };
            if row.origin != "partner" || !o.reminder_due(on, every) {
                continue;
            }
            o.reminded_on = Some(on);
            let detail = json!({ "custodian": o.custodian, "due_back": o.due_back });
            let id = row.evidence_id.clone();
            let mut change = Self::record_change(row, &record, record.custody.len(), now);
            change.audit.push(audit_event(
                "node",
                "system",
                "evidence.original_due",
                &id,
                None,
                detail,
                now,
            ));
            match self.store.commit_assistance(&change) {
                Ok(()) => reminded.push(id),
                Err(caravan_store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(reminded)
    }
}
