//! Sealing and opening a message: sign, then encrypt (spec §4.1).
//!
//! `seal` signs `CBOR([hdr, man])` as a COSE_Sign1, sets up one HPKE context to the
//! recipient with `info = "caravan/v1 message" || SHA-256(hdr)`, seals the signature at
//! sequence 0 with `aad = SHA-256(hdr)`, and seals each part with STREAM under its
//! exported key. The wire object is the deterministic-CBOR map
//! `{"hdr", "suite", "enc", "sig", "parts"}`; `suite` names the HPKE suite so a downgrade
//! is refused before any cryptography rather than surfacing as a vague decryption failure.
//!
//! `WireView::decode` is receiver steps 1–4's view of the bytes: cheap, no cryptography,
//! every size limit applied before anything is allocated on the sender's word. `open` is
//! steps 5–8. Large parts go through [`Sealer::add_streamed`] and
//! [`DetachedPart::opener`], so they are never in memory whole.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::cbor::Value;
use crate::cose::{self, CONTENT_TYPE_MESSAGE, Sign1};
use crate::error::{EnvelopeError, KeyRefusal};
use crate::header::{
    Compression, Fields, Header, MAX_ID_LEN, Manifest, PartInfo, Party, check_unique_ids,
};
use crate::hpke::{self, AEAD_AES_128_GCM, ENC_LEN, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256};
use crate::keys::{
    EncryptionPublicKey, EncryptionSecretKey, Kid, MessageSigningKey, MessageVerifyingKey,
};
use crate::stream::{PartKey, PartOpener, PartSealer, PartSummary, ciphertext_len};

/// HPKE `info` prefix (spec §4.3).
const INFO_PREFIX: &[u8] = b"caravan/v1 message";
const WIRE: &str = "wire object";

/// Size limits from the partner profile (spec §3.1), applied before any cryptography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole wire object.
    pub max_wire_bytes: usize,
    /// Largest encoded header.
    pub max_header_bytes: usize,
    /// Most parts in one message.
    pub max_parts: usize,
    /// Largest inline part, plaintext bytes (256 KiB).
    pub max_inline_part: u64,
    /// Largest part of any kind, plaintext bytes (2 GiB).
    pub max_part: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_wire_bytes: 8 << 20,
            max_header_bytes: 8 << 10,
            max_parts: 64,
            max_inline_part: 256 << 10,
            max_part: 2 << 30,
        }
    }
}

/// A part to seal inline (at most [`Limits::max_inline_part`] bytes).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// Unique within the message.
    pub part_id: &'a str,
    /// Media type of the plaintext.
    pub media_type: &'a str,
    /// Declared compression (applied by the caller before sealing).
    pub compression: Compression,
    /// The plaintext.
    pub body: &'a [u8],
}

/// A sealed message, ready for the outbox. Every retry sends `wire` unchanged.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The wire object.
    pub wire: Vec<u8>,
    /// SHA-256 of the header bytes.
    pub hdr_sha256: [u8; 32],
    /// SHA-256 of the COSE_Sign1 bytes (before HPKE sealing).
    pub sig_sha256: [u8; 32],
    /// What was signed about the parts.
    pub manifest: Manifest,
}

/// How a part travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireBody {
    /// The ciphertext is in the wire object.
    Inline(Vec<u8>),
    /// The ciphertext was uploaded in segments under `part_ref` = its SHA-256.
    Detached,
}

/// One entry of the wire object's `parts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirePart {
    /// The part id (must match the manifest's, in order).
    pub part_id: String,
    /// Ciphertext bytes.
    pub ct_len: u64,
    /// SHA-256 of the ciphertext; for a detached part, its `part_ref`.
    pub ct_sha256: [u8; 32],
    /// Inline ciphertext or a reference.
    pub body: WireBody,
}

impl WirePart {
    fn to_value(&self) -> Value {
        let mut entries = vec![
            (Value::text("part_id"), Value::text(self.part_id.clone())),
            (Value::text("ct_len"), Value::Uint(self.ct_len)),
            (
                Value::text("ct_sha256"),
                Value::bytes(self.ct_sha256.to_vec()),
            ),
        ];
        entries.push(match &self.body {
            WireBody::Inline(ct) => (Value::text("ct"), Value::bytes(ct.clone())),
            WireBody::Detached => (
                Value::text("part_ref"),
                Value::bytes(self.ct_sha256.to_vec()),
            ),
        });
        Value::Map(entries)
    }

    fn from_value(value: Value, limits: &Limits) -> Result<WirePart, EnvelopeError> {
        let mut fields = Fields::new(WIRE, value)?;
        let part_id = fields.text("part_id", MAX_ID_LEN)?;
        let ct_len = fields.uint("ct_len")?;
        let ct_sha256 = fields.digest("ct_sha256")?;
        let body = match (fields.optional("ct"), fields.optional("part_ref")) {
            (Some(Value::Bytes(ct)), None) => {
                if ct.len() as u64 != ct_len {
                    return Err(EnvelopeError::invalid(
                        WIRE,
                        "ct_len",
                        "differs from the inline ciphertext's length",
                    ));
                }
                check_part_size("inline part", ct_len, limits.max_inline_part)?;
                WireBody::Inline(ct)
            }
            (None, Some(Value::Bytes(part_ref))) => {
                if part_ref != ct_sha256 {
                    return Err(EnvelopeError::invalid(
                        WIRE,
                        "part_ref",
                        "differs from ct_sha256",
                    ));
                }
                check_part_size("part", ct_len, limits.max_part)?;
                WireBody::Detached
            }
            _ => {
                return Err(EnvelopeError::invalid(
                    WIRE,
                    "parts",
                    "each part has a byte-string `ct` or `part_ref`, not both",
                ));
            }
        };
        fields.finish()?;
        Ok(WirePart {
            part_id,
            ct_len,
            ct_sha256,
            body,
        })
    }
}

/// Refuses a ciphertext longer than the sealing of `max_plaintext` bytes.
fn check_part_size(
    what: &'static str,
    ct_len: u64,
    max_plaintext: u64,
) -> Result<(), EnvelopeError> {
    let max = ciphertext_len(max_plaintext);
    if ct_len > max {
        return Err(EnvelopeError::TooLarge {
            what,
            size: ct_len,
            max,
        });
    }
    Ok(())
}

fn info(hdr_sha256: &[u8; 32]) -> Vec<u8> {
    let mut info = INFO_PREFIX.to_vec();
    info.extend_from_slice(hdr_sha256);
    info
}

fn suite_value() -> Value {
    Value::Array(vec![
        Value::Uint(u64::from(KEM_X25519_HKDF_SHA256)),
        Value::Uint(u64::from(KDF_HKDF_SHA256)),
        Value::Uint(u64::from(AEAD_AES_128_GCM)),
    ])
}

/// Builds a message part by part: inline parts from memory, large parts streamed.
pub struct Sealer {
    header: Header,
    hdr_bytes: Vec<u8>,
    hdr_sha256: [u8; 32],
    enc: [u8; ENC_LEN],
    context: hpke::Context,
    manifest: Manifest,
    wire_parts: Vec<WirePart>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Sealer({}, {} parts)",
            self.header.message_id,
            self.wire_parts.len()
        )
    }
}

impl Sealer {
    /// Starts a message to `recipient` with a fresh ephemeral key from the OS.
    pub fn new(header: &Header, recipient: &EncryptionPublicKey) -> Result<Sealer, EnvelopeError> {
        Sealer::with_ephemeral(header, recipient, &EncryptionSecretKey::generate()?)
    }

    /// Starts a message with a caller-chosen ephemeral key. Only for tests, fuzzing and
    /// known-answer checks: reusing an ephemeral key across messages breaks HPKE.
    pub fn with_ephemeral(
        header: &Header,
        recipient: &EncryptionPublicKey,
        ephemeral: &EncryptionSecretKey,
    ) -> Result<Sealer, EnvelopeError> {
        header.validate()?;
        if header.enc_kid != recipient.kid() {
            return Err(EnvelopeError::invalid(
                "header",
                "enc_kid",
                "is not the kid of the recipient key",
            ));
        }
        let hdr_bytes = header.to_bytes();
        let hdr_sha256: [u8; 32] = Sha256::digest(&hdr_bytes).into();
        let (enc, context) = hpke::setup_sender_with(recipient, &info(&hdr_sha256), ephemeral)
            .map_err(|_| {
                EnvelopeError::invalid("recipient key", "x", "is a small-order X25519 point")
            })?;
        Ok(Sealer {
            header: header.clone(),
            hdr_bytes,
            hdr_sha256,
            enc,
            context,
            manifest: Manifest::default(),
            wire_parts: Vec::new(),
        })
    }

    /// SHA-256 of the header being sealed.
    pub fn hdr_sha256(&self) -> [u8; 32] {
        self.hdr_sha256
    }

    fn push(&mut self, info: PartInfo, wire: WirePart) -> Result<(), EnvelopeError> {
        check_unique_ids(
            self.manifest
                .parts
                .iter()
                .map(|p| p.part_id.as_str())
                .chain([info.part_id.as_str()]),
        )?;
        self.manifest.parts.push(info);
        self.wire_parts.push(wire);
        Ok(())
    }

    fn part_sealer(&self, part_id: &str) -> PartSealer {
        PartSealer::new(PartKey::derive(&self.context, &self.hdr_sha256, part_id))
    }

    /// Seals a part carried inside the wire object.
    pub fn add_inline(&mut self, part: &Part<'_>) -> Result<(), EnvelopeError> {
        let mut ciphertext = Vec::with_capacity(ciphertext_len(part.body.len() as u64) as usize);
        let summary = self
            .part_sealer(part.part_id)
            .seal_stream(part.body, &mut ciphertext)?;
        let info = PartInfo {
            part_id: part.part_id.to_owned(),
            media_type: part.media_type.to_owned(),
            length: summary.length,
            sha256: summary.sha256,
            compression: part.compression,
        };
        let wire = WirePart {
            part_id: part.part_id.to_owned(),
            ct_len: summary.ct_len,
            ct_sha256: summary.ct_sha256,
            body: WireBody::Inline(ciphertext),
        };
        self.push(info, wire)
    }

    /// Seals a large part from `reader` into `writer` (the segments to upload with
    /// `PUT /parts/{part_ref}/{n}`, each [`crate::stream::SEGMENT_CT_LEN`] bytes but the
    /// last). Returns the summary; `part_ref` is its `ct_sha256`.
    pub fn add_streamed(
        &mut self,
        part_id: &str,
        media_type: &str,
        compression: Compression,
        reader: impl Read,
        writer: impl Write,
    ) -> Result<PartSummary, EnvelopeError> {
        let summary = self.part_sealer(part_id).seal_stream(reader, writer)?;
        let info = PartInfo {
            part_id: part_id.to_owned(),
            media_type: media_type.to_owned(),
            length: summary.length,
            sha256: summary.sha256,
            compression,
        };
        let wire = WirePart {
            part_id: part_id.to_owned(),
            ct_len: summary.ct_len,
            ct_sha256: summary.ct_sha256,
            body: WireBody::Detached,
        };
        self.push(info, wire)?;
        Ok(summary)
    }

    /// Signs `[hdr, man]`, seals the signature and writes the wire object.
    pub fn finish(mut self, signer: &MessageSigningKey) -> Result<Sealed, EnvelopeError> {
        // The manifest reuses the header's field checks: ids and media types must obey
        // the same rules the receiver applies, or the sender would sign what the
        // receiver must refuse.
        let manifest_value = self.manifest.to_value();
        Manifest::from_value(manifest_value.clone())?;
        let payload = Value::Array(vec![self.header.to_value(), manifest_value]).to_bytes();
        let sig = cose::sign(&payload, CONTENT_TYPE_MESSAGE, signer);
        let sig_sha256: [u8; 32] = Sha256::digest(&sig).into();
        let sealed_sig = self
            .context
            .seal(&self.hdr_sha256, &sig)
            .map_err(|_| EnvelopeError::DecryptionFailed)?;
        let hdr_value =
            Value::from_bytes(&self.hdr_bytes).map_err(EnvelopeError::cbor("header"))?;
        let wire = Value::Map(vec![
            (Value::text("hdr"), hdr_value),
            (Value::text("suite"), suite_value()),
            (Value::text("enc"), Value::bytes(self.enc.to_vec())),
            (Value::text("sig"), Value::bytes(sealed_sig)),
            (
                Value::text("parts"),
                Value::Array(self.wire_parts.iter().map(WirePart::to_value).collect()),
            ),
        ])
        .to_bytes();
        Ok(Sealed {
            wire,
            hdr_sha256: self.hdr_sha256,
            sig_sha256,
            manifest: self.manifest,
        })
    }
}

/// Seals a message whose parts are all inline.
pub fn seal(
    header: &Header,
    parts: &[Part<'_>],
    signer: &MessageSigningKey,
    recipient: &EncryptionPublicKey,
) -> Result<Sealed, EnvelopeError> {
    let mut sealer = Sealer::new(header, recipient)?;
    for part in parts {
        sealer.add_inline(part)?;
    }
    sealer.finish(signer)
}

/// [`seal`] with a pinned ephemeral key (tests, fuzzing, benchmarks of determinism).
pub fn seal_with_ephemeral(
    header: &Header,
    parts: &[Part<'_>],
    signer: &MessageSigningKey,
    recipient: &EncryptionPublicKey,
    ephemeral: &EncryptionSecretKey,
) -> Result<Sealed, EnvelopeError> {
    let mut sealer = Sealer::with_ephemeral(header, recipient, ephemeral)?;
    for part in parts {
        sealer.add_inline(part)?;
    }
    sealer.finish(signer)
}

/// The receiver's cheap view of a wire object: header and digests, no cryptography.
#[derive(Debug, Clone)]
pub struct WireView {
    /// The clear header, parsed.
    pub header: Header,
    /// Its exact bytes.
    pub hdr_bytes: Vec<u8>,
    /// SHA-256 of `hdr_bytes`: the dedupe key's content half.
    pub hdr_sha256: [u8; 32],
    /// The HPKE encapsulated key.
    pub enc: [u8; ENC_LEN],
    /// The HPKE-sealed COSE_Sign1.
    pub sealed_sig: Vec<u8>,
    /// The parts as carried.
    pub parts: Vec<WirePart>,
}

impl WireView {
    /// Decodes and checks a wire object: size limits, canonical CBOR, known fields only,
    /// the one allowed HPKE suite.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<WireView, EnvelopeError> {
        if bytes.len() > limits.max_wire_bytes {
            return Err(EnvelopeError::TooLarge {
                what: "wire object",
                size: bytes.len() as u64,
                max: limits.max_wire_bytes as u64,
            });
        }
        let value = Value::from_bytes(bytes).map_err(EnvelopeError::cbor(WIRE))?;
        let mut fields = Fields::new(WIRE, value)?;
        let hdr_value = fields.required("hdr")?;
        let hdr_bytes = hdr_value.to_bytes();
        if hdr_bytes.len() > limits.max_header_bytes {
            return Err(EnvelopeError::HeaderTooLarge {
                size: hdr_bytes.len(),
                max: limits.max_header_bytes,
            });
        }
        let header = Header::from_value(hdr_value)?;
        let suite = fields.array("suite")?;
        let ids: Vec<u64> = suite
            .iter()
            .map(|v| match v {
                Value::Uint(n) => Ok(*n),
                _ => Err(EnvelopeError::invalid(
                    WIRE,
                    "suite",
                    "not three unsigned integers",
                )),
            })
            .collect::<Result<_, _>>()?;
        let [kem, kdf, aead]: [u64; 3] = ids
            .try_into()
            .map_err(|_| EnvelopeError::invalid(WIRE, "suite", "not three unsigned integers"))?;
        if (kem, kdf, aead)
            != (
                u64::from(KEM_X25519_HKDF_SHA256),
                u64::from(KDF_HKDF_SHA256),
                u64::from(AEAD_AES_128_GCM),
            )
        {
            return Err(EnvelopeError::HpkeSuiteNotAllowed { kem, kdf, aead });
        }
        let enc: [u8; ENC_LEN] = fields
            .bytes("enc")?
            .try_into()
            .map_err(|_| EnvelopeError::invalid(WIRE, "enc", "not 32 bytes"))?;
        let sealed_sig = fields.bytes("sig")?;
        let raw_parts = fields.array("parts")?;
        fields.finish()?;
        if raw_parts.len() > limits.max_parts {
            return Err(EnvelopeError::TooLarge {
                what: "part count",
                size: raw_parts.len() as u64,
                max: limits.max_parts as u64,
            });
        }
        let parts = raw_parts
            .into_iter()
            .map(|p| WirePart::from_value(p, limits))
            .collect::<Result<Vec<_>, _>>()?;
        check_unique_ids(parts.iter().map(|p| p.part_id.as_str()))?;
        let hdr_sha256 = Sha256::digest(&hdr_bytes).into();
        Ok(WireView {
            header,
            hdr_bytes,
            hdr_sha256,
            enc,
            sealed_sig,
            parts,
        })
    }
}

/// Where the receiver finds a sender's message-verifying keys: the partner registry,
/// built from signed key manifests (spec §8.2).
pub trait SenderKeys {
    /// The key `kid` of `party` if it was valid for a message created at `created_at`
    /// (Unix ms), or why not.
    fn verifying_key(
        &self,
        party: &Party,
        kid: &Kid,
        created_at: u64,
    ) -> Result<MessageVerifyingKey, KeyRefusal>;
}

/// One sender key as its own registry (tests, fuzzing, benchmarks, an auditor holding
/// one key): the key when the `kid` is its own, [`KeyRefusal::UnknownKey`] otherwise.
impl SenderKeys for MessageVerifyingKey {
    fn verifying_key(
        &self,
        _party: &Party,
        kid: &Kid,
        _created_at: u64,
    ) -> Result<MessageVerifyingKey, KeyRefusal> {
        if *kid == self.kid() {
            Ok(*self)
        } else {
            Err(KeyRefusal::UnknownKey)
        }
    }
}

/// An inline part, decrypted and checked against the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPart {
    /// Its manifest line.
    pub info: PartInfo,
    /// The plaintext.
    pub body: Vec<u8>,
}

/// A detached part: the key to open its uploaded segments, and what they must match.
#[derive(Debug, Clone)]
pub struct DetachedPart {
    /// Its manifest line.
    pub info: PartInfo,
    /// SHA-256 of its whole ciphertext.
    pub part_ref: [u8; 32],
    /// Ciphertext bytes.
    pub ct_len: u64,
    key: PartKey,
}

impl DetachedPart {
    /// Opens the uploaded ciphertext from `reader` into `writer` and checks it against the
    /// manifest and `part_ref`. The receipt may be issued only after this returns `Ok`
    /// for every detached part.
    pub fn open(
        &self,
        reader: impl Read,
        writer: impl Write,
    ) -> Result<PartSummary, EnvelopeError> {
        let summary =
            PartOpener::new(self.key.clone()).open_stream(reader, writer, Some(&self.info))?;
        check_ciphertext(&self.info.part_id, &summary, self.ct_len, &self.part_ref)?;
        Ok(summary)
    }

    /// A segment-level opener, for callers that read segments one by one from a store.
    pub fn opener(&self) -> PartOpener {
        PartOpener::new(self.key.clone())
    }
}

fn check_ciphertext(
    part_id: &str,
    summary: &PartSummary,
    ct_len: u64,
    ct_sha256: &[u8; 32],
) -> Result<(), EnvelopeError> {
    if summary.ct_len != ct_len || &summary.ct_sha256 != ct_sha256 {
        return Err(EnvelopeError::PartMismatch {
            part_id: part_id.to_owned(),
            reason: "ciphertext length or SHA-256 differs from the wire object".to_owned(),
        });
    }
    Ok(())
}

/// A message after receiver steps 5–8.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The verified header.
    pub header: Header,
    /// The verified manifest.
    pub manifest: Manifest,
    /// SHA-256 of the header bytes.
    pub hdr_sha256: [u8; 32],
    /// SHA-256 of the sender's COSE_Sign1 bytes.
    pub sig_sha256: [u8; 32],
    /// The sender's COSE_Sign1, for the non-repudiation record.
    pub signature: Vec<u8>,
    /// The signer's key id.
    pub signer_kid: Kid,
    /// Inline parts, decrypted and checked.
    pub parts: Vec<OpenedPart>,
    /// Detached parts, still to be opened with [`DetachedPart::open`].
    pub detached: Vec<DetachedPart>,
}

/// Receiver steps 5–8: open the HPKE context and the signature, verify it against the
/// sender key valid at `created_at`, require the signed header to be the wire header,
/// decrypt the inline parts and check them against the manifest.
pub fn open(
    view: &WireView,
    recipient: &EncryptionSecretKey,
    senders: &dyn SenderKeys,
) -> Result<Opened, EnvelopeError> {
    let ours = recipient.kid();
    if view.header.enc_kid != ours {
        return Err(EnvelopeError::WrongRecipient {
            enc_kid: view.header.enc_kid,
            ours,
        });
    }
    let mut context = hpke::setup_recipient(&view.enc, recipient, &info(&view.hdr_sha256))
        .map_err(|_| EnvelopeError::DecryptionFailed)?;
    let signature = context
        .open(&view.hdr_sha256, &view.sealed_sig)
        .map_err(|_| EnvelopeError::DecryptionFailed)?;
    let sign1 = Sign1::parse(&signature, CONTENT_TYPE_MESSAGE)?;
    let key = senders
        .verifying_key(&view.header.from, &sign1.kid, view.header.created_at)
        .map_err(EnvelopeError::SignerKey)?;
    sign1.verify(&key)?;

    let payload =
        Value::from_bytes(&sign1.payload).map_err(EnvelopeError::cbor("signed payload"))?;
    let Value::Array(items) = payload else {
        return Err(EnvelopeError::CoseStructure {
            reason: "payload is not [hdr, man]",
        });
    };
    let [signed_hdr, man]: [Value; 2] =
        items.try_into().map_err(|_| EnvelopeError::CoseStructure {
            reason: "payload is not [hdr, man]",
        })?;
    if signed_hdr.to_bytes() != view.hdr_bytes {
        return Err(EnvelopeError::HeaderMismatch);
    }
    let manifest = Manifest::from_value(man)?;
    if manifest.parts.len() != view.parts.len()
        || manifest
            .parts
            .iter()
            .zip(&view.parts)
            .any(|(m, w)| m.part_id != w.part_id)
    {
        return Err(EnvelopeError::PartMismatch {
            part_id: view
                .parts
                .first()
                .map_or_else(String::new, |p| p.part_id.clone()),
            reason: "the wire parts are not the signed manifest's parts in order".to_owned(),
        });
    }

    let mut parts = Vec::new();
    let mut detached = Vec::new();
    for (info, wire) in manifest.parts.iter().zip(&view.parts) {
        if wire.ct_len != ciphertext_len(info.length) {
            return Err(EnvelopeError::PartMismatch {
                part_id: info.part_id.clone(),
                reason: format!(
                    "{} ciphertext bytes cannot hold the {} plaintext bytes signed",
                    wire.ct_len, info.length
                ),
            });
        }
        let key = PartKey::derive(&context, &view.hdr_sha256, &info.part_id);
        match &wire.body {
            WireBody::Inline(ciphertext) => {
                let mut body = Vec::with_capacity(info.length as usize);
                let summary =
                    PartOpener::new(key).open_stream(&ciphertext[..], &mut body, Some(info))?;
                check_ciphertext(&info.part_id, &summary, wire.ct_len, &wire.ct_sha256)?;
                parts.push(OpenedPart {
                    info: info.clone(),
                    body,
                });
            }
            WireBody::Detached => detached.push(DetachedPart {
                info: info.clone(),
                part_ref: wire.ct_sha256,
                ct_len: wire.ct_len,
                key,
            }),
        }
    }
    Ok(Opened {
        header: view.header.clone(),
        manifest,
        hdr_sha256: view.hdr_sha256,
        sig_sha256: Sha256::digest(&signature).into(),
        signature,
        signer_kid: sign1.kid,
        parts,
        detached,
    })
}
