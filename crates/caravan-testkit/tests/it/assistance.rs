//! Mutual assistance on every backend: the store story (one transaction per change, stale
//! writes refused whole, the audit row written with the action) on SQLite and, with
//! `CARAVAN_TEST_PG_URL`, PostgreSQL.

use caravan_store::access::{AuditEvent, AuditOutcome, AuditQuery, verify_audit_chain};
use caravan_store::assistance::{
    AgreementRecord, AssistanceChange, CaseMessage, CaseQuery, CaseRow, ConsentRow, CustodyRow,
    ErasureRow, EvidenceRow, HoldRow, MarkingRow, PartnerAssurance, ProposalRow, TransitionRow,
};
use caravan_store::{Conflict, Store, StoreError};
use caravan_store_postgres::PgStore;
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::pg::{self, TestSchema};

fn audit(action: &str, object: &str) -> AuditEvent {
    AuditEvent {
        at: 1_800_000_000_000,
        account: "desk.us".into(),
        role: "desk_officer".into(),
        action: action.into(),
        object: object.into(),
        outcome: AuditOutcome::Allowed,
        code: None,
        detail: "{}".into(),
    }
}

fn agreement(version: i64, state: &str) -> AgreementRecord {
    AgreementRecord {
        agreement_id: "us-uz-cmaa-2024".into(),
        version,
        state: state.into(),
        assurance: "good_standing".into(),
        base_toml: "agreement_id = \"us-uz-cmaa-2024\"".into(),
        overlay: "{}".into(),
        updated_at: 1_800_000_000_000 + version,
    }
}

fn case(id: &str, version: i64, state: &str) -> CaseRow {
    CaseRow {
        case_id: id.into(),
        agreement_id: "us-uz-cmaa-2024".into(),
        holder: "requester".into(),
        partner: "UZ-CUSTOMS".into(),
        desk: "us-ilo".into(),
        types: "R02,R04".into(),
        state: state.into(),
        subject: "origin and value".into(),
        reply_due: Some("2027-03-01".into()),
        overdue: version > 2,
        request: "{\"subject\":\"origin and value\"}".into(),
        snapshot: format!("{{\"state\":\"{state}\"}}"),
        created_at: 1_800_000_000_000,
        updated_at: 1_800_000_000_000 + version,
        version,
    }
}

fn transition(id: &str, seq: i64, from: &str, to: &str) -> TransitionRow {
    TransitionRow {
        case_id: id.into(),
        seq,
        action: "Request.Submit".into(),
        from_state: from.into(),
        to_state: to.into(),
        side: "requester".into(),
        account: "desk.us".into(),
        on_date: "2026-12-01".into(),
        at: 1_800_000_000_000 + seq,
        detail: "{}".into(),
    }
}

fn message(uuid: &str, direction: &str, case_id: &str, state: &str) -> CaseMessage {
    CaseMessage {
        message_uuid: uuid.into(),
        direction: direction.into(),
        case_id: case_id.into(),
        peer: "UZ-CUSTOMS".into(),
        action: "Request.Submit".into(),
        body: "{}".into(),
        exchange_message_id: None,
        state: state.into(),
        code: None,
        created_at: 1_800_000_000_000,
    }
}

fn stale(result: Result<(), StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict(Conflict::StaleWrite { what: w, .. })) => assert_eq!(w, what),
        other => panic!("expected a stale write of {what}, got {other:?}"),
    }
}

fn story(store: &dyn Store) {
    let first = AssistanceChange {
        agreement: Some(agreement(1, "signed")),
        cases: vec![case("c1", 1, "draft")],
        messages: vec![message("m1", "out", "c1", "queued")],
        transitions: vec![transition("c1", 1, "draft", "sent")],
        audit: vec![audit("request.create", "c1")],
        ..AssistanceChange::default()
    };
    store.commit_assistance(&first).expect("first change");
    assert_eq!(store.case_row("c1").expect("case"), case("c1", 1, "draft"));
    assert_eq!(
        store
            .agreement_record("us-uz-cmaa-2024")
            .expect("agreement"),
        agreement(1, "signed")
    );
    assert_eq!(store.agreement_records().expect("agreements").len(), 1);

    // Replaying version 1 is refused whole: the transition and audit row of the replay are
    // not written either.
    let audit_before = store
        .list_audit(&AuditQuery::default())
        .expect("audit")
        .len();
    let replay = AssistanceChange {
        cases: vec![case("c1", 1, "sent")],
        transitions: vec![transition("c1", 2, "sent", "received")],
        audit: vec![audit("request.send", "c1")],
        ..AssistanceChange::default()
    };
    stale(store.commit_assistance(&replay), "case");
    assert_eq!(store.case_transitions("c1").expect("transitions").len(), 1);
    assert_eq!(
        store
            .list_audit(&AuditQuery::default())
            .expect("audit")
            .len(),
        audit_before
    );

    // Version 2 replaces version 1; a second writer of version 2 loses.
    let second = AssistanceChange {
        cases: vec![case("c1", 2, "sent")],
        transitions: vec![transition("c1", 2, "sent", "received")],
        audit: vec![audit("request.send", "c1")],
        ..AssistanceChange::default()
    };
    store.commit_assistance(&second).expect("version 2");
    stale(store.commit_assistance(&second), "case");
    assert_eq!(store.case_row("c1").expect("case").state, "sent");
    let transitions = store.case_transitions("c1").expect("transitions");
    assert_eq!(
        transitions.iter().map(|t| t.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(transitions[1], transition("c1", 2, "sent", "received"));

    // A second case, and the listing filters.
    let mut other = case("c2", 1, "received");
    other.holder = "requested".into();
    other.desk = "uz-intl".into();
    other.updated_at += 10;
    store
        .commit_assistance(&AssistanceChange {
            cases: vec![other.clone()],
            ..AssistanceChange::default()
        })
        .expect("second case");
    let all = store.case_rows(&CaseQuery::default()).expect("cases");
    assert_eq!(
        all.iter().map(|c| c.case_id.as_str()).collect::<Vec<_>>(),
        vec!["c2", "c1"]
    );
    let requested = store
        .case_rows(&CaseQuery {
            holder: Some("requested".into()),
            ..CaseQuery::default()
        })
        .expect("requested");
    assert_eq!(requested, vec![other]);
    let by_desk = store
        .case_rows(&CaseQuery {
            desk: Some("us-ilo".into()),
            state: Some("sent".into()),
            limit: 5,
            ..CaseQuery::default()
        })
        .expect("desk");
    assert_eq!(by_desk.len(), 1);
    assert!(matches!(store.case_row("nope"), Err(StoreError::NotFound)));

    // Messages: queued, dispatched once; an inbound duplicate is a stale write.
    assert_eq!(store.queued_messages(10).expect("queued").len(), 1);
    store.mark_dispatched("m1", "x-1@us").expect("dispatch");
    stale(store.mark_dispatched("m1", "x-2@us"), "message");
    assert!(store.queued_messages(10).expect("queued").is_empty());
    let sent = store.case_message("out", "m1").expect("message");
    assert_eq!(sent.state, "dispatched");
    assert_eq!(sent.exchange_message_id.as_deref(), Some("x-1@us"));
    let inbound = AssistanceChange {
        messages: vec![message("m9", "in", "c2", "applied")],
        ..AssistanceChange::default()
    };
    store.commit_assistance(&inbound).expect("inbound");
    stale(store.commit_assistance(&inbound), "message");
    assert_eq!(store.case_messages("c2").expect("messages").len(), 1);
    assert_eq!(
        store
            .messages_by_action("Request.Submit", 10)
            .expect("by action")
            .len(),
        2
    );

    // Evidence with an encrypted blob, custody, markings, consents and erasures.
    let evidence = EvidenceRow {
        evidence_id: "e1".into(),
        case_id: "c1".into(),
        origin: "partner".into(),
        provider: "UZ-CUSTOMS".into(),
        sha256: "a".repeat(64),
        record: "{}".into(),
        blob: Some(vec![1, 2, 3, 0, 255]),
        reference: None,
        erased_at: None,
        created_at: 1,
        updated_at: 1,
        version: 1,
    };
    let custody = CustodyRow {
        evidence_id: "e1".into(),
        seq: 1,
        kind: "received".into(),
        actor: "node".into(),
        on_date: "2026-12-01".into(),
        place: "US".into(),
        file_sha256: "a".repeat(64),
        chain: "b".repeat(64),
        at: 2,
    };
    let marking = MarkingRow {
        item_id: "e1".into(),
        field: String::new(),
        seq: 1,
        tlp: "AMBER".into(),
        pap: "AMBER".into(),
        caveats: "NO-ONWARD".into(),
        set_by: "provider:UZ-CUSTOMS".into(),
        reason: "as supplied".into(),
        at: 2,
    };
    let consent = ConsentRow {
        consent_id: "k1".into(),
        case_id: "c1".into(),
        direction: "outbound".into(),
        state: "requested".into(),
        purpose: "CRIMINAL".into(),
        recipient_class: "court".into(),
        snapshot: "{}".into(),
        created_at: 3,
        updated_at: 3,
        version: 1,
    };
    let erasure = ErasureRow {
        erasure_id: "x1".into(),
        case_id: "c1".into(),
        kind: "Data.Erase".into(),
        direction: "inbound".into(),
        state: "pending".into(),
        items: "[\"e1\"]".into(),
        reason: "person cleared".into(),
        requested_at: 4,
        confirmed_at: None,
        detail: "{}".into(),
        version: 1,
    };
    store
        .commit_assistance(&AssistanceChange {
            evidence: vec![evidence.clone()],
            custody: vec![custody.clone()],
            markings: vec![marking.clone()],
            consents: vec![consent.clone()],
            erasures: vec![erasure.clone()],
            audit: vec![audit("evidence.receive", "e1")],
            ..AssistanceChange::default()
        })
        .expect("evidence");
    assert_eq!(store.evidence_row("e1").expect("evidence"), evidence);
    assert_eq!(
        store.case_evidence("c1").expect("case evidence"),
        vec![evidence.clone()]
    );
    assert_eq!(
        store.custody_rows("e1").expect("custody"),
        vec![custody.clone()]
    );
    assert_eq!(
        store.marking_rows("e1").expect("markings"),
        vec![marking.clone()]
    );
    assert_eq!(store.consent_row("k1").expect("consent"), consent);
    assert_eq!(store.consent_rows(Some("c1")).expect("consents").len(), 1);
    assert_eq!(store.consent_rows(None).expect("consents").len(), 1);
    assert_eq!(store.erasure_row("x1").expect("erasure"), erasure);
    assert!(store.erasure_rows(Some("c2")).expect("erasures").is_empty());

    // Erasing the blob and confirming the erasure: one change; a duplicate custody seq makes
    // the whole change stale and leaves the blob in place.
    let mut erased = evidence.clone();
    erased.blob = None;
    erased.erased_at = Some(5);
    erased.version = 2;
    let mut confirmed = erasure.clone();
    confirmed.state = "confirmed".into();
    confirmed.confirmed_at = Some(5);
    confirmed.version = 2;
    let clash = AssistanceChange {
        evidence: vec![erased.clone()],
        custody: vec![custody.clone()],
        erasures: vec![confirmed.clone()],
        ..AssistanceChange::default()
    };
    stale(store.commit_assistance(&clash), "custody");
    assert_eq!(
        store.evidence_row("e1").expect("evidence").blob,
        evidence.blob
    );
    assert_eq!(store.erasure_row("x1").expect("erasure").state, "pending");
    let mut next = custody.clone();
    next.seq = 2;
    next.kind = "erased".into();
    store
        .commit_assistance(&AssistanceChange {
            evidence: vec![erased.clone()],
            custody: vec![next],
            erasures: vec![confirmed.clone()],
            ..AssistanceChange::default()
        })
        .expect("erase");
    assert_eq!(store.evidence_row("e1").expect("evidence"), erased);
    assert_eq!(store.erasure_row("x1").expect("erasure"), confirmed);
    assert_eq!(store.custody_rows("e1").expect("custody").len(), 2);

    // The audit rows written with the changes chain like any other.
    let trail = store.list_audit(&AuditQuery::default()).expect("audit");
    assert_eq!(
        trail
            .iter()
            .map(|r| r.event.action.as_str())
            .collect::<Vec<_>>(),
        vec!["request.create", "request.send", "evidence.receive"]
    );
    verify_audit_chain(&trail).expect("chain");
    // The lead's own append continues the same chain.
    store
        .append_audit(&audit("request.view", "c1"))
        .expect("append");
    verify_audit_chain(&store.list_audit(&AuditQuery::default()).expect("audit"))
        .expect("chain after append");
}

fn hold(version: i64, lifted: bool) -> HoldRow {
    HoldRow {
        hold_id: "HOLD-1".into(),
        item_id: "EV-1".into(),
        case_id: "c1".into(),
        reason: "exhibit in pending proceedings".into(),
        placed_by: "us.supervisor".into(),
        placed_at: 1_800_000_000_000,
        lifted_by: lifted.then(|| "us.dpo".into()),
        lifted_at: lifted.then_some(1_800_000_100_000),
        lift_reason: lifted.then(|| "proceedings closed".into()),
        version,
    }
}

fn proposal(
    id: &str,
    kind: &str,
    state: &str,
    version: i64,
    decided_by: Option<&str>,
) -> ProposalRow {
    ProposalRow {
        proposal_id: id.into(),
        agreement_id: "us-uz-cmaa-2024".into(),
        kind: kind.into(),
        state: state.into(),
        proposed_by: "us.admin".into(),
        decided_by: decided_by.map(str::to_owned),
        snapshot: format!("{{\"id\":\"{id}\"}}"),
        created_at: 1_800_000_000_000,
        updated_at: 1_800_000_000_000 + version,
        version,
    }
}

/// Migration 0009: legal holds (one in force per item), two-person proposals (one pending
/// per kind, never decided by the proposer), and the exchange's partner gate set in the
/// same transaction as the agreement.
fn story_more(store: &dyn Store) {
    use caravan_store::exchange::PartnerRecord;
    let placed = AssistanceChange {
        holds: vec![hold(1, false)],
        audit: vec![audit("retention.hold", "EV-1")],
        ..AssistanceChange::default()
    };
    store.commit_assistance(&placed).expect("hold");
    assert_eq!(
        store.hold_rows(Some("EV-1")).expect("holds"),
        vec![hold(1, false)]
    );
    // A second hold in force on the same item is refused whole (its audit row too).
    let audit_before = store
        .list_audit(&AuditQuery::default())
        .expect("audit")
        .len();
    let mut second = hold(1, false);
    second.hold_id = "HOLD-2".into();
    stale(
        store.commit_assistance(&AssistanceChange {
            holds: vec![second],
            audit: vec![audit("retention.hold", "EV-1")],
            ..AssistanceChange::default()
        }),
        "legal hold",
    );
    assert_eq!(
        store
            .list_audit(&AuditQuery::default())
            .expect("audit")
            .len(),
        audit_before
    );
    store
        .commit_assistance(&AssistanceChange {
            holds: vec![hold(2, true)],
            ..AssistanceChange::default()
        })
        .expect("lift");
    stale(
        store.commit_assistance(&AssistanceChange {
            holds: vec![hold(2, true)],
            ..AssistanceChange::default()
        }),
        "legal hold",
    );
    assert_eq!(store.hold_rows(None).expect("holds"), vec![hold(2, true)]);

    // Proposals: one pending per agreement and kind.
    store
        .commit_assistance(&AssistanceChange {
            proposals: vec![proposal("P1", "status", "pending", 1, None)],
            ..AssistanceChange::default()
        })
        .expect("proposal");
    stale(
        store.commit_assistance(&AssistanceChange {
            proposals: vec![proposal("P2", "status", "pending", 1, None)],
            ..AssistanceChange::default()
        }),
        "proposal",
    );
    store
        .commit_assistance(&AssistanceChange {
            proposals: vec![proposal("P3", "assurance", "pending", 1, None)],
            ..AssistanceChange::default()
        })
        .expect("another kind");
    // The proposer never approves its own proposal: the schema refuses it too.
    assert!(
        store
            .commit_assistance(&AssistanceChange {
                proposals: vec![proposal("P1", "status", "approved", 2, Some("us.admin"))],
                ..AssistanceChange::default()
            })
            .is_err()
    );
    store
        .commit_assistance(&AssistanceChange {
            proposals: vec![proposal(
                "P1",
                "status",
                "approved",
                2,
                Some("us.supervisor"),
            )],
            ..AssistanceChange::default()
        })
        .expect("approved");
    assert_eq!(
        store.proposal_row("P1").expect("P1"),
        proposal("P1", "status", "approved", 2, Some("us.supervisor"))
    );
    let pending: Vec<String> = store
        .proposal_rows(Some("pending"))
        .expect("pending")
        .into_iter()
        .map(|p| p.proposal_id)
        .collect();
    assert_eq!(pending, vec!["P3"]);
    assert!(matches!(
        store.proposal_row("P9"),
        Err(StoreError::NotFound)
    ));

    // The partner gate moves with the agreement; a stale agreement write moves neither.
    store
        .put_partner(&PartnerRecord {
            agreement_id: "us-uz-cmaa-2024".into(),
            party: "UZ-CUSTOMS".into(),
            name: "Customs Committee".into(),
            endpoint: "https://uz.example:8443".into(),
            tls_ca_der: vec![1, 2, 3],
            root_key: vec![4; 32],
            log_vkey: None,
            manifest_version: 1,
            status: "active".into(),
            assurance: "good_standing".into(),
            keys: Vec::new(),
            updated_at: 1,
        })
        .expect("partner");
    let gate = |assurance: &str| PartnerAssurance {
        agreement_id: "us-uz-cmaa-2024".into(),
        party: "UZ-CUSTOMS".into(),
        assurance: assurance.into(),
        updated_at: 1_800_000_000_000,
    };
    let current = store
        .agreement_record("us-uz-cmaa-2024")
        .expect("agreement");
    let mut violated = current.clone();
    violated.version += 1;
    violated.assurance = "violated".into();
    stale(
        store.commit_assistance(&AssistanceChange {
            agreement: Some(current.clone()),
            partner_assurance: Some(gate("violated")),
            ..AssistanceChange::default()
        }),
        "agreement",
    );
    let partner = |s: &dyn Store| {
        s.partners()
            .expect("partners")
            .into_iter()
            .find(|p| p.party == "UZ-CUSTOMS")
            .expect("UZ")
            .assurance
    };
    assert_eq!(partner(store), "good_standing");
    store
        .commit_assistance(&AssistanceChange {
            agreement: Some(violated),
            partner_assurance: Some(gate("violated")),
            ..AssistanceChange::default()
        })
        .expect("assurance");
    assert_eq!(partner(store), "violated");
    assert_eq!(
        store
            .agreement_record("us-uz-cmaa-2024")
            .expect("agreement")
            .assurance,
        "violated"
    );
}

#[test]
fn assistance_store_story_on_sqlite() {
    let store = SqliteStore::in_memory().expect("store");
    story(&store);
    story_more(&store);
}

#[test]
fn assistance_store_story_on_postgres() {
    let Some(url) = pg::url("assistance_store_story_on_postgres") else {
        return;
    };
    let schema = TestSchema::new(&url, "assistance");
    let store = PgStore::connect_with_schema(&url, schema.name()).expect("store");
    story(&store);
    story_more(&store);
}

/// Issue 5, "done when": two nodes play the reference case over the real exchange (mutual
/// TLS, signed and encrypted messages, receipts), each with its own store and evidence key.
#[test]
fn two_nodes_play_the_reference_case_over_the_real_exchange() {
    use std::time::Duration;

    use caravan_assistance_node::service::today;
    use caravan_assistance_node::story::{self, Officials};
    use caravan_testkit::exchange::{now, pair, runtime};

    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        let (us, uz) =
            caravan_testkit::exchange::assistance_pair(dir.path(), &us_node, &uz_node, 5);
        let (a, b) = (us.clone(), uz.clone());
        let (out, more) = tokio::task::spawn_blocking(move || {
            let mut settle = |at| {
                story::settle_over_exchange(
                    [&a, &b],
                    at,
                    Duration::from_millis(25),
                    8,
                    Duration::from_secs(60),
                )
            };
            let out = story::play(&a, &b, now() as i64, &mut settle)?;
            let more = story::play_procedures(&a, &b, &out, &mut settle)?;
            Ok::<_, caravan_assistance_node::error::AssistError>((out, more))
        })
        .await
        .expect("story thread")
        .expect("story");

        // Both copies agree on every case.
        for (case, state) in [
            (&out.main_case, "closed"),
            (&out.refused_case, "refused"),
            (&out.overdue_case, "in_execution"),
        ] {
            assert_eq!(us.store().case_row(case).unwrap().state, state, "US {case}");
            assert_eq!(uz.store().case_row(case).unwrap().state, state, "UZ {case}");
        }
        // Every workflow message went through the exchange and was receipted.
        for node in [&us, &uz] {
            for case in [&out.main_case, &out.refused_case, &out.overdue_case] {
                for m in node.store().case_messages(case).unwrap() {
                    assert!(
                        matches!(m.state.as_str(), "dispatched" | "applied"),
                        "{} {} is {}",
                        m.direction,
                        m.action,
                        m.state
                    );
                    let id = m.exchange_message_id.expect("exchange id");
                    assert!(!id.starts_with("loopback:"));
                    if m.direction == "out" {
                        let state = node.exchange.as_ref().unwrap().delivery_state(&id).unwrap();
                        assert!(
                            matches!(
                                state,
                                caravan_exchange::node::DeliveryState::Delivered { .. }
                            ),
                            "{id}: {state:?}"
                        );
                    }
                }
            }
        }
        // The evidence crossed intact and was used in court under the consent.
        let custody: Vec<String> = us
            .store()
            .custody_rows(&out.evidence[0])
            .unwrap()
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            custody,
            vec![
                "created",
                "hash_verified",
                "received",
                "presented_in_court",
                "disclosed",
                "erased"
            ]
        );
        // Part B over the exchange: the oral request confirmed in writing is one case on
        // both nodes; the original came back and the provider confirmed it; the provider
        // saw the disclosure and the erasure on expiry.
        for node in [&us, &uz] {
            assert_eq!(
                node.store().case_row(&more.oral_case).unwrap().state,
                "answered"
            );
            for m in node.store().case_messages(&more.oral_case).unwrap() {
                assert!(
                    matches!(m.state.as_str(), "dispatched" | "applied"),
                    "{}",
                    m.action
                );
            }
        }
        assert!(
            uz.store()
                .custody_rows(&out.evidence[0])
                .unwrap()
                .iter()
                .any(|c| c.kind == "disclosed")
        );
        assert!(
            us.store()
                .custody_rows(&more.original)
                .unwrap()
                .iter()
                .any(|c| c.kind == "original_receipt_confirmed")
        );
        assert!(
            uz.store()
                .erasure_rows(Some(&out.main_case))
                .unwrap()
                .iter()
                .any(|e| e.kind == "Data.Erased" && e.direction == "inbound")
        );
        assert_eq!(
            us.store().consent_row(&out.consent).unwrap().state,
            "granted"
        );
        assert_eq!(
            uz.store().erasure_row(&out.erasure).unwrap().state,
            "confirmed"
        );
        let overdue = us
            .overdue(&Officials::of("US").supervisor, today(out.ended_at))
            .unwrap();
        assert_eq!(overdue["us-cbp-ilo-desk"][0].case_id, out.overdue_case);
        assert!(
            out.refusals
                .iter()
                .any(|(_, c)| c == "partner_assurance_withdrawn")
        );

        // §1.9 in step with the exchange: the assurance withdrawn by a two-person proposal
        // closes the exchange's gate in the same action, so sharing is refused by the
        // workflow and, below it, by the exchange itself.
        {
            use caravan_assistance::agreement::AssuranceState;
            use caravan_assistance::approval::AgreementChange;
            use caravan_assistance::marking::{Markings, Pap, Tlp};
            use caravan_assistance_node::approval::ProposalDecision;
            use caravan_exchange::node::{OutboundMessage, OutboundPart};

            let uzx = Officials::of("UZ");
            let t = now() as i64;
            let p = uz
                .propose_agreement_change(
                    &uzx.supervisor,
                    AgreementChange::Assurance {
                        to: AssuranceState::Violated,
                        reason: "Breach of confidentiality reported".into(),
                    },
                    t,
                )
                .unwrap();
            assert_eq!(
                uz.decide_proposal(
                    &uzx.supervisor,
                    &p.proposal_id,
                    ProposalDecision::Approve,
                    t
                )
                .unwrap_err()
                .code,
                "two_person_same_account"
            );
            let registry = uz_node.exchange.registry();
            assert_eq!(registry.get("US-CBP").unwrap().assurance, "good_standing");
            uz.decide_proposal(&uzx.dpo, &p.proposal_id, ProposalDecision::Approve, t)
                .unwrap();
            assert_eq!(registry.get("US-CBP").unwrap().assurance, "violated");
            let refused = uz
                .inform(
                    &uzx.supervisor,
                    "goods",
                    false,
                    "Undervalued yarn shipments",
                    Markings::new(Tlp::Amber, Pap::Amber),
                    vec![caravan_assistance::agreement::Purpose::Intel],
                    t,
                )
                .unwrap_err();
            assert_eq!(refused.code, "partner_assurance_withdrawn");
            let below = uz_node
                .exchange
                .send(&OutboundMessage {
                    to: "US-CBP".into(),
                    conversation_id: None,
                    ref_to: None,
                    action: "Spontaneous.Inform".into(),
                    expires_at: None,
                    parts: vec![OutboundPart {
                        part_id: "body".into(),
                        media_type: "application/json".into(),
                        body: b"{}".to_vec(),
                    }],
                })
                .unwrap_err();
            assert_eq!(below.code(), "assurance_violated");
            // The reverse path: `caravan partner set-assurance` tightens the exchange's gate,
            // and the workflow reads the same state.
            let q = uz
                .propose_agreement_change(
                    &uzx.dpo,
                    AgreementChange::Assurance {
                        to: AssuranceState::GoodStanding,
                        reason: "Assurances renewed".into(),
                    },
                    t,
                )
                .unwrap();
            uz.decide_proposal(
                &uzx.supervisor,
                &q.proposal_id,
                ProposalDecision::Approve,
                t,
            )
            .unwrap();
            assert_eq!(registry.get("US-CBP").unwrap().assurance, "good_standing");
            registry
                .set_assurance("US-CBP", "under_review", t as u64)
                .unwrap();
            assert_eq!(
                uz.agreement().unwrap().assurance.state,
                AssuranceState::UnderReview
            );
        }

        us_node.stop().await;
        uz_node.stop().await;
    });
}

/// Two nodes on in-memory SQLite, messages carried by hand until nothing moves.
fn loopback_pair() -> (
    caravan_assistance_node::service::AssistanceNode,
    caravan_assistance_node::service::AssistanceNode,
) {
    use std::sync::Arc;

    use caravan_assistance_node::crypto::EvidenceKey;
    use caravan_assistance_node::service::{AssistanceNode, NodeConfig};
    let node = |us: bool| {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().expect("store"));
        let key = EvidenceKey::from_bytes(&[if us { 7 } else { 8 }; 32]);
        AssistanceNode::new(
            store,
            None,
            NodeConfig::us_uz(us),
            key,
            tempfile::tempdir().expect("evidence dir").keep(),
        )
    };
    (node(true), node(false))
}

fn carry_all(
    a: &caravan_assistance_node::service::AssistanceNode,
    b: &caravan_assistance_node::service::AssistanceNode,
    now: i64,
) -> Result<(), caravan_assistance_node::error::AssistError> {
    loop {
        let mut moved = 0;
        for (from, to) in [(a, b), (b, a)] {
            for m in from.take_queued(now)? {
                assert!(to.receive(&m, now)?, "{} was refused", m.action);
                moved += 1;
            }
        }
        if moved == 0 {
            return Ok(());
        }
    }
}

/// Issue 5 part B: oral requests, forced disclosure, originals, legal holds and retention,
/// and the two-person rule through proposals, played after the reference case.
#[test]
fn the_desks_further_procedures_play_between_two_nodes() {
    use caravan_assistance_node::service::today;
    use caravan_assistance_node::story::{self, Officials};

    let (us, uz) = loopback_pair();
    let t0 = 1_796_115_600_000;
    let main = story::play(&us, &uz, t0, &mut |now| carry_all(&us, &uz, now)).expect("story");
    let out = story::play_procedures(&us, &uz, &main, &mut |now| carry_all(&us, &uz, now))
        .expect("procedures");
    let codes: Vec<&str> = out.refusals.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        codes,
        vec![
            "two_person_same_account",
            "transition_not_allowed",
            "disclosure_instrument_missing"
        ]
    );

    // Oral: the confirmed request is one case on both nodes, answered.
    for node in [&us, &uz] {
        assert_eq!(
            node.store().case_row(&out.oral_case).unwrap().state,
            "answered"
        );
    }
    let uz_transitions: Vec<(String, String)> = uz
        .store()
        .case_transitions(&out.oral_case)
        .unwrap()
        .into_iter()
        .map(|t| (t.from_state, t.to_state))
        .collect();
    assert_eq!(
        uz_transitions[0],
        (
            "oral_pending_confirmation".to_owned(),
            "received".to_owned()
        )
    );
    let written = uz.store().case_row(&out.oral_case).unwrap();
    assert!(
        written.request.contains("confirms_oral"),
        "the written request replaced the note"
    );
    // The unconfirmed one is overdue on T_confirm, alerted and audited.
    let uz_sup = Officials::of("UZ").supervisor;
    let late = uz.overdue(&uz_sup, today(out.ended_at)).unwrap();
    assert!(
        late["uz-cc-intl-desk"]
            .iter()
            .any(|i| i.case_id == out.unconfirmed_oral && i.timer == "T_confirm")
    );
    let unconfirmed = uz.store().case_row(&out.unconfirmed_oral).unwrap();
    assert_eq!(unconfirmed.state, "oral_pending_confirmation");
    assert!(unconfirmed.overdue);
    let uz_trail = uz.store().list_audit(&AuditQuery::default()).unwrap();
    assert!(
        uz_trail
            .iter()
            .any(|r| r.event.action == "request.oral.confirmation_overdue"
                && r.event.object == out.unconfirmed_oral)
    );

    // Disclosure: in the custody log of both copies, audited on both sides.
    let declaration = &main.evidence[0];
    let kinds =
        |node: &caravan_assistance_node::service::AssistanceNode, id: &str| -> Vec<String> {
            node.store()
                .custody_rows(id)
                .unwrap()
                .into_iter()
                .map(|c| c.kind)
                .collect()
        };
    assert_eq!(
        kinds(&us, declaration),
        vec![
            "created",
            "hash_verified",
            "received",
            "presented_in_court",
            "disclosed",
            "erased"
        ]
    );
    assert!(kinds(&uz, declaration).contains(&"disclosed".to_owned()));
    let us_trail = us.store().list_audit(&AuditQuery::default()).unwrap();
    assert!(
        us_trail
            .iter()
            .any(|r| r.event.action == "disclosure.notice"
                && r.event.outcome == AuditOutcome::Allowed
                && r.event.detail.contains("Subpoena"))
    );
    assert!(
        uz_trail
            .iter()
            .any(|r| r.event.action == "inbound.Disclosure.Notice")
    );
    let uz_view = uz
        .case_view(&uz_sup, &main.main_case, out.ended_at)
        .unwrap();
    assert_eq!(uz_view["disclosures"][0]["notice_id"], out.disclosure);
    assert_eq!(uz_view["disclosures"][0]["advance"], true);

    // The original: checked out, reminded, returned, receipt confirmed on both copies.
    // Due back on day 14, listed and reminded on day 15, then returned.
    assert_eq!(out.originals_reminded, vec![out.original.clone()]);
    assert!(
        us_trail
            .iter()
            .any(|r| r.event.action == "evidence.original_due" && r.event.object == out.original)
    );
    assert_eq!(
        kinds(&us, &out.original),
        vec![
            "created",
            "hash_verified",
            "received",
            "original_checked_out",
            "original_returned",
            "original_receipt_confirmed"
        ]
    );
    assert!(kinds(&uz, &out.original).ends_with(&["original_receipt_confirmed".to_owned()]));
    for node in [&us, &uz] {
        let record: serde_json::Value =
            serde_json::from_str(&node.store().evidence_row(&out.original).unwrap().record)
                .unwrap();
        assert!(record["original"]["confirmed_on"].is_string());
    }

    // The provider's erasure met the legal hold, and said so in the ComplianceAck.
    let held = uz.store().erasure_row(&out.held_erasure).unwrap();
    assert_eq!(held.state, "confirmed");
    assert!(held.detail.contains("legal_hold"), "{}", held.detail);
    assert!(
        held.detail
            .contains("Exhibit in pending criminal proceedings")
    );
    let holds = us
        .holds_view(&Officials::of("US").supervisor, Some(declaration))
        .unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0]["in_force"], false);

    // Erased on expiry of its class, and the provider told with Data.Erased.
    assert_eq!(out.expired, vec![declaration.clone()]);
    assert!(us.store().evidence_row(declaration).unwrap().blob.is_none());
    assert!(
        uz.store()
            .erasure_rows(Some(&main.main_case))
            .unwrap()
            .iter()
            .any(|e| e.kind == "Data.Erased" && e.direction == "inbound")
    );

    // Two-person proposals: approved by a second account; the directory moved on.
    for id in &out.proposals {
        let row = match us.store().proposal_row(id) {
            Ok(row) => row,
            Err(_) => uz.store().proposal_row(id).unwrap(),
        };
        assert_eq!(row.state, "approved");
        assert_ne!(row.decided_by.as_deref(), Some(row.proposed_by.as_str()));
    }
    let agreement = us.agreement().unwrap();
    assert!(
        agreement
            .directory
            .entries
            .iter()
            .any(|e| e.id == "us-cbp-24x7")
    );
    assert_eq!(
        uz.agreement().unwrap().assurance.state,
        caravan_assistance::agreement::AssuranceState::GoodStanding
    );
    for node in [&us, &uz] {
        verify_audit_chain(&node.store().list_audit(&AuditQuery::default()).unwrap()).unwrap();
    }
}
