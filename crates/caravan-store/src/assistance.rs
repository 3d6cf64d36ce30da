//! What mutual assistance needs from storage: agreements, cases and their transition
//! history, the messages of each case, evidence with its custody, markings, consents and
//! erasures (assistance spec §1–§11).
//!
//! Why one [`AssistanceStore::commit_assistance`] instead of a method per table: every user
//! action of the assistance workflow changes several things at once — a request sent moves
//! the case, appends a transition, queues the message for the partner and writes the audit
//! row — and the promise to the officer is that either all of it happened or none of it did.
//! The workflow layer computes the whole change with the pure core, then hands it here as
//! one [`AssistanceChange`], which every backend writes in one transaction.
//!
//! Concurrency is optimistic: every snapshot row (agreement, case, evidence, consent,
//! erasure) carries a `version`. Version 1 is an insert that fails if the row exists;
//! version `n > 1` replaces version `n − 1` and fails if another writer got there first.
//! Either failure is [`crate::Conflict::StaleWrite`] and nothing of the change is written.
//!
//! Snapshots are the pure core's own values serialised as JSON (`snapshot`, `request`,
//! `record`), so what the state machine works on is exactly what is stored; the columns
//! beside them are only what listings filter and sort on. Times are Unix milliseconds chosen
//! by the caller; dates are ISO 8601 text.

use crate::StoreError;
use crate::access::AuditEvent;

/// One agreement as configured on this node, with its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRecord {
    /// Stable slug, e.g. `us-uz-cmaa-2024`.
    pub agreement_id: String,
    /// Row version (see the module docs).
    pub version: i64,
    /// §1.2 status code.
    pub state: String,
    /// §1.9 assurance state code.
    pub assurance: String,
    /// The agreement file as loaded (TOML).
    pub base_toml: String,
    /// JSON of what changed since: status, assurance, version of the agreement.
    pub overlay: String,
    /// Last change (ms).
    pub updated_at: i64,
}

/// One case (a request) as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// Case id, shared by both nodes.
    pub case_id: String,
    /// Agreement.
    pub agreement_id: String,
    /// `requester` or `requested`: which side this copy belongs to.
    pub holder: String,
    /// The partner's exchange party id.
    pub partner: String,
    /// The desk the case is assigned to.
    pub desk: String,
    /// Request type codes, comma-separated.
    pub types: String,
    /// §3.1 state code.
    pub state: String,
    /// Subject line of the request.
    pub subject: String,
    /// Reply due date (ISO), while a `T_exec` timer runs.
    pub reply_due: Option<String>,
    /// Whether a reminder found it overdue.
    pub overdue: bool,
    /// The request content (JSON of the §2.2 draft).
    pub request: String,
    /// The whole case as the state machine holds it (JSON).
    pub snapshot: String,
    /// Created (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Row version.
    pub version: i64,
}

/// One accepted transition of a case (append-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRow {
    /// Case.
    pub case_id: String,
    /// Position in the case's history, from 1.
    pub seq: i64,
    /// §3.2 action code.
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// `requester` or `requested`: the side that acted.
    pub side: String,
    /// Acting account (`node` for automatic events, the partner's official for theirs).
    pub account: String,
    /// Event date (ISO).
    pub on_date: String,
    /// When it was recorded here (ms).
    pub at: i64,
    /// JSON detail: grounds, reasons, conditions, items.
    pub detail: String,
}

/// A message of a case, to or from the partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMessage {
    /// The workflow's own id of the message, carried in its body, so a message re-sent
    /// after a crash is recognised by the receiver.
    pub message_uuid: String,
    /// `out` or `in`.
    pub direction: String,
    /// Case, or `spontaneous:<id>` for information sent without a request.
    pub case_id: String,
    /// Partner party id.
    pub peer: String,
    /// Exchange action.
    pub action: String,
    /// JSON body.
    pub body: String,
    /// The exchange's message id, once handed to (out) or received from (in) the exchange.
    pub exchange_message_id: Option<String>,
    /// `queued` (out, not yet with the exchange), `dispatched` (out), `applied` (in) or
    /// `rejected` (in, refused with `code`).
    pub state: String,
    /// Refusal code of a rejected inbound message.
    pub code: Option<String>,
    /// Recorded (ms).
    pub created_at: i64,
}

/// One evidence file and its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    /// Evidence id, shared by both nodes.
    pub evidence_id: String,
    /// Case it belongs to.
    pub case_id: String,
    /// `own` (we supplied it) or `partner` (we received it).
    pub origin: String,
    /// Providing administration (party id).
    pub provider: String,
    /// Hex SHA-256 of the plaintext file.
    pub sha256: String,
    /// JSON of the evidence record (manifest fields and custody).
    pub record: String,
    /// The file as rows written before evidence moved to files held it: encrypted with the
    /// node's evidence key (nonce ‖ ciphertext). New rows leave it `None`, and the node moves
    /// old ones out at start; `None` too once erased.
    pub blob: Option<Vec<u8>>,
    /// Where the file is held when it is not stored here: `at-rest:v1` for the node's
    /// encrypted evidence files (`caravan_assistance_node::at_rest`); `None` once erased.
    pub reference: Option<String>,
    /// When it was erased (ms).
    pub erased_at: Option<i64>,
    /// Created (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Row version.
    pub version: i64,
}

/// One custody event of an evidence file (append-only, hash-chained by the pure core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyRow {
    /// Evidence.
    pub evidence_id: String,
    /// Position, from 1.
    pub seq: i64,
    /// §6 custody kind code.
    pub kind: String,
    /// Actor.
    pub actor: String,
    /// Date (ISO).
    pub on_date: String,
    /// Place.
    pub place: String,
    /// Digest of the bytes the actor handled.
    pub file_sha256: String,
    /// Chain hash.
    pub chain: String,
    /// Recorded (ms).
    pub at: i64,
}

/// One marking of an item or a field (append-only; the latest per item and field holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkingRow {
    /// Item (evidence id or message item id).
    pub item_id: String,
    /// Field selector; empty for the whole item.
    pub field: String,
    /// Position within (item, field), from 1.
    pub seq: i64,
    /// TLP 2.0 code.
    pub tlp: String,
    /// PAP code.
    pub pap: String,
    /// Caveat codes, comma-separated.
    pub caveats: String,
    /// Who set it (`provider:<party>` or an account).
    pub set_by: String,
    /// Why.
    pub reason: String,
    /// When (ms).
    pub at: i64,
}

/// One consent-for-other-use case (§10.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Consent id, shared by both nodes.
    pub consent_id: String,
    /// Case whose items it concerns.
    pub case_id: String,
    /// `outbound` (we asked the provider) or `inbound` (the partner asked us).
    pub direction: String,
    /// §10.3 state code.
    pub state: String,
    /// Purpose code.
    pub purpose: String,
    /// Recipient class.
    pub recipient_class: String,
    /// JSON of the consent case.
    pub snapshot: String,
    /// Created (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Row version.
    pub version: i64,
}

/// One erasure or retraction and its confirmation by the partner (§11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRow {
    /// Erasure id, shared by both nodes.
    pub erasure_id: String,
    /// Case.
    pub case_id: String,
    /// `Data.Erase` or `Data.Retract`.
    pub kind: String,
    /// `outbound` (we asked the partner to erase our data) or `inbound`.
    pub direction: String,
    /// `pending` until the partner's `Data.ComplianceAck`, then `confirmed`.
    pub state: String,
    /// Item ids, JSON array.
    pub items: String,
    /// Reason.
    pub reason: String,
    /// Requested (ms).
    pub requested_at: i64,
    /// Confirmed (ms).
    pub confirmed_at: Option<i64>,
    /// JSON detail of the compliance acknowledgement.
    pub detail: String,
    /// Row version.
    pub version: i64,
}

/// A legal hold on an item (§11.2): it keeps the item past its retention date until lifted.
/// Placed as version 1, lifted as version 2; a held item has a row with `lifted_at` unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// Hold id.
    pub hold_id: String,
    /// The item held (evidence id).
    pub item_id: String,
    /// Its case.
    pub case_id: String,
    /// Why (mandatory).
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// When (ms).
    pub placed_at: i64,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// When (ms).
    pub lifted_at: Option<i64>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
    /// Row version.
    pub version: i64,
}

/// A two-person proposal (§1.2, §1.9, §13): a change of an agreement's status, assurance or
/// directory waiting for its second account. At most one proposal of each kind is pending
/// per agreement (a second one is a stale write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRow {
    /// Proposal id.
    pub proposal_id: String,
    /// Agreement.
    pub agreement_id: String,
    /// `status`, `assurance` or `directory`.
    pub kind: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub state: String,
    /// Proposing account.
    pub proposed_by: String,
    /// Approving, rejecting or withdrawing account.
    pub decided_by: Option<String>,
    /// JSON of the proposal (the pure core's value).
    pub snapshot: String,
    /// Proposed (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Row version.
    pub version: i64,
}

/// The exchange's partner-registry gate set in the same transaction as the agreement's
/// assurance (§1.9: one state, both layers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerAssurance {
    /// Agreement.
    pub agreement_id: String,
    /// The partner's exchange party id.
    pub party: String,
    /// `good_standing`, `under_review` or `violated`.
    pub assurance: String,
    /// When (ms).
    pub updated_at: i64,
}

/// Everything one user action changes, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssistanceChange {
    /// Agreement to insert (version 1) or replace.
    pub agreement: Option<AgreementRecord>,
    /// Cases to insert or replace.
    pub cases: Vec<CaseRow>,
    /// Transitions to append.
    pub transitions: Vec<TransitionRow>,
    /// Messages to record. An inbound message whose `(direction, message_uuid)` is already
    /// stored is [`crate::Conflict::StaleWrite`]: it was applied before.
    pub messages: Vec<CaseMessage>,
    /// Evidence to insert or replace.
    pub evidence: Vec<EvidenceRow>,
    /// Custody events to append.
    pub custody: Vec<CustodyRow>,
    /// Markings to append.
    pub markings: Vec<MarkingRow>,
    /// Consents to insert or replace.
    pub consents: Vec<ConsentRow>,
    /// Erasures to insert or replace.
    pub erasures: Vec<ErasureRow>,
    /// Legal holds to insert or replace.
    pub holds: Vec<HoldRow>,
    /// Two-person proposals to insert or replace.
    pub proposals: Vec<ProposalRow>,
    /// The exchange partner registry's assurance to set (if the partner is registered).
    pub partner_assurance: Option<PartnerAssurance>,
    /// Audit events, appended to the chained trail in the same transaction.
    pub audit: Vec<AuditEvent>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// Only this side's copies (`requester` / `requested`).
    pub holder: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this desk.
    pub desk: Option<String>,
    /// At most this many, newest first; 0 means 1,000.
    pub limit: u32,
}

impl CaseQuery {
    /// The effective row limit.
    pub fn effective_limit(&self) -> i64 {
        if self.limit == 0 {
            1_000
        } else {
            i64::from(self.limit.min(100_000))
        }
    }
}

/// Mutual-assistance storage. Each method is one transaction.
pub trait AssistanceStore: Send + Sync {
    /// Writes a whole change, or nothing of it.
    fn commit_assistance(&self, change: &AssistanceChange) -> Result<(), StoreError>;

    /// One agreement; `NotFound` if it is not configured.
    fn agreement_record(&self, agreement_id: &str) -> Result<AgreementRecord, StoreError>;

    /// Every configured agreement, by id.
    fn agreement_records(&self) -> Result<Vec<AgreementRecord>, StoreError>;

    /// One case; `NotFound` if there is none.
    fn case_row(&self, case_id: &str) -> Result<CaseRow, StoreError>;

    /// Cases matching `query`, most recently changed first.
    fn case_rows(&self, query: &CaseQuery) -> Result<Vec<CaseRow>, StoreError>;

    /// A case's transitions, oldest first.
    fn case_transitions(&self, case_id: &str) -> Result<Vec<TransitionRow>, StoreError>;

    /// A case's messages, in the order they were recorded.
    fn case_messages(&self, case_id: &str) -> Result<Vec<CaseMessage>, StoreError>;

    /// Messages of one action, newest first (spontaneous information, for instance).
    fn messages_by_action(&self, action: &str, limit: u32) -> Result<Vec<CaseMessage>, StoreError>;

    /// One recorded message; `NotFound` if there is none.
    fn case_message(&self, direction: &str, message_uuid: &str) -> Result<CaseMessage, StoreError>;

    /// Outbound messages still `queued`, oldest first.
    fn queued_messages(&self, limit: u32) -> Result<Vec<CaseMessage>, StoreError>;

    /// Marks an outbound message as handed to the exchange under `exchange_message_id`.
    fn mark_dispatched(
        &self,
        message_uuid: &str,
        exchange_message_id: &str,
    ) -> Result<(), StoreError>;

    /// One evidence file; `NotFound` if there is none.
    fn evidence_row(&self, evidence_id: &str) -> Result<EvidenceRow, StoreError>;

    /// A case's evidence, oldest first.
    fn case_evidence(&self, case_id: &str) -> Result<Vec<EvidenceRow>, StoreError>;

    /// An evidence file's custody events, oldest first.
    fn custody_rows(&self, evidence_id: &str) -> Result<Vec<CustodyRow>, StoreError>;

    /// An item's marking history, by field then sequence.
    fn marking_rows(&self, item_id: &str) -> Result<Vec<MarkingRow>, StoreError>;

    /// One consent case; `NotFound` if there is none.
    fn consent_row(&self, consent_id: &str) -> Result<ConsentRow, StoreError>;

    /// Consent cases, of one case or all, newest first.
    fn consent_rows(&self, case_id: Option<&str>) -> Result<Vec<ConsentRow>, StoreError>;

    /// One erasure; `NotFound` if there is none.
    fn erasure_row(&self, erasure_id: &str) -> Result<ErasureRow, StoreError>;

    /// Erasures, of one case or all, newest first.
    fn erasure_rows(&self, case_id: Option<&str>) -> Result<Vec<ErasureRow>, StoreError>;

    /// Legal holds (current and lifted), of one item or all, newest first.
    fn hold_rows(&self, item_id: Option<&str>) -> Result<Vec<HoldRow>, StoreError>;

    /// One proposal; `NotFound` if there is none.
    fn proposal_row(&self, proposal_id: &str) -> Result<ProposalRow, StoreError>;

    /// Proposals, in one state or all, newest first.
    fn proposal_rows(&self, state: Option<&str>) -> Result<Vec<ProposalRow>, StoreError>;
}

/// Shared SQL column lists and row decoding, so the two backends cannot drift.
pub mod columns {
    use super::{
        AgreementRecord, CaseMessage, CaseRow, ConsentRow, CustodyRow, ErasureRow, EvidenceRow,
        HoldRow, MarkingRow, ProposalRow, TransitionRow,
    };
    use crate::StoreError;
    use crate::exchange::columns::Columns;

    /// Agreement columns, in [`agreement`]'s order.
    pub const AGREEMENT: &str =
        "agreement_id, version, state, assurance, base_toml, overlay, updated_at";
    /// Case columns, in [`case`]'s order.
    pub const CASE: &str = "case_id, agreement_id, holder, partner, desk, types, state, subject, \
                            reply_due, overdue, request, snapshot, created_at, updated_at, version";
    /// Transition columns, in [`transition`]'s order.
    pub const TRANSITION: &str =
        "case_id, seq, action, from_state, to_state, side, account, on_date, at, detail";
    /// Message columns, in [`message`]'s order.
    pub const MESSAGE: &str = "message_uuid, direction, case_id, peer, action, body, \
                               exchange_message_id, state, code, created_at";
    /// Evidence columns, in [`evidence`]'s order.
    pub const EVIDENCE: &str = "evidence_id, case_id, origin, provider, sha256, record, blob, \
                                reference, erased_at, created_at, updated_at, version";
    /// Custody columns, in [`custody`]'s order.
    pub const CUSTODY: &str =
        "evidence_id, seq, kind, actor, on_date, place, file_sha256, chain, at";
    /// Marking columns, in [`marking`]'s order.
    pub const MARKING: &str = "item_id, field, seq, tlp, pap, caveats, set_by, reason, at";
    /// Consent columns, in [`consent`]'s order.
    pub const CONSENT: &str = "consent_id, case_id, direction, state, purpose, recipient_class, \
                               snapshot, created_at, updated_at, version";
    /// Erasure columns, in [`erasure`]'s order.
    pub const ERASURE: &str = "erasure_id, case_id, kind, direction, state, items, reason, \
                               requested_at, confirmed_at, detail, version";

    /// Legal-hold columns, in [`hold`]'s order.
    pub const HOLD: &str = "hold_id, item_id, case_id, reason, placed_by, placed_at, lifted_by, \
                            lifted_at, lift_reason, version";
    /// Proposal columns, in [`proposal`]'s order.
    pub const PROPOSAL: &str = "proposal_id, agreement_id, kind, state, proposed_by, decided_by, \
                                snapshot, created_at, updated_at, version";

    /// The insert-or-replace statement of a versioned snapshot row: version 1 inserts, and
    /// version `n` replaces the stored version `n − 1`; otherwise no row changes, which the
    /// backend reports as a stale write. `placeholder(i)` spells the i-th (1-based)
    /// parameter in the backend's dialect. Both backends use this one text.
    pub fn upsert_versioned(
        table: &str,
        key: &str,
        columns: &str,
        placeholder: fn(usize) -> String,
    ) -> String {
        let names: Vec<&str> = columns.split(',').map(str::trim).collect();
        let values: Vec<String> = (1..=names.len()).map(placeholder).collect();
        let sets: Vec<String> = names
            .iter()
            .filter(|c| **c != key)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO {table} ({columns}) VALUES ({}) ON CONFLICT ({key}) DO UPDATE SET {} \
             WHERE {table}.version = excluded.version - 1",
            values.join(", "),
            sets.join(", ")
        )
    }

    /// A plain insert of every column (append-only rows).
    pub fn insert(table: &str, columns: &str, placeholder: fn(usize) -> String) -> String {
        let n = columns.split(',').count();
        let values: Vec<String> = (1..=n).map(placeholder).collect();
        format!(
            "INSERT INTO {table} ({columns}) VALUES ({})",
            values.join(", ")
        )
    }

    /// Decodes an [`AGREEMENT`] row.
    pub fn agreement(r: &dyn Columns) -> Result<AgreementRecord, StoreError> {
        Ok(AgreementRecord {
            agreement_id: r.text(0)?,
            version: r.int(1)?,
            state: r.text(2)?,
            assurance: r.text(3)?,
            base_toml: r.text(4)?,
            overlay: r.text(5)?,
            updated_at: r.int(6)?,
        })
    }

    /// Decodes a [`CASE`] row.
    pub fn case(r: &dyn Columns) -> Result<CaseRow, StoreError> {
        Ok(CaseRow {
            case_id: r.text(0)?,
            agreement_id: r.text(1)?,
            holder: r.text(2)?,
            partner: r.text(3)?,
            desk: r.text(4)?,
            types: r.text(5)?,
            state: r.text(6)?,
            subject: r.text(7)?,
            reply_due: r.opt_text(8)?,
            overdue: r.flag(9)?,
            request: r.text(10)?,
            snapshot: r.text(11)?,
            created_at: r.int(12)?,
            updated_at: r.int(13)?,
            version: r.int(14)?,
        })
    }

    /// Decodes a [`TRANSITION`] row.
    pub fn transition(r: &dyn Columns) -> Result<TransitionRow, StoreError> {
        Ok(TransitionRow {
            case_id: r.text(0)?,
            seq: r.int(1)?,
            action: r.text(2)?,
            from_state: r.text(3)?,
            to_state: r.text(4)?,
            side: r.text(5)?,
            account: r.text(6)?,
            on_date: r.text(7)?,
            at: r.int(8)?,
            detail: r.text(9)?,
        })
    }

    /// Decodes a [`MESSAGE`] row.
    pub fn message(r: &dyn Columns) -> Result<CaseMessage, StoreError> {
        Ok(CaseMessage {
            message_uuid: r.text(0)?,
            direction: r.text(1)?,
            case_id: r.text(2)?,
            peer: r.text(3)?,
            action: r.text(4)?,
            body: r.text(5)?,
            exchange_message_id: r.opt_text(6)?,
            state: r.text(7)?,
            code: r.opt_text(8)?,
            created_at: r.int(9)?,
        })
    }

    /// Decodes an [`EVIDENCE`] row.
    pub fn evidence(r: &dyn Columns) -> Result<EvidenceRow, StoreError> {
        Ok(EvidenceRow {
            evidence_id: r.text(0)?,
            case_id: r.text(1)?,
            origin: r.text(2)?,
            provider: r.text(3)?,
            sha256: r.text(4)?,
            record: r.text(5)?,
            blob: r.opt_blob(6)?,
            reference: r.opt_text(7)?,
            erased_at: r.opt_int(8)?,
            created_at: r.int(9)?,
            updated_at: r.int(10)?,
            version: r.int(11)?,
        })
    }

    /// Decodes a [`CUSTODY`] row.
    pub fn custody(r: &dyn Columns) -> Result<CustodyRow, StoreError> {
        Ok(CustodyRow {
            evidence_id: r.text(0)?,
            seq: r.int(1)?,
            kind: r.text(2)?,
            actor: r.text(3)?,
            on_date: r.text(4)?,
            place: r.text(5)?,
            file_sha256: r.text(6)?,
            chain: r.text(7)?,
            at: r.int(8)?,
        })
    }

    /// Decodes a [`MARKING`] row.
    pub fn marking(r: &dyn Columns) -> Result<MarkingRow, StoreError> {
        Ok(MarkingRow {
            item_id: r.text(0)?,
            field: r.text(1)?,
            seq: r.int(2)?,
            tlp: r.text(3)?,
            pap: r.text(4)?,
            caveats: r.text(5)?,
            set_by: r.text(6)?,
            reason: r.text(7)?,
            at: r.int(8)?,
        })
    }

    /// Decodes a [`CONSENT`] row.
    pub fn consent(r: &dyn Columns) -> Result<ConsentRow, StoreError> {
        Ok(ConsentRow {
            consent_id: r.text(0)?,
            case_id: r.text(1)?,
            direction: r.text(2)?,
            state: r.text(3)?,
            purpose: r.text(4)?,
            recipient_class: r.text(5)?,
            snapshot: r.text(6)?,
            created_at: r.int(7)?,
            updated_at: r.int(8)?,
            version: r.int(9)?,
        })
    }

    /// Decodes an [`ERASURE`] row.
    pub fn erasure(r: &dyn Columns) -> Result<ErasureRow, StoreError> {
        Ok(ErasureRow {
            erasure_id: r.text(0)?,
            case_id: r.text(1)?,
            kind: r.text(2)?,
            direction: r.text(3)?,
            state: r.text(4)?,
            items: r.text(5)?,
            reason: r.text(6)?,
            requested_at: r.int(7)?,
            confirmed_at: r.opt_int(8)?,
            detail: r.text(9)?,
            version: r.int(10)?,
        })
    }

    /// Decodes a [`HOLD`] row.
    pub fn hold(r: &dyn Columns) -> Result<HoldRow, StoreError> {
        Ok(HoldRow {
            hold_id: r.text(0)?,
            item_id: r.text(1)?,
            case_id: r.text(2)?,
            reason: r.text(3)?,
            placed_by: r.text(4)?,
            placed_at: r.int(5)?,
            lifted_by: r.opt_text(6)?,
            lifted_at: r.opt_int(7)?,
            lift_reason: r.opt_text(8)?,
            version: r.int(9)?,
        })
    }

    /// Decodes a [`PROPOSAL`] row.
    pub fn proposal(r: &dyn Columns) -> Result<ProposalRow, StoreError> {
        Ok(ProposalRow {
            proposal_id: r.text(0)?,
            agreement_id: r.text(1)?,
            kind: r.text(2)?,
            state: r.text(3)?,
            proposed_by: r.text(4)?,
            decided_by: r.opt_text(5)?,
            snapshot: r.text(6)?,
            created_at: r.int(7)?,
            updated_at: r.int(8)?,
            version: r.int(9)?,
        })
    }
}

/// The SQL of [`AssistanceStore`], written once for both backends.
///
/// Why here: the two backends differ only in how a parameter is spelled (`?1` or `$1`), how a
/// value is bound and how a transaction is opened. Everything else — which rows a change
/// writes, in what order, which statement is versioned, what every read selects — is the
/// same, so it is built here and a backend implements the four primitives of [`Backend`];
/// [`AssistanceStore`] follows for it.
pub mod sql {
    use super::columns as cols;
    use super::{
        AgreementRecord, AssistanceChange, AssistanceStore, CaseMessage, CaseQuery, CaseRow,
        ConsentRow, CustodyRow, ErasureRow, EvidenceRow, HoldRow, MarkingRow, ProposalRow,
        TransitionRow,
    };
    use crate::access::{AuditEvent, audit_digest};
    use crate::exchange::columns::Columns;
    use crate::{Conflict, StoreError};

    /// A bound value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Param {
        Text(String),
        OptText(Option<String>),
        Int(i64),
        OptInt(Option<i64>),
        Bool(bool),
        Blob(Vec<u8>),
        OptBlob(Option<Vec<u8>>),
    }

    fn t(s: &str) -> Param {
        Param::Text(s.to_owned())
    }

    /// One write of a change.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Statement {
        pub sql: String,
        pub params: Vec<Param>,
        /// Row kind and id, for the stale-write error.
        pub what: &'static str,
        pub id: String,
        /// Whether exactly one row must change (a versioned snapshot).
        pub versioned: bool,
    }

    /// What a backend provides; [`AssistanceStore`] is implemented on top.
    pub trait Backend: Send + Sync {
        /// The i-th (1-based) parameter in the dialect.
        fn placeholder(i: usize) -> String
        where
            Self: Sized;
        /// Runs a read.
        fn select<T>(
            &self,
            sql: &str,
            params: Vec<Param>,
            decode: fn(&dyn Columns) -> Result<T, StoreError>,
        ) -> Result<Vec<T>, StoreError>
        where
            Self: Sized;
        /// Runs one transaction: locks the audit trail when `audit` is not empty, runs every
        /// statement (a unique violation, or a versioned statement changing no row, is
        /// [`stale`]), then appends each audit event with [`audit_append`] on the trail's
        /// tail (read with [`AUDIT_TAIL`]). Nothing is written unless all of it is.
        fn transact(
            &self,
            statements: &[Statement],
            audit: &[AuditEvent],
        ) -> Result<(), StoreError>
        where
            Self: Sized;
        /// Runs one statement outside a change; returns the rows changed.
        fn execute(&self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError>
        where
            Self: Sized;
    }

    /// The stale-write error of a statement.
    pub fn stale(what: &str, id: &str) -> StoreError {
        StoreError::Conflict(Conflict::StaleWrite {
            what: what.to_owned(),
            id: id.to_owned(),
        })
    }

    /// Reads the audit trail's tail (seq, sha256).
    pub const AUDIT_TAIL: &str = "SELECT seq, sha256 FROM access_audit ORDER BY seq DESC LIMIT 1";

    /// The insert of the next audit row after `tail`, chained with [`audit_digest`].
    pub fn audit_append(
        tail: Option<(i64, Vec<u8>)>,
        event: &AuditEvent,
        placeholder: fn(usize) -> String,
    ) -> Result<Statement, StoreError> {
        let (seq, prev) = match tail {
            None => (1, [0u8; 32]),
            Some((seq, digest)) => (
                seq + 1,
                digest
                    .try_into()
                    .map_err(|_| StoreError::Other("stored audit digest is not 32 bytes".into()))?,
            ),
        };
        let sha256 = audit_digest(&prev, seq, event);
        Ok(Statement {
            sql: cols::insert("access_audit", crate::access::columns::AUDIT, placeholder),
            params: vec![
                Param::Int(seq),
                Param::Int(event.at),
                t(&event.account),
                t(&event.role),
                t(&event.action),
                t(&event.object),
                t(event.outcome.as_str()),
                Param::OptText(event.code.clone()),
                t(&event.detail),
                Param::Blob(prev.to_vec()),
                Param::Blob(sha256.to_vec()),
            ],
            what: "audit",
            id: seq.to_string(),
            versioned: false,
        })
    }

    fn upsert(
        table: &str,
        key: &str,
        columns: &str,
        ph: fn(usize) -> String,
        params: Vec<Param>,
        what: &'static str,
        id: &str,
    ) -> Statement {
        Statement {
            sql: cols::upsert_versioned(table, key, columns, ph),
            params,
            what,
            id: id.to_owned(),
            versioned: true,
        }
    }

    fn append(
        table: &str,
        columns: &str,
        ph: fn(usize) -> String,
        params: Vec<Param>,
        what: &'static str,
        id: &str,
    ) -> Statement {
        Statement {
            sql: cols::insert(table, columns, ph),
            params,
            what,
            id: id.to_owned(),
            versioned: false,
        }
    }

    /// The writes of a change, in a fixed order (audit rows apart).
    pub fn statements(c: &AssistanceChange, ph: fn(usize) -> String) -> Vec<Statement> {
        let mut out = Vec::new();
        if let Some(a) = &c.agreement {
            let p = vec![
                t(&a.agreement_id),
                Param::Int(a.version),
                t(&a.state),
                t(&a.assurance),
                t(&a.base_toml),
                t(&a.overlay),
                Param::Int(a.updated_at),
            ];
            out.push(upsert(
                "assistance_agreements",
                "agreement_id",
                cols::AGREEMENT,
                ph,
                p,
                "agreement",
                &a.agreement_id,
            ));
        }
        for k in &c.cases {
            let p = vec![
                t(&k.case_id),
                t(&k.agreement_id),
                t(&k.holder),
                t(&k.partner),
                t(&k.desk),
                t(&k.types),
                t(&k.state),
                t(&k.subject),
                Param::OptText(k.reply_due.clone()),
                Param::Bool(k.overdue),
                t(&k.request),
                t(&k.snapshot),
                Param::Int(k.created_at),
                Param::Int(k.updated_at),
                Param::Int(k.version),
            ];
            out.push(upsert(
                "assistance_cases",
                "case_id",
                cols::CASE,
                ph,
                p,
                "case",
                &k.case_id,
            ));
        }
        for r in &c.transitions {
            let p = vec![
                t(&r.case_id),
                Param::Int(r.seq),
                t(&r.action),
                t(&r.from_state),
                t(&r.to_state),
                t(&r.side),
                t(&r.account),
                t(&r.on_date),
                Param::Int(r.at),
                t(&r.detail),
            ];
            out.push(append(
                "assistance_transitions",
                cols::TRANSITION,
                ph,
                p,
                "transition",
                &r.case_id,
            ));
        }
        for m in &c.messages {
            let p = vec![
                t(&m.message_uuid),
                t(&m.direction),
                t(&m.case_id),
                t(&m.peer),
                t(&m.action),
                t(&m.body),
                Param::OptText(m.exchange_message_id.clone()),
                t(&m.state),
                Param::OptText(m.code.clone()),
                Param::Int(m.created_at),
            ];
            out.push(append(
                "assistance_messages",
                cols::MESSAGE,
                ph,
                p,
                "message",
                &m.message_uuid,
            ));
        }
        for e in &c.evidence {
            let p = vec![
                t(&e.evidence_id),
                t(&e.case_id),
                t(&e.origin),
                t(&e.provider),
                t(&e.sha256),
                t(&e.record),
                Param::OptBlob(e.blob.clone()),
                Param::OptText(e.reference.clone()),
                Param::OptInt(e.erased_at),
                Param::Int(e.created_at),
                Param::Int(e.updated_at),
                Param::Int(e.version),
            ];
            out.push(upsert(
                "assistance_evidence",
                "evidence_id",
                cols::EVIDENCE,
                ph,
                p,
                "evidence",
                &e.evidence_id,
            ));
        }
        for u in &c.custody {
            let p = vec![
                t(&u.evidence_id),
                Param::Int(u.seq),
                t(&u.kind),
                t(&u.actor),
                t(&u.on_date),
                t(&u.place),
                t(&u.file_sha256),
                t(&u.chain),
                Param::Int(u.at),
            ];
            out.push(append(
                "assistance_custody",
                cols::CUSTODY,
                ph,
                p,
                "custody",
                &u.evidence_id,
            ));
        }
        for m in &c.markings {
            let p = vec![
                t(&m.item_id),
                t(&m.field),
                Param::Int(m.seq),
                t(&m.tlp),
                t(&m.pap),
                t(&m.caveats),
                t(&m.set_by),
                t(&m.reason),
                Param::Int(m.at),
            ];
            out.push(append(
                "assistance_markings",
                cols::MARKING,
                ph,
                p,
                "marking",
                &m.item_id,
            ));
        }
        for k in &c.consents {
            let p = vec![
                t(&k.consent_id),
                t(&k.case_id),
                t(&k.direction),
                t(&k.state),
                t(&k.purpose),
                t(&k.recipient_class),
                t(&k.snapshot),
                Param::Int(k.created_at),
                Param::Int(k.updated_at),
                Param::Int(k.version),
            ];
            out.push(upsert(
                "assistance_consents",
                "consent_id",
                cols::CONSENT,
                ph,
                p,
                "consent",
                &k.consent_id,
            ));
        }
        for x in &c.erasures {
            let p = vec![
                t(&x.erasure_id),
                t(&x.case_id),
                t(&x.kind),
                t(&x.direction),
                t(&x.state),
                t(&x.items),
                t(&x.reason),
                Param::Int(x.requested_at),
                Param::OptInt(x.confirmed_at),
                t(&x.detail),
                Param::Int(x.version),
            ];
            out.push(upsert(
                "assistance_erasures",
                "erasure_id",
                cols::ERASURE,
                ph,
                p,
                "erasure",
                &x.erasure_id,
            ));
        }
        for h in &c.holds {
            let p = vec![
                t(&h.hold_id),
                t(&h.item_id),
                t(&h.case_id),
                t(&h.reason),
                t(&h.placed_by),
                Param::Int(h.placed_at),
                Param::OptText(h.lifted_by.clone()),
                Param::OptInt(h.lifted_at),
                Param::OptText(h.lift_reason.clone()),
                Param::Int(h.version),
            ];
            out.push(upsert(
                "assistance_holds",
                "hold_id",
                cols::HOLD,
                ph,
                p,
                "legal hold",
                &h.hold_id,
            ));
        }
        for k in &c.proposals {
            let p = vec![
                t(&k.proposal_id),
                t(&k.agreement_id),
                t(&k.kind),
                t(&k.state),
                t(&k.proposed_by),
                Param::OptText(k.decided_by.clone()),
                t(&k.snapshot),
                Param::Int(k.created_at),
                Param::Int(k.updated_at),
                Param::Int(k.version),
            ];
            out.push(upsert(
                "assistance_proposals",
                "proposal_id",
                cols::PROPOSAL,
                ph,
                p,
                "proposal",
                &k.proposal_id,
            ));
        }
        if let Some(a) = &c.partner_assurance {
            // Not versioned: a partner not (yet) registered with the exchange has no gate
            // there to keep in step, and the statement then changes no row.
            out.push(Statement {
                sql: format!(
                    "UPDATE exchange_partners SET assurance = {}, updated_at = {} \
                     WHERE agreement_id = {} AND party = {}",
                    ph(1),
                    ph(2),
                    ph(3),
                    ph(4)
                ),
                params: vec![
                    t(&a.assurance),
                    Param::Int(a.updated_at),
                    t(&a.agreement_id),
                    t(&a.party),
                ],
                what: "partner",
                id: a.party.clone(),
                versioned: false,
            });
        }
        out
    }

    fn one<T>(found: Vec<T>) -> Result<T, StoreError> {
        found.into_iter().next().ok_or(StoreError::NotFound)
    }

    fn by<B: Backend, T>(
        b: &B,
        table: &str,
        columns: &str,
        filter: &str,
        order: &str,
        params: Vec<Param>,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut filter = filter.to_owned();
        for i in (1..=params.len()).rev() {
            filter = filter.replace(&format!("#{i}"), &B::placeholder(i));
        }
        let sql = format!("SELECT {columns} FROM {table} WHERE {filter} ORDER BY {order}");
        b.select(&sql, params, decode)
    }

    impl<B: Backend> AssistanceStore for B {
        fn commit_assistance(&self, change: &AssistanceChange) -> Result<(), StoreError> {
            self.transact(&statements(change, B::placeholder), &change.audit)
        }

        fn agreement_record(&self, id: &str) -> Result<AgreementRecord, StoreError> {
            one(by(
                self,
                "assistance_agreements",
                cols::AGREEMENT,
                "agreement_id = #1",
                "agreement_id",
                vec![t(id)],
                cols::agreement,
            )?)
        }

        fn agreement_records(&self) -> Result<Vec<AgreementRecord>, StoreError> {
            by(
                self,
                "assistance_agreements",
                cols::AGREEMENT,
                "TRUE",
                "agreement_id",
                Vec::new(),
                cols::agreement,
            )
        }

        fn case_row(&self, id: &str) -> Result<CaseRow, StoreError> {
            one(by(
                self,
                "assistance_cases",
                cols::CASE,
                "case_id = #1",
                "case_id",
                vec![t(id)],
                cols::case,
            )?)
        }

        fn case_rows(&self, q: &CaseQuery) -> Result<Vec<CaseRow>, StoreError> {
            // Filters are added only when set, so no backend needs a typed NULL.
            let mut filter = vec!["TRUE".to_owned()];
            let mut params = Vec::new();
            for (column, value) in [
                ("holder", &q.holder),
                ("state", &q.state),
                ("desk", &q.desk),
            ] {
                if let Some(v) = value {
                    params.push(t(v));
                    filter.push(format!("{column} = #{}", params.len()));
                }
            }
            let order = format!("updated_at DESC, case_id LIMIT {}", q.effective_limit());
            by(
                self,
                "assistance_cases",
                cols::CASE,
                &filter.join(" AND "),
                &order,
                params,
                cols::case,
            )
        }

        fn case_transitions(&self, id: &str) -> Result<Vec<TransitionRow>, StoreError> {
            by(
                self,
                "assistance_transitions",
                cols::TRANSITION,
                "case_id = #1",
                "seq",
                vec![t(id)],
                cols::transition,
            )
        }

        fn case_messages(&self, id: &str) -> Result<Vec<CaseMessage>, StoreError> {
            by(
                self,
                "assistance_messages",
                cols::MESSAGE,
                "case_id = #1",
                "id",
                vec![t(id)],
                cols::message,
            )
        }

        fn messages_by_action(
            &self,
            action: &str,
            limit: u32,
        ) -> Result<Vec<CaseMessage>, StoreError> {
            let order = format!("id DESC LIMIT {}", limit.clamp(1, 100_000));
            by(
                self,
                "assistance_messages",
                cols::MESSAGE,
                "action = #1",
                &order,
                vec![t(action)],
                cols::message,
            )
        }

        fn case_message(&self, direction: &str, uuid: &str) -> Result<CaseMessage, StoreError> {
            let params = vec![t(direction), t(uuid)];
            one(by(
                self,
                "assistance_messages",
                cols::MESSAGE,
                "direction = #1 AND message_uuid = #2",
                "id",
                params,
                cols::message,
            )?)
        }

        fn queued_messages(&self, limit: u32) -> Result<Vec<CaseMessage>, StoreError> {
            let order = format!("id LIMIT {}", limit.clamp(1, 100_000));
            by(
                self,
                "assistance_messages",
                cols::MESSAGE,
                "state = 'queued'",
                &order,
                Vec::new(),
                cols::message,
            )
        }

        fn mark_dispatched(&self, uuid: &str, exchange_id: &str) -> Result<(), StoreError> {
            let sql = format!(
                "UPDATE assistance_messages SET state = 'dispatched', exchange_message_id = {}
                 WHERE direction = 'out' AND message_uuid = {} AND state = 'queued'",
                B::placeholder(1),
                B::placeholder(2)
            );
            match self.execute(&sql, vec![t(exchange_id), t(uuid)])? {
                1 => Ok(()),
                _ => Err(stale("message", uuid)),
            }
        }

        fn evidence_row(&self, id: &str) -> Result<EvidenceRow, StoreError> {
            one(by(
                self,
                "assistance_evidence",
                cols::EVIDENCE,
                "evidence_id = #1",
                "evidence_id",
                vec![t(id)],
                cols::evidence,
            )?)
        }

        fn case_evidence(&self, case_id: &str) -> Result<Vec<EvidenceRow>, StoreError> {
            by(
                self,
                "assistance_evidence",
                cols::EVIDENCE,
                "case_id = #1",
                "created_at, evidence_id",
                vec![t(case_id)],
                cols::evidence,
            )
        }

        fn custody_rows(&self, id: &str) -> Result<Vec<CustodyRow>, StoreError> {
            by(
                self,
                "assistance_custody",
                cols::CUSTODY,
                "evidence_id = #1",
                "seq",
                vec![t(id)],
                cols::custody,
            )
        }

        fn marking_rows(&self, item: &str) -> Result<Vec<MarkingRow>, StoreError> {
            by(
                self,
                "assistance_markings",
                cols::MARKING,
                "item_id = #1",
                "field, seq",
                vec![t(item)],
                cols::marking,
            )
        }

        fn consent_row(&self, id: &str) -> Result<ConsentRow, StoreError> {
            one(by(
                self,
                "assistance_consents",
                cols::CONSENT,
                "consent_id = #1",
                "consent_id",
                vec![t(id)],
                cols::consent,
            )?)
        }

        fn consent_rows(&self, case_id: Option<&str>) -> Result<Vec<ConsentRow>, StoreError> {
            let (filter, params) = match case_id {
                Some(c) => ("case_id = #1", vec![t(c)]),
                None => ("TRUE", Vec::new()),
            };
            by(
                self,
                "assistance_consents",
                cols::CONSENT,
                filter,
                "created_at DESC, consent_id",
                params,
                cols::consent,
            )
        }

        fn erasure_row(&self, id: &str) -> Result<ErasureRow, StoreError> {
            one(by(
                self,
                "assistance_erasures",
                cols::ERASURE,
                "erasure_id = #1",
                "erasure_id",
                vec![t(id)],
                cols::erasure,
            )?)
        }

        fn erasure_rows(&self, case_id: Option<&str>) -> Result<Vec<ErasureRow>, StoreError> {
            let (filter, params) = match case_id {
                Some(c) => ("case_id = #1", vec![t(c)]),
                None => ("TRUE", Vec::new()),
            };
            by(
                self,
                "assistance_erasures",
                cols::ERASURE,
                filter,
                "requested_at DESC, erasure_id",
                params,
                cols::erasure,
            )
        }

        fn hold_rows(&self, item_id: Option<&str>) -> Result<Vec<HoldRow>, StoreError> {
            let (filter, params) = match item_id {
                Some(i) => ("item_id = #1", vec![t(i)]),
                None => ("TRUE", Vec::new()),
            };
            by(
                self,
                "assistance_holds",
                cols::HOLD,
                filter,
                "placed_at DESC, hold_id",
                params,
                cols::hold,
            )
        }

        fn proposal_row(&self, id: &str) -> Result<ProposalRow, StoreError> {
            one(by(
                self,
                "assistance_proposals",
                cols::PROPOSAL,
                "proposal_id = #1",
                "proposal_id",
                vec![t(id)],
                cols::proposal,
            )?)
        }

        fn proposal_rows(&self, state: Option<&str>) -> Result<Vec<ProposalRow>, StoreError> {
            let (filter, params) = match state {
                Some(s) => ("state = #1", vec![t(s)]),
                None => ("TRUE", Vec::new()),
            };
            by(
                self,
                "assistance_proposals",
                cols::PROPOSAL,
                filter,
                "created_at DESC, proposal_id",
                params,
                cols::proposal,
            )
        }
    }
}
