//! Issue 5, the governance messages over the real exchange (mTLS, signed envelopes): the
//! provider's `Marking.Change` and the receiver's, each side's `Directory.Update`, and what a
//! misbehaving partner's node would send — a loosening of an item it did not supply, a
//! replayed directory version — refused on arrival with their codes; then the provider's
//! loosening and the receiver's tightening of the same item at the same time, which both
//! copies end on the strictest of (§9).

use std::time::Duration;

use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance_node::directory;
use caravan_assistance_node::error::AssistError;
use caravan_assistance_node::governance_story;
use caravan_assistance_node::marking_change::{self, MarkingChangeBody, MarkingChangeInput};
use caravan_assistance_node::service::AssistanceNode;
use caravan_assistance_node::story::{self, Officials};
use caravan_assistance_node::wire::{self, Body, Content, Official};
use caravan_exchange::node::{OutboundMessage, OutboundPart};
use caravan_store::access::{AuditOutcome, AuditQuery};
use caravan_testkit::exchange::{now, pair, runtime};

fn latest(node: &AssistanceNode, item: &str, field: &str) -> (String, String, String, String) {
    node.store()
        .marking_rows(item)
        .unwrap()
        .into_iter()
        .filter(|r| r.field == field)
        .max_by_key(|r| r.seq)
        .map(|r| (r.tlp, r.pap, r.caveats, r.set_by))
        .expect("a marking row")
}

fn forged(body: &Body, action: &str, to: &str, thread: &str) -> OutboundMessage {
    OutboundMessage {
        to: to.to_owned(),
        conversation_id: Some(thread.to_owned()),
        ref_to: None,
        action: action.to_owned(),
        expires_at: None,
        parts: vec![OutboundPart {
            part_id: wire::BODY_PART.into(),
            media_type: wire::BODY_MEDIA_TYPE.into(),
            body: body.to_json(),
        }],
    }
}

/// Both nodes pump until the exchange has been quiet for eight rounds.
fn settle(a: &AssistanceNode, b: &AssistanceNode, at: i64) -> Result<(), AssistError> {
    story::settle_over_exchange(
        [a, b],
        at,
        Duration::from_millis(25),
        8,
        Duration::from_secs(60),
    )
}

fn rejected(node: &AssistanceNode, thread: &str) -> Vec<String> {
    node.store()
        .case_messages(thread)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == "in" && m.state == "rejected")
        .filter_map(|m| m.code)
        .collect()
}

#[test]
fn two_nodes_exchange_marking_changes_and_directory_updates_over_the_real_exchange() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        let (us, uz) =
            caravan_testkit::exchange::assistance_pair(dir.path(), &us_node, &uz_node, 7);
        let (a, b) = (us.clone(), uz.clone());
        let out = tokio::task::spawn_blocking(move || {
            let mut settle = |at| settle(&a, &b, at);
            let s = story::play(&a, &b, now() as i64, &mut settle)?;
            governance_story::play(&a, &b, s.ended_at, &mut settle)
        })
        .await
        .expect("story thread")
        .expect("story");

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
        // The provider's loosening and the receiver's tightening are on both copies.
        let (us_item, uz_item) = (latest(&us, &out.item, ""), latest(&uz, &out.item, ""));
        assert_eq!((&us_item.0[..], &us_item.1[..]), ("GREEN", "GREEN"));
        assert_eq!(us_item.3, "provider:UZ-CUSTOMS");
        assert_eq!(us_item.0, uz_item.0);
        assert_eq!(us_item.1, uz_item.1);
        let (us_f, uz_f) = (
            latest(&us, &out.item, "summary"),
            latest(&uz, &out.item, "summary"),
        );
        assert_eq!(
            (&uz_f.0[..], &uz_f.1[..], &uz_f.2[..]),
            ("RED", "RED", "LE-SENSITIVE")
        );
        assert_eq!(uz_f.3, "partner:US-CBP:us.analyst");
        assert_eq!((&us_f.0, &us_f.1, &us_f.2), (&uz_f.0, &uz_f.1, &uz_f.2));
        // Every Marking.Change crossed as a signed exchange message.
        for node in [&us, &uz] {
            let crossed = node
                .store()
                .case_messages(&out.item)
                .unwrap()
                .into_iter()
                .filter(|m| m.action == marking_change::ACTION)
                .filter(|m| m.exchange_message_id.is_some())
                .count();
            assert_eq!(crossed, 2, "{}", node.config().party);
        }

        // The directory: each side holds the other's section as sent.
        let (usv, uzv) = (us.directory_view().unwrap(), uz.directory_view().unwrap());
        assert_eq!(usv.own, uzv.partner);
        assert_eq!(uzv.own, usv.partner);
        assert_eq!(out.sections, (2, 2));
        assert!(
            uzv.partner
                .entries
                .iter()
                .any(|e| e.id == "us-cbp-ntc-watch")
        );

        // A misbehaving US node: it loosens an item UZ supplied, and replays a directory
        // version UZ already holds. Both cross the exchange and are refused on arrival.
        let thread = directory::thread("us-uz-cmaa-2024");
        let by = Official {
            account: "us.supervisor".into(),
            role: caravan_assistance::roles::Role::Supervisor,
        };
        let loosen = Body {
            message_uuid: format!("forged-{}", now()),
            case_id: out.item.clone(),
            agreement_id: "us-uz-cmaa-2024".into(),
            on: caravan_assistance_node::service::today(out.ended_at),
            by: by.clone(),
            approved_by: None,
            content: Content::MarkingChange(MarkingChangeBody {
                change_id: "MC-forged".into(),
                item_id: out.item.clone(),
                field: None,
                markings: Markings::new(Tlp::Clear, Pap::White),
                seq: 99,
                seen: None,
                reason: "publish".into(),
            }),
        };
        let stale_update = us
            .store()
            .case_messages(&thread)
            .unwrap()
            .into_iter()
            .find(|m| m.direction == "out")
            .expect("the US sent its section");
        let mut replay: Body = serde_json::from_str(&stale_update.body).unwrap();
        replay.message_uuid = format!("replay-{}", now());
        us_node
            .exchange
            .send(&forged(
                &loosen,
                marking_change::ACTION,
                "UZ-CUSTOMS",
                &out.item,
            ))
            .expect("send the forged change");
        us_node
            .exchange
            .send(&forged(&replay, directory::ACTION, "UZ-CUSTOMS", &thread))
            .expect("send the replay");
        let (a, b) = (us.clone(), uz.clone());
        let at = out.ended_at;
        tokio::task::spawn_blocking(move || settle(&a, &b, at))
            .await
            .expect("settle thread")
            .expect("settle");
        assert_eq!(
            rejected(&uz, &out.item),
            ["marking_loosened_not_by_provider"]
        );
        assert_eq!(rejected(&uz, &thread), ["directory_version_stale"]);
        assert_eq!(latest(&uz, &out.item, "").0, "GREEN", "item unchanged");
        assert_eq!(uz.directory_view().unwrap().partner, usv.own);
        let refused: Vec<Option<String>> = uz
            .store()
            .list_audit(&AuditQuery::default())
            .unwrap()
            .into_iter()
            .filter(|e| e.event.outcome == AuditOutcome::Refused)
            .filter(|e| e.event.action.starts_with("inbound."))
            .map(|e| e.event.code)
            .collect();
        assert!(refused.contains(&Some("marking_loosened_not_by_provider".into())));
        assert!(refused.contains(&Some("directory_version_stale".into())));

        // Concurrent re-markings: the provider publishes the item while the receiver, not yet
        // knowing it, restricts it again. Each copy applies its own change first and the
        // other's when the exchange delivers it; both end on the join, so the receiver's
        // restriction survives a loosening made without knowledge of it.
        let (a, b) = (us.clone(), uz.clone());
        let item = out.item.clone();
        let at = out.ended_at + 1;
        tokio::task::spawn_blocking(move || {
            let change = |markings, reason: &str| MarkingChangeInput {
                item_id: item.clone(),
                field: None,
                markings,
                reason: reason.into(),
            };
            b.change_marking(
                &Officials::of("UZ").supervisor,
                change(Markings::new(Tlp::Clear, Pap::White), "published"),
                at,
            )?;
            let restricted = Markings::new(Tlp::Amber, Pap::Green)
                .with_caveat("NO-ONWARD")
                .expect("caveat");
            a.change_marking(
                &Officials::of("US").analyst,
                change(restricted, "matches a US case"),
                at,
            )?;
            settle(&a, &b, at)
        })
        .await
        .expect("concurrent thread")
        .expect("concurrent re-markings");
        let (us_item, uz_item) = (latest(&us, &out.item, ""), latest(&uz, &out.item, ""));
        assert_eq!(
            (&us_item.0[..], &us_item.1[..], &us_item.2[..]),
            ("AMBER", "GREEN", "NO-ONWARD")
        );
        assert_eq!(
            (&uz_item.0, &uz_item.1, &uz_item.2),
            (&us_item.0, &us_item.1, &us_item.2),
            "both copies agree"
        );
        assert_eq!(us_item.3, "provider:UZ-CUSTOMS");
        assert_eq!(uz_item.3, "partner:US-CBP:us.analyst");
        assert_eq!(
            rejected(&uz, &out.item),
            ["marking_loosened_not_by_provider"],
            "only the forged change was refused"
        );
        assert!(rejected(&us, &out.item).is_empty());

        us_node.stop().await;
        uz_node.stop().await;
    });
}
