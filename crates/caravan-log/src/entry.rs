//! Log entries: what a node records about each exchange and governance event.
//!
//! An entry is a deterministic-CBOR map with integer keys (spec §11.2): common fields
//! `v`, `type`, `t` (Unix ms) and `agreement_id`, then the fields of its type (§11.3).
//! Entries hold only **commitments and metadata**: content appears as a salted
//! [`commit`], never as a payload, a name, free text or a raw digest of personal data, so
//! deleting an object and its salt leaves a commitment nothing can be linked to and
//! erasure never rewrites the log. Decoding is strict (unknown or missing fields, wrong
//! types and non-canonical bytes are refused), so an entry has exactly one encoding and
//! therefore one leaf hash.

use sha2::{Digest, Sha256};

use crate::cbor::{CborError, Value};

/// Largest entry: entry bundles prefix each entry with a uint16 length.
pub const MAX_ENTRY_SIZE: usize = 65_535;
/// The schema version this code writes and reads.
pub const VERSION: u64 = 1;

/// A SHA-256 value.
pub type Digest32 = [u8; 32];

/// `commit(x) = SHA-256("caravan/v1 commit" || 0x00 || salt32 || SHA-256(x))`.
///
/// The salt is random per object and kept beside it; without it the commitment cannot be
/// tested against guesses of low-entropy content.
pub fn commit(salt: &[u8; 32], content: &[u8]) -> Digest32 {
    commit_digest(salt, &Sha256::digest(content).into())
}

/// [`commit`] from an already computed `SHA-256(x)`.
pub fn commit_digest(salt: &[u8; 32], content_sha256: &Digest32) -> Digest32 {
    let mut h = Sha256::new();
    h.update(b"caravan/v1 commit");
    h.update([0u8]);
    h.update(salt);
    h.update(content_sha256);
    h.finalize().into()
}

// Field numbers. Common fields first; type-specific numbers are unique across types so
// a field never changes meaning.
const K_V: u64 = 0;
const K_TYPE: u64 = 1;
const K_T: u64 = 2;
const K_AGREEMENT: u64 = 3;
const K_MESSAGE_ID: u64 = 10;
const K_CONVERSATION_ID: u64 = 11;
const K_FROM: u64 = 12;
const K_TO: u64 = 13;
const K_SERVICE: u64 = 14;
const K_ACTION: u64 = 15;
const K_CREATED_AT: u64 = 16;
const K_HDR_COMMIT: u64 = 17;
const K_SIG_COMMIT: u64 = 18;
const K_PART_COMMITS: u64 = 19;
const K_KID: u64 = 20;
const K_MARKINGS: u64 = 21;
const K_RECEIPT_ID: u64 = 30;
const K_REF_TO: u64 = 31;
const K_RECEIPT_COMMIT: u64 = 32;
const K_PARTNER_ORIGIN: u64 = 33;
const K_PARTNER_INDEX: u64 = 34;
const K_CODE: u64 = 40;
const K_ITEM_COMMIT: u64 = 50;
const K_REASON: u64 = 51;
const K_MANIFEST_VERSION: u64 = 60;
const K_MANIFEST_SHA256: u64 = 61;
const K_MANIFEST_OWNER: u64 = 62;
const K_AGREEMENT_STATUS: u64 = 70;
const K_PROFILE_VERSION: u64 = 71;
const K_DIRECTORY_VERSION: u64 = 72;
const K_ASSURANCE: u64 = 73;
const K_GOVERNANCE_SHA256: u64 = 74;
const K_AUDIT_HEAD: u64 = 80;
const K_AUDIT_COUNT: u64 = 81;
const K_SEEN_ORIGIN: u64 = 90;
const K_SEEN_SIZE: u64 = 91;
const K_SEEN_ROOT: u64 = 92;

/// A message sent or received (`msg_out`, `msg_in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    /// Message id.
    pub message_id: String,
    /// Conversation id.
    pub conversation_id: String,
    /// Sending party (an administration code, never a person).
    pub from: String,
    /// Receiving party.
    pub to: String,
    /// Service of the action catalogue.
    pub service: String,
    /// Action of the action catalogue.
    pub action: String,
    /// Creation time of the message, Unix ms.
    pub created_at: u64,
    /// `commit(header)`.
    pub header_commit: Digest32,
    /// `commit(signature)`.
    pub signature_commit: Digest32,
    /// `commit(part)` for each payload part.
    pub part_commits: Vec<Digest32>,
    /// Signer key id.
    pub kid: String,
    /// Marking codes (TLP and PAP only), e.g. `TLP:AMBER`.
    pub markings: Vec<String>,
}

/// A receipt sent or received (`receipt_out`, `receipt_in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptEvent {
    /// Receipt id.
    pub receipt_id: String,
    /// The message it acknowledges.
    pub ref_to: String,
    /// `commit(receipt)`.
    pub receipt_commit: Digest32,
    /// The partner log that recorded the message.
    pub partner_origin: String,
    /// The index there.
    pub partner_index: u64,
}

/// An error sent or received (`error_out`, `error_in`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEvent {
    /// The message it refers to.
    pub ref_to: String,
    /// Stable error code.
    pub code: String,
}

/// Whose key manifest a `key_event` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestOwner {
    /// This node's.
    Own,
    /// The partner's.
    Partner,
}

/// The type-specific part of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryBody {
    /// `msg_out`.
    MsgOut(MessageEvent),
    /// `msg_in`.
    MsgIn(MessageEvent),
    /// `receipt_out`.
    ReceiptOut(ReceiptEvent),
    /// `receipt_in`.
    ReceiptIn(ReceiptEvent),
    /// `error_out`.
    ErrorOut(ErrorEvent),
    /// `error_in`.
    ErrorIn(ErrorEvent),
    /// `erasure_done`: an object and its salt were deleted.
    ErasureDone {
        /// `commit(item_id)`.
        item_commit: Digest32,
        /// Reason code.
        reason: String,
    },
    /// `key_event`: a key manifest version took effect.
    KeyEvent {
        /// Own or partner manifest.
        owner: ManifestOwner,
        /// Manifest version.
        manifest_version: u64,
        /// SHA-256 of the manifest.
        manifest_sha256: Digest32,
    },
    /// `governance`: agreement status and versions.
    Governance {
        /// Agreement status code.
        agreement_status: String,
        /// Profile version.
        profile_version: u64,
        /// Directory version.
        directory_version: u64,
        /// Assurance state code.
        assurance_state: String,
        /// SHA-256 of the governing document set.
        documents_sha256: Digest32,
    },
    /// `audit_anchor`: the audit hash-chain head.
    AuditAnchor {
        /// Chain head.
        head: Digest32,
        /// Number of events the chain covers.
        event_count: u64,
    },
    /// `witness_seen`: the latest partner checkpoint this node cosigned.
    WitnessSeen {
        /// Partner log origin.
        origin: String,
        /// Its size.
        size: u64,
        /// Its root.
        root: Digest32,
    },
}

impl EntryBody {
    /// The `type` field.
    pub fn type_name(&self) -> &'static str {
        match self {
            EntryBody::MsgOut(_) => "msg_out",
            EntryBody::MsgIn(_) => "msg_in",
            EntryBody::ReceiptOut(_) => "receipt_out",
            EntryBody::ReceiptIn(_) => "receipt_in",
            EntryBody::ErrorOut(_) => "error_out",
            EntryBody::ErrorIn(_) => "error_in",
            EntryBody::ErasureDone { .. } => "erasure_done",
            EntryBody::KeyEvent { .. } => "key_event",
            EntryBody::Governance { .. } => "governance",
            EntryBody::AuditAnchor { .. } => "audit_anchor",
            EntryBody::WitnessSeen { .. } => "witness_seen",
        }
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Event time, Unix ms.
    pub t: u64,
    /// The agreement the log belongs to.
    pub agreement_id: String,
    /// The type-specific fields.
    pub body: EntryBody,
}

/// Why bytes are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Larger than 65,535 bytes.
    #[error("entry is {0} bytes; at most 65535 allowed")]
    TooLarge(usize),
    /// Not canonical CBOR.
    #[error("not canonical CBOR: {0}")]
    Cbor(#[from] CborError),
    /// The top level is not a map.
    #[error("entry is not a map")]
    NotAMap,
    /// A schema version this code does not read.
    #[error("unsupported entry version {0}")]
    Version(u64),
    /// An unknown `type`.
    #[error("unknown entry type {0:?}")]
    UnknownType(String),
    /// A required field is absent.
    #[error("field {0} is missing")]
    Missing(u64),
    /// A field the type does not define.
    #[error("field {0} is not defined for this entry type")]
    Unexpected(u64),
    /// A field has the wrong CBOR type or length.
    #[error("field {0} has the wrong type")]
    WrongType(u64),
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn digest(d: &Digest32) -> Value {
    Value::Bytes(d.to_vec())
}

impl Entry {
    /// The deterministic CBOR encoding. Fails only if the entry is over 65,535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let mut fields = vec![
            (K_V, Value::Uint(VERSION)),
            (K_TYPE, text(self.body.type_name())),
            (K_T, Value::Uint(self.t)),
            (K_AGREEMENT, text(&self.agreement_id)),
        ];
        match &self.body {
            EntryBody::MsgOut(m) | EntryBody::MsgIn(m) => fields.extend([
                (K_MESSAGE_ID, text(&m.message_id)),
                (K_CONVERSATION_ID, text(&m.conversation_id)),
                (K_FROM, text(&m.from)),
                (K_TO, text(&m.to)),
                (K_SERVICE, text(&m.service)),
                (K_ACTION, text(&m.action)),
                (K_CREATED_AT, Value::Uint(m.created_at)),
                (K_HDR_COMMIT, digest(&m.header_commit)),
                (K_SIG_COMMIT, digest(&m.signature_commit)),
                (
                    K_PART_COMMITS,
                    Value::Array(m.part_commits.iter().map(digest).collect()),
                ),
                (K_KID, text(&m.kid)),
                (
                    K_MARKINGS,
                    Value::Array(m.markings.iter().map(|s| text(s)).collect()),
                ),
            ]),
            EntryBody::ReceiptOut(r) | EntryBody::ReceiptIn(r) => fields.extend([
                (K_RECEIPT_ID, text(&r.receipt_id)),
                (K_REF_TO, text(&r.ref_to)),
                (K_RECEIPT_COMMIT, digest(&r.receipt_commit)),
                (K_PARTNER_ORIGIN, text(&r.partner_origin)),
                (K_PARTNER_INDEX, Value::Uint(r.partner_index)),
            ]),
            EntryBody::ErrorOut(e) | EntryBody::ErrorIn(e) => {
                fields.extend([(K_REF_TO, text(&e.ref_to)), (K_CODE, text(&e.code))]);
            }
            EntryBody::ErasureDone {
                item_commit,
                reason,
            } => fields.extend([
                (K_ITEM_COMMIT, digest(item_commit)),
                (K_REASON, text(reason)),
            ]),
            EntryBody::KeyEvent {
                owner,
                manifest_version,
                manifest_sha256,
            } => fields.extend([
                (K_MANIFEST_VERSION, Value::Uint(*manifest_version)),
                (K_MANIFEST_SHA256, digest(manifest_sha256)),
                (
                    K_MANIFEST_OWNER,
                    text(match owner {
                        ManifestOwner::Own => "own",
                        ManifestOwner::Partner => "partner",
                    }),
                ),
            ]),
            EntryBody::Governance {
                agreement_status,
                profile_version,
                directory_version,
                assurance_state,
                documents_sha256,
            } => fields.extend([
                (K_AGREEMENT_STATUS, text(agreement_status)),
                (K_PROFILE_VERSION, Value::Uint(*profile_version)),
                (K_DIRECTORY_VERSION, Value::Uint(*directory_version)),
                (K_ASSURANCE, text(assurance_state)),
                (K_GOVERNANCE_SHA256, digest(documents_sha256)),
            ]),
            EntryBody::AuditAnchor { head, event_count } => fields.extend([
                (K_AUDIT_HEAD, digest(head)),
                (K_AUDIT_COUNT, Value::Uint(*event_count)),
            ]),
            EntryBody::WitnessSeen { origin, size, root } => fields.extend([
                (K_SEEN_ORIGIN, text(origin)),
                (K_SEEN_SIZE, Value::Uint(*size)),
                (K_SEEN_ROOT, digest(root)),
            ]),
        }
        let bytes = Value::Map(fields).encode();
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// Decodes an entry strictly: canonical CBOR, known version and type, exactly the
    /// type's fields with the right types.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        let Value::Map(map) = Value::decode(bytes)? else {
            return Err(EntryError::NotAMap);
        };
        let mut f = Fields { map, used: 0 };
        let version = f.uint(K_V)?;
        if version != VERSION {
            return Err(EntryError::Version(version));
        }
        let type_name = f.text(K_TYPE)?;
        let t = f.uint(K_T)?;
        let agreement_id = f.text(K_AGREEMENT)?;
        let body = match type_name.as_str() {
            "msg_out" | "msg_in" => {
                let m = MessageEvent {
                    message_id: f.text(K_MESSAGE_ID)?,
                    conversation_id: f.text(K_CONVERSATION_ID)?,
                    from: f.text(K_FROM)?,
                    to: f.text(K_TO)?,
                    service: f.text(K_SERVICE)?,
                    action: f.text(K_ACTION)?,
                    created_at: f.uint(K_CREATED_AT)?,
                    header_commit: f.digest(K_HDR_COMMIT)?,
                    signature_commit: f.digest(K_SIG_COMMIT)?,
                    part_commits: f.digests(K_PART_COMMITS)?,
                    kid: f.text(K_KID)?,
                    markings: f.texts(K_MARKINGS)?,
                };
                if type_name == "msg_out" {
                    EntryBody::MsgOut(m)
                } else {
                    EntryBody::MsgIn(m)
                }
            }
            "receipt_out" | "receipt_in" => {
                let r = ReceiptEvent {
                    receipt_id: f.text(K_RECEIPT_ID)?,
                    ref_to: f.text(K_REF_TO)?,
                    receipt_commit: f.digest(K_RECEIPT_COMMIT)?,
                    partner_origin: f.text(K_PARTNER_ORIGIN)?,
                    partner_index: f.uint(K_PARTNER_INDEX)?,
                };
                if type_name == "receipt_out" {
                    EntryBody::ReceiptOut(r)
                } else {
                    EntryBody::ReceiptIn(r)
                }
            }
            "error_out" | "error_in" => {
                let e = ErrorEvent {
                    ref_to: f.text(K_REF_TO)?,
                    code: f.text(K_CODE)?,
                };
                if type_name == "error_out" {
                    EntryBody::ErrorOut(e)
                } else {
                    EntryBody::ErrorIn(e)
                }
            }
            "erasure_done" => EntryBody::ErasureDone {
                item_commit: f.digest(K_ITEM_COMMIT)?,
                reason: f.text(K_REASON)?,
            },
            "key_event" => EntryBody::KeyEvent {
                manifest_version: f.uint(K_MANIFEST_VERSION)?,
                manifest_sha256: f.digest(K_MANIFEST_SHA256)?,
                owner: match f.text(K_MANIFEST_OWNER)?.as_str() {
                    "own" => ManifestOwner::Own,
                    "partner" => ManifestOwner::Partner,
                    _ => return Err(EntryError::WrongType(K_MANIFEST_OWNER)),
                },
            },
            "governance" => EntryBody::Governance {
                agreement_status: f.text(K_AGREEMENT_STATUS)?,
                profile_version: f.uint(K_PROFILE_VERSION)?,
                directory_version: f.uint(K_DIRECTORY_VERSION)?,
                assurance_state: f.text(K_ASSURANCE)?,
                documents_sha256: f.digest(K_GOVERNANCE_SHA256)?,
            },
            "audit_anchor" => EntryBody::AuditAnchor {
                head: f.digest(K_AUDIT_HEAD)?,
                event_count: f.uint(K_AUDIT_COUNT)?,
            },
            "witness_seen" => EntryBody::WitnessSeen {
                origin: f.text(K_SEEN_ORIGIN)?,
                size: f.uint(K_SEEN_SIZE)?,
                root: f.digest(K_SEEN_ROOT)?,
            },
            other => return Err(EntryError::UnknownType(other.to_owned())),
        };
        f.finish()?;
        Ok(Entry {
            t,
            agreement_id,
            body,
        })
    }
}

/// The fields of a decoded map, consumed one by one so leftovers can be refused.
struct Fields {
    map: Vec<(u64, Value)>,
    used: usize,
}

impl Fields {
    fn get(&mut self, key: u64) -> Result<&Value, EntryError> {
        let pos = self
            .map
            .binary_search_by_key(&key, |(k, _)| *k)
            .map_err(|_| EntryError::Missing(key))?;
        self.used += 1;
        Ok(&self.map[pos].1)
    }

    fn uint(&mut self, key: u64) -> Result<u64, EntryError> {
        match self.get(key)? {
            Value::Uint(n) => Ok(*n),
            _ => Err(EntryError::WrongType(key)),
        }
    }

    fn text(&mut self, key: u64) -> Result<String, EntryError> {
        match self.get(key)? {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(EntryError::WrongType(key)),
        }
    }

    fn digest(&mut self, key: u64) -> Result<Digest32, EntryError> {
        match self.get(key)? {
            Value::Bytes(b) => b
                .as_slice()
                .try_into()
                .map_err(|_| EntryError::WrongType(key)),
            _ => Err(EntryError::WrongType(key)),
        }
    }

    fn digests(&mut self, key: u64) -> Result<Vec<Digest32>, EntryError> {
        match self.get(key)? {
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::Bytes(b) => b
                        .as_slice()
                        .try_into()
                        .map_err(|_| EntryError::WrongType(key)),
                    _ => Err(EntryError::WrongType(key)),
                })
                .collect(),
            _ => Err(EntryError::WrongType(key)),
        }
    }

    fn texts(&mut self, key: u64) -> Result<Vec<String>, EntryError> {
        match self.get(key)? {
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::Text(s) => Ok(s.clone()),
                    _ => Err(EntryError::WrongType(key)),
                })
                .collect(),
            _ => Err(EntryError::WrongType(key)),
        }
    }

    fn finish(self) -> Result<(), EntryError> {
        if self.used == self.map.len() {
            return Ok(());
        }
        // Keys are unique (the CBOR decoder checks), so some key was never asked for.
        Err(EntryError::Unexpected(
            self.map.last().map_or(0, |(k, _)| *k),
        ))
    }
}
