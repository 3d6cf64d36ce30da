//! Signing checkpoints, and refusing to sign one that contradicts the last.
//!
//! A log must never sign two checkpoints that are inconsistent with each other (spec
//! §11.4): that is exactly the split view witnesses exist to catch. So before signing, the
//! checkpointer recomputes the root from the stored hashes and proves, with a consistency
//! proof built from the same store, that the new tree extends the last signed `(size,
//! root)`. A store whose hashes were altered fails that proof and the checkpointer stops
//! with [`CheckpointerError::Inconsistent`]: failing closed is better than signing a lie.
//! It signs whenever the tree grew, and re-signs an unchanged tree after `resign_every`
//! so witnesses' cosignatures stay fresh.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use caravan_store::StoreError;
use caravan_store::log::{LogStore, StoreHashReader, StoredCheckpoint};
use caravan_tlog::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use caravan_tlog::note::Ed25519Signer;
use caravan_tlog::rfc6962::{self, EMPTY_ROOT, HashReadError, HashReader};

use crate::appender::Appender;

/// Why no checkpoint was signed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointerError {
    /// The store failed.
    #[error("log store failed: {0}")]
    Store(#[from] StoreError),
    /// Stored hashes could not be read.
    #[error("reading stored hashes failed: {0}")]
    Hashes(#[from] HashReadError),
    /// The stored tree does not extend the last signed checkpoint. The log must stop.
    #[error(
        "refusing to sign: the stored tree of size {size} is not consistent with the signed checkpoint of size {signed_size} ({reason})"
    )]
    Inconsistent {
        /// Size of the last signed checkpoint.
        signed_size: u64,
        /// Current stored size.
        size: u64,
        /// What failed.
        reason: String,
    },
    /// Signing failed.
    #[error("signing the checkpoint failed: {0}")]
    Sign(#[from] CheckpointError),
}

/// Signs checkpoints of one log.
pub struct Checkpointer {
    store: Arc<dyn LogStore>,
    origin: String,
    signer: Ed25519Signer,
    resign_every: Duration,
    last_signed_ms: Mutex<Option<u64>>,
    appender: Option<Appender>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("origin", &self.origin)
            .field("resign_every", &self.resign_every)
            .finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// A checkpointer for `origin`, signing with `signer` (whose name must be the origin).
    pub fn new(
        store: Arc<dyn LogStore>,
        origin: &str,
        signer: Ed25519Signer,
        resign_every: Duration,
    ) -> Self {
        Self {
            store,
            origin: origin.to_owned(),
            signer,
            resign_every,
            last_signed_ms: Mutex::new(None),
            appender: None,
        }
    }

    /// Tells `appender` about each new checkpoint, so its waiters wake.
    pub fn notify(mut self, appender: Appender) -> Self {
        self.appender = Some(appender);
        self
    }

    /// Signs and stores a checkpoint if the tree grew since the last one, or if the last
    /// was signed `resign_every` ago (or before this process started). Returns the new
    /// checkpoint, or `None` when there was nothing to do. Blocking.
    pub fn step(&self, now_ms: u64) -> Result<Option<SignedCheckpoint>, CheckpointerError> {
        let mut last_signed = self
            .last_signed_ms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // An appender that signs as it integrates is the log's other signer: hold it off
        // so the two never interleave.
        let _integration = self.appender.as_ref().map(Appender::hold);
        let head = self.store.open_log(&self.origin)?;
        let size = head.size;
        if let (Some(previous), Some(at)) = (&head.checkpoint, *last_signed)
            && previous.size == size
            && now_ms.saturating_sub(at) < self.resign_every.as_millis() as u64
        {
            return Ok(None);
        }
        let reader = StoreHashReader::new(self.store.as_ref(), &self.origin);
        let root = if size == 0 {
            EMPTY_ROOT
        } else {
            rfc6962::tree_hash(size, &reader)?
        };
        if let Some(previous) = &head.checkpoint {
            check_consistent(previous, size, &root, &reader)?;
        }
        let signed = Checkpoint::new(&self.origin, size, root).sign(&[&self.signer])?;
        self.store.save_checkpoint(
            &self.origin,
            &StoredCheckpoint {
                size,
                root,
                note: signed.to_bytes(),
            },
        )?;
        *last_signed = Some(now_ms);
        if let Some(appender) = &self.appender {
            appender.checkpoint_published(size);
        }
        Ok(Some(signed))
    }
}

/// Proves that the tree of `size` with `root`, whose hashes `reader` gives, extends the
/// signed `previous` checkpoint; the stored hashes must also still give `previous`'s root.
pub(crate) fn check_consistent<R: HashReader + ?Sized>(
    previous: &StoredCheckpoint,
    size: u64,
    root: &rfc6962::Hash,
    reader: &R,
) -> Result<(), CheckpointerError> {
    let inconsistent = |reason: String| CheckpointerError::Inconsistent {
        signed_size: previous.size,
        size,
        reason,
    };
    if previous.size > size {
        return Err(inconsistent("the stored tree is smaller".into()));
    }
    if previous.size == size {
        if previous.root != *root {
            return Err(inconsistent("same size, different root".into()));
        }
        return Ok(());
    }
    if previous.size == 0 {
        return if previous.root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(inconsistent(
                "the signed empty tree has a non-empty root".into(),
            ))
        };
    }
    // The signed root itself must still be what the store says, or the proof below
    // would be checked against a root the store no longer backs.
    let stored_old_root = rfc6962::tree_hash(previous.size, reader)?;
    if stored_old_root != previous.root {
        return Err(inconsistent(
            "the stored hashes no longer give the signed root".into(),
        ));
    }
    let proof = rfc6962::consistency_proof(previous.size, size, reader)
        .map_err(|e| inconsistent(e.to_string()))?;
    rfc6962::verify_consistency(previous.size, size, &previous.root, root, &proof)
        .map_err(|e| inconsistent(e.to_string()))
}
