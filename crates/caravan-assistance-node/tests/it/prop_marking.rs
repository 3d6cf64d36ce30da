//! Property test of concurrent `Marking.Change`s (assistance spec §9): the provider (UZ)
//! loosens or tightens an item and one of its fields while the receiver (US) tightens the
//! same targets, each side applying its own change first and the other's later, with
//! messages delivered out of order, late and twice. Both copies end on the same markings, and
//! on the ones §9 asks for: the later word when one side had applied the other's last one
//! before speaking, the join (strictest wins) when the two last words were concurrent — so a
//! receiver's tightening survives a provider's loosening made without knowledge of it. No
//! change is lost: each one is recorded on the other copy, applied or refused only as
//! superseded by a later change of the same sender.

use std::collections::BTreeSet;

use caravan_assistance::agreement::{AgreementState, Purpose, US_UZ_CMAA_2024};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance_node::marking_change::{ACTION, MarkingChangeInput};
use caravan_assistance_node::service::{AssistanceNode, today};
use caravan_assistance_node::story::{DAY_MS, Officials};
use caravan_assistance_node::wire::{Body, Content};
use caravan_exchange::node::ReceivedMessage;
use caravan_store::assistance::MarkingRow;
use proptest::prelude::*;

use crate::loopback::{T0, node};

const US: usize = 0;
const UZ: usize = 1;
const FIELDS: [Option<&str>; 2] = [None, Some("summary")];
const CAVEATS: [&str; 2] = ["NO-ONWARD", "PERSONAL-DATA"];

#[derive(Debug, Clone)]
enum Step {
    /// The provider's supervisor sets `target` to any markings: a loosening, a tightening,
    /// or neither (incomparable).
    Provider {
        target: usize,
        tlp: usize,
        pap: usize,
        caveats: u8,
    },
    /// The receiver's analyst raises `target` from what its copy holds now.
    Receiver {
        target: usize,
        up_tlp: usize,
        up_pap: usize,
        caveats: u8,
    },
    /// One message in flight towards `to`, chosen by `pick` (out of order).
    Deliver { to: usize, pick: usize },
    /// The message last delivered towards `to`, again.
    Duplicate { to: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize, 0..5usize, 0..4usize, 0..4u8).prop_map(|(target, tlp, pap, caveats)| {
            Step::Provider { target, tlp, pap, caveats }
        }),
        3 => (0..2usize, 0..3usize, 0..3usize, 0..4u8).prop_map(
            |(target, up_tlp, up_pap, caveats)| Step::Receiver { target, up_tlp, up_pap, caveats }
        ),
        5 => (0..2usize, any::<usize>()).prop_map(|(to, pick)| Step::Deliver { to, pick }),
        1 => (0..2usize).prop_map(|to| Step::Duplicate { to }),
    ]
}

fn with_caveats(mut m: Markings, mask: u8) -> Markings {
    for (i, c) in CAVEATS.iter().enumerate() {
        if mask & (1 << i) != 0 {
            m = m.with_caveat(c).unwrap();
        }
    }
    m
}

fn decode(r: &MarkingRow) -> Markings {
    r.caveats.split(',').filter(|c| !c.is_empty()).fold(
        Markings::new(Tlp::parse(&r.tlp).unwrap(), Pap::parse(&r.pap).unwrap()),
        |m, c| m.with_caveat(c).unwrap(),
    )
}

/// The markings a copy holds on `field` (the item's own for `None`), if any row sets them.
fn held(node: &AssistanceNode, item: &str, field: Option<&str>) -> Option<Markings> {
    node.store()
        .marking_rows(item)
        .unwrap()
        .into_iter()
        .filter(|r| r.field == field.unwrap_or(""))
        .max_by_key(|r| r.seq)
        .map(|r| decode(&r))
}

/// One side's word: the change id, its markings, and the other side's change ids its copy had
/// applied when it spoke.
#[derive(Debug, Clone)]
struct Word {
    change_id: String,
    markings: Markings,
    knew: BTreeSet<String>,
}

/// The change ids a copy has applied from its partner, and the recorded state and code of
/// every inbound `Marking.Change` (change id, state, code).
fn inbound(node: &AssistanceNode, item: &str) -> Vec<(String, String, Option<String>)> {
    node.store()
        .case_messages(item)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == "in" && m.action == ACTION)
        .map(|m| {
            let body: Body = serde_json::from_str(&m.body).unwrap();
            let Content::MarkingChange(c) = body.content else {
                panic!("not a Marking.Change: {}", m.body);
            };
            (c.change_id, m.state, m.code)
        })
        .collect()
}

fn applied(node: &AssistanceNode, item: &str) -> BTreeSet<String> {
    inbound(node, item)
        .into_iter()
        .filter(|(_, state, _)| state == "applied")
        .map(|(id, _, _)| id)
        .collect()
}

/// What §9 asks both copies to hold on a target after everything has arrived, from each
/// side's last word (see the module doc); `None` when neither side re-marked it.
fn expected(provider: Option<&Word>, receiver: Option<&Word>) -> Option<Markings> {
    match (provider, receiver) {
        (None, None) => None,
        (Some(w), None) | (None, Some(w)) => Some(w.markings.clone()),
        (Some(p), Some(r)) if r.knew.contains(&p.change_id) => Some(r.markings.clone()),
        (Some(p), Some(r)) if p.knew.contains(&r.change_id) => Some(p.markings.clone()),
        (Some(p), Some(r)) => Some(p.markings.join(&r.markings)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_loosening_and_tightening_converge_to_the_strictest_of_concurrent_words(
        steps in proptest::collection::vec(step(), 1..48)
    ) {
        let nodes = [node(true), node(false)];
        let officials = [Officials::of("US"), Officials::of("UZ")];
        let now = T0;
        for (n, o) in nodes.iter().zip(&officials) {
            n.install_agreement(US_UZ_CMAA_2024, now).unwrap();
            n.set_agreement_status(AgreementState::InForce, today(now), "note", [&o.admin, &o.supervisor], now).unwrap();
        }
        let supplied = Markings::new(Tlp::Amber, Pap::Amber);
        let item = nodes[UZ].inform(&officials[UZ].desk, "goods", false, "alert",
            supplied.clone(), vec![Purpose::Intel], now).unwrap();
        for m in nodes[UZ].take_queued(now).unwrap() {
            prop_assert!(nodes[US].receive(&m, now).unwrap());
        }
        // words[side][target]: every word in the order spoken.
        let mut words: [[Vec<Word>; 2]; 2] = Default::default();
        let mut flight: [Vec<ReceivedMessage>; 2] = [Vec::new(), Vec::new()];
        let mut last: [Option<ReceivedMessage>; 2] = [None, None];
        let mut at = now;
        for s in steps {
            at += 1;
            for from in [US, UZ] {
                flight[1 - from].extend(nodes[from].take_queued(at).unwrap());
            }
            match s {
                Step::Provider { target, tlp, pap, caveats } => {
                    let markings = with_caveats(Markings::new(Tlp::ALL[tlp], Pap::ALL[pap]), caveats);
                    let input = MarkingChangeInput {
                        item_id: item.clone(),
                        field: FIELDS[target].map(str::to_owned),
                        markings: markings.clone(),
                        reason: "provider's review".into(),
                    };
                    let knew = applied(&nodes[UZ], &item);
                    match nodes[UZ].change_marking(&officials[UZ].supervisor, input, at) {
                        Ok(body) => words[UZ][target].push(Word { change_id: body.change_id, markings, knew }),
                        Err(e) => prop_assert_eq!(e.code, "marking_unchanged"),
                    }
                }
                Step::Receiver { target, up_tlp, up_pap, caveats } => {
                    let field = FIELDS[target];
                    let now_held = held(&nodes[US], &item, field)
                        .or_else(|| held(&nodes[US], &item, None))
                        .unwrap();
                    let raised = Markings::new(
                        Tlp::ALL[(now_held.tlp as usize + up_tlp).min(Tlp::ALL.len() - 1)],
                        Pap::ALL[(now_held.pap as usize + up_pap).min(Pap::ALL.len() - 1)],
                    );
                    let markings = with_caveats(raised, caveats).join(&now_held);
                    let input = MarkingChangeInput {
                        item_id: item.clone(),
                        field: field.map(str::to_owned),
                        markings: markings.clone(),
                        reason: "matches a US case".into(),
                    };
                    let knew = applied(&nodes[US], &item);
                    match nodes[US].change_marking(&officials[US].analyst, input, at) {
                        Ok(body) => words[US][target].push(Word { change_id: body.change_id, markings, knew }),
                        Err(e) => prop_assert_eq!(e.code, "marking_unchanged", "a tightening is always taken"),
                    }
                }
                Step::Deliver { to, pick } => {
                    if !flight[to].is_empty() {
                        let m = flight[to].remove(pick % flight[to].len());
                        nodes[to].receive(&m, at).unwrap();
                        last[to] = Some(m);
                    }
                }
                Step::Duplicate { to } => {
                    if let Some(m) = &last[to] {
                        let rows = nodes[to].store().marking_rows(&item).unwrap();
                        prop_assert!(nodes[to].receive(m, at).unwrap(), "recognised as already handled");
                        prop_assert_eq!(nodes[to].store().marking_rows(&item).unwrap(), rows);
                    }
                }
            }
        }
        // Everything in flight arrives, in any order already exercised above.
        loop {
            at += DAY_MS;
            for from in [US, UZ] {
                flight[1 - from].extend(nodes[from].take_queued(at).unwrap());
            }
            if flight.iter().all(Vec::is_empty) {
                break;
            }
            for to in [US, UZ] {
                for m in std::mem::take(&mut flight[to]) {
                    nodes[to].receive(&m, at).unwrap();
                }
            }
        }
        for (target, field) in FIELDS.iter().enumerate() {
            let (us, uz) = (held(&nodes[US], &item, *field), held(&nodes[UZ], &item, *field));
            prop_assert_eq!(&us, &uz, "the copies diverge on {:?}", field);
            let provider = words[UZ][target].last();
            let receiver = words[US][target].last();
            let want = expected(provider, receiver)
                .or_else(|| field.is_none().then(|| supplied.clone()));
            prop_assert_eq!(&us, &want, "{:?}: provider {:?}, receiver {:?}", field, provider, receiver);
            // §9: the receiver's last tightening survives unless the provider had seen it.
            if let (Some(p), Some(r)) = (provider, receiver)
                && !p.knew.contains(&r.change_id)
            {
                prop_assert!(us.as_ref().unwrap().covers(&r.markings));
            }
        }
        // No change lost: every word is recorded on the other copy, each side's last word on
        // each target is applied there, and only a later word of the same sender supersedes.
        for (side, copy) in [(US, UZ), (UZ, US)] {
            let recorded = inbound(&nodes[copy], &item);
            for target_words in &words[side] {
                for (i, w) in target_words.iter().enumerate() {
                    let Some((_, state, code)) = recorded.iter().find(|(id, _, _)| *id == w.change_id) else {
                        return Err(TestCaseError::fail(format!("{} never recorded", w.change_id)));
                    };
                    if i + 1 == target_words.len() {
                        prop_assert_eq!(state, "applied", "last word {} {:?}", w.change_id, code);
                    } else if state != "applied" {
                        prop_assert_eq!(code.as_deref(), Some("marking_change_superseded"));
                    }
                }
            }
        }
    }
}
