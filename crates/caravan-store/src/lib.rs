//! What a node needs from storage, said at the level of its workflows.
//!
//! Backends (`caravan-store-sqlite`, `caravan-store-postgres`) implement these traits and
//! own their SQL and migrations; nothing above this crate sees SQL. The traits are
//! synchronous: storage work is blocking IO, and async callers move it to a blocking
//! thread at the edge. Keeping the trait free of an async runtime also keeps the ingest
//! pipeline and its crash tests simple.
//!
//! The one durability promise every backend makes: an [`IngestBatch`] is all-or-nothing.
//! Until [`IngestBatch::commit`] returns `Ok`, nothing of the batch is visible, and a
//! crash at any point leaves the store as it was before the batch began.

pub mod access;
pub mod assistance;
pub mod assistance_wire;
pub mod exchange;
pub mod log;
pub mod mirror;
pub mod rows;
pub mod screen;
pub mod target;

use std::fmt;

use caravan_domain::declaration::model::Declaration;
use caravan_domain::declaration::validate::{Finding, Provenance};

/// Storage failures, split by who can act on them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The write contradicts what is stored.
    #[error("{0}")]
    Conflict(Conflict),
    /// The database cannot be reached or is overloaded; retrying may help.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, corruption, or a failed migration.
    #[error("store error: {0}")]
    Other(String),
}

/// A write that contradicts stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Same declarant and LRN as a stored declaration, with different content.
    DuplicateReference {
        /// Declarant identifier (may be empty).
        declarant: String,
        /// Trader reference.
        lrn: String,
    },
    /// A log append or checkpoint was computed for a tree size other than the stored
    /// one: another appender got there first, and nothing was written.
    LogSize {
        /// The log's origin.
        origin: String,
        /// The size the caller built its batch on.
        expected: u64,
        /// The size stored.
        stored: u64,
    },
    /// A checkpoint would go backwards, past the stored tree, or contradict the stored
    /// checkpoint of the same size (a different root: a split view).
    CheckpointRejected {
        /// The log's origin.
        origin: String,
        /// Size of the offered checkpoint.
        offered: u64,
        /// Size of the stored checkpoint (0 if none).
        checkpoint: u64,
        /// Number of entries stored.
        log_size: u64,
    },
    /// The witnessed state of a partner log moved since the caller read it: a
    /// concurrent add-checkpoint won, and nothing was written.
    WitnessMoved {
        /// The partner log's origin.
        origin: String,
        /// The size the caller expected to move from.
        expected: u64,
        /// The size stored now (0 if none).
        stored: u64,
    },
    /// A message id already stored for this sender with a different header.
    MessageIdReused {
        /// Sending party.
        from: String,
        /// The message id.
        message_id: String,
    },
    /// An account with this name already exists.
    AccountExists {
        /// The account name.
        name: String,
    },
    /// A snapshot row was changed by another writer since it was read (or, for version 1,
    /// already exists): nothing was written.
    StaleWrite {
        /// What kind of row (`case`, `consent`, `message`, …).
        what: String,
        /// Its id.
        id: String,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::DuplicateReference { declarant, lrn } => write!(
                f,
                "declarant {declarant:?} already filed LRN {lrn:?} with different content"
            ),
            Conflict::LogSize {
                origin,
                expected,
                stored,
            } => write!(
                f,
                "log {origin} has {stored} entries, not the {expected} this append was built on"
            ),
            Conflict::CheckpointRejected {
                origin,
                offered,
                checkpoint,
                log_size,
            } => write!(
                f,
                "log {origin}: a checkpoint of size {offered} must be at least the stored \
                 checkpoint ({checkpoint}, with the same root if equal) and at most the \
                 log size ({log_size})"
            ),
            Conflict::WitnessMoved {
                origin,
                expected,
                stored,
            } => write!(
                f,
                "witnessed size of {origin} is {stored}, not the expected {expected}; a \
                 concurrent checkpoint moved it"
            ),
            Conflict::AccountExists { name } => write!(f, "account {name:?} already exists"),
            Conflict::StaleWrite { what, id } => {
                write!(
                    f,
                    "{what} {id:?} was changed by another writer; nothing was written"
                )
            }
            Conflict::MessageIdReused { from, message_id } => write!(
                f,
                "{from} already used message id {message_id:?} for a different message"
            ),
        }
    }
}

/// Where a batch came from, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSource {
    /// File name or other origin as the operator named it.
    pub name: String,
    /// Syntax: `caravan-csv`, `caravan-json`, `wco-xml`, `cusdec`.
    pub format: String,
    /// Local filing or partner data.
    pub provenance: Provenance,
}

/// One declaration ready to be stored.
pub struct DeclarationRecord<'a> {
    /// The validated declaration.
    pub declaration: &'a Declaration,
    /// Its warnings and infos.
    pub findings: &'a [Finding],
    /// The canonical document (Caravan JSON of the declaration), stored verbatim.
    pub document: &'a [u8],
    /// SHA-256 of `document`; equal digests mean an idempotent replay.
    pub digest: [u8; 32],
    /// Record number within the source file.
    pub source_record: u64,
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored as a new declaration with this id.
    Inserted(i64),
    /// Identical to the stored declaration with this id; nothing written.
    Replayed(i64),
}

/// Totals reported when a batch commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Id of the ingest run in the audit trail.
    pub run_id: i64,
    /// Declarations stored.
    pub inserted: u64,
    /// Identical re-submissions skipped.
    pub replayed: u64,
    /// Goods items stored.
    pub items: u64,
}

/// An all-or-nothing batch of declarations. Dropping it without `commit` rolls back.
pub trait IngestBatch {
    /// Stores one declaration, or recognises a replay. A different declaration with the
    /// same (declarant, LRN) is [`Conflict::DuplicateReference`], and the batch must then
    /// be abandoned.
    fn put(&mut self, record: &DeclarationRecord<'_>) -> Result<PutOutcome, StoreError>;

    /// Makes the whole batch durable and visible at once.
    fn commit(self: Box<Self>) -> Result<BatchSummary, StoreError>;
}

/// A stored declaration as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeclaration {
    /// Store id.
    pub id: i64,
    /// Canonical document as stored.
    pub document: Vec<u8>,
    /// SHA-256 of the document.
    pub digest: [u8; 32],
    /// Findings stored with it.
    pub findings: Vec<StoredFinding>,
    /// Ingest run that brought it.
    pub run_id: i64,
}

/// A finding as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// Stable code.
    pub code: String,
    /// Field path.
    pub path: String,
    /// Offending value.
    pub value: Option<String>,
    /// Rule in words.
    pub message: String,
}

/// Row counts, as the demo and `caravan ingest` report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Declarations.
    pub declarations: u64,
    /// Import declarations.
    pub imports: u64,
    /// Export declarations.
    pub exports: u64,
    /// Goods items.
    pub items: u64,
    /// Party rows (one per party per declaration).
    pub parties: u64,
    /// Distinct parties by (scheme, identifier) or, lacking one, by normalised name.
    pub distinct_parties: u64,
    /// Containers.
    pub containers: u64,
    /// Stored warnings.
    pub warnings: u64,
    /// Ingest runs.
    pub runs: u64,
}

/// A short row for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationSummary {
    /// Store id.
    pub id: i64,
    /// D013 type code.
    pub type_code: String,
    /// Import, export or amendment.
    pub direction: String,
    /// Declarant key.
    pub declarant: String,
    /// Trader reference.
    pub lrn: String,
    /// Number of goods items.
    pub items: u64,
    /// Number of warnings.
    pub warnings: u64,
}

/// Declarations: ingest, read back, count.
pub trait DeclarationStore: Send + Sync {
    /// Opens an all-or-nothing batch. Only one batch runs at a time per store; a second
    /// caller waits.
    fn begin_ingest(&self, source: &IngestSource) -> Result<Box<dyn IngestBatch + '_>, StoreError>;

    /// Reads one declaration by its (declarant, LRN) key.
    fn declaration(&self, declarant: &str, lrn: &str) -> Result<StoredDeclaration, StoreError>;

    /// Lists declarations by id, newest first.
    fn list(&self, limit: u32, offset: u32) -> Result<Vec<DeclarationSummary>, StoreError>;

    /// Counts rows.
    fn counts(&self) -> Result<StoreCounts, StoreError>;

    /// Cheap liveness check for readiness probes.
    fn ping(&self) -> Result<(), StoreError>;
}

/// The whole store a node uses: declarations and transparency logs. Later capabilities
/// add their traits here.
pub trait Store:
    DeclarationStore
    + log::LogStore
    + exchange::ExchangeStore
    + access::AccessStore
    + assistance::AssistanceStore
    + assistance_wire::AssistanceWireStore
    + mirror::MirrorStore
    + screen::ScreenStore
    + target::TargetStore
{
}

impl<T> Store for T where
    T: DeclarationStore
        + log::LogStore
        + exchange::ExchangeStore
        + access::AccessStore
        + assistance::AssistanceStore
        + assistance_wire::AssistanceWireStore
        + mirror::MirrorStore
        + screen::ScreenStore
        + target::TargetStore
{
}

/// Lower-cased, punctuation-free, single-spaced form of a name, in any script; the key
/// used to link parties that lack identifiers. Screening has its own, richer normaliser.
pub fn name_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_space = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn name_key_folds_case_punctuation_and_space() {
        assert_eq!(
            name_key("  Silk Road  Trading, LLC. "),
            "silk road trading llc"
        );
        assert_eq!(name_key("ООО «Ташкент-Текстиль»"), "ооо ташкент текстиль");
        assert_eq!(name_key("O'Brien & Sons"), "o brien sons");
        assert_eq!(name_key("..."), "");
    }
}
