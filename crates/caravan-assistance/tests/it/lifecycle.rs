//! The request state machine (§3): the demo case end to end, refusals, timers, overdue lists,
//! the generated diagram, and a property test over random action sequences.

use caravan_assistance::agreement::{Agreement, Purpose};
use caravan_assistance::catalogue::{self, OralRecord, RequestType, Urgency};
use caravan_assistance::lifecycle::{
    self, Action, By, Carriage, Case, CaseState, Event, Ground, ReplyItem, Side, TRANSITIONS,
};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::roles::{Actor, Role};
use chrono::NaiveDate;
use proptest::prelude::*;

use crate::fixtures::{complete_draft, day, in_force};

fn desk(side: Side) -> By {
    By::officer(side, Actor::new(&format!("{side}-desk"), Role::DeskOfficer))
}

fn sup(side: Side) -> By {
    By::officer(side, Actor::new(&format!("{side}-sup"), Role::Supervisor))
}

fn item(id: &str) -> ReplyItem {
    ReplyItem {
        item_id: id.into(),
        markings: Markings::new(Tlp::Amber, Pap::Green),
        permitted_uses: vec![Purpose::Intel, Purpose::Admin],
    }
}

/// A case held by the requested side (UZ), received on 2025-03-03 (a Monday).
fn received(a: &Agreement) -> Case {
    let v = catalogue::validate(complete_draft(), a, day(2025, 3, 1)).unwrap();
    let mut c = Case::incoming("case-1", "uz-desk", &v, day(2025, 3, 3));
    c.apply(
        Event::TransportReceipt,
        By::Node(Side::Requested),
        day(2025, 3, 3),
        a,
    )
    .unwrap();
    c
}

#[test]
fn demo_case_runs_to_closed_with_one_record_per_transition() {
    let a = in_force();
    let v = catalogue::validate(complete_draft(), &a, day(2025, 3, 1)).unwrap();
    let mut us = Case::draft("case-1", "us-desk", &v, day(2025, 3, 1));
    let r = us
        .apply(Event::Submit, desk(Side::Requester), day(2025, 3, 3), &a)
        .unwrap();
    assert_eq!(r.carriage, Carriage::ToPartner("Request.Submit"));
    assert!(r.outbound);
    assert_eq!(us.state, CaseState::Sent);

    let mut uz = received(&a);
    assert_eq!(uz.state, CaseState::Received);
    assert_eq!(
        uz.ack_due,
        Some(day(2025, 3, 10)),
        "5 working days from Monday"
    );
    assert_eq!(uz.reply_due(), Some(day(2025, 6, 1)), "90 days");
    uz.apply(
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 4),
        &a,
    )
    .unwrap();
    assert_eq!(uz.ack_due, None);
    uz.apply(Event::Accept, sup(Side::Requested), day(2025, 3, 5), &a)
        .unwrap();
    assert_eq!(uz.state, CaseState::InExecution);
    uz.apply(
        Event::Delegate {
            authority: "Tashkent regional customs".into(),
        },
        desk(Side::Requested),
        day(2025, 3, 6),
        &a,
    )
    .unwrap();
    let mut approved = desk(Side::Requested);
    if let By::Officer { approved_by, .. } = &mut approved {
        *approved_by = Some(Actor::new("uz-sup", Role::Supervisor));
    }
    uz.apply(
        Event::Reply {
            items: vec![item("export-declaration"), item("invoice")],
        },
        approved,
        day(2025, 4, 1),
        &a,
    )
    .unwrap();
    assert_eq!(uz.state, CaseState::Answered);
    assert_eq!(uz.reply_due(), None, "T_exec stopped");

    let actions: Vec<&str> = uz
        .outbox()
        .map(|r| match r.carriage {
            Carriage::ToPartner(a) => a,
            Carriage::LocalLog => unreachable!(),
        })
        .collect();
    assert_eq!(
        actions,
        ["Request.Acknowledge", "Request.Accept", "Request.Reply"]
    );
    assert_eq!(
        uz.records.len(),
        5,
        "receipt + ack + accept + delegate + reply"
    );
    assert!(
        uz.records
            .iter()
            .enumerate()
            .all(|(i, r)| r.seq == i as u64 + 1)
    );
    // The delegation is internal.
    assert_eq!(uz.records[3].carriage, Carriage::LocalLog);

    uz.apply(Event::Close, desk(Side::Requester), day(2025, 4, 2), &a)
        .unwrap();
    assert_eq!(uz.state, CaseState::Closed);
    let last = uz.records.last().unwrap();
    assert!(!last.outbound, "the close comes from the requester");
}

#[track_caller]
fn refused(case: &mut Case, event: Event, by: By, on: NaiveDate, a: &Agreement, code: &str) {
    let before = case.clone();
    let err = case.apply(event, by, on, a).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(*case, before, "a refused event changes nothing");
}

#[test]
fn refusals_carry_specific_codes_and_change_nothing() {
    let a = in_force();
    let mut c = received(&a);
    let on = day(2025, 3, 4);
    refused(
        &mut c,
        Event::Reply {
            items: vec![item("x")],
        },
        sup(Side::Requested),
        on,
        &a,
        "transition_not_allowed",
    );
    refused(
        &mut c,
        Event::Acknowledge,
        desk(Side::Requester),
        on,
        &a,
        "wrong_side",
    );
    refused(
        &mut c,
        Event::Acknowledge,
        By::Node(Side::Requested),
        on,
        &a,
        "officer_only",
    );
    refused(
        &mut c,
        Event::Acknowledge,
        By::officer(Side::Requested, Actor::new("a", Role::Analyst)),
        on,
        &a,
        "role_not_permitted",
    );
    refused(
        &mut c,
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 1),
        &a,
        "time_goes_backwards",
    );
    refused(
        &mut c,
        Event::ReturnForCorrection {
            missing: vec![" ".into()],
        },
        desk(Side::Requested),
        on,
        &a,
        "missing_list_empty",
    );
    c.apply(Event::Acknowledge, desk(Side::Requested), on, &a)
        .unwrap();
    refused(
        &mut c,
        Event::Accept,
        desk(Side::Requested),
        on,
        &a,
        "role_not_permitted",
    );
    refused(
        &mut c,
        Event::Refuse {
            grounds: vec![],
            reason: "x".into(),
        },
        sup(Side::Requested),
        on,
        &a,
        "grounds_missing",
    );
    refused(
        &mut c,
        Event::Refuse {
            grounds: vec![Ground::G01],
            reason: " ".into(),
        },
        sup(Side::Requested),
        on,
        &a,
        "reason_missing",
    );
    refused(
        &mut c,
        Event::Refuse {
            grounds: vec![Ground::P01],
            reason: "x".into(),
        },
        sup(Side::Requested),
        on,
        &a,
        "ground_not_applicable",
    );
    c.apply(
        Event::Refuse {
            grounds: vec![Ground::G05],
            reason: "trade secret".into(),
        },
        sup(Side::Requested),
        on,
        &a,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Refused);
    assert_eq!(c.grounds, [Ground::G05]);
    assert_eq!(c.reply_due(), None);
}

#[test]
fn replies_need_marked_items_and_supervisor_approval() {
    let a = in_force();
    let mut c = received(&a);
    c.apply(
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 4),
        &a,
    )
    .unwrap();
    c.apply(Event::Accept, sup(Side::Requested), day(2025, 3, 4), &a)
        .unwrap();
    let on = day(2025, 3, 5);
    refused(
        &mut c,
        Event::Reply {
            items: vec![item("x")],
        },
        desk(Side::Requested),
        on,
        &a,
        "supervisor_approval_required",
    );
    refused(
        &mut c,
        Event::Reply { items: vec![] },
        sup(Side::Requested),
        on,
        &a,
        "reply_empty",
    );
    let mut bare = item("y");
    bare.permitted_uses.clear();
    refused(
        &mut c,
        Event::Reply { items: vec![bare] },
        sup(Side::Requested),
        on,
        &a,
        "reply_item_unmarked",
    );
    let mut self_approved = desk(Side::Requested);
    if let By::Officer { approved_by, .. } = &mut self_approved {
        *approved_by = Some(Actor::new("requested-desk", Role::Supervisor));
    }
    refused(
        &mut c,
        Event::Reply {
            items: vec![item("x")],
        },
        self_approved,
        on,
        &a,
        "supervisor_approval_required",
    );
}

#[test]
fn submit_under_an_agreement_not_in_force_is_refused() {
    let signed = Agreement::us_uz();
    let a = in_force();
    let v = catalogue::validate(complete_draft(), &a, day(2025, 3, 1)).unwrap();
    let mut c = Case::draft("c", "us-desk", &v, day(2025, 3, 1));
    refused(
        &mut c,
        Event::Submit,
        desk(Side::Requester),
        day(2025, 3, 3),
        &signed,
        "agreement_not_in_force",
    );
}

#[test]
fn postponement_and_correction_pause_t_exec() {
    let a = in_force();
    let mut c = received(&a);
    c.apply(
        Event::ReturnForCorrection {
            missing: vec!["persons".into()],
        },
        desk(Side::Requested),
        day(2025, 3, 3),
        &a,
    )
    .unwrap();
    assert_eq!(c.reply_due(), None, "paused");
    assert_eq!(c.correct_due, Some(day(2025, 4, 2)));
    c.apply(Event::Submit, desk(Side::Requester), day(2025, 3, 13), &a)
        .unwrap();
    assert_eq!(c.state, CaseState::Received);
    assert_eq!(
        c.reply_due(),
        Some(day(2025, 6, 11)),
        "10 paused days added"
    );
    c.apply(
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 14),
        &a,
    )
    .unwrap();
    c.apply(Event::Accept, sup(Side::Requested), day(2025, 3, 14), &a)
        .unwrap();
    refused(
        &mut c,
        Event::Postpone {
            reason: "x".into(),
            resume_on: day(2025, 3, 1),
            conditions: vec![],
        },
        sup(Side::Requested),
        day(2025, 3, 15),
        &a,
        "date_in_past",
    );
    c.apply(
        Event::Postpone {
            reason: "ongoing prosecution".into(),
            resume_on: day(2025, 4, 15),
            conditions: vec![],
        },
        sup(Side::Requested),
        day(2025, 3, 15),
        &a,
    )
    .unwrap();
    assert_eq!(c.grounds, [Ground::P01]);
    c.apply(Event::Resume, sup(Side::Requested), day(2025, 4, 14), &a)
        .unwrap();
    assert_eq!(c.reply_due(), Some(day(2025, 7, 11)), "30 more paused days");
}

#[test]
fn correction_expiry_auto_closes() {
    let a = in_force();
    let mut c = received(&a);
    c.apply(
        Event::ReturnForCorrection {
            missing: vec!["persons".into()],
        },
        desk(Side::Requested),
        day(2025, 3, 3),
        &a,
    )
    .unwrap();
    refused(
        &mut c,
        Event::CorrectionExpired,
        By::Node(Side::Requested),
        day(2025, 4, 2),
        &a,
        "correction_not_expired",
    );
    let r = c
        .apply(
            Event::CorrectionExpired,
            By::Node(Side::Requested),
            day(2025, 4, 3),
            &a,
        )
        .unwrap();
    assert_eq!(r.carriage, Carriage::ToPartner("Request.Close"));
    assert_eq!(c.state, CaseState::Closed);
}

#[test]
fn reminders_follow_the_agreement_cadence_and_overdue_lists_are_per_desk() {
    let a = in_force();
    let mut c = received(&a);
    c.apply(
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 4),
        &a,
    )
    .unwrap();
    c.apply(Event::Accept, sup(Side::Requested), day(2025, 3, 4), &a)
        .unwrap();
    // 80 % of 90 days from 2025-03-03 is 72 days: 2025-05-14; deadline 2025-06-01; then +14.
    assert_eq!(c.reminder_schedule(&a, day(2025, 5, 13)), []);
    assert_eq!(
        c.reminder_schedule(&a, day(2025, 6, 16)),
        [day(2025, 5, 14), day(2025, 6, 1), day(2025, 6, 15)]
    );
    refused(
        &mut c,
        Event::Reminder,
        By::Node(Side::Requester),
        day(2025, 5, 13),
        &a,
        "no_reminder_due",
    );
    refused(
        &mut c,
        Event::DelayNotice {
            reason: "x".into(),
            new_date: day(2025, 7, 1),
        },
        desk(Side::Requested),
        day(2025, 5, 14),
        &a,
        "not_overdue",
    );
    c.apply(
        Event::Reminder,
        By::Node(Side::Requester),
        day(2025, 5, 14),
        &a,
    )
    .unwrap();
    assert!(!c.overdue);
    c.apply(
        Event::Reminder,
        By::Node(Side::Requester),
        day(2025, 6, 2),
        &a,
    )
    .unwrap();
    assert!(c.overdue);
    refused(
        &mut c,
        Event::Reminder,
        By::Node(Side::Requester),
        day(2025, 6, 3),
        &a,
        "no_reminder_due",
    );
    c.apply(
        Event::DelayNotice {
            reason: "records in archive".into(),
            new_date: day(2025, 7, 1),
        },
        desk(Side::Requested),
        day(2025, 6, 3),
        &a,
    )
    .unwrap();

    let mut other = received(&a);
    other.id = "case-2".into();
    other.desk = "uz-desk-2".into();
    let mut done = received(&a);
    done.id = "case-3".into();
    done.apply(
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 4),
        &a,
    )
    .unwrap();
    done.apply(
        Event::Refuse {
            grounds: vec![Ground::G08],
            reason: "scope".into(),
        },
        sup(Side::Requested),
        day(2025, 3, 4),
        &a,
    )
    .unwrap();
    let lists = lifecycle::overdue_by_desk(&[c, other, done], day(2025, 6, 10));
    let keys: Vec<&String> = lists.keys().collect();
    assert_eq!(keys, ["uz-desk", "uz-desk-2"]);
    assert_eq!(lists["uz-desk"].len(), 1);
    assert_eq!(lists["uz-desk"][0].timer, "T_exec");
    assert_eq!(lists["uz-desk"][0].days_late, 9);
    let timers: Vec<&str> = lists["uz-desk-2"].iter().map(|o| o.timer).collect();
    assert_eq!(timers, ["T_ack", "T_exec"], "never acknowledged");
}

#[test]
fn urgent_oral_request_awaits_written_confirmation() {
    let a = in_force();
    let record = OralRecord {
        agreement_id: a.id.clone(),
        requesting_administration: "US".into(),
        caller: "CBP duty officer".into(),
        recorded_by: "uz-desk".into(),
        received_on: day(2025, 3, 3),
        summary: "container about to leave".into(),
        types: vec![RequestType::R06],
        urgency: Urgency {
            justification: "departs tonight".into(),
            reply_by: day(2025, 3, 5),
        },
    };
    let mut c = Case::oral("oral-1", "uz-desk", Side::Requested, &record, &a).unwrap();
    assert_eq!(c.state, CaseState::OralPendingConfirmation);
    assert_eq!(c.confirm_due, Some(day(2025, 3, 13)));
    assert_eq!(
        c.reply_due(),
        Some(day(2025, 3, 5)),
        "urgent date caps T_exec"
    );
    assert_eq!(
        lifecycle::overdue_by_desk(std::slice::from_ref(&c), day(2025, 3, 14))["uz-desk"].len(),
        3
    );
    c.apply(Event::Submit, desk(Side::Requester), day(2025, 3, 6), &a)
        .unwrap();
    assert_eq!(c.state, CaseState::Received);
    assert_eq!(c.confirm_due, None);
}

#[test]
fn state_machine_document_is_generated_from_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/STATE_MACHINE.md");
    let generated = lifecycle::mermaid();
    if std::env::var_os("UPDATE_STATE_MACHINE").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        committed, generated,
        "STATE_MACHINE.md is stale: rerun with UPDATE_STATE_MACHINE=1"
    );
}

#[test]
fn table_is_a_function_and_every_state_is_reachable() {
    for (i, r) in TRANSITIONS.iter().enumerate() {
        assert!(
            TRANSITIONS[i + 1..]
                .iter()
                .all(|s| (s.from, s.action) != (r.from, r.action)),
            "duplicate row {r:?}"
        );
    }
    let mut seen = vec![CaseState::Draft, CaseState::OralPendingConfirmation];
    loop {
        let before = seen.len();
        for r in TRANSITIONS {
            if seen.contains(&r.from) && !seen.contains(&r.to) {
                seen.push(r.to);
            }
        }
        if seen.len() == before {
            break;
        }
    }
    assert_eq!(seen.len(), CaseState::ALL.len());
    // Every partner-carried action is one the exchange accepts (its spec §3.2 catalogue),
    // so a case transition can never produce a message the partner's node refuses.
    let catalogue = caravan_exchange::node::ACTIONS;
    for action in Action::ALL {
        if let Carriage::ToPartner(wire) = action.carriage() {
            assert!(catalogue.contains(&wire), "{wire}");
        }
    }
}

fn arb_event() -> impl Strategy<Value = Event> {
    let text = prop_oneof![Just(String::new()), Just("reason".to_owned())];
    prop_oneof![
        Just(Event::Submit),
        Just(Event::TransportReceipt),
        text.clone()
            .prop_map(|m| Event::ReturnForCorrection { missing: vec![m] }),
        Just(Event::CorrectionExpired),
        Just(Event::Acknowledge),
        Just(Event::Accept),
        (text.clone(), any::<bool>()).prop_map(|(r, p)| Event::AcceptWithConditions {
            grounds: vec![if p { Ground::P01 } else { Ground::G04 }],
            reason: r.clone(),
            conditions: vec![r],
        }),
        Just(Event::ConditionsAccept),
        text.clone()
            .prop_map(|reason| Event::ConditionsDecline { reason }),
        (text.clone(), any::<bool>()).prop_map(|(reason, g)| Event::Refuse {
            grounds: if g { vec![Ground::G02] } else { vec![] },
            reason
        }),
        text.clone()
            .prop_map(|authority| Event::Delegate { authority }),
        (text.clone(), 0u64..60).prop_map(|(reason, d)| Event::Postpone {
            reason,
            resume_on: day(2025, 3, 1) + chrono::Days::new(d * 3),
            conditions: vec![]
        }),
        Just(Event::Resume),
        (any::<bool>(), 0u64..200).prop_map(|(empty, d)| Event::PartialReply {
            items: if empty { vec![] } else { vec![item("p")] },
            outstanding: vec!["rest".into()],
            expected_on: day(2025, 3, 1) + chrono::Days::new(d),
        }),
        any::<bool>().prop_map(|empty| Event::Reply {
            items: if empty { vec![] } else { vec![item("r")] }
        }),
        text.clone().prop_map(|reason| Event::Withdraw { reason }),
        Just(Event::Close),
        Just(Event::Reminder),
        (text, 0u64..200).prop_map(|(reason, d)| Event::DelayNotice {
            reason,
            new_date: day(2025, 3, 1) + chrono::Days::new(d)
        }),
    ]
}

fn arb_by() -> impl Strategy<Value = By> {
    (any::<bool>(), 0usize..4).prop_map(|(requester, who)| {
        let side = if requester {
            Side::Requester
        } else {
            Side::Requested
        };
        match who {
            0 => By::Node(side),
            1 => By::officer(side, Actor::new("d", Role::DeskOfficer)),
            2 => By::officer(side, Actor::new("s", Role::Supervisor)),
            _ => By::officer(side, Actor::new("x", Role::Analyst)),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Random action sequences never reach a state the table does not lead to, a refused
    /// action changes nothing, and every accepted action yields exactly one record with a
    /// contiguous sequence number — no message is lost or doubled.
    #[test]
    fn random_sequences_stay_legal_and_lose_no_message(
        steps in proptest::collection::vec((arb_event(), arb_by(), 0u64..8), 1..60),
        start_sent in any::<bool>(),
    ) {
        let a = in_force();
        let v = catalogue::validate(complete_draft(), &a, day(2025, 3, 1)).unwrap();
        let mut case = if start_sent {
            Case::incoming("p", "desk", &v, day(2025, 3, 1))
        } else {
            Case::draft("p", "desk", &v, day(2025, 3, 1))
        };
        let mut on = day(2025, 3, 1);
        let mut accepted = 0usize;
        for (event, by, advance) in steps {
            on = on + chrono::Days::new(advance * 5);
            let action = event.action();
            let before = case.clone();
            match case.apply(event, by, on, &a) {
                Ok(record) => {
                    accepted += 1;
                    let row = lifecycle::transition(before.state, action);
                    prop_assert!(row.is_some());
                    prop_assert_eq!(record.to, row.unwrap().to);
                    prop_assert_eq!(record.from, before.state);
                    prop_assert_eq!(record.seq, accepted as u64);
                    prop_assert_eq!(record.action, action);
                    prop_assert_eq!(case.state, row.unwrap().to);
                }
                Err(_) => prop_assert_eq!(&case, &before),
            }
            prop_assert_eq!(case.records.len(), accepted);
            // Timers agree with the state.
            if !case.state.is_open() {
                prop_assert_eq!(case.reply_due(), None);
                prop_assert!(case.overdue_timers(on + chrono::Days::new(10_000)).is_empty());
            }
            if case.state == CaseState::Postponed {
                prop_assert!(case.exec.unwrap().paused_since.is_some());
            }
            if case.state == CaseState::Answered {
                prop_assert!(!case.reply_items.is_empty());
            }
        }
        for (i, r) in case.records.iter().enumerate() {
            prop_assert_eq!(r.seq, i as u64 + 1);
        }
    }
}

#[test]
fn replies_to_a_partner_whose_assurance_is_withdrawn_are_blocked() {
    use caravan_assistance::agreement::AssuranceState;
    let mut a = in_force();
    let mut c = received(&a);
    c.apply(
        Event::Acknowledge,
        desk(Side::Requested),
        day(2025, 3, 4),
        &a,
    )
    .unwrap();
    c.apply(Event::Accept, sup(Side::Requested), day(2025, 3, 4), &a)
        .unwrap();
    let dpo = Actor::new("dpo", Role::AuditorDpo);
    a.change_assurance(
        AssuranceState::Violated,
        "breach of confidentiality",
        [&crate::fixtures::supervisor(), &dpo],
    )
    .unwrap();
    refused(
        &mut c,
        Event::Reply {
            items: vec![item("x")],
        },
        sup(Side::Requested),
        day(2025, 3, 5),
        &a,
        "partner_assurance_withdrawn",
    );
    // Telling the partner the request cannot be executed is still possible.
    c.apply(
        Event::Postpone {
            reason: "assurance review".into(),
            resume_on: day(2025, 4, 1),
            conditions: vec![],
        },
        sup(Side::Requested),
        day(2025, 3, 5),
        &a,
    )
    .unwrap();
}
