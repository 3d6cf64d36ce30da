//! Non-repudiation receipts and signed errors (spec §5), and their offline verification.
//!
//! A receipt is a COSE_Sign1 by the receiver's message-signing key over a deterministic
//! CBOR map: which message arrived (`ref_to`, `hdr_sha256`, `sig_sha256`, each part's
//! plaintext SHA-256), when, with what outcome, and the receiver's log entry for it with
//! the salts behind its commitments and a C2SP tlog-proof. That is enough for an auditor
//! holding only public keys to check, offline, that the receiver signed the receipt, that
//! the entry is in the receiver's log under a checkpoint its log key signed (and, if
//! required, the sender's witness cosigned), and that the entry commits to exactly this
//! message ([`verify_receipt_offline`]). The log-entry schema and the commitment function
//! are `caravan_log::entry`'s; [`message_event`] builds the entry fields from a message
//! so sender, receiver and auditor compute commitments one way.

use caravan_log::entry::{Entry, EntryBody, MessageEvent, commit_digest};
use caravan_tlog::note::VerifierList;
use caravan_tlog::proof::{Leaf, ProofPolicy, ProofVerdict, TlogProof, verify_offline};

use crate::cbor::Value;
use crate::cose::{self, CONTENT_TYPE_ERROR, CONTENT_TYPE_RECEIPT, Sign1};
use crate::envelope::Sealed;
use crate::error::{Category, EnvelopeError};
use crate::header::{Fields, Header, MAX_ID_LEN, PartInfo, Party};
use crate::keys::{Kid, MessageSigningKey, MessageVerifyingKey};

/// Largest receipt or signed error accepted for verification: a log entry is at most
/// 64 KiB and a tlog-proof a few KiB.
pub const MAX_RECEIPT_BYTES: usize = 128 << 10;
/// Largest tlog-proof text carried in a receipt.
pub const MAX_PROOF_TEXT: usize = 32 << 10;
/// Longest `detail` of a signed error.
pub const MAX_ERROR_DETAIL: usize = 1024;

const RECEIPT: &str = "receipt";
const ERROR: &str = "signed error";

/// Whether the receiver accepted the message now or had already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// First delivery.
    Accepted,
    /// A repeat with the same `hdr_sha256`; the business layer saw it once.
    Duplicate,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// The salts behind the commitments of a `msg_in`/`msg_out` log entry (spec §11.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSalts {
    /// Salt of `commit(hdr)`.
    pub hdr: [u8; 32],
    /// Salt of `commit(sig)`.
    pub sig: [u8; 32],
    /// Salt of each `commit(part)`, in manifest order.
    pub parts: Vec<[u8; 32]>,
}

impl LogSalts {
    /// Fresh random salts for a message with `n_parts` parts.
    pub fn generate(n_parts: usize) -> Result<LogSalts, EnvelopeError> {
        let mut random = vec![0u8; 32 * (n_parts + 2)];
        getrandom::getrandom(&mut random).map_err(|e| {
            EnvelopeError::Io(format!("no randomness from the operating system: {e}"))
        })?;
        let mut chunks = random
            .chunks_exact(32)
            .map(|c| <[u8; 32]>::try_from(c).expect("32-byte chunk"));
        let hdr = chunks.next().expect("two salts at least");
        let sig = chunks.next().expect("two salts at least");
        Ok(LogSalts {
            hdr,
            sig,
            parts: chunks.collect(),
        })
    }
}

/// The fields of a `msg_in`/`msg_out` log entry for a message: routing metadata and salted
/// commitments to the header bytes, the COSE_Sign1 bytes and each part's plaintext, never
/// the content itself. `markings` are TLP/PAP codes only.
pub fn message_event(
    header: &Header,
    hdr_sha256: &[u8; 32],
    sig_sha256: &[u8; 32],
    manifest_parts: &[PartInfo],
    signer_kid: &Kid,
    salts: &LogSalts,
    markings: Vec<String>,
) -> Result<MessageEvent, EnvelopeError> {
    if salts.parts.len() != manifest_parts.len() {
        return Err(EnvelopeError::invalid(
            "log salts",
            "parts",
            "one salt per part is required",
        ));
    }
    Ok(MessageEvent {
        message_id: header.message_id.clone(),
        conversation_id: header.conversation_id.clone(),
        from: header.from.id.clone(),
        to: header.to.id.clone(),
        service: header.service.clone(),
        action: header.action.clone(),
        created_at: header.created_at,
        header_commit: commit_digest(&salts.hdr, hdr_sha256),
        signature_commit: commit_digest(&salts.sig, sig_sha256),
        part_commits: manifest_parts
            .iter()
            .zip(&salts.parts)
            .map(|(part, salt)| commit_digest(salt, &part.sha256))
            .collect(),
        kid: signer_kid.to_string(),
        markings,
    })
}

/// The receiver's log entry for the message, as carried in the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLog {
    /// The receiver's log origin.
    pub origin: String,
    /// The entry's index.
    pub index: u64,
    /// The entry bytes (a `msg_in` entry).
    pub entry: Vec<u8>,
    /// The salts behind its commitments.
    pub salts: LogSalts,
}

/// A part as the receiver recomputed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartDigest {
    /// The part id.
    pub part_id: String,
    /// Plaintext SHA-256.
    pub sha256: [u8; 32],
}

/// What a receipt says (spec §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptBody {
    /// The receipt's own id.
    pub receipt_id: String,
    /// The acknowledged message id.
    pub ref_to: String,
    /// The receiver (signer of the receipt).
    pub from: Party,
    /// The original sender.
    pub to: Party,
    /// When the receiver accepted the message, Unix ms.
    pub received_at: u64,
    /// SHA-256 of the wire header.
    pub hdr_sha256: [u8; 32],
    /// SHA-256 of the sender's COSE_Sign1.
    pub sig_sha256: [u8; 32],
    /// Each part's plaintext SHA-256 as recomputed.
    pub parts: Vec<PartDigest>,
    /// Accepted or duplicate.
    pub outcome: Outcome,
    /// The receiver's log entry.
    pub log: ReceiptLog,
    /// C2SP tlog-proof text for that entry.
    pub proof: String,
}

fn digest_value(d: &[u8; 32]) -> Value {
    Value::bytes(d.to_vec())
}

impl ReceiptBody {
    fn to_value(&self) -> Value {
        let parts = self
            .parts
            .iter()
            .map(|p| {
                Value::Map(vec![
                    (Value::text("part_id"), Value::text(p.part_id.clone())),
                    (Value::text("sha256"), digest_value(&p.sha256)),
                ])
            })
            .collect();
        let salts = Value::Map(vec![
            (Value::text("hdr"), digest_value(&self.log.salts.hdr)),
            (Value::text("sig"), digest_value(&self.log.salts.sig)),
            (
                Value::text("parts"),
                Value::Array(self.log.salts.parts.iter().map(digest_value).collect()),
            ),
        ]);
        let log = Value::Map(vec![
            (Value::text("origin"), Value::text(self.log.origin.clone())),
            (Value::text("index"), Value::Uint(self.log.index)),
            (Value::text("entry"), Value::bytes(self.log.entry.clone())),
            (Value::text("salts"), salts),
        ]);
        Value::Map(vec![
            (
                Value::text("receipt_id"),
                Value::text(self.receipt_id.clone()),
            ),
            (Value::text("ref_to"), Value::text(self.ref_to.clone())),
            (Value::text("from"), self.from.to_value()),
            (Value::text("to"), self.to.to_value()),
            (Value::text("received_at"), Value::Uint(self.received_at)),
            (Value::text("hdr_sha256"), digest_value(&self.hdr_sha256)),
            (Value::text("sig_sha256"), digest_value(&self.sig_sha256)),
            (Value::text("parts"), Value::Array(parts)),
            (Value::text("outcome"), Value::text(self.outcome.as_str())),
            (Value::text("log"), log),
            (Value::text("proof"), Value::text(self.proof.clone())),
        ])
    }

    fn from_value(value: Value) -> Result<ReceiptBody, EnvelopeError> {
        let mut fields = Fields::new(RECEIPT, value)?;
        let parts = fields
            .array("parts")?
            .into_iter()
            .map(|p| {
                let mut part = Fields::new(RECEIPT, p)?;
                let digest = PartDigest {
                    part_id: part.text("part_id", MAX_ID_LEN)?,
                    sha256: part.digest("sha256")?,
                };
                part.finish()?;
                Ok(digest)
            })
            .collect::<Result<Vec<_>, EnvelopeError>>()?;
        let outcome = match fields.text("outcome", 16)?.as_str() {
            "accepted" => Outcome::Accepted,
            "duplicate" => Outcome::Duplicate,
            _ => {
                return Err(EnvelopeError::invalid(
                    RECEIPT,
                    "outcome",
                    "not accepted or duplicate",
                ));
            }
        };
        let mut log = Fields::new(RECEIPT, fields.required("log")?)?;
        let mut salts = Fields::new(RECEIPT, log.required("salts")?)?;
        let salt_parts = salts
            .array("parts")?
            .into_iter()
            .map(|v| match v {
                Value::Bytes(b) => <[u8; 32]>::try_from(b).map_err(|_| {
                    EnvelopeError::invalid(RECEIPT, "salts", "a salt is not 32 bytes")
                }),
                _ => Err(EnvelopeError::invalid(
                    RECEIPT,
                    "salts",
                    "a salt is not a byte string",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let log_salts = LogSalts {
            hdr: salts.digest("hdr")?,
            sig: salts.digest("sig")?,
            parts: salt_parts,
        };
        salts.finish()?;
        let receipt_log = ReceiptLog {
            origin: log.text("origin", MAX_ID_LEN)?,
            index: log.uint("index")?,
            entry: log.bytes("entry")?,
            salts: log_salts,
        };
        log.finish()?;
        let proof = match fields.required("proof")? {
            Value::Text(t) if t.len() <= MAX_PROOF_TEXT => t,
            _ => {
                return Err(EnvelopeError::invalid(
                    RECEIPT,
                    "proof",
                    "not a tlog-proof text of at most 32 KiB",
                ));
            }
        };
        let body = ReceiptBody {
            receipt_id: fields.text("receipt_id", MAX_ID_LEN)?,
            ref_to: fields.text("ref_to", MAX_ID_LEN)?,
            from: Party::from_value(RECEIPT, fields.required("from")?)?,
            to: Party::from_value(RECEIPT, fields.required("to")?)?,
            received_at: fields.uint("received_at")?,
            hdr_sha256: fields.digest("hdr_sha256")?,
            sig_sha256: fields.digest("sig_sha256")?,
            parts,
            outcome,
            log: receipt_log,
            proof,
        };
        fields.finish()?;
        Ok(body)
    }

    /// The sender's check (spec §5): this receipt acknowledges exactly the message it
    /// sealed, with the digests it computed.
    pub fn check_matches(&self, header: &Header, sealed: &Sealed) -> Result<(), EnvelopeError> {
        let mismatch = |reason: &str| {
            Err(EnvelopeError::ReceiptMismatch {
                reason: reason.to_owned(),
            })
        };
        if self.ref_to != header.message_id {
            return mismatch("ref_to is not the message id");
        }
        if self.from != header.to || self.to != header.from {
            return mismatch("the parties are not the message's, reversed");
        }
        if self.hdr_sha256 != sealed.hdr_sha256 {
            return mismatch("hdr_sha256 differs");
        }
        if self.sig_sha256 != sealed.sig_sha256 {
            return mismatch("sig_sha256 differs");
        }
        let ours = sealed
            .manifest
            .parts
            .iter()
            .map(|p| (p.part_id.as_str(), &p.sha256));
        if !ours.eq(self.parts.iter().map(|p| (p.part_id.as_str(), &p.sha256))) {
            return mismatch("part digests differ");
        }
        Ok(())
    }
}

/// Signs a receipt with the receiver's message-signing key.
pub fn sign_receipt(body: &ReceiptBody, key: &MessageSigningKey) -> Vec<u8> {
    cose::sign(&body.to_value().to_bytes(), CONTENT_TYPE_RECEIPT, key)
}

fn open_signed(
    bytes: &[u8],
    content_type: &str,
    key: &MessageVerifyingKey,
) -> Result<Value, EnvelopeError> {
    if bytes.len() > MAX_RECEIPT_BYTES {
        return Err(EnvelopeError::TooLarge {
            what: "signed receipt or error",
            size: bytes.len() as u64,
            max: MAX_RECEIPT_BYTES as u64,
        });
    }
    let sign1 = Sign1::parse(bytes, content_type)?;
    sign1.verify(key)?;
    Value::from_bytes(&sign1.payload).map_err(EnvelopeError::cbor("signed payload"))
}

/// Verifies a receipt's signature with the receiver's key and decodes it.
pub fn verify_receipt(
    bytes: &[u8],
    key: &MessageVerifyingKey,
) -> Result<ReceiptBody, EnvelopeError> {
    ReceiptBody::from_value(open_signed(bytes, CONTENT_TYPE_RECEIPT, key)?)
}

/// What an offline verification established.
#[derive(Debug, Clone)]
pub struct OfflineVerdict {
    /// The verified receipt.
    pub receipt: ReceiptBody,
    /// The decoded log entry it proves.
    pub entry: Entry,
    /// The tlog-proof verifier's findings (checkpoint, signers, witnesses).
    pub proof: ProofVerdict,
}

/// The auditor's check of a receipt with public keys only: the receipt's signature, the
/// tlog-proof (log signature by one of `log_verifiers`, at least `min_witnesses`
/// cosignatures from `witness_verifiers`, inclusion of the carried entry), and that the
/// proven entry is the receiver's `msg_in` for this message, its commitments recomputed
/// from the receipt's digests and salts.
pub fn verify_receipt_offline(
    receipt: &[u8],
    receiver_key: &MessageVerifyingKey,
    log_verifiers: &VerifierList,
    witness_verifiers: &VerifierList,
    min_witnesses: usize,
) -> Result<OfflineVerdict, EnvelopeError> {
    let body = verify_receipt(receipt, receiver_key)?;
    let policy = ProofPolicy {
        origin: &body.log.origin,
        log_verifiers,
        witness_verifiers,
        min_witnesses,
    };
    let verdict = verify_offline(body.proof.as_bytes(), Leaf::Data(&body.log.entry), &policy)
        .map_err(|e| EnvelopeError::ReceiptProof {
            reason: e.to_string(),
        })?;
    check_receipt_entry(body, verdict)
}

/// Checkpoints whose signatures already verified under one fixed policy (one log's
/// verifiers, witnesses and threshold), keyed by the SHA-256 of the signed note's text.
///
/// Why: a receiver signs one checkpoint per interval and every receipt issued in that
/// interval carries the same one, so a sender verifying each receipt's tlog-proof would
/// verify the same Ed25519 note signature hundreds of times a second. A note whose exact
/// bytes verified once verifies again; only the inclusion proof (hashing) is per
/// receipt. A cache belongs to one policy: when the partner's log key changes, use a
/// new one. It holds at most [`VerifiedCheckpoints::CAPACITY`] notes and starts over
/// when full.
#[derive(Debug, Default)]
pub struct VerifiedCheckpoints {
    seen: std::sync::Mutex<std::collections::HashMap<[u8; 32], ProofVerdict>>,
}

impl VerifiedCheckpoints {
    /// Notes kept before the cache starts over.
    pub const CAPACITY: usize = 256;

    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no note is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], ProofVerdict>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`verify_receipt_offline`] for a receipt whose signature the caller already verified
/// (`body` is what [`verify_receipt`] returned), with the checkpoint signatures looked
/// up in `checkpoints` first: the same checks and errors, one note-signature
/// verification per distinct checkpoint instead of one per receipt.
pub fn verify_receipt_body_offline(
    body: ReceiptBody,
    log_verifiers: &VerifierList,
    witness_verifiers: &VerifierList,
    min_witnesses: usize,
    checkpoints: &VerifiedCheckpoints,
) -> Result<OfflineVerdict, EnvelopeError> {
    let proof_error = |reason: String| EnvelopeError::ReceiptProof { reason };
    let parsed = TlogProof::parse(body.proof.as_bytes()).map_err(|e| proof_error(e.to_string()))?;
    let key: [u8; 32] = {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(body.log.origin.as_bytes());
        h.update([0]);
        h.update(parsed.checkpoint.as_bytes());
        h.finalize().into()
    };
    let known = checkpoints.lock().get(&key).cloned();
    let verdict = match known {
        Some(mut verdict) => {
            // The note's signatures verified before; the inclusion is this receipt's.
            let leaf_hash = caravan_tlog::rfc6962::leaf_hash(&body.log.entry);
            caravan_tlog::rfc6962::verify_inclusion(
                &leaf_hash,
                parsed.index,
                verdict.size,
                &parsed.hashes,
                &verdict.root,
            )
            .map_err(|e| proof_error(format!("inclusion proof does not verify: {e}")))?;
            verdict.index = parsed.index;
            verdict.leaf_hash = leaf_hash;
            verdict.extra = parsed.extra;
            verdict
        }
        None => {
            let policy = ProofPolicy {
                origin: &body.log.origin,
                log_verifiers,
                witness_verifiers,
                min_witnesses,
            };
            let verdict =
                verify_offline(body.proof.as_bytes(), Leaf::Data(&body.log.entry), &policy)
                    .map_err(|e| proof_error(e.to_string()))?;
            let mut seen = checkpoints.lock();
            if seen.len() >= VerifiedCheckpoints::CAPACITY {
                seen.clear();
            }
            seen.insert(key, verdict.clone());
            verdict
        }
    };
    check_receipt_entry(body, verdict)
}

/// The checks after the proof: the proof is for the receipt's index, and the proven
/// entry is the receiver's `msg_in` for this message, its commitments opening to the
/// receipt's digests.
fn check_receipt_entry(
    body: ReceiptBody,
    verdict: ProofVerdict,
) -> Result<OfflineVerdict, EnvelopeError> {
    if verdict.index != body.log.index {
        return Err(EnvelopeError::ReceiptProof {
            reason: format!(
                "the proof is for index {}, the receipt names index {}",
                verdict.index, body.log.index
            ),
        });
    }

    let entry_error = |reason: &str| EnvelopeError::ReceiptLogEntry {
        reason: reason.to_owned(),
    };
    let entry = Entry::decode(&body.log.entry).map_err(|e| EnvelopeError::ReceiptLogEntry {
        reason: e.to_string(),
    })?;
    let EntryBody::MsgIn(event) = &entry.body else {
        return Err(entry_error("the entry is not a msg_in"));
    };
    if event.message_id != body.ref_to {
        return Err(entry_error(
            "the entry's message_id is not the receipt's ref_to",
        ));
    }
    if event.from != body.to.id || event.to != body.from.id {
        return Err(entry_error("the entry's parties are not the receipt's"));
    }
    let salts = &body.log.salts;
    if event.header_commit != commit_digest(&salts.hdr, &body.hdr_sha256) {
        return Err(entry_error("commit(hdr) does not open to hdr_sha256"));
    }
    if event.signature_commit != commit_digest(&salts.sig, &body.sig_sha256) {
        return Err(entry_error("commit(sig) does not open to sig_sha256"));
    }
    if event.part_commits.len() != body.parts.len() || salts.parts.len() != body.parts.len() {
        return Err(entry_error(
            "the entry, salts and receipt disagree on the number of parts",
        ));
    }
    let parts_open = event
        .part_commits
        .iter()
        .zip(&salts.parts)
        .zip(&body.parts)
        .all(|((commit, salt), part)| *commit == commit_digest(salt, &part.sha256));
    if !parts_open {
        return Err(entry_error(
            "a part commitment does not open to the receipt's digest",
        ));
    }
    Ok(OfflineVerdict {
        receipt: body,
        entry,
        proof: verdict,
    })
}

/// A signed error (spec §5): what the receiver refused and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedError {
    /// The refused message's id (or `unknown` when the header did not parse).
    pub ref_to: String,
    /// Stable code, e.g. `signature_invalid`.
    pub code: String,
    /// Category.
    pub category: Category,
    /// Whether resending can succeed.
    pub retryable: bool,
    /// Human-readable detail, no internal text.
    pub detail: String,
}

impl SignedError {
    /// The signed error for an envelope failure.
    pub fn from_error(ref_to: &str, error: &EnvelopeError) -> SignedError {
        // A stream failure's text is the operating system's (paths, devices): the
        // partner gets the code and a fixed sentence, never internal text.
        let mut detail = match error {
            EnvelopeError::Io(_) => "the part stream could not be read or stored".to_owned(),
            other => other.to_string(),
        };
        if detail.len() > MAX_ERROR_DETAIL {
            let mut cut = MAX_ERROR_DETAIL;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
        }
        SignedError {
            ref_to: ref_to.to_owned(),
            code: error.code().to_owned(),
            category: error.category(),
            retryable: error.retryable(),
            detail,
        }
    }

    fn to_value(&self) -> Value {
        Value::Map(vec![
            (Value::text("ref_to"), Value::text(self.ref_to.clone())),
            (Value::text("code"), Value::text(self.code.clone())),
            (Value::text("category"), Value::text(self.category.as_str())),
            (
                Value::text("retryable"),
                Value::Uint(u64::from(self.retryable)),
            ),
            (Value::text("detail"), Value::text(self.detail.clone())),
        ])
    }

    fn from_value(value: Value) -> Result<SignedError, EnvelopeError> {
        let mut fields = Fields::new(ERROR, value)?;
        let category = fields.text("category", 16)?;
        let retryable = match fields.uint("retryable")? {
            0 => false,
            1 => true,
            _ => return Err(EnvelopeError::invalid(ERROR, "retryable", "not 0 or 1")),
        };
        let error = SignedError {
            ref_to: fields.text("ref_to", MAX_ID_LEN)?,
            code: fields.text("code", 64)?,
            category: Category::parse(&category).ok_or_else(|| {
                EnvelopeError::invalid(
                    ERROR,
                    "category",
                    "not transport, security, profile or content",
                )
            })?,
            retryable,
            detail: fields.text("detail", MAX_ERROR_DETAIL)?,
        };
        fields.finish()?;
        Ok(error)
    }
}

/// Signs an error with the receiver's message-signing key.
pub fn sign_error(error: &SignedError, key: &MessageSigningKey) -> Vec<u8> {
    cose::sign(&error.to_value().to_bytes(), CONTENT_TYPE_ERROR, key)
}

/// Verifies a signed error with the receiver's key and decodes it.
pub fn verify_error(bytes: &[u8], key: &MessageVerifyingKey) -> Result<SignedError, EnvelopeError> {
    SignedError::from_value(open_signed(bytes, CONTENT_TYPE_ERROR, key)?)
}
