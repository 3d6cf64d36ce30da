//! C2SP signed-note: text signed by one or more keys.
//!
//! Checkpoints, cosignatures and tlog-proofs are all signed notes, so this is
//! the parser every byte from another node goes through first. It is strict on
//! purpose: one canonical encoding per note (canonical base64, exact
//! separators, no control characters) means two parties can never disagree
//! about what was signed, and every rejection names its reason so an operator
//! can tell a broken peer from an attack.
//!
//! Verification follows the spec's rules: signatures from unknown
//! (name, key ID) pairs are ignored; a known key whose signature fails, or has
//! the wrong length, rejects the whole note; and at least one known key must
//! verify. Keys are pluggable through [`NoteVerifier`], so the cosignature
//! verifier of [`crate::cosignature`] plugs into the same machinery.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Largest note accepted, in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Most signature lines accepted (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// Signature type byte of Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures (tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

const EM_DASH_PREFIX: &str = "\u{2014} ";

/// Why a note, key string or signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note exceeds [`MAX_NOTE_SIZE`].
    #[error("note of {0} bytes exceeds the size limit")]
    TooLarge(usize),
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note contains a control character other than newline.
    #[error("note contains control character U+{0:04X}")]
    ControlCharacter(u32),
    /// The note text or the note does not end in a newline.
    #[error("note text does not end in a newline")]
    MissingFinalNewline,
    /// There is no blank line separating text and signatures.
    #[error("no blank line separates text and signatures")]
    MissingSeparator,
    /// The note carries no signature lines.
    #[error("note has no signatures")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line does not have the form `— <name> <base64>`.
    #[error("malformed signature line {0}")]
    MalformedSignatureLine(usize),
    /// A key name is empty or contains a space or `+`.
    #[error("invalid key name {0:?}")]
    InvalidKeyName(String),
    /// A base64 value is invalid or not in canonical form.
    #[error("invalid or non-canonical base64")]
    BadBase64,
    /// A signature decodes to fewer than 5 bytes (key ID plus signature).
    #[error("signature too short")]
    SignatureTooShort,
    /// The same signature line, or two signatures by one known key, appear.
    #[error("duplicate signature by {name} ({key_id:08x})")]
    DuplicateSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A known key's signature has the wrong length for its algorithm.
    #[error("signature by {name} ({key_id:08x}) has the wrong length")]
    SignatureWrongLength {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A known key's signature does not verify.
    #[error("signature by {name} ({key_id:08x}) does not verify")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No signature from a known key is present.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// A verifier key string is malformed.
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    /// A private key string is malformed.
    #[error("malformed private key: {0}")]
    BadSignerKey(&'static str),
    /// The key ID in a key string does not match the key.
    #[error("key ID does not match the key")]
    KeyIdMismatch,
    /// Two different keys share a name and key ID.
    #[error("two different keys named {name} share key ID {key_id:08x}")]
    AmbiguousKey {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A signer failed (e.g. a cosignature timestamp out of range).
    #[error("signing failed: {0}")]
    SignFailed(String),
}

/// Decodes standard padded base64, accepting only the canonical encoding.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, NoteError> {
    let v = STANDARD.decode(s).map_err(|_| NoteError::BadBase64)?;
    // The engine already rejects bad padding and trailing bits; re-encoding is
    // the belt-and-braces check that no second spelling gets through.
    if STANDARD.encode(&v) != s {
        return Err(NoteError::BadBase64);
    }
    Ok(v)
}

pub(crate) fn b64_encode(b: &[u8]) -> String {
    STANDARD.encode(b)
}

/// `SHA-256(name || 0x0A || alg || public key)[:4]` as a big-endian u32.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Whether `name` is a valid key name: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn check_text_chars(s: &str) -> Result<(), NoteError> {
    // The spec forbids ASCII controls other than newline; DEL (U+007F) is
    // refused too because it is just as invisible to a human reviewer.
    match s.chars().find(|&c| (c < ' ' && c != '\n') || c == '\u{7f}') {
        Some(c) => Err(NoteError::ControlCharacter(c as u32)),
        None => Ok(()),
    }
}

/// One signature line: key name, key ID and the signature bytes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 32-bit key ID (first four bytes of the decoded value).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line `— <name> <base64(key ID || signature)>\n`.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{EM_DASH_PREFIX}{} {}\n", self.name, b64_encode(&raw))
    }

    /// Parses one signature line, without its final newline.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        Self::parse_line_numbered(line, 0)
    }

    fn parse_line_numbered(line: &str, n: usize) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix(EM_DASH_PREFIX)
            .ok_or(NoteError::MalformedSignatureLine(n))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::MalformedSignatureLine(n))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        if b64.is_empty() || b64.contains(' ') {
            return Err(NoteError::MalformedSignatureLine(n));
        }
        let raw = b64_decode(b64)?;
        if raw.len() < 5 {
            return Err(NoteError::SignatureTooShort);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The note text, including its final newline.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note strictly. Does not verify anything.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(bytes.len()));
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_text_chars(s)?;
        if !s.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The text is separated from the signatures by the *last* empty line.
        let sep = s.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let text = &s[..=sep];
        let sigs = &s[sep + 2..];
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let mut signatures: Vec<NoteSignature> = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let sig = NoteSignature::parse_line_numbered(line, i + 1)?;
            if signatures.contains(&sig) {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name,
                    key_id: sig.key_id,
                });
            }
            signatures.push(sig);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The exact note bytes: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}

/// What a successful signature check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Signature type of the key (`0x01` Ed25519, `0x04` cosignature).
    pub alg: u8,
    /// The cosignature timestamp, for timestamped signature types.
    pub timestamp: Option<u64>,
}

/// Why a known key refused a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFault {
    /// Wrong length for the algorithm.
    WrongLength,
    /// Cryptographically invalid (or an out-of-range timestamp).
    Invalid,
}

/// A key that can check note signatures.
pub trait NoteVerifier: std::fmt::Debug + Send + Sync {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> u32;
    /// Signature type byte.
    fn alg(&self) -> u8;
    /// Public key bytes (used to tell identical keys from colliding ones).
    fn public_key(&self) -> &[u8];
    /// Checks `signature` (the bytes after the key ID) over the note text and
    /// returns the signature's timestamp, if its type has one.
    fn verify(&self, text: &[u8], signature: &[u8]) -> Result<Option<u64>, SignatureFault>;
}

/// A key that can sign notes.
pub trait NoteSigner: std::fmt::Debug {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> u32;
    /// Signs the note text; returns the bytes that follow the key ID.
    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError>;
}

/// An Ed25519 note verifier (signature type `0x01`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519Verifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl Ed25519Verifier {
    /// A verifier from a name and a 32-byte public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::BadVerifierKey("not an Ed25519 point"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, public_key),
            key,
        })
    }

    /// Parses `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, alg, key) = parse_vkey(vkey)?;
        if alg != ALG_ED25519 {
            return Err(NoteError::BadVerifierKey("not an Ed25519 (0x01) key"));
        }
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("Ed25519 key must be 32 bytes"))?;
        let v = Self::new(name, &key)?;
        if v.key_id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(v)
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        encode_vkey(&self.name, self.key_id, ALG_ED25519, self.key.as_bytes())
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn alg(&self) -> u8 {
        ALG_ED25519
    }
    fn public_key(&self) -> &[u8] {
        self.key.as_bytes()
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> Result<Option<u64>, SignatureFault> {
        let sig = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|_| SignatureFault::WrongLength)?;
        self.key
            .verify_strict(text, &sig)
            .map(|()| None)
            .map_err(|_| SignatureFault::Invalid)
    }
}

/// Splits a vkey into name, key ID, type byte and key material.
pub(crate) fn parse_vkey(vkey: &str) -> Result<(&str, u32, u8, Vec<u8>), NoteError> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadVerifierKey("expected name+id+key"));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    let id = parse_hex_id(id).ok_or(NoteError::BadVerifierKey("key ID is not 8 hex digits"))?;
    let raw = b64_decode(b64).map_err(|_| NoteError::BadVerifierKey("bad base64"))?;
    let Some((&alg, key)) = raw.split_first() else {
        return Err(NoteError::BadVerifierKey("empty key"));
    };
    Ok((name, id, alg, key.to_vec()))
}

fn parse_hex_id(s: &str) -> Option<u32> {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

pub(crate) fn encode_vkey(name: &str, id: u32, alg: u8, key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(1 + key.len());
    raw.push(alg);
    raw.extend_from_slice(key);
    format!("{name}+{id:08x}+{}", b64_encode(&raw))
}

/// An Ed25519 note signer (signature type `0x01`).
#[derive(Debug, Clone)]
pub struct Ed25519Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl Ed25519Signer {
    /// A signer from a name and a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key = SigningKey::from_bytes(seed);
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadSignerKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, id, alg, seed) =
            parse_vkey(rest).map_err(|_| NoteError::BadSignerKey("expected name+id+key"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::BadSignerKey("not an Ed25519 (0x01) key"));
        }
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::BadSignerKey("Ed25519 seed must be 32 bytes"))?;
        let s = Self::from_seed(name, &seed)?;
        if s.key_id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(s)
    }

    /// The private key string. Handle it as a secret.
    pub fn to_skey(&self) -> String {
        format!(
            "PRIVATE+KEY+{}",
            encode_vkey(&self.name, self.key_id, ALG_ED25519, self.key.as_bytes())
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }
}

impl NoteSigner for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError> {
        Ok(self.key.sign(text).to_bytes().to_vec())
    }
}

/// A set of trusted verifiers, unique by (name, key ID).
#[derive(Debug, Default)]
pub struct VerifierList {
    verifiers: Vec<Box<dyn NoteVerifier>>,
}

impl VerifierList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a verifier. The same key twice is de-duplicated; two different
    /// keys with the same name and key ID are refused.
    pub fn push(&mut self, v: impl NoteVerifier + 'static) -> Result<(), NoteError> {
        if let Some(existing) = self.get(v.name(), v.key_id()) {
            if existing.alg() == v.alg() && existing.public_key() == v.public_key() {
                return Ok(());
            }
            return Err(NoteError::AmbiguousKey {
                name: v.name().to_owned(),
                key_id: v.key_id(),
            });
        }
        self.verifiers.push(Box::new(v));
        Ok(())
    }

    /// Builder-style [`VerifierList::push`].
    pub fn with(mut self, v: impl NoteVerifier + 'static) -> Result<Self, NoteError> {
        self.push(v)?;
        Ok(self)
    }

    /// The verifier for (name, key ID), if trusted.
    pub fn get(&self, name: &str, key_id: u32) -> Option<&dyn NoteVerifier> {
        self.verifiers
            .iter()
            .find(|v| v.name() == name && v.key_id() == key_id)
            .map(|b| b.as_ref())
    }

    /// Number of verifiers.
    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }
}

/// A note whose signatures have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text, including the final newline.
    pub text: String,
    /// Signatures from known keys, all verified.
    pub verified: Vec<VerifiedSignature>,
    /// Signatures from unknown keys, ignored but kept verbatim.
    pub unverified: Vec<NoteSignature>,
}

/// Checks a parsed note's signatures against `verifiers`.
pub fn verify(note: &Note, verifiers: &VerifierList) -> Result<OpenedNote, NoteError> {
    let mut verified: Vec<VerifiedSignature> = Vec::new();
    let mut unverified = Vec::new();
    for sig in &note.signatures {
        let Some(v) = verifiers.get(&sig.name, sig.key_id) else {
            unverified.push(sig.clone());
            continue;
        };
        if verified
            .iter()
            .any(|s| s.name == sig.name && s.key_id == sig.key_id)
        {
            return Err(NoteError::DuplicateSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
            });
        }
        match v.verify(note.text.as_bytes(), &sig.signature) {
            Ok(timestamp) => verified.push(VerifiedSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
                alg: v.alg(),
                timestamp,
            }),
            Err(SignatureFault::WrongLength) => {
                return Err(NoteError::SignatureWrongLength {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            Err(SignatureFault::Invalid) => {
                return Err(NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(OpenedNote {
        text: note.text.clone(),
        verified,
        unverified,
    })
}

/// Parses and verifies a signed note: the text plus verified signatures.
pub fn open(bytes: &[u8], verifiers: &VerifierList) -> Result<OpenedNote, NoteError> {
    verify(&Note::parse(bytes)?, verifiers)
}

/// Checks that `text` can be the text of a note.
pub fn validate_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge(text.len()));
    }
    check_text_chars(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

/// Produces one signature line's worth of data for `text`.
pub fn sign_text(text: &str, signer: &dyn NoteSigner) -> Result<NoteSignature, NoteError> {
    validate_text(text)?;
    Ok(NoteSignature {
        name: signer.name().to_owned(),
        key_id: signer.key_id(),
        signature: signer.sign(text.as_bytes())?,
    })
}

/// Signs `text` with each signer and returns the signed note.
pub fn sign(text: &str, signers: &[&dyn NoteSigner]) -> Result<Note, NoteError> {
    let mut note = Note {
        text: text.to_owned(),
        signatures: Vec::with_capacity(signers.len()),
    };
    for s in signers {
        note.signatures.push(sign_text(text, *s)?);
    }
    if note.signatures.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    Ok(note)
}
