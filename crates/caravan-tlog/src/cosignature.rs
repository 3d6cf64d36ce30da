//! C2SP tlog-cosignature v1: timestamped Ed25519 witness cosignatures.
//!
//! A cosignature is a note signature (type `0x04`) by a witness stating that,
//! at a given time, the checkpoint was the largest consistent tree it had
//! seen for that log. The signed message is not the note text but
//! `cosignature/v1\ntime <t>\n<checkpoint body>`, so a cosignature can never
//! be replayed as a log signature (or the reverse) even if keys were reused.
//!
//! [`CosignatureVerifier`] implements [`NoteVerifier`], so cosignatures are
//! checked by the same [`crate::note::verify`] as log signatures.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::note::{
    self, ALG_COSIGNATURE_V1, NoteError, NoteSignature, NoteSigner, NoteVerifier, SignatureFault,
};

/// Bytes after the key ID: 8-byte timestamp and 64-byte Ed25519 signature.
pub const COSIGNATURE_LEN: usize = 72;
/// Largest timestamp allowed by the spec.
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// Why cosignature bytes are malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// Not 4 + 72 bytes.
    #[error("cosignature has {0} bytes, 76 expected")]
    WrongLength(usize),
    /// The timestamp exceeds 2^63 − 1.
    #[error("timestamp {0} exceeds 2^63-1")]
    TimestampOutOfRange(u64),
    /// The base64 is invalid.
    #[error("invalid base64")]
    BadBase64,
}

/// The exact message an Ed25519 cosignature signs.
pub fn message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(checkpoint_text.as_bytes());
    m
}

/// Splits raw cosignature bytes (key ID || timestamp || signature) as they
/// appear base64-encoded on a signature line.
pub fn parse_cosignature_bytes(raw: &[u8]) -> Result<(u32, u64, [u8; 64]), CosignatureError> {
    if raw.len() != 4 + COSIGNATURE_LEN {
        return Err(CosignatureError::WrongLength(raw.len()));
    }
    let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let (ts, sig) = split_timestamp(&raw[4..])?;
    Ok((key_id, ts, sig))
}

/// Decodes the base64 part of a cosignature line.
pub fn parse_cosignature_base64(b64: &str) -> Result<(u32, u64, [u8; 64]), CosignatureError> {
    let raw = note::b64_decode(b64).map_err(|_| CosignatureError::BadBase64)?;
    parse_cosignature_bytes(&raw)
}

fn split_timestamp(sig: &[u8]) -> Result<(u64, [u8; 64]), CosignatureError> {
    if sig.len() != COSIGNATURE_LEN {
        return Err(CosignatureError::WrongLength(sig.len() + 4));
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&sig[..8]);
    let ts = u64::from_be_bytes(ts);
    if ts > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampOutOfRange(ts));
    }
    let mut s = [0u8; 64];
    s.copy_from_slice(&sig[8..]);
    Ok((ts, s))
}

/// A witness's cosignature verifier (type `0x04`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// A verifier from a witness name and 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteError> {
        if !note::is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| NoteError::BadVerifierKey("not an Ed25519 point"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: note::key_id(name, ALG_COSIGNATURE_V1, public_key),
            key,
        })
    }

    /// Parses a vkey of type `0x04`.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, alg, key) = note::parse_vkey(vkey)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::BadVerifierKey("not a cosignature (0x04) key"));
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

    /// The vkey string (type `0x04`).
    pub fn to_vkey(&self) -> String {
        note::encode_vkey(
            &self.name,
            self.key_id,
            ALG_COSIGNATURE_V1,
            self.key.as_bytes(),
        )
    }
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn alg(&self) -> u8 {
        ALG_COSIGNATURE_V1
    }
    fn public_key(&self) -> &[u8] {
        self.key.as_bytes()
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> Result<Option<u64>, SignatureFault> {
        let (ts, sig) = split_timestamp(signature).map_err(|e| match e {
            CosignatureError::WrongLength(_) => SignatureFault::WrongLength,
            _ => SignatureFault::Invalid,
        })?;
        let text = std::str::from_utf8(text).map_err(|_| SignatureFault::Invalid)?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.key
            .verify_strict(&message(ts, text), &sig)
            .map(|()| Some(ts))
            .map_err(|_| SignatureFault::Invalid)
    }
}

/// A witness's cosigning key.
#[derive(Debug, Clone)]
pub struct CosignatureSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl CosignatureSigner {
    /// A signer from a witness name and a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        if !note::is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key = SigningKey::from_bytes(seed);
        Ok(Self {
            name: name.to_owned(),
            key_id: note::key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns a checkpoint text at `timestamp` (Unix seconds).
    pub fn cosign(
        &self,
        checkpoint_text: &str,
        timestamp: u64,
    ) -> Result<NoteSignature, NoteError> {
        note::validate_text(checkpoint_text)?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.sign_at(checkpoint_text.as_bytes(), timestamp)?,
        })
    }

    fn sign_at(&self, text: &[u8], timestamp: u64) -> Result<Vec<u8>, NoteError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::SignFailed(format!(
                "timestamp {timestamp} exceeds 2^63-1"
            )));
        }
        let text = std::str::from_utf8(text).map_err(|_| NoteError::NotUtf8)?;
        let sig = self.key.sign(&message(timestamp, text));
        let mut out = Vec::with_capacity(COSIGNATURE_LEN);
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&sig.to_bytes());
        Ok(out)
    }

    /// A [`NoteSigner`] view of this key that signs at a fixed time.
    pub fn at(&self, timestamp: u64) -> TimedCosigner<'_> {
        TimedCosigner {
            signer: self,
            timestamp,
        }
    }
}

/// A [`CosignatureSigner`] bound to one timestamp, usable with [`note::sign`].
#[derive(Debug, Clone, Copy)]
pub struct TimedCosigner<'a> {
    signer: &'a CosignatureSigner,
    timestamp: u64,
}

impl NoteSigner for TimedCosigner<'_> {
    fn name(&self) -> &str {
        &self.signer.name
    }
    fn key_id(&self) -> u32 {
        self.signer.key_id
    }
    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError> {
        self.signer.sign_at(text, self.timestamp)
    }
}
