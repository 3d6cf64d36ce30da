//! Disclosure forced by domestic law (assistance spec §10.4): a subpoena or court order makes
//! the receiver disclose partner items; the provider must be told, in advance where
//! possible.
//!
//! Why one action writes the custody events and the notice together: §10.4 asks that "the
//! item's custody log records the disclosure" and that the provider is given notice; a
//! disclosure recorded without its notice (or the reverse) is exactly the gap the agreement
//! forbids. The provider's node applies the `Disclosure.Notice` to its own copy of each item
//! (a `disclosed` custody event naming the partner) and shows it on the case; both sides
//! audit it. This is not consent: the use check is not asked, because domestic law
//! compels the disclosure. The US side's refusal path (19 CFR 103.23, ground `G07`) is the
//! ordinary refusal of a request and stays there.

use caravan_assistance::agreement::Traffic;
use caravan_assistance::evidence::{CustodyKind, EvidenceRecord};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_assistance::usecontrol::{self, Recipient};
use caravan_exchange::node::{ReceivedMessage, uuid_v7};
use caravan_store::StoreError;
use caravan_store::assistance::{AssistanceChange, EvidenceRow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::AssistError;
use crate::service::{AssistanceNode, allowed, custody_rows, json, parse, today};
use crate::wire::{Body, Content};

/// The `Disclosure.Notice` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeBody {
    pub notice_id: String,
    /// The provider's items disclosed (evidence ids).
    pub items: Vec<String>,
    /// The legal basis: the instrument compelling disclosure (subpoena, court order…).
    pub legal_instrument: String,
    /// The court or authority the items go to.
    pub authority: Recipient,
    pub disclosure_date: NaiveDate,
    pub notified_on: NaiveDate,
    /// Whether the notice comes before the disclosure (§10.4 "in advance where possible").
    pub advance: bool,
    /// What is disclosed and why, for the provider.
    pub summary: String,
}

/// A forced disclosure as the officer records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureInput {
    pub case_id: String,
    pub items: Vec<String>,
    pub legal_instrument: String,
    pub authority: Recipient,
    pub disclosure_date: NaiveDate,
    pub summary: String,
}

pub(crate) fn evidence_of(node: &AssistanceNode, id: &str) -> Result<EvidenceRow, AssistError> {
    node.store().evidence_row(id).map_err(|e| match e {
        StoreError::NotFound => AssistError::not_found("evidence", id),
        other => other.into(),
    })
}

impl AssistanceNode {
    /// Adds a `disclosed` custody event to an item's record in `change`.
    #[allow(clippy::too_many_arguments)]
    fn record_disclosure(
        &self,
        change: &mut AssistanceChange,
        ev: EvidenceRow,
        digest: &str,
        actor: &str,
        place: &str,
        on: NaiveDate,
        now: i64,
    ) -> Result<(), AssistError> {
        let mut record: EvidenceRecord = parse(&ev.record, "evidence")?;
        let since = record.custody.len();
        record.custody_digest(CustodyKind::Disclosed, digest, actor, on, place)?;
        change.custody.extend(custody_rows(&record, since, now));
        change.evidence.push(EvidenceRow {
            record: json(&record),
            updated_at: now,
            version: ev.version + 1,
            ..ev
        });
        Ok(())
    }

    /// Records a disclosure compelled by domestic law of partner items and sends the
    /// provider its `Disclosure.Notice`. A supervisor or investigator acts (the §13 right to
    /// export or prepare court packages).
    pub fn disclose_under_domestic_law(
        &self,
        actor: &Actor,
        input: DisclosureInput,
        now: i64,
    ) -> Result<NoticeBody, AssistError> {
        let case_id = input.case_id.clone();
        self.audited(actor, "disclosure.notice", &case_id, now, || {
            roles::check(actor, Capability::ExportCourtPackage, true)?;
            let (row, case, _) = self.load_case(&input.case_id)?;
            let on = today(now);
            let agreement = self.agreement()?;
            agreement.check_outbound(Traffic::DisclosureNotice, on)?;
            if input.authority == Recipient::SameAdmin {
                return Err(AssistError::bad_input(
                    "disclosure_recipient_invalid",
                    "a forced disclosure goes to a court or another authority",
                ));
            }
            if input.summary.trim().is_empty() {
                return Err(AssistError::refused(
                    "disclosure_summary_missing",
                    "say what is disclosed, for the provider",
                ));
            }
            let notice = usecontrol::forced_disclosure(
                input.items.clone(),
                &input.legal_instrument,
                input.authority.clone(),
                input.disclosure_date,
                on,
            )?;
            let mut change = AssistanceChange::default();
            for item in &notice.items {
                let ev = evidence_of(self, item)?;
                if ev.case_id != case.id || ev.origin != "partner" {
                    return Err(AssistError::refused(
                        "disclosure_item_not_partner_data",
                        format!(
                            "{item} is not an item the partner supplied in case {}",
                            case.id
                        ),
                    ));
                }
                let digest = self.required_digest(&ev)?;
                let place = self.config.place.clone();
                self.record_disclosure(&mut change, ev, &digest, &actor.account, &place, on, now)?;
            }
            let body = NoticeBody {
                notice_id: format!("DIS-{}", uuid_v7(now as u64)),
                items: notice.items,
                legal_instrument: notice.legal_instrument,
                authority: notice.recipient,
                disclosure_date: notice.disclosure_date,
                notified_on: notice.notified_on,
                advance: notice.advance,
                summary: input.summary,
            };
            let detail = json!({
                "notice_id": body.notice_id, "items": body.items,
                "legal_instrument": body.legal_instrument, "authority": body.authority,
                "disclosure_date": body.disclosure_date, "advance": body.advance,
            });
            change.messages.push(self.outbound(
                &case.id,
                &row.partner,
                "Disclosure.Notice",
                actor,
                None,
                on,
                Content::DisclosureNotice(body.clone()),
                now,
            ));
            change
                .audit
                .push(allowed(actor, "disclosure.notice", &case.id, detail, now));
            self.store.commit_assistance(&change)?;
            Ok(body)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// The provider's side: the partner disclosed items we supplied. Each item's custody
    /// log records it; the notice itself is kept as the inbound message of the case.
    pub(crate) fn on_disclosure_notice(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        notice: &NoticeBody,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        self.load_case(&body.case_id)?;
        if notice.items.is_empty() || notice.legal_instrument.trim().is_empty() {
            return Err(AssistError::refused(
                "disclosure_notice_incomplete",
                "a disclosure notice names its items and legal instrument",
            ));
        }
        let on = today(now).max(body.on);
        let actor = format!("partner:{}:{}", message.from, body.by.account);
        let place = format!("{} (partner)", message.from);
        let mut change = AssistanceChange::default();
        for item in &notice.items {
            let ev = evidence_of(self, item)?;
            if ev.origin != "own" || ev.case_id != body.case_id {
                return Err(AssistError::refused(
                    "disclosure_item_unknown",
                    format!("{item} is not an item this node supplied in the case"),
                ));
            }
            // Our own copy may be gone (erased at our request): the notice still stands.
            let Some(content) = self.content_of(&ev)? else {
                continue;
            };
            let digest = self.content_digest(&content)?;
            self.record_disclosure(&mut change, ev, &digest, &actor, &place, on, now)?;
        }
        Ok(change)
    }
}
