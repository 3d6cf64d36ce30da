//! The exchange engine of one node: send (seal once, outbox, retry until a receipt),
//! receive (the receiver procedure of spec §4.1, duplicate elimination, receipts with a
//! tlog-proof), and hand-over to the layers above.
//!
//! Why it is shaped this way:
//! * **Durability first.** `send` returns a message id only after the sealed bytes are in
//!   the outbox; every retry sends those bytes. A received message is stored (inbox,
//!   atomically, keyed on `(from, message_id)`) before it is logged and receipted, so a
//!   crash after the store but before the receipt is finished by the sender's retry, which
//!   then gets the same receipt with `outcome: duplicate`.
//! * **Nothing is written for a refused message.** Every check that can refuse runs
//!   before the first write; refusals are logged with their code (tracing) and answered
//!   with a signed error where the envelope could be read.
//! * **Order within a conversation.** The outbox hands out only the oldest pending message
//!   of each conversation, so a conversation has at most one message in flight and the
//!   receiver stores them in order; hand-over follows store order.
//! * **Four log entries per exchange** (spec §1): `msg_out` and `receipt_in` here on the
//!   sending side, `msg_in` and `receipt_out` on the receiving side.
//!
//! Storage calls are blocking; async paths move them to the blocking pool.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use caravan_envelope::cose::CONTENT_TYPE_RECEIPT as CONTENT_TYPE_RECEIPT_WIRE;
use caravan_envelope::{
    Compression, EnvelopeError, Header, KeyRefusal, Limits, LogSalts, Outcome, Part, PartDigest,
    Party, ReceiptBody, ReceiptLog, Sealer, SignedError, TimePolicy, WireBody, WireView,
    check_time, message_event, open, sign_error, sign_receipt, verify_receipt,
};
use caravan_log::LogNode;
use caravan_log::entry::{Entry, EntryBody, ReceiptEvent, commit, commit_digest};
use caravan_store::exchange::{
    ExchangeWrite, InboundAccept, InboundRecord, InboundRow, MessageFacts, OutboundRecord,
    OutboundRow, OutboundState, WriteOutcome, split_salts,
};
use caravan_store::{Conflict, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::group::{BuiltReceipt, GroupCommit};
use crate::identity::NodeIdentity;
use crate::partner::{GateRefusal, PARTY_TYPE, Registry};
use crate::parts::{OutboundFile, PartSpool, parse_part_ref, segments_of};
use crate::retry::{Next, RetryPolicy, draw};
use crate::tls::{PeerIdentity, TlsError, client_config};
use crate::transport::PartnerClient;

/// The service of every business message (spec §3).
pub const SERVICE: &str = "caravan:cmaa/v1";
/// Path of the message endpoint.
pub const MESSAGES_PATH: &str = "/caravan/v1/messages";
/// Prefix of the segment upload endpoint, `PUT {PARTS_PATH}/{part_ref}/{n}` (spec §7).
pub const PARTS_PATH: &str = "/caravan/v1/parts";
/// Media type of a wire object.
pub const WIRE_MEDIA_TYPE: &str = "application/caravan+cbor";

/// The action catalogue (spec §3.2): what a partner may send under the agreement.
pub const ACTIONS: &[&str] = &[
    "Request.Submit",
    "Request.Acknowledge",
    "Request.ReturnForCorrection",
    "Request.Accept",
    "Request.AcceptWithConditions",
    "Request.Postpone",
    "Request.Resume",
    "Request.PartialReply",
    "Request.Reply",
    "Request.Refuse",
    "Request.Withdraw",
    "Request.Close",
    "Request.Reminder",
    "Request.DelayNotice",
    "Conditions.Accept",
    "Conditions.Decline",
    "Spontaneous.Inform",
    "Bulk.Batch",
    "Query.HitNoHit",
    "Query.Answer",
    "Feedback.Outcome",
    "Evidence.Package",
    "Evidence.CustodyEvent",
    "Evidence.ReturnOriginal",
    "Consent.Request",
    "Consent.Decision",
    "Disclosure.Notice",
    "Marking.Change",
    "Data.Retract",
    "Data.Correct",
    "Data.Erase",
    "Data.Erased",
    "Data.ComplianceAck",
    "Operation.Open",
    "Operation.Membership",
    "Operation.Post",
    "Operation.Close",
    "Directory.Update",
    "Keys.Manifest",
    "Agreement.StatusNotice",
    "Profile.Update",
    "Stats.Report",
];

/// How often the outbox loop sweeps the parts spool of unclaimed uploads.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The partner profile and runtime settings of the exchange.
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    /// Our party id, e.g. `US-CBP`.
    pub party: String,
    /// Our node host, the suffix of message ids.
    pub host: String,
    /// Our exchange endpoint as partners reach it, `https://host:port`.
    pub endpoint: String,
    /// The agreement.
    pub agreement_id: String,
    /// The partner profile id.
    pub profile_id: String,
    /// Our role in the agreement.
    pub role: String,
    /// Size limits applied before any cryptography.
    pub limits: Limits,
    /// Skew and replay window.
    pub time: TimePolicy,
    /// Retry schedule and horizon.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP call.
    pub request_timeout: Duration,
    /// Most messages in flight at once (over all conversations).
    pub max_in_flight: usize,
    /// How often the outbox is polled when nothing wakes it.
    pub poll_every: Duration,
    /// How long a receiver waits for a checkpoint covering a new entry before answering
    /// 503 (the sender retries and gets the receipt then).
    pub receipt_wait: Duration,
    /// Where large (detached) parts are spooled, sent and received, e.g.
    /// `<data dir>/parts`. Without it file parts cannot be sent and messages with
    /// detached parts are refused (413 `detached_parts_unsupported`).
    pub parts_dir: Option<std::path::PathBuf>,
    /// How long uploaded segments no message claimed stay in the spool (24 h).
    pub unclaimed_parts_ttl: Duration,
}

impl ExchangeConfig {
    /// The profile defaults (spec §3.1) for `party` at `host` in `agreement_id`.
    pub fn new(party: &str, host: &str, agreement_id: &str) -> Self {
        Self {
            party: party.to_owned(),
            host: host.to_owned(),
            endpoint: String::new(),
            agreement_id: agreement_id.to_owned(),
            profile_id: format!("{agreement_id}/v1"),
            role: "administration".to_owned(),
            limits: Limits::default(),
            time: TimePolicy::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 64,
            poll_every: Duration::from_millis(500),
            receipt_wait: Duration::from_secs(10),
            parts_dir: None,
            unclaimed_parts_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// A business message from the layer above.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    /// Recipient party id.
    pub to: String,
    /// Conversation (case) id; a new one is made when `None`.
    pub conversation_id: Option<String>,
    /// The message this one answers.
    pub ref_to: Option<String>,
    /// Action from the catalogue.
    pub action: String,
    /// Expiry (ms) for time-critical actions; otherwise the retry horizon applies.
    pub expires_at: Option<u64>,
    /// Parts: id, media type, body (inline; at most the profile's inline limit each).
    pub parts: Vec<OutboundPart>,
}

/// One part of an outbound message.
#[derive(Debug, Clone)]
pub struct OutboundPart {
    /// Part id, unique within the message.
    pub part_id: String,
    /// Media type.
    pub media_type: String,
    /// Plaintext.
    pub body: Vec<u8>,
}

/// Where a sent message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for an attempt or a receipt.
    Pending {
        /// Attempts made.
        attempts: u32,
        /// Next attempt (ms).
        next_attempt_at: u64,
        /// Last failure.
        last_error: Option<String>,
    },
    /// Receipted.
    Delivered {
        /// When (ms).
        at: u64,
        /// The partner's signed receipt.
        receipt: Vec<u8>,
    },
    /// Given up on.
    DeadLetter {
        /// Why.
        reason: String,
    },
}

/// A received message handed to the layer above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Inbox sequence number; acknowledge it with [`Exchange::ack`].
    pub seq: i64,
    /// Sender party.
    pub from: String,
    /// Message id.
    pub message_id: String,
    /// Conversation.
    pub conversation_id: String,
    /// The message it answers.
    pub ref_to: Option<String>,
    /// Action.
    pub action: String,
    /// Creation time (ms).
    pub created_at: u64,
    /// Decrypted parts: id, media type, body.
    pub parts: Vec<(String, String, Vec<u8>)>,
}

/// Why `send` refused.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The assurance gate or the registration refuses.
    #[error("{0}")]
    Gate(#[from] GateRefusal),
    /// Not an action of the catalogue.
    #[error("{0:?} is not an action of the catalogue")]
    UnknownAction(String),
    /// The envelope refused the message (size, field rules).
    #[error("sealing failed: {0}")]
    Envelope(#[from] EnvelopeError),
    /// Our keys are unusable.
    #[error("{0}")]
    Identity(#[from] crate::identity::IdentityError),
    /// File parts need the node's part spool (`ExchangeConfig::parts_dir`).
    #[error("file parts need a parts directory; this node has none configured")]
    NoPartSpool,
    /// The outbox could not be written.
    #[error("outbox: {0}")]
    Store(#[from] StoreError),
}

impl SendError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::Gate(g) => g.code(),
            SendError::UnknownAction(_) => "unknown_action",
            SendError::Envelope(e) => e.code(),
            SendError::Identity(_) => "no_signing_key",
            SendError::NoPartSpool => "parts_dir_unset",
            SendError::Store(_) => "store_unavailable",
        }
    }
}

/// A refused delivery: HTTP status, stable code, public message, optional signed error.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// HTTP status.
    pub status: u16,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Public message (never internal text).
    pub message: String,
    /// A signed error (spec §5), when the header could be read.
    pub signed: Option<Vec<u8>>,
    /// Seconds after which a retry may succeed (503).
    pub retry_after: Option<u64>,
}

impl Rejection {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            signed: None,
            retry_after: None,
        }
    }

    fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(503, code, message)
        }
    }

    fn envelope(error: &EnvelopeError) -> Self {
        Self::new(error.http_status(), error.code(), error.to_string())
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Store failure.
    #[error("exchange store: {0}")]
    Store(#[from] StoreError),
    /// TLS setup failure.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// One node's exchange engine.
pub struct Exchange {
    config: ExchangeConfig,
    identity: RwLock<NodeIdentity>,
    store: Arc<dyn Store>,
    commits: Arc<GroupCommit>,
    spool: Option<PartSpool>,
    log: Arc<LogNode>,
    registry: Registry,
    peers: RwLock<PeerIdentity>,
    clients: Mutex<HashMap<String, Arc<PartnerClient>>>,
    in_flight: Mutex<HashSet<String>>,
    /// Per partner log key (its `vkey` text): the verifier and the checkpoints whose
    /// signatures already verified, so a receipt's tlog-proof costs one note
    /// verification per partner checkpoint, not one per receipt.
    partner_logs: Mutex<HashMap<String, Arc<PartnerLog>>>,
    wake: tokio::sync::Notify,
    inbox_wake: tokio::sync::Notify,
}

/// A partner's log key as a verifier list, with the checkpoints verified under it.
struct PartnerLog {
    verifiers: caravan_tlog::note::VerifierList,
    checkpoints: caravan_envelope::VerifiedCheckpoints,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("party", &self.config.party)
            .field("agreement", &self.config.agreement_id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn spool_of(config: &ExchangeConfig) -> Option<PartSpool> {
    config.parts_dir.as_ref().map(PartSpool::new)
}

/// A fresh UUIDv7 (RFC 9562) for `now` ms.
pub fn uuid_v7(now: u64) -> String {
    let mut r = [0u8; 10];
    let _ = getrandom::getrandom(&mut r);
    let ms = now & 0xFFFF_FFFF_FFFF;
    let rand_a = (u16::from(r[0] & 0x0F) << 8) | u16::from(r[1]);
    let rand_b = u64::from_be_bytes([r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]]);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xFFFF,
        0x7000 | rand_a,
        0x8000 | ((rand_b >> 48) & 0x3FFF),
        rand_b & 0xFFFF_FFFF_FFFF
    )
}

fn random32() -> [u8; 32] {
    let mut s = [0u8; 32];
    let _ = getrandom::getrandom(&mut s);
    s
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Rejection> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Rejection::new(500, "internal", format!("worker failed: {e}")))
}

fn store_rejection(err: &StoreError) -> Rejection {
    match err {
        StoreError::Conflict(Conflict::MessageIdReused { .. }) => Rejection::new(
            409,
            "message_id_reused",
            "this message id was already used for a different message",
        ),
        _ => Rejection::unavailable("store_unavailable", "the node's store is not answering"),
    }
}

impl Exchange {
    /// Sets up the engine over the node's store and log.
    pub fn new(
        config: ExchangeConfig,
        identity: NodeIdentity,
        store: Arc<dyn Store>,
        log: Arc<LogNode>,
    ) -> Result<Arc<Self>, ExchangeError> {
        let registry = Registry::load(store.clone(), &config.agreement_id)?;
        let peers = PeerIdentity::new(&registry.pinned_cas())?;
        let spool = spool_of(&config);
        Ok(Arc::new(Self {
            config,
            identity: RwLock::new(identity),
            commits: GroupCommit::with_log(store.clone(), log.appender().clone()),
            spool,
            store,
            log,
            registry,
            peers: RwLock::new(peers),
            clients: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            partner_logs: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            inbox_wake: tokio::sync::Notify::new(),
        }))
    }

    /// Settings.
    pub fn config(&self) -> &ExchangeConfig {
        &self.config
    }

    /// The partner registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The node's log.
    pub fn log(&self) -> &Arc<LogNode> {
        &self.log
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A copy of the identity (keys, TLS material).
    pub fn identity(&self) -> NodeIdentity {
        self.identity
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn now(&self) -> u64 {
        self.log.clock().now_ms()
    }

    /// Re-reads partners from the store and rebuilds TLS pins and clients. Blocking.
    pub fn reload_partners(&self) -> Result<(), ExchangeError> {
        self.registry.reload()?;
        let peers = PeerIdentity::new(&self.registry.pinned_cas())?;
        *self
            .peers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = peers;
        lock(&self.clients).clear();
        Ok(())
    }

    /// The server TLS configuration for the current partners.
    pub fn server_tls(&self) -> Result<rustls::ServerConfig, TlsError> {
        crate::tls::server_config(self.identity().tls(), &self.registry.pinned_cas())
    }

    /// The party whose pinned CA the presented chain verifies against, if any.
    pub fn peer_party(
        &self,
        chain: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Option<String> {
        let peers = self.peers.read().ok()?;
        self.registry
            .all()
            .into_iter()
            .map(|p| p.party)
            .find(|party| peers.is(party, chain))
    }

    /// Our current key manifest, signed by the root key, with the log's verifier keys.
    pub fn signed_manifest(&self) -> Vec<u8> {
        let identity = self.identity();
        let keys = self.log.keys();
        let manifest = identity.manifest(
            &self.config.endpoint,
            self.now(),
            Some(crate::identity::LogKeys {
                origin: self.log.config().origin.clone(),
                log_vkey: keys.log_vkey(),
                witness_vkey: keys.witness_vkey(),
            }),
        );
        identity.signed_manifest(&manifest)
    }

    // ---- sending -------------------------------------------------------------------

    /// Seals `message` once, stores it in the outbox and wakes the sender. Returns the
    /// message id. Blocking (one store write, group-committed with concurrent sends).
    pub fn send(&self, message: &OutboundMessage) -> Result<String, SendError> {
        self.send_with_files(message, &[])
    }

    /// [`Exchange::send`] with large parts read from files: each is sealed segment by
    /// segment into the node's part spool (never whole in memory) and uploaded in
    /// segments before the message on every attempt. Blocking (reads the files once).
    pub fn send_with_files(
        &self,
        message: &OutboundMessage,
        files: &[OutboundFile],
    ) -> Result<String, SendError> {
        let (message_id, record, now) = self.seal_outbound(message, files)?;
        let entry = record.log_entry.clone();
        let mut stored = self.commits.write_logged_blocking(vec![(
            ExchangeWrite::EnqueueOutbound { record, now },
            Some(entry),
        )]);
        match stored.pop() {
            Some((result, _)) => {
                result?;
            }
            None => return Err(SendError::Store(StoreError::Other("no result".into()))),
        }
        self.wake.notify_one();
        Ok(message_id)
    }

    /// Seals every message (on all cores) and stores them in the outbox, each with its
    /// `msg_out` entry, in the order given (group commits of up to
    /// [`crate::group::MAX_BATCH`] messages). Each message has its own result: one
    /// refused by the gate or the envelope is not stored and the others are. Blocking.
    pub fn send_many(&self, messages: &[OutboundMessage]) -> Vec<Result<String, SendError>> {
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(messages.len().max(1));
        let chunk = messages.len().div_ceil(workers).max(1);
        let sealed: Vec<Result<(String, OutboundRecord, u64), SendError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = messages
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|m| self.seal_outbound(m, &[]))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join().unwrap_or_else(|_| {
                            vec![Err(SendError::Store(StoreError::Other(
                                "a sealing thread panicked".into(),
                            )))]
                        })
                    })
                    .collect()
            });
        let mut writes = Vec::new();
        let mut ids = Vec::new();
        let mut results: Vec<Option<Result<String, SendError>>> = Vec::new();
        for s in sealed {
            match s {
                Ok((id, record, now)) => {
                    let entry = record.log_entry.clone();
                    writes.push((ExchangeWrite::EnqueueOutbound { record, now }, Some(entry)));
                    ids.push((results.len(), id));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // Each row commits with its msg_out entry and that entry's index, so no attempt
        // pays a commit before the message leaves.
        let stored = self.commits.write_logged_blocking(writes);
        for ((slot, id), (r, _)) in ids.into_iter().zip(stored) {
            results[slot] = Some(r.map(|_| id).map_err(SendError::Store));
        }
        self.wake.notify_one();
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(SendError::Store(StoreError::Other("no result".into()))))
            })
            .collect()
    }

    /// Checks and seals one message and builds its outbox record: `(id, record, now)`.
    fn seal_outbound(
        &self,
        message: &OutboundMessage,
        files: &[OutboundFile],
    ) -> Result<(String, OutboundRecord, u64), SendError> {
        let spool = match (&self.spool, files.is_empty()) {
            (Some(spool), _) => Some(spool),
            (None, true) => None,
            (None, false) => return Err(SendError::NoPartSpool),
        };
        if !ACTIONS.contains(&message.action.as_str()) {
            return Err(SendError::UnknownAction(message.action.clone()));
        }
        let partner = self.registry.may_send(&message.to, &message.action)?;
        let now = self.now();
        let recipient_key = self.registry.encryption_key(&partner, now)?;
        let message_id = format!("{}@{}", uuid_v7(now), self.config.host);
        let header = Header {
            message_id: message_id.clone(),
            conversation_id: message
                .conversation_id
                .clone()
                .unwrap_or_else(|| uuid_v7(now)),
            ref_to: message.ref_to.clone(),
            from: Party::new(PARTY_TYPE, self.config.party.clone()),
            to: Party::new(PARTY_TYPE, message.to.clone()),
            role: self.config.role.clone(),
            service: SERVICE.to_owned(),
            action: message.action.clone(),
            agreement_id: self.config.agreement_id.clone(),
            profile_id: self.config.profile_id.clone(),
            created_at: now,
            expires_at: message.expires_at,
            enc_kid: recipient_key.kid(),
        };
        let mut sealer = Sealer::new(&header, &recipient_key)?;
        for p in &message.parts {
            sealer.add_inline(&Part {
                part_id: &p.part_id,
                media_type: &p.media_type,
                compression: Compression::None,
                body: &p.body,
            })?;
        }
        if let Some(spool) = spool {
            for file in files {
                spool.seal_file(&mut sealer, file)?;
            }
        }
        let sealed = {
            let identity = self
                .identity
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sealer.finish(identity.signing_key_at(now)?)?
        };
        let salts = LogSalts::generate(sealed.manifest.parts.len())?;
        let mut salt_bytes = Vec::with_capacity(32 * (2 + salts.parts.len()));
        salt_bytes.extend_from_slice(&salts.hdr);
        salt_bytes.extend_from_slice(&salts.sig);
        salts
            .parts
            .iter()
            .for_each(|s| salt_bytes.extend_from_slice(s));
        let signer = self
            .identity
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .signing_key_at(now)?
            .kid();
        let event = message_event(
            &header,
            &sealed.hdr_sha256,
            &sealed.sig_sha256,
            &sealed.manifest.parts,
            &signer,
            &salts,
            Vec::new(),
        )?;
        let log_entry = Entry {
            t: now,
            agreement_id: header.agreement_id.clone(),
            body: EntryBody::MsgOut(event),
        }
        .encode()
        .map_err(|e| StoreError::Other(format!("msg_out entry: {e}")))?;
        let horizon = u64::try_from(self.config.retry.horizon.as_millis()).unwrap_or(u64::MAX);
        let record = OutboundRecord {
            facts: MessageFacts {
                message_id: message_id.clone(),
                agreement_id: header.agreement_id.clone(),
                from_party: self.config.party.clone(),
                to_party: message.to.clone(),
                conversation_id: header.conversation_id.clone(),
                service: header.service.clone(),
                action: header.action.clone(),
                created_at: now,
                // The retry horizon runs from when the message is ready to go: sealing a
                // large file part can take minutes.
                expires_at: message
                    .expires_at
                    .unwrap_or(self.now().max(now).saturating_add(horizon)),
                hdr_sha256: sealed.hdr_sha256,
            },
            wire: sealed.wire,
            salts: salt_bytes,
            log_entry,
            log_index: None,
        };
        Ok((message_id, record, now))
    }

    /// Where a sent message stands. Blocking.
    pub fn delivery_state(&self, message_id: &str) -> Result<DeliveryState, StoreError> {
        let row = self.store.outbound(message_id)?;
        Ok(match row.state {
            OutboundState::Pending => DeliveryState::Pending {
                attempts: row.attempts,
                next_attempt_at: row.next_attempt_at,
                last_error: row.last_error,
            },
            OutboundState::Delivered => DeliveryState::Delivered {
                at: row.delivered_at.unwrap_or_default(),
                receipt: row.receipt.unwrap_or_default(),
            },
            OutboundState::DeadLetter => DeliveryState::DeadLetter {
                reason: row.last_error.unwrap_or_default(),
            },
        })
    }

    /// An operator's retry of a dead letter. Blocking.
    pub fn retry(&self, message_id: &str) -> Result<(), StoreError> {
        self.store.outbound_retry(message_id, self.now())?;
        self.wake.notify_one();
        Ok(())
    }

    /// Wakes the sender loop (after a CLI changed the outbox).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn client(&self, party: &str) -> Result<Arc<PartnerClient>, String> {
        if let Some(c) = lock(&self.clients).get(party) {
            return Ok(c.clone());
        }
        let partner = self.registry.get(party).map_err(|e| e.to_string())?;
        let identity = self.identity();
        let config = client_config(
            identity.tls(),
            &crate::tls::PinnedCa {
                party: partner.party.clone(),
                ca_der: partner.tls_ca_der.clone(),
            },
        )
        .map_err(|e| e.to_string())?;
        let client = Arc::new(
            PartnerClient::new(&partner.endpoint, config, self.config.request_timeout)
                .map_err(|e| e.to_string())?,
        );
        lock(&self.clients).insert(party.to_owned(), client.clone());
        Ok(client)
    }

    /// Runs the outbox until `shutdown` resolves: due messages are sent, at most
    /// `max_in_flight` at once and one per conversation.
    ///
    /// The outbox is scanned for conversation heads (`due_outbound`, which reads every
    /// pending message) only at start, when woken by a send and on the poll timer. When
    /// an attempt settles, only its own conversation can have a new head, so one index
    /// seek (`conversation_head`) finds the next message to send: with thousands
    /// pending, a scan per settled message would cost more CPU than the cryptography.
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        tokio::pin!(shutdown);
        let mut tasks = tokio::task::JoinSet::new();
        let mut scan = true;
        // The spool sweep runs at start and then hourly, off the async threads.
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The earliest retry time (ms) of a conversation head seen not yet due.
        let mut retry_at: Option<u64> = None;
        loop {
            let room = self.config.max_in_flight.saturating_sub(tasks.len());
            if scan && room > 0 {
                let this = self.clone();
                let now = self.now();
                let due = tokio::task::spawn_blocking(move || {
                    this.store
                        .due_outbound(now, u32::try_from(room * 2).unwrap_or(u32::MAX))
                })
                .await;
                match due {
                    Ok(Ok(rows)) => {
                        for row in rows {
                            if tasks.len() >= self.config.max_in_flight {
                                break;
                            }
                            self.start_attempt(&mut tasks, row);
                        }
                        scan = false;
                        retry_at = None;
                    }
                    Ok(Err(err)) => tracing::error!(error = %err, "reading the outbox failed"),
                    Err(err) => tracing::error!(error = %err, "outbox task failed"),
                }
            }
            let wait = retry_at.map_or(self.config.poll_every, |at| {
                Duration::from_millis(at.saturating_sub(self.now())).min(self.config.poll_every)
            });
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => scan = true,
                Some(settled) = tasks.join_next(), if !tasks.is_empty() => {
                    match settled {
                        Ok((to_party, conversation_id)) => {
                            match self.next_in_conversation(&mut tasks, to_party, conversation_id).await {
                                Ok(Some(at)) => retry_at = Some(retry_at.map_or(at, |r| r.min(at))),
                                Ok(None) => {}
                                Err(()) => scan = true,
                            }
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "outbox attempt failed");
                            scan = true;
                        }
                    }
                }
                () = tokio::time::sleep(wait) => scan = true,
                _ = sweep.tick() => {
                    let this = self.clone();
                    tokio::task::spawn_blocking(move || this.sweep_spool(std::time::SystemTime::now()));
                }
            }
        }
        tasks.shutdown().await;
    }

    /// Removes uploaded segments that no message claimed within
    /// [`ExchangeConfig::unclaimed_parts_ttl`] of `now` (see
    /// [`PartSpool::sweep_unclaimed`]); how many uploads went. Blocking. The node's
    /// outbox loop calls it hourly with the system clock.
    pub fn sweep_spool(&self, now: std::time::SystemTime) -> usize {
        let Some(spool) = &self.spool else {
            return 0;
        };
        let unclaimed = match spool.sweep_unclaimed(now, self.config.unclaimed_parts_ttl) {
            Ok(removed) => {
                if removed > 0 {
                    tracing::info!(removed, "unclaimed part uploads removed from the spool");
                }
                removed
            }
            Err(err) => {
                tracing::warn!(error = %err, "sweeping the parts spool failed");
                0
            }
        };
        unclaimed + self.sweep_released(spool, now)
    }

    /// Removes spooled outbound parts that no pending or dead-lettered message refers
    /// to (left by a stop between a delivery's commit and the part's release). Reads the
    /// outbox only when such a candidate exists, and removes nothing when the outbox
    /// holds more messages than it reads (it could not be sure the part is unused).
    fn sweep_released(&self, spool: &PartSpool, now: std::time::SystemTime) -> usize {
        const AT_MOST: u32 = 1_000;
        let stale = match spool.stale_outbound(now, self.config.unclaimed_parts_ttl) {
            Ok(stale) if !stale.is_empty() => stale,
            Ok(_) => return 0,
            Err(err) => {
                tracing::warn!(error = %err, "listing the outbound spool failed");
                return 0;
            }
        };
        let mut in_use = HashSet::new();
        for state in [OutboundState::Pending, OutboundState::DeadLetter] {
            match self.store.list_outbound(Some(state), AT_MOST) {
                Ok(rows) if rows.len() < AT_MOST as usize => {
                    for row in rows {
                        in_use.extend(view_parts_detached(&row.record.wire, &self.config.limits));
                    }
                }
                Ok(_) => {
                    tracing::info!("outbound spool not swept: too many messages still to send");
                    return 0;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "reading the outbox for the spool sweep failed");
                    return 0;
                }
            }
        }
        let removed = spool.remove_released(&stale, &in_use);
        if removed > 0 {
            tracing::info!(removed, "released outbound parts removed from the spool");
        }
        removed
    }

    /// Starts an attempt for `row` unless it is already in flight. The task yields the
    /// row's conversation when the attempt settles.
    fn start_attempt(
        self: &Arc<Self>,
        tasks: &mut tokio::task::JoinSet<(String, String)>,
        row: OutboundRow,
    ) {
        if !lock(&self.in_flight).insert(row.record.facts.message_id.clone()) {
            return;
        }
        let this = self.clone();
        tasks.spawn(async move {
            let facts = &row.record.facts;
            let (id, to_party, conversation_id) = (
                facts.message_id.clone(),
                facts.to_party.clone(),
                facts.conversation_id.clone(),
            );
            this.attempt(row).await;
            lock(&this.in_flight).remove(&id);
            (to_party, conversation_id)
        });
    }

    /// After an attempt in a conversation settled: starts the conversation's head if it
    /// is due and there is room. `Ok(Some(at))` when the head waits for a retry at `at`;
    /// `Err` when there is no room or the store could not be read (the caller scans the
    /// outbox instead).
    async fn next_in_conversation(
        self: &Arc<Self>,
        tasks: &mut tokio::task::JoinSet<(String, String)>,
        to_party: String,
        conversation_id: String,
    ) -> Result<Option<u64>, ()> {
        if tasks.len() >= self.config.max_in_flight {
            // No room now; the head is picked up by the next scan.
            return Err(());
        }
        let this = self.clone();
        let head = tokio::task::spawn_blocking(move || {
            this.store.conversation_head(&to_party, &conversation_id)
        })
        .await;
        match head {
            Ok(Ok(Some(row))) if row.next_attempt_at > self.now() => Ok(Some(row.next_attempt_at)),
            Ok(Ok(Some(row))) => {
                self.start_attempt(tasks, row);
                Ok(None)
            }
            Ok(Ok(None)) => Ok(None),
            Ok(Err(err)) => {
                tracing::error!(error = %err, "reading the outbox failed");
                Err(())
            }
            Err(err) => {
                tracing::error!(error = %err, "outbox task failed");
                Err(())
            }
        }
    }

    async fn attempt(self: &Arc<Self>, row: OutboundRow) {
        let id = row.record.facts.message_id.clone();
        let now = self.now();
        let facts = &row.record.facts;
        if now >= facts.expires_at {
            self.dead(&id, "message_expired: expired before a receipt arrived")
                .await;
            return;
        }
        let Ok(view) = WireView::decode(&row.record.wire, &self.config.limits) else {
            self.dead(&id, "stored wire object no longer decodes").await;
            return;
        };
        // msg_out is durable in the log before the message leaves, and its index in the
        // outbox row (so a retry after a crash does not log it again) commits with it.
        // When the group commit could not log it (a batch that had to commit without its
        // entries), it goes through the appender's queue and the index is recorded
        // after: queued now, so it commits before this attempt's outcome, and awaited
        // after the attempt instead of costing a commit in the latency path.
        let mut logged = None;
        if row.record.log_index.is_none() {
            let write = ExchangeWrite::OutboundLogged {
                message_id: id.clone(),
                log_index: 0,
            };
            let entry = row.record.log_entry.clone();
            if let (_, None) = self.commits.write_logged(write, entry).await {
                let appended = match self.log.appender().submit(row.record.log_entry.clone()) {
                    Ok(ticket) => ticket.index().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match appended {
                    Ok(index) => {
                        logged = Some(self.commits.enqueue(ExchangeWrite::OutboundLogged {
                            message_id: id.clone(),
                            log_index: index,
                        }));
                    }
                    Err(reason) => {
                        self.failed(&row, &format!("log_unavailable: {reason}"))
                            .await;
                        return;
                    }
                }
            }
        }
        self.deliver(&row, &view).await;
        if let Some(Err(err)) = match logged {
            Some(write) => Some(write.await),
            None => None,
        } {
            tracing::warn!(message_id = %id, error = %err, "msg_out index not stored");
        }
    }

    /// One delivery attempt of a logged message: gate, part uploads, the POST, and the
    /// outcome recorded (receipted, to retry, or dead).
    async fn deliver(self: &Arc<Self>, row: &OutboundRow, view: &WireView) {
        let id = row.record.facts.message_id.clone();
        let facts = &row.record.facts;
        if let Err(gate) = self.registry.may_send(&facts.to_party, &facts.action) {
            self.failed(row, &format!("{}: {gate}", gate.code())).await;
            return;
        }
        let client = match self.client(&facts.to_party) {
            Ok(c) => c,
            Err(reason) => {
                self.failed(row, &format!("partner_unusable: {reason}"))
                    .await;
                return;
            }
        };
        if let Err(reason) = self.upload_parts(&client, view).await {
            self.failed(row, &reason).await;
            return;
        }
        let response = client
            .call(
                hyper::Method::POST,
                MESSAGES_PATH,
                WIRE_MEDIA_TYPE,
                Bytes::from(row.record.wire.clone()),
            )
            .await;
        match response {
            Ok(r) if r.status == 200 => self.receipted(row, &view.header, &r.body).await,
            Ok(r) if matches!(r.status, 429 | 500..=599) => {
                self.failed(row, &format!("http {}: {}", r.status, error_code(&r.body)))
                    .await;
            }
            Ok(r) => {
                self.dead(&id, &format!("http {}: {}", r.status, error_code(&r.body)))
                    .await;
            }
            Err(err) => self.failed(row, &err.to_string()).await,
        }
    }

    /// Uploads the segments of every detached part of a message from the spool
    /// (`PUT /caravan/v1/parts/{part_ref}/{n}`, one segment in memory at a time).
    async fn upload_parts(
        self: &Arc<Self>,
        client: &PartnerClient,
        view: &WireView,
    ) -> Result<(), String> {
        for part in &view.parts {
            if !matches!(part.body, WireBody::Detached) {
                continue;
            }
            let Some(spool) = self.spool.clone() else {
                return Err("parts_dir_unset: the message has detached parts".into());
            };
            let part_ref = part.ct_sha256;
            for n in 0..segments_of(part.ct_len) {
                let spool = spool.clone();
                let segment = tokio::task::spawn_blocking(move || spool.read_segment(&part_ref, n))
                    .await
                    .map_err(|e| format!("part_stream_io: {e}"))?
                    .map_err(|e| format!("part_stream_io: spooled part unreadable: {e}"))?;
                let path = format!("{PARTS_PATH}/{}/{n}", crate::parts::hex(&part_ref));
                let r = client
                    .call(
                        hyper::Method::PUT,
                        &path,
                        "application/octet-stream",
                        Bytes::from(segment),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status != 204 && r.status != 200 {
                    return Err(format!(
                        "part upload http {}: {}",
                        r.status,
                        error_code(&r.body)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Verifies a receipt against what we sent, stores it and logs `receipt_in`.
    async fn receipted(self: &Arc<Self>, row: &OutboundRow, header: &Header, body: &[u8]) {
        let id = row.record.facts.message_id.clone();
        let checked = self.check_receipt(row, header, body);
        let receipt = match checked {
            Ok(r) => r,
            Err(reason) => {
                // A receipt that does not verify is treated as no receipt: retry later.
                tracing::warn!(message_id = %id, code = "receipt_invalid", %reason, "receipt refused");
                self.failed(row, &format!("receipt_invalid: {reason}"))
                    .await;
                return;
            }
        };
        let salt = random32();
        let event = ReceiptEvent {
            receipt_id: receipt.receipt_id.clone(),
            ref_to: id.clone(),
            receipt_commit: commit(&salt, body),
            partner_origin: receipt.log.origin.clone(),
            partner_index: receipt.log.index,
        };
        let delivered = ExchangeWrite::OutboundDelivered {
            message_id: id.clone(),
            receipt: body.to_vec(),
            receipt_salt: salt,
            at: self.now(),
        };
        let receipt_in = Entry {
            t: self.now(),
            agreement_id: self.config.agreement_id.clone(),
            body: EntryBody::ReceiptIn(event),
        }
        .encode();
        let receipt_in = match receipt_in {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!(message_id = %id, error = %err, "receipt_in not encodable");
                return;
            }
        };
        // receipt_in commits with the delivery state when it can; otherwise it is queued,
        // not awaited: the conversation's next message need not wait for that append (it
        // is as durable either way; a failure is logged).
        match self
            .commits
            .write_logged(delivered, receipt_in.clone())
            .await
        {
            (Ok(_), index) => {
                if let Some(spool) = &self.spool {
                    for part in &view_parts_detached(&row.record.wire, &self.config.limits) {
                        spool.release_outbound(part);
                    }
                }
                if index.is_none()
                    && let Err(err) = self.log.appender().submit(receipt_in)
                {
                    tracing::error!(message_id = %id, error = %err, "receipt_in not logged");
                }
            }
            (Err(err), _) => {
                tracing::error!(message_id = %id, error = %err, "receipt not stored");
            }
        }
    }

    fn check_receipt(
        &self,
        row: &OutboundRow,
        header: &Header,
        body: &[u8],
    ) -> Result<ReceiptBody, String> {
        let sign1 = caravan_envelope::cose::Sign1::parse(body, CONTENT_TYPE_RECEIPT_WIRE)
            .map_err(|e| e.to_string())?;
        let key = self
            .registry
            .signing_key(&header.to.id, &sign1.kid, self.now())
            .map_err(|e| e.to_string())?;
        let mut receipt = verify_receipt(body, &key).map_err(|e| e.to_string())?;
        if receipt.ref_to != header.message_id
            || receipt.from != header.to
            || receipt.to != header.from
        {
            return Err("the receipt is for another message or other parties".into());
        }
        // The receipt's digests must open our own msg_out commitments.
        let entry = Entry::decode(&row.record.log_entry).map_err(|e| e.to_string())?;
        let EntryBody::MsgOut(ours) = entry.body else {
            return Err("stored msg_out entry is not a msg_out".into());
        };
        let salts = split_salts(&row.record.salts).map_err(|e| e.to_string())?;
        if salts.len() != ours.part_commits.len() + 2
            || receipt.parts.len() != ours.part_commits.len()
        {
            return Err("the receipt names another number of parts".into());
        }
        if commit_digest(&salts[0], &receipt.hdr_sha256) != ours.header_commit
            || commit_digest(&salts[1], &receipt.sig_sha256) != ours.signature_commit
        {
            return Err("header or signature digest differs".into());
        }
        let parts_match = receipt
            .parts
            .iter()
            .zip(&salts[2..])
            .zip(&ours.part_commits)
            .all(|((p, salt), c)| commit_digest(salt, &p.sha256) == *c);
        if !parts_match {
            return Err("part digests differ".into());
        }
        // The proof: against the partner's log key from its manifest when it published
        // one (signature, inclusion, and the entry opening to the receipt's digests).
        let partner = self
            .registry
            .get(&header.to.id)
            .map_err(|e| e.to_string())?;
        match &partner.log_vkey {
            Some(vkey) => {
                let log = self.partner_log(vkey)?;
                // The receipt's signature is verified above; the proof's checkpoint
                // signature once per checkpoint.
                receipt = caravan_envelope::verify_receipt_body_offline(
                    receipt,
                    &log.verifiers,
                    &caravan_tlog::note::VerifierList::new(),
                    0,
                    &log.checkpoints,
                )
                .map_err(|e| format!("{}: {e}", e.code()))?
                .receipt;
            }
            None => {
                caravan_tlog::proof::TlogProof::parse(receipt.proof.as_bytes())
                    .map_err(|e| format!("tlog-proof: {e}"))?;
            }
        }
        Ok(receipt)
    }

    /// The verifier of a partner's log key `vkey`, built once.
    fn partner_log(&self, vkey: &str) -> Result<Arc<PartnerLog>, String> {
        if let Some(log) = lock(&self.partner_logs).get(vkey) {
            return Ok(log.clone());
        }
        let log_key = caravan_tlog::note::Ed25519Verifier::from_vkey(vkey)
            .map_err(|e| format!("partner log key: {e}"))?;
        let verifiers = caravan_tlog::note::VerifierList::new()
            .with(log_key)
            .map_err(|e| format!("partner log key: {e}"))?;
        let log = Arc::new(PartnerLog {
            verifiers,
            checkpoints: caravan_envelope::VerifiedCheckpoints::new(),
        });
        lock(&self.partner_logs).insert(vkey.to_owned(), log.clone());
        Ok(log)
    }

    async fn failed(self: &Arc<Self>, row: &OutboundRow, reason: &str) {
        let attempts = row.attempts.saturating_add(1);
        let now = self.now();
        // The horizon runs from when the message was ready (see `seal_outbound`), not
        // from its header's creation time, which precedes sealing a large part.
        let horizon = u64::try_from(self.config.retry.horizon.as_millis()).unwrap_or(u64::MAX);
        let facts = &row.record.facts;
        let ready_at = facts
            .expires_at
            .saturating_sub(horizon)
            .max(facts.created_at);
        let next = self.config.retry.next(attempts, ready_at, now, draw());
        let id = row.record.facts.message_id.clone();
        match next {
            Next::RetryAt(at) => {
                tracing::info!(message_id = %id, attempts, retry_at = at, %reason, "delivery failed; will retry");
                let attempted = ExchangeWrite::OutboundAttempted {
                    message_id: id,
                    attempts,
                    next_attempt_at: at,
                    error: reason.to_owned(),
                };
                let _ = self.commits.write(attempted).await;
            }
            Next::GiveUp => {
                self.dead(&id, &format!("retry horizon passed; last error: {reason}"))
                    .await;
            }
        }
    }

    async fn dead(self: &Arc<Self>, id: &str, reason: &str) {
        tracing::warn!(message_id = %id, %reason, "message dead-lettered");
        let dead = ExchangeWrite::OutboundDead {
            message_id: id.to_owned(),
            reason: reason.to_owned(),
            at: self.now(),
        };
        let _ = self.commits.write(dead).await;
    }

    // ---- receiving -----------------------------------------------------------------

    /// The receiver procedure (spec §4.1) for one POSTed wire object from a TLS peer with
    /// certificate `chain`. Returns the signed receipt or a rejection; a rejection writes
    /// nothing.
    pub async fn receive(
        self: &Arc<Self>,
        chain: &[rustls::pki_types::CertificateDer<'static>],
        body: Bytes,
    ) -> Result<Vec<u8>, Rejection> {
        let result = self.receive_inner(chain, body).await;
        if let Err(r) = &result {
            tracing::warn!(status = r.status, code = r.code, message = %r.message, "message refused");
        }
        result
    }

    fn signed_error(&self, ref_to: &str, error: &EnvelopeError) -> Option<Vec<u8>> {
        let identity = self.identity.read().ok()?;
        let key = identity.signing_key_at(self.now()).ok()?;
        Some(sign_error(&SignedError::from_error(ref_to, error), key))
    }

    async fn receive_inner(
        self: &Arc<Self>,
        chain: &[rustls::pki_types::CertificateDer<'static>],
        body: Bytes,
    ) -> Result<Vec<u8>, Rejection> {
        // 0. Decode: sizes, canonical CBOR, known fields, allowed suite.
        let view =
            WireView::decode(&body, &self.config.limits).map_err(|e| Rejection::envelope(&e))?;
        let hdr = &view.header;
        let with_signed = |mut r: Rejection, e: &EnvelopeError| {
            r.signed = self.signed_error(&hdr.message_id, e);
            r
        };
        // 1. TLS identity = hdr.from.
        if hdr.from.kind != PARTY_TYPE || self.registry.get(&hdr.from.id).is_err() {
            let e = EnvelopeError::SignerKey(KeyRefusal::UnknownSender);
            return Err(with_signed(Rejection::envelope(&e), &e));
        }
        let tls_ok = self
            .peers
            .read()
            .map(|p| p.is(&hdr.from.id, chain))
            .unwrap_or(false);
        if !tls_ok {
            return Err(Rejection::new(
                403,
                "tls_identity_mismatch",
                "the TLS client certificate is not the sending party's",
            ));
        }
        // 2. Profile: agreement, recipient, service/action, partner status.
        if hdr.to.kind != PARTY_TYPE || hdr.to.id != self.config.party {
            return Err(Rejection::new(
                422,
                "wrong_recipient",
                "the message is addressed to another party",
            ));
        }
        if hdr.agreement_id != self.config.agreement_id {
            return Err(Rejection::new(
                403,
                "agreement_not_allowed",
                "the message belongs to another agreement",
            ));
        }
        if hdr.service != SERVICE || !ACTIONS.contains(&hdr.action.as_str()) {
            return Err(Rejection::new(
                403,
                "action_not_allowed",
                "the profile does not allow this service and action",
            ));
        }
        if self
            .registry
            .get(&hdr.from.id)
            .is_ok_and(|p| p.status != "active")
        {
            return Err(Rejection::new(
                403,
                "partner_suspended",
                "the sending partner is suspended",
            ));
        }
        // 3. Time.
        let now = self.now();
        check_time(hdr, now, &self.config.time)
            .map_err(|e| with_signed(Rejection::envelope(&e), &e))?;
        // 4. Dedupe.
        let this = self.clone();
        let (from, mid) = (hdr.from.id.clone(), hdr.message_id.clone());
        let existing = blocking(move || this.store.inbound(&from, &mid)).await?;
        match existing {
            Ok(row) if row.record.facts.hdr_sha256 == view.hdr_sha256 => {
                return self.finish(row, Outcome::Duplicate, None, None).await;
            }
            Ok(_) => {
                return Err(store_rejection(&StoreError::Conflict(
                    Conflict::MessageIdReused {
                        from: hdr.from.id.clone(),
                        message_id: hdr.message_id.clone(),
                    },
                )));
            }
            Err(StoreError::NotFound) => {}
            Err(err) => return Err(store_rejection(&err)),
        }
        // 5–8. Open, verify, decrypt, check digests.
        let opened = {
            let identity = self
                .identity
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(key) = identity.encryption_key(&hdr.enc_kid) else {
                let e = EnvelopeError::WrongRecipient {
                    enc_kid: hdr.enc_kid,
                    ours: identity
                        .encryption_keys()
                        .last()
                        .map(|k| k.key.kid())
                        .unwrap_or(hdr.enc_kid),
                };
                drop(identity);
                return Err(with_signed(Rejection::envelope(&e), &e));
            };
            open(&view, key, &self.registry)
        };
        let opened = match opened {
            Ok(o) => o,
            Err(e) => return Err(with_signed(Rejection::envelope(&e), &e)),
        };
        if !opened.detached.is_empty() {
            // Every detached part verified segment by segment before anything is stored.
            let Some(spool) = self.spool.clone() else {
                return Err(Rejection::new(
                    413,
                    "detached_parts_unsupported",
                    "this node accepts no parts uploaded in segments",
                ));
            };
            let (from, detached) = (hdr.from.id.clone(), opened.detached.clone());
            blocking(move || {
                detached
                    .iter()
                    .try_for_each(|part| spool.claim(&from, part).map(|_| ()))
            })
            .await?
            .map_err(|r| Rejection::new(r.status, r.code, r.message))?;
        }
        // 9. Persist atomically.
        let salts = LogSalts::generate(opened.manifest.parts.len())
            .map_err(|e| Rejection::unavailable("internal", e.to_string()))?;
        let mut salt_bytes = salts.hdr.to_vec();
        salt_bytes.extend_from_slice(&salts.sig);
        salts
            .parts
            .iter()
            .for_each(|s| salt_bytes.extend_from_slice(s));
        let record = InboundRecord {
            facts: MessageFacts {
                message_id: hdr.message_id.clone(),
                agreement_id: hdr.agreement_id.clone(),
                from_party: hdr.from.id.clone(),
                to_party: hdr.to.id.clone(),
                conversation_id: hdr.conversation_id.clone(),
                service: hdr.service.clone(),
                action: hdr.action.clone(),
                created_at: hdr.created_at,
                expires_at: hdr.expires_at.unwrap_or(u64::MAX >> 1),
                hdr_sha256: view.hdr_sha256,
            },
            wire: body.to_vec(),
            salts: salt_bytes,
            received_at: now,
        };
        // 10. The msg_in entry commits with the inbox row (and its index in the row), so
        // the receipt waits for one commit, not three.
        let entry = msg_in_entry(hdr, &opened, &salts, &hdr.agreement_id, now)?;
        // The receipt is built in the same commit, from the checkpoint it signs.
        let builder = {
            let this = self.clone();
            let facts = record.facts.clone();
            let (to, from) = (hdr.to.clone(), hdr.from.clone());
            let (hdr_sha256, sig_sha256) = (opened.hdr_sha256, opened.sig_sha256);
            let parts = part_digests(&opened);
            let (entry, salts) = (entry.clone(), salts.clone());
            Box::new(move |index: u64, proof: caravan_tlog::proof::TlogProof| {
                this.receipt_for(ReceiptFacts {
                    facts: &facts,
                    to: &to,
                    from: &from,
                    received_at: now,
                    hdr_sha256,
                    sig_sha256,
                    parts,
                    index,
                    entry,
                    salts,
                    proof: proof.encode(),
                })
                .ok()
            })
        };
        let (accepted, log_index, receipt) = self
            .commits
            .write_received(ExchangeWrite::AcceptInbound(record), entry.clone(), builder)
            .await;
        let accepted = match accepted {
            Ok(WriteOutcome::Inbound(accepted)) => *accepted,
            Ok(other) => {
                return Err(Rejection::new(
                    500,
                    "internal",
                    format!("the store answered {other:?} to an inbound write"),
                ));
            }
            Err(e) => return Err(store_rejection(&e)),
        };
        let row = match accepted {
            InboundAccept::Inserted(row) => {
                self.inbox_wake.notify_waiters();
                if let Some(receipt) = receipt {
                    return Ok(receipt);
                }
                row
            }
            InboundAccept::Duplicate(row) => {
                return self.finish(row, Outcome::Duplicate, None, None).await;
            }
        };
        // 11. Log msg_in (unless it committed with the row), sign the receipt.
        let logged = log_index.map(|index| (index, entry));
        self.finish(row, Outcome::Accepted, Some(opened), logged)
            .await
    }

    /// Logs `msg_in` if not yet, waits for a checkpoint covering it, signs and stores the
    /// receipt (or returns the stored one) and logs `receipt_out`.
    ///
    /// `opened` is the message as the receiver procedure just opened it; without it
    /// (a duplicate delivery finishing an earlier one) the stored wire object is opened
    /// again. `logged` is the `msg_in` index and entry when they committed with the row.
    async fn finish(
        self: &Arc<Self>,
        row: InboundRow,
        outcome: Outcome,
        opened: Option<caravan_envelope::Opened>,
        logged: Option<(u64, Vec<u8>)>,
    ) -> Result<Vec<u8>, Rejection> {
        let facts = row.record.facts.clone();
        if let (Some(receipt), Outcome::Duplicate) = (&row.receipt, outcome) {
            // The stored receipt says `accepted`; a duplicate gets the same facts with
            // outcome `duplicate`, freshly signed.
            return self.reissue(receipt, &facts);
        }
        if let Some(receipt) = &row.receipt {
            return Ok(receipt.clone());
        }
        let view = WireView::decode(&row.record.wire, &self.config.limits)
            .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
        let opened = match opened {
            Some(opened) => opened,
            None => {
                let identity = self
                    .identity
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let key = identity
                    .encryption_key(&view.header.enc_kid)
                    .ok_or_else(|| Rejection::new(500, "internal", "stored message key gone"))?;
                open(&view, key, &self.registry)
                    .map_err(|e| Rejection::new(500, "internal", e.to_string()))?
            }
        };
        let salt_list = split_salts(&row.record.salts)
            .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
        if salt_list.len() != opened.manifest.parts.len() + 2 {
            return Err(Rejection::new(500, "internal", "stored salts do not fit"));
        }
        let salts = LogSalts {
            hdr: salt_list[0],
            sig: salt_list[1],
            parts: salt_list[2..].to_vec(),
        };
        // Normally msg_in, its index in the row and a checkpoint covering it committed
        // with the row. When they could not (a batch that had to commit without its log
        // entries), the entry goes through the appender's queue here, and its index is
        // recorded with the receipt, in one transaction. Either way the entry and the
        // checkpoint covering it are durable before the receipt is signed. After a crash
        // the stored entry is used (a re-encoding with a different `t` would not match).
        let (index, fresh, logged) = match (row.log_index, logged) {
            (_, Some((index, entry_bytes))) => (index, Some(entry_bytes), None),
            (Some(index), None) => (index, None, None),
            (None, None) => {
                let entry_bytes = msg_in_entry(
                    &view.header,
                    &opened,
                    &salts,
                    &facts.agreement_id,
                    row.record.received_at,
                )?;
                let ticket = self
                    .log
                    .appender()
                    .submit(entry_bytes.clone())
                    .map_err(|e| Rejection::unavailable("log_unavailable", e.to_string()))?;
                let index = ticket
                    .index()
                    .await
                    .map_err(|e| Rejection::unavailable("log_unavailable", e.to_string()))?;
                let logged = ExchangeWrite::InboundLogged {
                    from_party: facts.from_party.clone(),
                    message_id: facts.message_id.clone(),
                    log_index: index,
                };
                (index, Some(entry_bytes), Some(logged))
            }
        };
        let stored_entry = if let Some(entry_bytes) = fresh {
            entry_bytes
        } else {
            let this = self.clone();
            let origin = self.log.config().origin.clone();
            blocking(move || this.log.store().entries(&origin, index, 1))
                .await?
                .map_err(|e| store_rejection(&e))?
                .pop()
                .ok_or_else(|| Rejection::unavailable("log_unavailable", "entry not readable"))?
        };
        tokio::time::timeout(
            self.config.receipt_wait,
            self.log.appender().wait_for_checkpoint(index),
        )
        .await
        .map_err(|_| Rejection::unavailable("log_unavailable", "no checkpoint yet"))?
        .map_err(|e| Rejection::unavailable("log_unavailable", e.to_string()))?;
        let this = self.clone();
        let proof = blocking(move || this.log.proof(index))
            .await?
            .map_err(|e| Rejection::unavailable("log_unavailable", e.to_string()))?
            .encode();
        let receipt = self.receipt_for(ReceiptFacts {
            facts: &facts,
            to: &view.header.to,
            from: &view.header.from,
            received_at: row.record.received_at,
            hdr_sha256: opened.hdr_sha256,
            sig_sha256: opened.sig_sha256,
            parts: part_digests(&opened),
            index,
            entry: stored_entry,
            salts,
            proof,
        })?;
        let BuiltReceipt {
            write: receipted,
            entry: receipt_out,
            receipt: signed,
        } = receipt;
        // The receipt is answered only when it is durable. receipt_out normally commits
        // with it; after a fallback (msg_in logged through the queue), the index first,
        // then the receipt, queued together and committed in that order, and receipt_out
        // through the queue.
        let unlogged = match logged {
            None => {
                let (result, index) = self
                    .commits
                    .write_logged(receipted, receipt_out.clone())
                    .await;
                result.map_err(|e| store_rejection(&e))?;
                index.is_none().then_some(receipt_out)
            }
            Some(logged) => {
                for result in self.commits.write_all(vec![logged, receipted]).await {
                    result.map_err(|e| store_rejection(&e))?;
                }
                Some(receipt_out)
            }
        };
        if let Some(entry) = unlogged
            && let Err(err) = self.log.appender().submit(entry)
        {
            tracing::error!(message_id = %facts.message_id, error = %err, "receipt_out not logged");
        }
        if outcome == Outcome::Duplicate {
            return self.reissue(&signed, &facts);
        }
        Ok(signed)
    }

    /// Signs the receipt of a received message whose `msg_in` entry is at `index` under
    /// the checkpoint in `proof`, and builds the write that stores it and its
    /// `receipt_out` entry.
    fn receipt_for(&self, r: ReceiptFacts<'_>) -> Result<BuiltReceipt, Rejection> {
        let receipt = ReceiptBody {
            receipt_id: format!("{}@{}", uuid_v7(self.now()), self.config.host),
            ref_to: r.facts.message_id.clone(),
            from: r.to.clone(),
            to: r.from.clone(),
            received_at: r.received_at,
            hdr_sha256: r.hdr_sha256,
            sig_sha256: r.sig_sha256,
            parts: r.parts,
            outcome: Outcome::Accepted,
            log: ReceiptLog {
                origin: self.log.config().origin.clone(),
                index: r.index,
                entry: r.entry,
                salts: r.salts,
            },
            proof: r.proof,
        };
        let signed = {
            let identity = self
                .identity
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = identity
                .signing_key_at(self.now())
                .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
            sign_receipt(&receipt, key)
        };
        let salt = random32();
        let receipted = ExchangeWrite::InboundReceipted {
            from_party: r.facts.from_party.clone(),
            message_id: r.facts.message_id.clone(),
            receipt: signed.clone(),
            receipt_salt: salt,
        };
        let event = ReceiptEvent {
            receipt_id: receipt.receipt_id.clone(),
            ref_to: r.facts.message_id.clone(),
            receipt_commit: commit(&salt, &signed),
            partner_origin: String::new(),
            partner_index: 0,
        };
        let receipt_out = Entry {
            t: self.now(),
            agreement_id: r.facts.agreement_id.clone(),
            body: EntryBody::ReceiptOut(event),
        }
        .encode()
        .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
        Ok(BuiltReceipt {
            write: receipted,
            entry: receipt_out,
            receipt: signed,
        })
    }

    /// The stored receipt's facts with outcome `duplicate`, signed now.
    fn reissue(&self, stored: &[u8], facts: &MessageFacts) -> Result<Vec<u8>, Rejection> {
        let identity = self
            .identity
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sign1 = caravan_envelope::cose::Sign1::parse(stored, CONTENT_TYPE_RECEIPT_WIRE)
            .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
        let own = identity
            .signing_keys()
            .iter()
            .find(|k| k.key.kid() == sign1.kid)
            .map(|k| k.key.verifying_key())
            .ok_or_else(|| Rejection::new(500, "internal", "stored receipt key gone"))?;
        let mut body = verify_receipt(stored, &own)
            .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
        debug_assert_eq!(body.ref_to, facts.message_id);
        body.outcome = Outcome::Duplicate;
        let key = identity
            .signing_key_at(self.now())
            .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
        Ok(sign_receipt(&body, key))
    }

    /// Stores an uploaded segment of a large part (`PUT /caravan/v1/parts/{part_ref}/{n}`)
    /// from the TLS peer with certificate `chain`. Nothing of a message is stored: the
    /// segments are checked when the message that names them arrives.
    pub async fn put_segment(
        self: &Arc<Self>,
        chain: &[rustls::pki_types::CertificateDer<'static>],
        part_ref: &str,
        n: &str,
        body: Bytes,
    ) -> Result<(), Rejection> {
        let Some(party) = self.peer_party(chain) else {
            return Err(Rejection::new(
                403,
                "unknown_sender",
                "the TLS client is not a registered partner",
            ));
        };
        let Some(spool) = self.spool.clone() else {
            return Err(Rejection::new(
                413,
                "detached_parts_unsupported",
                "this node accepts no parts uploaded in segments",
            ));
        };
        let Some(part_ref) = parse_part_ref(part_ref) else {
            return Err(Rejection::new(
                400,
                "part_ref_invalid",
                "a part_ref is the 64 lower-case hex digits of the ciphertext's SHA-256",
            ));
        };
        let Ok(n) = n.parse::<u64>() else {
            return Err(Rejection::new(
                400,
                "segment_number_invalid",
                "a segment number is a decimal integer from 0",
            ));
        };
        let max_segments = segments_of(caravan_envelope::stream::ciphertext_len(
            self.config.limits.max_part,
        ));
        blocking(move || spool.put_segment(&party, &part_ref, n, &body, max_segments))
            .await?
            .map_err(|r| Rejection::new(r.status, r.code, r.message))
    }

    /// The detached parts of a received message: id, media type, plaintext length.
    /// Blocking.
    pub fn detached_parts(
        &self,
        from: &str,
        message_id: &str,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let (_, opened) = self.open_stored(from, message_id)?;
        Ok(opened
            .detached
            .iter()
            .map(|d| {
                (
                    d.info.part_id.clone(),
                    d.info.media_type.clone(),
                    d.info.length,
                )
            })
            .collect())
    }

    /// Decrypts a received message's detached part into `writer`, segment by segment,
    /// checking it against the signed manifest again. Blocking.
    pub fn open_detached_part(
        &self,
        from: &str,
        message_id: &str,
        part_id: &str,
        writer: impl std::io::Write,
    ) -> Result<caravan_envelope::PartSummary, StoreError> {
        let (_, opened) = self.open_stored(from, message_id)?;
        let part = opened
            .detached
            .iter()
            .find(|d| d.info.part_id == part_id)
            .ok_or(StoreError::NotFound)?;
        let spool = self.spool.as_ref().ok_or(StoreError::NotFound)?;
        let file = std::fs::File::open(spool.inbound_path(from, &part.part_ref))
            .map_err(|e| StoreError::Other(format!("part {part_id} unreadable: {e}")))?;
        part.open(std::io::BufReader::new(file), writer)
            .map_err(|e| StoreError::Other(format!("part {part_id}: {e}")))
    }

    fn open_stored(
        &self,
        from: &str,
        message_id: &str,
    ) -> Result<(InboundRow, caravan_envelope::Opened), StoreError> {
        let row = self.store.inbound(from, message_id)?;
        let bad = |e: String| StoreError::Other(format!("stored message unreadable: {e}"));
        let view = WireView::decode(&row.record.wire, &self.config.limits)
            .map_err(|e| bad(e.to_string()))?;
        let identity = self.identity();
        let key = identity
            .encryption_key(&view.header.enc_kid)
            .ok_or_else(|| bad("its encryption key is gone".into()))?;
        let opened = open(&view, key, &self.registry).map_err(|e| bad(e.to_string()))?;
        Ok((row, opened))
    }

    /// Our stored receipt for `(from, message_id)`, for `GET /caravan/v1/receipts/{id}`.
    /// Blocking.
    pub fn stored_receipt(&self, from: &str, message_id: &str) -> Result<Vec<u8>, StoreError> {
        self.store
            .inbound(from, message_id)?
            .receipt
            .ok_or(StoreError::NotFound)
    }

    // ---- hand-over -----------------------------------------------------------------

    /// Received messages of `action` not yet acknowledged, in arrival order, decrypted.
    /// Blocking.
    pub fn pending(&self, action: &str, limit: u32) -> Result<Vec<ReceivedMessage>, StoreError> {
        let rows = self.store.pending_inbound(SERVICE, action, limit)?;
        let identity = self.identity();
        rows.into_iter()
            .map(|row| {
                let bad = |e: String| StoreError::Other(format!("stored message unreadable: {e}"));
                let view = WireView::decode(&row.record.wire, &self.config.limits)
                    .map_err(|e| bad(e.to_string()))?;
                let key = identity
                    .encryption_key(&view.header.enc_kid)
                    .ok_or_else(|| bad("its encryption key is gone".into()))?;
                let opened = open(&view, key, &self.registry).map_err(|e| bad(e.to_string()))?;
                Ok(ReceivedMessage {
                    seq: row.seq,
                    from: row.record.facts.from_party,
                    message_id: row.record.facts.message_id,
                    conversation_id: row.record.facts.conversation_id,
                    ref_to: view.header.ref_to.clone(),
                    action: row.record.facts.action,
                    created_at: row.record.facts.created_at,
                    parts: opened
                        .parts
                        .into_iter()
                        .map(|p| (p.info.part_id, p.info.media_type, p.body))
                        .collect(),
                })
            })
            .collect()
    }

    /// Acknowledges hand-over: these messages are never handed over again. Blocking.
    pub fn ack(&self, seqs: &[i64]) -> Result<(), StoreError> {
        self.store.inbound_handed_over(seqs)
    }

    /// Waits until a new message arrives (or `timeout`).
    pub async fn wait_for_inbox(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.inbox_wake.notified()).await;
    }
}

/// The parts' plaintext digests a receipt states.
fn part_digests(opened: &caravan_envelope::Opened) -> Vec<PartDigest> {
    opened
        .manifest
        .parts
        .iter()
        .map(|p| PartDigest {
            part_id: p.part_id.clone(),
            sha256: p.sha256,
        })
        .collect()
}

/// What a receipt states about a received message.
struct ReceiptFacts<'a> {
    facts: &'a MessageFacts,
    to: &'a Party,
    from: &'a Party,
    received_at: u64,
    /// SHA-256 of the wire header and of the sender's COSE_Sign1, and the parts'
    /// plaintext digests, as the receiver recomputed them.
    hdr_sha256: [u8; 32],
    sig_sha256: [u8; 32],
    parts: Vec<PartDigest>,
    index: u64,
    entry: Vec<u8>,
    salts: LogSalts,
    /// The encoded tlog-proof of the `msg_in` entry.
    proof: String,
}

/// The `msg_in` entry of a received message, as logged: its commitments under `salts`,
/// stamped with the time it was received.
fn msg_in_entry(
    header: &Header,
    opened: &caravan_envelope::Opened,
    salts: &LogSalts,
    agreement_id: &str,
    received_at: u64,
) -> Result<Vec<u8>, Rejection> {
    let event = message_event(
        header,
        &opened.hdr_sha256,
        &opened.sig_sha256,
        &opened.manifest.parts,
        &opened.signer_kid,
        salts,
        Vec::new(),
    )
    .map_err(|e| Rejection::new(500, "internal", e.to_string()))?;
    Entry {
        t: received_at,
        agreement_id: agreement_id.to_owned(),
        body: EntryBody::MsgIn(event),
    }
    .encode()
    .map_err(|e| Rejection::new(500, "internal", e.to_string()))
}

/// The error code of a rejection body (the `caravan-error` JSON or a signed error).
fn error_code(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        code: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => b.code,
        Err(_) => format!("{} bytes", body.len()),
    }
}

/// The `part_ref`s of a stored wire object's detached parts.
fn view_parts_detached(wire: &[u8], limits: &Limits) -> Vec<[u8; 32]> {
    WireView::decode(wire, limits)
        .map(|v| {
            v.parts
                .iter()
                .filter(|p| matches!(p.body, WireBody::Detached))
                .map(|p| p.ct_sha256)
                .collect()
        })
        .unwrap_or_default()
}

/// SHA-256 helper for callers that report digests.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
