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
//! A write may carry the log entry that records it ([`GroupCommit::write_logged`]): a
//! received message's inbox row its `msg_in`, a sent message's index its `msg_out`, a
//! stored receipt its `receipt_out` or `receipt_in`. The leader asks the node's log appender to integrate the batch's entries
//! (after whatever the appender has queued) and stores them, their checkpoint, each
//! inbox row's log index and the batch's writes in **one** transaction
//! ([`ExchangeStore::exchange_batch_logged`]), instead of an exchange commit, a log commit
//! and an index commit. That is all or nothing, so when a write of the batch is refused
//! or finds its message already stored (a redelivery racing the first), the leader
//! commits the batch as before and those callers log their entries through the
//! appender's queue themselves.
//!
//! A received message goes one step further ([`GroupCommit::write_received`]): its
//! receipt is built in the leader once the batch's checkpoint is signed (the receipt
//! proves `msg_in` under that checkpoint), and stored with the inbox row in the same
//! transaction, its `receipt_out` entry appended after the signed tree. So a received
//! message costs one commit instead of two (the inbox row, then the receipt), and no
//! receipt leaves before everything it states is durable: one built for a commit that
//! fails is dropped and the caller receipts the message the old way.
//!
//! [`ExchangeStore::exchange_batch`]: caravan_store::exchange::ExchangeStore::exchange_batch
//! [`ExchangeStore::exchange_batch_logged`]: caravan_store::exchange::ExchangeStore::exchange_batch_logged

use std::sync::{Arc, Mutex, mpsc};

use caravan_log::appender::Appender;
use caravan_store::exchange::{ExchangeWrite, InboundRecord, LoggedBatch, WriteResult};
use caravan_store::{Store, StoreError};
use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::proof::TlogProof;

/// Most writes in one transaction.
pub const MAX_BATCH: usize = 512;

enum Reply {
    Async(tokio::sync::oneshot::Sender<WriteResult>),
    /// An inbound write with a `msg_in` entry: the result, and the entry's index when it
    /// was logged in the same commit.
    Logged(tokio::sync::oneshot::Sender<(WriteResult, Option<u64>)>),
    /// The same, for a blocking caller.
    LoggedSync(mpsc::Sender<(WriteResult, Option<u64>)>),
    /// A received message with its receipt builder: also the signed receipt, when it
    /// was built and stored in the same commit.
    Received(tokio::sync::oneshot::Sender<Received>),
}

/// What [`GroupCommit::write_received`] answers: the write's result, the `msg_in` index
/// when it was logged in the same commit, and the signed receipt when that commit also
/// stored it.
pub type Received = (WriteResult, Option<u64>, Option<Vec<u8>>);

/// Builds a received message's receipt inside the commit that stores the message, from
/// its `msg_in` index and a tlog-proof of it under the checkpoint signed in that commit;
/// `None` if it cannot (the caller then receipts after the commit, as before).
pub type ReceiptBuilder = Box<dyn FnOnce(u64, TlogProof) -> Option<BuiltReceipt> + Send>;

/// A receipt built in the leader.
#[derive(Debug)]
pub struct BuiltReceipt {
    /// The write that stores it (an [`ExchangeWrite::InboundReceipted`]).
    pub write: ExchangeWrite,
    /// Its `receipt_out` entry, logged after the signed tree in the same commit.
    pub entry: Vec<u8>,
    /// The signed receipt, answered once the commit is durable.
    pub receipt: Vec<u8>,
}

impl Reply {
    fn send(self, result: WriteResult, log_index: Option<u64>, receipt: Option<Vec<u8>>) {
        // A caller that gave up waiting (its task was cancelled) needs no answer; its
        // write is committed all the same.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
            Reply::Logged(tx) => {
                let _ = tx.send((result, log_index));
            }
            Reply::LoggedSync(tx) => {
                let _ = tx.send((result, log_index));
            }
            Reply::Received(tx) => {
                let _ = tx.send((result, log_index, receipt));
            }
        }
    }
}

/// A queued write: what to write, whom to answer, and the `msg_in` entry to log with it.
struct Queued {
    write: ExchangeWrite,
    reply: Reply,
    entry: Option<Vec<u8>>,
    receipt: Option<ReceiptBuilder>,
}

#[derive(Default)]
struct Queue {
    writes: Vec<Queued>,
    leading: bool,
}

/// The group-commit front of one store.
pub struct GroupCommit {
    store: Arc<dyn Store>,
    /// The node's log appender, for writes that log with their commit.
    log: Option<Appender>,
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
            log: None,
            queue: Mutex::new(Queue::default()),
        })
    }

    /// A group-commit front for `store` that logs received messages' `msg_in` entries
    /// through `log` (the appender of the node's log, in the same store) in the commit of
    /// their inbox rows.
    pub fn with_log(store: Arc<dyn Store>, log: Appender) -> Arc<Self> {
        Arc::new(Self {
            store,
            log: Some(log),
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Queues `write`; true if the caller must start a leader.
    fn push(
        &self,
        write: ExchangeWrite,
        reply: Reply,
        entry: Option<Vec<u8>>,
        receipt: Option<ReceiptBuilder>,
    ) -> bool {
        let mut q = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        q.writes.push(Queued {
            write,
            reply,
            entry,
            receipt,
        });
        !std::mem::replace(&mut q.leading, true)
    }

    /// Commits queued batches until the queue is empty.
    fn lead(&self) {
        loop {
            let batch: Vec<Queued> = {
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
            let mut writes = Vec::with_capacity(batch.len());
            // The entries to log, and the position in `writes` of each one's write.
            let mut entries = Vec::new();
            let mut builders = Vec::new();
            let mut replies = Vec::with_capacity(batch.len());
            for queued in batch {
                let logged = queued.entry.map(|entry| {
                    entries.push((writes.len(), entry));
                    builders.push(queued.receipt);
                    entries.len() - 1
                });
                writes.push(queued.write);
                replies.push((queued.reply, logged));
            }
            let committed = match self.commit_logged(&mut writes, &entries, builders) {
                Some((results, first, receipts)) => Ok((results, Some((first, receipts)))),
                None => self.commit_alone(writes, &entries).map(|r| (r, None)),
            };
            match committed {
                Ok((results, mut logged_at)) if results.len() == replies.len() => {
                    for ((reply, logged), result) in replies.into_iter().zip(results) {
                        let (log_index, receipt) = match (&mut logged_at, logged) {
                            (Some((first, receipts)), Some(k)) => {
                                (Some(*first + k as u64), receipts[k].take())
                            }
                            _ => (None, None),
                        };
                        reply.send(result, log_index, receipt);
                    }
                }
                Ok((results, _)) => {
                    let err = StoreError::Other(format!(
                        "exchange batch answered {} results for {} writes",
                        results.len(),
                        replies.len()
                    ));
                    replies
                        .into_iter()
                        .for_each(|(r, _)| r.send(Err(copy_error(&err)), None, None));
                }
                Err(err) => replies
                    .into_iter()
                    .for_each(|(r, _)| r.send(Err(copy_error(&err)), None, None)),
            }
        }
    }

    /// Commits `writes` with `entries` logged (after the appender's queue), in one
    /// transaction; each entry comes with the position of its write, an inbound message
    /// whose row is given the entry's index. Returns the writes' results and the index
    /// of the first entry; `None` when there is nothing to log or nothing was written (a
    /// write refused or a duplicate, the append refused, the store failed), and the
    /// caller commits `writes` alone.
    ///
    /// `builders` (one per entry) build the receipts of received messages in the same
    /// transaction: after the batch's checkpoint is signed, each gets its `msg_in` index
    /// and a tlog-proof under that checkpoint; its receipt is stored with the inbox row
    /// and its `receipt_out` entry logged after the signed tree. So a received message
    /// costs one commit, and its receipt, its `msg_in`, the checkpoint covering it and
    /// its `receipt_out` become durable together. The receipts come back aligned with
    /// `entries`; none is answered unless the commit succeeds.
    #[allow(clippy::type_complexity)]
    fn commit_logged(
        &self,
        writes: &mut Vec<ExchangeWrite>,
        entries: &[(usize, Vec<u8>)],
        mut builders: Vec<Option<ReceiptBuilder>>,
    ) -> Option<(Vec<WriteResult>, u64, Vec<Option<Vec<u8>>>)> {
        let log = self.log.as_ref().filter(|_| !entries.is_empty())?;
        let n = writes.len();
        let store = &self.store;
        let bytes: Vec<Vec<u8>> = entries.iter().map(|(_, e)| e.clone()).collect();
        // Only a received message's receipt waits for a checkpoint covering its entry;
        // msg_out, receipt_in and receipt_out entries are signed by the next batch that
        // has one, or by the checkpointer's tick.
        let checkpoint = entries
            .iter()
            .any(|(at, _)| matches!(writes[*at], ExchangeWrite::AcceptInbound(_)));
        let stepped = log.step_with(&bytes, checkpoint, |staged| {
            let first = staged.first_extra();
            // A received message's row is given its msg_in index, in the same transaction
            // (after its insert); a sent message's msg_out index goes into its
            // `OutboundLogged`; other writes' entries (receipt_out, receipt_in) are not
            // indexed in a row.
            let mut indexed = Vec::new();
            for ((at, _), index) in entries.iter().zip(first..) {
                match &mut writes[*at] {
                    ExchangeWrite::AcceptInbound(record) => indexed.push(logged_at(record, index)),
                    ExchangeWrite::OutboundLogged { log_index, .. } => *log_index = index,
                    ExchangeWrite::EnqueueOutbound { record, .. } => record.log_index = Some(index),
                    _ => {}
                }
            }
            writes.extend(indexed);
            let mut receipts: Vec<Option<Vec<u8>>> = vec![None; entries.len()];
            let signed = staged
                .checkpoint()
                .and_then(|c| SignedCheckpoint::parse(&c.note).ok());
            if let Some(signed) = &signed {
                let mut tail = Vec::new();
                for (k, builder) in builders.iter_mut().enumerate() {
                    let Some(build) = builder.take() else {
                        continue;
                    };
                    let index = first + k as u64;
                    let Some(Ok(hashes)) = staged.inclusion_proof(index) else {
                        continue;
                    };
                    if let Some(built) = build(index, TlogProof::new(index, hashes, signed)) {
                        writes.push(built.write);
                        tail.push(built.entry);
                        receipts[k] = Some(built.receipt);
                    }
                }
                staged
                    .append_tail(&tail)
                    .map_err(|e| StoreError::Other(format!("receipt_out entries: {e}")))?;
            }
            let stored = store.exchange_batch_logged(writes, &staged.batch());
            writes.truncate(n);
            match stored? {
                LoggedBatch::Committed(mut results, appended) => {
                    results.truncate(n);
                    Ok(Some((appended, (results, first, receipts))))
                }
                LoggedBatch::Refused => Ok(None),
            }
        });
        match stepped {
            Ok(Some((_, committed))) => Some(committed),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "logging received messages with their commit failed; committing them alone");
                None
            }
        }
    }

    /// Commits `writes` without their log entries (their callers log them through the
    /// appender's queue), except an `OutboundLogged` that was to take its entry's index:
    /// it has no index to record yet, so it is not written and its caller is told so.
    fn commit_alone(
        &self,
        mut writes: Vec<ExchangeWrite>,
        entries: &[(usize, Vec<u8>)],
    ) -> Result<Vec<WriteResult>, StoreError> {
        // A message queued with its msg_out is stored without an index (the attempt logs
        // it), whatever index the failed logged commit gave it.
        for (at, _) in entries {
            if let ExchangeWrite::EnqueueOutbound { record, .. } = &mut writes[*at] {
                record.log_index = None;
            }
        }
        let unindexed: Vec<usize> = entries
            .iter()
            .filter(|(at, _)| matches!(writes[*at], ExchangeWrite::OutboundLogged { .. }))
            .map(|(at, _)| *at)
            .collect();
        if unindexed.is_empty() {
            return self.store.exchange_batch(&writes);
        }
        let n = writes.len();
        let kept: Vec<ExchangeWrite> = writes
            .into_iter()
            .enumerate()
            .filter(|(at, _)| !unindexed.contains(at))
            .map(|(_, w)| w)
            .collect();
        let mut stored = self.store.exchange_batch(&kept)?.into_iter();
        Ok((0..n)
            .map(|at| {
                if unindexed.contains(&at) {
                    Err(not_indexed())
                } else {
                    stored.next().unwrap_or_else(|| {
                        Err(StoreError::Other(
                            "exchange batch answered too few results".into(),
                        ))
                    })
                }
            })
            .collect())
    }

    /// Commits what is queued, as the leader: on a pool thread of its own inside a
    /// runtime (so the caller is answered as soon as its batch commits), or here without
    /// one (a CLI command: nobody else is writing).
    fn start_leader(self: &Arc<Self>) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let this = self.clone();
                drop(handle.spawn_blocking(move || this.lead()));
            }
            Err(_) => self.lead(),
        }
    }

    /// Writes each write with its log entry, if any, as [`GroupCommit::write_logged`]
    /// does, queued together and in order; one answer each. A message queued for sending
    /// ([`ExchangeWrite::EnqueueOutbound`]) with its `msg_out` entry gets the entry's
    /// index in its outbox row, so no attempt has to log it before the message leaves.
    /// Blocking.
    pub fn write_logged_blocking(
        self: &Arc<Self>,
        items: Vec<(ExchangeWrite, Option<Vec<u8>>)>,
    ) -> Vec<(WriteResult, Option<u64>)> {
        let mut receivers = Vec::with_capacity(items.len());
        let lead = {
            let mut q = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (write, entry) in items {
                let (tx, rx) = mpsc::channel();
                let entry = entry.filter(|_| self.log.is_some());
                q.writes.push(Queued {
                    write,
                    reply: Reply::LoggedSync(tx),
                    entry,
                    receipt: None,
                });
                receivers.push(rx);
            }
            !std::mem::replace(&mut q.leading, true)
        };
        if lead {
            self.start_leader();
        }
        receivers
            .into_iter()
            .map(|rx| rx.recv().unwrap_or_else(|_| (Err(gone()), None)))
            .collect()
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
                q.writes.push(Queued {
                    write,
                    reply: Reply::Async(tx),
                    entry: None,
                    receipt: None,
                });
                receivers.push(rx);
            }
            !std::mem::replace(&mut q.leading, true)
        };
        if lead {
            self.start_leader();
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
        if self.push(write, Reply::Async(tx), None, None) {
            self.start_leader();
        }
        async move { rx.await.unwrap_or_else(|_| Err(gone())) }
    }

    /// Writes `write` and, in the same commit, logs `entry` (after the appender's queue):
    /// the write's result, and the entry's index when it was logged with it. A received
    /// message ([`ExchangeWrite::AcceptInbound`], its `msg_in` entry) also gets the index
    /// in its row, and an [`ExchangeWrite::OutboundLogged`] (a sent message's `msg_out`)
    /// records the index in place of the one it carries. `None` (a duplicate, a refusal,
    /// or a batch that had to commit without its log entries) leaves logging to the
    /// caller; an `OutboundLogged` is then not written at all (an `Unavailable` result).
    /// Without a log appender this is [`GroupCommit::write`] (and an `OutboundLogged` is
    /// answered `Unavailable`, unwritten).
    pub async fn write_logged(
        self: &Arc<Self>,
        write: ExchangeWrite,
        entry: Vec<u8>,
    ) -> (WriteResult, Option<u64>) {
        if self.log.is_none() {
            if matches!(write, ExchangeWrite::OutboundLogged { .. }) {
                return (Err(not_indexed()), None);
            }
            return (self.write(write).await, None);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.push(write, Reply::Logged(tx), Some(entry), None) {
            self.start_leader();
        }
        rx.await.unwrap_or_else(|_| (Err(gone()), None))
    }
}

impl GroupCommit {
    /// [`GroupCommit::write_logged`] for a received message
    /// ([`ExchangeWrite::AcceptInbound`] and its `msg_in` entry) that also builds its
    /// receipt in the same commit with `receipt` (see `commit_logged`). The answer holds
    /// the signed receipt when it was stored; otherwise the caller receipts as before.
    pub async fn write_received(
        self: &Arc<Self>,
        write: ExchangeWrite,
        entry: Vec<u8>,
        receipt: ReceiptBuilder,
    ) -> Received {
        if self.log.is_none() {
            return (self.write(write).await, None, None);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.push(write, Reply::Received(tx), Some(entry), Some(receipt)) {
            self.start_leader();
        }
        rx.await.unwrap_or_else(|_| (Err(gone()), None, None))
    }
}

/// The answer to an `OutboundLogged` whose entry could not be logged with it: nothing
/// was written, since it had no index to record.
fn not_indexed() -> StoreError {
    StoreError::Unavailable(
        "msg_out was not logged with its index; log it through the queue".into(),
    )
}

/// The write recording `record`'s `msg_in` index.
fn logged_at(record: &InboundRecord, log_index: u64) -> ExchangeWrite {
    ExchangeWrite::InboundLogged {
        from_party: record.facts.from_party.clone(),
        message_id: record.facts.message_id.clone(),
        log_index,
    }
}
