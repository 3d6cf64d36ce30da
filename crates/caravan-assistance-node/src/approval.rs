//! The two-person rule through the API and the pages (assistance spec §1.2, §1.9, §13): a
//! change of the agreement's status, partner assurance or contact-point directory is
//! proposed by one account and approved by a second account of the required role.
//!
//! Why the approval makes the change in the same transaction as it closes the proposal:
//! the proposal, the agreement's new version, the exchange registry's gate (for an
//! assurance change) and both accounts' audit rows must never disagree. The pure core
//! ([`caravan_assistance::approval::Proposal`]) decides whether the pair may act; the
//! agreement's own rules (legal act, allowed status moves, directory version) are checked
//! again when the change is made, so an approval of a change that has become illegal
//! meanwhile (another status change came first) is refused and the proposal stays pending.

use caravan_assistance::agreement::{Agreement, AgreementState};
use caravan_assistance::approval::{AgreementChange, Proposal, ProposalState, next_directory};
use caravan_assistance::roles::Actor;
use caravan_exchange::node::uuid_v7;
use caravan_store::StoreError;
use caravan_store::assistance::{AgreementRecord, AssistanceChange, PartnerAssurance, ProposalRow};
use serde_json::{Value, json};

use crate::error::AssistError;
use crate::service::{AssistanceNode, allowed, json, load_agreement, parse, today};

/// What the second account decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalDecision {
    Approve,
    Reject { reason: String },
    Withdraw { reason: String },
}

fn proposal_row(p: &Proposal, previous: Option<&ProposalRow>, now: i64) -> ProposalRow {
    ProposalRow {
        proposal_id: p.id.clone(),
        agreement_id: p.agreement_id.clone(),
        kind: p.change.kind().to_owned(),
        state: p.state.code().to_owned(),
        proposed_by: p.proposed_by.account.clone(),
        decided_by: p.decided_by.as_ref().map(|d| d.account.clone()),
        snapshot: json(p),
        created_at: previous.map_or(now, |r| r.created_at),
        updated_at: now,
        version: previous.map_or(1, |r| r.version + 1),
    }
}

/// A proposal as the API and the pages show it.
pub fn proposal_view(row: &ProposalRow) -> Value {
    let snapshot: Value = serde_json::from_str(&row.snapshot).unwrap_or(Value::Null);
    json!({
        "proposal_id": row.proposal_id,
        "agreement_id": row.agreement_id,
        "kind": row.kind,
        "state": row.state,
        "change": snapshot.get("change"),
        "proposed_by": snapshot.get("proposed_by"),
        "decided_by": snapshot.get("decided_by"),
        "note": snapshot.get("note"),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

impl AssistanceNode {
    /// Makes an agreement change with the two accounts of the rule, adding it to `base`
    /// (e.g. the approved proposal) so everything commits in one transaction. An assurance
    /// change also sets the exchange registry's gate for the partner.
    pub(crate) fn apply_agreement_change(
        &self,
        change: &AgreementChange,
        pair: [&Actor; 2],
        mut base: AssistanceChange,
        now: i64,
    ) -> Result<Agreement, AssistError> {
        let id = self.config.agreement_id.clone();
        let record = self.store.agreement_record(&id)?;
        let (mut overlay, mut agreement) = load_agreement(&record)?;
        let (action, detail) = match change {
            // The whole section: the same change `caravan directory update` makes.
            AgreementChange::DirectorySection { entries, reason } => {
                self.replace_own_section(entries.clone(), reason, pair, base, now)?;
                return self.agreement();
            }
            AgreementChange::Status {
                to,
                effective,
                legal_act,
            } => {
                let notice = agreement.change_status(*to, *effective, legal_act, pair)?;
                overlay.status = Some(agreement.status.clone());
                (
                    "agreement.status",
                    json!({
                        "from": notice.from, "to": notice.to, "effective": notice.effective,
                        "legal_act": notice.legal_act, "approved_by": notice.approved_by,
                        "version": notice.version,
                    }),
                )
            }
            AgreementChange::Assurance { to, reason } => {
                let from = agreement.assurance.state;
                agreement.change_assurance(*to, reason, pair)?;
                overlay.assurance = Some(*to);
                base.partner_assurance = Some(PartnerAssurance {
                    agreement_id: id.clone(),
                    party: self.config.partner_party.clone(),
                    assurance: to.code().to_owned(),
                    updated_at: now,
                });
                (
                    "agreement.assurance",
                    json!({
                        "assurance_from": from, "assurance_to": to, "reason": reason,
                        "approved_by": [pair[0].account, pair[1].account],
                        "partner_gate": self.config.partner_party,
                    }),
                )
            }
            AgreementChange::Directory { entry, reason } => {
                caravan_assistance::roles::check_two_person(change.capability(), pair[0], pair[1])?;
                if agreement.party(&entry.party).is_none() {
                    return Err(AssistError::bad_input(
                        "party_unknown",
                        format!("{} is not a party to agreement {id}", entry.party),
                    ));
                }
                // §1.8: the partner's contact points come from the partner's own signed
                // Directory.Update; ours change here and go to the partner as our section's
                // next version, queued in this transaction.
                if entry.party != self.config.admin {
                    return Err(AssistError::refused(
                        "directory_partner_section",
                        format!(
                            "{}'s contact points change only by its Directory.Update",
                            entry.party
                        ),
                    ));
                }
                let next = next_directory(&agreement.directory, entry.clone())?;
                let own = next.section(&self.config.admin);
                let (_, section_overlay, _, message) =
                    self.own_section_change(own, pair[0], now)?;
                base.messages.push(message);
                agreement.directory = section_overlay.directory.clone().unwrap_or(next);
                agreement.version += 1;
                overlay.directory = Some(agreement.directory.clone());
                overlay.sections = section_overlay.sections;
                (
                    "agreement.directory",
                    json!({
                        "entry": entry, "reason": reason,
                        "directory_version": agreement.directory.version,
                        "section_version": overlay.sections.get(&self.config.admin),
                        "approved_by": [pair[0].account, pair[1].account],
                    }),
                )
            }
        };
        overlay.version = Some(agreement.version);
        overlay.history.push(detail.clone());
        base.agreement = Some(AgreementRecord {
            version: record.version + 1,
            state: agreement.status.state.code().to_owned(),
            assurance: agreement.assurance.state.code().to_owned(),
            overlay: json(&overlay),
            updated_at: now,
            ..record.clone()
        });
        base.audit.extend(
            pair.iter()
                .map(|a| allowed(a, action, &record.agreement_id, detail.clone(), now)),
        );
        self.store.commit_assistance(&base)?;
        // The exchange's registry caches the gate: read it again so the next send sees the
        // state just committed.
        if base.partner_assurance.is_some()
            && let Some(exchange) = &self.exchange
        {
            exchange.registry().reload()?;
        }
        Ok(agreement)
    }

    /// Proposes a two-person change (§13); it waits for a second account. At most one
    /// proposal of each kind is pending at a time (`proposal_pending_exists`).
    pub fn propose_agreement_change(
        &self,
        actor: &Actor,
        change: AgreementChange,
        now: i64,
    ) -> Result<ProposalRow, AssistError> {
        let object = format!("{}:{}", self.config.agreement_id, change.kind());
        self.audited(actor, "agreement.propose", &object, now, || {
            let agreement = self.agreement()?;
            if let AgreementChange::Status { to, .. } = &change
                && !agreement.status.state.may_become(*to)
            {
                return Err(AssistError::refused(
                    "agreement_status_change_illegal",
                    format!(
                        "status change {} -> {to} is not allowed",
                        agreement.status.state
                    ),
                ));
            }
            // A section that could never be applied (another party's contact point, a
            // duplicate id) is refused now rather than at approval.
            if let AgreementChange::DirectorySection { entries, .. } = &change {
                agreement
                    .directory
                    .with_section(&self.config.admin, entries.clone())?;
            }
            let id = format!("PROP-{}", uuid_v7(now as u64));
            let proposal = Proposal::propose(&id, &agreement.id, change, actor, today(now))?;
            let row = proposal_row(&proposal, None, now);
            let change = AssistanceChange {
                proposals: vec![row.clone()],
                audit: vec![allowed(
                    actor,
                    "agreement.propose",
                    &id,
                    json!({ "kind": row.kind, "change": proposal.change }),
                    now,
                )],
                ..AssistanceChange::default()
            };
            match self.store.commit_assistance(&change) {
                Ok(()) => Ok(row),
                Err(StoreError::Conflict(_)) => Err(AssistError::refused(
                    "proposal_pending_exists",
                    format!("a {} proposal is already pending", row.kind),
                )),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Approves, rejects or withdraws a pending proposal. Approval by a second account of the
    /// required role makes the change in the same transaction; the proposer can never
    /// approve its own proposal.
    pub fn decide_proposal(
        &self,
        actor: &Actor,
        proposal_id: &str,
        decision: ProposalDecision,
        now: i64,
    ) -> Result<ProposalRow, AssistError> {
        let action = match decision {
            ProposalDecision::Approve => "agreement.approve",
            ProposalDecision::Reject { .. } => "agreement.reject",
            ProposalDecision::Withdraw { .. } => "agreement.withdraw",
        };
        self.audited(actor, action, proposal_id, now, || {
            let row = self.store.proposal_row(proposal_id).map_err(|e| match e {
                StoreError::NotFound => AssistError::not_found("proposal", proposal_id),
                other => other.into(),
            })?;
            let mut proposal: Proposal = parse(&row.snapshot, "proposal")?;
            let on = today(now);
            match &decision {
                ProposalDecision::Approve => {
                    let pair = proposal.approve(actor, on)?;
                    let next = proposal_row(&proposal, Some(&row), now);
                    let base = AssistanceChange {
                        proposals: vec![next.clone()],
                        ..AssistanceChange::default()
                    };
                    self.apply_agreement_change(&proposal.change, [&pair[0], &pair[1]], base, now)?;
                    Ok(next)
                }
                ProposalDecision::Reject { reason } | ProposalDecision::Withdraw { reason } => {
                    if matches!(decision, ProposalDecision::Reject { .. }) {
                        proposal.reject(actor, reason, on)?;
                    } else {
                        proposal.withdraw(actor, reason, on)?;
                    }
                    let next = proposal_row(&proposal, Some(&row), now);
                    let change = AssistanceChange {
                        proposals: vec![next.clone()],
                        audit: vec![allowed(
                            actor,
                            action,
                            proposal_id,
                            json!({ "kind": row.kind, "reason": reason }),
                            now,
                        )],
                        ..AssistanceChange::default()
                    };
                    self.store.commit_assistance(&change)?;
                    Ok(next)
                }
            }
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// Proposals, pending ones or all, newest first. Any account holding a two-person right
    /// sees them (they are who approve).
    pub fn proposals(
        &self,
        actor: &Actor,
        state: Option<ProposalState>,
    ) -> Result<Vec<Value>, AssistError> {
        use caravan_assistance::roles::{Capability, Grant, grant};
        let may = [
            Capability::ChangeAgreementStatus,
            Capability::ChangeAssuranceState,
        ]
        .iter()
        .any(|c| grant(actor.role, *c) == Some(Grant::TwoPerson));
        if !may {
            return Err(caravan_assistance::roles::RoleError::NotPermitted {
                role: actor.role,
                capability: Capability::ChangeAgreementStatus,
            }
            .into());
        }
        Ok(self
            .store
            .proposal_rows(state.map(|s| s.code()))?
            .iter()
            .map(proposal_view)
            .collect())
    }
}

/// Whether `to` follows the agreement's current status (for the page's choices).
pub fn status_choices(agreement: &Agreement) -> Vec<AgreementState> {
    AgreementState::ALL
        .iter()
        .copied()
        .filter(|s| agreement.status.state.may_become(*s))
        .collect()
}
