//! Property test over the state machine with the store: random sequences of officers'
//! actions on both sides, with messages delivered late, interleaved and twice, never reach
//! an illegal state and never lose (or double-apply) a message.

use std::collections::VecDeque;

use caravan_assistance::agreement::{AgreementState, Purpose, US_UZ_CMAA_2024};
use caravan_assistance::evidence::Form;
use caravan_assistance::lifecycle::{self, CaseState, Event, Ground};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::roles::Actor;
use caravan_assistance_node::service::{AssistanceNode, EvidenceUpload, UploadContent, today};
use caravan_assistance_node::story::{self, DAY_MS, Officials};
use caravan_exchange::node::ReceivedMessage;
use proptest::prelude::*;

use crate::loopback::{T0, node};

#[derive(Debug, Clone)]
enum Step {
    /// An officer of one side (0 = US requester, 1 = UZ requested) tries an event.
    Act {
        side: usize,
        supervisor: bool,
        event: u8,
    },
    /// Deliver the oldest message in flight towards `to`.
    Deliver { to: usize },
    /// Deliver again the message last delivered towards `to` (the exchange re-hands it).
    Duplicate { to: usize },
    /// Days pass.
    Wait { days: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2usize, any::<bool>(), 0..14u8).prop_map(|(side, supervisor, event)| Step::Act { side, supervisor, event }),
        4 => (0..2usize).prop_map(|to| Step::Deliver { to }),
        1 => (0..2usize).prop_map(|to| Step::Duplicate { to }),
        1 => (1..40u8).prop_map(|days| Step::Wait { days }),
    ]
}

fn file() -> EvidenceUpload {
    EvidenceUpload {
        name: "note.txt".into(),
        media_type: "text/plain".into(),
        content: UploadContent::Bytes(b"a note".to_vec()),
        form: Form::Copy,
        certification: None,
        markings: Markings::new(Tlp::Amber, Pap::Amber),
        permitted_uses: vec![Purpose::Admin],
    }
}

fn try_event(node: &AssistanceNode, who: &Actor, approver: &Actor, case: &str, code: u8, now: i64) {
    let later = today(now) + chrono::Days::new(20);
    let event = match code {
        0 => Event::Acknowledge,
        1 => Event::Accept,
        2 => Event::Refuse {
            grounds: vec![Ground::G04],
            reason: "national interest".into(),
        },
        3 => Event::Postpone {
            reason: "ongoing investigation".into(),
            resume_on: later,
            conditions: vec![],
        },
        4 => Event::Resume,
        5 => {
            let _ = node.reply(who, Some(approver), case, vec![file()], None, now);
            return;
        }
        6 => {
            let _ = node.reply(
                who,
                Some(approver),
                case,
                vec![file()],
                Some((vec!["bank records".into()], later)),
                now,
            );
            return;
        }
        7 => Event::Withdraw {
            reason: "no longer needed".into(),
        },
        8 => Event::Close,
        9 => Event::DelayNotice {
            reason: "staff shortage".into(),
            new_date: later,
        },
        10 => Event::ReturnForCorrection {
            missing: vec!["hs_codes".into()],
        },
        11 => Event::Submit,
        12 => Event::AcceptWithConditions {
            grounds: vec![Ground::G05],
            reason: "trade secret".into(),
            conditions: vec!["no onward use".into()],
        },
        _ => Event::ConditionsAccept,
    };
    let _ = node.act(who, None, case, event, "request.prop", now);
}

/// Checks one node's copy: every stored transition is a row of the table, the history is
/// contiguous and ends in the stored state, and the snapshot agrees with the row.
fn check_legal(node: &AssistanceNode, case: &str) {
    let row = node.store().case_row(case).unwrap();
    let snapshot: lifecycle::Case = serde_json::from_str(&row.snapshot).unwrap();
    assert_eq!(snapshot.state.code(), row.state);
    let transitions = node.store().case_transitions(case).unwrap();
    for (i, t) in transitions.iter().enumerate() {
        assert_eq!(t.seq, i as i64 + 1, "history is contiguous");
        let from = CaseState::parse(&t.from_state).unwrap();
        let to = CaseState::parse(&t.to_state).unwrap();
        let action = lifecycle::Action::parse(&t.action).unwrap();
        let legal = lifecycle::transition(from, action).expect("a legal (from, action)");
        assert_eq!(legal.to, to, "{action} from {from}");
        if i > 0 {
            assert_eq!(
                transitions[i - 1].to_state,
                t.from_state,
                "each move starts where the last ended"
            );
        }
    }
    if let Some(last) = transitions.last() {
        assert_eq!(last.to_state, row.state);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_action_sequences_stay_legal_and_lose_no_message(steps in proptest::collection::vec(step(), 1..40)) {
        let nodes = [node(true), node(false)];
        let officials = [Officials::of("US"), Officials::of("UZ")];
        let mut now = T0;
        for (n, o) in nodes.iter().zip(&officials) {
            n.install_agreement(US_UZ_CMAA_2024, now).unwrap();
            n.set_agreement_status(AgreementState::InForce, today(now), "note", [&o.admin, &o.supervisor], now).unwrap();
        }
        let case = nodes[0].create_request(&officials[0].desk, story::origin_and_value_request(), "us-cbp-ilo-desk", now).unwrap().case_id;
        nodes[0].act(&officials[0].desk, None, &case, Event::Submit, "request.send", now).unwrap();
        // In flight towards side 0 and side 1; the last delivered to each.
        let mut flight: [VecDeque<ReceivedMessage>; 2] = [VecDeque::new(), VecDeque::new()];
        let mut last: [Option<ReceivedMessage>; 2] = [None, None];
        let collect = |flight: &mut [VecDeque<ReceivedMessage>; 2], now: i64| {
            for from in 0..2 {
                flight[1 - from].extend(nodes[from].take_queued(now).unwrap());
            }
        };
        for s in steps {
            collect(&mut flight, now);
            match s {
                Step::Act { side, supervisor, event } => {
                    let o = &officials[side];
                    let who = if supervisor { &o.supervisor } else { &o.desk };
                    if nodes[side].store().case_row(&case).is_ok() {
                        try_event(&nodes[side], who, &o.supervisor, &case, event, now);
                    }
                }
                Step::Deliver { to } => {
                    if let Some(m) = flight[to].pop_front() {
                        nodes[to].receive(&m, now).unwrap();
                        last[to] = Some(m);
                    }
                }
                Step::Duplicate { to } => {
                    if let Some(m) = &last[to] {
                        let before = nodes[to].store().case_transitions(&case).unwrap().len();
                        nodes[to].receive(m, now).unwrap();
                        prop_assert_eq!(nodes[to].store().case_transitions(&case).unwrap().len(), before, "a duplicate is not applied again");
                    }
                }
                Step::Wait { days } => now += i64::from(days) * DAY_MS,
            }
            for n in &nodes {
                if n.store().case_row(&case).is_ok() {
                    check_legal(n, &case);
                }
            }
        }
        // Everything in flight arrives (in order per direction).
        loop {
            collect(&mut flight, now);
            if flight.iter().all(VecDeque::is_empty) {
                break;
            }
            for to in 0..2 {
                while let Some(m) = flight[to].pop_front() {
                    nodes[to].receive(&m, now).unwrap();
                }
            }
        }
        // No message lost: every message one side sent is recorded once at the other,
        // applied or refused with a code; nothing stays queued.
        for from in 0..2 {
            let to = 1 - from;
            prop_assert!(nodes[from].store().queued_messages(10).unwrap().is_empty());
            let sent = nodes[from].store().case_messages(&case).unwrap();
            for m in sent.iter().filter(|m| m.direction == "out") {
                let got = nodes[to].store().case_message("in", &m.message_uuid).unwrap();
                prop_assert!(got.state == "applied" || (got.state == "rejected" && got.code.is_some()));
            }
            let received = nodes[to].store().case_messages(&case).unwrap();
            prop_assert_eq!(
                received.iter().filter(|m| m.direction == "in").count(),
                sent.iter().filter(|m| m.direction == "out").count()
            );
            check_legal(&nodes[to], &case);
        }
    }
}
