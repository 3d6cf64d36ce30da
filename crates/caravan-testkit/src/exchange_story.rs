//! The exchange storage story: one scenario every `ExchangeStore` backend must pass, so
//! the outbox, the inbox's duplicate elimination and the partner registry mean the same
//! on SQLite and PostgreSQL.
//!
//! It checks what the exchange relies on: a message id is stored once; only the head of
//! each conversation is due; attempts, delivery, dead letters and the operator's retry
//! move exactly one row and refuse the wrong state; the inbox answers a repeat with the
//! stored row and a reused id with a conflict, writing nothing; hand-over is once; a
//! group-committed batch applies its writes in order, refuses a bad write alone and keeps
//! the rest; a batch logged with its commit (`exchange_batch_logged`) stores its writes,
//! the log entries and the row's index together, or nothing when a write is a duplicate
//! or the append is stale; and everything survives reopening.

use caravan_store::exchange::{
    ExchangeWrite, InboundAccept, InboundRecord, LoggedBatch, MessageFacts, OutboundRecord,
    OutboundState, PartnerKey, PartnerRecord, WriteOutcome,
};
use caravan_store::log::{LogBatch, StoreHashReader};
use caravan_store::{Conflict, Store, StoreError};
use caravan_tlog::rfc6962;

fn facts(id: &str, from: &str, to: &str, conversation: &str, hdr: u8) -> MessageFacts {
    MessageFacts {
        message_id: id.to_owned(),
        agreement_id: "us-uz".to_owned(),
        from_party: from.to_owned(),
        to_party: to.to_owned(),
        conversation_id: conversation.to_owned(),
        service: "caravan:cmaa/v1".to_owned(),
        action: "Bulk.Batch".to_owned(),
        created_at: 1_000,
        expires_at: 9_000,
        hdr_sha256: [hdr; 32],
    }
}

fn outbound(id: &str, conversation: &str) -> OutboundRecord {
    OutboundRecord {
        facts: facts(id, "UZ", "US", conversation, 1),
        wire: format!("wire {id}").into_bytes(),
        salts: vec![7; 96],
        log_entry: vec![1, 2, 3],
        log_index: None,
    }
}

fn inbound(id: &str, hdr: u8) -> InboundRecord {
    InboundRecord {
        facts: facts(id, "UZ", "US", "c1", hdr),
        wire: vec![hdr; 10],
        salts: vec![9; 96],
        received_at: 2_000,
    }
}

fn partner() -> PartnerRecord {
    PartnerRecord {
        agreement_id: "us-uz".to_owned(),
        party: "UZ".to_owned(),
        name: "UZ Customs".to_owned(),
        endpoint: "https://localhost:9443".to_owned(),
        tls_ca_der: vec![0x30, 1, 2],
        root_key: vec![5; 32],
        log_vkey: Some("uz.example/log+01020304+AQID".to_owned()),
        manifest_version: 1,
        status: "active".to_owned(),
        assurance: "good_standing".to_owned(),
        keys: vec![
            PartnerKey {
                purpose: "encryption".to_owned(),
                kid: "e1".to_owned(),
                public: vec![3; 32],
                not_before: 10,
                not_after: None,
                revoked_at: None,
            },
            PartnerKey {
                purpose: "signing".to_owned(),
                kid: "s1".to_owned(),
                public: vec![4; 32],
                not_before: 10,
                not_after: Some(20),
                revoked_at: Some(15),
            },
        ],
        updated_at: 100,
    }
}

/// Runs the story against stores from `open` (called again to check reopening).
pub fn exchange_story(open: &dyn Fn() -> Result<Box<dyn Store>, StoreError>) {
    let store = open().expect("open store");

    // Partners: stored with keys, replaced whole.
    let mut p = partner();
    store.put_partner(&p).expect("put partner");
    assert_eq!(store.partner("us-uz", "UZ").expect("partner"), p);
    p.keys.pop();
    p.manifest_version = 2;
    p.assurance = "violated".to_owned();
    store.put_partner(&p).expect("replace partner");
    assert_eq!(store.partners().expect("partners"), vec![p.clone()]);
    assert!(matches!(
        store.partner("us-uz", "KZ"),
        Err(StoreError::NotFound)
    ));

    // Outbox: ids are unique; only conversation heads are due, oldest first.
    for (id, conversation) in [("m1", "c1"), ("m2", "c1"), ("m3", "c2")] {
        store
            .enqueue_outbound(&outbound(id, conversation), 1_000)
            .expect("enqueue");
    }
    assert!(matches!(
        store.enqueue_outbound(&outbound("m1", "c9"), 1_000),
        Err(StoreError::Conflict(Conflict::MessageIdReused { .. }))
    ));
    let due: Vec<String> = store
        .due_outbound(1_000, 10)
        .expect("due")
        .into_iter()
        .map(|r| r.record.facts.message_id)
        .collect();
    assert_eq!(due, ["m1", "m3"]);
    assert!(store.due_outbound(999, 10).expect("due").is_empty());
    // A conversation's head by one seek, due or not; none for an empty conversation.
    let head = |to: &str, c: &str| {
        store
            .conversation_head(to, c)
            .expect("head")
            .map(|r| r.record.facts.message_id)
    };
    assert_eq!(head("US", "c1").as_deref(), Some("m1"));
    assert_eq!(head("US", "c2").as_deref(), Some("m3"));
    assert_eq!(head("US", "c9"), None);
    assert_eq!(head("KZ", "c1"), None, "another party's conversation");

    // A failed attempt reschedules; the head still blocks its conversation.
    store
        .outbound_attempted("m1", 1, 5_000, "http 503")
        .expect("attempted");
    let row = store.outbound("m1").expect("m1");
    assert_eq!((row.attempts, row.next_attempt_at), (1, 5_000));
    assert_eq!(row.last_error.as_deref(), Some("http 503"));
    let due: Vec<String> = store
        .due_outbound(2_000, 10)
        .expect("due")
        .into_iter()
        .map(|r| r.record.facts.message_id)
        .collect();
    assert_eq!(due, ["m3"]);
    let waiting = store
        .conversation_head("US", "c1")
        .expect("head")
        .expect("m1");
    assert_eq!(
        (
            waiting.record.facts.message_id.as_str(),
            waiting.next_attempt_at
        ),
        ("m1", 5_000),
        "a head waiting for its retry is still the head"
    );

    // Delivery frees the conversation; it is idempotent for the same receipt only.
    store.outbound_logged("m1", 4).expect("logged");
    store
        .outbound_delivered("m1", b"receipt", &[8; 32], 6_000)
        .expect("delivered");
    store
        .outbound_delivered("m1", b"receipt", &[8; 32], 6_001)
        .expect("again");
    assert!(
        store
            .outbound_delivered("m1", b"other", &[8; 32], 6_002)
            .is_err()
    );
    let row = store.outbound("m1").expect("m1");
    assert_eq!(row.state, OutboundState::Delivered);
    assert_eq!(row.receipt.as_deref(), Some(&b"receipt"[..]));
    assert_eq!(row.record.log_index, Some(4));
    assert_eq!(row.record, {
        let mut r = outbound("m1", "c1");
        r.log_index = Some(4);
        r
    });
    let due: Vec<String> = store
        .due_outbound(6_000, 10)
        .expect("due")
        .into_iter()
        .map(|r| r.record.facts.message_id)
        .collect();
    assert_eq!(due, ["m2", "m3"]);
    assert_eq!(
        store
            .conversation_head("US", "c1")
            .expect("head")
            .map(|r| r.record.facts.message_id)
            .as_deref(),
        Some("m2"),
        "after delivery the next message heads the conversation"
    );

    // Dead letters: only pending rows die; only dead rows are retried.
    store
        .outbound_dead("m3", "http 422: signature_invalid", 7_000)
        .expect("dead");
    assert!(store.outbound_dead("m3", "again", 7_000).is_err());
    assert!(store.outbound_retry("m2", 7_000).is_err());
    assert!(matches!(
        store.outbound_retry("nope", 7_000),
        Err(StoreError::NotFound)
    ));
    let dead = store
        .list_outbound(Some(OutboundState::DeadLetter), 10)
        .expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("http 422: signature_invalid")
    );
    store.outbound_retry("m3", 8_000).expect("retry");
    let row = store.outbound("m3").expect("m3");
    assert_eq!(
        (row.state, row.attempts, row.next_attempt_at),
        (OutboundState::Pending, 0, 8_000)
    );

    // Inbox: insert, duplicate (same header) and conflict (other header) write nothing.
    let InboundAccept::Inserted(first) = store.accept_inbound(&inbound("x1", 1)).expect("accept")
    else {
        panic!("x1 must be new");
    };
    let InboundAccept::Duplicate(again) = store.accept_inbound(&inbound("x1", 1)).expect("dup")
    else {
        panic!("x1 again must be a duplicate");
    };
    assert_eq!(again, first);
    assert!(matches!(
        store.accept_inbound(&inbound("x1", 2)),
        Err(StoreError::Conflict(Conflict::MessageIdReused { .. }))
    ));
    store.accept_inbound(&inbound("x2", 3)).expect("x2");
    store.inbound_logged("UZ", "x1", 11).expect("logged");
    store
        .inbound_logged("UZ", "x1", 12)
        .expect("first index kept");
    store
        .inbound_receipted("UZ", "x1", b"r1", &[6; 32])
        .expect("receipt");
    store
        .inbound_receipted("UZ", "x1", b"r2", &[6; 32])
        .expect("first receipt kept");
    assert!(matches!(
        store.inbound_logged("UZ", "zz", 1),
        Err(StoreError::NotFound)
    ));
    let row = store.inbound("UZ", "x1").expect("x1");
    assert_eq!(
        (row.log_index, row.receipt.as_deref()),
        (Some(11), Some(&b"r1"[..]))
    );
    assert_eq!(row.record, inbound("x1", 1));

    // Hand-over in arrival order, once.
    let pending = store
        .pending_inbound("caravan:cmaa/v1", "Bulk.Batch", 10)
        .expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|r| r.record.facts.message_id.as_str())
            .collect::<Vec<_>>(),
        ["x1", "x2"]
    );
    store
        .inbound_handed_over(&[pending[0].seq])
        .expect("hand over");
    store
        .inbound_handed_over(&[pending[0].seq])
        .expect("idempotent");
    let pending = store
        .pending_inbound("caravan:cmaa/v1", "Bulk.Batch", 10)
        .expect("pending");
    assert_eq!(pending.len(), 1);
    assert!(
        store
            .pending_inbound("caravan:cmaa/v1", "Other", 10)
            .expect("none")
            .is_empty()
    );

    let counts = store.exchange_counts().expect("counts");
    assert_eq!(
        (
            counts.pending,
            counts.delivered,
            counts.dead_letter,
            counts.inbox,
            counts.handed_over
        ),
        (2, 1, 0, 2, 1)
    );
    let counts = batch_story(store.as_ref(), counts);
    let counts = logged_batch_story(store.as_ref(), counts);
    drop(store);

    // Everything survives reopening.
    let store = open().expect("reopen");
    assert_eq!(store.exchange_counts().expect("counts"), counts);
    assert_eq!(
        store.inbound("UZ", "b-in").expect("batched row").log_index,
        Some(41)
    );
    assert_eq!(store.partner("us-uz", "UZ").expect("partner"), p);
    assert_eq!(
        store.inbound("UZ", "x1").expect("x1").receipt.as_deref(),
        Some(&b"r1"[..])
    );
}

/// A received message, its `msg_in` entry and the entry's index in the row in one
/// transaction (`exchange_batch_logged`), or nothing: a duplicate delivery is refused
/// without logging, and a stale append (another writer moved the log) writes no row.
/// Returns the counts after it.
fn logged_batch_story(
    store: &dyn Store,
    before: caravan_store::exchange::ExchangeCounts,
) -> caravan_store::exchange::ExchangeCounts {
    const ORIGIN: &str = "story.example/logged";
    let append = |size: u64, entry: &[u8]| {
        let entries = vec![entry.to_vec()];
        let leaves = vec![rfc6962::leaf_hash(entry)];
        let nodes = rfc6962::nodes_to_store(size, &leaves, &StoreHashReader::new(store, ORIGIN))
            .expect("nodes");
        (entries, leaves, nodes)
    };
    let logged = |size: u64, writes: &[ExchangeWrite], entry: &[u8]| {
        let (entries, leaves, nodes) = append(size, entry);
        store.exchange_batch_logged(
            writes,
            &LogBatch {
                origin: ORIGIN,
                expected_size: size,
                entries: &entries,
                leaf_hashes: &leaves,
                nodes: &nodes,
                checkpoint: None,
            },
        )
    };
    assert_eq!(store.open_log(ORIGIN).expect("log").size, 0);
    let writes = [
        ExchangeWrite::AcceptInbound(inbound("l-in", 7)),
        ExchangeWrite::InboundLogged {
            from_party: "UZ".into(),
            message_id: "l-in".into(),
            log_index: 0,
        },
    ];
    match logged(0, &writes, b"msg_in l-in").expect("logged batch") {
        LoggedBatch::Committed(results, appended) => {
            assert_eq!(results.len(), 2);
            assert!(
                matches!(&results[0], Ok(WriteOutcome::Inbound(a)) if matches!(**a, InboundAccept::Inserted(_)))
            );
            assert_eq!((appended.first_index, appended.size), (0, 1));
        }
        LoggedBatch::Refused => panic!("a fresh message was refused"),
    }
    assert_eq!(store.inbound("UZ", "l-in").expect("row").log_index, Some(0));
    assert_eq!(
        store.entries(ORIGIN, 0, 2).expect("entries"),
        vec![b"msg_in l-in".to_vec()]
    );

    // The same message again: a duplicate, so nothing is written and nothing logged.
    let again = [ExchangeWrite::AcceptInbound(inbound("l-in", 7))];
    assert!(matches!(
        logged(1, &again, b"msg_in again").expect("refused, not failed"),
        LoggedBatch::Refused
    ));
    // A refused write among good ones refuses them all.
    let mixed = [
        ExchangeWrite::AcceptInbound(inbound("l-in2", 8)),
        ExchangeWrite::OutboundDead {
            message_id: "nope".into(),
            reason: "r".into(),
            at: 1,
        },
    ];
    assert!(matches!(
        logged(1, &mixed, b"msg_in l-in2").expect("refused, not failed"),
        LoggedBatch::Refused
    ));
    assert!(matches!(
        store.inbound("UZ", "l-in2"),
        Err(StoreError::NotFound)
    ));
    // A stale append (the log moved on): the row is not written either.
    let fresh = [ExchangeWrite::AcceptInbound(inbound("l-in2", 8))];
    assert!(matches!(
        logged(0, &fresh, b"msg_in stale"),
        Err(StoreError::Conflict(Conflict::LogSize { stored: 1, .. }))
    ));
    assert!(matches!(
        store.inbound("UZ", "l-in2"),
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.open_log(ORIGIN).expect("log").size, 1);
    let after = store.exchange_counts().expect("counts");
    assert_eq!(after.inbox, before.inbox + 1);
    after
}

/// Group commit: one `exchange_batch` holding writes of several messages. Each write's
/// result is its own; the refused ones change nothing; later writes see earlier ones of
/// the same batch. Returns the counts after it.
fn batch_story(
    store: &dyn Store,
    before: caravan_store::exchange::ExchangeCounts,
) -> caravan_store::exchange::ExchangeCounts {
    let writes = vec![
        ExchangeWrite::EnqueueOutbound {
            record: outbound("b1", "cb"),
            now: 1_000,
        },
        // The same id again in the same batch: a conflict, and b1 stays.
        ExchangeWrite::EnqueueOutbound {
            record: outbound("b1", "cb"),
            now: 1_000,
        },
        ExchangeWrite::OutboundLogged {
            message_id: "b1".into(),
            log_index: 40,
        },
        // Unknown message: NotFound, alone.
        ExchangeWrite::OutboundDelivered {
            message_id: "nope".into(),
            receipt: b"r".to_vec(),
            receipt_salt: [1; 32],
            at: 3_000,
        },
        ExchangeWrite::AcceptInbound(inbound("b-in", 4)),
        // A second delivery inside the same batch is a duplicate of the first.
        ExchangeWrite::AcceptInbound(inbound("b-in", 4)),
        // Same id, other content: a conflict.
        ExchangeWrite::AcceptInbound(inbound("b-in", 5)),
        ExchangeWrite::InboundLogged {
            from_party: "UZ".into(),
            message_id: "b-in".into(),
            log_index: 41,
        },
        ExchangeWrite::InboundReceipted {
            from_party: "UZ".into(),
            message_id: "b-in".into(),
            receipt: b"rb".to_vec(),
            receipt_salt: [2; 32],
        },
        ExchangeWrite::OutboundDelivered {
            message_id: "b1".into(),
            receipt: b"rb1".to_vec(),
            receipt_salt: [3; 32],
            at: 3_000,
        },
        // A change the row's state does not allow (b1 is delivered by now, within this
        // batch) is refused alone.
        ExchangeWrite::OutboundDead {
            message_id: "b1".into(),
            reason: "r".into(),
            at: 3_000,
        },
    ];
    let results = store.exchange_batch(&writes).expect("batch commits");
    assert_eq!(results.len(), writes.len());
    assert!(
        matches!(results[0], Ok(WriteOutcome::Enqueued(_))),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(
            results[1],
            Err(StoreError::Conflict(Conflict::MessageIdReused { .. }))
        ),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(results[2], Ok(WriteOutcome::Done)),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[3], Err(StoreError::NotFound)),
        "{:?}",
        results[3]
    );
    assert!(
        matches!(
            results[4],
            Ok(WriteOutcome::Inbound(ref a)) if matches!(**a, InboundAccept::Inserted(_))
        ),
        "{:?}",
        results[4]
    );
    assert!(
        matches!(
            results[5],
            Ok(WriteOutcome::Inbound(ref a)) if matches!(**a, InboundAccept::Duplicate(_))
        ),
        "{:?}",
        results[5]
    );
    assert!(
        matches!(
            results[6],
            Err(StoreError::Conflict(Conflict::MessageIdReused { .. }))
        ),
        "{:?}",
        results[6]
    );
    assert!(
        matches!(results[7], Ok(WriteOutcome::Done)),
        "{:?}",
        results[7]
    );
    assert!(
        matches!(results[8], Ok(WriteOutcome::Done)),
        "{:?}",
        results[8]
    );
    assert!(
        matches!(results[9], Ok(WriteOutcome::Done)),
        "{:?}",
        results[9]
    );
    assert!(results[10].is_err(), "{:?}", results[10]);

    let b1 = store.outbound("b1").expect("b1");
    assert_eq!(b1.state, OutboundState::Delivered);
    assert_eq!(b1.record.log_index, Some(40));
    assert_eq!(b1.receipt.as_deref(), Some(&b"rb1"[..]));
    let row = store.inbound("UZ", "b-in").expect("b-in");
    assert_eq!(
        row.record.facts.hdr_sha256, [4; 32],
        "the conflicting write changed nothing"
    );
    assert_eq!(row.receipt.as_deref(), Some(&b"rb"[..]));
    let after = store.exchange_counts().expect("counts");
    assert_eq!(
        (
            after.delivered,
            after.inbox,
            after.pending,
            after.dead_letter
        ),
        (
            before.delivered + 1,
            before.inbox + 1,
            before.pending,
            before.dead_letter
        )
    );
    // An empty batch is a no-op.
    assert!(store.exchange_batch(&[]).expect("empty").is_empty());
    assert_eq!(store.exchange_counts().expect("counts"), after);
    after
}
