//! `caravan log fsck`: rebuild the whole tree from stored entries and check everything
//! stored against it, reporting the first corruption.
//!
//! A log that fails closed must know *where* its store went wrong (spec §11.8). The check
//! decodes every entry, recomputes every leaf and node hash with `caravan_tlog::fsck` (so a
//! flipped byte in any stored hash is found, with its address), and checks the stored
//! checkpoint's root against the recomputed tree and its signature against the log key.
//! Not yet covered here: pairwise consistency of historical checkpoints (only the latest
//! is stored), partner cosignature and witness-state cross-checks, the audit chain and the
//! message/receipt cross-reference.

use caravan_store::StoreError;
use caravan_store::log::{LogStore, StoreHashReader};
use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::fsck::FsckError;
use caravan_tlog::note::VerifierList;
use caravan_tlog::rfc6962::{self, EMPTY_ROOT, Hash};

use crate::entry::{Entry, EntryError};

/// What a clean check covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsckSummary {
    /// Entries decoded and hashed.
    pub entries: u64,
    /// Stored node hashes recomputed.
    pub nodes_checked: u64,
    /// Root of the whole stored tree.
    pub root: Hash,
    /// Size of the stored checkpoint, if any.
    pub checkpoint_size: Option<u64>,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
pub enum FsckFailure {
    /// The store failed.
    #[error("log store failed: {0}")]
    Store(#[from] StoreError),
    /// A stored entry does not decode.
    #[error("entry {index} does not decode: {error}")]
    Entry {
        /// Its index.
        index: u64,
        /// Why.
        error: EntryError,
    },
    /// A stored hash differs from the recomputed one, or is missing.
    #[error("tree: {0}")]
    Tree(#[from] FsckError),
    /// The stored checkpoint's root is not the tree's root at its size.
    #[error("checkpoint of size {size} has root that the stored tree does not give")]
    CheckpointRoot {
        /// The checkpoint size.
        size: u64,
    },
    /// The stored checkpoint is larger than the log.
    #[error("checkpoint of size {size} is beyond the log of {entries} entries")]
    CheckpointBeyondLog {
        /// The checkpoint size.
        size: u64,
        /// Entries stored.
        entries: u64,
    },
    /// The stored checkpoint does not parse or its log signature does not verify.
    #[error("checkpoint note: {0}")]
    CheckpointNote(String),
}

/// Checks the log `origin` in `store`; `log_keys` must verify its checkpoint. Blocking.
pub fn fsck(
    store: &dyn LogStore,
    origin: &str,
    log_keys: &VerifierList,
) -> Result<FsckSummary, FsckFailure> {
    let head = store.open_log(origin)?;
    let mut leaves = Vec::with_capacity(head.size as usize);
    let mut index = 0u64;
    while index < head.size {
        let chunk = store.entries(origin, index, 1024)?;
        if chunk.is_empty() {
            break;
        }
        for bytes in chunk {
            Entry::decode(&bytes).map_err(|error| FsckFailure::Entry { index, error })?;
            leaves.push(rfc6962::leaf_hash(&bytes));
            index += 1;
        }
    }
    let reader = StoreHashReader::new(store, origin);
    let report = caravan_tlog::fsck::fsck(&reader, leaves.iter().copied())?;
    let checkpoint_size = match &head.checkpoint {
        None => None,
        Some(stored) => {
            if stored.size > leaves.len() as u64 {
                return Err(FsckFailure::CheckpointBeyondLog {
                    size: stored.size,
                    entries: leaves.len() as u64,
                });
            }
            let root = if stored.size == 0 {
                EMPTY_ROOT
            } else {
                rfc6962::root_from_leaf_hashes(&leaves[..stored.size as usize])
            };
            let signed = SignedCheckpoint::parse(&stored.note)
                .map_err(|e| FsckFailure::CheckpointNote(e.to_string()))?;
            if root != stored.root
                || signed.checkpoint.root != root
                || signed.checkpoint.size != stored.size
            {
                return Err(FsckFailure::CheckpointRoot { size: stored.size });
            }
            signed
                .verify(log_keys)
                .map_err(|e| FsckFailure::CheckpointNote(e.to_string()))?;
            Some(stored.size)
        }
    };
    Ok(FsckSummary {
        entries: leaves.len() as u64,
        nodes_checked: report.nodes_checked,
        root: report.root,
        checkpoint_size,
    })
}
