//! Deterministic CBOR (RFC 8949 §4.2.1) for the envelope, wider than the log's codec.
//!
//! `caravan_log::cbor` covers exactly what log entries need: unsigned integers and maps
//! with unsigned keys. COSE (RFC 9052) needs more: negative integers (`alg` −19, COSE_Key
//! labels −1 and −2), tag 18 around COSE_Sign1, and the spec's wire object and header use
//! text keys. So the envelope carries this superset instead of bending the log's codec.
//! The rules are the same: shortest heads, definite lengths, map keys sorted by their
//! encoded bytes (bytewise lexicographic, §4.2.1) with no repeats, and a strict decoder
//! that refuses every other spelling, floats, simple values and trailing bytes, so
//! `encode(decode(b)) == b` for every accepted `b` and one value has one hash.

use std::fmt;

/// Deepest nesting the decoder accepts. A receipt nests four levels; eight leaves room
/// without letting a hostile input recurse deeply.
pub const MAX_NESTING: usize = 8;

/// A value of the envelope's CBOR subset.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3, valid UTF-8.
    Text(String),
    /// Major type 4.
    Array(Vec<Value>),
    /// Major type 5. Keys are integers or text; encoding sorts them.
    Map(Vec<(Value, Value)>),
    /// Major type 6.
    Tag(u64, Box<Value>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Uint(n) => write!(f, "{n}"),
            Value::Nint(n) => write!(f, "-{}", u128::from(*n) + 1),
            Value::Bytes(b) => write!(f, "h'{}'", crate::hex(b)),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Array(items) => f.debug_list().entries(items).finish(),
            Value::Map(entries) => f
                .debug_map()
                .entries(entries.iter().map(|(k, v)| (k, v)))
                .finish(),
            Value::Tag(tag, inner) => write!(f, "{tag}({inner:?})"),
        }
    }
}

/// Why bytes are not deterministic CBOR of the envelope's subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input ended inside a value.
    #[error("input ends inside a value at byte {0}")]
    Truncated(usize),
    /// Bytes follow the top-level value.
    #[error("{0} bytes follow the value")]
    Trailing(usize),
    /// A head uses a longer form than needed.
    #[error("integer or length at byte {0} is not in its shortest form")]
    NotShortest(usize),
    /// An indefinite length.
    #[error("indefinite length at byte {0}")]
    Indefinite(usize),
    /// A float, simple value, or reserved additional information.
    #[error("CBOR item {byte:#04x} at byte {at} is outside the envelope's subset")]
    Unsupported {
        /// The initial byte.
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// Map keys out of order, repeated, or of a type other than integer or text.
    #[error("map key at byte {0} is repeated, out of order or not an integer or text")]
    KeyOrder(usize),
    /// A text string is not UTF-8.
    #[error("text string at byte {0} is not UTF-8")]
    NotUtf8(usize),
    /// Nested deeper than [`MAX_NESTING`].
    #[error("nested deeper than {MAX_NESTING} levels")]
    TooDeep,
}

/// Writes a major type with its argument in the shortest form.
fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let top = major << 5;
    let be = arg.to_be_bytes();
    let (info, width) = match arg {
        0..=23 => (arg as u8, 0),
        24..=0xff => (24, 1),
        0x100..=0xffff => (25, 2),
        0x1_0000..=0xffff_ffff => (26, 4),
        _ => (27, 8),
    };
    out.push(top | info);
    out.extend_from_slice(&be[8 - width..]);
}

impl Value {
    /// A text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// A byte-string value.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(b.into())
    }

    /// An integer value (negative ones become major type 1).
    pub fn int(n: i64) -> Value {
        if n >= 0 {
            Value::Uint(n as u64)
        } else {
            Value::Nint((-1 - n) as u64)
        }
    }

    /// Appends the deterministic encoding of `self` to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Value::Uint(n) => write_head(out, 0, *n),
            Value::Nint(n) => write_head(out, 1, *n),
            Value::Bytes(b) => {
                write_head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Text(s) => {
                write_head(out, 3, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(items) => {
                write_head(out, 4, items.len() as u64);
                items.iter().for_each(|item| item.write_to(out));
            }
            Value::Map(entries) => {
                write_head(out, 5, entries.len() as u64);
                let mut encoded: Vec<(Vec<u8>, &Value)> =
                    entries.iter().map(|(k, v)| (k.to_bytes(), v)).collect();
                encoded.sort_by(|a, b| a.0.cmp(&b.0));
                for (key, value) in encoded {
                    out.extend_from_slice(&key);
                    value.write_to(out);
                }
            }
            Value::Tag(tag, inner) => {
                write_head(out, 6, *tag);
                inner.write_to(out);
            }
        }
    }

    /// The deterministic encoding of `self`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Decodes exactly one canonical value that fills all of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Value, CborError> {
        let mut cursor = Cursor { bytes, at: 0 };
        let value = cursor.item(0)?;
        match bytes.len() - cursor.at {
            0 => Ok(value),
            extra => Err(CborError::Trailing(extra)),
        }
    }

    /// The value under text key `key` of a map, if `self` is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(CborError::Truncated(self.at));
        }
        let start = self.at;
        self.at += n as usize;
        Ok(&self.bytes[start..self.at])
    }

    /// Reads an initial byte and its argument, enforcing the shortest form.
    fn head(&mut self) -> Result<(u8, u64), CborError> {
        let start = self.at;
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let (width, min) = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            31 if (2..=5).contains(&major) => return Err(CborError::Indefinite(start)),
            _ => {
                return Err(CborError::Unsupported {
                    byte: initial,
                    at: start,
                });
            }
        };
        let arg = self
            .take(width)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if arg < min {
            return Err(CborError::NotShortest(start));
        }
        Ok((major, arg))
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_NESTING {
            return Err(CborError::TooDeep);
        }
        let start = self.at;
        let (major, arg) = self.head()?;
        Ok(match major {
            0 => Value::Uint(arg),
            1 => Value::Nint(arg),
            2 => Value::Bytes(self.take(arg)?.to_vec()),
            3 => {
                let raw = self.take(arg)?;
                let text = std::str::from_utf8(raw).map_err(|_| CborError::NotUtf8(start))?;
                Value::Text(text.to_owned())
            }
            4 => {
                // Every item takes at least one byte, so a count larger than what is
                // left is a lie; refusing it here keeps it from sizing an allocation.
                let count = self.count(arg)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.item(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => {
                let count = self.count(arg)?;
                let mut entries = Vec::with_capacity(count);
                let mut previous: Option<&[u8]> = None;
                for _ in 0..count {
                    let key_start = self.at;
                    let key = self.item(depth + 1)?;
                    let key_bytes = &self.bytes[key_start..self.at];
                    if !matches!(key, Value::Uint(_) | Value::Nint(_) | Value::Text(_))
                        || previous.is_some_and(|p| p >= key_bytes)
                    {
                        return Err(CborError::KeyOrder(key_start));
                    }
                    previous = Some(key_bytes);
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Value::Map(entries)
            }
            6 => Value::Tag(arg, Box::new(self.item(depth + 1)?)),
            _ => {
                return Err(CborError::Unsupported {
                    byte: self.bytes[start],
                    at: start,
                });
            }
        })
    }

    fn count(&self, claimed: u64) -> Result<usize, CborError> {
        if claimed > (self.bytes.len() - self.at) as u64 {
            return Err(CborError::Truncated(self.at));
        }
        Ok(claimed as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hex, unhex};

    #[track_caller]
    fn check(value: Value, want: &str) {
        let bytes = value.to_bytes();
        assert_eq!(hex(&bytes), want);
        assert_eq!(Value::from_bytes(&bytes).unwrap(), value);
    }

    #[test]
    fn rfc8949_appendix_a_examples() {
        check(Value::Uint(0), "00");
        check(Value::Uint(24), "1818");
        check(Value::Uint(1_000_000), "1a000f4240");
        check(Value::Uint(u64::MAX), "1bffffffffffffffff");
        check(Value::int(-1), "20");
        check(Value::int(-10), "29");
        check(Value::int(-100), "3863");
        check(Value::int(-1000), "3903e7");
        check(Value::Nint(u64::MAX), "3bffffffffffffffff");
        check(Value::bytes(vec![1, 2, 3, 4]), "4401020304");
        check(Value::text("IETF"), "6449455446");
        check(Value::text("\u{6c34}"), "63e6b0b4");
        check(
            Value::Tag(1, Box::new(Value::Uint(1_363_896_240))),
            "c11a514b67b0",
        );
        check(
            Value::Map(vec![
                (Value::text("a"), Value::Uint(1)),
                (
                    Value::text("b"),
                    Value::Array(vec![Value::Uint(2), Value::Uint(3)]),
                ),
            ]),
            "a26161016162820203",
        );
    }

    #[test]
    fn map_keys_sort_by_encoded_bytes() {
        // RFC 8949 §4.2.1: 10 < 100 < -1 < "z" < "aa" by encoding, not by value.
        let map = Value::Map(vec![
            (Value::text("aa"), Value::Uint(0)),
            (Value::text("z"), Value::Uint(0)),
            (Value::int(-1), Value::Uint(0)),
            (Value::Uint(100), Value::Uint(0)),
            (Value::Uint(10), Value::Uint(0)),
        ]);
        assert_eq!(hex(&map.to_bytes()), "a50a001864002000617a0062616100");
    }

    #[track_caller]
    fn refuse(input: &str, want: CborError) {
        assert_eq!(Value::from_bytes(&unhex(input)), Err(want));
    }

    #[test]
    fn every_other_spelling_is_refused() {
        refuse("1817", CborError::NotShortest(0));
        refuse("3800", CborError::NotShortest(0));
        refuse("1900ff", CborError::NotShortest(0));
        refuse("1a0000ffff", CborError::NotShortest(0));
        refuse("1b00000000ffffffff", CborError::NotShortest(0));
        refuse("5f4100ff", CborError::Indefinite(0));
        refuse("9fff", CborError::Indefinite(0));
        refuse("a2616201616101", CborError::KeyOrder(4));
        refuse("a2616101616102", CborError::KeyOrder(4));
        refuse("a1410000", CborError::KeyOrder(1));
        refuse("f4", CborError::Unsupported { byte: 0xf4, at: 0 });
        refuse("f6", CborError::Unsupported { byte: 0xf6, at: 0 });
        refuse(
            "fb3ff0000000000000",
            CborError::Unsupported { byte: 0xfb, at: 0 },
        );
        refuse("1c", CborError::Unsupported { byte: 0x1c, at: 0 });
        refuse("0000", CborError::Trailing(1));
        refuse("62c3", CborError::Truncated(1));
        refuse("62c328", CborError::NotUtf8(0));
        refuse("9b0000000100000000", CborError::Truncated(9));
        refuse(&("81".repeat(MAX_NESTING + 1) + "00"), CborError::TooDeep);
    }

    fn arbitrary_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<u64>().prop_map(Value::Uint),
            any::<u64>().prop_map(Value::Nint),
            proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
            ".{0,12}".prop_map(Value::Text),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            let key = prop_oneof![
                any::<u64>().prop_map(Value::Uint),
                any::<u64>().prop_map(Value::Nint),
                "[a-z_]{0,8}".prop_map(Value::Text),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((key, inner.clone()), 0..5).prop_map(|entries| {
                    // Keys must be unique; keep the first of each encoding.
                    let mut seen = std::collections::BTreeSet::new();
                    Value::Map(
                        entries
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.to_bytes()))
                            .collect(),
                    )
                }),
                (any::<u64>(), inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn encoding_round_trips(value in arbitrary_value()) {
            let bytes = value.to_bytes();
            let back = Value::from_bytes(&bytes).unwrap();
            proptest::prop_assert_eq!(back.to_bytes(), bytes);
        }

        #[test]
        fn accepted_bytes_have_one_encoding(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)) {
            if let Ok(value) = Value::from_bytes(&bytes) {
                proptest::prop_assert_eq!(value.to_bytes(), bytes);
            }
        }
    }
}
