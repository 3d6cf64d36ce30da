//! Mutual assistance on every backend: the store story (one transaction per change, stale
//! writes refused whole, the audit row written with the action) on SQLite and, with
//! `CARAVAN_TEST_PG_URL`, PostgreSQL.

use caravan_store::access::{AuditEvent, AuditOutcome, AuditQuery, verify_audit_chain};
use caravan_store::assistance::{
    AgreementRecord, AssistanceChange, CaseMessage, CaseQuery, CaseRow, ConsentRow, CustodyRow,
    ErasureRow, EvidenceRow, MarkingRow, TransitionRow,
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

#[test]
fn assistance_store_story_on_sqlite() {
    let store = SqliteStore::in_memory().expect("store");
    story(&store);
}

#[test]
fn assistance_store_story_on_postgres() {
    let Some(url) = pg::url("assistance_store_story_on_postgres") else {
        return;
    };
    let schema = TestSchema::new(&url, "assistance");
    let store = PgStore::connect_with_schema(&url, schema.name()).expect("store");
    story(&store);
}

/// Issue 5, "done when": two nodes play the reference case over the real exchange (mutual
/// TLS, signed and encrypted messages, receipts), each with its own store and evidence key.
#[test]
fn two_nodes_play_the_reference_case_over_the_real_exchange() {
    use std::sync::Arc;
    use std::time::Duration;

    use caravan_assistance_node::crypto::EvidenceKey;
    use caravan_assistance_node::service::{AssistanceNode, NodeConfig, today};
    use caravan_assistance_node::story::{self, Officials};
    use caravan_testkit::exchange::{now, pair, runtime};

    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        let us = Arc::new(AssistanceNode::new(
            us_node.store.clone(),
            Some(us_node.exchange.clone()),
            NodeConfig::us_uz(true),
            EvidenceKey::from_bytes(&[5; 32]),
        ));
        let uz = Arc::new(AssistanceNode::new(
            uz_node.store.clone(),
            Some(uz_node.exchange.clone()),
            NodeConfig::us_uz(false),
            EvidenceKey::from_bytes(&[6; 32]),
        ));
        let (a, b) = (us.clone(), uz.clone());
        let out = tokio::task::spawn_blocking(move || {
            story::play(&a, &b, now() as i64, &mut |at| {
                story::settle_over_exchange(
                    [&a, &b],
                    at,
                    Duration::from_millis(25),
                    8,
                    Duration::from_secs(60),
                )
            })
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
            vec!["created", "hash_verified", "received", "presented_in_court"]
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

        us_node.stop().await;
        uz_node.stop().await;
    });
}
