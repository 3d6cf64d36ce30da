//! Retention on the receiving node (assistance spec §11): the review list by retention class,
//! legal holds, the annual review, and automatic erasure when a limit passes, told to the
//! provider with `Data.Erased`.
//!
//! Why holds are rows of their own: a hold keeps an item past its date and must answer for
//! itself later — who placed it, why, when it was lifted — and a provider's `Data.Erase` of
//! a held item is answered in the `Data.ComplianceAck` with the hold's reason instead of an
//! erasure (`inbound.rs`). Placing and lifting a hold are told to the provider
//! (`Evidence.CustodyEvent`), so its view of where its data is stays true.
//!
//! Every received item carries a retention class ([`DEFAULT_CLASS`] until a reviewer sets
//! one); the clock runs from the day it was received.

use caravan_assistance::agreement::Traffic;
use caravan_assistance::evidence::{CustodyKind, EvidenceRecord, Retention};
use caravan_assistance::retention::{
    self, RetainedItem, RetentionClass, ReviewDecision, review_list,
};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_exchange::node::{ReceivedMessage, uuid_v7};
use caravan_store::StoreError;
use caravan_store::assistance::{AssistanceChange, ErasureRow, EvidenceRow, HoldRow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::disclosure::evidence_of;
use crate::error::AssistError;
use crate::service::{AssistanceNode, allowed, audit_event, custody_rows, json, parse, today};
use crate::wire::{Body, Content};

/// The class of a received item until a reviewer sets another: "ongoing enquiry with no
/// established offence", three years (§11.1; a Caravan default [D]).
pub const DEFAULT_CLASS: RetentionClass = RetentionClass::EnquiryNoOffence;

/// What the provider is told about its items' retention here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionEvent {
    /// Erased when the retention limit passed or on review (`Data.Erased`).
    Erased,
    /// Kept past its date under a legal hold (`Evidence.CustodyEvent`).
    HoldPlaced,
    /// The hold ended (`Evidence.CustodyEvent`).
    HoldLifted,
}

/// The body of `Data.Erased` and of hold notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionBody {
    /// Erasure or hold id, shared by both nodes.
    pub notice_id: String,
    pub event: RetentionEvent,
    pub items: Vec<String>,
    pub reason: String,
}

/// The retention of a stored record (the default class from receipt when none is set).
pub(crate) fn retention_of(record: &EvidenceRecord) -> Retention {
    record.retention.clone().unwrap_or_else(|| Retention {
        class: DEFAULT_CLASS,
        since: record
            .custody
            .iter()
            .find(|e| e.kind == CustodyKind::Received)
            .map_or(record.supplied_on, |e| e.on),
        personal_data: false,
        last_review: None,
    })
}

fn current_hold(rows: &[HoldRow]) -> Option<&HoldRow> {
    rows.iter().find(|h| h.lifted_at.is_none())
}

impl AssistanceNode {
    /// The partner items held here that are not erased, with their retention and hold.
    fn retained(&self) -> Result<Vec<(EvidenceRow, EvidenceRecord, RetainedItem)>, AssistError> {
        let mut out = Vec::new();
        for row in self.all_evidence()? {
            if row.origin != "partner" || row.erased_at.is_some() {
                continue;
            }
            let record: EvidenceRecord = parse(&row.record, "evidence")?;
            let item = self.retained_of(&row.evidence_id, &record)?;
            out.push((row, record, item));
        }
        Ok(out)
    }

    /// §11.1 review list: items past their retention date (erased by the next run unless
    /// held), personal-data items due for their annual review, and items kept under a legal
    /// hold, with class, dates and hold.
    pub fn retention_review(
        &self,
        actor: &Actor,
        on: NaiveDate,
    ) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::RetentionReview, true)?;
        let retained = self.retained()?;
        let items: Vec<RetainedItem> = retained.iter().map(|(_, _, i)| i.clone()).collect();
        let mut out: Vec<Value> = review_list(&items, on)
            .into_iter()
            .map(|line| (line.item_id, line.reason.code(), line.due))
            .chain(
                items
                    .iter()
                    .filter(|i| i.legal_hold.is_some())
                    .map(|i| (i.id.clone(), "legal_hold", i.erase_on())),
            )
            .filter_map(|(id, reason, due)| {
                let (row, record, item) = retained.iter().find(|(r, _, _)| r.evidence_id == id)?;
                Some(json!({
                    "evidence_id": id, "case_id": row.case_id, "name": record.name,
                    "provider": row.provider, "reason": reason, "due": due,
                    "class": item.class, "since": item.since, "erase_on": item.erase_on(),
                    "personal_data": item.personal_data, "last_review": item.last_review,
                    "legal_hold": item.legal_hold,
                }))
            })
            .collect();
        out.sort_by(|a, b| a["due"].as_str().cmp(&b["due"].as_str()));
        Ok(out)
    }

    /// Places a legal hold on a partner item (§11.2): it stays past its retention date and
    /// a provider's erasure is answered with the hold. The provider is told.
    pub fn place_hold(
        &self,
        actor: &Actor,
        evidence_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<HoldRow, AssistError> {
        self.audited(actor, "retention.hold", evidence_id, now, || {
            let (row, mut item) = self.retained_item(evidence_id)?;
            retention::place_hold(&mut item, reason, actor)?;
            let hold = HoldRow {
                hold_id: format!("HOLD-{}", uuid_v7(now as u64)),
                item_id: evidence_id.to_owned(),
                case_id: row.case_id.clone(),
                reason: reason.to_owned(),
                placed_by: actor.account.clone(),
                placed_at: now,
                lifted_by: None,
                lifted_at: None,
                lift_reason: None,
                version: 1,
            };
            self.commit_hold(actor, &row, hold, RetentionEvent::HoldPlaced, reason, now)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// Lifts the legal hold on an item; its retention date applies again.
    pub fn lift_hold(
        &self,
        actor: &Actor,
        evidence_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<HoldRow, AssistError> {
        self.audited(actor, "retention.lift_hold", evidence_id, now, || {
            let (row, mut item) = self.retained_item(evidence_id)?;
            retention::lift_hold(&mut item, reason, actor)?;
            let holds = self.store.hold_rows(Some(evidence_id))?;
            let current = current_hold(&holds)
                .ok_or_else(|| AssistError::internal("a held item has no current hold row"))?;
            let lifted = HoldRow {
                lifted_by: Some(actor.account.clone()),
                lifted_at: Some(now),
                lift_reason: Some(reason.to_owned()),
                version: current.version + 1,
                ..current.clone()
            };
            self.commit_hold(actor, &row, lifted, RetentionEvent::HoldLifted, reason, now)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    fn retained_item(&self, evidence_id: &str) -> Result<(EvidenceRow, RetainedItem), AssistError> {
        let row = evidence_of(self, evidence_id)?;
        if row.origin != "partner" || row.erased_at.is_some() {
            return Err(AssistError::refused(
                "retention_item_not_held",
                format!("{evidence_id} is not a partner item held on this node"),
            ));
        }
        let record: EvidenceRecord = parse(&row.record, "evidence")?;
        let item = self.retained_of(evidence_id, &record)?;
        Ok((row, item))
    }

    /// An item as the pure retention rules see it: class, clock, review and hold.
    fn retained_of(&self, id: &str, record: &EvidenceRecord) -> Result<RetainedItem, AssistError> {
        let r = retention_of(record);
        Ok(RetainedItem {
            id: id.to_owned(),
            class: r.class,
            since: r.since,
            personal_data: r.personal_data,
            last_review: r.last_review,
            legal_hold: self.hold_reason(id)?,
        })
    }

    fn commit_hold(
        &self,
        actor: &Actor,
        row: &EvidenceRow,
        hold: HoldRow,
        event: RetentionEvent,
        reason: &str,
        now: i64,
    ) -> Result<HoldRow, AssistError> {
        let on = today(now);
        self.agreement()?.check_outbound(Traffic::Propagation, on)?;
        let action = if event == RetentionEvent::HoldPlaced {
            "retention.hold"
        } else {
            "retention.lift_hold"
        };
        let change = AssistanceChange {
            holds: vec![hold.clone()],
            messages: vec![self.outbound(
                &row.case_id,
                &self.config.partner_party,
                "Evidence.CustodyEvent",
                actor,
                None,
                on,
                Content::Retention(RetentionBody {
                    notice_id: hold.hold_id.clone(),
                    event,
                    items: vec![row.evidence_id.clone()],
                    reason: reason.to_owned(),
                }),
                now,
            )],
            audit: vec![allowed(
                actor,
                action,
                &row.evidence_id,
                json!({ "hold_id": hold.hold_id, "reason": reason }),
                now,
            )],
            ..AssistanceChange::default()
        };
        match self.store.commit_assistance(&change) {
            Ok(()) => Ok(hold),
            Err(StoreError::Conflict(_)) => Err(AssistError::refused(
                "legal_hold_exists",
                format!("{} changed meanwhile; read it again", row.evidence_id),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The annual review of an item (§11.1): keep (with a reason, optionally in another
    /// class or with the personal-data flag changed) or erase now (the provider is told
    /// with `Data.Erased`).
    pub fn review_retention(
        &self,
        actor: &Actor,
        evidence_id: &str,
        decision: ReviewDecision,
        class: Option<RetentionClass>,
        personal_data: Option<bool>,
        now: i64,
    ) -> Result<Value, AssistError> {
        self.audited(actor, "retention.review", evidence_id, now, || {
            let (row, mut item) = self.retained_item(evidence_id)?;
            let on = today(now);
            let erase = retention::review(&mut item, &decision, actor, on)?;
            if erase {
                if item.legal_hold.is_some() {
                    return Err(AssistError::refused(
                        "legal_hold_in_force",
                        "lift the legal hold before erasing the item",
                    ));
                }
                let erasure = self.erase_retained(
                    &row,
                    "erased on annual review",
                    &actor.account,
                    Some(actor),
                    now,
                )?;
                return Ok(json!({ "evidence_id": evidence_id, "erased": true, "erasure_id": erasure }));
            }
            let mut record: EvidenceRecord = parse(&row.record, "evidence")?;
            let mut r = retention_of(&record);
            r.last_review = item.last_review;
            if let Some(c) = class {
                r.class = c;
            }
            if let Some(p) = personal_data {
                r.personal_data = p;
            }
            record.retention = Some(r.clone());
            let ReviewDecision::Keep { reason } = &decision else {
                return Err(AssistError::internal("keep without a reason"));
            };
            let change = AssistanceChange {
                audit: vec![allowed(
                    actor,
                    "retention.review",
                    evidence_id,
                    json!({ "decision": "keep", "reason": reason, "class": r.class, "personal_data": r.personal_data }),
                    now,
                )],
                evidence: vec![EvidenceRow {
                    record: json(&record),
                    updated_at: now,
                    version: row.version + 1,
                    ..row
                }],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(json!({ "evidence_id": evidence_id, "erased": false, "class": r.class, "erase_on": item.erase_on() }))
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// Erases one partner item here and tells the provider (`Data.Erased`), in one change.
    fn erase_retained(
        &self,
        row: &EvidenceRow,
        reason: &str,
        account: &str,
        actor: Option<&Actor>,
        now: i64,
    ) -> Result<String, AssistError> {
        let on = today(now);
        let digest = self.required_digest(row)?;
        let mut record: EvidenceRecord = parse(&row.record, "evidence")?;
        let since = record.custody.len();
        record.custody_digest(
            CustodyKind::Erased,
            &digest,
            account,
            on,
            &self.config.place,
        )?;
        let erasure_id = format!("ERA-{}", uuid_v7(now as u64));
        let items = vec![row.evidence_id.clone()];
        let detail = json!({ "erasure_id": erasure_id, "items": items, "reason": reason });
        let node = Actor::new("node", caravan_assistance::roles::Role::DeskOfficer);
        let change = AssistanceChange {
            custody: custody_rows(&record, since, now),
            evidence: vec![EvidenceRow {
                record: json(&record),
                blob: None,
                reference: None,
                erased_at: Some(now),
                updated_at: now,
                version: row.version + 1,
                ..row.clone()
            }],
            erasures: vec![ErasureRow {
                erasure_id: erasure_id.clone(),
                case_id: row.case_id.clone(),
                kind: "Data.Erased".into(),
                direction: "outbound".into(),
                // Informational (§11.2 "receiver-initiated"): nothing to acknowledge.
                state: "confirmed".into(),
                items: json(&items),
                reason: reason.to_owned(),
                requested_at: now,
                confirmed_at: Some(now),
                detail: detail.to_string(),
                version: 1,
            }],
            messages: vec![self.outbound(
                &row.case_id,
                &self.config.partner_party,
                "Data.Erased",
                actor.unwrap_or(&node),
                None,
                on,
                Content::Retention(RetentionBody {
                    notice_id: erasure_id.clone(),
                    event: RetentionEvent::Erased,
                    items,
                    reason: reason.to_owned(),
                }),
                now,
            )],
            audit: vec![match actor {
                Some(a) => allowed(a, "data.erased", &row.evidence_id, detail, now),
                None => audit_event(
                    "node",
                    "system",
                    "data.erased",
                    &row.evidence_id,
                    None,
                    detail,
                    now,
                ),
            }],
            ..AssistanceChange::default()
        };
        self.commit_with_files(&change, Vec::new())?;
        Ok(erasure_id)
    }

    /// Erases every partner item whose retention limit has passed and that no legal hold
    /// keeps (§11.1 "erasure runs automatically"); each provider is told with `Data.Erased`.
    /// Returns the erased evidence ids.
    pub fn erase_expired(&self, now: i64) -> Result<Vec<String>, AssistError> {
        let on = today(now);
        let mut erased = Vec::new();
        for (row, _, item) in self.retained()? {
            if item.legal_hold.is_some() || item.erase_on() > on {
                continue;
            }
            let reason = format!(
                "retention limit of class {} passed on {}",
                item.class,
                item.erase_on()
            );
            match self.erase_retained(&row, &reason, "node", None, now) {
                Ok(_) => erased.push(row.evidence_id.clone()),
                // Changed meanwhile (a hold placed, say): the next run decides again.
                Err(e) if e.kind == crate::error::ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
        }
        self.dispatch_quietly(now);
        Ok(erased)
    }

    /// Legal holds, of one item or all (newest first).
    pub fn holds_view(&self, actor: &Actor, item: Option<&str>) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self
            .store
            .hold_rows(item)?
            .iter()
            .map(|h| {
                json!({
                    "hold_id": h.hold_id, "evidence_id": h.item_id, "case_id": h.case_id,
                    "reason": h.reason, "placed_by": h.placed_by, "placed_at": h.placed_at,
                    "lifted_by": h.lifted_by, "lifted_at": h.lifted_at,
                    "lift_reason": h.lift_reason, "in_force": h.lifted_at.is_none(),
                })
            })
            .collect())
    }

    /// The current legal hold's reason on an item, if any (for the compliance answer).
    pub(crate) fn hold_reason(&self, item: &str) -> Result<Option<String>, AssistError> {
        Ok(current_hold(&self.store.hold_rows(Some(item))?).map(|h| h.reason.clone()))
    }

    /// The provider's side: the receiver erased our items, or placed or lifted a hold on
    /// them. An erasure is recorded as a confirmed inbound `Data.Erased`; hold notices are
    /// kept as the case's inbound messages.
    pub(crate) fn on_retention_notice(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        notice: &RetentionBody,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        self.load_case(&body.case_id)?;
        if notice.items.is_empty() {
            return Err(AssistError::refused(
                "retention_notice_empty",
                "no items named",
            ));
        }
        for item in &notice.items {
            let ev = evidence_of(self, item)?;
            if ev.origin != "own" || ev.case_id != body.case_id {
                return Err(AssistError::refused(
                    "retention_item_unknown",
                    format!("{item} is not an item this node supplied in the case"),
                ));
            }
        }
        let mut change = AssistanceChange::default();
        if notice.event == RetentionEvent::Erased {
            change.erasures.push(ErasureRow {
                erasure_id: notice.notice_id.clone(),
                case_id: body.case_id.clone(),
                kind: "Data.Erased".into(),
                direction: "inbound".into(),
                state: "confirmed".into(),
                items: json(&notice.items),
                reason: notice.reason.clone(),
                requested_at: message.created_at as i64,
                confirmed_at: Some(now),
                detail: json!({ "from": message.from, "on": body.on }).to_string(),
                version: 1,
            });
        }
        Ok(change)
    }
}
