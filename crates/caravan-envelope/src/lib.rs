//! The message envelope between Caravan nodes (spec `exchange-and-log.md` §3–§9): what
//! the bytes of a message, a receipt and an error are, and how they are sealed, opened
//! and verified.
//!
//! The crate is pure: no sockets, files, clocks or stores. It reads and writes only the
//! `Read`/`Write` it is handed for large parts, and takes "now" as an argument, so the
//! exchange crate owns every side effect and this one can be fuzzed and property-tested
//! whole. Standard formats only: deterministic CBOR ([`cbor`], RFC 8949 §4.2.1),
//! COSE_Sign1 with Ed25519 ([`cose`], RFC 9052 / RFC 9864), HPKE base mode
//! X25519/HKDF-SHA256/AES-128-GCM ([`hpke`], RFC 9180), RFC 9679 key ids ([`keys`]),
//! STREAM segments for large parts ([`stream`]), and receipts carrying a C2SP tlog-proof
//! ([`receipt`]).
//!
//! The names the exchange crate codes against are re-exported at the root.
//!
//! # Example
//!
//! ```
//! use caravan_envelope::{
//!     Compression, EncryptionSecretKey, Header, KeyRefusal, Kid, Limits, MessageSigningKey,
//!     MessageVerifyingKey, Part, Party, SenderKeys, WireView, open, seal,
//! };
//!
//! struct OneSender(MessageVerifyingKey);
//! impl SenderKeys for OneSender {
//!     fn verifying_key(&self, _: &Party, kid: &Kid, _: u64) -> Result<MessageVerifyingKey, KeyRefusal> {
//!         if *kid == self.0.kid() { Ok(self.0) } else { Err(KeyRefusal::UnknownKey) }
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let uz_signing = MessageSigningKey::generate()?;
//! let us_encryption = EncryptionSecretKey::generate()?;
//! let header = Header {
//!     message_id: "0190f6c2-7d1e-7000-8000-000000000001@caravan.customs.uz".into(),
//!     conversation_id: "case-1".into(),
//!     ref_to: None,
//!     from: Party::new("caravan:admin", "UZ-CUSTOMS"),
//!     to: Party::new("caravan:admin", "US-CBP"),
//!     role: "requesting".into(),
//!     service: "caravan:cmaa/v1".into(),
//!     action: "Spontaneous.Inform".into(),
//!     agreement_id: "us-uz-cmaa-2024".into(),
//!     profile_id: "us-uz-v1".into(),
//!     created_at: 1_790_000_000_000,
//!     expires_at: None,
//!     enc_kid: us_encryption.kid(),
//! };
//! let body = br#"{"declaration":"EX-1"}"#;
//! let part = Part { part_id: "body", media_type: "application/json", compression: Compression::None, body };
//! let sealed = seal(&header, &[part], &uz_signing, &us_encryption.public_key())?;
//!
//! let view = WireView::decode(&sealed.wire, &Limits::default())?;
//! let opened = open(&view, &us_encryption, &OneSender(uz_signing.verifying_key()))?;
//! assert_eq!(opened.parts[0].body, body);
//! assert_eq!(opened.hdr_sha256, sealed.hdr_sha256);
//! # Ok(())
//! # }
//! ```

pub mod cbor;
pub mod cose;
pub mod envelope;
pub mod error;
pub mod header;
pub mod hpke;
pub mod keys;
pub mod receipt;
pub mod stream;
pub mod time;

pub use envelope::{
    DetachedPart, Limits, Opened, OpenedPart, Part, Sealed, Sealer, SenderKeys, WireBody, WirePart,
    WireView, open, seal, seal_with_ephemeral,
};
pub use error::{Category, EnvelopeError, KeyRefusal};
pub use header::{Compression, Header, Manifest, PartInfo, Party};
pub use keys::{
    EncryptionPublicKey, EncryptionSecretKey, KeyError, Kid, MessageSigningKey, MessageVerifyingKey,
};
pub use receipt::{
    LogSalts, OfflineVerdict, Outcome, PartDigest, ReceiptBody, ReceiptLog, SignedError,
    VerifiedCheckpoints, message_event, sign_error, sign_receipt, verify_error, verify_receipt,
    verify_receipt_body_offline, verify_receipt_offline,
};
pub use stream::{PartOpener, PartSealer, PartSummary};
pub use time::{TimePolicy, check_time};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses even-length hex; `None` on any other character.
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
pub(crate) fn unhex(text: &str) -> Vec<u8> {
    parse_hex(text).expect("test hex")
}
