//! The batching appender: many callers, one durable append per batch.
//!
//! Callers [`Appender::submit`] encoded entries and get a [`Ticket`]; the entry is
//! integrated with others in one store transaction (every 250 ms or 256 entries by
//! default, spec §11.4 "Cadence"), and only after that transaction commits does the
//! ticket resolve to the entry's index. An index is therefore never handed out for an
//! entry a crash could lose. The queue is bounded: when it is full, `submit` fails with
//! [`AppendError::Overloaded`] and a retry hint, which the HTTP layer turns into 503 with
//! `Retry-After`. Nothing that was accepted is ever dropped: a failed append puts its
//! batch back at the head of the queue, in order, for the next attempt.
//!
//! With [`Appender::sign_on_append`] the appender also signs a checkpoint of the tree
//! each batch makes and stores it in the batch's own transaction
//! ([`LogStore::append_checkpointed`]), after the same consistency proof the
//! [`Checkpointer`](crate::checkpointer::Checkpointer) makes: a caller waiting for a
//! checkpoint covering its entry (a receipt) then waits for no separate checkpoint
//! commit and no checkpoint interval. The batch and its checkpoint are durable together
//! or not at all, and the log still never signs a tree inconsistent with the last.
//!
//! [`Appender::step`] integrates one batch synchronously and [`Appender::flush`] drains
//! the queue, so tests and the demo drive the appender deterministically; [`Appender::run`]
//! is the background loop a serving node uses.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use caravan_store::log::{Appended, Hash, LogBatch, LogStore, StoreHashReader, StoredCheckpoint};
use caravan_store::{Conflict, StoreError};
use caravan_tlog::checkpoint::Checkpoint;
use caravan_tlog::note::Ed25519Signer;
use caravan_tlog::rfc6962::{self, HashReadError, HashReader, NodeId};
use tokio::sync::{Notify, oneshot, watch};

use crate::checkpointer::{CheckpointerError, check_consistent};

/// Largest entry an entry bundle can carry.
pub const MAX_ENTRY_SIZE: usize = caravan_tlog::tiles::MAX_ENTRY_SIZE;

/// Batching and back-pressure settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppenderConfig {
    /// Most entries per batch (Tessera's default: 256).
    pub max_batch: usize,
    /// Longest an entry waits for its batch to fill (Tessera's default: 250 ms).
    pub max_delay: Duration,
    /// Most entries waiting; beyond this `submit` answers overloaded (Tessera: 4,096).
    pub max_pending: usize,
    /// The retry hint given to overloaded callers.
    pub retry_after: Duration,
}

impl Default for AppenderConfig {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_delay: Duration::from_millis(250),
            max_pending: 4096,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Why an entry was not (yet) appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The queue is full; nothing was accepted. Retry after the hint.
    #[error("log is overloaded; retry after {retry_after:?}")]
    Overloaded {
        /// When to retry.
        retry_after: Duration,
    },
    /// The entry is over 65,535 bytes.
    #[error("entry is {0} bytes; at most 65535 allowed")]
    TooLarge(usize),
    /// The store failed; the batch stays queued.
    #[error("log store failed: {0}")]
    Store(#[from] StoreError),
    /// A stored node hash could not be read; the batch stays queued.
    #[error("reading stored hashes failed: {0}")]
    Hashes(#[from] HashReadError),
    /// The checkpoint of the batch could not be signed (the stored tree does not extend
    /// the last signed checkpoint, or signing failed); the batch stays queued.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointerError),
    /// The appender was dropped before the entry was integrated.
    #[error("the appender stopped")]
    Stopped,
}

struct Pending {
    entry: Vec<u8>,
    leaf: Hash,
    reply: oneshot::Sender<u64>,
}

struct Inner {
    store: Arc<dyn LogStore>,
    origin: String,
    config: AppenderConfig,
    queue: Mutex<VecDeque<Pending>>,
    /// One integration at a time; the store's size check backs this up across processes.
    integrating: Mutex<u64>,
    wake: Notify,
    integrated: watch::Sender<u64>,
    checkpointed: watch::Sender<u64>,
    /// Set by [`Appender::sign_on_append`]: the log key that signs each batch's tree.
    signer: OnceLock<Ed25519Signer>,
    /// The stored tree's right edge as the last batch left it; only touched while
    /// `integrating` is held.
    edge: Mutex<Option<Edge>>,
}

/// The roots of the complete subtrees that make up the stored tree of `size` entries
/// ([`rfc6962::tree_hash_indices`]): all a batch needs to compute the nodes it adds and
/// the new root, so with it in memory a batch reads no stored hash.
///
/// Why it may be trusted: it is derived only by extending itself with the hashes the
/// batch stores in the same transaction, and dropped whenever a batch is not stored
/// (including the size conflict a second writer causes). `verified` says the edge
/// descends from one that was checked against the last signed checkpoint with a
/// consistency proof over the stored hashes, as the checkpointer checks; only then is a
/// checkpoint of its tree signed without that proof. Every tree it gives extends the
/// verified one by construction, so the log still never signs a tree inconsistent with
/// the last.
struct Edge {
    size: u64,
    hashes: HashMap<NodeId, Hash>,
    verified: bool,
}

/// A handle to one log's appender; clones share the queue.
#[derive(Clone)]
pub struct Appender {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("origin", &self.inner.origin)
            .field("size", &self.size())
            .field("pending", &self.pending())
            .finish()
    }
}

/// A submitted entry; resolves to its index once the batch is durable.
#[derive(Debug)]
pub struct Ticket {
    reply: oneshot::Receiver<u64>,
}

impl Ticket {
    /// The entry's index, once its batch is stored.
    pub async fn index(self) -> Result<u64, AppendError> {
        self.reply.await.map_err(|_| AppendError::Stopped)
    }

    /// The index if the batch is already stored, without waiting.
    pub fn try_index(&mut self) -> Option<u64> {
        self.reply.try_recv().ok()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data in a valid state, so the
    // poison flag carries no information worth failing for.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Appender {
    /// Opens (creating if needed) the log `origin` and starts from its stored size.
    pub fn open(
        store: Arc<dyn LogStore>,
        origin: &str,
        config: AppenderConfig,
    ) -> Result<Self, AppendError> {
        let head = store.open_log(origin)?;
        let checkpointed = head.checkpoint.as_ref().map_or(0, |c| c.size);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                origin: origin.to_owned(),
                config: AppenderConfig {
                    max_batch: config.max_batch.max(1),
                    ..config
                },
                queue: Mutex::new(VecDeque::new()),
                integrating: Mutex::new(head.size),
                wake: Notify::new(),
                integrated: watch::Sender::new(head.size),
                checkpointed: watch::Sender::new(checkpointed),
                signer: OnceLock::new(),
                edge: Mutex::new(None),
            }),
        })
    }

    /// From now on, signs a checkpoint of the tree each batch makes with `signer` (the
    /// log key, named by the origin) and stores it in the batch's transaction. Set once;
    /// a second call is ignored.
    pub fn sign_on_append(&self, signer: Ed25519Signer) {
        let _ = self.inner.signer.set(signer);
    }

    /// Whether batches are checkpointed as they are integrated.
    pub fn signs_on_append(&self) -> bool {
        self.inner.signer.get().is_some()
    }

    /// Holds off integration (for the checkpointer: one signer of this log at a time).
    pub(crate) fn hold(&self) -> std::sync::MutexGuard<'_, u64> {
        lock(&self.inner.integrating)
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The store the log lives in.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    /// The settings.
    pub fn config(&self) -> AppenderConfig {
        self.inner.config
    }

    /// Entries stored so far (the tree size).
    pub fn size(&self) -> u64 {
        *self.inner.integrated.borrow()
    }

    /// Entries accepted but not yet stored.
    pub fn pending(&self) -> usize {
        lock(&self.inner.queue).len()
    }

    /// Queues an encoded entry. Fails at once, accepting nothing, if the entry is too
    /// large or the queue is full.
    pub fn submit(&self, entry: Vec<u8>) -> Result<Ticket, AppendError> {
        if entry.len() > MAX_ENTRY_SIZE {
            return Err(AppendError::TooLarge(entry.len()));
        }
        let (reply, receiver) = oneshot::channel();
        let leaf = rfc6962::leaf_hash(&entry);
        {
            let mut queue = lock(&self.inner.queue);
            if queue.len() >= self.inner.config.max_pending {
                return Err(AppendError::Overloaded {
                    retry_after: self.inner.config.retry_after,
                });
            }
            queue.push_back(Pending { entry, leaf, reply });
        }
        self.inner.wake.notify_one();
        Ok(Ticket { reply: receiver })
    }

    /// Integrates one batch (up to `max_batch` entries) durably and resolves its tickets.
    /// Returns how many entries were stored. Blocking: call it off the async workers.
    pub fn step(&self) -> Result<usize, AppendError> {
        let mut size = lock(&self.inner.integrating);
        let batch = self.take_batch();
        if batch.is_empty() {
            return Ok(0);
        }
        let sign = self.signs_on_append();
        let stored = self.prepare(*size, &batch, &[], sign).and_then(|prepared| {
            let store = self.inner.store.as_ref();
            let log = prepared.batch(&self.inner.origin, *size);
            let appended = match log.checkpoint {
                None => store.append(log.origin, *size, log.entries, log.leaf_hashes, log.nodes),
                Some(checkpoint) => store.append_checkpointed(
                    log.origin,
                    *size,
                    log.entries,
                    log.leaf_hashes,
                    log.nodes,
                    checkpoint,
                ),
            }?;
            let signed = prepared.checkpoint.as_ref().map(|c| c.size);
            Ok((appended.size, signed, prepared.edge))
        });
        match stored {
            Ok((new_size, signed, edge)) => {
                let n = batch.len();
                self.keep_edge(edge, new_size);
                self.stored(&mut size, new_size, signed, batch);
                Ok(n)
            }
            Err(err) => Err(self.not_stored(&mut size, batch, err)),
        }
    }

    /// Integrates the queued batch and then `extra`, in a transaction `commit` makes:
    /// `commit` must store the prepared append (with its checkpoint) together with its
    /// own writes, all or nothing, and answer `Ok(None)` when it wrote nothing because
    /// its own writes were refused. Used by the exchange, so that a received message's
    /// inbox row and its `msg_in` entry commit together. On success the queued entries'
    /// tickets resolve and the index of `extra`'s first entry is returned with `commit`'s
    /// answer; otherwise the queued entries stay queued, in order. Blocking.
    ///
    /// `checkpoint` asks for a signed checkpoint of the batch's tree in the same
    /// transaction (when the appender signs on append): the caller has a waiter for it,
    /// such as a receipt for a `msg_in` entry. Without it, and with nothing taken from
    /// the queue (whose callers may be waiting), the batch is left for the next signed
    /// batch or the checkpointer's tick: a signature, a consistency check and a
    /// checkpoint row saved where nobody waits.
    pub fn step_with<R>(
        &self,
        extra: &[Vec<u8>],
        checkpoint: bool,
        commit: impl FnOnce(&mut Staged<'_>) -> Result<Option<(Appended, R)>, StoreError>,
    ) -> Result<Option<(u64, R)>, AppendError> {
        if let Some(large) = extra.iter().find(|e| e.len() > MAX_ENTRY_SIZE) {
            return Err(AppendError::TooLarge(large.len()));
        }
        let mut size = lock(&self.inner.integrating);
        let batch = self.take_batch();
        let sign = self.signs_on_append() && (checkpoint || !batch.is_empty());
        let first_extra = *size + batch.len() as u64;
        let stored = self
            .prepare(*size, &batch, extra, sign)
            .and_then(|prepared| {
                let mut staged = Staged {
                    appender: self,
                    expected_size: *size,
                    first_extra,
                    prepared,
                    proof_hashes: std::cell::OnceCell::new(),
                };
                let committed = commit(&mut staged)?;
                let prepared = staged.prepared;
                let signed = prepared.checkpoint.as_ref().map(|c| c.size);
                Ok(committed.map(|(appended, r)| (appended.size, signed, r, prepared.edge)))
            });
        match stored {
            Ok(Some((new_size, signed, r, edge))) => {
                self.keep_edge(edge, new_size);
                self.stored(&mut size, new_size, signed, batch);
                Ok(Some((first_extra, r)))
            }
            Ok(None) => {
                self.requeue(batch);
                Ok(None)
            }
            Err(err) => Err(self.not_stored(&mut size, batch, err)),
        }
    }

    /// Keeps the right edge a stored batch left, for the next batch.
    fn keep_edge(&self, edge: Edge, new_size: u64) {
        if edge.size == new_size {
            *lock(&self.inner.edge) = Some(edge);
        }
    }

    /// Up to `max_batch` queued entries, oldest first.
    fn take_batch(&self) -> Vec<Pending> {
        let mut queue = lock(&self.inner.queue);
        let n = queue.len().min(self.inner.config.max_batch);
        queue.drain(..n).collect()
    }

    /// Puts a batch that was not stored back at the head of the queue, in order.
    fn requeue(&self, batch: Vec<Pending>) {
        let mut queue = lock(&self.inner.queue);
        for pending in batch.into_iter().rev() {
            queue.push_front(pending);
        }
    }

    /// A batch is durable at `new_size`: publishes the size (and the size of the
    /// checkpoint it stored, if any) and resolves its tickets.
    fn stored(&self, size: &mut u64, new_size: u64, signed: Option<u64>, batch: Vec<Pending>) {
        let first = *size;
        *size = new_size;
        self.inner.integrated.send_replace(new_size);
        if let Some(signed) = signed {
            self.checkpoint_published(signed);
        }
        for (offset, pending) in batch.into_iter().enumerate() {
            // A caller that stopped waiting still has its entry logged.
            let _ = pending.reply.send(first + offset as u64);
        }
    }

    /// A batch failed: back in the queue; a size conflict moves the size to the stored one.
    fn not_stored(&self, size: &mut u64, batch: Vec<Pending>, err: AppendError) -> AppendError {
        self.requeue(batch);
        if let AppendError::Store(StoreError::Conflict(Conflict::LogSize { stored, .. })) = &err {
            // Another writer appended; the stored tree is the truth.
            *size = *stored;
            self.inner.integrated.send_replace(*stored);
        }
        err
    }

    /// The hashes (and, when `sign`, the signed checkpoint) of `batch` and then `extra`
    /// appended to the stored tree of `size` entries, and the right edge of the tree
    /// they make. Reads stored hashes only when no edge of `size` is kept (the first
    /// batch, or after a failed one), and checks consistency with the last signed
    /// checkpoint only when signing from an edge not yet verified.
    fn prepare(
        &self,
        size: u64,
        batch: &[Pending],
        extra: &[Vec<u8>],
        sign: bool,
    ) -> Result<Prepared, AppendError> {
        let leaves: Vec<Hash> = batch
            .iter()
            .map(|p| p.leaf)
            .chain(extra.iter().map(|e| rfc6962::leaf_hash(e)))
            .collect();
        let entries: Vec<Vec<u8>> = batch
            .iter()
            .map(|p| p.entry.clone())
            .chain(extra.iter().cloned())
            .collect();
        let store = self.inner.store.as_ref();
        let origin = self.inner.origin.as_str();
        let kept = lock(&self.inner.edge).take().filter(|e| e.size == size);
        let verified = kept.as_ref().is_some_and(|e| e.verified);
        let base = Overlay {
            base: StoreHashReader::new(store, origin),
            added: kept.map(|e| e.hashes).unwrap_or_default(),
        };
        let nodes = rfc6962::nodes_to_store(size, &leaves, &base)?;
        let new_size = size + leaves.len() as u64;
        // The tree as it will be: the edge (or the stored hashes) plus the batch's nodes.
        let grown = Overlay {
            base: &base,
            added: nodes.iter().copied().collect::<HashMap<_, _>>(),
        };
        let edge_ids = rfc6962::tree_hash_indices(new_size);
        let edge_hashes: HashMap<NodeId, Hash> = edge_ids
            .iter()
            .copied()
            .zip(grown.nodes(&edge_ids)?)
            .collect();
        let mut edge = Edge {
            size: new_size,
            hashes: edge_hashes,
            verified,
        };
        let Some(signer) = self.inner.signer.get().filter(|_| sign) else {
            drop(grown);
            return Ok(Prepared {
                entries,
                leaves,
                signed_nodes: nodes.len(),
                nodes,
                checkpoint: None,
                edge,
                old_edge: base.added,
            });
        };
        let root = rfc6962::tree_hash(
            new_size,
            &Overlay {
                base: StoreHashReader::new(store, origin),
                added: &edge.hashes,
            },
        )?;
        if !edge.verified {
            if let Some(previous) = store.open_log(origin)?.checkpoint {
                check_consistent(&previous, new_size, &root, &grown)?;
            }
            edge.verified = true;
        }
        let signed = Checkpoint::new(origin, new_size, root)
            .sign(&[signer])
            .map_err(CheckpointerError::from)?;
        let checkpoint = StoredCheckpoint {
            size: new_size,
            root,
            note: signed.to_bytes(),
        };
        drop(grown);
        Ok(Prepared {
            entries,
            leaves,
            signed_nodes: nodes.len(),
            nodes,
            checkpoint: Some(checkpoint),
            edge,
            old_edge: base.added,
        })
    }

    /// Integrates everything queued; returns the tree size. Stops at the first error,
    /// leaving the rest queued.
    pub fn flush(&self) -> Result<u64, AppendError> {
        while self.step()? > 0 {}
        Ok(self.size())
    }

    /// Called by the checkpointer when a checkpoint of `size` is stored.
    pub fn checkpoint_published(&self, size: u64) {
        self.inner.checkpointed.send_if_modified(|current| {
            let grew = size > *current;
            if grew {
                *current = size;
            }
            grew
        });
    }

    /// Size of the latest signed checkpoint this appender knows of.
    pub fn checkpointed_size(&self) -> u64 {
        *self.inner.checkpointed.borrow()
    }

    /// Waits until a signed checkpoint covers `index`; returns that checkpoint's size.
    pub async fn wait_for_checkpoint(&self, index: u64) -> Result<u64, AppendError> {
        let mut receiver = self.inner.checkpointed.subscribe();
        let size = receiver
            .wait_for(|size| *size > index)
            .await
            .map_err(|_| AppendError::Stopped)?;
        Ok(*size)
    }

    /// The background loop: integrates a batch when `max_batch` entries wait or the
    /// oldest has waited `max_delay`, until `shutdown` resolves; then drains what is left.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if self.pending() == 0 {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = self.inner.wake.notified() => {}
                }
            }
            let deadline = tokio::time::Instant::now() + self.inner.config.max_delay;
            while self.pending() < self.inner.config.max_batch {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => break,
                    () = self.inner.wake.notified() => {}
                }
            }
            if let Err(err) = self.step_blocking().await {
                tracing::warn!(origin = %self.inner.origin, error = %err, "log append failed; batch kept");
                tokio::time::sleep(self.inner.config.retry_after).await;
            }
        }
        if let Err(err) = self.flush_blocking().await {
            tracing::warn!(origin = %self.inner.origin, error = %err, "final log flush failed");
        }
    }

    /// [`Appender::step`] on the blocking pool.
    pub async fn step_blocking(&self) -> Result<usize, AppendError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.step())
            .await
            .map_err(|_| AppendError::Stopped)?
    }

    /// [`Appender::flush`] on the blocking pool.
    pub async fn flush_blocking(&self) -> Result<u64, AppendError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.flush())
            .await
            .map_err(|_| AppendError::Stopped)?
    }
}

/// A batch ready to store: entries, hashes and, when signing on append, its checkpoint.
struct Prepared {
    entries: Vec<Vec<u8>>,
    leaves: Vec<Hash>,
    nodes: Vec<(NodeId, Hash)>,
    /// How many of `nodes` make the signed tree (the rest come from trailing entries).
    signed_nodes: usize,
    checkpoint: Option<StoredCheckpoint>,
    /// The right edge of the tree the batch makes.
    edge: Edge,
    /// The right edge of the stored tree the batch extends (what was kept of it).
    old_edge: HashMap<NodeId, Hash>,
}

/// A batch of [`Appender::step_with`] before it is stored: where the caller's entries
/// go, the signed checkpoint that will cover them, inclusion proofs against it, and
/// entries that depend on those (a receipt's `receipt_out`) appended after the signed
/// tree, in the same transaction.
pub struct Staged<'a> {
    appender: &'a Appender,
    expected_size: u64,
    first_extra: u64,
    prepared: Prepared,
    /// The hashes proofs under the checkpoint read: the old edge with the signed tree's
    /// new nodes over it, gathered once per batch on the first proof.
    proof_hashes: std::cell::OnceCell<HashMap<NodeId, Hash>>,
}

impl Staged<'_> {
    /// The index the caller's first entry gets.
    pub fn first_extra(&self) -> u64 {
        self.first_extra
    }

    /// The signed checkpoint stored with the batch, if it is signed: it covers the
    /// queued entries and the caller's, not the trailing ones.
    pub fn checkpoint(&self) -> Option<&StoredCheckpoint> {
        self.prepared.checkpoint.as_ref()
    }

    /// The inclusion proof of entry `index` in the tree of the batch's checkpoint, from
    /// the kept edge and the batch's own hashes (the store only for anything else).
    /// `None` when the batch is not signed or `index` is not under its checkpoint.
    pub fn inclusion_proof(&self, index: u64) -> Option<Result<Vec<Hash>, HashReadError>> {
        let checkpoint = self.prepared.checkpoint.as_ref()?;
        if index >= checkpoint.size {
            return None;
        }
        let inner = &self.appender.inner;
        let hashes = self.proof_hashes.get_or_init(|| {
            let mut hashes = self.prepared.old_edge.clone();
            hashes.extend(
                self.prepared.nodes[..self.prepared.signed_nodes]
                    .iter()
                    .copied(),
            );
            hashes
        });
        let reader = Overlay {
            base: StoreHashReader::new(inner.store.as_ref(), &inner.origin),
            added: hashes,
        };
        Some(
            rfc6962::inclusion_proof(index, checkpoint.size, &reader).map_err(|e| {
                HashReadError::Backend(Box::new(std::io::Error::other(e.to_string())))
            }),
        )
    }

    /// Appends `entries` after the signed tree, in the same transaction; the next
    /// signed checkpoint covers them, not this batch's.
    pub fn append_tail(&mut self, entries: &[Vec<u8>]) -> Result<(), AppendError> {
        if let Some(large) = entries.iter().find(|e| e.len() > MAX_ENTRY_SIZE) {
            return Err(AppendError::TooLarge(large.len()));
        }
        if entries.is_empty() {
            return Ok(());
        }
        let inner = &self.appender.inner;
        let prepared = &mut self.prepared;
        let leaves: Vec<Hash> = entries.iter().map(|e| rfc6962::leaf_hash(e)).collect();
        let size = prepared.edge.size;
        let base = Overlay {
            base: StoreHashReader::new(inner.store.as_ref(), &inner.origin),
            added: std::mem::take(&mut prepared.edge.hashes),
        };
        let nodes = rfc6962::nodes_to_store(size, &leaves, &base)?;
        let new_size = size + leaves.len() as u64;
        let ids = rfc6962::tree_hash_indices(new_size);
        let hashes = {
            let grown = Overlay {
                base: &base,
                added: nodes.iter().copied().collect::<HashMap<_, _>>(),
            };
            grown.nodes(&ids)?
        };
        prepared.edge.hashes = ids.into_iter().zip(hashes).collect();
        prepared.edge.size = new_size;
        prepared.entries.extend(entries.iter().cloned());
        prepared.leaves.extend(leaves);
        prepared.nodes.extend(nodes);
        Ok(())
    }

    /// The batch to store, in the caller's transaction.
    pub fn batch(&self) -> LogBatch<'_> {
        self.prepared
            .batch(&self.appender.inner.origin, self.expected_size)
    }
}

impl Prepared {
    fn batch<'a>(&'a self, origin: &'a str, expected_size: u64) -> LogBatch<'a> {
        LogBatch {
            origin,
            expected_size,
            entries: &self.entries,
            leaf_hashes: &self.leaves,
            nodes: &self.nodes,
            checkpoint: self.checkpoint.as_ref(),
        }
    }
}

/// Hashes laid over a reader: a batch's new ones over the stored tree (the tree a batch
/// is about to make, readable before it is stored), or the kept right edge over the
/// stored hashes. Only what is not laid over is read from `base`.
struct Overlay<R, M = HashMap<NodeId, Hash>> {
    base: R,
    added: M,
}

impl<R: HashReader, M: Borrow<HashMap<NodeId, Hash>>> HashReader for Overlay<R, M> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError> {
        match self.added.borrow().get(&NodeId::new(level, index)) {
            Some(h) => Ok(*h),
            None => self.base.node(level, index),
        }
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, HashReadError> {
        let stored: Vec<NodeId> = ids
            .iter()
            .filter(|id| !self.added.borrow().contains_key(id))
            .copied()
            .collect();
        let mut fetched = if stored.is_empty() {
            Vec::new().into_iter()
        } else {
            self.base.nodes(&stored)?.into_iter()
        };
        ids.iter()
            .map(|id| match self.added.borrow().get(id) {
                Some(h) => Ok(*h),
                None => fetched.next().ok_or(HashReadError::Missing {
                    level: id.level,
                    index: id.index,
                }),
            })
            .collect()
    }
}
