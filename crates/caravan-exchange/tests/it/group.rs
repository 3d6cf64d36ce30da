//! The group commit with the log (issue 4): a write and the log entry recording it in one
//! transaction, and the old path, write alone and entry through the appender's queue,
//! whenever that transaction cannot hold them (a duplicate, a refused write).

use std::sync::Arc;

use caravan_exchange::group::GroupCommit;
use caravan_log::appender::{Appender, AppenderConfig};
use caravan_store::StoreError;
use caravan_store::exchange::{
    ExchangeStore, ExchangeWrite, InboundAccept, InboundRecord, MessageFacts, OutboundRecord,
    WriteOutcome,
};
use caravan_store::log::LogStore;
use caravan_store_sqlite::SqliteStore;

const ORIGIN: &str = "caravan.example/group";

fn facts(id: &str, from: &str, to: &str) -> MessageFacts {
    MessageFacts {
        message_id: id.to_owned(),
        agreement_id: "us-uz".to_owned(),
        from_party: from.to_owned(),
        to_party: to.to_owned(),
        conversation_id: "c1".to_owned(),
        service: "caravan:cmaa/v1".to_owned(),
        action: "Bulk.Batch".to_owned(),
        created_at: 1_000,
        expires_at: 9_000,
        hdr_sha256: [4; 32],
    }
}

fn inbound(id: &str) -> ExchangeWrite {
    ExchangeWrite::AcceptInbound(InboundRecord {
        facts: facts(id, "UZ", "US"),
        wire: vec![1; 10],
        salts: vec![9; 96],
        received_at: 2_000,
    })
}

fn msg_out(id: &str) -> ExchangeWrite {
    ExchangeWrite::OutboundLogged {
        message_id: id.to_owned(),
        log_index: 0,
    }
}

#[tokio::test]
async fn a_write_and_its_entry_commit_together_or_the_entry_is_left_to_the_caller() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let appender = Appender::open(store.clone(), ORIGIN, AppenderConfig::default()).unwrap();
    let commits = GroupCommit::with_log(store.clone(), appender.clone());

    // A received message: its row, its entry and the entry's index in the row.
    let (result, index) = commits
        .write_logged(inbound("m1"), b"msg_in m1".to_vec())
        .await;
    assert!(
        matches!(&result, Ok(WriteOutcome::Inbound(a)) if matches!(**a, InboundAccept::Inserted(_)))
    );
    assert_eq!(index, Some(0));
    assert_eq!(store.inbound("UZ", "m1").unwrap().log_index, Some(0));
    assert_eq!(appender.size(), 1);

    // A sent message's msg_out: the index goes into its OutboundLogged.
    let record = OutboundRecord {
        facts: facts("o1", "US", "UZ"),
        wire: b"wire".to_vec(),
        salts: vec![7; 96],
        log_entry: b"msg_out o1".to_vec(),
        log_index: None,
    };
    store.enqueue_outbound(&record, 1_000).unwrap();
    let (result, index) = commits
        .write_logged(msg_out("o1"), b"msg_out o1".to_vec())
        .await;
    assert!(matches!(result, Ok(WriteOutcome::Done)), "{result:?}");
    assert_eq!(index, Some(1));
    assert_eq!(store.outbound("o1").unwrap().record.log_index, Some(1));

    // A redelivery: a duplicate is never logged again; the caller gets the stored row.
    let (result, index) = commits
        .write_logged(inbound("m1"), b"msg_in again".to_vec())
        .await;
    assert!(
        matches!(&result, Ok(WriteOutcome::Inbound(a)) if matches!(**a, InboundAccept::Duplicate(_)))
    );
    assert_eq!(index, None);
    // An OutboundLogged that cannot be logged with its entry is not written at all.
    let (result, index) = commits
        .write_logged(msg_out("nope"), b"msg_out nope".to_vec())
        .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(index, None);
    assert_eq!(appender.size(), 2);
    assert_eq!(
        store.entries(ORIGIN, 0, 5).unwrap(),
        vec![b"msg_in m1".to_vec(), b"msg_out o1".to_vec()]
    );

    // Entries the appender had queued commit first, in the same transaction.
    let ticket = appender.submit(b"receipt_out".to_vec()).unwrap();
    let (_, index) = commits
        .write_logged(inbound("m2"), b"msg_in m2".to_vec())
        .await;
    assert_eq!(index, Some(3));
    assert_eq!(ticket.index().await.unwrap(), 2);
    assert_eq!(store.inbound("UZ", "m2").unwrap().log_index, Some(3));
    assert_eq!(store.open_log(ORIGIN).unwrap().size, 4);
}
