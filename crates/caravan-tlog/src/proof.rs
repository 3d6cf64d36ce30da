//! C2SP tlog-proof: self-contained, offline-verifiable inclusion proofs.
//!
//! A receipt carries one of these so an auditor can later prove, with only
//! the log and witness public keys, that an entry was in the log and that
//! the checkpoint was seen by witnesses (so it cannot be one side of a split
//! view). [`verify_offline`] runs the spec's verification steps and returns a
//! [`ProofVerdict`] that says in plain language what was established.

use crate::checkpoint::{CheckpointError, SignedCheckpoint, parse_decimal, parse_hash_b64};
use crate::note::{self, NoteError, VerifierList};
use crate::rfc6962::{self, Hash, ProofError as MerkleError};

/// First line of every tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most inclusion-proof hash lines accepted (a 2^63-leaf tree needs 63).
pub const MAX_PROOF_HASHES: usize = 63;
/// Largest proof text accepted.
pub const MAX_PROOF_SIZE: usize = note::MAX_NOTE_SIZE + 8192;

/// Why a tlog-proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The text exceeds [`MAX_PROOF_SIZE`].
    #[error("proof of {0} bytes is too large")]
    TooLarge(usize),
    /// The text is not UTF-8.
    #[error("proof is not UTF-8")]
    NotUtf8,
    /// The first line is not `c2sp.org/tlog-proof@v1`.
    #[error("missing c2sp.org/tlog-proof@v1 header")]
    BadHeader,
    /// The `extra` line is not `extra <canonical base64>`.
    #[error("malformed extra line")]
    BadExtra,
    /// The `index` line is missing or not a canonical decimal.
    #[error("missing or malformed index line")]
    BadIndex,
    /// A hash line is not base64 of 32 bytes.
    #[error("proof line {0} is not a base64 SHA-256 hash")]
    BadHashLine(usize),
    /// More than [`MAX_PROOF_HASHES`] hash lines.
    #[error("too many proof hashes")]
    TooManyHashes,
    /// No empty line before the checkpoint.
    #[error("missing empty line before the checkpoint")]
    MissingSeparator,
    /// The checkpoint is malformed.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// The checkpoint's origin is not the expected one.
    #[error("checkpoint origin {got:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// Expected origin.
        expected: String,
        /// Origin in the proof.
        got: String,
    },
    /// No log key verified the checkpoint, or a known signature is invalid.
    #[error("checkpoint signatures not accepted: {0}")]
    Signature(NoteError),
    /// No signature by a configured log key.
    #[error("checkpoint is not signed by a configured log key")]
    NoLogSignature,
    /// Too few valid witness cosignatures.
    #[error("{got} witness cosignatures verified, {need} required")]
    NotEnoughWitnesses {
        /// Valid cosignatures from distinct witness keys.
        got: usize,
        /// Required by policy.
        need: usize,
    },
    /// The inclusion proof does not bind the leaf to the checkpoint root.
    #[error("inclusion proof does not verify: {0}")]
    Inclusion(String),
}

/// A parsed tlog-proof. The checkpoint is kept verbatim and parsed only when
/// verifying, so the header can be inspected even if the note is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Unauthenticated extra data, if any.
    pub extra: Option<Vec<u8>>,
    /// Zero-based leaf index.
    pub index: u64,
    /// Inclusion proof, leaf sibling first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// Builds a proof from its parts.
    pub fn new(index: u64, hashes: Vec<Hash>, checkpoint: &SignedCheckpoint) -> Self {
        Self {
            extra: None,
            index,
            hashes,
            checkpoint: checkpoint.note.to_string(),
        }
    }

    /// Parses the text format strictly (header, extra, index, hashes, empty
    /// line); the checkpoint note is checked by [`verify_offline`].
    pub fn parse(text: &[u8]) -> Result<Self, ProofError> {
        if text.len() > MAX_PROOF_SIZE {
            return Err(ProofError::TooLarge(text.len()));
        }
        let s = std::str::from_utf8(text).map_err(|_| ProofError::NotUtf8)?;
        let mut rest = s;
        let mut next_line = |err: ProofError| -> Result<&str, ProofError> {
            let (line, tail) = rest.split_once('\n').ok_or(err)?;
            rest = tail;
            Ok(line)
        };
        if next_line(ProofError::BadHeader)? != HEADER {
            return Err(ProofError::BadHeader);
        }
        let mut line = next_line(ProofError::BadIndex)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(note::b64_decode(b64).map_err(|_| ProofError::BadExtra)?);
            line = next_line(ProofError::BadIndex)?;
        } else if line.starts_with("extra") {
            return Err(ProofError::BadExtra);
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(ProofError::BadIndex)?;
        let mut hashes = Vec::new();
        loop {
            let line = next_line(ProofError::MissingSeparator)?;
            if line.is_empty() {
                break;
            }
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(ProofError::TooManyHashes);
            }
            hashes.push(parse_hash_b64(line).ok_or(ProofError::BadHashLine(hashes.len() + 1))?);
        }
        if rest.is_empty() {
            return Err(ProofError::Checkpoint(CheckpointError::TooFewLines));
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint: rest.to_owned(),
        })
    }

    /// The exact text encoding.
    pub fn encode(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", note::b64_encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            s.push_str(&note::b64_encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }
}

/// The logged entry, or its leaf hash if the entry itself is not at hand.
#[derive(Debug, Clone, Copy)]
pub enum Leaf<'a> {
    /// Entry bytes; hashed as `SHA-256(0x00 || entry)`.
    Data(&'a [u8]),
    /// A precomputed RFC 6962 leaf hash.
    Hash(Hash),
}

impl Leaf<'_> {
    fn hash(&self) -> Hash {
        match self {
            Leaf::Data(d) => rfc6962::leaf_hash(d),
            Leaf::Hash(h) => *h,
        }
    }
}

/// Whom to trust when verifying a proof offline.
#[derive(Debug)]
pub struct ProofPolicy<'a> {
    /// The origin the checkpoint must carry.
    pub origin: &'a str,
    /// The log's checkpoint keys.
    pub log_verifiers: &'a VerifierList,
    /// Witness cosignature keys.
    pub witness_verifiers: &'a VerifierList,
    /// Cosignatures required from distinct witness keys.
    pub min_witnesses: usize,
}

/// A witness cosignature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessAttestation {
    /// Witness key name.
    pub name: String,
    /// Witness key ID.
    pub key_id: u32,
    /// Cosignature time (Unix seconds), if the type carries one.
    pub timestamp: Option<u64>,
}

/// What a verified tlog-proof establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofVerdict {
    /// Log origin.
    pub origin: String,
    /// Entry index.
    pub index: u64,
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Root hash of the checkpoint.
    pub root: Hash,
    /// The leaf hash proved.
    pub leaf_hash: Hash,
    /// Log keys that signed (name, key ID).
    pub log_keys: Vec<(String, u32)>,
    /// Witnesses that cosigned.
    pub witnesses: Vec<WitnessAttestation>,
    /// Unauthenticated extra data carried by the proof.
    pub extra: Option<Vec<u8>>,
}

impl std::fmt::Display for ProofVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Entry {} of log {} is included in the tree of size {} (root {}), signed by the log key",
            self.index,
            self.origin,
            self.size,
            note::b64_encode(&self.root)
        )?;
        for (i, (name, id)) in self.log_keys.iter().enumerate() {
            write!(f, "{} {name} ({id:08x})", if i > 0 { "," } else { "" })?;
        }
        if self.witnesses.is_empty() {
            write!(f, "; no witness cosigned it")?;
        } else {
            write!(f, "; cosigned by")?;
            for (i, w) in self.witnesses.iter().enumerate() {
                write!(
                    f,
                    "{} {} ({:08x})",
                    if i > 0 { "," } else { "" },
                    w.name,
                    w.key_id
                )?;
                if let Some(t) = w.timestamp {
                    write!(f, " at Unix time {t}")?;
                }
            }
        }
        write!(f, ".")?;
        if self.extra.is_some() {
            write!(f, " The proof's extra data is not authenticated.")?;
        }
        Ok(())
    }
}

/// Verifies a tlog-proof offline: header, log signature for the expected
/// origin, witness cosignatures against the policy's threshold, then the
/// inclusion of the leaf at `index` under the checkpoint root.
pub fn verify_offline(
    proof_text: &[u8],
    leaf: Leaf<'_>,
    policy: &ProofPolicy<'_>,
) -> Result<ProofVerdict, ProofError> {
    let proof = TlogProof::parse(proof_text)?;
    let signed =
        SignedCheckpoint::parse(proof.checkpoint.as_bytes()).map_err(ProofError::Checkpoint)?;
    let cp = &signed.checkpoint;
    if cp.origin != policy.origin {
        return Err(ProofError::WrongOrigin {
            expected: policy.origin.to_owned(),
            got: cp.origin.clone(),
        });
    }
    let logs = note::verify(&signed.note, policy.log_verifiers).map_err(|e| match e {
        NoteError::NoKnownSignature => ProofError::NoLogSignature,
        e => ProofError::Signature(e),
    })?;
    let witnesses = match note::verify(&signed.note, policy.witness_verifiers) {
        Ok(o) => o.verified,
        Err(NoteError::NoKnownSignature) => Vec::new(),
        Err(e) => return Err(ProofError::Signature(e)),
    };
    if witnesses.len() < policy.min_witnesses {
        return Err(ProofError::NotEnoughWitnesses {
            got: witnesses.len(),
            need: policy.min_witnesses,
        });
    }
    let leaf_hash = leaf.hash();
    rfc6962::verify_inclusion(&leaf_hash, proof.index, cp.size, &proof.hashes, &cp.root)
        .map_err(|e: MerkleError| ProofError::Inclusion(e.to_string()))?;
    Ok(ProofVerdict {
        origin: cp.origin.clone(),
        index: proof.index,
        size: cp.size,
        root: cp.root,
        leaf_hash,
        log_keys: logs
            .verified
            .into_iter()
            .map(|v| (v.name, v.key_id))
            .collect(),
        witnesses: witnesses
            .into_iter()
            .map(|v| WitnessAttestation {
                name: v.name,
                key_id: v.key_id,
                timestamp: v.timestamp,
            })
            .collect(),
        extra: proof.extra,
    })
}
