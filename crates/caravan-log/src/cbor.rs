//! A tiny deterministic CBOR (RFC 8949 §4.2.1, "core deterministic encoding") codec.
//!
//! Log entries are hashed, so one value must have exactly one encoding: two encoders that
//! disagreed on a length form or a key order would produce different leaf hashes for the
//! same event. The subset here is what entries need and nothing more: unsigned integers,
//! byte strings, text strings, arrays, and maps with unsigned-integer keys. Encoding
//! always uses the shortest form, definite lengths and keys sorted by their encoding
//! (for unsigned keys, that is numeric order). The decoder is strict: it rejects every
//! other spelling (long-form integers, indefinite lengths, unsorted or repeated keys,
//! tags, floats, negative integers, trailing bytes), so `encode(decode(b)) == b` for every
//! accepted `b`. It is written by hand because general CBOR crates accept far more than
//! this and would have to be fenced in anyway.

/// Deepest nesting the decoder accepts; entries nest at most two levels.
pub const MAX_DEPTH: usize = 8;

/// A value of the supported CBOR subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Major type 0.
    Uint(u64),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3, valid UTF-8.
    Text(String),
    /// Major type 4.
    Array(Vec<Value>),
    /// Major type 5 with unsigned keys, strictly increasing.
    Map(Vec<(u64, Value)>),
}

/// Why bytes are not canonical CBOR of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input ended inside a value.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// Bytes follow the top-level value.
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
    /// A length or integer is not in its shortest form.
    #[error("non-shortest integer or length at byte {0}")]
    NotShortest(usize),
    /// Indefinite lengths are not deterministic.
    #[error("indefinite length at byte {0}")]
    Indefinite(usize),
    /// A major type or simple value outside the subset (negative, tag, float, bool…).
    #[error("unsupported CBOR item (initial byte {byte:#04x}) at byte {at}")]
    Unsupported {
        /// The initial byte.
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// Map keys must be unsigned integers in strictly increasing order.
    #[error("map keys not unsigned, sorted and unique at byte {0}")]
    KeyOrder(usize),
    /// A text string is not UTF-8.
    #[error("text string is not UTF-8 at byte {0}")]
    NotUtf8(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("nested too deeply")]
    TooDeep,
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

impl Value {
    /// Appends the deterministic encoding. Map entries are written in key order whatever
    /// order they are held in; repeated keys are the caller's bug and are written as given.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Uint(n) => head(out, 0, *n),
            Value::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Text(s) => {
                head(out, 3, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(items) => {
                head(out, 4, items.len() as u64);
                for item in items {
                    item.encode_into(out);
                }
            }
            Value::Map(entries) => {
                head(out, 5, entries.len() as u64);
                let mut sorted: Vec<&(u64, Value)> = entries.iter().collect();
                sorted.sort_by_key(|(k, _)| *k);
                for (k, v) in sorted {
                    head(out, 0, *k);
                    v.encode_into(out);
                }
            }
        }
    }

    /// The deterministic encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes exactly one canonical value filling all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
        let mut reader = Reader { bytes, pos: 0 };
        let value = reader.value(0)?;
        if reader.pos != bytes.len() {
            return Err(CborError::Trailing(bytes.len() - reader.pos));
        }
        Ok(value)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(CborError::Truncated(self.pos))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// Reads an initial byte and its argument; returns (major type, argument).
    fn head(&mut self) -> Result<(u8, u64), CborError> {
        let at = self.pos;
        let byte = self.take(1)?[0];
        let major = byte >> 5;
        let info = byte & 0x1f;
        let n = match info {
            0..=23 => u64::from(info),
            24 => {
                let n = u64::from(self.take(1)?[0]);
                if n < 24 {
                    return Err(CborError::NotShortest(at));
                }
                n
            }
            25 => {
                let b = self.take(2)?;
                let n = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if n <= 0xff {
                    return Err(CborError::NotShortest(at));
                }
                n
            }
            26 => {
                let b = self.take(4)?;
                let n = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                if n <= 0xffff {
                    return Err(CborError::NotShortest(at));
                }
                n
            }
            27 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let n = u64::from_be_bytes(a);
                if n <= 0xffff_ffff {
                    return Err(CborError::NotShortest(at));
                }
                n
            }
            31 if matches!(major, 2..=5) => return Err(CborError::Indefinite(at)),
            _ => return Err(CborError::Unsupported { byte, at }),
        };
        Ok((major, n))
    }

    fn len(&self, n: u64) -> Result<usize, CborError> {
        // A length can never exceed what is left; checking here keeps huge claimed
        // lengths from turning into huge allocations.
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(CborError::Truncated(self.pos));
        }
        Ok(n as usize)
    }

    fn value(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let at = self.pos;
        let (major, n) = self.head()?;
        match major {
            0 => Ok(Value::Uint(n)),
            2 => {
                let len = self.len(n)?;
                Ok(Value::Bytes(self.take(len)?.to_vec()))
            }
            3 => {
                let len = self.len(n)?;
                let raw = self.take(len)?;
                let text = std::str::from_utf8(raw).map_err(|_| CborError::NotUtf8(at))?;
                Ok(Value::Text(text.to_owned()))
            }
            4 => {
                let count = self.len(n)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let count = self.len(n)?;
                let mut entries: Vec<(u64, Value)> = Vec::with_capacity(count);
                for _ in 0..count {
                    let key_at = self.pos;
                    let (key_major, key) = self.head()?;
                    if key_major != 0 {
                        return Err(CborError::KeyOrder(key_at));
                    }
                    if entries.last().is_some_and(|(prev, _)| *prev >= key) {
                        return Err(CborError::KeyOrder(key_at));
                    }
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            _ => Err(CborError::Unsupported {
                byte: self.bytes[at],
                at,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(value: Value, hex: &str) {
        let bytes = value.encode();
        assert_eq!(to_hex(&bytes), hex);
        assert_eq!(Value::decode(&bytes).unwrap(), value);
    }

    fn to_hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn from_hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc8949_appendix_a_examples() {
        check(Value::Uint(0), "00");
        check(Value::Uint(23), "17");
        check(Value::Uint(24), "1818");
        check(Value::Uint(100), "1864");
        check(Value::Uint(1000), "1903e8");
        check(Value::Uint(1_000_000), "1a000f4240");
        check(Value::Uint(1_000_000_000_000), "1b000000e8d4a51000");
        check(Value::Uint(u64::MAX), "1bffffffffffffffff");
        check(Value::Bytes(vec![]), "40");
        check(Value::Bytes(vec![1, 2, 3, 4]), "4401020304");
        check(Value::Text("IETF".into()), "6449455446");
        check(Value::Text("\u{00fc}".into()), "62c3bc");
        check(
            Value::Array(vec![Value::Uint(1), Value::Uint(2), Value::Uint(3)]),
            "83010203",
        );
        check(
            Value::Map(vec![(1, Value::Uint(2)), (3, Value::Uint(4))]),
            "a201020304",
        );
    }

    #[test]
    fn map_keys_are_written_sorted() {
        let value = Value::Map(vec![(3, Value::Uint(4)), (1, Value::Uint(2))]);
        assert_eq!(to_hex(&value.encode()), "a201020304");
    }

    #[track_caller]
    fn reject(hex: &str, want: CborError) {
        assert_eq!(Value::decode(&from_hex(hex)), Err(want));
    }

    #[test]
    fn non_canonical_input_is_rejected() {
        reject("1817", CborError::NotShortest(0));
        reject("190017", CborError::NotShortest(0));
        reject("1a0000ffff", CborError::NotShortest(0));
        reject("1b00000000ffffffff", CborError::NotShortest(0));
        reject("5801ff", CborError::NotShortest(0));
        reject("5fff", CborError::Indefinite(0));
        reject("9f01ff", CborError::Indefinite(0));
        reject("bf0102ff", CborError::Indefinite(0));
        reject("a203040102", CborError::KeyOrder(3));
        reject("a201020103", CborError::KeyOrder(3));
        reject("a1614101", CborError::KeyOrder(1));
        reject("20", CborError::Unsupported { byte: 0x20, at: 0 });
        reject("c100", CborError::Unsupported { byte: 0xc1, at: 0 });
        reject("f5", CborError::Unsupported { byte: 0xf5, at: 0 });
        reject("f93c00", CborError::Unsupported { byte: 0xf9, at: 0 });
        reject("0000", CborError::Trailing(1));
        reject("62c3", CborError::Truncated(1));
        reject("62c328", CborError::NotUtf8(0));
        reject("1b00", CborError::Truncated(1));
        reject("9b0000000100000000", CborError::Truncated(9));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "81".repeat(MAX_DEPTH + 2) + "00";
        reject(&deep, CborError::TooDeep);
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<u64>().prop_map(Value::Uint),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,20}".prop_map(Value::Text),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(any::<u64>(), inner, 0..6)
                    .prop_map(|m| Value::Map(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn round_trips(value in arb_value()) {
            let bytes = value.encode();
            let back = Value::decode(&bytes).unwrap();
            proptest::prop_assert_eq!(&back, &value);
            proptest::prop_assert_eq!(back.encode(), bytes);
        }

        #[test]
        fn accepted_bytes_re_encode_identically(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(value) = Value::decode(&bytes) {
                proptest::prop_assert_eq!(value.encode(), bytes);
            }
        }
    }
}
