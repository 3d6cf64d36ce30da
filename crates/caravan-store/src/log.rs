//! What a node's transparency logs need from storage.
//!
//! The log is durable before it is signed: [`LogStore::append`] stores the entries, their
//! leaf hashes and every complete-subtree node hash they finish, in one transaction, and
//! only then is an index acknowledged. Checkpoints are signed afterwards from stored hashes.
//! Each node hash is stored once, addressed as in C2SP tlog-tiles: `(level, index)`, level
//! 0 being leaf hashes. The hashing itself is `caravan-tlog`'s; backends only keep bytes.

use crate::StoreError;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// A complete-subtree node: level 0 are leaves; `index` counts from the left at that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeAddr {
    /// Height above the leaves.
    pub level: u8,
    /// Position at that level.
    pub index: u64,
}

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
    /// `caravan-tlog` from `leaf_hashes` and the stored right edge), in one transaction.
    /// `expected_size` must equal the stored size, or nothing is written and the call
    /// fails with a conflict: two appenders can never interleave.
    fn append(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
    ) -> Result<Appended, StoreError>;

    /// Stored node hashes, in the order asked; a missing one is `NotFound`.
    fn nodes(&self, origin: &str, addrs: &[NodeAddr]) -> Result<Vec<Hash>, StoreError>;

    /// Entries `start .. start + count` (fewer at the end of the log).
    fn entries(&self, origin: &str, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Records a newly signed checkpoint. Refused with a conflict unless its size is at
    /// least the stored one; consistency is the caller's proof to make before signing.
    fn save_checkpoint(&self, origin: &str, checkpoint: &StoredCheckpoint) -> Result<(), StoreError>;

    /// The last cosigned state of a partner log, if any.
    fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, StoreError>;

    /// Moves the witnessed state of `origin` from `expected_size` (0 when first seen) to
    /// `next`, atomically; a concurrent move makes this a conflict.
    fn record_witnessed(&self, expected_size: u64, next: &Witnessed) -> Result<(), StoreError>;

    /// Raises an alarm.
    fn raise_alarm(&self, kind: &str, origin: &str, detail: &str) -> Result<i64, StoreError>;

    /// All alarms, newest first.
    fn alarms(&self) -> Result<Vec<Alarm>, StoreError>;
}
