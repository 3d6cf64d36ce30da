//! Hit/no-hit queries over the exchange (assistance spec §12): `Query.HitNoHit` out, the
//! holder's local evaluation against what it really holds, `Query.Answer` back.
//!
//! Why the holder answers from an index of its own declarations: the question is "do you hold
//! a record on this container, company or document?", and the only honest answer comes from
//! the declarations the node stores. [`AssistanceNode::index_holdings`] reads the node's own
//! (`local`) declarations once, after the last one it read, and keeps each normalised
//! identifier under its §12 query type; a query is then one indexed lookup, whatever the
//! store's size. Partner data received by bulk exchange is never indexed: a node answers for
//! what it holds, not for what it was told.
//!
//! What is kept, and what is not: §12 allows no retention of queries beyond the audit record.
//! Both sides keep a row with the query type, purpose, case reference, the answer and a salted
//! SHA-256 commitment (the requester's salt travels with the query, so both rows and both
//! audit trails carry the same commitment); the identifier itself is kept by neither side
//! once the query has left — the stored copies of the message body are redacted.
//!
//! The holder refuses, with a code, a query whose purpose is missing (`purpose_missing`), a
//! query under an agreement that is not in force (`agreement_not_in_force`), a query type the
//! agreement's annex does not cover (`capability_not_in_agreement`) and an official over the
//! annex's daily limit (`rate_limited`). The count behind the limit is the stored rows of the
//! day, so a restart does not reset it.

use std::collections::BTreeSet;

use caravan_assistance::agreement::{Purpose, Traffic};
use caravan_assistance::annex::{Annex, AnnexError};
use caravan_assistance::hitnohit::{self, HitAnswer, HitQuery, QueryType, RateLimit};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_domain::declaration::draft::DeclarationDraft;
use caravan_domain::id::ContainerNumber;
use caravan_exchange::node::{ReceivedMessage, uuid_v7};
use caravan_ingest::pipeline::Format;
use caravan_store::assistance::{AssistanceChange, CaseMessage};
use caravan_store::assistance_wire::{HitQueryRow, WireChange};
use serde::{Deserialize, Serialize};

use crate::error::{AssistError, ErrorKind};
use crate::service::{AssistanceNode, allowed, audit_event, json, parse, today};
use crate::wire::{Body, Content};

/// Exchange action of a query.
pub const QUERY_ACTION: &str = "Query.HitNoHit";
/// Exchange action of an answer.
pub const ANSWER_ACTION: &str = "Query.Answer";
/// Declarations read per page when the holdings index catches up.
const INDEX_PAGE: u32 = 500;

/// A `Query.HitNoHit` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryBody {
    pub query_id: String,
    pub query_type: QueryType,
    /// The normalised identifier; replaced by `None` in every stored copy.
    pub identifier: Option<String>,
    pub purpose: Option<Purpose>,
    pub case_reference: String,
    /// The requester's salt (hex) for the commitment both sides record.
    pub salt: String,
}

/// A `Query.Answer` body: `hit` (with an opaque handle), `no_hit` or `refused` (with a code).
/// Nothing else about the record can be carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerBody {
    pub query_id: String,
    pub answer: String,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

/// A query as an official files it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAsk {
    pub query_type: QueryType,
    pub identifier: String,
    pub purpose: Option<Purpose>,
    pub case_reference: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn annex_error(e: AnnexError) -> AssistError {
    AssistError::refused(e.code, e.message)
}

/// The query's normalised identifier, with the ISO 6346 check digit verified when a
/// conveyance is a container number (four letters, seven digits).
pub fn normalised_identifier(kind: QueryType, raw: &str) -> Result<String, AssistError> {
    let id = hitnohit::normalise(kind, raw).ok_or_else(|| {
        AssistError::bad_input(
            "identifier_invalid",
            "the identifier is empty, too long or has characters other than letters and digits",
        )
    })?;
    let container_shaped = id.len() == 11
        && id[..4].bytes().all(|b| b.is_ascii_uppercase())
        && id[4..].bytes().all(|b| b.is_ascii_digit());
    if kind == QueryType::Conveyance && container_shaped && ContainerNumber::parse(&id).is_err() {
        return Err(AssistError::bad_input(
            "container_check_digit_invalid",
            format!("{id} fails the ISO 6346 check digit"),
        ));
    }
    Ok(id)
}

/// The `(query type, normalised identifier)` pairs a declaration gives the holdings index.
pub fn holdings_of(draft: &DeclarationDraft) -> BTreeSet<(QueryType, String)> {
    let mut out = BTreeSet::new();
    let mut add = |kind: QueryType, raw: &str| {
        if let Some(v) = hitnohit::normalise(kind, raw) {
            out.insert((kind, v));
        }
    };
    for e in &draft.transport.equipment {
        add(QueryType::Conveyance, &e.container_id);
    }
    for means in [
        &draft.transport.border_means_id,
        &draft.transport.arrival_means_id,
        &draft.transport.departure_means_id,
    ]
    .into_iter()
    .flatten()
    {
        add(QueryType::Conveyance, means);
    }
    for p in &draft.parties {
        if let Some(id) = &p.id {
            add(QueryType::Company, id);
        }
    }
    add(QueryType::Declaration, &draft.header.lrn);
    for r in [&draft.header.mrn, &draft.header.ucr].into_iter().flatten() {
        add(QueryType::Declaration, r);
    }
    for d in &draft.transport.documents {
        add(QueryType::DocumentNumber, &d.id);
    }
    for item in &draft.items {
        for d in item
            .previous_documents
            .iter()
            .chain(&item.additional_documents)
        {
            add(QueryType::DocumentNumber, &d.id);
        }
    }
    out
}

impl AssistanceNode {
    fn annex(&self) -> Result<Annex, AssistError> {
        Annex::shipped(&self.config.agreement_id).ok_or_else(|| {
            AssistError::refused(
                "capability_not_in_agreement",
                format!(
                    "agreement {} has no exchange annex on this node",
                    self.config.agreement_id
                ),
            )
        })
    }

    /// Asks the partner whether it holds a record (§12). The query leaves with the next
    /// dispatch; the returned row is `pending` until the answer arrives.
    pub fn ask_hitnohit(
        &self,
        actor: &Actor,
        ask: &QueryAsk,
        now: i64,
    ) -> Result<HitQueryRow, AssistError> {
        self.audited(actor, "hitnohit.ask", "new", now, || {
            if roles::check(actor, Capability::DraftRequests, true).is_err() {
                roles::check(actor, Capability::RunAnalytics, true)?;
            }
            let Some(purpose) = ask.purpose else {
                return Err(AssistError::refused(
                    "purpose_missing",
                    "a hit/no-hit query must declare its purpose",
                ));
            };
            if ask.case_reference.trim().is_empty() || ask.case_reference.len() > 128 {
                return Err(AssistError::bad_input(
                    "query_incomplete",
                    "a hit/no-hit query needs a case reference (at most 128 characters)",
                ));
            }
            let identifier = normalised_identifier(ask.query_type, &ask.identifier)?;
            let on = today(now);
            let agreement = self.agreement()?;
            agreement.check_outbound(Traffic::RequestForInformation, on)?;
            agreement.check_assurance(Traffic::RequestForInformation, false)?;
            self.annex()?
                .hitnohit_for(ask.query_type)
                .map_err(annex_error)?;
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt)
                .map_err(|e| AssistError::internal(format!("OS randomness: {e}")))?;
            let salt = hex(&salt);
            let query_id = format!("HNH-{}", uuid_v7(now as u64));
            let query = HitQuery {
                kind: ask.query_type,
                identifier: identifier.clone(),
                purpose: Some(purpose),
                official: actor.account.clone(),
                case_reference: ask.case_reference.clone(),
                on,
            };
            let commitment = hitnohit::commitment(&query, salt.as_bytes());
            let row = HitQueryRow {
                query_id: query_id.clone(),
                direction: "out".into(),
                peer: self.config.partner_party.clone(),
                official: actor.account.clone(),
                query_type: ask.query_type.code().into(),
                purpose: Some(purpose.code().into()),
                case_reference: ask.case_reference.clone(),
                commitment: commitment.clone(),
                salt: salt.clone(),
                answer: "pending".into(),
                code: None,
                handle: None,
                day: on.to_string(),
                asked_at: now,
                answered_at: None,
                version: 1,
            };
            let message = self.outbound(
                &format!("hitnohit:{query_id}"),
                &self.config.partner_party,
                QUERY_ACTION,
                actor,
                None,
                on,
                Content::HitNoHitQuery(QueryBody {
                    query_id: query_id.clone(),
                    query_type: ask.query_type,
                    identifier: Some(identifier),
                    purpose: Some(purpose),
                    case_reference: ask.case_reference.clone(),
                    salt,
                }),
                now,
            );
            let detail = serde_json::json!({
                "query_type": row.query_type, "purpose": row.purpose,
                "case_reference": row.case_reference, "commitment": commitment,
            });
            let change = WireChange {
                base: AssistanceChange {
                    messages: vec![message],
                    audit: vec![allowed(actor, "hitnohit.ask", &query_id, detail, now)],
                    ..AssistanceChange::default()
                },
                queries: vec![row.clone()],
                ..WireChange::default()
            };
            self.store.commit_wire(&change)?;
            Ok(row)
        })
        .inspect(|_| {
            // The query leaves now if the exchange is up; its stored body is then redacted.
            let _ = self.dispatch(now);
            let _ = self.redact_sent_queries();
        })
    }

    /// Replaces the identifier in the stored bodies of queries already handed to the
    /// exchange (sealed in its outbox, encrypted to the partner). Returns how many.
    pub fn redact_sent_queries(&self) -> Result<u64, AssistError> {
        let mut redacted = 0;
        for m in self.store.messages_by_action(QUERY_ACTION, 1_000)? {
            if m.direction != "out" || m.state == "queued" {
                continue;
            }
            let mut body: Body = parse(&m.body, "query body")?;
            match &mut body.content {
                Content::HitNoHitQuery(q) if q.identifier.is_some() => q.identifier = None,
                _ => continue,
            }
            redacted += self
                .store
                .replace_sent_body(&m.message_uuid, &json(&body))?;
        }
        Ok(redacted)
    }

    /// Catches the holdings index up with the node's own declarations stored since it last
    /// ran; returns how many declarations it read. One transaction per page.
    pub fn index_holdings(&self) -> Result<u64, AssistError> {
        let start = self.store.holdings_cursor()?;
        let mut read = 0u64;
        let mut highest = start;
        let mut holdings: BTreeSet<(QueryType, String)> = BTreeSet::new();
        for direction in ["import", "export"] {
            let mut after = start;
            loop {
                let page = self
                    .store
                    .mirror_inputs("local", direction, after, INDEX_PAGE)?;
                for (id, document) in &page {
                    after = *id;
                    highest = highest.max(*id);
                    read += 1;
                    for record in Format::CaravanJson.reader(document.as_slice()) {
                        let record = record.map_err(|e| {
                            AssistError::internal(format!("stored declaration {id}: {e}"))
                        })?;
                        holdings.extend(holdings_of(&record.draft));
                    }
                }
                if page.len() < INDEX_PAGE as usize {
                    break;
                }
            }
        }
        if highest > start {
            let change = WireChange {
                holdings: holdings
                    .into_iter()
                    .map(|(k, v)| (k.code().to_owned(), v))
                    .collect(),
                holdings_cursor: Some(highest),
                ..WireChange::default()
            };
            self.store.commit_wire(&change)?;
        }
        Ok(read)
    }

    /// The holder's side: evaluates a partner's query and queues the answer.
    pub(crate) fn on_hitnohit_query(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        query: &QueryBody,
        now: i64,
    ) -> Result<(), AssistError> {
        self.index_holdings()?;
        let on = today(now);
        let official = format!("{}:{}", message.from, body.by.account);
        let identifier = query.identifier.clone().unwrap_or_default();
        let hq = HitQuery {
            kind: query.query_type,
            identifier: identifier.clone(),
            purpose: query.purpose,
            official: body.by.account.clone(),
            case_reference: query.case_reference.clone(),
            on: body.on,
        };
        let commitment = hitnohit::commitment(&hq, query.salt.as_bytes());
        let agreement = self.agreement()?;
        let gate = if query.purpose.is_none() {
            Err("purpose_missing")
        } else if agreement.check_in_force(on).is_err() {
            Err("agreement_not_in_force")
        } else {
            self.annex()
                .and_then(|a| {
                    a.hitnohit_for(query.query_type)
                        .cloned()
                        .map_err(annex_error)
                })
                .map_err(|e| e.code)
        };
        let answer = match gate {
            Err(code) => HitAnswer::Refused { code },
            Ok(rules) => {
                let used = self.store.hit_queries_used(&official, &on.to_string())?;
                let mut limit =
                    RateLimit::with_used(rules.per_official_per_day, &official, on, used);
                let held = match hitnohit::normalise(query.query_type, &identifier) {
                    Some(id) if self.store.holds(query.query_type.code(), &id)? => {
                        BTreeSet::from([(query.query_type, id)])
                    }
                    _ => BTreeSet::new(),
                };
                let pure = HitQuery {
                    official: official.clone(),
                    on,
                    ..hq
                };
                hitnohit::answer(
                    &pure,
                    &held,
                    &mut limit,
                    &self.key.subkey("hitnohit-handle"),
                )
            }
        };
        let (code, handle, word) = match &answer {
            HitAnswer::Hit { handle } => (None, Some(handle.clone()), "hit"),
            HitAnswer::NoHit => (None, None, "no_hit"),
            HitAnswer::Refused { code } => (Some((*code).to_owned()), None, "refused"),
        };
        let row = HitQueryRow {
            query_id: query.query_id.clone(),
            direction: "in".into(),
            peer: message.from.clone(),
            official: official.clone(),
            query_type: query.query_type.code().into(),
            purpose: query.purpose.map(|p| p.code().to_owned()),
            case_reference: query.case_reference.clone(),
            commitment: commitment.clone(),
            salt: query.salt.clone(),
            answer: word.into(),
            code: code.clone(),
            handle: handle.clone(),
            day: on.to_string(),
            asked_at: now,
            answered_at: Some(now),
            version: 1,
        };
        let holder = self.holder_official();
        let reply = self.outbound(
            &body.case_id,
            &message.from,
            ANSWER_ACTION,
            &holder,
            None,
            on,
            Content::HitNoHitAnswer(AnswerBody {
                query_id: query.query_id.clone(),
                answer: word.into(),
                handle,
                code: code.clone(),
            }),
            now,
        );
        let mut redacted = body.clone();
        if let Content::HitNoHitQuery(q) = &mut redacted.content {
            q.identifier = None;
        }
        let detail = serde_json::json!({
            "query_type": row.query_type, "purpose": row.purpose,
            "case_reference": row.case_reference, "commitment": commitment,
            "answer": word, "code": code, "exchange_message_id": message.message_id,
        });
        let mut base = inbound_change(
            message,
            &redacted,
            &query.query_id,
            code.as_deref(),
            detail,
            now,
        );
        base.messages.push(reply);
        let change = WireChange {
            base,
            queries: vec![row],
            ..WireChange::default()
        };
        self.store.commit_wire(&change)?;
        Ok(())
    }

    /// The requester's side: records the answer on the pending query.
    pub(crate) fn on_hitnohit_answer(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        answer: &AnswerBody,
        now: i64,
    ) -> Result<(), AssistError> {
        let row = self
            .store
            .hit_query_row(&answer.query_id)
            .map_err(|e| match e {
                caravan_store::StoreError::NotFound => {
                    AssistError::not_found("hit/no-hit query", &answer.query_id)
                }
                other => other.into(),
            })?;
        if row.direction != "out" || row.peer != message.from {
            return Err(AssistError::refused(
                "query_not_ours",
                "the answer is to a query this node did not send to that partner",
            ));
        }
        if row.answer != "pending" {
            return Err(AssistError::refused(
                "query_answered_already",
                format!("query {} was answered before", row.query_id),
            ));
        }
        let valid = match answer.answer.as_str() {
            "hit" => answer.handle.as_ref().is_some_and(|h| {
                h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) && answer.code.is_none()
            }),
            "no_hit" => answer.handle.is_none() && answer.code.is_none(),
            "refused" => answer.handle.is_none() && answer.code.is_some(),
            _ => false,
        };
        if !valid {
            return Err(AssistError::bad_input(
                "answer_malformed",
                "an answer is hit with a handle, no_hit, or refused with a code",
            ));
        }
        let next = HitQueryRow {
            answer: answer.answer.clone(),
            code: answer.code.clone(),
            handle: answer.handle.clone(),
            answered_at: Some(now),
            version: row.version + 1,
            ..row.clone()
        };
        let detail = serde_json::json!({
            "answer": answer.answer, "code": answer.code, "commitment": row.commitment,
            "exchange_message_id": message.message_id,
        });
        let change = WireChange {
            base: inbound_change(message, body, &row.query_id, None, detail, now),
            queries: vec![next],
            ..WireChange::default()
        };
        self.store.commit_wire(&change)?;
        Ok(())
    }

    /// The queries this node asked or answered, newest first (metadata only: the identifier
    /// is never kept).
    pub fn hitnohit_queries(
        &self,
        actor: &Actor,
        direction: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HitQueryRow>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        if let Some(d) = direction
            && !matches!(d, "in" | "out")
        {
            return Err(AssistError::bad_input(
                "direction_invalid",
                "direction is in or out",
            ));
        }
        Ok(self.store.hit_query_rows(direction, limit)?)
    }

    /// The node itself as the sender of automatic answers and acknowledgements.
    pub(crate) fn holder_official(&self) -> Actor {
        Actor::new(
            &format!("node:{}", self.config.party),
            caravan_assistance::roles::Role::DeskOfficer,
        )
    }

    /// Applies a message of the wire features (`inbound` dispatches here).
    pub(crate) fn consume_wire(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        now: i64,
    ) -> Result<(), AssistError> {
        let expected = match &body.content {
            Content::HitNoHitQuery(_) => QUERY_ACTION,
            Content::HitNoHitAnswer(_) => ANSWER_ACTION,
            Content::FeedbackOutcome(_) => crate::feedback::ACTION,
            Content::BulkBatch(_) => crate::bulk::ACTION,
            _ => "",
        };
        if message.action != expected {
            return Err(AssistError::bad_input(
                "message_malformed",
                format!("a {} message carries another action's body", message.action),
            ));
        }
        let result = match &body.content {
            Content::HitNoHitQuery(q) => self.on_hitnohit_query(message, body, q, now),
            Content::HitNoHitAnswer(a) => self.on_hitnohit_answer(message, body, a, now),
            Content::FeedbackOutcome(f) => self.on_feedback(message, body, f, now),
            Content::BulkBatch(m) => self.on_bulk_batch(message, body, m, now),
            _ => Err(AssistError::internal("not a wire message")),
        };
        let _ = self.dispatch(now);
        result.map_err(|e| {
            // Someone else wrote the same row first: the same message, applied once.
            if e.kind == ErrorKind::Conflict {
                AssistError::refused("message_duplicate", "the message was applied before")
            } else {
                e
            }
        })
    }
}

/// The inbound message row and the audit row of an applied partner message about `object`.
pub(crate) fn inbound_change(
    message: &ReceivedMessage,
    body: &Body,
    object: &str,
    code: Option<&str>,
    detail: serde_json::Value,
    now: i64,
) -> AssistanceChange {
    AssistanceChange {
        messages: vec![inbound_row(message, body, now)],
        audit: vec![audit_event(
            &format!("partner:{}:{}", message.from, body.by.account),
            body.by.role.code(),
            &format!("inbound.{}", message.action),
            object,
            code,
            detail,
            now,
        )],
        ..AssistanceChange::default()
    }
}

/// The stored row of an applied inbound message.
pub(crate) fn inbound_row(message: &ReceivedMessage, body: &Body, now: i64) -> CaseMessage {
    CaseMessage {
        message_uuid: body.message_uuid.clone(),
        direction: "in".into(),
        case_id: body.case_id.clone(),
        peer: message.from.clone(),
        action: message.action.clone(),
        body: json(body),
        exchange_message_id: Some(message.message_id.clone()),
        state: "applied".into(),
        code: None,
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use caravan_assistance::agreement::{AgreementState, US_UZ_CMAA_2024};
    use caravan_store::Store;
    use caravan_store_sqlite::SqliteStore;

    use super::*;
    use crate::crypto::EvidenceKey;
    use crate::service::NodeConfig;
    use crate::story::Officials;

    const T0: i64 = 1_800_000_000_000;

    fn node(store: Arc<dyn Store>, us: bool) -> AssistanceNode {
        AssistanceNode::new(
            store,
            None,
            NodeConfig::us_uz(us),
            EvidenceKey::from_bytes(&[if us { 1 } else { 2 }; 32]),
            // Hit/no-hit never stores evidence files.
            std::env::temp_dir().join("caravan-hitnohit-no-evidence"),
        )
    }

    fn in_force(n: &AssistanceNode, admin: &str) {
        n.install_agreement(US_UZ_CMAA_2024, T0).unwrap();
        let o = Officials::of(admin);
        n.set_agreement_status(
            AgreementState::InForce,
            today(T0),
            "note",
            [&o.admin, &o.supervisor],
            T0,
        )
        .unwrap();
    }

    /// Hands every queued message of `from` to `to`; returns how many.
    fn deliver(from: &AssistanceNode, to: &AssistanceNode, now: i64) -> usize {
        let messages = from.take_queued(now).unwrap();
        for m in &messages {
            assert!(to.receive(m, now).unwrap(), "{} applied", m.action);
        }
        messages.len()
    }

    fn ask(id: &str) -> QueryAsk {
        QueryAsk {
            query_type: QueryType::Conveyance,
            identifier: id.into(),
            purpose: Some(Purpose::Intel),
            case_reference: "CBP-1".into(),
        }
    }

    #[test]
    fn the_daily_limit_survives_a_restart_and_refusals_are_answers() {
        let us_store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let uz_store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let us = node(us_store.clone(), true);
        let uz = node(uz_store.clone(), false);
        in_force(&us, "US");
        let analyst = Officials::of("US").analyst;

        // The holder's agreement is only signed: the query is answered `refused`.
        uz.install_agreement(US_UZ_CMAA_2024, T0).unwrap();
        let q = us.ask_hitnohit(&analyst, &ask("CSQU3054383"), T0).unwrap();
        assert_eq!(deliver(&us, &uz, T0), 1);
        assert_eq!(deliver(&uz, &us, T0), 1);
        let row = us_store.hit_query_row(&q.query_id).unwrap();
        assert_eq!(
            (row.answer.as_str(), row.code.as_deref()),
            ("refused", Some("agreement_not_in_force"))
        );
        let o = Officials::of("UZ");
        uz.set_agreement_status(
            AgreementState::InForce,
            today(T0),
            "note",
            [&o.admin, &o.supervisor],
            T0,
        )
        .unwrap();

        let limit = Annex::shipped("us-uz-cmaa-2024")
            .unwrap()
            .hitnohit
            .unwrap()
            .per_official_per_day;
        for i in 0..limit {
            us.ask_hitnohit(&analyst, &ask(&format!("X{i}")), T0)
                .unwrap();
        }
        assert_eq!(deliver(&us, &uz, T0), limit as usize);
        deliver(&uz, &us, T0);
        // The holder restarts: a new node over the same store keeps counting.
        let uz = node(uz_store.clone(), false);
        let over = us.ask_hitnohit(&analyst, &ask("X-over"), T0).unwrap();
        deliver(&us, &uz, T0);
        deliver(&uz, &us, T0);
        let row = us_store.hit_query_row(&over.query_id).unwrap();
        assert_eq!(row.code.as_deref(), Some("rate_limited"));
        // Another official is not limited by the first one's queries.
        let other = us
            .ask_hitnohit(&Officials::of("US").desk, &ask("X-other"), T0)
            .unwrap();
        deliver(&us, &uz, T0);
        deliver(&uz, &us, T0);
        assert_eq!(
            us_store.hit_query_row(&other.query_id).unwrap().answer,
            "no_hit"
        );
        // The next day the first official may ask again.
        let next_day = T0 + crate::story::DAY_MS;
        let again = us
            .ask_hitnohit(&analyst, &ask("X-again"), next_day)
            .unwrap();
        deliver(&us, &uz, next_day);
        deliver(&uz, &us, next_day);
        assert_eq!(
            us_store.hit_query_row(&again.query_id).unwrap().answer,
            "no_hit"
        );
        // The answer was applied once: pending (version 1), then answered (version 2).
        let answered = us_store.hit_query_row(&again.query_id).unwrap();
        assert_eq!(answered.version, 2);
    }

    #[test]
    fn requester_refusals_are_audited_and_nothing_leaves() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let us = node(store.clone(), true);
        us.install_agreement(US_UZ_CMAA_2024, T0).unwrap();
        let o = Officials::of("US");
        // Agreement only signed.
        let e = us
            .ask_hitnohit(&o.analyst, &ask("CSQU3054383"), T0)
            .unwrap_err();
        assert_eq!(e.code, "agreement_not_in_force");
        in_force(&us, "US");
        for (who, a, code) in [
            (&o.admin, ask("CSQU3054383"), "role_not_permitted"),
            (
                &o.analyst,
                QueryAsk {
                    purpose: None,
                    ..ask("CSQU3054383")
                },
                "purpose_missing",
            ),
            (
                &o.analyst,
                ask("CSQU3054384"),
                "container_check_digit_invalid",
            ),
            (&o.analyst, ask("  "), "identifier_invalid"),
            (
                &o.analyst,
                QueryAsk {
                    case_reference: " ".into(),
                    ..ask("CSQU3054383")
                },
                "query_incomplete",
            ),
            (
                &o.analyst,
                QueryAsk {
                    query_type: QueryType::Person,
                    ..ask("KARIMOV")
                },
                "capability_not_in_agreement",
            ),
        ] {
            assert_eq!(us.ask_hitnohit(who, &a, T0).unwrap_err().code, code);
        }
        assert!(store.queued_messages(10).unwrap().is_empty());
        assert!(store.hit_query_rows(None, 0).unwrap().is_empty());
        let refused = store
            .list_audit(&caravan_store::access::AuditQuery {
                action_prefix: Some("hitnohit.".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(refused.len(), 7);
        assert!(refused.iter().all(|r| r.event.code.is_some()));
    }

    #[test]
    fn holdings_cover_containers_parties_references_and_documents() {
        let mut d = DeclarationDraft::default();
        d.header.lrn = "lrn-1".into();
        d.header.mrn = Some("25UZ0001".into());
        d.transport
            .equipment
            .push(caravan_domain::declaration::draft::EquipmentDraft {
                container_id: "csqu 305438-3".into(),
                ..Default::default()
            });
        d.transport
            .documents
            .push(caravan_domain::declaration::draft::DocumentDraft {
                id: "MAEU/123.456".into(),
                ..Default::default()
            });
        d.parties
            .push(caravan_domain::declaration::draft::PartyDraft {
                id: Some("305 123 456".into()),
                ..Default::default()
            });
        let h = holdings_of(&d);
        for (k, v) in [
            (QueryType::Conveyance, "CSQU3054383"),
            (QueryType::Declaration, "LRN1"),
            (QueryType::Declaration, "25UZ0001"),
            (QueryType::DocumentNumber, "MAEU123456"),
            (QueryType::Company, "305123456"),
        ] {
            assert!(h.contains(&(k, v.to_owned())), "{k} {v}: {h:?}");
        }
        assert_eq!(h.len(), 5);
    }
}
