//! `Marking.Change` (assistance spec §9, §11.2): a re-marking of an item or one of its fields
//! sent to the partner, so both copies carry the same markings.
//!
//! Why the provider's word travels as a message and is checked again on receipt: only the
//! provider may loosen (§9 "receiver can only tighten"), and the receiver cannot take the
//! sender's claim to be the provider on trust. So each node keeps who supplied every item
//! (the `provider:<party>` of the item's first marking row, written when it arrived), and an
//! inbound change is applied through the pure rule `ItemMarkings::apply_change` with
//! `from_provider` computed from that record: a loosening from the non-provider is refused
//! with `marking_loosened_not_by_provider`, recorded and audited, and the item is unchanged.
//!
//! Why a running number per item and field: the exchange may deliver a late copy after a
//! later change. Each change carries the sender's marking-row number for its target, and the
//! receiver applies only a number above the last one it applied from that sender
//! (`marking_change_superseded` otherwise), so a late loosening can never undo a later
//! tightening. A re-delivered copy of the same message is recognised by its workflow id
//! before any of this (inbound.rs).
//!
//! Why each change also says what it had seen (`seen`): the provider may loosen an item while
//! the receiver tightens it, each on its own copy, and each copy applies the other's change
//! after its own. §9 wants one marking per namespace on both copies ("every re-marking …
//! replaces the previous value", the MISP divergence it cites) and a receiver that protects
//! the data at least at the level of every marking it was given or set ("receiver can only
//! tighten"; "providers' caveats and restrictions bind the receiver"). So a change carries the
//! highest of the other side's change numbers for the target that its sender had applied;
//! the receiving copy compares it with its own last word (its latest row for the target that
//! neither the provider's nor the partner's messages wrote) and takes the change as it is
//! when the sender had seen that word, or joins the two when it had not
//! (`ItemMarkings::receive_change`). Both copies so end on the same markings in any delivery
//! order: the later word when one side had seen the other's, the join (strictest wins) when
//! the two were concurrent — a provider's loosening made without knowledge of a receiver's
//! tightening never undoes it, and the provider undoes it only by loosening again after
//! seeing it. The stored row holds the markings the target took; the audit row holds what
//! the sender said too. A receiver's local-only tightening (`tighten_marking`) is one of its
//! own words as well: the provider never sees it, so every later provider change is joined
//! with it and it survives on that copy. A change from the non-provider must also cover what
//! its sender started from (our change number `seen`, or the item as supplied), so a
//! loosening cannot pass as a concurrent change.

use caravan_assistance::agreement::Traffic;
use caravan_assistance::marking::{self, ItemMarkings, MarkingError, Markings, ReceivedChange};
use caravan_assistance::roles::{self, Actor, Capability};
use caravan_exchange::node::{ReceivedMessage, uuid_v7};
use caravan_store::StoreError;
use caravan_store::assistance::{AssistanceChange, MarkingRow};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::AssistError;
use crate::service::{AssistanceNode, allowed, current_markings, marking_row, parse, today};
use crate::wire::{Body, Content};

/// Exchange action.
pub const ACTION: &str = "Marking.Change";

/// The body of a `Marking.Change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkingChangeBody {
    pub change_id: String,
    /// The item (evidence id, spontaneous item id, bulk part).
    pub item_id: String,
    /// The field selector; `None` for the whole item.
    #[serde(default)]
    pub field: Option<String>,
    /// The markings that replace the current ones on the target.
    pub markings: Markings,
    /// The sender's running number for this item and field (its marking-row number).
    pub seq: u32,
    /// The highest of the receiver's running numbers for this item and field that the sender
    /// had applied when it made this change (`None`: none), which orders concurrent changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u32>,
    pub reason: String,
}

/// A re-marking as the officer asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkingChangeInput {
    pub item_id: String,
    pub field: Option<String>,
    pub markings: Markings,
    pub reason: String,
}

/// The party that supplied an item: its first whole-item marking row says `provider:<party>`.
pub(crate) fn provider_of(rows: &[MarkingRow]) -> Option<&str> {
    rows.iter()
        .filter(|r| r.field.is_empty())
        .min_by_key(|r| r.seq)
        .and_then(|r| r.set_by.strip_prefix("provider:"))
}

/// Whether a marking row was written by this copy (an officer's re-marking, or the item as we
/// supplied it) rather than by a message from `partner`.
fn own_row(r: &MarkingRow, partner: &str) -> bool {
    let from_partner =
        r.set_by.starts_with("partner:") || r.set_by.strip_prefix("provider:") == Some(partner);
    !from_partner
}

/// The markings one stored row holds, field rows included.
fn row_markings(r: &MarkingRow) -> Result<Markings, AssistError> {
    let whole = MarkingRow {
        field: String::new(),
        ..r.clone()
    };
    current_markings(std::slice::from_ref(&whole))?
        .map(|m| m.item)
        .ok_or_else(|| AssistError::internal("a marking row without markings"))
}

fn markings_json(m: &Markings) -> serde_json::Value {
    serde_json::to_value(m).unwrap_or_default()
}

impl AssistanceNode {
    /// The case an item belongs to (its evidence row's case), or the item itself for an
    /// item that is its own thread (spontaneous information).
    fn thread_of(&self, item_id: &str) -> Result<String, AssistError> {
        match self.store.evidence_row(item_id) {
            Ok(ev) => Ok(ev.case_id),
            Err(StoreError::NotFound) => Ok(item_id.to_owned()),
            Err(e) => Err(e.into()),
        }
    }

    fn item_markings(&self, item_id: &str) -> Result<(Vec<MarkingRow>, ItemMarkings), AssistError> {
        let rows = self.store.marking_rows(item_id)?;
        let current = current_markings(&rows)?
            .ok_or_else(|| AssistError::not_found("marked item", item_id))?;
        Ok((rows, current))
    }

    /// Sends a `Marking.Change` for an item. The provider may loosen (a supervisor: the §13
    /// right to loosen own markings) or tighten; the receiver of an item may only tighten,
    /// and telling the provider is how it does so on both copies. The local copy changes
    /// in the same transaction as the message is queued.
    pub fn change_marking(
        &self,
        actor: &Actor,
        input: MarkingChangeInput,
        now: i64,
    ) -> Result<MarkingChangeBody, AssistError> {
        let item_id = input.item_id.clone();
        self.audited(actor, "marking.change", &item_id, now, || {
            if input.reason.trim().is_empty() {
                return Err(AssistError::refused(
                    "reason_missing",
                    "a re-marking needs a reason",
                ));
            }
            let field = input.field.as_deref().filter(|f| !f.is_empty());
            let (rows, mut current) = self.item_markings(&input.item_id)?;
            let provider = provider_of(&rows).ok_or_else(|| {
                AssistError::refused(
                    "marking_provider_unknown",
                    format!("{} has no recorded provider", input.item_id),
                )
            })?;
            let we_provide = provider == self.config.party;
            let before = current.current(field).clone();
            let loosening = current.loosens(field, &input.markings);
            if before == input.markings {
                return Err(AssistError::refused(
                    "marking_unchanged",
                    "the new markings are the current ones",
                ));
            }
            if loosening && !we_provide {
                return Err(MarkingError::LoosenedNotByProvider.into());
            }
            let capability = if loosening {
                Capability::LoosenOwnMarkings
            } else {
                Capability::TightenMarkings
            };
            roles::check(actor, capability, true)?;
            let on = today(now);
            self.agreement()?.check_outbound(Traffic::Propagation, on)?;
            current.apply_change(field, input.markings.clone(), we_provide)?;
            let field_key = field.unwrap_or("");
            let seq = rows.iter().filter(|r| r.field == field_key).count() as i64 + 1;
            let thread = self.thread_of(&input.item_id)?;
            let body = MarkingChangeBody {
                change_id: format!("MC-{}", uuid_v7(now as u64)),
                item_id: input.item_id.clone(),
                field: field.map(str::to_owned),
                markings: input.markings.clone(),
                seq: seq as u32,
                seen: self.last_applied_change(
                    &thread,
                    &self.config.partner_party,
                    &input.item_id,
                    field,
                )?,
                reason: input.reason.clone(),
            };
            let detail = json!({
                "change_id": body.change_id, "field": field_key, "seq": seq, "seen": body.seen,
                "from": markings_json(&before), "to": markings_json(&input.markings),
                "loosening": loosening, "provider": provider, "reason": input.reason,
            });
            let change = AssistanceChange {
                markings: vec![marking_row(
                    &input.item_id,
                    field_key,
                    seq,
                    &input.markings,
                    &actor.account,
                    &input.reason,
                    now,
                )],
                messages: vec![self.outbound(
                    &thread,
                    &self.config.partner_party,
                    ACTION,
                    actor,
                    None,
                    on,
                    Content::MarkingChange(body.clone()),
                    now,
                )],
                audit: vec![allowed(
                    actor,
                    "marking.change",
                    &input.item_id,
                    detail,
                    now,
                )],
                ..AssistanceChange::default()
            };
            self.store.commit_assistance(&change)?;
            Ok(body)
        })
        .inspect(|_| self.dispatch_quietly(now))
    }

    /// The last change number applied from `from` to `item`/`field`.
    fn last_applied_change(
        &self,
        thread: &str,
        from: &str,
        item_id: &str,
        field: Option<&str>,
    ) -> Result<Option<u32>, AssistError> {
        let mut last = None;
        for m in self.store.case_messages(thread)? {
            if m.direction != "in" || m.action != ACTION || m.state != "applied" || m.peer != from {
                continue;
            }
            let body: Body = parse(&m.body, "message body")?;
            if let Content::MarkingChange(c) = body.content
                && c.item_id == item_id
                && c.field.as_deref() == field
            {
                last = last.max(Some(c.seq));
            }
        }
        Ok(last)
    }

    /// The receiving side: the change replaces the target's markings when its sender had seen
    /// our last word on the target and is joined with that word otherwise (module doc); from
    /// anyone but the item's provider it must not loosen anything.
    pub(crate) fn on_marking_change(
        &self,
        message: &ReceivedMessage,
        body: &Body,
        change: &MarkingChangeBody,
        now: i64,
    ) -> Result<AssistanceChange, AssistError> {
        if change.reason.trim().is_empty() {
            return Err(AssistError::refused(
                "reason_missing",
                "a Marking.Change carries its reason",
            ));
        }
        let field = change.field.as_deref().filter(|f| !f.is_empty());
        let (rows, mut current) = self.item_markings(&change.item_id)?;
        let provider = provider_of(&rows).unwrap_or_default().to_owned();
        let from_provider = provider == message.from;
        marking::check_change_order(
            self.last_applied_change(&body.case_id, &message.from, &change.item_id, field)?,
            change.seq,
        )?;
        let before = current.current(field).clone();
        let loosening = current.loosens(field, &change.markings);
        let field_key = field.unwrap_or("");
        let target: Vec<&MarkingRow> = rows.iter().filter(|r| r.field == field_key).collect();
        let own_last = target
            .iter()
            .filter(|r| own_row(r, &message.from))
            .max_by_key(|r| r.seq)
            .map(|r| Ok::<_, AssistError>((r.seq as u32, row_markings(r)?)))
            .transpose()?;
        // What the sender started from: our change it had seen last, or the item as supplied.
        let basis_row = match change.seen {
            Some(seen) => target
                .iter()
                .find(|r| r.seq == i64::from(seen) && own_row(r, &message.from)),
            None if field.is_none() => target.iter().find(|r| r.seq == 1),
            None => None,
        };
        let received = ReceivedChange {
            markings: change.markings.clone(),
            from_provider,
            seen: change.seen,
            own_last,
            basis: basis_row.map(|r| row_markings(r)).transpose()?,
        };
        let took = current.receive_change(field, &received)?;
        let seq = target.len() as i64 + 1;
        let set_by = if from_provider {
            format!("provider:{}", message.from)
        } else {
            format!("partner:{}:{}", message.from, body.by.account)
        };
        let partner = Actor::new(
            &format!("partner:{}:{}", message.from, body.by.account),
            body.by.role,
        );
        let detail = json!({
            "change_id": change.change_id, "field": field_key, "seq": change.seq,
            "seen": change.seen, "from": markings_json(&before),
            "said": markings_json(&change.markings), "to": markings_json(&took),
            "concurrent": received.is_concurrent(),
            "loosening": loosening, "by_provider": from_provider,
            "exchange_message_id": message.message_id, "reason": change.reason,
        });
        Ok(AssistanceChange {
            markings: vec![marking_row(
                &change.item_id,
                field_key,
                seq,
                &took,
                &set_by,
                &change.reason,
                now,
            )],
            audit: vec![allowed(
                &partner,
                "marking.change.received",
                &change.item_id,
                detail,
                now,
            )],
            ..AssistanceChange::default()
        })
    }
}
