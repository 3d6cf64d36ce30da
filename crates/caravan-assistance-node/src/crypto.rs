//! The node's evidence key (assistance spec §6 "encrypted at rest") and the secrets derived
//! from it. Evidence files themselves are sealed in segments by [`crate::at_rest`] under a
//! per-file key from [`EvidenceKey::subkey`]; [`EvidenceKey::seal`] and
//! [`EvidenceKey::open`] are the whole-blob form rows held before files moved out of the
//! database, kept to read (and move) those rows.
//!
//! Why the evidence id is the associated data: a stored ciphertext moved to another evidence
//! row (by a bug or by someone editing the database) fails to decrypt instead of silently
//! presenting the wrong file in court. Each encryption draws a fresh 96-bit nonce from the
//! OS; the stored form is `nonce ‖ ciphertext ‖ tag`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::error::AssistError;

const NONCE_LEN: usize = 12;

/// The node's evidence key. Deliberately not `Debug`.
#[derive(Clone)]
pub struct EvidenceKey {
    cipher: Aes256Gcm,
    /// SHA-256 of a label and the key: the root of [`EvidenceKey::subkey`], so no other use
    /// ever sees the encryption key itself.
    derive_root: [u8; 32],
}

impl EvidenceKey {
    /// A key from 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> EvidenceKey {
        use sha2::Digest as _;
        let mut root = sha2::Sha256::new();
        root.update(b"caravan-assistance-subkey-root-v1");
        root.update(bytes);
        EvidenceKey {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
            derive_root: root.finalize().into(),
        }
    }

    /// A 32-byte secret for another use of the node (e.g. hit/no-hit follow-up handles,
    /// bulk pseudonyms), bound to `label`.
    pub fn subkey(&self, label: &str) -> [u8; 32] {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(self.derive_root);
        h.update((label.len() as u64).to_be_bytes());
        h.update(label.as_bytes());
        h.finalize().into()
    }

    /// A fresh random key's bytes, to be written to the node's 0600 key file.
    pub fn generate() -> Result<[u8; 32], AssistError> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| AssistError::internal(format!("OS randomness: {e}")))?;
        Ok(bytes)
    }

    /// Encrypts `plain` for the evidence `id`.
    pub fn seal(&self, id: &str, plain: &[u8]) -> Result<Vec<u8>, AssistError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| AssistError::internal(format!("OS randomness: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| AssistError::internal("evidence encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts a stored blob of evidence `id`; a wrong key, id or a changed byte fails.
    pub fn open(&self, id: &str, stored: &[u8]) -> Result<Vec<u8>, AssistError> {
        if stored.len() < NONCE_LEN + 16 {
            return Err(AssistError::internal("stored evidence is truncated"));
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| AssistError::internal("stored evidence does not decrypt under this key"))
    }
}

#[cfg(test)]
mod tests {
    use super::EvidenceKey;

    #[test]
    fn round_trip_and_binding() {
        let key = EvidenceKey::from_bytes(&[7; 32]);
        let sealed = key.seal("ev-1", b"certified export declaration").unwrap();
        assert_ne!(&sealed[12..], b"certified export declaration");
        assert_eq!(
            key.open("ev-1", &sealed).unwrap(),
            b"certified export declaration"
        );
        // Moved to another id, or opened with another key, or altered: refused.
        assert!(key.open("ev-2", &sealed).is_err());
        assert!(
            EvidenceKey::from_bytes(&[8; 32])
                .open("ev-1", &sealed)
                .is_err()
        );
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(key.open("ev-1", &altered).is_err());
        assert!(key.open("ev-1", &sealed[..20]).is_err());
        // Two encryptions of the same file differ (fresh nonce).
        assert_ne!(
            key.seal("ev-1", b"x").unwrap(),
            key.seal("ev-1", b"x").unwrap()
        );
    }
}
