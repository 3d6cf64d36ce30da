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
    // A stored hash under the signed tree changes. The running appender keeps the right
    // edge it stored and reads nothing under it, so its next checkpoint is of the true
    // tree, still consistent with the last one; the checkpointer, which recomputes from
    // the stored hashes on its tick, refuses to sign and so reports the damage.
    store.corrupt_node(ORIGIN, NodeAddr::new(3, 0), [0xee; 32]);
    appender.submit(vec![9]).unwrap();
    tree.append(&[9]);
    assert_eq!(appender.step().unwrap(), 1);
    let stored = store.open_log(ORIGIN).unwrap().checkpoint.unwrap();
    assert_eq!((stored.size, stored.root), (9, tree.root()));
    let proof = tree.consistency_proof(8, 9).unwrap();
    rfc6962::verify_consistency(8, 9, &signed_roots[2].1, &tree.root(), &proof).unwrap();
    let checkpointer = Checkpointer::new(
        store.clone(),
        ORIGIN,
        Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap(),
        Duration::from_secs(600),
    );
    let err = checkpointer.step(u64::MAX).unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointerError::Inconsistent {
                signed_size: 9,
                size: 9,
                ..
            }
        ),
        "{err}"
    );
    // After a restart the appender starts from the stored hashes: its next batch is
    // neither signed nor stored, and stays queued.
    let reopened = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    reopened.sign_on_append(Ed25519Signer::from_seed(ORIGIN, &[1; 32]).unwrap());
    reopened.submit(vec![10]).unwrap();
    let err = reopened.step().unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::Checkpoint(CheckpointerError::Inconsistent {
                signed_size: 9,
                size: 10,
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(reopened.pending(), 1);
    let head = store.open_log(ORIGIN).unwrap();
    assert_eq!((head.size, head.checkpoint.unwrap().size), (9, 9));
}

#[tokio::test]
async fn a_caller_commits_its_entries_with_the_queue_or_leaves_the_queue_as_it_was() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    appender.sign_on_append(Ed25519Signer::from_seed(ORIGIN, &[2; 32]).unwrap());
    let queued = appender.submit(b"queued".to_vec()).unwrap();
    // The caller's writes are refused: nothing is stored, the queued entry stays queued.
    let refused = appender
        .step_with(&[b"extra".to_vec()], true, |_batch| Ok(None::<(_, ())>))
        .unwrap();
    assert!(refused.is_none());
    assert_eq!((appender.size(), appender.pending()), (0, 1));
    // The caller stores the prepared batch (here: the store's own checkpointed append):
    // the queued entry comes first, the caller's after it, both under one checkpoint.
    let committed = appender
        .step_with(
            &[b"extra 1".to_vec(), b"extra 2".to_vec()],
            true,
            |staged| {
                assert_eq!(staged.first_extra(), 1);
                assert_eq!(staged.batch().entries.len(), 3);
                assert!(staged.batch().checkpoint.is_some(), "signs on append");
                Ok(Some((store_checkpointed(&store, staged)?, "answer")))
            },
        )
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
        .step_with(&[vec![0; 70_000]], true, |_batch| Ok(None::<(_, ())>))
        .unwrap_err();
    assert!(matches!(err, AppendError::TooLarge(70_000)), "{err}");
    assert_eq!(appender.pending(), 1);
}

#[tokio::test]
async fn a_caller_proves_its_entries_under_the_batch_checkpoint_and_appends_after_it() {
    let store = Arc::new(MemoryLogStore::new());
    let appender = Appender::open(store.clone(), ORIGIN, config(256, 100)).unwrap();
    appender.sign_on_append(Ed25519Signer::from_seed(ORIGIN, &[3; 32]).unwrap());
    let mut tree = MemoryTree::new();
    // A batch nobody waits on is stored without a checkpoint.
    let unsigned = appender
        .step_with(&[b"a".to_vec(), b"b".to_vec()], false, |staged| {
            assert!(staged.checkpoint().is_none());
            assert!(staged.inclusion_proof(0).is_none());
            let batch = staged.batch();
            let appended = store.append(
                batch.origin,
                batch.expected_size,
                batch.entries,
                batch.leaf_hashes,
                batch.nodes,
            )?;
            Ok(Some((appended, ())))
        })
        .unwrap();
    assert_eq!(unsigned, Some((0, ())));
    tree.append(b"a");
    tree.append(b"b");
    assert_eq!(appender.checkpointed_size(), 0);
    assert!(store.open_log(ORIGIN).unwrap().checkpoint.is_none());
    // Signed batches of growing size, each with two trailing entries after its
    // checkpoint: the proofs verify against the checkpoint, the trailing entries are
    // stored but not covered, and the stored hashes give the true tree every time.
    for round in 0..6u8 {
        let extra: Vec<Vec<u8>> = (0..=round).map(|i| vec![round, i]).collect();
        let tail = [vec![0xff, round], vec![0xfe, round]];
        let (_, (checkpoint, first, proofs)) = appender
            .step_with(&extra, true, |staged| {
                let checkpoint = staged.checkpoint().expect("signed").clone();
                let first = staged.first_extra();
                let proofs: Vec<Vec<_>> = (first..first + extra.len() as u64)
                    .map(|i| staged.inclusion_proof(i).unwrap().unwrap())
                    .collect();
                staged.append_tail(&tail).unwrap();
                assert!(staged.inclusion_proof(checkpoint.size).is_none());
                let appended = store_checkpointed(&store, staged)?;
                Ok(Some((appended, (checkpoint, first, proofs))))
            })
            .unwrap()
            .unwrap();
        assert_eq!(first, tree.size());
        extra.iter().for_each(|e| {
            tree.append(e);
        });
        assert_eq!(
            (checkpoint.size, checkpoint.root),
            (tree.size(), tree.root())
        );
        for (k, (entry, proof)) in extra.iter().zip(&proofs).enumerate() {
            let leaf = rfc6962::leaf_hash(entry);
            rfc6962::verify_inclusion(
                &leaf,
                first + k as u64,
                checkpoint.size,
                proof,
                &checkpoint.root,
            )
            .unwrap();
        }
        tail.iter().for_each(|e| {
            tree.append(e);
        });
        assert_eq!(appender.size(), tree.size());
        assert_eq!(appender.checkpointed_size(), checkpoint.size);
        let head = store.open_log(ORIGIN).unwrap();
        assert_eq!(
            (head.size, head.checkpoint.unwrap().size),
            (tree.size(), checkpoint.size)
        );
        let reader = caravan_store::log::StoreHashReader::new(store.as_ref(), ORIGIN);
        assert_eq!(
            rfc6962::tree_hash(tree.size(), &reader).unwrap(),
            tree.root()
        );
    }
}

/// Stores a staged signed batch the way a caller's transaction would: the store's own
/// checkpointed append.
fn store_checkpointed(
    store: &MemoryLogStore,
    staged: &caravan_log::appender::Staged<'_>,
) -> Result<caravan_store::log::Appended, caravan_store::StoreError> {
    let batch = staged.batch();
    store.append_checkpointed(
        batch.origin,
        batch.expected_size,
        batch.entries,
        batch.leaf_hashes,
        batch.nodes,
        batch.checkpoint.expect("a signed batch"),
    )
}
