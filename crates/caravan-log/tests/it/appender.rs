//! The appender and the checkpointer, driven step by step over a real in-memory store.

use std::sync::Arc;
use std::time::Duration;

use caravan_log::appender::{AppendError, Appender, AppenderConfig};
use caravan_log::checkpointer::{Checkpointer, CheckpointerError};
use caravan_log::storage::MemoryLogStore;
use caravan_store::log::{LogStore, NodeAddr, StoredCheckpoint};
use caravan_tlog::note::Ed25519Signer;
use caravan_tlog::rfc6962::{self, MemoryTree};

const ORIGIN: &str = "caravan.example/log";

fn config(max_batch: usize, max_pending: usize) -> AppenderConfig {
    AppenderConfig {
        max_batch,
        max_delay: Duration::from_millis(250),
        max_pending,
        retry_after: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn batches_resolve_tickets_with_consecutive_indices() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(4, 100)).unwrap();
    let tickets: Vec<_> = (0..10u32)
        .map(|i| appender.submit(i.to_be_bytes().to_vec()).unwrap())
        .collect();
    assert_eq!(appender.step().unwrap(), 4);
    assert_eq!(appender.size(), 4);
    assert_eq!(appender.pending(), 6);
    assert_eq!(appender.flush().unwrap(), 10);
    for (i, ticket) in tickets.into_iter().enumerate() {
        assert_eq!(ticket.index().await.unwrap(), i as u64);
    }
    // The stored tree is the tree of the entries, in order.
    let mut tree = MemoryTree::new();
    for i in 0..10u32 {
        tree.append(&i.to_be_bytes());
    }
    let reader = caravan_store::log::StoreHashReader::new(store.as_ref(), ORIGIN);
    assert_eq!(rfc6962::tree_hash(10, &reader).unwrap(), tree.root());
    assert_eq!(
        store.entries(ORIGIN, 3, 2).unwrap(),
        vec![3u32.to_be_bytes().to_vec(), 4u32.to_be_bytes().to_vec()]
    );
}

#[tokio::test]
async fn a_full_queue_refuses_and_loses_nothing_accepted() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(2, 3)).unwrap();
    let accepted: Vec<_> = (0..3u8)
        .map(|i| appender.submit(vec![i]).unwrap())
        .collect();
    match appender.submit(vec![9]) {
        Err(AppendError::Overloaded { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(2));
        }
        other => panic!("expected overload, got {other:?}"),
    }
    assert!(matches!(
        appender.submit(vec![0; 65_536]),
        Err(AppendError::TooLarge(65_536))
    ));

    // The store goes down: the batch goes back to the queue, in order.
    store.set_failing(true);
    assert!(matches!(appender.step(), Err(AppendError::Store(_))));
    assert_eq!(appender.pending(), 3);
    assert_eq!(appender.size(), 0);
    store.set_failing(false);
    assert_eq!(appender.flush().unwrap(), 3);
    for (i, ticket) in accepted.into_iter().enumerate() {
        assert_eq!(ticket.index().await.unwrap(), i as u64);
    }
    assert_eq!(
        store.entries(ORIGIN, 0, 10).unwrap(),
        vec![vec![0], vec![1], vec![2]]
    );
    // Room again.
    appender.submit(vec![3]).unwrap();
}

#[tokio::test]
async fn a_second_writer_is_detected_and_the_batch_retried() {
    let store = Arc::new(MemoryLogStore::new());
    let first = Appender::open(store.clone(), ORIGIN, config(8, 100)).unwrap();
    let second = Appender::open(store.clone(), ORIGIN, config(8, 100)).unwrap();
    second.submit(b"other".to_vec()).unwrap();
    second.flush().unwrap();
    let ticket = first.submit(b"mine".to_vec()).unwrap();
    assert!(first.step().is_err(), "built on a stale size");
    assert_eq!(first.flush().unwrap(), 2);
    assert_eq!(ticket.index().await.unwrap(), 1);
}

#[tokio::test]
async fn checkpoints_follow_growth_and_wake_waiters() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    let signer = Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap();
    let checkpointer = Checkpointer::new(store.clone(), ORIGIN, signer, Duration::from_secs(600))
        .notify(appender.clone());
    let ticket = appender.submit(b"a".to_vec()).unwrap();
    appender.flush().unwrap();
    let index = ticket.index().await.unwrap();
    let waiter = {
        let appender = appender.clone();
        tokio::spawn(async move { appender.wait_for_checkpoint(index).await })
    };
    let signed = checkpointer.step(1_000).unwrap().unwrap();
    assert_eq!(signed.checkpoint.size, 1);
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    // Unchanged tree: nothing until ten minutes have passed.
    assert!(checkpointer.step(2_000).unwrap().is_none());
    assert!(checkpointer.step(601_000).unwrap().is_some());
    // Growth: a new one, consistent with the last.
    appender.submit(b"b".to_vec()).unwrap();
    appender.submit(b"c".to_vec()).unwrap();
    appender.flush().unwrap();
    let grown = checkpointer.step(602_000).unwrap().unwrap();
    assert_eq!(grown.checkpoint.size, 3);
    assert_eq!(store.open_log(ORIGIN).unwrap().checkpoint.unwrap().size, 3);
}

#[test]
fn the_checkpointer_refuses_an_inconsistent_store() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    let signer = Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap();
    let checkpointer = Checkpointer::new(store.clone(), ORIGIN, signer, Duration::from_secs(600));
    for i in 0..5u8 {
        appender.submit(vec![i]).unwrap();
    }
    appender.flush().unwrap();
    checkpointer.step(0).unwrap().unwrap();
    appender.submit(vec![5]).unwrap();
    appender.flush().unwrap();
    // A stored hash under the signed tree changes: the old root no longer recomputes.
    store.corrupt_node(ORIGIN, NodeAddr::new(2, 0), [0xee; 32]);
    let err = checkpointer.step(1).unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointerError::Inconsistent {
                signed_size: 5,
                size: 6,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.open_log(ORIGIN).unwrap().checkpoint.unwrap().size, 5);
}

#[test]
fn the_checkpointer_refuses_a_checkpoint_the_tree_does_not_extend() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    let signer = Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap();
    let checkpointer = Checkpointer::new(store.clone(), ORIGIN, signer, Duration::from_secs(600));
    for i in 0..4u8 {
        appender.submit(vec![i]).unwrap();
    }
    appender.flush().unwrap();
    // A checkpoint of size 3 with a root that is not the stored tree's.
    store
        .save_checkpoint(
            ORIGIN,
            &StoredCheckpoint {
                size: 3,
                root: [1; 32],
                note: Vec::new(),
            },
        )
        .unwrap();
    let err = checkpointer.step(0).unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointerError::Inconsistent {
                signed_size: 3,
                size: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_appender_that_signs_checkpoints_each_batch_in_its_own_commit() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    let signer = Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap();
    let verifiers = caravan_tlog::note::VerifierList::new()
        .with(signer.verifier())
        .unwrap();
    appender.sign_on_append(signer);
    assert!(appender.signs_on_append());
    let mut tree = MemoryTree::new();
    let mut signed_roots = Vec::new();
    for batch in [3u8, 1, 4] {
        let tickets: Vec<_> = (0..batch)
            .map(|i| {
                let entry = vec![batch, i];
                tree.append(&entry);
                appender.submit(entry).unwrap()
            })
            .collect();
        assert_eq!(appender.step().unwrap(), usize::from(batch));
        // The batch's checkpoint is stored and published with it: a waiter for the last
        // index is answered without any checkpointer step.
        let last = tickets.into_iter().last().unwrap().index().await.unwrap();
        assert_eq!(
            appender.wait_for_checkpoint(last).await.unwrap(),
            tree.size()
        );
        let stored = store.open_log(ORIGIN).unwrap().checkpoint.unwrap();
        assert_eq!((stored.size, stored.root), (tree.size(), tree.root()));
        let (opened, _) =
            caravan_tlog::checkpoint::SignedCheckpoint::open(&stored.note, &verifiers).unwrap();
        assert_eq!(opened.checkpoint.size, tree.size());
        signed_roots.push((stored.size, stored.root));
    }
    // Each signed tree extends the one before.
    let reader = caravan_store::log::StoreHashReader::new(store.as_ref(), ORIGIN);
    for pair in signed_roots.windows(2) {
        let ((old, old_root), (new, new_root)) = (pair[0], pair[1]);
        let proof = rfc6962::consistency_proof(old, new, &reader).unwrap();
        rfc6962::verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
    }
    // A stored hash under the signed tree changes: the next batch is neither signed nor
    // stored, and stays queued.
    store.corrupt_node(ORIGIN, NodeAddr::new(3, 0), [0xee; 32]);
    appender.submit(vec![9]).unwrap();
    let err = appender.step().unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::Checkpoint(CheckpointerError::Inconsistent {
                signed_size: 8,
                size: 9,
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(appender.pending(), 1);
    let head = store.open_log(ORIGIN).unwrap();
    assert_eq!((head.size, head.checkpoint.unwrap().size), (8, 8));
}

#[tokio::test]
async fn a_caller_commits_its_entries_with_the_queue_or_leaves_the_queue_as_it_was() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    appender.sign_on_append(Ed25519Signer::from_seed(ORIGIN, &[2; 32]).unwrap());
    let queued = appender.submit(b"queued".to_vec()).unwrap();
    // The caller's writes are refused: nothing is stored, the queued entry stays queued.
    let refused = appender
        .step_with(&[b"extra".to_vec()], |_batch| Ok(None::<(_, ())>))
        .unwrap();
    assert!(refused.is_none());
    assert_eq!((appender.size(), appender.pending()), (0, 1));
    // The caller stores the prepared batch (here: the store's own checkpointed append):
    // the queued entry comes first, the caller's after it, both under one checkpoint.
    let committed = appender
        .step_with(&[b"extra 1".to_vec(), b"extra 2".to_vec()], |batch| {
            assert_eq!(batch.entries.len(), 3);
            let checkpoint = batch.checkpoint.expect("signs on append");
            let appended = store.append_checkpointed(
                batch.origin,
                batch.expected_size,
                batch.entries,
                batch.leaf_hashes,
                batch.nodes,
                checkpoint,
            )?;
            Ok(Some((appended, "answer")))
        })
        .unwrap();
    assert_eq!(committed, Some((1, "answer")));
    assert_eq!(queued.index().await.unwrap(), 0);
    assert_eq!((appender.size(), appender.pending()), (3, 0));
    assert_eq!(appender.checkpointed_size(), 3);
    assert_eq!(
        store.entries(ORIGIN, 0, 3).unwrap(),
        vec![b"queued".to_vec(), b"extra 1".to_vec(), b"extra 2".to_vec()]
    );
    let mut tree = MemoryTree::new();
    for entry in [&b"queued"[..], b"extra 1", b"extra 2"] {
        tree.append(entry);
    }
    assert_eq!(
        store.open_log(ORIGIN).unwrap().checkpoint.unwrap().root,
        tree.root()
    );
    // An entry over the size limit is refused before anything is taken from the queue.
    appender.submit(b"next".to_vec()).unwrap();
    let err = appender
        .step_with(&[vec![0; 70_000]], |_batch| Ok(None::<(_, ())>))
        .unwrap_err();
    assert!(matches!(err, AppendError::TooLarge(70_000)), "{err}");
    assert_eq!(appender.pending(), 1);
}
