//! C2SP tlog-witness `add-checkpoint`, the pure part.
//!
//! A witness keeps, per log origin, only the latest checkpoint it cosigned,
//! and cosigns a new one only if it is provably consistent with it. That is
//! what makes a split view (two histories shown to two parties) detectable.
//! This module holds the request codec and the decision function; the node
//! does the HTTP, the atomic compare-and-update of the stored state and the
//! alarm. Status codes follow tlog-witness v1.0.0, which Caravan pins: that
//! version answers 409 when the old size equals the checkpoint size but the
//! roots differ (later drafts say 422).

use crate::checkpoint::{CheckpointError, SignedCheckpoint, parse_decimal, parse_hash_b64};
use crate::cosignature::CosignatureSigner;
use crate::note::{self, NoteError, NoteSignature, VerifierList};
use crate::rfc6962::{self, EMPTY_ROOT, Hash, ProofError};

/// Most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body accepted.
pub const MAX_REQUEST_SIZE: usize = note::MAX_NOTE_SIZE + 4096;
/// `Content-Type` of a 409 body.
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a request body is malformed (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body exceeds [`MAX_REQUEST_SIZE`].
    #[error("request body of {0} bytes is too large")]
    TooLarge(usize),
    /// The body is not UTF-8.
    #[error("request body is not UTF-8")]
    NotUtf8,
    /// The first line is not `old <size>` in canonical decimal.
    #[error("missing or malformed old size line")]
    BadOldLine,
    /// A proof line is not base64 of 32 bytes.
    #[error("proof line {0} is not a base64 SHA-256 hash")]
    BadProofLine(usize),
    /// More than 63 proof lines.
    #[error("more than {MAX_PROOF_LINES} proof lines")]
    TooManyProofLines,
    /// No empty line before the checkpoint.
    #[error("missing empty line before the checkpoint")]
    MissingSeparator,
    /// The checkpoint is malformed.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
}

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// Size of the checkpoint the client believes the witness holds.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

impl AddCheckpointRequest {
    /// Parses a request body strictly.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(RequestError::TooLarge(body.len()));
        }
        let s = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        let (first, mut rest) = s.split_once('\n').ok_or(RequestError::BadOldLine)?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or(RequestError::BadOldLine)?;
        let mut proof = Vec::new();
        loop {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or(RequestError::MissingSeparator)?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            proof.push(parse_hash_b64(line).ok_or(RequestError::BadProofLine(proof.len() + 1))?);
        }
        let checkpoint = SignedCheckpoint::parse(rest.as_bytes())?;
        Ok(Self {
            old_size,
            proof,
            checkpoint,
        })
    }

    /// Encodes the request body.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&note::b64_encode(h));
            s.push('\n');
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint.to_bytes());
        out
    }
}

/// What the witness knows about one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedLog {
    /// The log's origin.
    pub origin: String,
    /// Size of the latest cosigned checkpoint (0 if none).
    pub size: u64,
    /// Root of the latest cosigned checkpoint (the empty root if none).
    pub root: Hash,
}

impl WitnessedLog {
    /// A log the witness has never cosigned.
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            size: 0,
            root: EMPTY_ROOT,
        }
    }
}

/// How a split view showed itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitViewKind {
    /// A signed checkpoint of the cosigned size with a different root.
    SameSizeDifferentRoot,
    /// A signed checkpoint whose consistency proof from the cosigned state
    /// does not verify.
    InconsistentProof,
}

/// Evidence of possible log misbehaviour: a validly signed checkpoint that
/// contradicts what the witness cosigned. The node records it and raises
/// the split-view alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitView {
    /// What contradicted.
    pub kind: SplitViewKind,
    /// The state the witness had cosigned.
    pub cosigned: WitnessedLog,
    /// The signed checkpoint that contradicts it, verbatim.
    pub checkpoint: SignedCheckpoint,
    /// The consistency proof the log sent.
    pub proof: Vec<Hash>,
}

/// Why the witness refuses to cosign; each maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessRefusal {
    /// 400: the body is malformed.
    #[error("malformed request: {0}")]
    Malformed(#[from] RequestError),
    /// 404: the checkpoint's origin is not a log this witness follows.
    #[error("unknown origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no trusted log signature verifies, or a trusted one is invalid.
    #[error("checkpoint signature not accepted: {0}")]
    Forbidden(NoteError),
    /// 400: `old` is larger than the checkpoint size.
    #[error("old size {old} exceeds checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint size.
        size: u64,
    },
    /// 409: `old` is not the size the witness last cosigned.
    #[error("old size {old} does not match cosigned size {current}")]
    Conflict {
        /// The request's old size.
        old: u64,
        /// The size the witness holds.
        current: u64,
    },
    /// 422: the proof is not acceptable (e.g. non-empty proof from size 0,
    /// or a size-0 checkpoint with a non-empty root).
    #[error("invalid consistency proof: {0}")]
    InvalidProof(String),
    /// 409 or 422: a signed checkpoint contradicts the cosigned state.
    #[error("split view detected ({:?})", .0.kind)]
    SplitView(Box<SplitView>),
    /// 500: the witness clock is outside the cosignature range.
    #[error("witness clock {0} is not a valid cosignature timestamp")]
    BadClock(u64),
}

impl WitnessRefusal {
    /// The HTTP status code the spec assigns.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::Forbidden(_) => 403,
            Self::UnknownOrigin(_) => 404,
            Self::Conflict { .. } => 409,
            Self::SplitView(sv) => match sv.kind {
                SplitViewKind::SameSizeDifferentRoot => 409,
                SplitViewKind::InconsistentProof => 422,
            },
            Self::InvalidProof(_) => 422,
            Self::BadClock(_) => 500,
        }
    }

    /// The response body and content type, where the spec defines one.
    pub fn body(&self) -> Option<(&'static str, String)> {
        match self {
            Self::Conflict { current, .. } => {
                Some((TLOG_SIZE_CONTENT_TYPE, format!("{current}\n")))
            }
            _ => None,
        }
    }

    /// The split-view evidence, if this refusal is an alarm.
    pub fn split_view(&self) -> Option<&SplitView> {
        match self {
            Self::SplitView(sv) => Some(sv),
            _ => None,
        }
    }
}

/// A successful decision: the state to persist (atomically, before
/// answering) and the cosignature to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The new state for this origin.
    pub state: WitnessedLog,
    /// The cosignature; its line is the 200 response body.
    pub cosignature: NoteSignature,
}

impl Cosigned {
    /// The 200 response body: the cosignature line.
    pub fn response_body(&self) -> String {
        self.cosignature.to_line()
    }
}

/// Decides an `add-checkpoint` request from its raw body.
pub fn add_checkpoint_body(
    state: &WitnessedLog,
    body: &[u8],
    log_verifiers: &VerifierList,
    clock_secs: u64,
    witness: &CosignatureSigner,
) -> Result<Cosigned, WitnessRefusal> {
    let req = AddCheckpointRequest::parse(body)?;
    add_checkpoint(state, &req, log_verifiers, clock_secs, witness)
}

/// Decides an `add-checkpoint` request against the stored state for the
/// log, in the order the spec lists the checks.
pub fn add_checkpoint(
    state: &WitnessedLog,
    req: &AddCheckpointRequest,
    log_verifiers: &VerifierList,
    clock_secs: u64,
    witness: &CosignatureSigner,
) -> Result<Cosigned, WitnessRefusal> {
    let cp = &req.checkpoint.checkpoint;
    if cp.origin != state.origin {
        return Err(WitnessRefusal::UnknownOrigin(cp.origin.clone()));
    }
    req.checkpoint.verify(log_verifiers).map_err(|e| match e {
        CheckpointError::Note(n) => WitnessRefusal::Forbidden(n),
        other => WitnessRefusal::Malformed(RequestError::Checkpoint(other)),
    })?;
    if req.old_size > cp.size {
        return Err(WitnessRefusal::OldSizeTooLarge {
            old: req.old_size,
            size: cp.size,
        });
    }
    if cp.size == 0 && cp.root != EMPTY_ROOT {
        return Err(WitnessRefusal::InvalidProof(
            "a checkpoint of size 0 must have the empty-tree root".into(),
        ));
    }
    let split = |kind| {
        WitnessRefusal::SplitView(Box::new(SplitView {
            kind,
            cosigned: state.clone(),
            checkpoint: req.checkpoint.clone(),
            proof: req.proof.clone(),
        }))
    };
    // A validly signed checkpoint of the size we cosigned, with another root,
    // is a split view whatever `old` the client sent.
    if cp.size == state.size && cp.root != state.root {
        return Err(split(SplitViewKind::SameSizeDifferentRoot));
    }
    if req.old_size != state.size {
        return Err(WitnessRefusal::Conflict {
            old: req.old_size,
            current: state.size,
        });
    }
    if req.old_size == 0 {
        if !req.proof.is_empty() {
            return Err(WitnessRefusal::InvalidProof(
                "the proof must be empty when the old size is 0".into(),
            ));
        }
    } else if req.old_size == cp.size {
        if !req.proof.is_empty() {
            return Err(WitnessRefusal::InvalidProof(
                "the proof must be empty when the sizes are equal".into(),
            ));
        }
        if cp.root != state.root {
            return Err(split(SplitViewKind::SameSizeDifferentRoot));
        }
    } else {
        match rfc6962::verify_consistency(state.size, cp.size, &state.root, &cp.root, &req.proof) {
            Ok(()) => {}
            Err(ProofError::WrongLength { expected, got }) => {
                return Err(WitnessRefusal::InvalidProof(format!(
                    "proof has {got} hashes, {expected} expected"
                )));
            }
            Err(_) => return Err(split(SplitViewKind::InconsistentProof)),
        }
    }
    if clock_secs == 0 || clock_secs > crate::cosignature::MAX_TIMESTAMP {
        return Err(WitnessRefusal::BadClock(clock_secs));
    }
    let cosignature = witness
        .cosign(&req.checkpoint.note.text, clock_secs)
        .map_err(|_| WitnessRefusal::BadClock(clock_secs))?;
    Ok(Cosigned {
        state: WitnessedLog {
            origin: state.origin.clone(),
            size: cp.size,
            root: cp.root,
        },
        cosignature,
    })
}

/// Parses a 200 response body: one or more cosignature lines.
pub fn parse_add_checkpoint_response(body: &[u8]) -> Result<Vec<NoteSignature>, NoteError> {
    if body.len() > note::MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge(body.len()));
    }
    let s = std::str::from_utf8(body).map_err(|_| NoteError::NotUtf8)?;
    let s = s.strip_suffix('\n').ok_or(NoteError::MissingFinalNewline)?;
    if s.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let lines: Vec<&str> = s.split('\n').collect();
    if lines.len() > note::MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    lines.iter().map(|l| NoteSignature::parse_line(l)).collect()
}
