//! The receiving side: messages the exchange handed over, applied to this node's copy of
//! each case (assistance spec §3.1 "both nodes hold a copy of the case").
//!
//! Why the partner's events go through the same state machine: our copy must not take a move
//! the table forbids, whoever makes it, so an inbound event is applied with the partner's
//! official and role as the performer, and refused (audited, case unchanged) when the table,
//! the agreement or a digest says no. Evidence parts are checked against the manifest's
//! SHA-256 before anything is stored (`evidence_digest_mismatch`).
//!
//! Why the exchange row is acknowledged last: the case change and the inbound message row
//! commit together; only then is the exchange's inbox row marked handed over. A crash in
//! between hands the message over again, and the stored `(in, message_uuid)` row recognises
//! it as applied, so it is acknowledged without being applied twice. A refused message is
//! recorded as `rejected` with its code and acknowledged: re-reading it would refuse it again.

use std::collections::BTreeSet;

use caravan_assistance::agreement::{InboundDisposition, Purpose, Traffic};
use caravan_assistance::catalogue;
use caravan_assistance::evidence::{CustodyKind, EvidenceRecord};
use caravan_assistance::lifecycle::{By, Case, Event, Side};
use caravan_assistance::retention::{ComplianceAck, ItemCompliance, Propagation};
use caravan_assistance::usecontrol::{self, ConsentCase};
use caravan_exchange::node::{ACTIONS, ReceivedMessage};
use caravan_store::StoreError;
use caravan_store::assistance::{
    AssistanceChange, CaseMessage, CaseQuery, ConsentRow, ErasureRow, EvidenceRow,
};

use crate::at_rest::{AT_REST_REFERENCE, StoredFile};
use crate::error::{AssistError, ErrorKind};
use crate::service::{
    AssistanceNode, PumpReport, audit_event, case_row, custody_rows, json, marking_row, parse,
    today, transition_rows,
};
use crate::wire::{self, Body, Content};

/// Whether this workflow consumes an exchange action: the lifecycle's messages, consent,
/// spontaneous information, and erasure with its acknowledgement.
pub fn consumes(action: &str) -> bool {
    action.starts_with("Request.")
        || action.starts_with("Conditions.")
        || matches!(
            action,
            "Consent.Request"
                | "Consent.Decision"
                | "Spontaneous.Inform"
                | "Data.Erase"
                | "Data.Retract"
                | "Data.ComplianceAck"
                | "Disclosure.Notice"
                | "Evidence.ReturnOriginal"
                | "Evidence.CustodyEvent"
                | "Data.Erased"
                | "Query.HitNoHit"
                | "Query.Answer"
                | "Feedback.Outcome"
                | "Bulk.Batch"
                | "Marking.Change"
                | "Directory.Update"
        )
}

/// How one inbound message ended.
enum Outcome {
    Applied,
    Rejected(AssistError),
}

impl AssistanceNode {
    /// One round of the workflow's plumbing: dispatch queued messages, apply transport
    /// receipts of our requests, and apply every message the exchange handed over.
    pub fn pump(&self, now: i64) -> Result<PumpReport, AssistError> {
        let mut report = self.dispatch(now)?;
        // Bulk batches leave through their own queue (their rows are envelope parts).
        report.dispatched += self.dispatch_bulk(now)?;
        report.receipts = self.sync_receipts(now)?;
        let Some(exchange) = self.exchange.clone() else {
            return Ok(report);
        };
        for action in ACTIONS.iter().filter(|a| consumes(a)) {
            loop {
                let batch = exchange.pending(action, 50)?;
                if batch.is_empty() {
                    break;
                }
                for message in batch {
                    match self.consume(&message, now) {
                        Ok(Outcome::Applied) => report.applied += 1,
                        Ok(Outcome::Rejected(e)) => report
                            .rejected
                            .push((message.message_id.clone(), e.code.to_owned())),
                        // Another writer changed the case: leave the message for the next
                        // pump, which reads the case again.
                        Err(e) if e.kind == ErrorKind::Conflict => return Ok(report),
                        Err(e) => return Err(e),
                    }
                    exchange.ack(&[message.seq])?;
                }
            }
        }
        // Replies to what we applied (compliance acknowledgements) leave at once.
        let sent = self.dispatch(now)?;
        report.dispatched += sent.dispatched;
        report.held.extend(sent.held);
        // Hit/no-hit identifiers are not kept once the query is with the exchange.
        self.redact_sent_queries()?;
        Ok(report)
    }

    /// Our requests still `sent` whose `Request.Submit` the partner receipted: the transport
    /// receipt moves our copy to `received` and starts its timers.
    pub fn sync_receipts(&self, now: i64) -> Result<u32, AssistError> {
        let Some(exchange) = self.exchange.as_ref() else {
            return Ok(0);
        };
        let mut applied = 0;
        let sent = self.store.case_rows(&CaseQuery {
            holder: Some("requester".into()),
            state: Some("sent".into()),
            ..CaseQuery::default()
        })?;
        for row in sent {
            let messages = self.store.case_messages(&row.case_id)?;
            let Some(submit) = messages
                .iter()
                .rev()
                .find(|m| m.direction == "out" && m.action == "Request.Submit")
            else {
                continue;
            };
            let Some(exchange_id) = &submit.exchange_message_id else {
                continue;
            };
            let at = match exchange.delivery_state(exchange_id)? {
                caravan_exchange::node::DeliveryState::Delivered { at, .. } => at,
                _ => continue,
            };
            let (row, mut case, request) = self.load_case(&row.case_id)?;
            let agreement = self.agreement()?;
            let since = case.records.len();
            let on = today(at as i64).max(case.last_on);
            case.apply(
                Event::TransportReceipt,
                By::Node(Side::Requested),
                on,
                &agreement,
            )?;
            let detail =
                serde_json::json!({ "exchange_message_id": exchange_id, "receipt_at": at });
            let change = AssistanceChange {
                cases: vec![case_row(&case, &request, &row.partner, Some(&row), now)],
                transitions: transition_rows(&case, since, "node", &detail, now),
                ..AssistanceChange::default()
            };
            match self.store.commit_assistance(&change) {
                Ok(()) => applied += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(applied)
    }

    /// Applies one received message outside the exchange's hand-over (tests, loopback).
    /// Returns whether it was applied (`false`: refused, recorded and audited).
    pub fn receive(&self, message: &ReceivedMessage, now: i64) -> Result<bool, AssistError> {
        Ok(matches!(self.consume(message, now)?, Outcome::Applied))
    }

    fn consume(&self, message: &ReceivedMessage, now: i64) -> Result<Outcome, AssistError> {
        let body_bytes = message
            .parts
            .iter()
            .find(|(id, _, _)| id == wire::BODY_PART)
            .map(|(_, _, b)| b.as_slice());
        let body: Body = match body_bytes.map(serde_json::from_slice::<Body>) {
            Some(Ok(body)) => body,
            _ => {
                let e = AssistError::bad_input(
                    "message_malformed",
                    "the message body is not a workflow body",
                );
                return self.reject(message, None, e, now);
            }
        };
        match self.store.case_message("in", &body.message_uuid) {
            // Already applied (or refused) before a crash: acknowledge only.
            Ok(_) => return Ok(Outcome::Applied),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        if body.agreement_id != self.config.agreement_id
            || message.from != self.config.partner_party
        {
            let e = AssistError::refused(
                "message_wrong_party",
                "message from an unknown agreement or party",
            );
            return self.reject(message, Some(&body), e, now);
        }
        // Evidence files written to the vault while applying; kept only once the change
        // commits, removed (dropped) on any refusal or failure.
        let mut files = Vec::new();
        let result = match &body.content {
            Content::Submit { request, .. } => {
                self.on_submit(message, &body, (**request).clone(), now)
            }
            Content::Transition { event, evidence } => {
                self.on_transition(message, &body, event.clone(), evidence, &mut files, now)
            }
            Content::ConsentRequest { consent } => {
                self.on_consent_request(message, &body, consent, now)
            }
            Content::ConsentDecision {
                consent_id,
                decision,
            } => self.on_consent_decision(message, &body, consent_id, decision.clone(), now),
            Content::Spontaneous {
                markings,
                permitted_uses,
                ..
            } => self.on_spontaneous(message, &body, markings, permitted_uses, now),
            Content::Propagation {
                erasure_id,
                kind,
                items,
                reason,
            } => self.on_propagation(message, &body, erasure_id, kind, items, reason, now),
            Content::ComplianceAck { erasure_id, ack } => {
                self.on_compliance_ack(message, &body, erasure_id, ack.clone(), now)
            }
            Content::DisclosureNotice(notice) => {
                self.on_disclosure_notice(message, &body, notice, now)
            }
            Content::Original(o) => self.on_original(message, &body, o, now),
            Content::Retention(r) => self.on_retention_notice(message, &body, r, now),
            Content::MarkingChange(c) => self.on_marking_change(message, &body, c, now),
            Content::DirectoryUpdate(u) => self.on_directory_update(message, &body, u, now),
            // Hit/no-hit, feedback and bulk write rows of their own store trait, so each
            // commits its own change (inbound row and audit included).
            Content::HitNoHitQuery(_)
            | Content::HitNoHitAnswer(_)
            | Content::FeedbackOutcome(_)
            | Content::BulkBatch(_) => {
                return match self.consume_wire(message, &body, now) {
                    Ok(()) => Ok(Outcome::Applied),
                    Err(e) if e.is_refusal() || e.kind == ErrorKind::NotFound => {
                        self.reject(message, Some(&body), e, now)
                    }
                    Err(e) => Err(e),
                };
            }
        };
        match result {
            Ok(mut change) => {
                change
                    .messages
                    .push(self.inbound_row(message, &body, "applied", None, now));
                change.audit.push(audit_event(
                    &format!("partner:{}:{}", message.from, body.by.account),
                    body.by.role.code(),
                    &format!("inbound.{}", message.action),
                    &body.case_id,
                    None,
                    serde_json::json!({ "exchange_message_id": message.message_id }),
                    now,
                ));
                self.commit_with_files(&change, files)?;
                Ok(Outcome::Applied)
            }
            Err(e) if e.is_refusal() || e.kind == ErrorKind::NotFound => {
                self.reject(message, Some(&body), e, now)
            }
            Err(e) => Err(e),
        }
    }

    fn inbound_row(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        state: &str,
        code: Option<&str>,
        now: i64,
    ) -> CaseMessage {
        CaseMessage {
            message_uuid: body.message_uuid.clone(),
            direction: "in".into(),
            case_id: body.case_id.clone(),
            peer: message.from.clone(),
            action: message.action.clone(),
            body: json(body),
            exchange_message_id: Some(message.message_id.clone()),
            state: state.into(),
            code: code.map(str::to_owned),
            created_at: now,
        }
    }

    /// Records a refused inbound message and its audit row; the case is unchanged.
    fn reject(
        &self,
        message: &ReceivedMessage,
        body: Option<&Body>,
        error: AssistError,
        now: i64,
    ) -> Result<Outcome, AssistError> {
        let stand_in;
        let body = match body {
            Some(b) => b,
            None => {
                stand_in = Body {
                    message_uuid: format!("malformed:{}", message.message_id),
                    case_id: message.conversation_id.clone(),
                    agreement_id: self.config.agreement_id.clone(),
                    on: today(now),
                    by: wire::Official {
                        account: "unknown".into(),
                        role: caravan_assistance::roles::Role::DeskOfficer,
                    },
                    approved_by: None,
                    content: Content::ComplianceAck {
                        erasure_id: String::new(),
                        ack: ComplianceAck {
                            items: Vec::new(),
                            on: today(now),
                        },
                    },
                };
                &stand_in
            }
        };
        let change = AssistanceChange {
            messages: vec![self.inbound_row(message, body, "rejected", Some(error.code), now)],
            audit: vec![audit_event(
                &format!("partner:{}:{}", message.from, body.by.account),
                body.by.role.code(),
                &format!("inbound.{}", message.action),
                &body.case_id,
                Some(error.code),
                serde_json::json!({ "exchange_message_id": message.message_id, "message": error.message }),
                now,
            )],
            ..AssistanceChange::default()
        };
        match self.store.commit_assistance(&change) {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(Outcome::Rejected(error)),
            Err(e) => Err(e.into()),
        }
    }

    fn partner_side(holder: Side) -> Side {
        match holder {
            Side::Requester => Side::Requested,
            Side::Requested => Side::Requester,
        }
    }

    fn on_submit(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        request: caravan_assistance::catalogue::RequestDraft,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let agreement = self.agreement()?;
        match agreement.inbound(Traffic::RequestForInformation) {
            InboundDisposition::Process => {}
            _ => {
                return Err(AssistError::refused(
                    "agreement_not_in_force",
                    format!("agreement {} is {}", agreement.id, agreement.status.state),
                ));
            }
        }
        // §2.2: the requested side runs the same intake on receipt.
        let valid = catalogue::validate(request, &agreement, body.on)?;
        if valid.draft().requested_administration != self.config.admin {
            return Err(AssistError::refused(
                "request_wrong_addressee",
                "the request is addressed to another administration",
            ));
        }
        match self.store.case_row(&body.case_id) {
            Err(StoreError::NotFound) => {}
            // The written confirmation of an oral request we recorded (§2.3).
            Ok(existing) if existing.case_id.starts_with(crate::oral::ORAL_PREFIX) => {
                return self.on_oral_confirmation(message, body, valid, now);
            }
            Ok(_) => {
                return Err(AssistError::refused(
                    "case_exists",
                    "a case with this id exists",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let mut case = Case::incoming(&body.case_id, &self.config.intake_desk, &valid, body.on);
        let on = body.on.max(today(message.created_at as i64));
        case.apply(
            Event::TransportReceipt,
            By::Node(Side::Requested),
            on,
            &agreement,
        )?;
        let detail =
            serde_json::json!({ "exchange_message_id": message.message_id, "from": message.from });
        let row = case_row(&case, valid.draft(), &message.from, None, now);
        // The submission itself is the inbound message row; the receipt is our transition.
        let transitions = transition_rows(&case, 0, "node", &detail, now);
        Ok(AssistanceChange {
            cases: vec![row],
            transitions,
            ..AssistanceChange::default()
        })
    }

    fn on_transition(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        event: Event,
        evidence: &[caravan_assistance::evidence::ManifestEntry],
        files: &mut Vec<StoredFile>,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let (row, mut case, request) = self.load_case(&body.case_id)?;
        let agreement = self.agreement()?;
        let action = event.action();
        if let InboundDisposition::Reject | InboundDisposition::Park =
            agreement.inbound(action.traffic())
        {
            return Err(AssistError::refused(
                "agreement_not_in_force",
                format!("agreement {} is {}", agreement.id, agreement.status.state),
            ));
        }
        let since = case.records.len();
        let on = body.on.max(case.last_on);
        // Our request's receipt may not have been seen yet; the partner acting on it is proof
        // that it arrived.
        if case.holder == Side::Requester
            && case.state == caravan_assistance::lifecycle::CaseState::Sent
        {
            case.apply(
                Event::TransportReceipt,
                By::Node(Side::Requested),
                on,
                &agreement,
            )?;
        }
        // Evidence: every file must match its manifest digest before anything is kept. Each
        // part is streamed into the vault (inline from the loopback path, detached from the
        // exchange's spool) while hashed; a mismatch drops the written files.
        let all_inline = evidence.iter().all(|entry| {
            let part_id = format!("{}{}", wire::EVIDENCE_PART_PREFIX, entry.id);
            message.parts.iter().any(|(id, _, _)| *id == part_id)
        });
        let detached = match &self.exchange {
            Some(exchange) if !all_inline => exchange
                .detached_parts(&message.from, &message.message_id)
                .map_err(AssistError::from)?,
            _ => Vec::new(),
        };
        let mut sources = Vec::new();
        for entry in evidence {
            let part_id = format!("{}{}", wire::EVIDENCE_PART_PREFIX, entry.id);
            let inline = message
                .parts
                .iter()
                .find(|(id, _, _)| *id == part_id)
                .map(|(_, _, b)| b.as_slice());
            if inline.is_none() && !detached.iter().any(|(id, _, _)| *id == part_id) {
                return Err(AssistError::refused(
                    "evidence_part_missing",
                    format!("no part {part_id}"),
                ));
            }
            let uses: BTreeSet<Purpose> = entry.permitted_uses.iter().copied().collect();
            usecontrol::check_received_uses(&agreement, &uses)?;
            sources.push((entry, part_id, inline));
        }
        let mut records = Vec::new();
        for (entry, part_id, inline) in sources {
            let mut record = EvidenceRecord::create(entry.clone(), &self.config.place)?;
            if self.store.evidence_row(&entry.id).is_ok() {
                return Err(AssistError::refused(
                    "evidence_id_taken",
                    format!("evidence {} is already held here", entry.id),
                ));
            }
            // No row refers to a file of this id, so one found is left from an attempt that
            // crashed before its commit.
            self.vault.remove(&entry.id)?;
            let stored = match (inline, &self.exchange) {
                (Some(bytes), _) => self
                    .vault
                    .store_from(&entry.id, &mut &bytes[..], u64::MAX)?,
                (None, Some(exchange)) => {
                    // The exchange bounds the part's length by the signed manifest and its
                    // largest part; the record's size is checked below.
                    let mut writer = self.vault.writer(&entry.id, u64::MAX)?;
                    exchange
                        .open_detached_part(
                            &message.from,
                            &message.message_id,
                            &part_id,
                            &mut writer,
                        )
                        .map_err(|e| match e {
                            caravan_store::StoreError::Other(text) => AssistError::refused(
                                "evidence_part_unreadable",
                                format!("part {part_id}: {text}"),
                            ),
                            other => other.into(),
                        })?;
                    writer.finish()?
                }
                (None, None) => {
                    return Err(AssistError::refused(
                        "evidence_part_missing",
                        format!("no part {part_id}"),
                    ));
                }
            };
            record.verify_digest(&stored.sha256, stored.size, "node", on, &self.config.place)?;
            record.custody_digest(
                CustodyKind::Received,
                &stored.sha256,
                "node",
                on,
                &self.config.place,
            )?;
            records.push(record);
            files.push(stored);
        }
        let by = if body.by.account == "node" {
            By::Node(Self::partner_side(case.holder))
        } else {
            By::Officer {
                side: Self::partner_side(case.holder),
                actor: body.by.actor(),
                approved_by: body.approved_by.as_ref().map(|o| o.actor()),
            }
        };
        case.apply(event.clone(), by, on, &agreement)?;
        let detail = crate::service::event_detail(&event);
        let mut change = AssistanceChange {
            cases: vec![case_row(&case, &request, &row.partner, Some(&row), now)],
            transitions: transition_rows(
                &case,
                since,
                &format!("partner:{}", body.by.account),
                &detail,
                now,
            ),
            ..AssistanceChange::default()
        };
        let provider = format!("provider:{}", message.from);
        for record in records {
            change.custody.extend(custody_rows(&record, 0, now));
            change.markings.push(marking_row(
                &record.id,
                "",
                1,
                &record.markings,
                &provider,
                "as supplied",
                now,
            ));
            change.evidence.push(EvidenceRow {
                evidence_id: record.id.clone(),
                case_id: case.id.clone(),
                origin: "partner".into(),
                provider: message.from.clone(),
                sha256: record.sha256.clone(),
                record: json(&record),
                blob: None,
                reference: Some(AT_REST_REFERENCE.to_owned()),
                erased_at: None,
                created_at: now,
                updated_at: now,
                version: 1,
            });
        }
        Ok(change)
    }

    fn on_consent_request(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        consent: &ConsentCase,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let _ = message;
        self.load_case(&body.case_id)?;
        for item in &consent.items {
            let ev = self.store.evidence_row(item)?;
            if ev.origin != "own" || ev.case_id != body.case_id {
                return Err(AssistError::refused(
                    "consent_item_not_ours",
                    format!("{item} is not an item this node supplied in the case"),
                ));
            }
        }
        let row = ConsentRow {
            consent_id: consent.id.clone(),
            case_id: body.case_id.clone(),
            direction: "inbound".into(),
            state: consent.state.code().into(),
            purpose: consent.purpose.code().into(),
            recipient_class: consent.recipient.class().into(),
            snapshot: json(consent),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        Ok(AssistanceChange {
            consents: vec![row],
            ..AssistanceChange::default()
        })
    }

    fn on_consent_decision(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        consent_id: &str,
        decision: caravan_assistance::usecontrol::ConsentDecision,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let _ = message;
        let row = self.store.consent_row(consent_id)?;
        if row.direction != "outbound" || row.case_id != body.case_id {
            return Err(AssistError::refused(
                "consent_unknown",
                "no consent request of ours with this id",
            ));
        }
        let mut consent: ConsentCase = parse(&row.snapshot, "consent")?;
        consent.decide(decision, &body.by.actor())?;
        Ok(AssistanceChange {
            consents: vec![ConsentRow {
                state: consent.state.code().into(),
                snapshot: json(&consent),
                updated_at: now,
                version: row.version + 1,
                ..row
            }],
            ..AssistanceChange::default()
        })
    }

    fn on_spontaneous(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        markings: &caravan_assistance::marking::Markings,
        permitted_uses: &[Purpose],
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let agreement = self.agreement()?;
        if agreement.inbound(Traffic::Operational) != InboundDisposition::Process {
            return Err(AssistError::refused(
                "agreement_not_in_force",
                format!("agreement {} is {}", agreement.id, agreement.status.state),
            ));
        }
        let uses: BTreeSet<Purpose> = permitted_uses.iter().copied().collect();
        usecontrol::check_received_uses(&agreement, &uses)?;
        if permitted_uses.is_empty() {
            return Err(AssistError::refused(
                "spontaneous_incomplete",
                "no permitted uses",
            ));
        }
        Ok(AssistanceChange {
            markings: vec![marking_row(
                &body.case_id,
                "",
                1,
                markings,
                &format!("provider:{}", message.from),
                "as supplied",
                now,
            )],
            ..AssistanceChange::default()
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn on_propagation(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        erasure_id: &str,
        kind: &str,
        items: &[String],
        reason: &str,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let on = today(now);
        let mut change = AssistanceChange::default();
        let mut acked = Vec::new();
        for item in items {
            let row = self.store.evidence_row(item)?;
            if row.origin != "partner" || row.provider != message.from {
                return Err(AssistError::refused(
                    "propagation_item_unknown",
                    format!("{item} is not an item {} supplied", message.from),
                ));
            }
            // §11.2: an item under a legal hold is kept, and the acknowledgement says why.
            if let Some(reason) = self.hold_reason(item)? {
                acked.push((item.clone(), ItemCompliance::LegalHold { reason }));
                continue;
            }
            if let Some(content) = self.content_of(&row)? {
                let digest = self.content_digest(&content)?;
                let mut record: EvidenceRecord = parse(&row.record, "evidence")?;
                let since = record.custody.len();
                record.custody_digest(
                    CustodyKind::Erased,
                    &digest,
                    "node",
                    on,
                    &self.config.place,
                )?;
                change.custody.extend(custody_rows(&record, since, now));
                change.evidence.push(EvidenceRow {
                    record: json(&record),
                    blob: None,
                    reference: None,
                    erased_at: Some(now),
                    updated_at: now,
                    version: row.version + 1,
                    ..row
                });
            }
            acked.push((item.clone(), ItemCompliance::Applied));
        }
        let ack = ComplianceAck { items: acked, on };
        change.erasures.push(ErasureRow {
            erasure_id: erasure_id.to_owned(),
            case_id: body.case_id.clone(),
            kind: kind.to_owned(),
            direction: "inbound".into(),
            state: "confirmed".into(),
            items: json(&items),
            reason: reason.to_owned(),
            requested_at: message.created_at as i64,
            confirmed_at: Some(now),
            detail: json(&ack),
            version: 1,
        });
        let node = caravan_assistance::roles::Actor::new(
            "node",
            caravan_assistance::roles::Role::DeskOfficer,
        );
        change.messages.push(self.outbound(
            &body.case_id,
            &message.from,
            "Data.ComplianceAck",
            &node,
            None,
            on,
            Content::ComplianceAck {
                erasure_id: erasure_id.to_owned(),
                ack,
            },
            now,
        ));
        Ok(change)
    }

    fn on_compliance_ack(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        erasure_id: &str,
        ack: ComplianceAck,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let _ = (message, body);
        let row = self.store.erasure_row(erasure_id)?;
        if row.direction != "outbound" {
            return Err(AssistError::refused(
                "erasure_unknown",
                "no erasure of ours with this id",
            ));
        }
        let mut propagation: Propagation = parse(&row.detail, "propagation")?;
        propagation.acknowledge(ack)?;
        Ok(AssistanceChange {
            erasures: vec![ErasureRow {
                state: "confirmed".into(),
                confirmed_at: Some(now),
                detail: json(&propagation),
                version: row.version + 1,
                ..row
            }],
            ..AssistanceChange::default()
        })
    }
}
