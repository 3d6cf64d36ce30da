//! Read models of the assistance workflow for the API, the pages and the CLI: cases with
//! their timeline, messages, evidence (metadata only), consents, markings, overdue lists and
//! the joint committee's statistics.
//!
//! Why separate from the actions: reading a case is itself an audited act on partner data
//! (§14), and what a reader sees must never include file contents or keys, so every view is
//! built here from stored rows into plain JSON, once, for every edge.

use std::collections::BTreeMap;

use caravan_assistance::lifecycle::{Case, OverdueItem, overdue_by_desk};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_assistance::stats::{self, Report};
use caravan_store::assistance::{CaseQuery, CaseRow, ConsentRow, ErasureRow, EvidenceRow};
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::error::{AssistError, ErrorKind};
use crate::service::{AssistanceNode, allowed, current_markings, parse};

fn case_summary(row: &CaseRow) -> Value {
    json!({
        "case_id": row.case_id,
        "agreement_id": row.agreement_id,
        "holder": row.holder,
        "partner": row.partner,
        "desk": row.desk,
        "types": row.types.split(',').filter(|t| !t.is_empty()).collect::<Vec<_>>(),
        "state": row.state,
        "subject": row.subject,
        "reply_due": row.reply_due,
        "overdue": row.overdue,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

fn evidence_view(node: &AssistanceNode, row: &EvidenceRow) -> Result<Value, AssistError> {
    let record: caravan_assistance::evidence::EvidenceRecord = parse(&row.record, "evidence")?;
    let markings = current_markings(&node.store.marking_rows(&row.evidence_id)?)?;
    Ok(json!({
        "evidence_id": row.evidence_id,
        "case_id": row.case_id,
        "origin": row.origin,
        "provider": row.provider,
        "name": record.name,
        "media_type": record.media_type,
        "size": record.size,
        "sha256": record.sha256,
        "supplier": record.supplier,
        "supplied_on": record.supplied_on,
        "form": record.form,
        "certification": record.certification,
        "return_required": record.return_required,
        "permitted_uses": record.permitted_uses,
        "markings": markings.map(|m| json!({ "item": m.item, "fields": m.fields, "strictest": m.strictest() })),
        "custody": record.custody,
        "custody_chain_intact": record.verify_chain().is_ok(),
        "erased": row.erased_at.is_some(),
        "original": record.original.as_ref().map(|o| json!({
            "state": o.state(), "custodian": o.custodian, "condition": o.condition,
            "checked_out_on": o.checked_out_on, "due_back": o.due_back,
            "returned_on": o.returned_on, "return_condition": o.return_condition,
            "confirmed_on": o.confirmed_on,
        })),
        "retention": (row.origin == "partner").then(|| crate::retention::retention_of(&record)),
    }))
}

fn consent_view(row: &ConsentRow) -> Value {
    let snapshot: Value = serde_json::from_str(&row.snapshot).unwrap_or(Value::Null);
    json!({
        "consent_id": row.consent_id,
        "case_id": row.case_id,
        "direction": row.direction,
        "state": row.state,
        "purpose": row.purpose,
        "recipient": snapshot.get("recipient"),
        "items": snapshot.get("items"),
        "justification": snapshot.get("justification"),
        "proceedings_reference": snapshot.get("proceedings_reference"),
        "needed_by": snapshot.get("needed_by"),
        "expires_on": snapshot.get("expires_on"),
        "conditions": snapshot.get("conditions"),
        "decided_by": snapshot.get("decided_by"),
        "reasons": snapshot.get("reasons"),
        "updated_at": row.updated_at,
    })
}

fn erasure_view(row: &ErasureRow) -> Value {
    json!({
        "erasure_id": row.erasure_id,
        "case_id": row.case_id,
        "kind": row.kind,
        "direction": row.direction,
        "state": row.state,
        "items": serde_json::from_str::<Value>(&row.items).unwrap_or(Value::Null),
        "reason": row.reason,
        "requested_at": row.requested_at,
        "confirmed_at": row.confirmed_at,
    })
}

impl AssistanceNode {
    /// Cases (summaries), most recently changed first.
    pub fn list_cases(&self, actor: &Actor, query: &CaseQuery) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self
            .store
            .case_rows(query)?
            .iter()
            .map(case_summary)
            .collect())
    }

    /// One case in full: request content, state, timers, grounds and reasons, timeline,
    /// messages (metadata), evidence (metadata and custody), consents, erasures. Audited as a
    /// view of partner data. An auditor sees the metadata only, never the request content.
    pub fn case_view(&self, actor: &Actor, case_id: &str, now: i64) -> Result<Value, AssistError> {
        self.audited(actor, "request.view", case_id, now, || {
            let grant = roles::check(actor, Capability::ViewPartnerData, true)?;
            let (row, case, request) = self.load_case(case_id)?;
            let metadata_only = grant == roles::Grant::MetadataOnly;
            let transitions = self.store.case_transitions(case_id)?;
            let messages = self.store.case_messages(case_id)?;
            let evidence = self
                .store
                .case_evidence(case_id)?
                .iter()
                .map(|e| evidence_view(self, e))
                .collect::<Result<Vec<_>, _>>()?;
            let consents: Vec<Value> = self.store.consent_rows(Some(case_id))?.iter().map(consent_view).collect();
            let erasures: Vec<Value> = self.store.erasure_rows(Some(case_id))?.iter().map(erasure_view).collect();
            let holds: Vec<Value> = self
                .holds_view(actor, None)?
                .into_iter()
                .filter(|h| h["case_id"] == case_id)
                .collect();
            // §10.4 and §11: the notices of this case in either direction.
            let notice = |m: &caravan_store::assistance::CaseMessage| -> Value {
                let body: Value = serde_json::from_str(&m.body).unwrap_or(Value::Null);
                let mut v = body.get("content").cloned().unwrap_or(Value::Null);
                if let Value::Object(o) = &mut v {
                    o.insert("direction".into(), json!(m.direction));
                    o.insert("action".into(), json!(m.action));
                    o.insert("by".into(), body.get("by").cloned().unwrap_or(Value::Null));
                    o.insert("on".into(), body.get("on").cloned().unwrap_or(Value::Null));
                }
                v
            };
            let disclosures: Vec<Value> = messages
                .iter()
                .filter(|m| m.action == "Disclosure.Notice" && m.state != "rejected")
                .map(notice)
                .collect();
            let retention_notices: Vec<Value> = messages
                .iter()
                .filter(|m| {
                    matches!(m.action.as_str(), "Data.Erased" | "Evidence.CustodyEvent" | "Evidence.ReturnOriginal")
                        && m.state != "rejected"
                })
                .map(notice)
                .collect();
            let mut view = case_summary(&row);
            let extra = json!({
                "request": if metadata_only { Value::Null } else { serde_json::to_value(&request).unwrap_or_default() },
                "ack_due": case.ack_due,
                "confirm_due": case.confirm_due,
                "correct_due": case.correct_due,
                "received_on": case.received_on,
                "acknowledged_on": case.acknowledged_on,
                "answered_on": case.answered_on,
                "grounds": case.grounds,
                "reasons": if metadata_only { Value::Null } else { json!(case.reasons) },
                "conditions": case.conditions,
                "reminders_sent": case.reminders_sent,
                "transitions": transitions.iter().map(|t| json!({
                    "seq": t.seq, "action": t.action, "from": t.from_state, "to": t.to_state,
                    "side": t.side, "account": t.account, "on": t.on_date, "at": t.at,
                })).collect::<Vec<_>>(),
                "messages": messages.iter().map(|m| json!({
                    "message_uuid": m.message_uuid, "direction": m.direction, "action": m.action,
                    "peer": m.peer, "state": m.state, "code": m.code,
                    "exchange_message_id": m.exchange_message_id, "created_at": m.created_at,
                })).collect::<Vec<_>>(),
                "evidence": if metadata_only { json!([]) } else { json!(evidence) },
                "consents": consents,
                "erasures": erasures,
                "holds": if metadata_only { json!([]) } else { json!(holds) },
                "disclosures": if metadata_only { json!([]) } else { json!(disclosures) },
                "notices": if metadata_only { json!([]) } else { json!(retention_notices) },
                "oral": case.id.starts_with(crate::oral::ORAL_PREFIX).then(|| json!({
                    "confirm_due": case.confirm_due,
                    "confirmed": case.state != caravan_assistance::lifecycle::CaseState::OralPendingConfirmation,
                    "alerts_sent": case.confirm_reminders_sent,
                })),
            });
            if let (Value::Object(base), Value::Object(more)) = (&mut view, extra) {
                base.extend(more);
            }
            self.store.append_audit(&allowed(actor, "request.view", case_id, json!({ "metadata_only": metadata_only }), now))?;
            Ok(view)
        })
    }

    /// The transitions of one case.
    pub fn transitions_view(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        self.load_case(case_id)?;
        Ok(self
            .store
            .case_transitions(case_id)?
            .iter()
            .map(|t| {
                json!({
                    "seq": t.seq, "action": t.action, "from": t.from_state, "to": t.to_state,
                    "side": t.side, "account": t.account, "on": t.on_date, "at": t.at,
                    "detail": serde_json::from_str::<Value>(&t.detail).unwrap_or(Value::Null),
                })
            })
            .collect())
    }

    /// Evidence metadata of one case (never content).
    pub fn evidence_list(
        &self,
        actor: &Actor,
        case_id: &str,
        now: i64,
    ) -> Result<Vec<Value>, AssistError> {
        self.audited(actor, "evidence.list", case_id, now, || {
            let grant = roles::check(actor, Capability::ViewPartnerData, true)?;
            self.load_case(case_id)?;
            if grant == roles::Grant::MetadataOnly {
                return Err(AssistError::new(
                    ErrorKind::Forbidden,
                    "metadata_only",
                    "this role sees case metadata only",
                ));
            }
            let out = self
                .store
                .case_evidence(case_id)?
                .iter()
                .map(|e| evidence_view(self, e))
                .collect::<Result<Vec<_>, _>>()?;
            self.store.append_audit(&allowed(
                actor,
                "evidence.list",
                case_id,
                json!({ "count": out.len() }),
                now,
            ))?;
            Ok(out)
        })
    }

    /// Consent cases, of one case or all.
    pub fn consents_view(
        &self,
        actor: &Actor,
        case_id: Option<&str>,
    ) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self
            .store
            .consent_rows(case_id)?
            .iter()
            .map(consent_view)
            .collect())
    }

    /// Erasures and retractions, of one case or all.
    pub fn erasures_view(
        &self,
        actor: &Actor,
        case_id: Option<&str>,
    ) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self
            .store
            .erasure_rows(case_id)?
            .iter()
            .map(erasure_view)
            .collect())
    }

    fn all_cases(&self) -> Result<Vec<Case>, AssistError> {
        self.store
            .case_rows(&CaseQuery {
                limit: 100_000,
                ..CaseQuery::default()
            })?
            .iter()
            .map(|r| parse::<Case>(&r.snapshot, "case"))
            .collect()
    }

    /// Overdue lists per desk on `today` (§3.2), most late first.
    pub fn overdue(
        &self,
        actor: &Actor,
        today: NaiveDate,
    ) -> Result<BTreeMap<String, Vec<OverdueItem>>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(overdue_by_desk(&self.all_cases()?, today))
    }

    /// The joint committee's report (§15) over every case on this node.
    pub fn stats(&self, actor: &Actor, today: NaiveDate) -> Result<Report, AssistError> {
        roles::check(actor, Capability::ReadStatistics, true)?;
        let mut report = stats::report(&self.all_cases()?, &self.outcomes()?, today);
        stats::add_volumes(&mut report, self.exchange_volumes()?);
        Ok(report)
    }

    /// Spontaneous information sent and received, newest first.
    pub fn spontaneous_view(&self, actor: &Actor, limit: u32) -> Result<Vec<Value>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self
            .store
            .messages_by_action("Spontaneous.Inform", limit)?
            .iter()
            .map(|m| {
                let body: Value = serde_json::from_str(&m.body).unwrap_or(Value::Null);
                json!({
                    "id": m.case_id, "direction": m.direction, "peer": m.peer, "state": m.state,
                    "content": body.get("content"), "on": body.get("on"), "created_at": m.created_at,
                })
            })
            .collect())
    }
}
