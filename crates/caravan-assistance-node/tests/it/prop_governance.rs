//! Property test over the governance messages: random re-markings by both sides and
//! directory updates from both sides, with messages delivered out of order and twice. The
//! receiver never takes a loosening from the non-provider nor a provider's change older
//! than one it applied; every directory ends on the partner's last version; no message is
//! lost or applied twice.

use caravan_assistance::agreement::{AgreementState, Purpose, US_UZ_CMAA_2024};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance_node::directory;
use caravan_assistance_node::marking_change::MarkingChangeInput;
use caravan_assistance_node::service::{AssistanceNode, today};
use caravan_assistance_node::story::{DAY_MS, Officials};
use caravan_assistance_node::wire::{Body, Content};
use caravan_exchange::node::ReceivedMessage;
use caravan_store::assistance::MarkingRow;
use proptest::prelude::*;

use crate::loopback::{T0, node};

#[derive(Debug, Clone)]
enum Step {
    /// Side 0 (US, the receiver) or 1 (UZ, the provider) re-marks the item.
    Remark {
        side: usize,
        supervisor: bool,
        tlp: usize,
        pap: usize,
    },
    /// A side sends the next version of its directory section.
    Directory {
        side: usize,
        tweak: u8,
    },
    /// Deliver one message in flight towards `to`, chosen by `pick` (out of order).
    Deliver {
        to: usize,
        pick: usize,
    },
    /// Deliver again the message last delivered towards `to`.
    Duplicate {
        to: usize,
    },
    Wait,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize, any::<bool>(), 0..5usize, 0..4usize)
            .prop_map(|(side, supervisor, tlp, pap)| Step::Remark { side, supervisor, tlp, pap }),
        2 => (0..2usize, any::<u8>()).prop_map(|(side, tweak)| Step::Directory { side, tweak }),
        4 => (0..2usize, any::<usize>()).prop_map(|(to, pick)| Step::Deliver { to, pick }),
        1 => (0..2usize).prop_map(|to| Step::Duplicate { to }),
        1 => Just(Step::Wait),
    ]
}

fn markings(r: &MarkingRow) -> Markings {
    r.caveats.split(',').filter(|c| !c.is_empty()).fold(
        Markings::new(Tlp::parse(&r.tlp).unwrap(), Pap::parse(&r.pap).unwrap()),
        |m, c| m.with_caveat(c).unwrap(),
    )
}

/// Whole-item rows in the order they were written, and whether each covers its
/// predecessor (a tightening or no change).
fn history(node: &AssistanceNode, item: &str) -> Vec<(MarkingRow, bool)> {
    let mut rows: Vec<MarkingRow> = node
        .store()
        .marking_rows(item)
        .unwrap()
        .into_iter()
        .filter(|r| r.field.is_empty())
        .collect();
    rows.sort_by_key(|r| r.seq);
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let covers = i == 0 || markings(r).covers(&markings(&rows[i - 1]));
        out.push((r.clone(), covers));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn remarkings_and_directory_updates_survive_late_and_duplicate_delivery(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let nodes = [node(true), node(false)];
        let officials = [Officials::of("US"), Officials::of("UZ")];
        let mut now = T0;
        for (n, o) in nodes.iter().zip(&officials) {
            n.install_agreement(US_UZ_CMAA_2024, now).unwrap();
            n.set_agreement_status(AgreementState::InForce, today(now), "note", [&o.admin, &o.supervisor], now).unwrap();
        }
        // UZ supplies the item; it reaches the US at once.
        let item = nodes[1].inform(&officials[1].desk, "goods", false, "alert",
            Markings::new(Tlp::Amber, Pap::Amber), vec![Purpose::Intel], now).unwrap();
        for m in nodes[1].take_queued(now).unwrap() {
            prop_assert!(nodes[0].receive(&m, now).unwrap());
        }
        let thread = directory::thread("us-uz-cmaa-2024");
        let mut flight: [Vec<ReceivedMessage>; 2] = [Vec::new(), Vec::new()];
        let mut last: [Option<ReceivedMessage>; 2] = [None, None];
        let collect = |flight: &mut [Vec<ReceivedMessage>; 2], now: i64| {
            for from in 0..2 {
                flight[1 - from].extend(nodes[from].take_queued(now).unwrap());
            }
        };
        for s in steps {
            collect(&mut flight, now);
            match s {
                Step::Remark { side, supervisor, tlp, pap } => {
                    let o = &officials[side];
                    let who = if supervisor { &o.supervisor } else { &o.analyst };
                    let _ = nodes[side].change_marking(who, MarkingChangeInput {
                        item_id: item.clone(),
                        field: None,
                        markings: Markings::new(Tlp::ALL[tlp], Pap::ALL[pap]),
                        reason: "prop".into(),
                    }, now);
                }
                Step::Directory { side, tweak } => {
                    let o = &officials[side];
                    let mut entries = nodes[side].directory_view().unwrap().own.entries;
                    entries[0].channels = vec!["caravan".into(), format!("line-{tweak}")];
                    nodes[side].update_directory(entries, "prop", [&o.admin, &o.supervisor], now).unwrap();
                }
                Step::Deliver { to, pick } => {
                    if !flight[to].is_empty() {
                        let m = flight[to].remove(pick % flight[to].len());
                        nodes[to].receive(&m, now).unwrap();
                        last[to] = Some(m);
                    }
                }
                Step::Duplicate { to } => {
                    if let Some(m) = &last[to] {
                        let rows = nodes[to].store().marking_rows(&item).unwrap().len();
                        let dir = nodes[to].directory_view().unwrap();
                        prop_assert!(nodes[to].receive(m, now).unwrap(), "recognised as already handled");
                        prop_assert_eq!(nodes[to].store().marking_rows(&item).unwrap().len(), rows);
                        prop_assert_eq!(nodes[to].directory_view().unwrap(), dir);
                    }
                }
                Step::Wait => now += DAY_MS,
            }
            // The receiver's own re-markings only tighten; on the provider's node, what the
            // receiver sent only tightened too.
            for (r, covers) in history(&nodes[0], &item) {
                if !r.set_by.starts_with("provider:") {
                    prop_assert!(covers, "US row {:?} loosened", r);
                }
            }
            for (r, covers) in history(&nodes[1], &item) {
                if r.set_by.starts_with("partner:") {
                    prop_assert!(covers, "UZ took a loosening from the US: {:?}", r);
                }
            }
        }
        // Everything in flight arrives, in order per direction.
        loop {
            collect(&mut flight, now);
            if flight.iter().all(Vec::is_empty) {
                break;
            }
            for to in 0..2 {
                for m in std::mem::take(&mut flight[to]) {
                    nodes[to].receive(&m, now).unwrap();
                }
            }
        }
        // The provider's changes were applied at the US in their order only.
        let applied: Vec<u32> = nodes[0].store().case_messages(&item).unwrap().into_iter()
            .filter(|m| m.direction == "in" && m.state == "applied" && m.action == "Marking.Change")
            .map(|m| {
                let body: Body = serde_json::from_str(&m.body).unwrap();
                match body.content {
                    Content::MarkingChange(c) => c.seq,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        prop_assert!(applied.windows(2).all(|w| w[0] < w[1]), "applied out of order: {:?}", applied);
        // Each directory ends on the partner's last version.
        let views = [nodes[0].directory_view().unwrap(), nodes[1].directory_view().unwrap()];
        prop_assert_eq!(&views[0].own, &views[1].partner);
        prop_assert_eq!(&views[1].own, &views[0].partner);
        // No message lost: each one sent is recorded once at the other side, applied or
        // refused with a code.
        for from in 0..2 {
            let to = 1 - from;
            prop_assert!(nodes[from].store().queued_messages(10).unwrap().is_empty());
            for t in [&item, &thread] {
                let sent = nodes[from].store().case_messages(t).unwrap();
                for m in sent.iter().filter(|m| m.direction == "out") {
                    let got = nodes[to].store().case_message("in", &m.message_uuid).unwrap();
                    prop_assert!(got.state == "applied" || (got.state == "rejected" && got.code.is_some()));
                }
            }
        }
    }
}
