//! What the node-to-node exchange needs from storage: the partner registry, the durable
//! outbox and the durable inbox (spec exchange-and-log §6).
//!
//! Why at this level: the exchange's guarantees are storage guarantees. A message is
//! sealed once and stored before its first send, so every retry sends the same bytes;
//! the receiver's duplicate elimination on `(from, message_id)` is one atomic
//! insert-or-read, so two deliveries racing each other still leave one row; hand-over to
//! the layer above moves a row's `handed_over` flag, so a consumer sees each message once
//! however often the partner re-sends it. Each method is one transaction in every backend.
//! Times are Unix milliseconds, chosen by the caller (the store has no clock).

use std::fmt;

use crate::StoreError;

/// A SHA-256 value.
pub type Sha256 = [u8; 32];

/// One of a partner's pinned public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerKey {
    /// `signing` (Ed25519, COSE) or `encryption` (X25519, HPKE).
    pub purpose: String,
    /// RFC 9679 COSE key thumbprint, base64url, as the envelope names it.
    pub kid: String,
    /// Raw public key bytes.
    pub public: Vec<u8>,
    /// First instant (ms) a message may be created under this key.
    pub not_before: u64,
    /// Last instant (ms) a message may be created under this key; `None` = open.
    pub not_after: Option<u64>,
    /// When the key was revoked, if it was: messages created at or after are refused.
    pub revoked_at: Option<u64>,
}

/// A partner administration's node, as registered for one agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    /// Agreement the registration belongs to.
    pub agreement_id: String,
    /// Party id, e.g. `UZ-CUSTOMS`; equals `hdr.from` of its messages and the CN of its
    /// TLS client certificate.
    pub party: String,
    /// Display name.
    pub name: String,
    /// Base URL, `https://host:port`.
    pub endpoint: String,
    /// Pinned TLS CA certificate (DER); the partner's leaves must chain to it.
    pub tls_ca_der: Vec<u8>,
    /// The partner's root (manifest-signing) Ed25519 public key.
    pub root_key: Vec<u8>,
    /// The partner log's checkpoint verifier key (signed-note vkey), from its manifest;
    /// receipts' tlog-proofs are verified with it.
    pub log_vkey: Option<String>,
    /// Version of the partner's key manifest these keys came from.
    pub manifest_version: u64,
    /// `active` or `suspended`.
    pub status: String,
    /// Assurance gate (assistance.md §1.9): `good_standing`, `under_review`, `violated`.
    pub assurance: String,
    /// Pinned message keys, every version still relevant.
    pub keys: Vec<PartnerKey>,
    /// Last change (ms).
    pub updated_at: u64,
}

/// Where an outbound message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundState {
    /// Waiting for its first or next attempt.
    Pending,
    /// A valid receipt came back.
    Delivered,
    /// Given up on: non-retryable error or retry horizon passed.
    DeadLetter,
}

impl OutboundState {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundState::Pending => "pending",
            OutboundState::Delivered => "delivered",
            OutboundState::DeadLetter => "dead_letter",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(OutboundState::Pending),
            "delivered" => Ok(OutboundState::Delivered),
            "dead_letter" => Ok(OutboundState::DeadLetter),
            other => Err(StoreError::Other(format!("unknown outbox state {other:?}"))),
        }
    }
}

impl fmt::Display for OutboundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The routing facts of a message, shared by outbox and inbox rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFacts {
    /// Globally unique message id.
    pub message_id: String,
    /// Agreement.
    pub agreement_id: String,
    /// Sending party.
    pub from_party: String,
    /// Receiving party.
    pub to_party: String,
    /// Conversation (case) id; order is kept within it.
    pub conversation_id: String,
    /// Service.
    pub service: String,
    /// Action.
    pub action: String,
    /// Creation time (ms).
    pub created_at: u64,
    /// Expiry (ms); past it the message is dead-lettered, not sent.
    pub expires_at: u64,
    /// SHA-256 of the wire header.
    pub hdr_sha256: Sha256,
}

/// A sealed message to store in the outbox before its first send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRecord {
    /// Routing facts.
    pub facts: MessageFacts,
    /// The wire object, exactly as every attempt sends it.
    pub wire: Vec<u8>,
    /// Salts of the commitments in our `msg_out` log entry (hdr, sig, parts…), 32 bytes
    /// each, kept so the entry can be opened for an auditor.
    pub salts: Vec<u8>,
    /// Our `msg_out` log entry for the message (encoded), built when it was sealed: it
    /// is appended before the first attempt, and a receipt must open its commitments.
    pub log_entry: Vec<u8>,
    /// Our log index of `msg_out`, when logged.
    pub log_index: Option<u64>,
}

/// An outbox row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRow {
    /// Store order.
    pub seq: i64,
    /// The stored message.
    pub record: OutboundRecord,
    /// State.
    pub state: OutboundState,
    /// Attempts made.
    pub attempts: u32,
    /// Earliest time (ms) of the next attempt.
    pub next_attempt_at: u64,
    /// Why the last attempt failed, or why the message is dead.
    pub last_error: Option<String>,
    /// The partner's signed receipt, once delivered.
    pub receipt: Option<Vec<u8>>,
    /// Salt of our `receipt_in` commitment to it.
    pub receipt_salt: Option<Vec<u8>>,
    /// When the receipt arrived (ms).
    pub delivered_at: Option<u64>,
}

/// A verified message to store in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    /// Routing facts.
    pub facts: MessageFacts,
    /// The wire object as received (still encrypted: payloads stay protected at rest).
    pub wire: Vec<u8>,
    /// Salts of the commitments in our `msg_in` log entry, 32 bytes each.
    pub salts: Vec<u8>,
    /// When it was accepted (ms).
    pub received_at: u64,
}

/// An inbox row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRow {
    /// Store order; hand-over follows it.
    pub seq: i64,
    /// The stored message.
    pub record: InboundRecord,
    /// Our log index of `msg_in`, once logged.
    pub log_index: Option<u64>,
    /// Our signed receipt, once issued.
    pub receipt: Option<Vec<u8>>,
    /// Salt of our `receipt_out` commitment to it.
    pub receipt_salt: Option<Vec<u8>>,
    /// Whether the layer above has taken it.
    pub handed_over: bool,
}

/// What [`ExchangeStore::accept_inbound`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundAccept {
    /// Stored as new.
    Inserted(InboundRow),
    /// Already stored with the same header digest: a duplicate delivery. Nothing written.
    Duplicate(InboundRow),
}

/// One write of the exchange, for [`ExchangeStore::exchange_batch`]: the same change the
/// single-write method of that name makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeWrite {
    /// [`ExchangeStore::enqueue_outbound`].
    EnqueueOutbound {
        /// The sealed message.
        record: OutboundRecord,
        /// When it is due.
        now: u64,
    },
    /// [`ExchangeStore::outbound_logged`].
    OutboundLogged {
        /// Message id.
        message_id: String,
        /// Our `msg_out` index.
        log_index: u64,
    },
    /// [`ExchangeStore::outbound_attempted`].
    OutboundAttempted {
        /// Message id.
        message_id: String,
        /// Attempts made.
        attempts: u32,
        /// Next attempt (ms).
        next_attempt_at: u64,
        /// Why it failed.
        error: String,
    },
    /// [`ExchangeStore::outbound_delivered`].
    OutboundDelivered {
        /// Message id.
        message_id: String,
        /// The verified receipt.
        receipt: Vec<u8>,
        /// Salt of our `receipt_in` commitment.
        receipt_salt: [u8; 32],
        /// When (ms).
        at: u64,
    },
    /// [`ExchangeStore::outbound_dead`].
    OutboundDead {
        /// Message id.
        message_id: String,
        /// Why.
        reason: String,
        /// When (ms).
        at: u64,
    },
    /// [`ExchangeStore::accept_inbound`].
    AcceptInbound(InboundRecord),
    /// [`ExchangeStore::inbound_logged`].
    InboundLogged {
        /// Sender.
        from_party: String,
        /// Message id.
        message_id: String,
        /// Our `msg_in` index.
        log_index: u64,
    },
    /// [`ExchangeStore::inbound_receipted`].
    InboundReceipted {
        /// Sender.
        from_party: String,
        /// Message id.
        message_id: String,
        /// Our signed receipt.
        receipt: Vec<u8>,
        /// Salt of our `receipt_out` commitment.
        receipt_salt: [u8; 32],
    },
}

/// What one [`ExchangeWrite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// An outbox row was stored with this sequence number.
    Enqueued(i64),
    /// The state change was made.
    Done,
    /// What [`ExchangeStore::accept_inbound`] did.
    Inbound(Box<InboundAccept>),
}

/// The result of one write of a batch: its own refusal (`NotFound`, `Conflict`, a wrong
/// state) leaves the others standing.
pub type WriteResult = Result<WriteOutcome, StoreError>;

/// The writes of [`ExchangeWrite`] on one open transaction or savepoint of a backend.
/// [`apply`] reads a batch through it, so both backends dispatch a batch the same way.
pub trait ExchangeWrites {
    /// See [`ExchangeStore::enqueue_outbound`].
    fn enqueue_outbound(&mut self, record: &OutboundRecord, now: u64) -> Result<i64, StoreError>;
    /// See [`ExchangeStore::outbound_attempted`].
    fn outbound_attempted(
        &mut self,
        message_id: &str,
        attempts: u32,
        next_attempt_at: u64,
        error: &str,
    ) -> Result<(), StoreError>;
    /// See [`ExchangeStore::outbound_delivered`].
    fn outbound_delivered(
        &mut self,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
        at: u64,
    ) -> Result<(), StoreError>;
    /// See [`ExchangeStore::outbound_dead`].
    fn outbound_dead(&mut self, message_id: &str, reason: &str, at: u64) -> Result<(), StoreError>;
    /// See [`ExchangeStore::outbound_logged`].
    fn outbound_logged(&mut self, message_id: &str, log_index: u64) -> Result<(), StoreError>;
    /// See [`ExchangeStore::accept_inbound`] (without its own transaction).
    fn accept_inbound(&mut self, record: &InboundRecord) -> Result<InboundAccept, StoreError>;
    /// See [`ExchangeStore::inbound_logged`].
    fn inbound_logged(
        &mut self,
        from_party: &str,
        message_id: &str,
        log_index: u64,
    ) -> Result<(), StoreError>;
    /// See [`ExchangeStore::inbound_receipted`].
    fn inbound_receipted(
        &mut self,
        from_party: &str,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
    ) -> Result<(), StoreError>;
}

/// One write of a batch, on the batch's savepoint.
pub fn apply(on: &mut impl ExchangeWrites, write: &ExchangeWrite) -> WriteResult {
    let done = |r: Result<(), StoreError>| r.map(|()| WriteOutcome::Done);
    match write {
        ExchangeWrite::EnqueueOutbound { record, now } => on
            .enqueue_outbound(record, *now)
            .map(WriteOutcome::Enqueued),
        ExchangeWrite::OutboundLogged {
            message_id,
            log_index,
        } => done(on.outbound_logged(message_id, *log_index)),
        ExchangeWrite::OutboundAttempted {
            message_id,
            attempts,
            next_attempt_at,
            error,
        } => done(on.outbound_attempted(message_id, *attempts, *next_attempt_at, error)),
        ExchangeWrite::OutboundDelivered {
            message_id,
            receipt,
            receipt_salt,
            at,
        } => done(on.outbound_delivered(message_id, receipt, receipt_salt, *at)),
        ExchangeWrite::OutboundDead {
            message_id,
            reason,
            at,
        } => done(on.outbound_dead(message_id, reason, *at)),
        ExchangeWrite::AcceptInbound(record) => on
            .accept_inbound(record)
            .map(|a| WriteOutcome::Inbound(Box::new(a))),
        ExchangeWrite::InboundLogged {
            from_party,
            message_id,
            log_index,
        } => done(on.inbound_logged(from_party, message_id, *log_index)),
        ExchangeWrite::InboundReceipted {
            from_party,
            message_id,
            receipt,
            receipt_salt,
        } => done(on.inbound_receipted(from_party, message_id, receipt, receipt_salt)),
    }
}

/// The exchange's storage. Every method is one transaction.
pub trait ExchangeStore: Send + Sync {
    /// Inserts or replaces the registration of `(agreement_id, party)` with its keys.
    fn put_partner(&self, partner: &PartnerRecord) -> Result<(), StoreError>;

    /// One registration, or `NotFound`.
    fn partner(&self, agreement_id: &str, party: &str) -> Result<PartnerRecord, StoreError>;

    /// Every registration, ordered by agreement and party.
    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError>;

    /// Stores a sealed message, pending, due at `now`. A second message with the same id
    /// is a [`crate::Conflict::MessageIdReused`]; nothing is written.
    fn enqueue_outbound(&self, record: &OutboundRecord, now: u64) -> Result<i64, StoreError>;

    /// Pending messages due at `now` that head their conversation (no earlier pending
    /// message to the same party in the same conversation), oldest first.
    fn due_outbound(&self, now: u64, limit: u32) -> Result<Vec<OutboundRow>, StoreError>;

    /// The pending message heading one conversation to `to_party` (its oldest pending
    /// message), due or not; `None` when the conversation has nothing pending. One index
    /// seek: the outbox asks it when a message of the conversation is settled, instead of
    /// scanning every pending message for heads again.
    fn conversation_head(
        &self,
        to_party: &str,
        conversation_id: &str,
    ) -> Result<Option<OutboundRow>, StoreError>;

    /// Records a failed attempt of a pending message: attempt count, next time, reason.
    fn outbound_attempted(
        &self,
        message_id: &str,
        attempts: u32,
        next_attempt_at: u64,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Marks a pending message delivered with its verified receipt. Idempotent for the
    /// same receipt.
    fn outbound_delivered(
        &self,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
        at: u64,
    ) -> Result<(), StoreError>;

    /// Moves a pending message to the dead-letter list with a reason.
    fn outbound_dead(&self, message_id: &str, reason: &str, at: u64) -> Result<(), StoreError>;

    /// An operator's retry: moves a dead letter back to pending, due at `now`, attempts
    /// reset. `NotFound` if absent, `Conflict` if it is not a dead letter.
    fn outbound_retry(&self, message_id: &str, now: u64) -> Result<(), StoreError>;

    /// Records the index of our `msg_out` log entry.
    fn outbound_logged(&self, message_id: &str, log_index: u64) -> Result<(), StoreError>;

    /// One outbox row by message id.
    fn outbound(&self, message_id: &str) -> Result<OutboundRow, StoreError>;

    /// Outbox rows, newest first, optionally of one state.
    fn list_outbound(
        &self,
        state: Option<OutboundState>,
        limit: u32,
    ) -> Result<Vec<OutboundRow>, StoreError>;

    /// Stores a verified message unless `(from, message_id)` is stored already: then the
    /// stored row comes back as a duplicate if its header digest is equal, and
    /// [`crate::Conflict::MessageIdReused`] if not. Nothing is written in either case.
    fn accept_inbound(&self, record: &InboundRecord) -> Result<InboundAccept, StoreError>;

    /// Records the index of our `msg_in` log entry.
    fn inbound_logged(
        &self,
        from_party: &str,
        message_id: &str,
        log_index: u64,
    ) -> Result<(), StoreError>;

    /// Stores our signed receipt for an inbox row, with the salt of its log commitment
    /// (once; a later call keeps the first).
    fn inbound_receipted(
        &self,
        from_party: &str,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
    ) -> Result<(), StoreError>;

    /// One inbox row.
    fn inbound(&self, from_party: &str, message_id: &str) -> Result<InboundRow, StoreError>;

    /// Inbox rows not yet handed over for `(service, action)`, in store order.
    fn pending_inbound(
        &self,
        service: &str,
        action: &str,
        limit: u32,
    ) -> Result<Vec<InboundRow>, StoreError>;

    /// Marks rows handed over to the layer above. Idempotent.
    fn inbound_handed_over(&self, seqs: &[i64]) -> Result<(), StoreError>;

    /// Inbox rows, newest first.
    fn list_inbound(&self, limit: u32) -> Result<Vec<InboundRow>, StoreError>;

    /// Rows in the outbox by state and in the inbox: `(pending, delivered, dead, inbox)`.
    fn exchange_counts(&self) -> Result<ExchangeCounts, StoreError>;

    /// Group commit: every write in one transaction, applied in order, each in its own
    /// savepoint so a refused write (its result is an `Err`) changes nothing and leaves
    /// the others standing. Returns only after the commit is durable; an `Err` of the
    /// whole call means nothing of the batch was written.
    fn exchange_batch(&self, writes: &[ExchangeWrite]) -> Result<Vec<WriteResult>, StoreError>;

    /// `writes` and the log append `log` in **one** transaction, so a received message's
    /// inbox row, its `msg_in` entry, the entry's index in the row and the checkpoint
    /// covering it become durable with one commit. All or nothing: if any write is
    /// refused, or an [`ExchangeWrite::AcceptInbound`] finds its message already stored
    /// (a duplicate must not be logged again), or the append is refused (`LogSize`,
    /// checkpoint), nothing is written: a refused write gives [`LoggedBatch::Refused`],
    /// and the caller falls back to [`ExchangeStore::exchange_batch`] and a log append of
    /// its own, which answer each write alone; a refused append or a store failure is an
    /// `Err`. Returns only after the commit is durable.
    fn exchange_batch_logged(
        &self,
        writes: &[ExchangeWrite],
        log: &crate::log::LogBatch<'_>,
    ) -> Result<LoggedBatch, StoreError>;
}

/// What [`ExchangeStore::exchange_batch_logged`] did.
#[derive(Debug)]
pub enum LoggedBatch {
    /// Everything is durable: each write's result, and where the log append landed.
    Committed(Vec<WriteResult>, crate::log::Appended),
    /// Nothing was written: a write was refused or found its message already stored.
    Refused,
}

impl LoggedBatch {
    /// Whether a write's result lets it commit with a log append: accepted, and not an
    /// inbound message found already stored.
    pub fn fresh(result: &WriteResult) -> bool {
        match result {
            Ok(WriteOutcome::Inbound(accepted)) => {
                matches!(**accepted, InboundAccept::Inserted(_))
            }
            Ok(_) => true,
            Err(_) => false,
        }
    }
}

/// Counts for reports and fault tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExchangeCounts {
    /// Outbox rows pending.
    pub pending: u64,
    /// Outbox rows delivered.
    pub delivered: u64,
    /// Outbox rows dead-lettered.
    pub dead_letter: u64,
    /// Inbox rows.
    pub inbox: u64,
    /// Inbox rows handed over.
    pub handed_over: u64,
}

/// The column lists and row decoding both backends share, so an outbox or inbox row
/// means the same in each. A backend implements [`columns::Columns`] for its row type.
pub mod columns {
    use super::{
        InboundRecord, InboundRow, MessageFacts, OutboundRecord, OutboundRow, OutboundState,
        sha256_column,
    };
    use crate::StoreError;
    use crate::log::columns::uint;

    /// Outbox columns, in the order [`outbound_row`] reads them.
    pub const OUTBOX: &str = "seq, message_id, agreement_id, from_party, to_party, \
         conversation_id, service, action, created_at, expires_at, hdr_sha256, wire, salts, \
         log_index, state, attempts, next_attempt_at, last_error, receipt, delivered_at, \
         log_entry, receipt_salt";

    /// Inbox columns, in the order [`inbound_row`] reads them.
    pub const INBOX: &str = "seq, message_id, agreement_id, from_party, to_party, \
         conversation_id, service, action, created_at, expires_at, hdr_sha256, wire, salts, \
         received_at, log_index, receipt, handed_over, receipt_salt";

    /// Partner columns.
    pub const PARTNER: &str = "agreement_id, party, name, endpoint, tls_ca_der, root_key, \
         manifest_version, status, assurance, updated_at, log_vkey";

    /// Typed access to the columns of one result row.
    pub trait Columns {
        /// A text column.
        fn text(&self, i: usize) -> Result<String, StoreError>;
        /// A nullable text column.
        fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
        /// An integer column.
        fn int(&self, i: usize) -> Result<i64, StoreError>;
        /// A nullable integer column.
        fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
        /// A blob column.
        fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError>;
        /// A nullable blob column.
        fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;
        /// A boolean column.
        fn flag(&self, i: usize) -> Result<bool, StoreError>;
    }

    fn time(r: &impl Columns, i: usize, what: &str) -> Result<u64, StoreError> {
        uint(r.int(i)?, what)
    }

    fn opt_time(r: &impl Columns, i: usize, what: &str) -> Result<Option<u64>, StoreError> {
        r.opt_int(i)?.map(|v| uint(v, what)).transpose()
    }

    fn facts(r: &impl Columns) -> Result<MessageFacts, StoreError> {
        Ok(MessageFacts {
            message_id: r.text(1)?,
            agreement_id: r.text(2)?,
            from_party: r.text(3)?,
            to_party: r.text(4)?,
            conversation_id: r.text(5)?,
            service: r.text(6)?,
            action: r.text(7)?,
            created_at: time(r, 8, "created_at")?,
            expires_at: time(r, 9, "expires_at")?,
            hdr_sha256: sha256_column(r.blob(10)?, "hdr_sha256")?,
        })
    }

    /// Decodes a row selected with [`OUTBOX`].
    pub fn outbound_row(r: &impl Columns) -> Result<OutboundRow, StoreError> {
        Ok(OutboundRow {
            seq: r.int(0)?,
            record: OutboundRecord {
                facts: facts(r)?,
                wire: r.blob(11)?,
                salts: r.blob(12)?,
                log_entry: r.blob(20)?,
                log_index: opt_time(r, 13, "log index")?,
            },
            state: OutboundState::parse(&r.text(14)?)?,
            attempts: u32::try_from(r.int(15)?)
                .map_err(|_| StoreError::Other("attempts out of range".into()))?,
            next_attempt_at: time(r, 16, "next attempt")?,
            last_error: r.opt_text(17)?,
            receipt: r.opt_blob(18)?,
            receipt_salt: r.opt_blob(21)?,
            delivered_at: opt_time(r, 19, "delivered at")?,
        })
    }

    /// Decodes a row selected with [`INBOX`].
    pub fn inbound_row(r: &impl Columns) -> Result<InboundRow, StoreError> {
        Ok(InboundRow {
            seq: r.int(0)?,
            record: InboundRecord {
                facts: facts(r)?,
                wire: r.blob(11)?,
                salts: r.blob(12)?,
                received_at: time(r, 13, "received at")?,
            },
            log_index: opt_time(r, 14, "log index")?,
            receipt: r.opt_blob(15)?,
            handed_over: r.flag(16)?,
            receipt_salt: r.opt_blob(17)?,
        })
    }
}

/// Splits stored salts into 32-byte salts.
pub fn split_salts(salts: &[u8]) -> Result<Vec<[u8; 32]>, StoreError> {
    if !salts.len().is_multiple_of(32) {
        return Err(StoreError::Other(format!(
            "stored salts are {} bytes, not a multiple of 32",
            salts.len()
        )));
    }
    Ok(salts
        .chunks_exact(32)
        .map(|c| {
            let mut s = [0u8; 32];
            s.copy_from_slice(c);
            s
        })
        .collect())
}

/// Converts a stored 32-byte column.
pub fn sha256_column(bytes: Vec<u8>, what: &str) -> Result<Sha256, StoreError> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Other(format!("{what} is {} bytes, not 32", b.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_is_refused() {
        for s in [
            OutboundState::Pending,
            OutboundState::Delivered,
            OutboundState::DeadLetter,
        ] {
            assert_eq!(OutboundState::parse(s.as_str()).unwrap(), s);
        }
        assert!(OutboundState::parse("sent").is_err());
    }

    #[test]
    fn salts_split_in_32_byte_pieces() {
        let salts = [[1u8; 32], [2u8; 32]].concat();
        assert_eq!(split_salts(&salts).unwrap(), vec![[1u8; 32], [2u8; 32]]);
        assert!(split_salts(&[0u8; 33]).is_err());
        assert!(sha256_column(vec![0; 31], "x").is_err());
    }
}
