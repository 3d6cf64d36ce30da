//! C2SP tlog-checkpoint: the signed tree head of a log.
//!
//! A checkpoint is the note text `<origin>\n<size>\n<base64 root>\n` plus
//! optional extension lines. Parsing is strict (no leading zeros, canonical
//! base64, exactly 32 bytes) and serialisation is exact, so a parsed
//! checkpoint re-serialises to the very bytes that were signed.

use crate::note::{self, Note, NoteError, NoteSigner, OpenedNote, VerifierList};
use crate::rfc6962::Hash;

/// Why a checkpoint text or signed checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Fewer than three lines, or no final newline.
    #[error("checkpoint text must have at least three newline-terminated lines")]
    TooFewLines,
    /// The origin line is empty.
    #[error("empty origin")]
    EmptyOrigin,
    /// The size is not a canonical decimal u64.
    #[error("invalid tree size {0:?}")]
    BadSize(String),
    /// The root hash is not canonical base64 of 32 bytes.
    #[error("invalid root hash")]
    BadRootHash,
    /// An extension line is empty.
    #[error("empty extension line")]
    EmptyExtension,
    /// The text breaks a signed-note rule.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at `size`.
    pub root: Hash,
    /// Extension lines (without newlines); Caravan emits none.
    pub extensions: Vec<String>,
}

/// Parses a canonical decimal (no sign, no leading zeros).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Decodes canonical base64 of exactly 32 bytes.
pub(crate) fn parse_hash_b64(s: &str) -> Option<Hash> {
    note::b64_decode(s).ok()?.try_into().ok()
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint note text (including the final newline).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        note::validate_text(text).map_err(|e| match e {
            NoteError::MissingFinalNewline => CheckpointError::TooFewLines,
            e => CheckpointError::Note(e),
        })?;
        let mut lines = text[..text.len() - 1].split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooFewLines);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::BadSize(size.to_owned()))?;
        let root = parse_hash_b64(root).ok_or(CheckpointError::BadRootHash)?;
        let mut extensions = Vec::new();
        for l in lines {
            if l.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            extensions.push(l.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The exact note text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            note::b64_encode(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs the checkpoint with the given keys (the log key first).
    pub fn sign(&self, signers: &[&dyn NoteSigner]) -> Result<SignedCheckpoint, CheckpointError> {
        let text = self.to_text();
        Self::parse(&text)?;
        let note = note::sign(&text, signers)?;
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            note,
        })
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A checkpoint with its note signatures (log signature and cosignatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The note, whose text is exactly `checkpoint.to_text()`.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint without verifying signatures.
    pub fn parse(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        Ok(Self { checkpoint, note })
    }

    /// Parses and verifies: at least one key in `verifiers` must verify and
    /// every known key's signature must be valid.
    pub fn open(
        bytes: &[u8],
        verifiers: &VerifierList,
    ) -> Result<(Self, OpenedNote), CheckpointError> {
        let cp = Self::parse(bytes)?;
        let opened = note::verify(&cp.note, verifiers)?;
        Ok((cp, opened))
    }

    /// Verifies the signatures of an already parsed checkpoint.
    pub fn verify(&self, verifiers: &VerifierList) -> Result<OpenedNote, CheckpointError> {
        Ok(note::verify(&self.note, verifiers)?)
    }

    /// Adds signature lines (e.g. cosignatures returned by a witness),
    /// skipping exact duplicates.
    pub fn add_signatures(&mut self, sigs: impl IntoIterator<Item = note::NoteSignature>) {
        for s in sigs {
            if !self.note.signatures.contains(&s) {
                self.note.signatures.push(s);
            }
        }
    }

    /// The exact note bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}
