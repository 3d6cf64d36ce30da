//! [`AssistanceNode`]: every user action of the assistance workflow, as one store transaction
//! plus a message to the partner.
//!
//! Why the shape "load, apply the pure core, build one change, commit, then dispatch": the
//! pure core decides (intake, state machine, gates, use control); this module only loads its
//! inputs and writes its outputs. A refusal writes nothing but a refused audit row carrying
//! the core's code. Outbound messages are written as `queued` rows inside the change and
//! handed to the exchange afterwards by [`AssistanceNode::dispatch`], so a crash between the
//! two leaves a queued row that the next pump sends — the message is never lost.
//!
//! Every method is blocking (store IO); async callers run it on a blocking thread. Time is
//! always a parameter (`now`, Unix ms), so tests and the demo can play a case over months.

use std::collections::BTreeSet;
use std::sync::Arc;

use caravan_assistance::agreement::{
    Agreement, AgreementState, AssuranceState, Purpose, Status, Traffic,
};
use caravan_assistance::approval::AgreementChange;
use caravan_assistance::catalogue::{self, RequestDraft};
use caravan_assistance::evidence::{CustodyKind, EvidenceRecord, Form, ManifestEntry};
use caravan_assistance::lifecycle::{By, Carriage, Case, CaseRecord, Event, ReplyItem, Side};
use caravan_assistance::marking::{ItemMarkings, Markings};
use caravan_assistance::retention::{Propagation, PropagationKind};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_assistance::usecontrol::{
    self, ConsentCase, ConsentDecision, Provenance, Recipient, UseAction, UseGrant, UseRequest,
};
use caravan_exchange::node::{Exchange, OutboundMessage, OutboundPart, ReceivedMessage, uuid_v7};
use caravan_exchange::parts::{OutboundFile, PartSource};
use caravan_store::Store;
use caravan_store::access::{AuditEvent, AuditOutcome};
use caravan_store::assistance::{
    AgreementRecord, AssistanceChange, CaseMessage, CaseRow, ConsentRow, CustodyRow, ErasureRow,
    EvidenceRow, MarkingRow, TransitionRow,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::at_rest::{AT_REST_REFERENCE, EvidenceContent, EvidenceVault, StoredFile, VaultWriter};
use crate::crypto::EvidenceKey;
use crate::error::{AssistError, ErrorKind};
use crate::wire::{self, Body, Content, Official};

/// Who this node is, in the exchange's and in the agreement's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The agreement this node works under.
    pub agreement_id: String,
    /// This node's exchange party id, e.g. `US-CBP`.
    pub party: String,
    /// This administration's party code in the agreement, e.g. `US`.
    pub admin: String,
    /// The partner node's exchange party id, e.g. `UZ-CUSTOMS`.
    pub partner_party: String,
    /// The partner's party code in the agreement, e.g. `UZ`.
    pub partner_admin: String,
    /// Where custody events happen on this node (§6 "place").
    pub place: String,
    /// The desk incoming requests are assigned to.
    pub intake_desk: String,
}

impl NodeConfig {
    /// The configuration for one side of the US–UZ agreement, with the testkit's party ids.
    pub fn us_uz(us_side: bool) -> NodeConfig {
        let (party, admin, partner_party, partner_admin, place, desk) = if us_side {
            (
                "US-CBP",
                "US",
                "UZ-CUSTOMS",
                "UZ",
                "CBP OIA, Washington DC",
                "us-cbp-ilo-desk",
            )
        } else {
            (
                "UZ-CUSTOMS",
                "UZ",
                "US-CBP",
                "US",
                "Customs Committee, Tashkent",
                "uz-cc-intl-desk",
            )
        };
        NodeConfig {
            agreement_id: "us-uz-cmaa-2024".into(),
            party: party.into(),
            admin: admin.into(),
            partner_party: partner_party.into(),
            partner_admin: partner_admin.into(),
            place: place.into(),
            intake_desk: desk.into(),
        }
    }
}

/// What changed in an agreement since its file was loaded (stored as JSON beside the file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    pub status: Option<Status>,
    pub assurance: Option<AssuranceState>,
    pub version: Option<u32>,
    /// The contact-point directory after a two-person §1.8 change.
    #[serde(default)]
    pub directory: Option<caravan_assistance::agreement::Directory>,
    /// Each party's directory section version (§1.8 `Directory.Update`), once it moved past
    /// the file's.
    #[serde(default)]
    pub sections: std::collections::BTreeMap<String, u32>,
    /// The partner's `Directory.Update`s that arrived ahead of their predecessor (refused
    /// as `directory_version_gap` when they came), applied as soon as it arrives.
    #[serde(default)]
    pub parked_directory: Vec<caravan_assistance::agreement::DirectoryUpdate>,
    /// The history of status and assurance changes: what, when, by whom, citing what.
    #[serde(default)]
    pub history: Vec<serde_json::Value>,
}

/// One evidence file as an officer uploads it.
#[derive(Debug)]
pub struct EvidenceUpload {
    pub name: String,
    pub media_type: String,
    pub content: UploadContent,
    pub form: Form,
    pub certification: Option<String>,
    pub markings: Markings,
    pub permitted_uses: Vec<Purpose>,
}

/// The bytes of an uploaded evidence file.
#[derive(Debug)]
pub enum UploadContent {
    /// Small files given whole (the CLI's and the tests' fixtures); written to the vault by
    /// [`AssistanceNode::reply`].
    Bytes(Vec<u8>),
    /// A file already streamed into the vault ([`AssistanceNode::upload_writer`]); its
    /// evidence id becomes the item's id. Removed again if the reply is refused.
    Stored(StoredFile),
}

/// A request for consent to another use (§10.3), as an officer files it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentAsk {
    pub case_id: String,
    pub items: Vec<String>,
    pub purpose: Purpose,
    pub recipient: Recipient,
    pub justification: String,
    pub proceedings_reference: Option<String>,
    pub needed_by: NaiveDate,
}

/// What one pump did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PumpReport {
    /// Outbound messages handed to the exchange.
    pub dispatched: u32,
    /// Outbound messages the exchange refused for now (left queued), with the code.
    pub held: Vec<(String, &'static str)>,
    /// Transport receipts applied to our requests.
    pub receipts: u32,
    /// Inbound messages applied.
    pub applied: u32,
    /// Inbound messages refused, with the code (audited).
    pub rejected: Vec<(String, String)>,
}

/// The date of a Unix-ms instant (UTC).
pub fn today(now: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// The node's assistance workflow.
pub struct AssistanceNode {
    pub(crate) store: Arc<dyn Store>,
    pub exchange: Option<Arc<Exchange>>,
    pub(crate) config: NodeConfig,
    pub(crate) key: EvidenceKey,
    pub(crate) vault: EvidenceVault,
}

pub(crate) fn side_code(side: Side) -> &'static str {
    side.code()
}

pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("assistance values always serialise")
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    text: &str,
    what: &str,
) -> Result<T, AssistError> {
    serde_json::from_str(text).map_err(|e| AssistError::internal(format!("stored {what}: {e}")))
}

/// An audit event.
pub(crate) fn audit_event(
    account: &str,
    role: &str,
    action: &str,
    object: &str,
    refused: Option<&str>,
    detail: serde_json::Value,
    now: i64,
) -> AuditEvent {
    AuditEvent {
        at: now,
        account: account.to_owned(),
        role: role.to_owned(),
        action: action.to_owned(),
        object: object.to_owned(),
        outcome: if refused.is_some() {
            AuditOutcome::Refused
        } else {
            AuditOutcome::Allowed
        },
        code: refused.map(str::to_owned),
        detail: detail.to_string(),
    }
}

pub(crate) fn allowed(
    actor: &Actor,
    action: &str,
    object: &str,
    detail: serde_json::Value,
    now: i64,
) -> AuditEvent {
    audit_event(
        &actor.account,
        actor.role.code(),
        action,
        object,
        None,
        detail,
        now,
    )
}

/// Builds a case row from the case the state machine holds.
pub(crate) fn case_row(
    case: &Case,
    request: &RequestDraft,
    partner: &str,
    previous: Option<&CaseRow>,
    now: i64,
) -> CaseRow {
    let mut types: Vec<&str> = case.types.iter().map(|t| t.code()).collect();
    types.dedup();
    CaseRow {
        case_id: case.id.clone(),
        agreement_id: case.agreement_id.clone(),
        holder: case.holder.code().to_owned(),
        partner: partner.to_owned(),
        desk: case.desk.clone(),
        types: types.join(","),
        state: case.state.code().to_owned(),
        subject: request.subject.clone(),
        reply_due: case.reply_due().map(|d| d.to_string()),
        overdue: case.overdue,
        request: json(request),
        snapshot: json(case),
        created_at: previous.map_or(now, |p| p.created_at),
        updated_at: now,
        version: previous.map_or(1, |p| p.version + 1),
    }
}

/// The transition rows of the records a case gained.
pub(crate) fn transition_rows(
    case: &Case,
    since: usize,
    account: &str,
    detail: &serde_json::Value,
    now: i64,
) -> Vec<TransitionRow> {
    case.records[since..]
        .iter()
        .map(|r: &CaseRecord| TransitionRow {
            case_id: case.id.clone(),
            seq: r.seq as i64,
            action: r.action.code().to_owned(),
            from_state: r.from.code().to_owned(),
            to_state: r.to.code().to_owned(),
            side: side_code(r.by).to_owned(),
            account: account.to_owned(),
            on_date: r.on.to_string(),
            at: now,
            detail: detail.to_string(),
        })
        .collect()
}

/// The custody rows of the events a record gained.
pub(crate) fn custody_rows(record: &EvidenceRecord, since: usize, now: i64) -> Vec<CustodyRow> {
    record.custody[since..]
        .iter()
        .enumerate()
        .map(|(i, e)| CustodyRow {
            evidence_id: record.id.clone(),
            seq: (since + i + 1) as i64,
            kind: e.kind.code().to_owned(),
            actor: e.actor.clone(),
            on_date: e.on.to_string(),
            place: e.place.clone(),
            file_sha256: e.file_sha256.clone(),
            chain: e.chain.clone(),
            at: now,
        })
        .collect()
}

pub(crate) fn marking_row(
    item_id: &str,
    field: &str,
    seq: i64,
    m: &Markings,
    set_by: &str,
    reason: &str,
    now: i64,
) -> MarkingRow {
    MarkingRow {
        item_id: item_id.to_owned(),
        field: field.to_owned(),
        seq,
        tlp: m.tlp.code().to_owned(),
        pap: m.pap.code().to_owned(),
        caveats: m
            .caveats
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(","),
        set_by: set_by.to_owned(),
        reason: reason.to_owned(),
        at: now,
    }
}

/// The current markings of an item from its stored history (latest per field).
pub(crate) fn current_markings(rows: &[MarkingRow]) -> Result<Option<ItemMarkings>, AssistError> {
    let decode = |r: &MarkingRow| -> Result<Markings, AssistError> {
        let tlp = caravan_assistance::marking::Tlp::parse(&r.tlp)
            .ok_or_else(|| AssistError::internal(format!("stored TLP {:?}", r.tlp)))?;
        let pap = caravan_assistance::marking::Pap::parse(&r.pap)
            .ok_or_else(|| AssistError::internal(format!("stored PAP {:?}", r.pap)))?;
        let mut m = Markings::new(tlp, pap);
        for c in r.caveats.split(',').filter(|c| !c.is_empty()) {
            m = m.with_caveat(c)?;
        }
        Ok(m)
    };
    let mut item: Option<ItemMarkings> = None;
    for r in rows.iter().filter(|r| r.field.is_empty()) {
        item = Some(ItemMarkings::new(decode(r)?));
    }
    let Some(mut item) = item else {
        return Ok(None);
    };
    for r in rows.iter().filter(|r| !r.field.is_empty()) {
        item.fields.insert(r.field.clone(), decode(r)?);
    }
    Ok(Some(item))
}

impl AssistanceNode {
    /// A workflow over `store`, sending through `exchange` when there is one (without, messages
    /// stay queued until a node with an exchange pumps them). Evidence files are kept
    /// encrypted under `evidence_dir` (`<data dir>/evidence` for `caravan serve`).
    pub fn new(
        store: Arc<dyn Store>,
        exchange: Option<Arc<Exchange>>,
        config: NodeConfig,
        key: EvidenceKey,
        evidence_dir: impl Into<std::path::PathBuf>,
    ) -> AssistanceNode {
        let vault = EvidenceVault::new(evidence_dir, &key);
        AssistanceNode {
            store,
            exchange,
            config,
            key,
            vault,
        }
    }

    /// A writer that streams an officer's upload into the vault under a fresh evidence id,
    /// refusing more than `limit` bytes (`evidence_too_large`). Finish it and pass the file
    /// to [`AssistanceNode::reply`] as [`UploadContent::Stored`].
    pub fn upload_writer(&self, now: i64, limit: u64) -> Result<VaultWriter, AssistError> {
        self.vault
            .writer(&format!("EV-{}", uuid_v7(now as u64)), limit)
    }

    /// Streams an officer's evidence file into the vault ahead of the reply that carries it
    /// (§6), so a file of hundreds of MB never sits whole in memory or in a JSON body: only
    /// roles that may reply may stage (`role_not_permitted`), at most `limit` bytes
    /// (`evidence_too_large`), never empty (`evidence_empty`). The file is kept under its new
    /// evidence id, which the reply names ([`AssistanceNode::staged`]); an upload no reply
    /// claims is removed by the vault's sweep after an hour.
    pub fn stage_upload(
        &self,
        actor: &Actor,
        reader: &mut dyn std::io::Read,
        limit: u64,
        now: i64,
    ) -> Result<StoredFile, AssistError> {
        self.audited(actor, "evidence.upload", "upload", now, || {
            roles::check(actor, Capability::AcknowledgeAndPartialReply, true)?;
            let mut writer = self.upload_writer(now, limit)?;
            std::io::copy(reader, &mut writer)
                .map_err(|e| crate::at_rest::from_io(e, "uploading evidence"))?;
            let stored = writer.finish()?;
            if stored.size == 0 {
                return Err(AssistError::bad_input(
                    "evidence_empty",
                    "an evidence file must not be empty",
                ));
            }
            Ok(stored)
        })
    }

    /// A staged upload ([`AssistanceNode::stage_upload`]) as a reply's file content: it must
    /// still be in the vault, open under this node's key, and not belong to a stored item
    /// already (`evidence_upload_used`).
    pub fn staged(&self, evidence_id: &str) -> Result<UploadContent, AssistError> {
        if !evidence_id.starts_with("EV-") {
            return Err(AssistError::bad_input(
                "evidence_upload_invalid",
                format!("{evidence_id:?} is not a staged upload id"),
            ));
        }
        match self.store.evidence_row(evidence_id) {
            Ok(_) => {
                return Err(AssistError::new(
                    ErrorKind::Conflict,
                    "evidence_upload_used",
                    format!("upload {evidence_id} already belongs to a reply"),
                ));
            }
            Err(caravan_store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(UploadContent::Stored(self.vault.adopt(evidence_id)?))
    }

    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Records a refusal of a user action in the audit trail and returns it.
    pub(crate) fn refuse(
        &self,
        actor: &Actor,
        action: &str,
        object: &str,
        error: AssistError,
        now: i64,
    ) -> AssistError {
        if error.is_refusal() {
            let event = audit_event(
                &actor.account,
                actor.role.code(),
                action,
                object,
                Some(error.code),
                serde_json::json!({ "message": error.message }),
                now,
            );
            if let Err(e) = self.store.append_audit(&event) {
                return AssistError::from(e);
            }
        }
        error
    }

    /// Runs a user action; a refusal is audited under `action` and `object`.
    pub(crate) fn audited<T>(
        &self,
        actor: &Actor,
        action: &str,
        object: &str,
        now: i64,
        run: impl FnOnce() -> Result<T, AssistError>,
    ) -> Result<T, AssistError> {
        run().map_err(|e| self.refuse(actor, action, object, e, now))
    }

    // ---- agreements -------------------------------------------------------------------

    /// Installs an agreement file on this node if it is not configured yet (idempotent).
    pub fn install_agreement(&self, toml: &str, now: i64) -> Result<Agreement, AssistError> {
        let agreement = Agreement::from_toml(toml)
            .map_err(|e| AssistError::bad_input(e.code, format!("agreement file: {e}")))?;
        match self.store.agreement_record(&agreement.id) {
            Ok(_) => return self.agreement_by_id(&agreement.id),
            Err(caravan_store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let record = AgreementRecord {
            agreement_id: agreement.id.clone(),
            version: 1,
            state: agreement.status.state.code().to_owned(),
            assurance: agreement.assurance.state.code().to_owned(),
            base_toml: toml.to_owned(),
            overlay: json(&Overlay::default()),
            updated_at: now,
        };
        let change = AssistanceChange {
            agreement: Some(record),
            audit: vec![audit_event(
                "node",
                "system",
                "agreement.install",
                &agreement.id,
                None,
                serde_json::json!({ "version": agreement.version, "state": agreement.status.state }),
                now,
            )],
            ..AssistanceChange::default()
        };
        match self.store.commit_assistance(&change) {
            // Another process installed it first: same file, same outcome.
            Ok(()) | Err(caravan_store::StoreError::Conflict(_)) => Ok(agreement),
            Err(e) => Err(e.into()),
        }
    }

    fn agreement_by_id(&self, id: &str) -> Result<Agreement, AssistError> {
        let record = self.store.agreement_record(id).map_err(|e| match e {
            caravan_store::StoreError::NotFound => AssistError::new(
                ErrorKind::Refused,
                "agreement_not_configured",
                format!("agreement {id} is not configured on this node"),
            ),
            other => other.into(),
        })?;
        Ok(load_agreement(&record)?.1)
    }

    /// The node's agreement with its current status and assurance. The assurance is the
    /// stricter of the agreement's own state and the exchange registry's gate for the
    /// partner (§1.9): both are set together by [`AssistanceNode::set_assurance`], and a gate
    /// tightened through `caravan partner set-assurance` binds this workflow at once, while
    /// loosening needs the two-person change here.
    pub fn agreement(&self) -> Result<Agreement, AssistError> {
        let mut agreement = self.agreement_by_id(&self.config.agreement_id)?;
        if let Some(gate) = self.registry_assurance()?
            && gate > agreement.assurance.state
        {
            agreement.assurance.state = gate;
        }
        Ok(agreement)
    }

    /// The exchange registry's assurance state for the partner, if it is registered.
    pub fn registry_assurance(&self) -> Result<Option<AssuranceState>, AssistError> {
        Ok(self
            .store
            .partners()?
            .into_iter()
            .find(|p| {
                p.agreement_id == self.config.agreement_id && p.party == self.config.partner_party
            })
            .and_then(|p| AssuranceState::parse(&p.assurance)))
    }

    /// §1.2: a status change by two people (administrator + supervisor) citing the legal act.
    /// Both accounts act at once here (CLI, demo); the API and the pages use a proposal and
    /// a later approval (`approval.rs`), which make the same change.
    pub fn set_agreement_status(
        &self,
        to: AgreementState,
        effective: NaiveDate,
        legal_act: &str,
        approvers: [&Actor; 2],
        now: i64,
    ) -> Result<Agreement, AssistError> {
        let change = AgreementChange::Status {
            to,
            effective,
            legal_act: legal_act.to_owned(),
        };
        self.audited(
            approvers[0],
            "agreement.status",
            &self.config.agreement_id,
            now,
            || self.apply_agreement_change(&change, approvers, AssistanceChange::default(), now),
        )
    }

    /// §1.9: an assurance change by a supervisor and the data-protection officer, with
    /// reasons. The exchange registry's gate for the partner changes in the same transaction.
    pub fn set_assurance(
        &self,
        to: AssuranceState,
        reason: &str,
        approvers: [&Actor; 2],
        now: i64,
    ) -> Result<Agreement, AssistError> {
        let change = AgreementChange::Assurance {
            to,
            reason: reason.to_owned(),
        };
        self.audited(
            approvers[0],
            "agreement.assurance",
            &self.config.agreement_id,
            now,
            || self.apply_agreement_change(&change, approvers, AssistanceChange::default(), now),
        )
    }

    // ---- requests ---------------------------------------------------------------------

    pub(crate) fn load_case(
        &self,
        case_id: &str,
    ) -> Result<(CaseRow, Case, RequestDraft), AssistError> {
        let row = self.store.case_row(case_id).map_err(|e| match e {
            caravan_store::StoreError::NotFound => AssistError::not_found("request", case_id),
            other => other.into(),
        })?;
        let case: Case = parse(&row.snapshot, "case")?;
        let request: RequestDraft = parse(&row.request, "request")?;
        Ok((row, case, request))
    }

    /// Creates a written request in `draft` (§2.2): every mandatory item is checked and all
    /// gaps are listed at once; the agreement must be in force and the partner's assurance
    /// must allow a request. The node's own facts (agreement, both administrations) are
    /// filled in when left empty.
    pub fn create_request(
        &self,
        actor: &Actor,
        draft: RequestDraft,
        desk: &str,
        now: i64,
    ) -> Result<CaseRow, AssistError> {
        self.audited(actor, "request.create", "new", now, || {
            let case_id = format!("REQ-{}", uuid_v7(now as u64));
            self.draft_case(actor, draft, desk, &case_id, now)
        })
    }

    /// A draft under `case_id` (a new id, or the id of the partner's oral record that the
    /// written request confirms), checked as [`AssistanceNode::create_request`] says.
    pub(crate) fn draft_case(
        &self,
        actor: &Actor,
        mut draft: RequestDraft,
        desk: &str,
        case_id: &str,
        now: i64,
    ) -> Result<CaseRow, AssistError> {
        {
            roles::check(actor, Capability::DraftRequests, true)?;
            if desk.trim().is_empty() {
                return Err(AssistError::bad_input(
                    "desk_missing",
                    "a desk must be named",
                ));
            }
            let agreement = self.agreement()?;
            let on = today(now);
            for (field, value) in [
                (&mut draft.agreement_id, &agreement.id),
                (&mut draft.requesting_administration, &self.config.admin),
                (
                    &mut draft.requested_administration,
                    &self.config.partner_admin,
                ),
            ] {
                if field.trim().is_empty() {
                    *field = value.clone();
                }
            }
            let valid = catalogue::validate(draft.clone(), &agreement, on)?;
            agreement.check_outbound(Traffic::RequestForInformation, on)?;
            agreement.check_assurance(Traffic::RequestForInformation, false)?;
            let case = Case::draft(case_id, desk, &valid, on);
            let row = case_row(&case, valid.draft(), &self.config.partner_party, None, now);
            let change = AssistanceChange {
                cases: vec![row.clone()],
                audit: vec![allowed(
                    actor,
                    "request.create",
                    case_id,
                    serde_json::json!({ "types": row.types, "desk": desk }),
                    now,
                )],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(row)
        }
    }

    /// Applies one of our side's events to a case and queues its message to the partner.
    /// `audit_action` names it in the trail (`request.send`, `request.acknowledge`, …).
    pub fn act(
        &self,
        actor: &Actor,
        approver: Option<&Actor>,
        case_id: &str,
        event: Event,
        audit_action: &str,
        now: i64,
    ) -> Result<CaseRow, AssistError> {
        self.audited(actor, audit_action, case_id, now, || {
            let (row, mut case, request) = self.load_case(case_id)?;
            let agreement = self.agreement()?;
            let by = By::Officer {
                side: case.holder,
                actor: actor.clone(),
                approved_by: approver.cloned(),
            };
            let since = case.records.len();
            let on = today(now).max(case.last_on);
            let carriage = case.apply(event.clone(), by, on, &agreement)?.carriage;
            let detail = event_detail(&event);
            let mut change = AssistanceChange {
                cases: vec![case_row(&case, &request, &row.partner, Some(&row), now)],
                transitions: transition_rows(&case, since, &actor.account, &detail, now),
                audit: vec![allowed(actor, audit_action, case_id, detail, now)],
                ..AssistanceChange::default()
            };
            if let Carriage::ToPartner(action) = carriage {
                let content = match event {
                    Event::Submit => Content::Submit {
                        request: Box::new(request.clone()),
                        desk: case.desk.clone(),
                    },
                    other => Content::Transition {
                        event: other,
                        evidence: Vec::new(),
                    },
                };
                change.messages.push(self.outbound(
                    &case.id,
                    &row.partner,
                    action,
                    actor,
                    approver,
                    on,
                    content,
                    now,
                ));
            }
            self.store.commit_assistance(&change)?;
            Ok(change.cases.remove(0))
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// A queued outbound message row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn outbound(
        &self,
        case_id: &str,
        peer: &str,
        action: &str,
        by: &Actor,
        approver: Option<&Actor>,
        on: NaiveDate,
        content: Content,
        now: i64,
    ) -> CaseMessage {
        let message_uuid = uuid_v7(now as u64);
        let body = Body {
            message_uuid: message_uuid.clone(),
            case_id: case_id.to_owned(),
            agreement_id: self.config.agreement_id.clone(),
            on,
            by: Official::from(by),
            approved_by: approver.map(Official::from),
            content,
        };
        CaseMessage {
            message_uuid,
            direction: "out".into(),
            case_id: case_id.to_owned(),
            peer: peer.to_owned(),
            action: action.to_owned(),
            body: json(&body),
            exchange_message_id: None,
            state: "queued".into(),
            code: None,
            created_at: now,
        }
    }

    /// Replies (in full, or in part when `partial` names what is outstanding and when) with
    /// evidence files. Each file gets a manifest entry with its SHA-256, supplier, date and
    /// form, is stored encrypted, and travels as its own part. A reply by a desk officer
    /// needs a supervisor's approval (§3.2); sharing is refused while the partner's assurance
    /// is withdrawn.
    pub fn reply(
        &self,
        actor: &Actor,
        approver: Option<&Actor>,
        case_id: &str,
        files: Vec<EvidenceUpload>,
        partial: Option<(Vec<String>, NaiveDate)>,
        now: i64,
    ) -> Result<CaseRow, AssistError> {
        let action = if partial.is_some() {
            "request.partial_reply"
        } else {
            "request.reply"
        };
        self.audited(actor, action, case_id, now, || {
            let (row, mut case, request) = self.load_case(case_id)?;
            let agreement = self.agreement()?;
            let on = today(now).max(case.last_on);
            let supplier = format!("{}:{}", self.config.admin, actor.account);
            let mut records = Vec::new();
            let mut manifest = Vec::new();
            let mut items = Vec::new();
            let mut stored_files = Vec::new();
            // One package id per reply, a suffix per file: the files keep their order.
            let package = uuid_v7(now as u64);
            for (index, file) in files.into_iter().enumerate() {
                let uses: BTreeSet<Purpose> = file.permitted_uses.iter().copied().collect();
                usecontrol::check_received_uses(&agreement, &uses)?;
                let stored = match file.content {
                    UploadContent::Stored(stored) => stored,
                    UploadContent::Bytes(bytes) => self.vault.store_from(
                        &format!("EV-{package}-{:02}", index + 1),
                        &mut bytes.as_slice(),
                        u64::MAX,
                    )?,
                };
                let entry = ManifestEntry {
                    id: stored.evidence_id.clone(),
                    name: file.name,
                    media_type: file.media_type,
                    size: stored.size,
                    sha256: stored.sha256.clone(),
                    supplier: supplier.clone(),
                    supplied_on: on,
                    form: file.form,
                    certification: file.certification,
                    markings: file.markings.clone(),
                    permitted_uses: file.permitted_uses.clone(),
                };
                let mut record = EvidenceRecord::create(entry.clone(), &self.config.place)?;
                if entry.form == Form::CertifiedCopy {
                    record.custody_digest(
                        CustodyKind::Certified,
                        &stored.sha256,
                        &supplier,
                        on,
                        &self.config.place,
                    )?;
                }
                record.custody_digest(
                    CustodyKind::Sent,
                    &stored.sha256,
                    &supplier,
                    on,
                    &self.config.place,
                )?;
                items.push(ReplyItem {
                    item_id: entry.id.clone(),
                    markings: file.markings,
                    permitted_uses: file.permitted_uses,
                });
                stored_files.push(stored);
                manifest.push(entry);
                records.push(record);
            }
            let event = match partial {
                Some((outstanding, expected_on)) => Event::PartialReply {
                    items,
                    outstanding,
                    expected_on,
                },
                None => Event::Reply { items },
            };
            let by = By::Officer {
                side: case.holder,
                actor: actor.clone(),
                approved_by: approver.cloned(),
            };
            let since = case.records.len();
            let carriage = case.apply(event.clone(), by, on, &agreement)?.carriage;
            let Carriage::ToPartner(message_action) = carriage else {
                return Err(AssistError::internal(
                    "a reply always travels to the partner",
                ));
            };
            let detail = serde_json::json!({
                "evidence": manifest.iter().map(|m| serde_json::json!({
                    "id": m.id, "name": m.name, "sha256": m.sha256, "form": m.form,
                })).collect::<Vec<_>>(),
            });
            let mut change = AssistanceChange {
                cases: vec![case_row(&case, &request, &row.partner, Some(&row), now)],
                transitions: transition_rows(&case, since, &actor.account, &detail, now),
                audit: vec![allowed(actor, action, case_id, detail, now)],
                ..AssistanceChange::default()
            };
            let provider = format!("provider:{}", self.config.party);
            for record in &records {
                change.custody.extend(custody_rows(record, 0, now));
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
                    origin: "own".into(),
                    provider: self.config.party.clone(),
                    sha256: record.sha256.clone(),
                    record: json(record),
                    blob: None,
                    reference: Some(AT_REST_REFERENCE.to_owned()),
                    erased_at: None,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                });
            }
            change.messages.push(self.outbound(
                &case.id,
                &row.partner,
                message_action,
                actor,
                approver,
                on,
                Content::Transition {
                    event,
                    evidence: manifest,
                },
                now,
            ));
            self.commit_with_files(&change, stored_files)?;
            Ok(change.cases.remove(0))
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// Reminders (§1.5) on our requests whose reply is due: each is a `Request.Reminder` to
    /// the partner and flags the case overdue once the deadline has passed. Returns the cases
    /// reminded.
    pub fn run_reminders(&self, now: i64) -> Result<Vec<String>, AssistError> {
        let agreement = self.agreement()?;
        let on = today(now);
        let mut reminded = Vec::new();
        let rows = self
            .store
            .case_rows(&caravan_store::assistance::CaseQuery {
                holder: Some("requester".into()),
                ..Default::default()
            })?;
        for row in rows {
            let (row, mut case, request) = self.load_case(&row.case_id)?;
            if !case.state.is_open() {
                continue;
            }
            let since = case.records.len();
            if case
                .apply(
                    Event::Reminder,
                    By::Node(Side::Requester),
                    on.max(case.last_on),
                    &agreement,
                )
                .is_err()
            {
                continue;
            }
            let node = Actor::new("node", caravan_assistance::roles::Role::DeskOfficer);
            let detail = serde_json::json!({ "reminders_sent": case.reminders_sent, "overdue": case.overdue });
            let change = AssistanceChange {
                cases: vec![case_row(&case, &request, &row.partner, Some(&row), now)],
                transitions: transition_rows(&case, since, "node", &detail, now),
                messages: vec![self.outbound(
                    &case.id,
                    &row.partner,
                    "Request.Reminder",
                    &node,
                    None,
                    on.max(case.last_on),
                    Content::Transition {
                        event: Event::Reminder,
                        evidence: Vec::new(),
                    },
                    now,
                )],
                audit: vec![audit_event(
                    "node",
                    "system",
                    "request.reminder",
                    &case.id,
                    None,
                    detail,
                    now,
                )],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            reminded.push(case.id.clone());
        }
        reminded.extend(self.run_confirmation_alerts(now)?);
        reminded.extend(self.run_original_reminders(now)?);
        self.dispatch_quietly(now);
        Ok(reminded)
    }

    // ---- consent ----------------------------------------------------------------------

    /// Asks the provider for consent to another use of items it supplied (§10.3). The use
    /// stays blocked until a grant arrives.
    pub fn request_consent(
        &self,
        actor: &Actor,
        ask: ConsentAsk,
        now: i64,
    ) -> Result<ConsentRow, AssistError> {
        let case_id = ask.case_id.clone();
        self.audited(actor, "consent.request", &case_id, now, || {
            let (row, case, _) = self.load_case(&ask.case_id)?;
            let agreement = self.agreement()?;
            agreement.check_outbound(Traffic::Consent, today(now))?;
            agreement.check_assurance(Traffic::Consent, false)?;
            for item in &ask.items {
                let ev = self.store.evidence_row(item).map_err(|e| match e {
                    caravan_store::StoreError::NotFound => AssistError::not_found("evidence", item),
                    other => other.into(),
                })?;
                if ev.case_id != case.id || ev.origin != "partner" {
                    return Err(AssistError::new(
                        ErrorKind::Refused,
                        "consent_item_not_partner_data",
                        format!(
                            "{item} is not an item the partner supplied in case {}",
                            case.id
                        ),
                    ));
                }
            }
            let consent_id = format!("CON-{}", uuid_v7(now as u64));
            let consent = ConsentCase::request(
                &consent_id,
                actor,
                ask.items,
                ask.purpose,
                ask.recipient,
                &ask.justification,
                ask.proceedings_reference,
                ask.needed_by,
            )?;
            let consent_row = ConsentRow {
                consent_id: consent_id.clone(),
                case_id: case.id.clone(),
                direction: "outbound".into(),
                state: consent.state.code().to_owned(),
                purpose: consent.purpose.code().to_owned(),
                recipient_class: consent.recipient.class().to_owned(),
                snapshot: json(&consent),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let detail = serde_json::json!({
                "consent_id": consent_id, "purpose": consent.purpose,
                "recipient": consent.recipient, "items": consent.items,
            });
            let change = AssistanceChange {
                consents: vec![consent_row.clone()],
                messages: vec![self.outbound(
                    &case.id,
                    &row.partner,
                    "Consent.Request",
                    actor,
                    None,
                    today(now),
                    Content::ConsentRequest { consent },
                    now,
                )],
                audit: vec![allowed(actor, "consent.request", &case.id, detail, now)],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(consent_row)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// The provider's decision on a consent request it received (§10.3), by a supervisor.
    pub fn decide_consent(
        &self,
        actor: &Actor,
        consent_id: &str,
        decision: ConsentDecision,
        now: i64,
    ) -> Result<ConsentRow, AssistError> {
        self.audited(actor, "consent.decide", consent_id, now, || {
            let row = self.store.consent_row(consent_id).map_err(|e| match e {
                caravan_store::StoreError::NotFound => {
                    AssistError::not_found("consent", consent_id)
                }
                other => other.into(),
            })?;
            if row.direction != "inbound" {
                return Err(AssistError::new(
                    ErrorKind::Refused,
                    "consent_not_ours_to_decide",
                    "only the provider decides; this node asked for this consent",
                ));
            }
            let (case_row_, _, _) = self.load_case(&row.case_id)?;
            let traffic = if matches!(decision, ConsentDecision::Refused { .. }) {
                Traffic::ConsentRefusal
            } else {
                Traffic::Consent
            };
            let agreement = self.agreement()?;
            agreement.check_outbound(traffic, today(now))?;
            agreement.check_assurance(
                traffic,
                actor.role == caravan_assistance::roles::Role::Supervisor,
            )?;
            let mut consent: ConsentCase = parse(&row.snapshot, "consent")?;
            consent.decide(decision.clone(), actor)?;
            let next = ConsentRow {
                state: consent.state.code().to_owned(),
                snapshot: json(&consent),
                updated_at: now,
                version: row.version + 1,
                ..row.clone()
            };
            let detail = serde_json::json!({ "consent_id": consent_id, "decision": decision });
            let change = AssistanceChange {
                consents: vec![next.clone()],
                messages: vec![self.outbound(
                    &row.case_id,
                    &case_row_.partner,
                    "Consent.Decision",
                    actor,
                    None,
                    today(now),
                    Content::ConsentDecision {
                        consent_id: consent_id.to_owned(),
                        decision,
                    },
                    now,
                )],
                audit: vec![allowed(actor, "consent.decide", consent_id, detail, now)],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(next)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    // ---- evidence use, markings, erasure ---------------------------------------------

    /// One use of an evidence file (§10.2): view, download, export, disclose, present in
    /// proceedings… Partner data passes the four tests of the use check (agreement, purpose
    /// or a consent grant, markings, role and need to know); the refusal is audited with its
    /// code. An allowed use reads the file through once (every segment authenticated, its
    /// SHA-256 compared with the record: an altered file is refused with
    /// `evidence_at_rest_corrupt` before anything is recorded or served), appends the custody
    /// event and its audit row, and only then returns the content to stream.
    #[allow(clippy::too_many_arguments)]
    pub fn use_evidence(
        &self,
        actor: &Actor,
        evidence_id: &str,
        action: UseAction,
        purpose: Purpose,
        recipient: Recipient,
        now: i64,
    ) -> Result<(EvidenceRecord, EvidenceContent), AssistError> {
        let audit_action = format!("evidence.{}", action.code());
        self.audited(actor, &audit_action, evidence_id, now, || {
            let row = self.store.evidence_row(evidence_id).map_err(|e| match e {
                caravan_store::StoreError::NotFound => {
                    AssistError::not_found("evidence", evidence_id)
                }
                other => other.into(),
            })?;
            let mut record: EvidenceRecord = parse(&row.record, "evidence")?;
            let on = today(now);
            let basis = if row.origin == "partner" {
                let agreement = self.agreement()?;
                let markings = current_markings(&self.store.marking_rows(evidence_id)?)?
                    .unwrap_or_else(|| ItemMarkings::new(record.markings.clone()));
                let item = Provenance {
                    item_id: record.id.clone(),
                    agreement_id: agreement.id.clone(),
                    provider: row.provider.clone(),
                    provider_reference: row.case_id.clone(),
                    message_id: String::new(),
                    log_index: 0,
                    permitted_uses: record.permitted_uses.iter().copied().collect(),
                    conditions: Vec::new(),
                    markings,
                    named_recipients: BTreeSet::new(),
                    personal_data: false,
                    retention_class: agreement.data_protection.retention_schedule.clone(),
                    received_on: record.supplied_on,
                };
                let consents = self
                    .store
                    .consent_rows(Some(&row.case_id))?
                    .into_iter()
                    .filter(|c| c.direction == "outbound")
                    .map(|c| parse::<ConsentCase>(&c.snapshot, "consent"))
                    .collect::<Result<Vec<_>, _>>()?;
                usecontrol::use_check(
                    &agreement,
                    &item,
                    &consents,
                    &UseRequest {
                        actor,
                        assigned: true,
                        action,
                        purpose,
                        recipient: recipient.clone(),
                        on,
                    },
                )?
            } else {
                roles::check(actor, Capability::ViewPartnerData, true)?;
                UseGrant::Agreement
            };
            if basis == UseGrant::MetadataOnly {
                return Err(AssistError::new(
                    ErrorKind::Forbidden,
                    "metadata_only",
                    "this role sees evidence metadata, never its content",
                ));
            }
            let content = self.content_of(&row)?.ok_or_else(|| {
                AssistError::new(
                    ErrorKind::Refused,
                    "evidence_erased",
                    "the file has been erased",
                )
            })?;
            let digest = self.content_digest(&content)?;
            let kind = match action {
                UseAction::View => CustodyKind::Viewed,
                UseAction::Export | UseAction::Print => CustodyKind::Exported,
                UseAction::PresentInProceedings => CustodyKind::PresentedInCourt,
                UseAction::Disclose => CustodyKind::Disclosed,
                _ => CustodyKind::Downloaded,
            };
            let since = record.custody.len();
            record.custody_digest(kind, &digest, &actor.account, on, &self.config.place)?;
            let basis_text = match &basis {
                UseGrant::Consent(id) => format!("consent:{id}"),
                UseGrant::Agreement => "agreement".to_owned(),
                UseGrant::MetadataOnly => "metadata_only".to_owned(),
            };
            let detail = serde_json::json!({
                "purpose": purpose, "recipient": recipient, "basis": basis_text,
                "sha256": record.sha256,
            });
            let change = AssistanceChange {
                custody: custody_rows(&record, since, now),
                evidence: vec![EvidenceRow {
                    record: json(&record),
                    updated_at: now,
                    version: row.version + 1,
                    ..row.clone()
                }],
                audit: vec![allowed(actor, &audit_action, evidence_id, detail, now)],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok((record, content))
        })
    }

    /// A receiver's re-marking of an item or field (§9): only tightening is accepted.
    pub fn tighten_marking(
        &self,
        actor: &Actor,
        item_id: &str,
        field: Option<&str>,
        markings: Markings,
        reason: &str,
        now: i64,
    ) -> Result<ItemMarkings, AssistError> {
        self.audited(actor, "marking.tighten", item_id, now, || {
            roles::check(actor, Capability::TightenMarkings, true)?;
            if reason.trim().is_empty() {
                return Err(AssistError::refused(
                    "reason_missing",
                    "a re-marking needs a reason",
                ));
            }
            let rows = self.store.marking_rows(item_id)?;
            let mut current = current_markings(&rows)?
                .ok_or_else(|| AssistError::not_found("marked item", item_id))?;
            current.tighten(field, markings.clone())?;
            let field = field.unwrap_or("");
            let seq = rows.iter().filter(|r| r.field == field).count() as i64 + 1;
            let detail =
                serde_json::json!({ "field": field, "markings": markings, "reason": reason });
            let change = AssistanceChange {
                markings: vec![marking_row(
                    item_id,
                    field,
                    seq,
                    &markings,
                    &actor.account,
                    reason,
                    now,
                )],
                audit: vec![allowed(actor, "marking.tighten", item_id, detail, now)],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(current)
        })
    }

    /// Erasure or retraction of our own items held by the partner (§11.2): recorded as
    /// pending until the partner's `Data.ComplianceAck` accounts for every item.
    pub fn propagate(
        &self,
        actor: &Actor,
        case_id: &str,
        kind: PropagationKind,
        items: Vec<String>,
        reason: &str,
        now: i64,
    ) -> Result<ErasureRow, AssistError> {
        self.audited(actor, "data.propagate", case_id, now, || {
            if !matches!(kind, PropagationKind::Erase | PropagationKind::Retract) {
                return Err(AssistError::bad_input(
                    "propagation_kind_unsupported",
                    "only Data.Erase and Data.Retract are propagated here",
                ));
            }
            if reason.trim().is_empty() {
                return Err(AssistError::refused(
                    "reason_missing",
                    "an erasure needs a reason",
                ));
            }
            let (row, case, _) = self.load_case(case_id)?;
            for item in &items {
                let ev = self.store.evidence_row(item)?;
                if ev.origin != "own" || ev.case_id != case.id {
                    return Err(AssistError::new(
                        ErrorKind::Refused,
                        "propagation_item_not_ours",
                        format!(
                            "{item} is not an item this node supplied in case {}",
                            case.id
                        ),
                    ));
                }
            }
            let agreement = self.agreement()?;
            agreement.check_outbound(Traffic::Propagation, today(now))?;
            let erasure_id = format!("ERA-{}", uuid_v7(now as u64));
            let propagation =
                Propagation::send(&erasure_id, kind, items.clone(), actor, today(now))?;
            let erasure = ErasureRow {
                erasure_id: erasure_id.clone(),
                case_id: case.id.clone(),
                kind: kind.code().to_owned(),
                direction: "outbound".into(),
                state: "pending".into(),
                items: json(&propagation.items),
                reason: reason.to_owned(),
                requested_at: now,
                confirmed_at: None,
                detail: json(&propagation),
                version: 1,
            };
            let detail =
                serde_json::json!({ "erasure_id": erasure_id, "kind": kind, "items": items });
            let change = AssistanceChange {
                erasures: vec![erasure.clone()],
                messages: vec![self.outbound(
                    &case.id,
                    &row.partner,
                    kind.code(),
                    actor,
                    None,
                    today(now),
                    Content::Propagation {
                        erasure_id,
                        kind: kind.code().to_owned(),
                        items,
                        reason: reason.to_owned(),
                    },
                    now,
                )],
                audit: vec![allowed(actor, "data.propagate", &case.id, detail, now)],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(erasure)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// Spontaneous information (§4): sent without a request, with its markings and
    /// permitted uses. Returns the message id the item is known by on both sides.
    #[allow(clippy::too_many_arguments)]
    pub fn inform(
        &self,
        actor: &Actor,
        category: &str,
        serious: bool,
        summary: &str,
        markings: Markings,
        permitted_uses: Vec<Purpose>,
        now: i64,
    ) -> Result<String, AssistError> {
        self.audited(actor, "spontaneous.inform", "new", now, || {
            roles::check(actor, Capability::DraftRequests, true)?;
            const CATEGORIES: &[&str] = &[
                "breach",
                "new_method",
                "goods",
                "persons",
                "conveyances",
                "premises",
            ];
            if !CATEGORIES.contains(&category) {
                return Err(AssistError::bad_input(
                    "category_unknown",
                    format!("category must be one of {}", CATEGORIES.join(", ")),
                ));
            }
            if summary.trim().is_empty() || permitted_uses.is_empty() {
                return Err(AssistError::refused(
                    "spontaneous_incomplete",
                    "spontaneous information needs a summary and permitted uses",
                ));
            }
            let agreement = self.agreement()?;
            let uses: BTreeSet<Purpose> = permitted_uses.iter().copied().collect();
            usecontrol::check_received_uses(&agreement, &uses)?;
            agreement.check_outbound(Traffic::Operational, today(now))?;
            agreement.check_assurance(
                Traffic::Operational,
                actor.role == caravan_assistance::roles::Role::Supervisor,
            )?;
            let id = format!("spontaneous:{}", uuid_v7(now as u64));
            let message = self.outbound(
                &id,
                &self.config.partner_party,
                "Spontaneous.Inform",
                actor,
                None,
                today(now),
                Content::Spontaneous {
                    category: category.to_owned(),
                    serious,
                    summary: summary.to_owned(),
                    markings: markings.clone(),
                    permitted_uses,
                },
                now,
            );
            let detail = serde_json::json!({ "category": category, "serious": serious });
            let change = AssistanceChange {
                markings: vec![marking_row(
                    &id,
                    "",
                    1,
                    &markings,
                    &format!("provider:{}", self.config.party),
                    "as supplied",
                    now,
                )],
                messages: vec![message],
                audit: vec![allowed(actor, "spontaneous.inform", &id, detail, now)],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(id)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    // ---- dispatch ---------------------------------------------------------------------

    /// The body part of a queued message and the evidence files it lists.
    fn body_and_evidence(
        &self,
        message: &CaseMessage,
    ) -> Result<(OutboundPart, Vec<(ManifestEntry, EvidenceContent)>), AssistError> {
        let body: Body = parse(&message.body, "message body")?;
        let part = OutboundPart {
            part_id: wire::BODY_PART.into(),
            media_type: wire::BODY_MEDIA_TYPE.into(),
            body: message.body.clone().into_bytes(),
        };
        let mut files = Vec::new();
        if let Content::Transition { evidence, .. } = &body.content {
            for entry in evidence {
                let row = self.store.evidence_row(&entry.id)?;
                let content = self.content_of(&row)?.ok_or_else(|| {
                    AssistError::internal(format!("evidence {} has no stored file", entry.id))
                })?;
                files.push((entry.clone(), content));
            }
        }
        Ok((part, files))
    }

    /// The parts of a queued message, all inline: the body, then each evidence file it
    /// lists, read through the vault. Only for the loopback path, whose files are small.
    pub(crate) fn parts_of(&self, message: &CaseMessage) -> Result<Vec<OutboundPart>, AssistError> {
        let (body, files) = self.body_and_evidence(message)?;
        let mut parts = vec![body];
        for (entry, content) in files {
            parts.push(OutboundPart {
                part_id: format!("{}{}", wire::EVIDENCE_PART_PREFIX, entry.id),
                media_type: entry.media_type.clone(),
                body: content.read_all()?,
            });
        }
        Ok(parts)
    }

    /// For a node without an exchange (tests, the property test's loopback): takes the queued
    /// messages as the partner would receive them, and marks them handed over under a
    /// `loopback:` id. Evidence travels inline here, read through the same at-rest reader as
    /// the exchange path. The real path is [`AssistanceNode::dispatch`].
    pub fn take_queued(&self, now: i64) -> Result<Vec<ReceivedMessage>, AssistError> {
        let mut out = Vec::new();
        for (i, message) in self.store.queued_messages(200)?.into_iter().enumerate() {
            let parts = self.parts_of(&message)?;
            let id = format!("loopback:{}", message.message_uuid);
            self.store.mark_dispatched(&message.message_uuid, &id)?;
            out.push(ReceivedMessage {
                seq: i as i64,
                from: self.config.party.clone(),
                message_id: id,
                conversation_id: message.case_id.clone(),
                ref_to: None,
                action: message.action.clone(),
                created_at: now as u64,
                parts: parts
                    .into_iter()
                    .map(|p| (p.part_id, p.media_type, p.body))
                    .collect(),
            });
        }
        Ok(out)
    }

    pub(crate) fn dispatch_quietly(&self, now: i64) {
        // A failure leaves the message queued; the next pump sends it.
        let _ = self.dispatch(now);
    }

    /// Hands every queued outbound message to the exchange (sealed and stored in its durable
    /// outbox). The body travels inline; each evidence file is a detached part that the
    /// exchange seals segment by segment into its spool straight from the vault's decrypting
    /// reader, so no file is ever whole in memory.
    pub fn dispatch(&self, now: i64) -> Result<PumpReport, AssistError> {
        let _ = now;
        let mut report = PumpReport::default();
        let Some(exchange) = self.exchange.as_ref() else {
            return Ok(report);
        };
        for message in self.store.queued_messages(200)? {
            let (body, evidence) = self.body_and_evidence(&message)?;
            let files = evidence
                .into_iter()
                .map(|(entry, content)| {
                    let content = Arc::new(content);
                    OutboundFile {
                        part_id: format!("{}{}", wire::EVIDENCE_PART_PREFIX, entry.id),
                        media_type: entry.media_type,
                        source: PartSource::Reader(Arc::new(move || {
                            content.reader().map_err(crate::at_rest::to_io)
                        })),
                    }
                })
                .collect::<Vec<_>>();
            let outbound = OutboundMessage {
                to: message.peer.clone(),
                conversation_id: Some(message.case_id.clone()),
                ref_to: None,
                action: message.action.clone(),
                expires_at: None,
                parts: vec![body],
            };
            match exchange.send_with_files(&outbound, &files) {
                Ok(id) => {
                    self.store.mark_dispatched(&message.message_uuid, &id)?;
                    report.dispatched += 1;
                }
                Err(e) => report.held.push((message.message_uuid.clone(), e.code())),
            }
        }
        Ok(report)
    }
}

/// Reconstructs an agreement from its stored file and overlay.
pub(crate) fn load_agreement(
    record: &AgreementRecord,
) -> Result<(Overlay, Agreement), AssistError> {
    let mut agreement = Agreement::from_toml(&record.base_toml)
        .map_err(|e| AssistError::internal(format!("stored agreement file: {e}")))?;
    let overlay: Overlay = parse(&record.overlay, "agreement overlay")?;
    if let Some(status) = &overlay.status {
        agreement.status = status.clone();
    }
    if let Some(a) = overlay.assurance {
        agreement.assurance.state = a;
    }
    if let Some(v) = overlay.version {
        agreement.version = v;
    }
    if let Some(d) = &overlay.directory {
        agreement.directory = d.clone();
    }
    Ok((overlay, agreement))
}

/// The audit and transition detail of an event: grounds, reasons, conditions and items,
/// never file contents.
pub(crate) fn event_detail(event: &Event) -> serde_json::Value {
    serde_json::to_value(event).unwrap_or_default()
}

impl NodeConfig {
    /// The configuration of a node of administration `admin` (its party code in the
    /// agreement), exchanging as `party` with `partner_party`. The intake desk is this
    /// administration's first designated contact point in the agreement's directory.
    pub fn for_node(
        agreement: &Agreement,
        admin: &str,
        party: &str,
        partner_party: &str,
        place: &str,
    ) -> Result<NodeConfig, AssistError> {
        let partner_admin = agreement.partner_of(admin).ok_or_else(|| {
            AssistError::bad_input(
                "party_unknown",
                format!("{admin} is not a party to agreement {}", agreement.id),
            )
        })?;
        let desk = agreement
            .directory
            .entries
            .iter()
            .find(|e| e.party == admin)
            .map_or_else(
                || format!("{}-desk", admin.to_lowercase()),
                |e| e.id.clone(),
            );
        Ok(NodeConfig {
            agreement_id: agreement.id.clone(),
            party: party.to_owned(),
            admin: admin.to_owned(),
            partner_party: partner_party.to_owned(),
            partner_admin: partner_admin.to_owned(),
            place: place.to_owned(),
            intake_desk: desk,
        })
    }
}
