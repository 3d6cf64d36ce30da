//! The clear routing header and the signed manifest of a message (spec §3, §4.1).
//!
//! The header travels unencrypted so the receiver can route, apply the profile, check
//! time and deduplicate before any cryptography (receiver steps 1–4); it is also bound
//! into HPKE (`info` and every `aad`) and signed, so it cannot be swapped. The manifest
//! lists each part's id, media type, plaintext length, plaintext SHA-256 and declared
//! compression; it is signed and encrypted, never in clear. Both are deterministic-CBOR
//! maps with text keys named as in the spec; decoding refuses unknown and missing fields,
//! so one header has one encoding and one `hdr_sha256`.

use crate::cbor::Value;
use crate::error::EnvelopeError;
use crate::keys::Kid;

/// Longest identifier-like text field (message ids, party ids, service names).
pub const MAX_ID_LEN: usize = 256;

/// A strict reader over a CBOR map with text keys: every field must be taken exactly
/// once, and [`Fields::finish`] refuses whatever is left.
pub(crate) struct Fields {
    what: &'static str,
    entries: Vec<(Value, Value)>,
}

impl Fields {
    pub(crate) fn new(what: &'static str, value: Value) -> Result<Fields, EnvelopeError> {
        match value {
            Value::Map(entries) => Ok(Fields { what, entries }),
            _ => Err(EnvelopeError::invalid(what, "(top)", "not a CBOR map")),
        }
    }

    pub(crate) fn optional(&mut self, field: &'static str) -> Option<Value> {
        let at = self
            .entries
            .iter()
            .position(|(k, _)| matches!(k, Value::Text(t) if t == field))?;
        Some(self.entries.remove(at).1)
    }

    pub(crate) fn required(&mut self, field: &'static str) -> Result<Value, EnvelopeError> {
        self.optional(field).ok_or(EnvelopeError::MissingField {
            what: self.what,
            field,
        })
    }

    pub(crate) fn text(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<String, EnvelopeError> {
        let value = self.required(field)?;
        as_text(self.what, field, value, max)
    }

    pub(crate) fn optional_text(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Option<String>, EnvelopeError> {
        self.optional(field)
            .map(|value| as_text(self.what, field, value, max))
            .transpose()
    }

    pub(crate) fn uint(&mut self, field: &'static str) -> Result<u64, EnvelopeError> {
        match self.required(field)? {
            Value::Uint(n) => Ok(n),
            _ => Err(EnvelopeError::invalid(
                self.what,
                field,
                "not an unsigned integer",
            )),
        }
    }

    pub(crate) fn optional_uint(
        &mut self,
        field: &'static str,
    ) -> Result<Option<u64>, EnvelopeError> {
        match self.optional(field) {
            None => Ok(None),
            Some(Value::Uint(n)) => Ok(Some(n)),
            Some(_) => Err(EnvelopeError::invalid(
                self.what,
                field,
                "not an unsigned integer",
            )),
        }
    }

    pub(crate) fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, EnvelopeError> {
        match self.required(field)? {
            Value::Bytes(b) => Ok(b),
            _ => Err(EnvelopeError::invalid(
                self.what,
                field,
                "not a byte string",
            )),
        }
    }

    pub(crate) fn digest(&mut self, field: &'static str) -> Result<[u8; 32], EnvelopeError> {
        let bytes = self.bytes(field)?;
        bytes
            .try_into()
            .map_err(|_| EnvelopeError::invalid(self.what, field, "not 32 bytes"))
    }

    pub(crate) fn array(&mut self, field: &'static str) -> Result<Vec<Value>, EnvelopeError> {
        match self.required(field)? {
            Value::Array(items) => Ok(items),
            _ => Err(EnvelopeError::invalid(self.what, field, "not an array")),
        }
    }

    pub(crate) fn finish(self) -> Result<(), EnvelopeError> {
        match self.entries.into_iter().next() {
            None => Ok(()),
            Some((key, _)) => Err(EnvelopeError::UnknownField {
                what: self.what,
                field: format!("{key:?}"),
            }),
        }
    }
}

fn as_text(
    what: &'static str,
    field: &'static str,
    value: Value,
    max: usize,
) -> Result<String, EnvelopeError> {
    let Value::Text(text) = value else {
        return Err(EnvelopeError::invalid(what, field, "not a text string"));
    };
    if text.is_empty() || text.len() > max {
        return Err(EnvelopeError::invalid(
            what,
            field,
            format!("must be 1 to {max} bytes"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(EnvelopeError::invalid(
            what,
            field,
            "contains a control character",
        ));
    }
    Ok(text)
}

/// A party: `{type, id}`, e.g. `{caravan:admin, US-CBP}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Party {
    /// The party-id type (`type` on the wire).
    pub kind: String,
    /// The party id.
    pub id: String,
}

impl Party {
    /// A party of the given type and id.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Party {
        Party {
            kind: kind.into(),
            id: id.into(),
        }
    }

    pub(crate) fn to_value(&self) -> Value {
        Value::Map(vec![
            (Value::text("type"), Value::text(self.kind.clone())),
            (Value::text("id"), Value::text(self.id.clone())),
        ])
    }

    pub(crate) fn from_value(what: &'static str, value: Value) -> Result<Party, EnvelopeError> {
        let mut fields = Fields::new(what, value)?;
        let party = Party {
            kind: fields.text("type", MAX_ID_LEN)?,
            id: fields.text("id", MAX_ID_LEN)?,
        };
        fields.finish()?;
        Ok(party)
    }
}

/// The routing header (spec §3 fields plus `enc_kid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `<UUIDv7>@<sender node host>`.
    pub message_id: String,
    /// The case id.
    pub conversation_id: String,
    /// The message this one answers.
    pub ref_to: Option<String>,
    /// Sender.
    pub from: Party,
    /// Recipient.
    pub to: Party,
    /// The sender's role in the agreement.
    pub role: String,
    /// e.g. `caravan:cmaa/v1`.
    pub service: String,
    /// e.g. `Request.Submit`.
    pub action: String,
    /// The agreement.
    pub agreement_id: String,
    /// The partner profile (P-Mode analogue).
    pub profile_id: String,
    /// Creation time, Unix ms.
    pub created_at: u64,
    /// Expiry, Unix ms, for time-critical actions.
    pub expires_at: Option<u64>,
    /// The recipient's encryption key id.
    pub enc_kid: Kid,
}

impl Header {
    pub(crate) fn to_value(&self) -> Value {
        let mut entries = vec![
            (
                Value::text("message_id"),
                Value::text(self.message_id.clone()),
            ),
            (
                Value::text("conversation_id"),
                Value::text(self.conversation_id.clone()),
            ),
            (Value::text("from"), self.from.to_value()),
            (Value::text("to"), self.to.to_value()),
            (Value::text("role"), Value::text(self.role.clone())),
            (Value::text("service"), Value::text(self.service.clone())),
            (Value::text("action"), Value::text(self.action.clone())),
            (
                Value::text("agreement_id"),
                Value::text(self.agreement_id.clone()),
            ),
            (
                Value::text("profile_id"),
                Value::text(self.profile_id.clone()),
            ),
            (Value::text("created_at"), Value::Uint(self.created_at)),
            (
                Value::text("enc_kid"),
                Value::bytes(self.enc_kid.0.to_vec()),
            ),
        ];
        if let Some(ref_to) = &self.ref_to {
            entries.push((Value::text("ref_to"), Value::text(ref_to.clone())));
        }
        if let Some(expires_at) = self.expires_at {
            entries.push((Value::text("expires_at"), Value::Uint(expires_at)));
        }
        Value::Map(entries)
    }

    /// The deterministic CBOR of the header: the bytes that are hashed, bound and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_value().to_bytes()
    }

    pub(crate) fn from_value(value: Value) -> Result<Header, EnvelopeError> {
        const WHAT: &str = "header";
        let mut fields = Fields::new(WHAT, value)?;
        let header = Header {
            message_id: fields.text("message_id", MAX_ID_LEN)?,
            conversation_id: fields.text("conversation_id", MAX_ID_LEN)?,
            ref_to: fields.optional_text("ref_to", MAX_ID_LEN)?,
            from: Party::from_value(WHAT, fields.required("from")?)?,
            to: Party::from_value(WHAT, fields.required("to")?)?,
            role: fields.text("role", MAX_ID_LEN)?,
            service: fields.text("service", MAX_ID_LEN)?,
            action: fields.text("action", MAX_ID_LEN)?,
            agreement_id: fields.text("agreement_id", MAX_ID_LEN)?,
            profile_id: fields.text("profile_id", MAX_ID_LEN)?,
            created_at: fields.uint("created_at")?,
            expires_at: fields.optional_uint("expires_at")?,
            enc_kid: Kid::from_slice(&fields.bytes("enc_kid")?)
                .map_err(|_| EnvelopeError::invalid(WHAT, "enc_kid", "not 32 bytes"))?,
        };
        fields.finish()?;
        Ok(header)
    }

    /// Checks a header a caller built before it is sealed, with the rules decoding applies.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        Header::from_value(self.to_value()).map(|_| ())
    }
}

/// Compression applied before encryption, declared in the manifest (spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    None,
    /// zstd.
    Zstd,
    /// gzip.
    Gzip,
}

impl Compression {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }

    fn parse(s: &str) -> Option<Compression> {
        Some(match s {
            "none" => Compression::None,
            "zstd" => Compression::Zstd,
            "gzip" => Compression::Gzip,
            _ => return None,
        })
    }
}

/// One manifest line: what the sender signed about a part's plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// Unique within the message, e.g. `body`.
    pub part_id: String,
    /// e.g. `application/json`.
    pub media_type: String,
    /// Plaintext length in bytes (after compression, if any).
    pub length: u64,
    /// SHA-256 of the plaintext as encrypted.
    pub sha256: [u8; 32],
    /// Declared compression.
    pub compression: Compression,
}

impl PartInfo {
    fn to_value(&self) -> Value {
        Value::Map(vec![
            (Value::text("part_id"), Value::text(self.part_id.clone())),
            (
                Value::text("media_type"),
                Value::text(self.media_type.clone()),
            ),
            (Value::text("length"), Value::Uint(self.length)),
            (Value::text("sha256"), Value::bytes(self.sha256.to_vec())),
            (
                Value::text("compression"),
                Value::text(self.compression.as_str()),
            ),
        ])
    }

    fn from_value(value: Value) -> Result<PartInfo, EnvelopeError> {
        const WHAT: &str = "manifest";
        let mut fields = Fields::new(WHAT, value)?;
        let compression = fields.text("compression", 8)?;
        let info = PartInfo {
            part_id: fields.text("part_id", MAX_ID_LEN)?,
            media_type: fields.text("media_type", MAX_ID_LEN)?,
            length: fields.uint("length")?,
            sha256: fields.digest("sha256")?,
            compression: Compression::parse(&compression).ok_or_else(|| {
                EnvelopeError::invalid(WHAT, "compression", "not none, zstd or gzip")
            })?,
        };
        fields.finish()?;
        Ok(info)
    }
}

/// The signed list of parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// One line per part, in wire order.
    pub parts: Vec<PartInfo>,
}

impl Manifest {
    pub(crate) fn to_value(&self) -> Value {
        Value::Array(self.parts.iter().map(PartInfo::to_value).collect())
    }

    pub(crate) fn from_value(value: Value) -> Result<Manifest, EnvelopeError> {
        let Value::Array(items) = value else {
            return Err(EnvelopeError::invalid("manifest", "(top)", "not an array"));
        };
        let parts = items
            .into_iter()
            .map(PartInfo::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        check_unique_ids(parts.iter().map(|p| p.part_id.as_str()))?;
        Ok(Manifest { parts })
    }
}

pub(crate) fn check_unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
) -> Result<(), EnvelopeError> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(EnvelopeError::invalid(
                "manifest",
                "part_id",
                format!("`{id}` appears twice"),
            ));
        }
    }
    Ok(())
}
