//! `Directory.Update` (assistance spec §1.8): each party's designated contact points, sent to
//! the partner as a versioned document and applied there only in order.
//!
//! Why each party numbers its own section: both administrations change their own contact
//! points independently, so one shared version number would collide the first time both
//! change on the same day. The directory an agreement file ships with is every section's
//! version 1 (its `[directory] version`); a party's next update of its own section is
//! version 2, and so on. The receiver takes an update only from the partner, only for the
//! partner's own contact points, and only when its version follows the one it holds by
//! exactly one (`DirectoryUpdate::check`): a late or replayed copy is refused as
//! `directory_version_stale`, a jump as `directory_version_gap`; both are recorded and
//! audited, and the directory is unchanged. A jump is also parked: when the missing
//! version arrives, the parked one follows in the same transaction, so a late delivery
//! never leaves the receiver on an older version than the partner's last.
//!
//! Why it lives in the agreement's overlay: the directory validates every inbound request
//! (the requesting official must be in the partner's current directory), and the overlay is
//! what the agreement is rebuilt from. The update is signed as every exchange message is
//! (the partner node's envelope signature, its commitment in the transparency log), and
//! each applied version is kept in the agreement's history with its exchange message id.

use caravan_assistance::agreement::{
    Agreement, AgreementError, ContactPoint, DirectoryUpdate, Traffic,
};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_exchange::node::ReceivedMessage;
use caravan_store::assistance::{AgreementRecord, AssistanceChange, CaseMessage};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::AssistError;
use crate::service::{AssistanceNode, Overlay, allowed, json, load_agreement, today};
use crate::wire::{Body, Content};

/// Exchange action.
pub const ACTION: &str = "Directory.Update";

/// The thread directory updates are recorded under.
pub fn thread(agreement_id: &str) -> String {
    format!("directory:{agreement_id}")
}

/// One party's section as the pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionView {
    pub party: String,
    pub version: u32,
    pub entries: Vec<ContactPoint>,
}

/// Both sections of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryView {
    pub agreement_id: String,
    /// The local document's version (advances with every change of either section).
    pub document_version: u32,
    pub own: SectionView,
    pub partner: SectionView,
    /// The `Directory.Update` messages, newest first: direction, version, state, code.
    pub updates: Vec<Value>,
}

/// The version of `party`'s section: the last one sent or applied, else the file's.
pub(crate) fn section_version(record: &AgreementRecord, overlay: &Overlay, party: &str) -> u32 {
    overlay.sections.get(party).copied().unwrap_or_else(|| {
        Agreement::from_toml(&record.base_toml).map_or(1, |a| a.directory.version)
    })
}

fn update_view(m: &CaseMessage) -> Value {
    let body: Option<Body> = serde_json::from_str(&m.body).ok();
    let (party, version, entries) = match body.map(|b| b.content) {
        Some(Content::DirectoryUpdate(u)) => (u.party, u.version, u.entries.len()),
        _ => (String::new(), 0, 0),
    };
    json!({
        "direction": m.direction, "party": party, "version": version, "entries": entries,
        "state": m.state, "code": m.code, "at": m.created_at,
        "exchange_message_id": m.exchange_message_id,
    })
}

impl AssistanceNode {
    /// Both sections of the directory with their versions, and the updates exchanged.
    pub fn directory_view(&self) -> Result<DirectoryView, AssistError> {
        let record = self.store.agreement_record(&self.config.agreement_id)?;
        let (overlay, agreement) = load_agreement(&record)?;
        let section = |party: &str| SectionView {
            party: party.to_owned(),
            version: section_version(&record, &overlay, party),
            entries: agreement.directory.section(party),
        };
        let mut updates: Vec<Value> = self
            .store
            .case_messages(&thread(&agreement.id))?
            .iter()
            .map(update_view)
            .collect();
        updates.reverse();
        Ok(DirectoryView {
            agreement_id: agreement.id.clone(),
            document_version: agreement.directory.version,
            own: section(&self.config.admin),
            partner: section(&self.config.partner_admin),
            updates,
        })
    }

    /// The next version of our section with `entries`, the agreement record and overlay
    /// that hold it, and the `Directory.Update` to queue — for the caller to commit.
    pub(crate) fn own_section_change(
        &self,
        entries: Vec<ContactPoint>,
        by: &Actor,
        now: i64,
    ) -> Result<(Agreement, Overlay, DirectoryUpdate, CaseMessage), AssistError> {
        let record = self.store.agreement_record(&self.config.agreement_id)?;
        let (mut overlay, mut agreement) = load_agreement(&record)?;
        let on = today(now);
        agreement.check_outbound(Traffic::Governance, on)?;
        let own = self.config.admin.clone();
        let next = agreement.directory.with_section(&own, entries)?;
        let version = section_version(&record, &overlay, &own) + 1;
        let update = DirectoryUpdate {
            party: own.clone(),
            version,
            entries: next.section(&own),
            issued_on: on,
        };
        agreement.directory = next.clone();
        overlay.directory = Some(next);
        overlay.sections.insert(own, version);
        let message = self.outbound(
            &thread(&agreement.id),
            &self.config.partner_party,
            ACTION,
            by,
            None,
            on,
            Content::DirectoryUpdate(update.clone()),
            now,
        );
        Ok((agreement, overlay, update, message))
    }

    /// Replaces our own section of the directory (§1.8) with `entries` and sends it to the
    /// partner as the next version. Two accounts act at once (administrator + supervisor,
    /// the §13 row of the agreement status), as `caravan directory update` does; the API and
    /// the pages go through a proposal (`AgreementChange::Directory` for one contact point,
    /// `AgreementChange::DirectorySection` for the whole section), whose approval makes the
    /// same change through [`AssistanceNode::replace_own_section`].
    pub fn update_directory(
        &self,
        entries: Vec<ContactPoint>,
        reason: &str,
        pair: [&Actor; 2],
        now: i64,
    ) -> Result<DirectoryUpdate, AssistError> {
        let object = thread(&self.config.agreement_id);
        self.audited(pair[0], "directory.update", &object, now, || {
            self.replace_own_section(entries, reason, pair, AssistanceChange::default(), now)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// Our section replaced by `entries` with the two accounts of the rule, the
    /// `Directory.Update` queued and both accounts' audit rows, committed together with
    /// `base` (e.g. the approved proposal) in one transaction.
    pub(crate) fn replace_own_section(
        &self,
        entries: Vec<ContactPoint>,
        reason: &str,
        pair: [&Actor; 2],
        mut base: AssistanceChange,
        now: i64,
    ) -> Result<DirectoryUpdate, AssistError> {
        let object = thread(&self.config.agreement_id);
        roles::check_two_person(Capability::ChangeAgreementStatus, pair[0], pair[1])?;
        if reason.trim().is_empty() {
            return Err(AssistError::refused(
                "reason_missing",
                "a directory update needs a reason",
            ));
        }
        let record = self.store.agreement_record(&self.config.agreement_id)?;
        let (mut agreement, mut overlay, update, message) =
            self.own_section_change(entries, pair[0], now)?;
        agreement.version += 1;
        overlay.version = Some(agreement.version);
        let detail = json!({
            "party": update.party, "section_version": update.version,
            "entries": update.entries.iter().map(|e| &e.id).collect::<Vec<_>>(),
            "directory_version": agreement.directory.version, "reason": reason,
            "approved_by": [pair[0].account, pair[1].account],
        });
        overlay.history.push(json!({ "directory_update": detail }));
        base.agreement = Some(AgreementRecord {
            version: record.version + 1,
            overlay: json(&overlay),
            updated_at: now,
            ..record.clone()
        });
        base.messages.push(message);
        base.audit.extend(
            pair.iter()
                .map(|a| allowed(a, "directory.update", &object, detail.clone(), now)),
        );
        self.store.commit_assistance(&base)?;
        Ok(update)
    }

    /// The receiving side: the partner's section replaced by its next version. An update
    /// that skips a version is refused, and parked so that it follows as soon as the
    /// missing one arrives: with late delivery, the partner's last version still wins.
    pub(crate) fn on_directory_update(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        update: &DirectoryUpdate,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        let record = self.store.agreement_record(&self.config.agreement_id)?;
        let (mut overlay, mut agreement) = load_agreement(&record)?;
        let partner = self.config.partner_admin.clone();
        let current = section_version(&record, &overlay, &partner);
        if let Err(e) = update.check(&partner, current) {
            if matches!(e, AgreementError::DirectoryGap { .. })
                && !overlay
                    .parked_directory
                    .iter()
                    .any(|p| p.version == update.version)
            {
                overlay.parked_directory.push(update.clone());
                let park = AssistanceChange {
                    agreement: Some(AgreementRecord {
                        version: record.version + 1,
                        overlay: json(&overlay),
                        updated_at: now,
                        ..record.clone()
                    }),
                    ..AssistanceChange::default()
                };
                self.store.commit_assistance(&park)?;
            }
            return Err(e.into());
        }
        let by = Actor::new(
            &format!("partner:{}:{}", message.from, body.by.account),
            body.by.role,
        );
        let mut audit = Vec::new();
        let mut next_update = Some(update.clone());
        let mut current = current;
        while let Some(u) = next_update.take() {
            let next = agreement
                .directory
                .with_section(&partner, u.entries.clone())?;
            let detail = json!({
                "party": partner, "section_version": u.version, "previous": current,
                "entries": u.entries.iter().map(|e| &e.id).collect::<Vec<_>>(),
                "directory_version": next.version,
                "exchange_message_id": message.message_id,
                "issued_on": u.issued_on,
                "parked_until_now": u.version != update.version,
            });
            agreement.directory = next;
            current = u.version;
            overlay
                .history
                .push(json!({ "directory_received": detail }));
            audit.push(allowed(
                &by,
                "directory.received",
                &record.agreement_id,
                detail,
                now,
            ));
            // A parked successor that now follows is applied in the same transaction.
            overlay.parked_directory.retain(|p| p.version > current);
            if let Some(i) = overlay
                .parked_directory
                .iter()
                .position(|p| p.version == current + 1 && p.check(&partner, current).is_ok())
            {
                next_update = Some(overlay.parked_directory.remove(i));
            }
        }
        overlay.directory = Some(agreement.directory.clone());
        overlay.sections.insert(partner, current);
        Ok(AssistanceChange {
            agreement: Some(AgreementRecord {
                version: record.version + 1,
                overlay: json(&overlay),
                updated_at: now,
                ..record.clone()
            }),
            audit,
            ..AssistanceChange::default()
        })
    }
}

/// Reads a directory file for `caravan directory update --file`: a JSON array of contact
/// points, or a JSON object with an `entries` array (the shape `caravan directory show
/// --json` prints for a section).
pub fn parse_entries(text: &str) -> Result<Vec<ContactPoint>, AssistError> {
    #[derive(serde::Deserialize)]
    struct File {
        entries: Vec<ContactPoint>,
    }
    let bad =
        |e: serde_json::Error| AssistError::bad_input("directory_file_invalid", e.to_string());
    if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(bad)
    } else {
        serde_json::from_str::<File>(text)
            .map(|f| f.entries)
            .map_err(bad)
    }
}
