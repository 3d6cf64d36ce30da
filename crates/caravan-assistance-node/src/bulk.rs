//! Scheduled bulk exchange of declaration data (assistance spec §5): `Bulk.Batch`.
//!
//! Why a batch is cut from the node's own declarations by a dataset profile: the agreement's
//! annex says which declarations (direction), which fields, at what HS granularity and for
//! which uses the partner receives; everything else never leaves. [`minimise`] applies the
//! profile to each declaration — field groups not named are dropped, names the profile
//! pseudonymises become keyed pseudonyms (stable per node, so the partner can still count
//! and link them, but cannot read them) — and the rows travel as Caravan JSON Lines parts of
//! at most [`PART_BYTES`] each, in the envelope's own parts.
//!
//! What the manifest promises: the dataset and its profile version, the period, the row
//! count and the SHA-256 of each part; the batch hash (over all of it) is logged and
//! audited, the rows never are. The receiver checks every one of these before it stores a
//! row, stores the rows as partner declarations (provenance `partner`, so `caravan mirror
//! link --imports node` links on them) marked with the profile's permitted uses (`INTEL`),
//! and records the batch with its provenance.
//!
//! Idempotent per (dataset, period): asking for a batch already recorded returns the recorded
//! one; a re-sent batch with the same hash is recognised by the receiver and applied once; a
//! different batch for the same period is refused (`bulk_batch_conflict`).
//!
//! Durability: a batch is recorded `queued` with its parts in one transaction, then handed
//! to the exchange (sealed into its durable outbox) by [`AssistanceNode::dispatch_bulk`],
//! which marks it `sent` and deletes the kept parts; a crash in between leaves it queued for
//! the next pump. On the receiving side the rows are one ingest batch (all or nothing) and
//! the batch record follows; a crash in between re-delivers the message, whose rows are then
//! idempotent replays.

use std::io::Write as _;

use caravan_assistance::agreement::{Purpose, Traffic};
use caravan_assistance::annex::{Annex, DatasetProfile};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_domain::declaration::draft::DeclarationDraft;
use caravan_domain::declaration::validate::{Provenance, ValidationContext};
use caravan_exchange::node::{OutboundMessage, OutboundPart, ReceivedMessage, uuid_v7};
use caravan_ingest::format::caravan_json;
use caravan_ingest::pipeline::{self, Format, Mode};
use caravan_store::IngestSource;
use caravan_store::assistance::AssistanceChange;
use caravan_store::assistance_wire::{BulkBatchRow, BulkPartRow, WireChange};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AssistError;
use crate::hitnohit::inbound_change;
use crate::service::{AssistanceNode, allowed, json, marking_row, today};
use crate::wire::{self, Body, Content, Official};

/// Exchange action.
pub const ACTION: &str = "Bulk.Batch";
/// Prefix of the row parts' ids.
pub const PART_PREFIX: &str = "bulk/";
/// Media type of a row part.
pub const PART_MEDIA_TYPE: &str = "application/x-ndjson";
/// Upper bound of a part's bytes (the envelope's inline parts are at most 256 KiB).
pub const PART_BYTES: usize = 192 << 10;
/// Most rows in one batch.
pub const MAX_ROWS: u64 = 200_000;
/// Longest period of one batch, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;
const PAGE: u32 = 1_000;

/// One part of a batch as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    pub part_id: String,
    pub rows: u64,
    pub size: u64,
    pub sha256: String,
}

/// The manifest of a batch: the body of a `Bulk.Batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchManifest {
    pub batch_id: String,
    pub dataset: String,
    pub dataset_version: u32,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub row_count: u64,
    pub parts: Vec<PartEntry>,
    pub permitted_uses: Vec<Purpose>,
    pub pseudonymised: Vec<String>,
    pub hs_digits: u8,
    /// [`batch_hash`] of everything above.
    pub batch_sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The batch hash: SHA-256 over the dataset, its version, the period, the row count and each
/// part's id, row count and digest, length-prefixed.
pub fn batch_hash(m: &BatchManifest) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field("caravan/v1 bulk batch");
    field(&m.dataset);
    field(&m.dataset_version.to_string());
    field(&m.period_from.to_string());
    field(&m.period_to.to_string());
    field(&m.row_count.to_string());
    for p in &m.parts {
        field(&p.part_id);
        field(&p.rows.to_string());
        field(&p.sha256);
    }
    hex(&h.finalize())
}

fn in_profile(p: &DatasetProfile, group: &str) -> bool {
    p.fields.iter().any(|f| f == group)
}

fn pseudonymised(p: &DatasetProfile, group: &str) -> bool {
    p.pseudonymise.iter().any(|f| f == group)
}

/// A keyed pseudonym: stable for one key, unreadable without it.
pub fn pseudonym(key: &[u8; 32], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update((value.len() as u64).to_be_bytes());
    h.update(value.as_bytes());
    format!("PSN-{}", &hex(&h.finalize())[..20])
}

/// Applies a dataset profile to a declaration (§5 minimisation).
pub fn minimise(draft: &DeclarationDraft, p: &DatasetProfile, key: &[u8; 32]) -> DeclarationDraft {
    let mut d = draft.clone();
    if !in_profile(p, "header") {
        let h = &mut d.header;
        h.place_of_issue = None;
        h.delivery_place = None;
        h.freight_charge = None;
        h.freight_currency = None;
        h.freight_payment_method = None;
    }
    for party in &mut d.parties {
        if !in_profile(p, "parties.ids") {
            party.id = None;
            party.id_scheme = None;
        }
        party.name = match &party.name {
            Some(n) if pseudonymised(p, "parties.names") => Some(pseudonym(key, n)),
            Some(n) if in_profile(p, "parties.names") => Some(n.clone()),
            _ => None,
        };
        if !in_profile(p, "parties.addresses") {
            party.address.line = None;
            party.address.city = None;
            party.address.postcode = None;
            party.address.subdivision = None;
        }
        if !in_profile(p, "parties.country") && !in_profile(p, "parties.addresses") {
            party.address.country = None;
        }
    }
    if !in_profile(p, "transport") {
        let t = &mut d.transport;
        t.equipment.clear();
        t.border_means_id = None;
        t.arrival_means_id = None;
        t.departure_means_id = None;
        t.documents.clear();
    }
    let digits = usize::from(p.hs_digits);
    for item in &mut d.items {
        if let Some(code) = &mut item.commodity_code
            && code.len() > digits
        {
            code.truncate(digits);
        }
        item.package_marks = None;
    }
    d.outcome = None;
    d
}

/// The date a declaration counts on for a period: its issue date.
fn issued_on(draft: &DeclarationDraft) -> Option<NaiveDate> {
    let s = draft.header.issued_at.as_deref()?;
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// A part being cut: its row count and Caravan JSON Lines bytes.
type RowPart = (u64, Vec<u8>);

/// What [`AssistanceNode::send_bulk`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkSent {
    pub batch: BulkBatchRow,
    /// The batch was recorded before for this dataset and period (nothing new was cut).
    pub recognised: bool,
}

impl AssistanceNode {
    fn bulk_profile(&self, dataset: &str) -> Result<(Annex, DatasetProfile), AssistError> {
        let annex = Annex::shipped(&self.config.agreement_id).ok_or_else(|| {
            AssistError::refused(
                "capability_not_in_agreement",
                format!(
                    "agreement {} has no exchange annex on this node",
                    self.config.agreement_id
                ),
            )
        })?;
        let profile = annex
            .dataset(dataset)
            .map_err(|e| AssistError::refused(e.code, e.message))?
            .clone();
        Ok((annex, profile))
    }

    /// Cuts and queues the batch of `dataset` for `[from, to]` (§5), or returns the batch
    /// already recorded for that dataset and period.
    pub fn send_bulk(
        &self,
        actor: &Actor,
        dataset: &str,
        from: NaiveDate,
        to: NaiveDate,
        now: i64,
    ) -> Result<BulkSent, AssistError> {
        let object = format!("{dataset}:{from}..{to}");
        let sent = self.audited(actor, "bulk.send", &object, now, || {
            roles::check(actor, Capability::ReleaseOutbound, true)?;
            let (_, profile) = self.bulk_profile(dataset)?;
            if profile.provider != self.config.admin {
                return Err(AssistError::refused(
                    "dataset_not_ours",
                    format!(
                        "dataset {dataset} is provided by {}, not by this node",
                        profile.provider
                    ),
                ));
            }
            let on = today(now);
            if from > to || (to - from).num_days() >= MAX_PERIOD_DAYS || to >= on {
                return Err(AssistError::bad_input(
                    "period_invalid",
                    format!(
                        "a period runs from ≤ to, ends before today and spans at most \
                         {MAX_PERIOD_DAYS} days"
                    ),
                ));
            }
            if let Some(batch) =
                self.store
                    .bulk_batch_for("out", dataset, &from.to_string(), &to.to_string())?
            {
                return Ok(BulkSent {
                    batch,
                    recognised: true,
                });
            }
            let agreement = self.agreement()?;
            agreement.check_outbound(Traffic::Bulk, on)?;
            agreement.check_assurance(Traffic::Bulk, false)?;
            let batch_id = format!("BULK-{}", uuid_v7(now as u64));
            let (manifest, parts) = self.cut_batch(&batch_id, &profile, from, to)?;
            let row = BulkBatchRow {
                batch_id: batch_id.clone(),
                direction: "out".into(),
                peer: self.config.partner_party.clone(),
                dataset: dataset.to_owned(),
                period_from: from.to_string(),
                period_to: to.to_string(),
                row_count: manifest.row_count as i64,
                batch_sha256: manifest.batch_sha256.clone(),
                manifest: json(&manifest),
                state: "queued".into(),
                code: None,
                exchange_message_id: None,
                created_at: now,
            };
            let detail = serde_json::json!({
                "batch_id": batch_id, "dataset": dataset, "period_from": from,
                "period_to": to, "rows": manifest.row_count,
                "batch_sha256": manifest.batch_sha256,
            });
            let change = WireChange {
                base: AssistanceChange {
                    audit: vec![allowed(actor, "bulk.send", &object, detail, now)],
                    ..AssistanceChange::default()
                },
                batches: vec![row.clone()],
                bulk_parts: parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, (rows, bytes))| BulkPartRow {
                        batch_id: batch_id.clone(),
                        seq: i as i64 + 1,
                        row_count: rows as i64,
                        bytes,
                    })
                    .collect(),
                ..WireChange::default()
            };
            self.store.commit_wire(&change)?;
            Ok(BulkSent {
                batch: row,
                recognised: false,
            })
        })?;
        let _ = self.dispatch_bulk(now);
        Ok(sent)
    }

    /// Reads the node's own declarations of the profile's direction issued in `[from, to]`,
    /// minimised, into parts; returns the manifest and `(rows, bytes)` per part.
    fn cut_batch(
        &self,
        batch_id: &str,
        profile: &DatasetProfile,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(BatchManifest, Vec<RowPart>), AssistError> {
        let key = self.key.subkey(&format!("bulk-pseudonym:{}", profile.id));
        let mut parts: Vec<RowPart> = Vec::new();
        let mut current: RowPart = (0, Vec::new());
        let mut total = 0u64;
        let mut after = 0;
        loop {
            let page = self
                .store
                .mirror_inputs("local", &profile.direction, after, PAGE)?;
            for (id, document) in &page {
                after = *id;
                for record in Format::CaravanJson.reader(document.as_slice()) {
                    let record = record.map_err(|e| {
                        AssistError::internal(format!("stored declaration {id}: {e}"))
                    })?;
                    if !issued_on(&record.draft).is_some_and(|d| from <= d && d <= to) {
                        continue;
                    }
                    let mut line = Vec::new();
                    caravan_json::write_line(&mut line, &minimise(&record.draft, profile, &key))
                        .map_err(|e| AssistError::internal(format!("write row: {e}")))?;
                    if !current.1.is_empty() && current.1.len() + line.len() > PART_BYTES {
                        parts.push(std::mem::take(&mut current));
                    }
                    if line.len() > PART_BYTES {
                        return Err(AssistError::bad_input(
                            "bulk_row_too_large",
                            format!("declaration {id} is larger than a part"),
                        ));
                    }
                    current.0 += 1;
                    current.1.write_all(&line).expect("writing to memory");
                    total += 1;
                    if total > MAX_ROWS {
                        return Err(AssistError::bad_input(
                            "bulk_too_many_rows",
                            format!("a batch holds at most {MAX_ROWS} rows; split the period"),
                        ));
                    }
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        if current.0 > 0 {
            parts.push(current);
        }
        let mut manifest = BatchManifest {
            batch_id: batch_id.to_owned(),
            dataset: profile.id.clone(),
            dataset_version: profile.version,
            period_from: from,
            period_to: to,
            row_count: total,
            parts: parts
                .iter()
                .enumerate()
                .map(|(i, (rows, bytes))| PartEntry {
                    part_id: format!("{PART_PREFIX}{:04}", i + 1),
                    rows: *rows,
                    size: bytes.len() as u64,
                    sha256: hex(&Sha256::digest(bytes)),
                })
                .collect(),
            permitted_uses: profile.permitted_uses.clone(),
            pseudonymised: profile.pseudonymise.clone(),
            hs_digits: profile.hs_digits,
            batch_sha256: String::new(),
        };
        manifest.batch_sha256 = batch_hash(&manifest);
        Ok((manifest, parts))
    }

    /// Hands every queued batch to the exchange: the manifest as the body, each part as its
    /// own envelope part. Returns how many were handed over.
    pub fn dispatch_bulk(&self, now: i64) -> Result<u32, AssistError> {
        let Some(exchange) = self.exchange.as_ref() else {
            return Ok(0);
        };
        let mut sent = 0;
        for batch in self.store.queued_bulk_batches()? {
            let manifest: BatchManifest = crate::service::parse(&batch.manifest, "manifest")?;
            let body = Body {
                message_uuid: format!("bulk:{}", batch.batch_id),
                case_id: format!("bulk:{}", batch.batch_id),
                agreement_id: self.config.agreement_id.clone(),
                on: today(batch.created_at),
                by: Official::from(&self.holder_official()),
                approved_by: None,
                content: Content::BulkBatch(manifest.clone()),
            };
            let mut parts = vec![OutboundPart {
                part_id: wire::BODY_PART.into(),
                media_type: wire::BODY_MEDIA_TYPE.into(),
                body: body.to_json(),
            }];
            let stored = self.store.bulk_parts(&batch.batch_id)?;
            if stored.len() != manifest.parts.len() {
                return Err(AssistError::internal(format!(
                    "batch {} keeps {} parts, its manifest lists {}",
                    batch.batch_id,
                    stored.len(),
                    manifest.parts.len()
                )));
            }
            for (entry, (_, bytes)) in manifest.parts.iter().zip(stored) {
                parts.push(OutboundPart {
                    part_id: entry.part_id.clone(),
                    media_type: PART_MEDIA_TYPE.into(),
                    body: bytes,
                });
            }
            let message = OutboundMessage {
                to: batch.peer.clone(),
                conversation_id: Some(body.case_id.clone()),
                ref_to: None,
                action: ACTION.into(),
                expires_at: None,
                parts,
            };
            match exchange.send(&message) {
                Ok(id) => {
                    self.store.mark_batch_sent(&batch.batch_id, &id)?;
                    sent += 1;
                }
                // Left queued: the next pump tries again.
                Err(_) => continue,
            }
        }
        let _ = now;
        Ok(sent)
    }

    /// The receiving side: validates the manifest against the parts and stores the rows as
    /// partner declarations.
    pub(crate) fn on_bulk_batch(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        m: &BatchManifest,
        now: i64,
    ) -> Result<(), AssistError> {
        let (_, profile) = self.bulk_profile(&m.dataset)?;
        let bad = |code: &'static str, why: String| Err(AssistError::bad_input(code, why));
        if profile.provider != self.config.partner_admin || profile.version != m.dataset_version {
            return bad(
                "bulk_profile_mismatch",
                format!(
                    "dataset {} v{} is not the partner's profile v{}",
                    m.dataset, m.dataset_version, profile.version
                ),
            );
        }
        if m.period_from > m.period_to
            || (m.period_to - m.period_from).num_days() >= MAX_PERIOD_DAYS
        {
            return bad("period_invalid", "the batch's period is not valid".into());
        }
        if m.permitted_uses
            .iter()
            .any(|u| !profile.permitted_uses.contains(u))
            || m.hs_digits > profile.hs_digits
        {
            return bad(
                "bulk_profile_mismatch",
                "the batch claims uses or detail beyond its profile".into(),
            );
        }
        if batch_hash(m) != m.batch_sha256 {
            return bad(
                "bulk_manifest_hash_mismatch",
                "the batch hash does not match its manifest".into(),
            );
        }
        let rows: u64 = m.parts.iter().map(|p| p.rows).sum();
        if rows != m.row_count || m.row_count > MAX_ROWS {
            return bad(
                "bulk_row_count_mismatch",
                format!(
                    "the parts hold {rows} rows, the manifest says {}",
                    m.row_count
                ),
            );
        }
        let received: Vec<&(String, String, Vec<u8>)> = message
            .parts
            .iter()
            .filter(|(id, _, _)| id.starts_with(PART_PREFIX))
            .collect();
        if received.len() != m.parts.len() {
            return bad(
                "bulk_parts_missing",
                format!(
                    "{} row parts arrived, the manifest lists {}",
                    received.len(),
                    m.parts.len()
                ),
            );
        }
        let mut all = Vec::new();
        for entry in &m.parts {
            let Some((_, _, bytes)) = received.iter().find(|(id, _, _)| *id == entry.part_id)
            else {
                return bad(
                    "bulk_parts_missing",
                    format!("part {} is missing", entry.part_id),
                );
            };
            if hex(&Sha256::digest(bytes)) != entry.sha256 || bytes.len() as u64 != entry.size {
                return bad(
                    "bulk_part_digest_mismatch",
                    format!("part {} does not match its manifest digest", entry.part_id),
                );
            }
            let lines = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            if lines as u64 != entry.rows {
                return bad(
                    "bulk_row_count_mismatch",
                    format!(
                        "part {} holds {lines} rows, not {}",
                        entry.part_id, entry.rows
                    ),
                );
            }
            all.extend_from_slice(bytes);
        }
        let (from, to) = (m.period_from.to_string(), m.period_to.to_string());
        if let Some(known) = self.store.bulk_batch_for("in", &m.dataset, &from, &to)? {
            if known.batch_sha256 == m.batch_sha256 {
                // The same batch again (re-sent): recognised, nothing new to store.
                return self.record_batch_message(message, body, None, now);
            }
            return Err(AssistError::refused(
                "bulk_batch_conflict",
                format!(
                    "a different batch of {} for {from}..{to} was stored before ({})",
                    m.dataset, known.batch_id
                ),
            ));
        }
        let source = IngestSource {
            name: format!("bulk:{}:{}", message.from, m.batch_id),
            format: Format::CaravanJson.name().into(),
            provenance: Provenance::Partner,
        };
        let ctx = ValidationContext::partner(&self.config.admin);
        pipeline::ingest(
            self.store.as_ref(),
            all.as_slice(),
            Format::CaravanJson,
            &source,
            &ctx,
            Mode::WholeFile,
        )
        .map_err(|e| {
            AssistError::bad_input(
                "bulk_rows_rejected",
                format!("the batch's rows were refused whole: {e}"),
            )
        })?;
        let row = BulkBatchRow {
            batch_id: m.batch_id.clone(),
            direction: "in".into(),
            peer: message.from.clone(),
            dataset: m.dataset.clone(),
            period_from: from,
            period_to: to,
            row_count: m.row_count as i64,
            batch_sha256: m.batch_sha256.clone(),
            manifest: json(&serde_json::json!({
                "manifest": m, "provider": self.config.partner_admin,
                "agreement_id": self.config.agreement_id,
                "exchange_message_id": message.message_id,
                "retention_class": profile.retention_class,
            })),
            state: "stored".into(),
            code: None,
            exchange_message_id: Some(message.message_id.clone()),
            created_at: now,
        };
        self.record_batch_message(message, body, Some(row), now)
    }

    fn record_batch_message(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        batch: Option<BulkBatchRow>,
        now: i64,
    ) -> Result<(), AssistError> {
        let Content::BulkBatch(m) = &body.content else {
            return Err(AssistError::internal("not a batch"));
        };
        let provider = format!("provider:{}", message.from);
        // Marked as the profile says: INTEL only, AMBER (the receiving administration).
        let markings = Markings::new(Tlp::Amber, Pap::Amber);
        let detail = serde_json::json!({
            "batch_id": m.batch_id, "dataset": m.dataset, "rows": m.row_count,
            "batch_sha256": m.batch_sha256, "recognised_resend": batch.is_none(),
            "exchange_message_id": message.message_id,
        });
        let mut base = inbound_change(message, body, &m.batch_id, None, detail, now);
        if batch.is_some() {
            base.markings.push(marking_row(
                &m.batch_id,
                "",
                1,
                &markings,
                &provider,
                "as supplied under the dataset profile (permitted use INTEL)",
                now,
            ));
        } else {
            // The message uuid is the batch's, so a re-sent copy gets a row of its own.
            base.messages[0].message_uuid = format!("{}:{}", body.message_uuid, message.message_id);
        }
        let change = WireChange {
            base,
            batches: batch.into_iter().collect(),
            ..WireChange::default()
        };
        self.store.commit_wire(&change)?;
        Ok(())
    }

    /// Batches sent and received, newest first.
    pub fn bulk_batches(
        &self,
        actor: &Actor,
        limit: u32,
    ) -> Result<Vec<BulkBatchRow>, AssistError> {
        roles::check(actor, Capability::ViewPartnerData, true)?;
        Ok(self.store.bulk_batch_rows(limit)?)
    }

    /// The scheduled job (§5 frequency): for each dataset this node provides, the batch of
    /// every whole period of `frequency_days` that ended before today and has not been sent,
    /// back to the period holding `since`. Periods are aligned on Monday 1970-01-05, so every
    /// run cuts the same periods and a period is sent once. Returns the batches queued.
    pub fn run_bulk_schedule(
        &self,
        since: NaiveDate,
        now: i64,
    ) -> Result<Vec<BulkBatchRow>, AssistError> {
        let Some(annex) = Annex::shipped(&self.config.agreement_id) else {
            return Ok(Vec::new());
        };
        let on = today(now);
        let actor = Actor::new(
            &format!("node:{}:scheduler", self.config.party),
            caravan_assistance::roles::Role::DeskOfficer,
        );
        let mut queued = Vec::new();
        for profile in annex
            .datasets
            .iter()
            .filter(|d| d.provider == self.config.admin)
        {
            let step = chrono::Days::new(u64::from(profile.frequency_days));
            let anchor = NaiveDate::from_ymd_opt(1970, 1, 5).expect("a date");
            let periods = (since - anchor).num_days().max(0) / i64::from(profile.frequency_days);
            let Some(mut from) = anchor.checked_add_days(chrono::Days::new(
                periods as u64 * u64::from(profile.frequency_days),
            )) else {
                continue;
            };
            while let Some(next) = from.checked_add_days(step) {
                let to = next.pred_opt().unwrap_or(next);
                if to >= on {
                    break;
                }
                let sent = self.send_bulk(&actor, &profile.id, from, to, now)?;
                if !sent.recognised {
                    queued.push(sent.batch);
                }
                from = next;
            }
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use caravan_assistance::annex::Annex;
    use caravan_domain::declaration::draft::{DeclarationDraft, GoodsItemDraft, PartyDraft};
    use proptest::prelude::*;

    use super::*;

    fn profile() -> DatasetProfile {
        Annex::shipped("us-uz-cmaa-2024")
            .unwrap()
            .dataset("uz-imports-v1")
            .unwrap()
            .clone()
    }

    #[test]
    fn minimisation_drops_and_pseudonymises_what_the_profile_says() {
        let mut d = DeclarationDraft::default();
        let mut party = PartyDraft {
            id: Some("305123456".into()),
            name: Some("Andijan Textile LLC".into()),
            ..Default::default()
        };
        party.address.line = Some("12 Navoi street".into());
        party.address.city = Some("Andijan".into());
        party.address.country = Some("UZ".into());
        d.parties.push(party);
        d.items.push(GoodsItemDraft {
            commodity_code: Some("5208120000".into()),
            package_marks: Some("AT-77".into()),
            ..Default::default()
        });
        let key = [7; 32];
        let m = minimise(&d, &profile(), &key);
        let p = &m.parties[0];
        assert_eq!(p.id.as_deref(), Some("305123456"));
        assert_eq!(p.name, Some(pseudonym(&key, "Andijan Textile LLC")));
        assert!(p.name.as_deref().unwrap().starts_with("PSN-"));
        assert_eq!(
            (p.address.line.as_deref(), p.address.city.as_deref()),
            (None, None)
        );
        assert_eq!(p.address.country.as_deref(), Some("UZ"));
        assert_eq!(m.items[0].commodity_code.as_deref(), Some("520812"));
        assert_eq!(m.items[0].package_marks, None);
        // Another node's key gives another pseudonym.
        assert_ne!(
            pseudonym(&[8; 32], "Andijan Textile LLC"),
            p.name.clone().unwrap()
        );
    }

    fn manifest(parts: Vec<(u64, String)>) -> BatchManifest {
        let mut m = BatchManifest {
            batch_id: "BULK-1".into(),
            dataset: "uz-imports-v1".into(),
            dataset_version: 1,
            period_from: NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
            period_to: NaiveDate::from_ymd_opt(2025, 1, 12).unwrap(),
            row_count: parts.iter().map(|p| p.0).sum(),
            parts: parts
                .into_iter()
                .enumerate()
                .map(|(i, (rows, sha256))| PartEntry {
                    part_id: format!("{PART_PREFIX}{:04}", i + 1),
                    rows,
                    size: 10,
                    sha256,
                })
                .collect(),
            permitted_uses: vec![Purpose::Intel],
            pseudonymised: vec![],
            hs_digits: 6,
            batch_sha256: String::new(),
        };
        m.batch_sha256 = batch_hash(&m);
        m
    }

    proptest! {
        /// Any change to a part's digest or row count, or to the period, changes the batch
        /// hash the receiver checks.
        #[test]
        fn the_batch_hash_covers_every_part(
            parts in proptest::collection::vec((1u64..1000, "[0-9a-f]{64}"), 1..6),
            which in 0usize..6,
            bump in 1u64..5,
        ) {
            let m = manifest(parts);
            let i = which % m.parts.len();
            let mut rows = m.clone();
            rows.parts[i].rows += bump;
            prop_assert_ne!(batch_hash(&rows), m.batch_sha256.clone());
            let mut digest = m.clone();
            digest.parts[i].sha256 = "0".repeat(64);
            if digest.parts[i].sha256 != m.parts[i].sha256 {
                prop_assert_ne!(batch_hash(&digest), m.batch_sha256.clone());
            }
            let mut period = m.clone();
            period.period_to = period.period_to.succ_opt().unwrap();
            prop_assert_ne!(batch_hash(&period), m.batch_sha256);
        }
    }
}
