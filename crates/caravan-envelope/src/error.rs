//! One error type for every envelope operation, with the stable code, category, HTTP
//! status and retry rule of spec §5.
//!
//! The receiver turns these into a signed error (`receipt::SignedError`) and the HTTP edge
//! turns them into a status, so each failure the issue lists (unknown sender, revoked or
//! rotated key, wrong recipient, tampering, replay, expiry, oversized header, malformed or
//! non-canonical CBOR, downgrade) has its own `code()` that never changes once shipped.
//! Messages name fields and sizes, never key material or plaintext.

use crate::cbor::CborError;
use crate::keys::{KeyError, Kid};

/// Why a sender key was not accepted for a message (spec §8.3, §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    /// The `from` party is not a partner of this node.
    #[error("the sending party is not a known partner")]
    UnknownSender,
    /// The party is known but has no key with this kid.
    #[error("no key with this kid is known for the sender")]
    UnknownKey,
    /// The key was revoked before the message's `created_at`.
    #[error("the signing key was revoked before the message was created")]
    Revoked,
    /// The key's `not_after` is before the message's `created_at`.
    #[error("the signing key had been rotated out when the message was created")]
    RotatedOut,
    /// The key's `not_before` is after the message's `created_at`.
    #[error("the signing key was not yet valid when the message was created")]
    NotYetValid,
}

/// The ebMS3-style error categories of spec §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Delivery and availability.
    Transport,
    /// Keys, signatures, encryption.
    Security,
    /// The partner profile: suites, time policy.
    Profile,
    /// The bytes themselves.
    Content,
}

impl Category {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Transport => "transport",
            Category::Security => "security",
            Category::Profile => "profile",
            Category::Content => "content",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Category> {
        Some(match s {
            "transport" => Category::Transport,
            "security" => Category::Security,
            "profile" => Category::Profile,
            "content" => Category::Content,
            _ => return None,
        })
    }
}

/// Every way sealing, opening, checking or verifying can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Bytes that are not CBOR of the subset, or not in its one canonical form.
    #[error("{what} is not deterministic CBOR: {source}")]
    Cbor {
        /// Which object.
        what: &'static str,
        /// The decoder's finding.
        source: CborError,
    },
    /// A required field is absent.
    #[error("{what} lacks the field `{field}`")]
    MissingField {
        /// Which object.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field this version does not define.
    #[error("{what} has the unknown field {field}")]
    UnknownField {
        /// Which object.
        what: &'static str,
        /// The field as found (debug form of the key).
        field: String,
    },
    /// A field of the wrong type or outside its rules.
    #[error("{what} field `{field}`: {reason}")]
    InvalidField {
        /// Which object.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The clear header exceeds the profile's limit.
    #[error("header is {size} bytes; the limit is {max}")]
    HeaderTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The message, an inline part or a part is over its size limit, or has too many parts.
    #[error("{what} is {size}; the limit is {max}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size (bytes or count).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The wire names an HPKE suite other than 0x0020/0x0001/0x0001.
    #[error(
        "HPKE suite {kem:#06x}/{kdf:#06x}/{aead:#06x} is not allowed; the profile requires 0x0020/0x0001/0x0001"
    )]
    HpkeSuiteNotAllowed {
        /// KEM id.
        kem: u64,
        /// KDF id.
        kdf: u64,
        /// AEAD id.
        aead: u64,
    },
    /// The COSE `alg` is not Ed25519 (−19): a downgrade or a foreign algorithm.
    #[error("COSE algorithm {alg} is not allowed; the profile requires Ed25519 (-19)")]
    SignatureAlgorithmNotAllowed {
        /// The `alg` found.
        alg: i64,
    },
    /// The COSE structure is not what this kind of object requires.
    #[error("COSE_Sign1 {reason}")]
    CoseStructure {
        /// What is wrong.
        reason: &'static str,
    },
    /// `enc_kid` names another node's encryption key.
    #[error("message is encrypted to key {enc_kid}, not to this node's key {ours}")]
    WrongRecipient {
        /// The header's `enc_kid`.
        enc_kid: Kid,
        /// This node's key.
        ours: Kid,
    },
    /// The HPKE context or the sealed signature did not open.
    #[error("the sealed signature does not decrypt with this node's key and this header")]
    DecryptionFailed,
    /// The Ed25519 signature does not verify.
    #[error("the signature does not verify with the signer's key")]
    SignatureInvalid,
    /// The sender's key was refused.
    #[error("{0}")]
    SignerKey(KeyRefusal),
    /// The signed header differs from the wire header (a swapped header).
    #[error("the signed header differs from the header on the wire")]
    HeaderMismatch,
    /// A part does not match the signed manifest.
    #[error("part `{part_id}`: {reason}")]
    PartMismatch {
        /// The part.
        part_id: String,
        /// What differs.
        reason: String,
    },
    /// A segment of a part failed authentication (tampered or reordered).
    #[error("part `{part_id}` segment {segment} does not authenticate (tampered or out of order)")]
    PartTampered {
        /// The part.
        part_id: String,
        /// Segment number.
        segment: u64,
    },
    /// A part stream ends before its last segment.
    #[error("part `{part_id}` ends after {segments} intact segments, before its last one")]
    StreamTruncated {
        /// The part.
        part_id: String,
        /// Segments read intact.
        segments: u64,
    },
    /// Bytes follow a part's last segment.
    #[error("part `{part_id}` has data after its last segment {segment}")]
    StreamTrailing {
        /// The part.
        part_id: String,
        /// The last segment's number.
        segment: u64,
    },
    /// `expires_at` has passed.
    #[error("message expired at {expires_at} ms; now is {now} ms")]
    Expired {
        /// Expiry.
        expires_at: u64,
        /// Now.
        now: u64,
    },
    /// `created_at` is later than now plus the allowed skew.
    #[error(
        "message was created at {created_at} ms, beyond now ({now} ms) plus the {skew_ms} ms skew"
    )]
    FromTheFuture {
        /// Creation time.
        created_at: u64,
        /// Now.
        now: u64,
        /// Allowed skew.
        skew_ms: u64,
    },
    /// `created_at` is older than the replay window.
    #[error(
        "message was created at {created_at} ms, before the replay window of {window_ms} ms ending now ({now} ms)"
    )]
    OutsideReplayWindow {
        /// Creation time.
        created_at: u64,
        /// Now.
        now: u64,
        /// The window.
        window_ms: u64,
    },
    /// A receipt does not acknowledge what was sent.
    #[error("receipt does not match the message: {reason}")]
    ReceiptMismatch {
        /// What differs.
        reason: String,
    },
    /// The receipt's tlog-proof does not verify.
    #[error("receipt's tlog-proof does not verify: {reason}")]
    ReceiptProof {
        /// The verifier's finding.
        reason: String,
    },
    /// The proven log entry does not commit to the acknowledged message.
    #[error("receipt's log entry does not commit to the message: {reason}")]
    ReceiptLogEntry {
        /// What differs.
        reason: String,
    },
    /// Bad key bytes.
    #[error("key: {0}")]
    Key(KeyError),
    /// Reading or writing a part stream failed.
    #[error("part stream I/O: {0}")]
    Io(String),
}

impl From<KeyError> for EnvelopeError {
    fn from(e: KeyError) -> Self {
        EnvelopeError::Key(e)
    }
}

impl EnvelopeError {
    pub(crate) fn cbor(what: &'static str) -> impl Fn(CborError) -> EnvelopeError {
        move |source| EnvelopeError::Cbor { what, source }
    }

    pub(crate) fn invalid(
        what: &'static str,
        field: &'static str,
        reason: impl Into<String>,
    ) -> EnvelopeError {
        EnvelopeError::InvalidField {
            what,
            field,
            reason: reason.into(),
        }
    }

    /// The stable snake_case code, for signed errors, logs and the HTTP body.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Cbor { source, .. } => match source {
                CborError::NotShortest(_) | CborError::Indefinite(_) | CborError::KeyOrder(_) => {
                    "non_canonical_cbor"
                }
                _ => "malformed_cbor",
            },
            EnvelopeError::MissingField { .. } => "missing_field",
            EnvelopeError::UnknownField { .. } => "unknown_field",
            EnvelopeError::InvalidField { .. } => "invalid_field",
            EnvelopeError::HeaderTooLarge { .. } => "header_too_large",
            EnvelopeError::TooLarge { .. } => "message_too_large",
            EnvelopeError::HpkeSuiteNotAllowed { .. } => "hpke_suite_not_allowed",
            EnvelopeError::SignatureAlgorithmNotAllowed { .. } => "signature_algorithm_not_allowed",
            EnvelopeError::CoseStructure { .. } => "cose_structure_invalid",
            EnvelopeError::WrongRecipient { .. } => "wrong_recipient",
            EnvelopeError::DecryptionFailed => "decryption_failed",
            EnvelopeError::SignatureInvalid => "signature_invalid",
            EnvelopeError::SignerKey(refusal) => match refusal {
                KeyRefusal::UnknownSender => "unknown_sender",
                KeyRefusal::UnknownKey => "signer_key_unknown",
                KeyRefusal::Revoked => "signer_key_revoked",
                KeyRefusal::RotatedOut => "signer_key_rotated_out",
                KeyRefusal::NotYetValid => "signer_key_not_yet_valid",
            },
            EnvelopeError::HeaderMismatch => "signed_header_mismatch",
            EnvelopeError::PartMismatch { .. } => "part_digest_mismatch",
            EnvelopeError::PartTampered { .. } => "part_tampered",
            EnvelopeError::StreamTruncated { .. } => "part_truncated",
            EnvelopeError::StreamTrailing { .. } => "part_trailing_data",
            EnvelopeError::Expired { .. } => "message_expired",
            EnvelopeError::FromTheFuture { .. } => "clock_skew",
            EnvelopeError::OutsideReplayWindow { .. } => "outside_replay_window",
            EnvelopeError::ReceiptMismatch { .. } => "receipt_mismatch",
            EnvelopeError::ReceiptProof { .. } => "receipt_proof_invalid",
            EnvelopeError::ReceiptLogEntry { .. } => "receipt_log_entry_mismatch",
            EnvelopeError::Key(_) => "invalid_key",
            EnvelopeError::Io(_) => "part_stream_io",
        }
    }

    /// The spec §5 category.
    pub fn category(&self) -> Category {
        match self {
            EnvelopeError::Cbor { .. }
            | EnvelopeError::MissingField { .. }
            | EnvelopeError::UnknownField { .. }
            | EnvelopeError::InvalidField { .. }
            | EnvelopeError::HeaderTooLarge { .. }
            | EnvelopeError::TooLarge { .. }
            | EnvelopeError::CoseStructure { .. }
            | EnvelopeError::Key(_) => Category::Content,
            EnvelopeError::HpkeSuiteNotAllowed { .. }
            | EnvelopeError::Expired { .. }
            | EnvelopeError::FromTheFuture { .. }
            | EnvelopeError::OutsideReplayWindow { .. } => Category::Profile,
            EnvelopeError::SignatureAlgorithmNotAllowed { .. }
            | EnvelopeError::WrongRecipient { .. }
            | EnvelopeError::DecryptionFailed
            | EnvelopeError::SignatureInvalid
            | EnvelopeError::SignerKey(_)
            | EnvelopeError::HeaderMismatch
            | EnvelopeError::PartMismatch { .. }
            | EnvelopeError::PartTampered { .. }
            | EnvelopeError::StreamTruncated { .. }
            | EnvelopeError::StreamTrailing { .. }
            | EnvelopeError::ReceiptMismatch { .. }
            | EnvelopeError::ReceiptProof { .. }
            | EnvelopeError::ReceiptLogEntry { .. } => Category::Security,
            EnvelopeError::Io(_) => Category::Transport,
        }
    }

    /// The HTTP status of spec §5's table.
    pub fn http_status(&self) -> u16 {
        match self {
            EnvelopeError::HeaderTooLarge { .. } | EnvelopeError::TooLarge { .. } => 413,
            EnvelopeError::SignerKey(KeyRefusal::UnknownSender) => 403,
            EnvelopeError::Io(_) => 503,
            e => match e.category() {
                Category::Content | Category::Profile => 400,
                Category::Security | Category::Transport => 422,
            },
        }
    }

    /// Whether resending the same bytes later can succeed: only after a clock fix (a
    /// future-dated message) or a transient stream failure.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            EnvelopeError::FromTheFuture { .. } | EnvelopeError::Io(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_statuses_follow_the_spec_table() {
        let cases = [
            (
                EnvelopeError::Cbor {
                    what: "wire",
                    source: CborError::NotShortest(0),
                },
                "non_canonical_cbor",
                400,
            ),
            (
                EnvelopeError::Cbor {
                    what: "wire",
                    source: CborError::Truncated(0),
                },
                "malformed_cbor",
                400,
            ),
            (
                EnvelopeError::HeaderTooLarge {
                    size: 9000,
                    max: 8192,
                },
                "header_too_large",
                413,
            ),
            (
                EnvelopeError::SignerKey(KeyRefusal::UnknownSender),
                "unknown_sender",
                403,
            ),
            (
                EnvelopeError::SignerKey(KeyRefusal::Revoked),
                "signer_key_revoked",
                422,
            ),
            (EnvelopeError::DecryptionFailed, "decryption_failed", 422),
            (
                EnvelopeError::Expired {
                    expires_at: 1,
                    now: 2,
                },
                "message_expired",
                400,
            ),
            (EnvelopeError::Io("disk".into()), "part_stream_io", 503),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.http_status(), status, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert!(
            EnvelopeError::FromTheFuture {
                created_at: 2,
                now: 1,
                skew_ms: 0
            }
            .retryable()
        );
        assert!(!EnvelopeError::SignatureInvalid.retryable());
        for category in [
            Category::Transport,
            Category::Security,
            Category::Profile,
            Category::Content,
        ] {
            assert_eq!(Category::parse(category.as_str()), Some(category));
        }
    }
}
