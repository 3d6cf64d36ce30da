//! HPKE (RFC 9180) base mode for the one suite Caravan uses: DHKEM(X25519, HKDF-SHA256)
//! `0x0020`, HKDF-SHA256 `0x0001`, AES-128-GCM `0x0001` (spec §4.3).
//!
//! Written here rather than taken from the `hpke` crate: `hpke` 0.15 is built on
//! curve25519-dalek 5, rand_core 0.10 and getrandom 0.4, while the tree's Ed25519 (and so
//! every signature in the node) is on curve25519-dalek 4; two copies of the curve would
//! double the crypto in the binary and its audit surface. Base mode for one fixed suite is
//! small: `LabeledExtract`/`LabeledExpand` (§4), `DHKEM` Encap/Decap (§4.1), the key
//! schedule (§5.1), sealing with the sequence-number nonce (§5.2) and the secret exporter
//! (§5.3). The RFC's Appendix A.1 vectors are this module's tests.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{EncryptionPublicKey, EncryptionSecretKey};

/// KEM id of DHKEM(X25519, HKDF-SHA256).
pub const KEM_X25519_HKDF_SHA256: u16 = 0x0020;
/// KDF id of HKDF-SHA256.
pub const KDF_HKDF_SHA256: u16 = 0x0001;
/// AEAD id of AES-128-GCM.
pub const AEAD_AES_128_GCM: u16 = 0x0001;
/// `Nk` of AES-128-GCM.
pub const KEY_LEN: usize = 16;
/// `Nn` of AES-128-GCM.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// `Nenc` of X25519.
pub const ENC_LEN: usize = 32;

const MODE_BASE: u8 = 0x00;

/// Why an HPKE operation failed. Deliberately coarse: an attacker learns nothing from
/// which step refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HpkeError {
    /// The Diffie-Hellman output was all zero (a small-order public key).
    #[error("X25519 produced the all-zero shared secret")]
    ZeroSharedSecret,
    /// AEAD authentication failed.
    #[error("AEAD authentication failed")]
    Open,
    /// The sequence number would wrap (RFC 9180 §5.2).
    #[error("HPKE message limit reached")]
    MessageLimit,
}

fn kem_suite_id() -> [u8; 5] {
    let [a, b] = KEM_X25519_HKDF_SHA256.to_be_bytes();
    [b'K', b'E', b'M', a, b]
}

fn hpke_suite_id() -> [u8; 10] {
    let [k0, k1] = KEM_X25519_HKDF_SHA256.to_be_bytes();
    let [d0, d1] = KDF_HKDF_SHA256.to_be_bytes();
    let [a0, a1] = AEAD_AES_128_GCM.to_be_bytes();
    [b'H', b'P', b'K', b'E', k0, k1, d0, d1, a0, a1]
}

/// RFC 9180 §4: `LabeledExtract(salt, label, ikm)`.
fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut labeled_ikm = Zeroizing::new(Vec::with_capacity(
        7 + suite_id.len() + label.len() + ikm.len(),
    ));
    labeled_ikm.extend_from_slice(b"HPKE-v1");
    labeled_ikm.extend_from_slice(suite_id);
    labeled_ikm.extend_from_slice(label);
    labeled_ikm.extend_from_slice(ikm);
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &labeled_ikm);
    Zeroizing::new(prk.into())
}

/// RFC 9180 §4: `LabeledExpand(prk, label, info, L)`.
fn labeled_expand(suite_id: &[u8], prk: &[u8; 32], label: &[u8], info: &[u8], out: &mut [u8]) {
    let mut labeled_info = Vec::with_capacity(9 + suite_id.len() + label.len() + info.len());
    labeled_info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    labeled_info.extend_from_slice(b"HPKE-v1");
    labeled_info.extend_from_slice(suite_id);
    labeled_info.extend_from_slice(label);
    labeled_info.extend_from_slice(info);
    // A 32-byte PRK is always a valid HKDF-SHA256 PRK and every caller asks for at most
    // 255 · 32 bytes, so neither call can fail.
    let hkdf = Hkdf::<Sha256>::from_prk(prk).expect("a 32-byte PRK is valid for HKDF-SHA256");
    hkdf.expand(&labeled_info, out)
        .expect("HPKE output lengths are far below the HKDF limit");
}

/// RFC 9180 §7.1.3: `DeriveKeyPair(ikm)` for X25519.
pub fn derive_key_pair(ikm: &[u8]) -> EncryptionSecretKey {
    let suite = kem_suite_id();
    let dkp_prk = labeled_extract(&suite, b"", b"dkp_prk", ikm);
    let mut sk = Zeroizing::new([0u8; 32]);
    labeled_expand(&suite, &dkp_prk, b"sk", b"", sk.as_mut());
    EncryptionSecretKey::from_bytes(&sk)
}

/// DHKEM `ExtractAndExpand(dh, kem_context)` (§4.1).
fn extract_and_expand(dh: &[u8; 32], kem_context: &[u8]) -> Zeroizing<[u8; 32]> {
    let suite = kem_suite_id();
    let eae_prk = labeled_extract(&suite, b"", b"eae_prk", dh);
    let mut shared = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &suite,
        &eae_prk,
        b"shared_secret",
        kem_context,
        shared.as_mut(),
    );
    shared
}

fn checked_dh(
    secret: &EncryptionSecretKey,
    public: &EncryptionPublicKey,
) -> Result<Zeroizing<[u8; 32]>, HpkeError> {
    let dh = secret.diffie_hellman(public);
    // RFC 9180 §7.1.4: a recipient (and sender) must abort on the all-zero value.
    if dh.iter().all(|b| *b == 0) {
        return Err(HpkeError::ZeroSharedSecret);
    }
    Ok(dh)
}

/// DHKEM `Encap(pkR)` with a given ephemeral key; returns (shared_secret, enc).
pub fn encap(
    recipient: &EncryptionPublicKey,
    ephemeral: &EncryptionSecretKey,
) -> Result<(Zeroizing<[u8; 32]>, [u8; ENC_LEN]), HpkeError> {
    let dh = checked_dh(ephemeral, recipient)?;
    let enc = ephemeral.public_key().to_bytes();
    let mut kem_context = [0u8; 64];
    kem_context[..32].copy_from_slice(&enc);
    kem_context[32..].copy_from_slice(&recipient.to_bytes());
    Ok((extract_and_expand(&dh, &kem_context), enc))
}

/// DHKEM `Decap(enc, skR)`.
pub fn decap(
    enc: &[u8; ENC_LEN],
    recipient: &EncryptionSecretKey,
) -> Result<Zeroizing<[u8; 32]>, HpkeError> {
    let ephemeral = EncryptionPublicKey::from_bytes(enc).map_err(|_| HpkeError::Open)?;
    let dh = checked_dh(recipient, &ephemeral)?;
    let mut kem_context = [0u8; 64];
    kem_context[..32].copy_from_slice(enc);
    kem_context[32..].copy_from_slice(&recipient.public_key().to_bytes());
    Ok(extract_and_expand(&dh, &kem_context))
}

/// An HPKE encryption context (RFC 9180 §5.2), the same type on both sides: base mode
/// has no asymmetry after the key schedule.
pub struct Context {
    key: Zeroizing<[u8; KEY_LEN]>,
    base_nonce: [u8; NONCE_LEN],
    exporter_secret: Zeroizing<[u8; 32]>,
    seq: u64,
}

impl Drop for Context {
    fn drop(&mut self) {
        self.base_nonce.zeroize();
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hpke::Context(seq {}, keys redacted)", self.seq)
    }
}

/// RFC 9180 §5.1 `KeySchedule` for mode_base (no PSK).
pub fn key_schedule(shared_secret: &[u8; 32], info: &[u8]) -> Context {
    let suite = hpke_suite_id();
    let psk_id_hash = labeled_extract(&suite, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(&suite, b"", b"info_hash", info);
    let mut context = [0u8; 65];
    context[0] = MODE_BASE;
    context[1..33].copy_from_slice(psk_id_hash.as_ref());
    context[33..].copy_from_slice(info_hash.as_ref());
    let secret = labeled_extract(&suite, shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    labeled_expand(&suite, &secret, b"key", &context, key.as_mut());
    let mut base_nonce = [0u8; NONCE_LEN];
    labeled_expand(&suite, &secret, b"base_nonce", &context, &mut base_nonce);
    let mut exporter_secret = Zeroizing::new([0u8; 32]);
    labeled_expand(&suite, &secret, b"exp", &context, exporter_secret.as_mut());
    Context {
        key,
        base_nonce,
        exporter_secret,
        seq: 0,
    }
}

/// `SetupBaseS(pkR, info)` with a caller-chosen ephemeral key (tests and fuzzing pin it;
/// `envelope::Sealer::new` draws it from the OS).
pub fn setup_sender_with(
    recipient: &EncryptionPublicKey,
    info: &[u8],
    ephemeral: &EncryptionSecretKey,
) -> Result<([u8; ENC_LEN], Context), HpkeError> {
    let (shared, enc) = encap(recipient, ephemeral)?;
    Ok((enc, key_schedule(&shared, info)))
}

/// `SetupBaseR(enc, skR, info)`.
pub fn setup_recipient(
    enc: &[u8; ENC_LEN],
    recipient: &EncryptionSecretKey,
    info: &[u8],
) -> Result<Context, HpkeError> {
    let shared = decap(enc, recipient)?;
    Ok(key_schedule(&shared, info))
}

impl Context {
    /// `ComputeNonce(seq)`: the base nonce XOR the big-endian sequence number.
    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = self.base_nonce;
        for (n, s) in nonce[NONCE_LEN - 8..]
            .iter_mut()
            .zip(self.seq.to_be_bytes())
        {
            *n ^= s;
        }
        nonce
    }

    fn advance(&mut self) -> Result<(), HpkeError> {
        self.seq = self.seq.checked_add(1).ok_or(HpkeError::MessageLimit)?;
        Ok(())
    }

    /// Runs one AEAD operation at the current nonce and advances the sequence only if it
    /// succeeded, so a failed open can be retried or reported without skipping a nonce.
    fn with_nonce(
        &mut self,
        operation: impl FnOnce(
            &Aes128Gcm,
            &Nonce<aes_gcm::aead::consts::U12>,
        ) -> Result<Vec<u8>, aes_gcm::Error>,
    ) -> Result<Vec<u8>, HpkeError> {
        let cipher = Aes128Gcm::new_from_slice(self.key.as_ref()).expect("16-byte AES key");
        let nonce = self.nonce();
        let output = operation(&cipher, Nonce::from_slice(&nonce)).map_err(|_| HpkeError::Open)?;
        self.advance()?;
        Ok(output)
    }

    /// `ContextS.Seal(aad, pt)`.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, HpkeError> {
        self.with_nonce(|cipher, nonce| {
            cipher.encrypt(
                nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
        })
    }

    /// `ContextR.Open(aad, ct)`.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, HpkeError> {
        self.with_nonce(|cipher, nonce| {
            cipher.decrypt(
                nonce,
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
        })
    }

    /// `Context.Export(exporter_context, L)` (§5.3).
    pub fn export(&self, exporter_context: &[u8], out: &mut [u8]) {
        labeled_expand(
            &hpke_suite_id(),
            &self.exporter_secret,
            b"sec",
            exporter_context,
            out,
        );
    }

    /// The current sequence number.
    pub fn sequence(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    //! RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM,
    //! mode_base. Every intermediate value the RFC publishes is checked, not just a round
    //! trip, so an implementation that is consistently wrong on both sides fails.

    use super::*;
    use crate::{hex, unhex};

    const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    const IKM_E: &str = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
    const PK_EM: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    const SK_EM: &str = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
    const IKM_R: &str = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
    const PK_RM: &str = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
    const SK_RM: &str = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
    const SHARED_SECRET: &str = "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc";
    const KEY: &str = "4531685d41d65f03dc48f6b8302c05b0";
    const BASE_NONCE: &str = "56d890e5accaaf011cff4b7d";
    const EXPORTER_SECRET: &str =
        "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";

    /// (sequence number, aad, ciphertext) from A.1.1.1.
    const ENCRYPTIONS: &[(u64, &str, &str)] = &[
        (
            0,
            "436f756e742d30",
            "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
        ),
        (
            2,
            "436f756e742d32",
            "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180",
        ),
        (
            4,
            "436f756e742d34",
            "583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d",
        ),
        (
            255,
            "436f756e742d323535",
            "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a",
        ),
        (
            256,
            "436f756e742d323536",
            "957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2",
        ),
    ];

    /// (exporter context, exported value with L = 32) from A.1.1.2.
    const EXPORTS: &[(&str, &str)] = &[
        (
            "",
            "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee",
        ),
        (
            "00",
            "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5",
        ),
        (
            "54657374436f6e74657874",
            "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931",
        ),
    ];

    fn secret(hex_bytes: &str) -> EncryptionSecretKey {
        EncryptionSecretKey::from_slice(&unhex(hex_bytes)).unwrap()
    }

    #[test]
    fn derive_key_pair_matches_a1() {
        let ephemeral = derive_key_pair(&unhex(IKM_E));
        assert_eq!(hex(ephemeral.to_bytes().as_ref()), SK_EM);
        assert_eq!(hex(&ephemeral.public_key().to_bytes()), PK_EM);
        let recipient = derive_key_pair(&unhex(IKM_R));
        assert_eq!(hex(recipient.to_bytes().as_ref()), SK_RM);
        assert_eq!(hex(&recipient.public_key().to_bytes()), PK_RM);
    }

    #[test]
    fn encap_and_decap_match_a1() {
        let recipient = secret(SK_RM);
        let (shared, enc) = encap(&recipient.public_key(), &secret(SK_EM)).unwrap();
        assert_eq!(hex(&enc), PK_EM);
        assert_eq!(hex(shared.as_ref()), SHARED_SECRET);
        assert_eq!(
            hex(decap(&enc, &recipient).unwrap().as_ref()),
            SHARED_SECRET
        );
    }

    #[test]
    fn key_schedule_matches_a1() {
        let shared: [u8; 32] = unhex(SHARED_SECRET).try_into().unwrap();
        let context = key_schedule(&shared, &unhex(INFO));
        assert_eq!(hex(context.key.as_ref()), KEY);
        assert_eq!(hex(&context.base_nonce), BASE_NONCE);
        assert_eq!(hex(context.exporter_secret.as_ref()), EXPORTER_SECRET);
    }

    #[test]
    fn sealing_and_opening_match_a1_including_the_nonce_carry() {
        let recipient = secret(SK_RM);
        let (enc, mut sender) =
            setup_sender_with(&recipient.public_key(), &unhex(INFO), &secret(SK_EM)).unwrap();
        let mut receiver = setup_recipient(&enc, &recipient, &unhex(INFO)).unwrap();
        let plaintext = unhex(PT);
        for (seq, aad, want) in ENCRYPTIONS {
            sender.seq = *seq;
            receiver.seq = *seq;
            let ciphertext = sender.seal(&unhex(aad), &plaintext).unwrap();
            assert_eq!(&hex(&ciphertext), want, "sequence {seq}");
            assert_eq!(receiver.open(&unhex(aad), &ciphertext).unwrap(), plaintext);
            assert_eq!(receiver.sequence(), seq + 1);
        }
    }

    #[test]
    fn exports_match_a1() {
        let shared: [u8; 32] = unhex(SHARED_SECRET).try_into().unwrap();
        let context = key_schedule(&shared, &unhex(INFO));
        for (exporter_context, want) in EXPORTS {
            let mut out = [0u8; 32];
            context.export(&unhex(exporter_context), &mut out);
            assert_eq!(&hex(&out), want);
        }
    }

    #[test]
    fn wrong_key_aad_or_sequence_fails_to_open() {
        let recipient = secret(SK_RM);
        let (enc, mut sender) =
            setup_sender_with(&recipient.public_key(), b"info", &secret(SK_EM)).unwrap();
        let ciphertext = sender.seal(b"aad", b"secret").unwrap();
        let other = secret(SK_EM);
        let mut wrong = setup_recipient(&enc, &other, b"info").unwrap();
        assert_eq!(wrong.open(b"aad", &ciphertext), Err(HpkeError::Open));
        let mut right = setup_recipient(&enc, &recipient, b"info").unwrap();
        assert_eq!(right.open(b"other aad", &ciphertext), Err(HpkeError::Open));
        assert_eq!(right.sequence(), 0, "a failed open does not advance");
        right.seq = 1;
        assert_eq!(right.open(b"aad", &ciphertext), Err(HpkeError::Open));
    }

    #[test]
    fn small_order_public_key_is_refused() {
        // The all-zero u-coordinate is of small order: X25519 yields zero.
        assert_eq!(
            decap(&[0u8; 32], &secret(SK_RM)).err(),
            Some(HpkeError::ZeroSharedSecret)
        );
    }
}
