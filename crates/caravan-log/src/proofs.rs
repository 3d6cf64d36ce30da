//! Exporting C2SP tlog-proofs: an entry's inclusion proof plus the checkpoint it is
//! proved against, as one text block an auditor verifies offline (spec §11.7).
//!
//! The proof is built against the latest stored checkpoint, which carries whatever
//! cosignatures the partner witnesses returned; a proof for an entry the checkpoint does
//! not cover yet is refused rather than built against an unsigned tree.

use caravan_store::StoreError;
use caravan_store::log::{LogStore, StoreHashReader};
use caravan_tlog::checkpoint::{CheckpointError, SignedCheckpoint};
use caravan_tlog::proof::TlogProof;
use caravan_tlog::rfc6962::{self, ProofError};

/// Why no proof could be built.
#[derive(Debug, thiserror::Error)]
pub enum ProofsError {
    /// The store failed.
    #[error("log store failed: {0}")]
    Store(#[from] StoreError),
    /// No checkpoint covers the entry yet.
    #[error("entry {index} is not covered by a signed checkpoint (latest size {size})")]
    NotCovered {
        /// The entry.
        index: u64,
        /// Latest checkpoint size (0 if none).
        size: u64,
    },
    /// The stored checkpoint does not parse.
    #[error("stored checkpoint is malformed: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Hashes could not be read.
    #[error("building the inclusion proof failed: {0}")]
    Proof(#[from] ProofError),
}

/// Builds a tlog-proof of entry `index` of `origin` against the latest stored checkpoint.
/// Blocking.
pub fn build_proof(
    store: &dyn LogStore,
    origin: &str,
    index: u64,
) -> Result<TlogProof, ProofsError> {
    let head = store.open_log(origin)?;
    let Some(stored) = head.checkpoint.filter(|c| index < c.size) else {
        return Err(ProofsError::NotCovered { index, size: 0 });
    };
    let signed = SignedCheckpoint::parse(&stored.note)?;
    let hashes = rfc6962::inclusion_proof(
        index,
        signed.checkpoint.size,
        &StoreHashReader::new(store, origin),
    )?;
    Ok(TlogProof::new(index, hashes, &signed))
}
