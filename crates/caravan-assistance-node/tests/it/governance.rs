//! `Marking.Change` and `Directory.Update` on the loopback: the governance scenario, then
//! late, duplicated and forged deliveries.

use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance_node::directory;
use caravan_assistance_node::governance_story::{self, GovernanceOutcome};
use caravan_assistance_node::marking_change::MarkingChangeInput;
use caravan_assistance_node::service::{AssistanceNode, today};
use caravan_assistance_node::story::{self, DAY_MS, Officials};
use caravan_assistance_node::wire::{Body, Content};
use caravan_store::access::{AuditOutcome, AuditQuery};
use caravan_store::assistance::MarkingRow;

use crate::loopback::{T0, node, settle};

/// The latest marking row of `item` for `field`.
fn latest(node: &AssistanceNode, item: &str, field: &str) -> MarkingRow {
    node.store()
        .marking_rows(item)
        .unwrap()
        .into_iter()
        .filter(|r| r.field == field)
        .max_by_key(|r| r.seq)
        .expect("a marking row")
}

fn tlp_pap(r: &MarkingRow) -> (String, String, String) {
    (r.tlp.clone(), r.pap.clone(), r.caveats.clone())
}

fn played() -> (AssistanceNode, AssistanceNode, GovernanceOutcome) {
    let (us, uz) = (node(true), node(false));
    let main = story::play(&us, &uz, T0, &mut |now| settle(&us, &uz, now)).expect("story");
    let out = governance_story::play(&us, &uz, main.ended_at, &mut |now| settle(&us, &uz, now))
        .expect("governance story");
    (us, uz, out)
}

fn audit_actions(node: &AssistanceNode, object: &str) -> Vec<(String, AuditOutcome)> {
    node.store()
        .list_audit(&AuditQuery {
            object: Some(object.to_owned()),
            ..AuditQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| (e.event.action, e.event.outcome))
        .collect()
}

#[test]
fn provider_loosens_receiver_tightens_and_both_copies_agree() {
    let (us, uz, out) = played();
    let codes: Vec<&str> = out.refusals.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "role_not_permitted",
            "marking_loosened_not_by_provider",
            "two_person_same_account",
            "directory_entry_wrong_party",
        ]
    );
    // The whole item: loosened by its provider, on both nodes.
    let us_item = latest(&us, &out.item, "");
    let uz_item = latest(&uz, &out.item, "");
    assert_eq!(
        tlp_pap(&us_item),
        ("GREEN".into(), "GREEN".into(), "".into())
    );
    assert_eq!(tlp_pap(&us_item), tlp_pap(&uz_item));
    assert_eq!(us_item.set_by, "provider:UZ-CUSTOMS");
    assert_eq!(uz_item.set_by, "uz.supervisor");
    // The field: tightened by the receiver, told to the provider.
    let us_field = latest(&us, &out.item, "summary");
    let uz_field = latest(&uz, &out.item, "summary");
    assert_eq!(
        tlp_pap(&uz_field),
        ("RED".into(), "RED".into(), "LE-SENSITIVE".into())
    );
    assert_eq!(tlp_pap(&us_field), tlp_pap(&uz_field));
    assert_eq!(uz_field.set_by, "partner:US-CBP:us.analyst");
    // Audited on both sides, refusals included.
    let uz_trail = audit_actions(&uz, &out.item);
    assert!(uz_trail.contains(&("marking.change".into(), AuditOutcome::Refused)));
    assert!(uz_trail.contains(&("marking.change".into(), AuditOutcome::Allowed)));
    assert!(uz_trail.contains(&("marking.change.received".into(), AuditOutcome::Allowed)));
    let us_trail = audit_actions(&us, &out.item);
    assert!(us_trail.contains(&("marking.change.received".into(), AuditOutcome::Allowed)));
    assert!(us_trail.contains(&("marking.change".into(), AuditOutcome::Refused)));
}

#[test]
fn directory_sections_travel_and_bind_intake() {
    let (us, uz, out) = played();
    let (usv, uzv) = (us.directory_view().unwrap(), uz.directory_view().unwrap());
    // Each side's first update of its own section is version 2 (the file's is 1).
    assert_eq!(out.sections, (2, 2));
    assert_eq!(
        usv.own, uzv.partner,
        "UZ holds the US section as the US sent it"
    );
    assert_eq!(uzv.own, usv.partner, "and the reverse");
    assert_eq!((usv.own.version, usv.partner.version), (2, 2));
    let on = today(out.ended_at);
    let uz_agreement = uz.agreement().unwrap();
    assert!(
        uz_agreement
            .directory
            .designated("US", "us-cbp-ntc-watch", on)
            .is_some(),
        "the new US contact point may now sign requests UZ receives"
    );
    assert!(
        us.agreement()
            .unwrap()
            .directory
            .designated("UZ", "uz-cc-termez-post", on)
            .is_some()
    );
    let states: Vec<(String, String)> = uzv
        .updates
        .iter()
        .map(|u| {
            (
                u["direction"].as_str().unwrap().to_owned(),
                u["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&("in".into(), "applied".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("out".into(), "dispatched".into())),
        "{states:?}"
    );
}

#[test]
fn a_late_marking_change_never_undoes_a_later_one_and_a_duplicate_applies_once() {
    let (us, uz, out) = played();
    let uzx = Officials::of("UZ");
    let now = out.ended_at + DAY_MS;
    let change = |tlp, pap, reason: &str| MarkingChangeInput {
        item_id: out.item.clone(),
        field: None,
        markings: Markings::new(tlp, pap),
        reason: reason.into(),
    };
    uz.change_marking(
        &uzx.supervisor,
        change(Tlp::Clear, Pap::White, "published"),
        now,
    )
    .unwrap();
    uz.change_marking(
        &uzx.supervisor,
        change(Tlp::AmberStrict, Pap::Amber, "withdrawn again"),
        now + 1,
    )
    .unwrap();
    let sent = uz.take_queued(now + 2).unwrap();
    assert_eq!(sent.len(), 2);
    // The later change first, then the earlier one, then the later one again.
    assert!(us.receive(&sent[1], now + 3).unwrap());
    assert!(!us.receive(&sent[0], now + 3).unwrap());
    let rows_before = us.store().marking_rows(&out.item).unwrap().len();
    assert!(us.receive(&sent[1], now + 4).unwrap(), "recognised");
    assert_eq!(
        us.store().marking_rows(&out.item).unwrap().len(),
        rows_before
    );
    assert_eq!(
        tlp_pap(&latest(&us, &out.item, "")),
        ("AMBER+STRICT".into(), "AMBER".into(), "".into())
    );
    let codes: Vec<Option<String>> = us
        .store()
        .case_messages(&out.item)
        .unwrap()
        .into_iter()
        .filter(|m| m.state == "rejected")
        .map(|m| m.code)
        .collect();
    assert_eq!(codes, [Some("marking_change_superseded".to_owned())]);
}

#[test]
fn a_forged_loosening_from_the_receiver_is_refused_on_the_providers_node() {
    let (us, uz, out) = played();
    let now = out.ended_at + DAY_MS;
    // The US node (not the provider) tightens, then its message is altered in transit into a
    // loosening — what a misbehaving partner would send.
    us.change_marking(
        &Officials::of("US").analyst,
        MarkingChangeInput {
            item_id: out.item.clone(),
            field: None,
            markings: Markings::new(Tlp::Amber, Pap::Green),
            reason: "matches a US case".into(),
        },
        now,
    )
    .unwrap();
    let mut sent = us.take_queued(now).unwrap();
    assert_eq!(sent.len(), 1);
    let mut body: Body = serde_json::from_slice(&sent[0].parts[0].2).unwrap();
    if let Content::MarkingChange(c) = &mut body.content {
        c.markings = Markings::new(Tlp::Clear, Pap::White);
    } else {
        panic!("not a Marking.Change: {body:?}");
    }
    sent[0].parts[0].2 = serde_json::to_vec(&body).unwrap();
    let before = latest(&uz, &out.item, "");
    assert!(!uz.receive(&sent[0], now).unwrap());
    assert_eq!(latest(&uz, &out.item, ""), before, "unchanged");
    let rejected: Vec<Option<String>> = uz
        .store()
        .case_messages(&out.item)
        .unwrap()
        .into_iter()
        .filter(|m| m.state == "rejected")
        .map(|m| m.code)
        .collect();
    assert_eq!(
        rejected,
        [Some("marking_loosened_not_by_provider".to_owned())]
    );
}

#[test]
fn directory_updates_out_of_order_end_on_the_last_version_and_replays_are_stale() {
    let (us, uz, out) = played();
    let usx = Officials::of("US");
    let now = out.ended_at + DAY_MS;
    let mut entries = us.directory_view().unwrap().own.entries;
    entries[0].channels.push("fax".into());
    us.update_directory(
        entries.clone(),
        "fax line",
        [&usx.admin, &usx.supervisor],
        now,
    )
    .unwrap();
    entries[0].channels.push("telex".into());
    us.update_directory(
        entries,
        "telex line",
        [&usx.admin, &usx.supervisor],
        now + 1,
    )
    .unwrap();
    let sent = us.take_queued(now + 2).unwrap();
    assert_eq!(sent.len(), 2);
    // Version 4 arrives before version 3: refused as a gap, then applied right after 3.
    assert!(!uz.receive(&sent[1], now + 3).unwrap());
    assert_eq!(uz.directory_view().unwrap().partner.version, 2);
    assert!(uz.receive(&sent[0], now + 4).unwrap());
    let partner = uz.directory_view().unwrap().partner;
    assert_eq!(partner.version, 4);
    assert_eq!(partner, us.directory_view().unwrap().own);
    // A replay of version 3 under a new workflow id is stale.
    let mut replay = sent[0].clone();
    let mut body: Body = serde_json::from_slice(&replay.parts[0].2).unwrap();
    body.message_uuid = format!("{}-replay", body.message_uuid);
    replay.parts[0].2 = serde_json::to_vec(&body).unwrap();
    replay.message_id = format!("{}-replay", replay.message_id);
    assert!(!uz.receive(&replay, now + 5).unwrap());
    let codes: Vec<Option<String>> = uz
        .store()
        .case_messages(&directory::thread("us-uz-cmaa-2024"))
        .unwrap()
        .into_iter()
        .filter(|m| m.state == "rejected")
        .map(|m| m.code)
        .collect();
    assert_eq!(
        codes,
        [
            Some("directory_version_gap".to_owned()),
            Some("directory_version_stale".to_owned())
        ]
    );
    assert_eq!(uz.directory_view().unwrap().partner.version, 4);
}
