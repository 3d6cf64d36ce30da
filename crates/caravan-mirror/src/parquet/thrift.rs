//! The Thrift compact protocol, just the part Parquet's footer and page headers use:
//! structs of i32, i64, binary, bool, lists and nested structs.
//!
//! Why hand-written: Parquet metadata is a dozen small Thrift structs; a generated
//! binding (the `thrift` crate plus the `parquet` crate around it) would cost more build
//! time than the whole mirror engine. The encoder writes field headers with deltas as
//! the compact spec prescribes; the decoder reads any compact-encoded value into a
//! [`Value`] tree and refuses truncated or absurd input with an error, never a panic, so
//! it can read files we did not write (it skips fields it does not know).

/// Compact-protocol type nibbles.
pub(crate) mod ty {
    pub(crate) const BOOL_TRUE: u8 = 1;
    pub(crate) const BOOL_FALSE: u8 = 2;
    pub(crate) const BYTE: u8 = 3;
    pub(crate) const I16: u8 = 4;
    pub(crate) const I32: u8 = 5;
    pub(crate) const I64: u8 = 6;
    pub(crate) const DOUBLE: u8 = 7;
    pub(crate) const BINARY: u8 = 8;
    pub(crate) const LIST: u8 = 9;
    pub(crate) const SET: u8 = 10;
    pub(crate) const MAP: u8 = 11;
    pub(crate) const STRUCT: u8 = 12;
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Writes one struct; nested structs are written with [`StructWriter::begin_struct`].
pub(crate) struct StructWriter<'a> {
    out: &'a mut Vec<u8>,
    last: Vec<i16>,
}

impl<'a> StructWriter<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> StructWriter<'a> {
        StructWriter { out, last: vec![0] }
    }

    fn header(&mut self, id: i16, kind: u8) {
        let last = self.last.last_mut().expect("struct stack is never empty");
        let delta = id - *last;
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | kind);
        } else {
            self.out.push(kind);
            varint(self.out, zigzag(i64::from(id)));
        }
        *last = id;
    }

    pub(crate) fn i32(&mut self, id: i16, v: i32) {
        self.header(id, ty::I32);
        varint(self.out, zigzag(i64::from(v)));
    }

    pub(crate) fn i64(&mut self, id: i16, v: i64) {
        self.header(id, ty::I64);
        varint(self.out, zigzag(v));
    }

    pub(crate) fn bool(&mut self, id: i16, v: bool) {
        self.header(id, if v { ty::BOOL_TRUE } else { ty::BOOL_FALSE });
    }

    pub(crate) fn binary(&mut self, id: i16, v: &[u8]) {
        self.header(id, ty::BINARY);
        varint(self.out, v.len() as u64);
        self.out.extend_from_slice(v);
    }

    fn list_header(&mut self, id: i16, len: usize, elem: u8) {
        self.header(id, ty::LIST);
        if len < 15 {
            self.out.push(((len as u8) << 4) | elem);
        } else {
            self.out.push(0xF0 | elem);
            varint(self.out, len as u64);
        }
    }

    pub(crate) fn list_i32(&mut self, id: i16, values: &[i32]) {
        self.list_header(id, values.len(), ty::I32);
        for &v in values {
            varint(self.out, zigzag(i64::from(v)));
        }
    }

    pub(crate) fn list_binary(&mut self, id: i16, values: &[&[u8]]) {
        self.list_header(id, values.len(), ty::BINARY);
        for v in values {
            varint(self.out, v.len() as u64);
            self.out.extend_from_slice(v);
        }
    }

    /// A list of structs: `each` writes the fields of one element.
    pub(crate) fn list_struct<T>(
        &mut self,
        id: i16,
        items: &[T],
        mut each: impl FnMut(&mut StructWriter<'_>, &T),
    ) {
        self.list_header(id, items.len(), ty::STRUCT);
        for item in items {
            let mut inner = StructWriter::new(self.out);
            each(&mut inner, item);
            inner.end();
        }
    }

    /// Opens a nested struct field; close it with [`StructWriter::end_struct`].
    pub(crate) fn begin_struct(&mut self, id: i16) {
        self.header(id, ty::STRUCT);
        self.last.push(0);
    }

    pub(crate) fn end_struct(&mut self) {
        self.out.push(0);
        self.last.pop();
    }

    /// Ends the outermost struct.
    pub(crate) fn end(self) {
        self.out.push(0);
    }
}

/// A decoded compact-protocol value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// bool.
    Bool(bool),
    /// byte, i16, i32 or i64.
    Int(i64),
    /// double.
    Double(f64),
    /// binary or string.
    Binary(Vec<u8>),
    /// list or set.
    List(Vec<Value>),
    /// map.
    Map(Vec<(Value, Value)>),
    /// struct: (field id, value) in wire order.
    Struct(Vec<(i16, Value)>),
}

impl Value {
    /// Field `id` of a struct.
    pub fn field(&self, id: i16) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(f, _)| *f == id).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The integer, if it is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The bytes, if binary.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Binary(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if a list.
    pub fn list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }
}

/// Why compact-protocol bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

/// Nesting deeper than this is refused (Parquet metadata nests five levels).
const MAX_DEPTH: usize = 32;

/// A cursor over compact-protocol bytes.
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// Starts at the first byte.
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(DecodeError("thrift: unexpected end of input"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("thrift: varint longer than 10 bytes"))
    }

    fn zigzag(&mut self) -> Result<i64, DecodeError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(len).map_err(|_| DecodeError("thrift: length too large"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(DecodeError("thrift: length past the end of input"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Reads one struct.
    pub fn read_struct(&mut self) -> Result<Value, DecodeError> {
        self.read_struct_at(0)
    }

    fn read_struct_at(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("thrift: nesting too deep"));
        }
        let mut fields = Vec::new();
        let mut last: i16 = 0;
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(Value::Struct(fields));
            }
            let kind = header & 0x0F;
            let delta = header >> 4;
            let id = if delta == 0 {
                i16::try_from(self.zigzag()?).map_err(|_| DecodeError("thrift: field id"))?
            } else {
                last.checked_add(i16::from(delta))
                    .ok_or(DecodeError("thrift: field id"))?
            };
            last = id;
            let value = match kind {
                ty::BOOL_TRUE => Value::Bool(true),
                ty::BOOL_FALSE => Value::Bool(false),
                _ => self.read_value(kind, depth + 1)?,
            };
            fields.push((id, value));
        }
    }

    fn read_value(&mut self, kind: u8, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError("thrift: nesting too deep"));
        }
        Ok(match kind {
            ty::BOOL_TRUE | ty::BOOL_FALSE => Value::Bool(self.byte()? == ty::BOOL_TRUE),
            ty::BYTE => Value::Int(i64::from(self.byte()? as i8)),
            ty::I16 | ty::I32 | ty::I64 => Value::Int(self.zigzag()?),
            ty::DOUBLE => {
                let raw = self.take(8)?;
                let mut b = [0u8; 8];
                b.copy_from_slice(raw);
                Value::Double(f64::from_le_bytes(b))
            }
            ty::BINARY => {
                let len = self.varint()?;
                Value::Binary(self.take(len)?.to_vec())
            }
            ty::LIST | ty::SET => {
                let header = self.byte()?;
                let elem = header & 0x0F;
                let len = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                // Every element takes at least one byte, so a longer list is a lie.
                if len > (self.bytes.len() - self.pos) as u64 {
                    return Err(DecodeError("thrift: list longer than the input"));
                }
                let mut items = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    items.push(self.read_value(elem, depth + 1)?);
                }
                Value::List(items)
            }
            ty::MAP => {
                let len = self.varint()?;
                if len == 0 {
                    return Ok(Value::Map(Vec::new()));
                }
                if len > (self.bytes.len() - self.pos) as u64 {
                    return Err(DecodeError("thrift: map longer than the input"));
                }
                let kinds = self.byte()?;
                let mut items = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    let k = self.read_value(kinds >> 4, depth + 1)?;
                    let v = self.read_value(kinds & 0x0F, depth + 1)?;
                    items.push((k, v));
                }
                Value::Map(items)
            }
            ty::STRUCT => self.read_struct_at(depth + 1)?,
            _ => return Err(DecodeError("thrift: unknown type")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Decoder, StructWriter, Value};

    #[test]
    fn compact_struct_round_trips_with_long_deltas_and_nesting() {
        let mut out = Vec::new();
        let mut w = StructWriter::new(&mut out);
        w.i32(1, -3);
        w.i64(2, 1 << 40);
        w.binary(3, b"name");
        w.bool(4, true);
        w.list_i32(20, &[0, 3, -1]);
        w.begin_struct(21);
        w.bool(1, false);
        w.end_struct();
        w.list_binary(22, &[&b"a"[..]; 16]);
        w.end();
        let v = Decoder::new(&out).read_struct().unwrap();
        assert_eq!(v.field(1), Some(&Value::Int(-3)));
        assert_eq!(v.field(2), Some(&Value::Int(1 << 40)));
        assert_eq!(v.field(3).and_then(Value::bytes), Some(&b"name"[..]));
        assert_eq!(v.field(4), Some(&Value::Bool(true)));
        assert_eq!(
            v.field(20),
            Some(&Value::List(vec![
                Value::Int(0),
                Value::Int(3),
                Value::Int(-1)
            ]))
        );
        assert_eq!(
            v.field(21).and_then(|s| s.field(1)),
            Some(&Value::Bool(false))
        );
        assert_eq!(
            v.field(22).and_then(Value::list).map(<[Value]>::len),
            Some(16)
        );
    }

    #[test]
    fn truncated_or_lying_input_is_an_error() {
        let mut out = Vec::new();
        let mut w = StructWriter::new(&mut out);
        w.binary(1, b"0123456789");
        w.end();
        for cut in 0..out.len() {
            assert!(
                Decoder::new(&out[..cut]).read_struct().is_err(),
                "cut {cut}"
            );
        }
        // A list header claiming a billion elements in three bytes.
        assert!(
            Decoder::new(&[0x19, 0xF5, 0x80, 0x94, 0xEB, 0xDC, 0x03])
                .read_struct()
                .is_err()
        );
    }
}
