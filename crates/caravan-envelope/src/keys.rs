//! The two message keys of a node (spec §8.1) and their RFC 9679 key ids.
//!
//! A node signs messages, receipts and errors with an Ed25519 **message-signing** key and
//! receives HPKE-sealed messages on an X25519 **message-encryption** key; a key is never
//! used for both. Each public key is named by its COSE Key Thumbprint (RFC 9679, SHA-256
//! over the deterministic CBOR of the required `COSE_Key` members), so the `kid` in a
//! COSE header and the `enc_kid` in a message header can be checked against a partner's
//! key manifest without trusting any other label. Secret keys never print their bytes.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::cbor::Value;

/// COSE key type OKP (RFC 9053 §7.2).
const KTY_OKP: i64 = 1;
/// COSE curve X25519 (RFC 9053 §7.1).
const CRV_X25519: i64 = 4;
/// COSE curve Ed25519.
const CRV_ED25519: i64 = 6;

/// Why key bytes or a key id were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Wrong number of bytes.
    #[error("a {what} is {want} bytes, not {got}")]
    Length {
        /// Which key.
        what: &'static str,
        /// Expected length.
        want: usize,
        /// Given length.
        got: usize,
    },
    /// The bytes are not a point on the curve.
    #[error("the bytes are not a valid Ed25519 public key")]
    NotOnCurve,
    /// A key id is not 64 hexadecimal digits.
    #[error("a key id is 64 hexadecimal digits")]
    KidSyntax,
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Randomness(String),
}

/// An RFC 9679 COSE Key Thumbprint (SHA-256): the `kid` of a public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; 32]);

impl Kid {
    /// The 32 thumbprint bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From 32 bytes as carried in CBOR.
    pub fn from_slice(bytes: &[u8]) -> Result<Kid, KeyError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Length {
            what: "key id",
            want: 32,
            got: bytes.len(),
        })?;
        Ok(Kid(array))
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex(&self.0))
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({self})")
    }
}

impl FromStr for Kid {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Kid, KeyError> {
        if s.len() != 64 {
            return Err(KeyError::KidSyntax);
        }
        let bytes = crate::parse_hex(s).ok_or(KeyError::KidSyntax)?;
        Kid::from_slice(&bytes)
    }
}

/// RFC 9679 §3: the thumbprint input for an OKP key is the deterministic CBOR map of
/// `kty` (1), `crv` (−1) and `x` (−2), and nothing else.
fn okp_thumbprint(crv: i64, x: &[u8; 32]) -> Kid {
    let cose_key = Value::Map(vec![
        (Value::int(1), Value::int(KTY_OKP)),
        (Value::int(-1), Value::int(crv)),
        (Value::int(-2), Value::bytes(x.to_vec())),
    ]);
    Kid(Sha256::digest(cose_key.to_bytes()).into())
}

fn random_32() -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(seed.as_mut()).map_err(|e| KeyError::Randomness(e.to_string()))?;
    Ok(seed)
}

fn array_32(what: &'static str, bytes: &[u8]) -> Result<[u8; 32], KeyError> {
    bytes.try_into().map_err(|_| KeyError::Length {
        what,
        want: 32,
        got: bytes.len(),
    })
}

/// A node's Ed25519 message-signing key (secret).
#[derive(Clone)]
pub struct MessageSigningKey(ed25519_dalek::SigningKey);

impl MessageSigningKey {
    /// A fresh key from OS randomness.
    pub fn generate() -> Result<MessageSigningKey, KeyError> {
        Ok(MessageSigningKey::from_bytes(&*random_32()?))
    }

    /// From the 32-byte RFC 8032 seed.
    pub fn from_bytes(seed: &[u8; 32]) -> MessageSigningKey {
        MessageSigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// From a slice holding the 32-byte seed.
    pub fn from_slice(seed: &[u8]) -> Result<MessageSigningKey, KeyError> {
        let seed = Zeroizing::new(array_32("signing key seed", seed)?);
        Ok(MessageSigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed. Keep it secret.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn verifying_key(&self) -> MessageVerifyingKey {
        MessageVerifyingKey(self.0.verifying_key())
    }

    /// The kid of the public half.
    pub fn kid(&self) -> Kid {
        self.verifying_key().kid()
    }

    /// An Ed25519 signature over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for MessageSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageSigningKey(kid {}, secret redacted)", self.kid())
    }
}

/// A node's Ed25519 message-verifying key (public).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MessageVerifyingKey(ed25519_dalek::VerifyingKey);

impl MessageVerifyingKey {
    /// From the 32-byte compressed point; refuses bytes that are not a point.
    pub fn from_bytes(bytes: &[u8]) -> Result<MessageVerifyingKey, KeyError> {
        let array = array_32("Ed25519 public key", bytes)?;
        ed25519_dalek::VerifyingKey::from_bytes(&array)
            .map(MessageVerifyingKey)
            .map_err(|_| KeyError::NotOnCurve)
    }

    /// The 32-byte compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// RFC 9679 thumbprint of the `COSE_Key {kty: OKP, crv: Ed25519, x}`.
    pub fn kid(&self) -> Kid {
        okp_thumbprint(CRV_ED25519, self.0.as_bytes())
    }

    /// Checks an Ed25519 signature with the strict RFC 8032 rules (no small-order keys,
    /// canonical `S`), so one message has one valid signature per key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for MessageVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageVerifyingKey(kid {})", self.kid())
    }
}

/// A node's X25519 message-encryption key (secret): the HPKE recipient key.
///
/// The public half and its kid are computed once, with the key: every message opened
/// needs both (the kid to find the key, the public key in the KEM context), and deriving
/// the public key is a scalar multiplication, a tenth of opening a message.
#[derive(Clone)]
pub struct EncryptionSecretKey {
    secret: x25519_dalek::StaticSecret,
    public: EncryptionPublicKey,
    kid: Kid,
}

impl EncryptionSecretKey {
    /// A fresh key from OS randomness.
    pub fn generate() -> Result<EncryptionSecretKey, KeyError> {
        Ok(EncryptionSecretKey::from_bytes(&*random_32()?))
    }

    /// From 32 secret bytes (clamped by X25519 at use, RFC 7748 §5).
    pub fn from_bytes(bytes: &[u8; 32]) -> EncryptionSecretKey {
        let secret = x25519_dalek::StaticSecret::from(*bytes);
        let public = EncryptionPublicKey(x25519_dalek::PublicKey::from(&secret));
        EncryptionSecretKey {
            secret,
            public,
            kid: public.kid(),
        }
    }

    /// From a slice holding the 32 secret bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<EncryptionSecretKey, KeyError> {
        let bytes = Zeroizing::new(array_32("X25519 secret key", bytes)?);
        Ok(EncryptionSecretKey::from_bytes(&bytes))
    }

    /// The 32 secret bytes. Keep them secret.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> EncryptionPublicKey {
        self.public
    }

    /// The kid of the public half.
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// The raw X25519 shared secret with `public`.
    pub(crate) fn diffie_hellman(&self, public: &EncryptionPublicKey) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.diffie_hellman(&public.0).to_bytes())
    }
}

impl fmt::Debug for EncryptionSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EncryptionSecretKey(kid {}, secret redacted)",
            self.kid()
        )
    }
}

/// A node's X25519 message-encryption key (public).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncryptionPublicKey(x25519_dalek::PublicKey);

impl EncryptionPublicKey {
    /// From the 32-byte u-coordinate.
    pub fn from_bytes(bytes: &[u8]) -> Result<EncryptionPublicKey, KeyError> {
        let array = array_32("X25519 public key", bytes)?;
        Ok(EncryptionPublicKey(x25519_dalek::PublicKey::from(array)))
    }

    /// The 32-byte u-coordinate.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// RFC 9679 thumbprint of the `COSE_Key {kty: OKP, crv: X25519, x}`.
    pub fn kid(&self) -> Kid {
        okp_thumbprint(CRV_X25519, self.0.as_bytes())
    }
}

impl fmt::Debug for EncryptionPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionPublicKey(kid {})", self.kid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    #[test]
    fn thumbprint_input_is_the_rfc9679_cose_key() {
        // The RFC 8032 §7.1 test 1 public key.
        let x = crate::unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let key = MessageVerifyingKey::from_bytes(&x).unwrap();
        let mut input = crate::unhex("a301012006215820");
        input.extend_from_slice(&x);
        assert_eq!(key.kid().0, <[u8; 32]>::from(Sha256::digest(&input)));
        // X25519 uses crv 4.
        let secret = EncryptionSecretKey::from_bytes(&[7; 32]);
        let mut input = crate::unhex("a301012004215820");
        input.extend_from_slice(&secret.public_key().to_bytes());
        assert_eq!(secret.kid().0, <[u8; 32]>::from(Sha256::digest(&input)));
    }

    #[test]
    fn kid_text_round_trips_and_rejects_junk() {
        let kid = MessageSigningKey::from_bytes(&[1; 32]).kid();
        assert_eq!(kid.to_string().parse::<Kid>().unwrap(), kid);
        assert_eq!("zz".parse::<Kid>(), Err(KeyError::KidSyntax));
        assert_eq!("g".repeat(64).parse::<Kid>(), Err(KeyError::KidSyntax));
    }

    #[test]
    fn debug_never_prints_secret_bytes() {
        let seed = [0xab; 32];
        let signing = MessageSigningKey::from_bytes(&seed);
        let encryption = EncryptionSecretKey::from_bytes(&seed);
        for shown in [format!("{signing:?}"), format!("{encryption:?}")] {
            assert!(!shown.to_lowercase().contains(&hex(&seed[..4])), "{shown}");
            assert!(!shown.contains("171"), "{shown}");
            assert!(shown.contains("redacted"));
        }
    }

    /// RFC 8032 §7.1, TEST 2: one-byte message 0x72.
    #[test]
    fn ed25519_matches_rfc8032_test_2() {
        let seed: [u8; 32] =
            crate::unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
                .try_into()
                .unwrap();
        let key = MessageSigningKey::from_bytes(&seed);
        assert_eq!(
            hex(&key.verifying_key().to_bytes()),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
        );
        let signature = key.sign(&[0x72]);
        assert_eq!(
            hex(&signature),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        );
        assert!(key.verifying_key().verify(&[0x72], &signature));
        assert!(!key.verifying_key().verify(&[0x73], &signature));
    }

    #[test]
    fn bytes_round_trip() {
        let signing = MessageSigningKey::generate().unwrap();
        let again = MessageSigningKey::from_slice(signing.to_bytes().as_ref()).unwrap();
        assert_eq!(again.kid(), signing.kid());
        let secret = EncryptionSecretKey::generate().unwrap();
        let public = EncryptionPublicKey::from_bytes(&secret.public_key().to_bytes()).unwrap();
        assert_eq!(public.kid(), secret.kid());
        assert!(matches!(
            MessageVerifyingKey::from_bytes(&[0; 31]),
            Err(KeyError::Length { got: 31, .. })
        ));
    }
}
