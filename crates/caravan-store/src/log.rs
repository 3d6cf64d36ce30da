//! What a node's transparency logs need from storage.
//!
//! The log is durable before it is signed: [`LogStore::append`] stores the entries, their
//! leaf hashes and every complete-subtree node hash they finish, in one transaction, and
//! only then is an index acknowledged. Checkpoints are signed afterwards from stored hashes.
//! Each node hash is stored once, addressed as in C2SP tlog-tiles: `(level, index)`, level
//! 0 being leaf hashes. The hashing itself is `caravan-tlog`'s; backends only keep bytes.
//!
//! Level-0 nodes are not stored twice: a leaf hash lives beside its entry (the leaf
//! table), and [`LogStore::nodes`] serves `(0, i)` from there. The node table holds
//! levels 1 and up. [`StoreHashReader`] turns a store into a
//! [`caravan_tlog::rfc6962::HashReader`], so proofs, roots, `nodes_to_store` and `fsck`
//! run over stored hashes unchanged.

use caravan_tlog::rfc6962::{HashReadError, HashReader, NodeId};

use crate::StoreError;

/// A SHA-256 hash (the same type as `caravan_tlog::Hash`).
pub type Hash = caravan_tlog::Hash;

/// A complete-subtree node address: level 0 are leaves; `index` counts from the left at
/// that level. The same type as `caravan_tlog::rfc6962::NodeId`, so the output of
/// `caravan_tlog::rfc6962::nodes_to_store` goes to [`LogStore::append`] as it is.
pub type NodeAddr = NodeId;

/// A log's durable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// Number of entries stored.
    pub size: u64,
    /// The latest checkpoint this node signed, as a signed note, with its size and root.
    pub checkpoint: Option<StoredCheckpoint>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size it commits to.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
    /// The signed note, bytes as published (log signature, plus cosignatures once known).
    pub note: Vec<u8>,
}

/// What one durable append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Index of the first entry of the batch.
    pub first_index: u64,
    /// Tree size after the batch.
    pub size: u64,
}

/// A log append the appender has prepared (hashes computed, checkpoint signed) for a
/// caller that stores it in its own transaction together with other writes
/// ([`crate::exchange::ExchangeStore::exchange_batch_logged`]): the arguments of
/// [`LogStore::append`], and of [`LogStore::append_checkpointed`] when `checkpoint` is set.
#[derive(Debug, Clone, Copy)]
pub struct LogBatch<'a> {
    /// The log.
    pub origin: &'a str,
    /// The stored size the batch extends.
    pub expected_size: u64,
    /// Entry bytes.
    pub entries: &'a [Vec<u8>],
    /// Their leaf hashes.
    pub leaf_hashes: &'a [Hash],
    /// Node hashes the batch completes.
    pub nodes: &'a [(NodeAddr, Hash)],
    /// A signed checkpoint of the tree the batch makes, stored with it.
    pub checkpoint: Option<&'a StoredCheckpoint>,
}

/// The witness side: the last checkpoint of a partner's log that this node cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// The partner log's origin.
    pub origin: String,
    /// Size last cosigned.
    pub size: u64,
    /// Root last cosigned.
    pub root: Hash,
}

/// An alarm an operator must see (for example a split view of a partner's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// Store id.
    pub id: i64,
    /// Stable kind, e.g. `split_view`.
    pub kind: String,
    /// The log concerned.
    pub origin: String,
    /// Evidence in words (sizes, roots, notes in base64).
    pub detail: String,
    /// When raised, RFC 3339.
    pub raised_at: String,
}

/// Storage for the node's own logs and for the partner logs it witnesses.
pub trait LogStore: Send + Sync {
    /// Creates the log `origin` if it does not exist and returns its head.
    fn open_log(&self, origin: &str) -> Result<LogHead, StoreError>;

    /// Durably appends a batch: entry bytes, leaf hashes and the node hashes `nodes`
    /// (every complete subtree the batch finishes, computed by the caller with
    /// `caravan_tlog::rfc6962::nodes_to_store` from `leaf_hashes` and the stored right
    /// edge), in one transaction. `expected_size` must equal the stored size, or nothing
    /// is written and the call fails with [`crate::Conflict::LogSize`]: two appenders can
    /// never interleave. When it returns `Ok`, the batch is durable (fsynced).
    ///
    /// `nodes` may include level 0, as `nodes_to_store` returns it; such a node must equal
    /// the corresponding leaf hash and is not stored again. `entries` and `leaf_hashes`
    /// must have the same length. An unknown origin is `NotFound`.
    fn append(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
    ) -> Result<Appended, StoreError>;

    /// [`LogStore::append`] and [`LogStore::save_checkpoint`] of `checkpoint` (a signed
    /// checkpoint of the tree this append makes, at most its size) in **one**
    /// transaction: one fsync makes the batch and the checkpoint covering it durable
    /// together, and if either is refused nothing is written. The appender calls this
    /// when it signs as it integrates, so a receipt that waits for a checkpoint covering
    /// its entry waits for no separate checkpoint commit. The checkpoint's consistency
    /// with the last signed one is the caller's proof, as for `save_checkpoint`.
    fn append_checkpointed(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
        checkpoint: &StoredCheckpoint,
    ) -> Result<Appended, StoreError>;

    /// Stored node hashes, in the order asked, level 0 read from the leaf table; a missing
    /// one (or an unknown origin) is `NotFound`.
    fn nodes(&self, origin: &str, addrs: &[NodeAddr]) -> Result<Vec<Hash>, StoreError>;

    /// Entries `start .. start + count` (fewer at the end of the log, none past it). An
    /// unknown origin is `NotFound`.
    fn entries(&self, origin: &str, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Records a newly signed checkpoint. Refused with [`crate::Conflict::CheckpointRejected`]
    /// unless its size is at least the stored checkpoint's (with the same root when the
    /// sizes are equal) and at most the log size; consistency is the caller's proof to
    /// make before signing.
    fn save_checkpoint(
        &self,
        origin: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError>;

    /// The last cosigned state of a partner log, if any.
    fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, StoreError>;

    /// Moves the witnessed state of `origin` from `expected_size` (0 when first seen) to
    /// `next`, atomically; a concurrent move makes this [`crate::Conflict::WitnessMoved`]
    /// and writes nothing. That the move is forward and consistent is the caller's check.
    fn record_witnessed(&self, expected_size: u64, next: &Witnessed) -> Result<(), StoreError>;

    /// Raises an alarm.
    fn raise_alarm(&self, kind: &str, origin: &str, detail: &str) -> Result<i64, StoreError>;

    /// All alarms, newest first.
    fn alarms(&self) -> Result<Vec<Alarm>, StoreError>;
}

/// Checks the shape of an append before touching the database: one leaf hash per entry,
/// and level-0 nodes (if the caller passed them) equal to the leaf hashes they repeat.
/// Returns the nodes to store (levels ≥ 1). Every backend's `append` calls this first.
pub fn check_append<'n>(
    expected_size: u64,
    entries: &[Vec<u8>],
    leaf_hashes: &[Hash],
    nodes: &'n [(NodeAddr, Hash)],
) -> Result<Vec<&'n (NodeAddr, Hash)>, StoreError> {
    if entries.len() != leaf_hashes.len() {
        return Err(StoreError::Other(format!(
            "append of {} entries with {} leaf hashes",
            entries.len(),
            leaf_hashes.len()
        )));
    }
    let mut upper = Vec::with_capacity(nodes.len());
    for node in nodes {
        let (addr, h) = node;
        if addr.level > 0 {
            upper.push(node);
            continue;
        }
        let leaf = addr
            .index
            .checked_sub(expected_size)
            .and_then(|k| usize::try_from(k).ok())
            .and_then(|k| leaf_hashes.get(k));
        if leaf != Some(h) {
            return Err(StoreError::Other(format!(
                "level-0 node {} is not the leaf hash of an entry of this batch",
                addr.index
            )));
        }
    }
    Ok(upper)
}

/// One log of a [`LogStore`] seen as a [`HashReader`]: node `(0, i)` is the leaf hash of
/// entry `i`, higher levels come from the node table. Batch reads go to
/// [`LogStore::nodes`] in one call.
pub struct StoreHashReader<'a> {
    store: &'a dyn LogStore,
    origin: &'a str,
}

impl<'a> StoreHashReader<'a> {
    /// A reader over the log `origin` of `store`.
    pub fn new(store: &'a dyn LogStore, origin: &'a str) -> Self {
        Self { store, origin }
    }
}

fn read_error(err: StoreError) -> HashReadError {
    HashReadError::Backend(Box::new(err))
}

impl HashReader for StoreHashReader<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError> {
        match self.store.nodes(self.origin, &[NodeId::new(level, index)]) {
            Ok(hashes) => hashes
                .into_iter()
                .next()
                .ok_or(HashReadError::Missing { level, index }),
            Err(StoreError::NotFound) => Err(HashReadError::Missing { level, index }),
            Err(err) => Err(read_error(err)),
        }
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, HashReadError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self.store.nodes(self.origin, ids) {
            Ok(hashes) if hashes.len() == ids.len() => Ok(hashes),
            Ok(hashes) => Err(read_error(StoreError::Other(format!(
                "asked for {} node hashes, got {}",
                ids.len(),
                hashes.len()
            )))),
            // Name the missing node: the batch answer does not say which one it was.
            Err(StoreError::NotFound) => {
                for id in ids {
                    self.node(id.level, id.index)?;
                }
                Err(read_error(StoreError::NotFound))
            }
            Err(err) => Err(read_error(err)),
        }
    }
}

/// Column conversions every SQL backend needs: both databases store sizes and indices as
/// signed 64-bit integers and hashes as byte strings, and a value out of range is a sign of
/// corruption or a bug, never of bad input.
pub mod columns {
    use super::{Hash, StoredCheckpoint};
    use crate::StoreError;

    /// A size or index as the database's signed integer.
    pub fn int(value: u64, what: &str) -> Result<i64, StoreError> {
        i64::try_from(value)
            .map_err(|_| StoreError::Other(format!("{what} {value} is out of range")))
    }

    /// A stored integer that must not be negative.
    pub fn uint(value: i64, what: &str) -> Result<u64, StoreError> {
        u64::try_from(value)
            .map_err(|_| StoreError::Other(format!("stored {what} {value} is negative")))
    }

    /// A stored 32-byte hash.
    pub fn hash(blob: Vec<u8>, what: &str) -> Result<Hash, StoreError> {
        blob.try_into()
            .map_err(|_| StoreError::Other(format!("stored {what} is not 32 bytes")))
    }

    /// The checkpoint columns of a `logs` row: all three set, or none.
    pub fn checkpoint(
        size: Option<i64>,
        root: Option<Vec<u8>>,
        note: Option<Vec<u8>>,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        match (size, root, note) {
            (Some(size), Some(root), Some(note)) => Ok(Some(StoredCheckpoint {
                size: uint(size, "checkpoint size")?,
                root: hash(root, "checkpoint root")?,
                note,
            })),
            (None, None, None) => Ok(None),
            _ => Err(StoreError::Other(
                "stored checkpoint columns are partly empty".into(),
            )),
        }
    }
}
