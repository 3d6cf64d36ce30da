//! Group commit of the exchange's store writes.
//!
//! Why: every promise of the exchange is a durable write (the outbox row before `send`
//! returns, the inbox row before the receipt, the receipt before it is answered, the
//! delivery state once a receipt arrives). Done one fsynced transaction each, a message
//! costs about six commits and the disk, not the cryptography, sets the rate. Writes of
//! messages that arrive at the same time are independent, so they can share a commit:
//! callers queue a write and wait; whoever finds no batch under way becomes the leader,
//! takes everything queued, hands it to [`ExchangeStore::exchange_batch`] (one
//! transaction, one savepoint per write) and answers each caller with its own result,
//! then takes the next batch that queued up meanwhile. No timer: a batch is whatever
//! arrived while the previous commit was on disk, so a lone write pays no extra delay
//! and a busy node fills its batches by itself.
//!
//! Guarantees kept: a caller's answer comes only after the commit holding its write is
//! durable; writes commit in queue order, so a conversation's writes (one in flight at a
//! time) keep their order; a refused write (duplicate id, wrong state) is refused alone.
//!
//! [`ExchangeStore::exchange_batch`]: caravan_store::exchange::ExchangeStore::exchange_batch

use std::sync::{Arc, Mutex, mpsc};

use caravan_store::exchange::{ExchangeWrite, WriteResult};
use caravan_store::{Store, StoreError};

/// Most writes in one transaction.
pub const MAX_BATCH: usize = 512;

enum Reply {
    Async(tokio::sync::oneshot::Sender<WriteResult>),
    Sync(mpsc::Sender<WriteResult>),
}

impl Reply {
    fn send(self, result: WriteResult) {
        // A caller that gave up waiting (its task was cancelled) needs no answer; its
        // write is committed all the same.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
            Reply::Sync(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

#[derive(Default)]
struct Queue {
    writes: Vec<(ExchangeWrite, Reply)>,
    leading: bool,
}

/// The group-commit front of one store.
pub struct GroupCommit {
    store: Arc<dyn Store>,
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

/// The same error again, for every caller of a failed batch.
fn copy_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(c) => StoreError::Conflict(c.clone()),
        StoreError::Unavailable(s) => StoreError::Unavailable(s.clone()),
        StoreError::Other(s) => StoreError::Other(s.clone()),
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable("the group-commit worker stopped".into())
}

impl GroupCommit {
    /// A group-commit front for `store`.
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            store,
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Queues `write`; true if the caller must start a leader.
    fn push(&self, write: ExchangeWrite, reply: Reply) -> bool {
        let mut q = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        q.writes.push((write, reply));
        !std::mem::replace(&mut q.leading, true)
    }

    /// Commits queued batches until the queue is empty.
    fn lead(&self) {
        loop {
            let batch: Vec<(ExchangeWrite, Reply)> = {
                let mut q = self
                    .queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if q.writes.is_empty() {
                    q.leading = false;
                    return;
                }
                let n = q.writes.len().min(MAX_BATCH);
                q.writes.drain(..n).collect()
            };
            let (writes, replies): (Vec<ExchangeWrite>, Vec<Reply>) = batch.into_iter().unzip();
            match self.store.exchange_batch(&writes) {
                Ok(results) if results.len() == replies.len() => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        reply.send(result);
                    }
                }
                Ok(results) => {
                    let err = StoreError::Other(format!(
                        "exchange batch answered {} results for {} writes",
                        results.len(),
                        replies.len()
                    ));
                    replies
                        .into_iter()
                        .for_each(|r| r.send(Err(copy_error(&err))));
                }
                Err(err) => replies
                    .into_iter()
                    .for_each(|r| r.send(Err(copy_error(&err)))),
            }
        }
    }

    /// Writes durably, sharing the commit with concurrent writers. Blocking.
    pub fn write_blocking(self: &Arc<Self>, write: ExchangeWrite) -> WriteResult {
        let (tx, rx) = mpsc::channel();
        if self.push(write, Reply::Sync(tx)) {
            match tokio::runtime::Handle::try_current() {
                // Inside a runtime the leader is a pool thread of its own, so this caller
                // is answered as soon as its batch commits.
                Ok(handle) => {
                    let this = self.clone();
                    drop(handle.spawn_blocking(move || this.lead()));
                }
                // Without one (a CLI command) nobody else is writing: lead here.
                Err(_) => self.lead(),
            }
        }
        rx.recv().unwrap_or_else(|_| Err(gone()))
    }

    /// Writes durably, sharing the commit with concurrent writers.
    pub async fn write(self: &Arc<Self>, write: ExchangeWrite) -> WriteResult {
        self.enqueue(write).await
    }

    /// Writes `writes` durably, queued together (so, unless a batch fills up between
    /// them, in one transaction: one fsync for all of them), in order; one result each.
    pub async fn write_all(self: &Arc<Self>, writes: Vec<ExchangeWrite>) -> Vec<WriteResult> {
        let mut receivers = Vec::with_capacity(writes.len());
        let lead = {
            let mut q = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for write in writes {
                let (tx, rx) = tokio::sync::oneshot::channel();
                q.writes.push((write, Reply::Async(tx)));
                receivers.push(rx);
            }
            !std::mem::replace(&mut q.leading, true)
        };
        if lead {
            let this = self.clone();
            drop(tokio::task::spawn_blocking(move || this.lead()));
        }
        let mut results = Vec::with_capacity(receivers.len());
        for rx in receivers {
            results.push(rx.await.unwrap_or_else(|_| Err(gone())));
        }
        results
    }

    /// Queues `write` now (so it commits before any write queued after this call) and
    /// returns its durable result to await later: bookkeeping that must not wait in the
    /// latency path, yet must commit in order. Must be called inside a Tokio runtime.
    pub fn enqueue(
        self: &Arc<Self>,
        write: ExchangeWrite,
    ) -> impl std::future::Future<Output = WriteResult> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.push(write, Reply::Async(tx)) {
            let this = self.clone();
            drop(tokio::task::spawn_blocking(move || this.lead()));
        }
        async move { rx.await.unwrap_or_else(|_| Err(gone())) }
    }
}
