//! Reads flat, uncompressed, PLAIN-encoded Parquet files back into a [`Table`], with
//! each column chunk's statistics.
//!
//! Why it exists: the writer's tests need an independent path from bytes to values,
//! and a fuzz target needs a parser to attack. It reads what [`super::write`] writes and
//! the same subset from other writers (data page v1 or v2 without compression,
//! PLAIN values, RLE/bit-packed definition levels); anything else (dictionary pages,
//! compression, nested schemas, other physical types) is refused with a [`ReadError`]
//! naming it. Every length and count is checked against the input before use, so hostile
//! bytes give an error, never a panic or a huge allocation.

use super::thrift::{DecodeError, Decoder, Value};
use super::{ColumnData, MAGIC, Table};

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parquet: {}", self.0)
    }
}

impl std::error::Error for ReadError {}

impl From<DecodeError> for ReadError {
    fn from(e: DecodeError) -> ReadError {
        ReadError(e.0.to_owned())
    }
}

fn err<T>(what: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError(what.into()))
}

/// Rows a file may hold before this reader refuses it (a bound on memory, far above any
/// report's size).
pub const MAX_ROWS: u64 = 1 << 26;

/// Statistics of one column chunk as the footer states them (PLAIN bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkStats {
    /// Null count.
    pub null_count: Option<i64>,
    /// Minimum.
    pub min: Option<Vec<u8>>,
    /// Maximum.
    pub max: Option<Vec<u8>>,
}

/// A file read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadFile {
    /// The values.
    pub table: Table,
    /// Rows in each row group.
    pub row_groups: Vec<u64>,
    /// Statistics per row group, per column.
    pub stats: Vec<Vec<ChunkStats>>,
    /// The footer's `created_by`.
    pub created_by: Option<String>,
}

fn int(v: Option<&Value>, what: &str) -> Result<i64, ReadError> {
    match v.and_then(Value::int) {
        Some(i) => Ok(i),
        None => err(format!("{what} missing")),
    }
}

fn count(v: Option<&Value>, what: &str) -> Result<u64, ReadError> {
    let i = int(v, what)?;
    u64::try_from(i).or_else(|_| err(format!("{what} is negative")))
}

enum Kind {
    Bool,
    Int64,
    Double,
    Utf8,
}

/// Reads a whole file.
pub fn read(bytes: &[u8]) -> Result<ReadFile, ReadError> {
    let n = bytes.len();
    if n < 12 || &bytes[..4] != MAGIC || &bytes[n - 4..] != MAGIC {
        return err("not a Parquet file (PAR1 magic missing)");
    }
    let footer_len = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]);
    let footer_start = (n - 8)
        .checked_sub(footer_len as usize)
        .filter(|&s| s >= 4)
        .ok_or_else(|| ReadError("footer length past the start of the file".into()))?;
    let meta = Decoder::new(&bytes[footer_start..n - 8]).read_struct()?;
    let schema = meta
        .field(2)
        .and_then(Value::list)
        .ok_or_else(|| ReadError("schema missing".into()))?;
    let Some((root, leaves)) = schema.split_first() else {
        return err("schema is empty");
    };
    if count(root.field(5), "root num_children")? != leaves.len() as u64 {
        return err("only flat schemas are read");
    }
    let mut kinds = Vec::with_capacity(leaves.len());
    let mut table = Table::default();
    for leaf in leaves {
        if leaf.field(5).is_some() {
            return err("only flat schemas are read");
        }
        let name = leaf
            .field(4)
            .and_then(Value::bytes)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| ReadError("column name missing or not UTF-8".into()))?;
        let required = match int(leaf.field(3), "repetition_type")? {
            0 => true,
            1 => false,
            _ => return err(format!("column {name:?} is repeated")),
        };
        let (kind, data) = match int(leaf.field(1), "type")? {
            0 => (Kind::Bool, ColumnData::Bool(Vec::new())),
            2 => (Kind::Int64, ColumnData::Int64(Vec::new())),
            5 => (Kind::Double, ColumnData::Double(Vec::new())),
            6 => (Kind::Utf8, ColumnData::Utf8(Vec::new())),
            other => return err(format!("column {name:?} has unsupported type {other}")),
        };
        kinds.push((kind, required));
        table
            .push(name, required, data)
            .map_err(|e| ReadError(e.to_string()))?;
    }
    let num_rows = count(meta.field(3), "num_rows")?;
    if num_rows > MAX_ROWS {
        return err(format!("{num_rows} rows is more than this reader takes"));
    }
    let groups = match meta.field(4) {
        Some(v) => v
            .list()
            .ok_or_else(|| ReadError("row_groups is not a list".into()))?,
        None => &[],
    };
    let mut row_groups = Vec::new();
    let mut all_stats = Vec::new();
    let mut total = 0u64;
    for group in groups {
        let rows = count(group.field(3), "row group num_rows")?;
        total = total.saturating_add(rows);
        if total > num_rows {
            return err("row groups hold more rows than the file");
        }
        let chunks = group
            .field(1)
            .and_then(Value::list)
            .ok_or_else(|| ReadError("row group columns missing".into()))?;
        if chunks.len() != kinds.len() {
            return err("row group column count differs from the schema");
        }
        let mut group_stats = Vec::new();
        for ((chunk, (kind, required)), column) in
            chunks.iter().zip(&kinds).zip(table.columns.iter_mut())
        {
            let meta = chunk
                .field(3)
                .ok_or_else(|| ReadError("column chunk without meta_data".into()))?;
            if int(meta.field(4), "codec")? != 0 {
                return err(format!("column {:?} is compressed", column.name));
            }
            if meta.field(11).is_some() {
                return err(format!("column {:?} has a dictionary page", column.name));
            }
            if count(meta.field(5), "num_values")? != rows {
                return err(format!(
                    "column {:?}: num_values differs from rows",
                    column.name
                ));
            }
            let start = count(meta.field(9), "data_page_offset")?;
            let size = count(meta.field(7), "total_compressed_size")?;
            let end = start
                .checked_add(size)
                .filter(|&e| e <= footer_start as u64 && start >= 4)
                .ok_or_else(|| ReadError("column chunk outside the data".into()))?;
            read_chunk(
                &bytes[start as usize..end as usize],
                rows,
                kind,
                *required,
                &mut column.data,
            )?;
            let stats = meta.field(12);
            group_stats.push(ChunkStats {
                null_count: stats.and_then(|s| s.field(3)).and_then(Value::int),
                min: stats
                    .and_then(|s| s.field(6))
                    .and_then(Value::bytes)
                    .map(<[u8]>::to_vec),
                max: stats
                    .and_then(|s| s.field(5))
                    .and_then(Value::bytes)
                    .map(<[u8]>::to_vec),
            });
        }
        row_groups.push(rows);
        all_stats.push(group_stats);
    }
    if total != num_rows {
        return err("row groups hold fewer rows than the file");
    }
    Ok(ReadFile {
        table,
        row_groups,
        stats: all_stats,
        created_by: meta
            .field(6)
            .and_then(Value::bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    })
}

/// A bounded cursor over one page body.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], ReadError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| ReadError("page data shorter than its values".into()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, ReadError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn varint(&mut self) -> Result<u64, ReadError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        err("level varint too long")
    }
}

/// Definition levels (bit width 1) of `n` values from the RLE/bit-packed hybrid.
fn levels(bytes: &[u8], n: usize) -> Result<Vec<bool>, ReadError> {
    let mut c = Cursor { bytes, pos: 0 };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let header = c.varint()?;
        let want = n - out.len();
        if header & 1 == 0 {
            let run = usize::try_from(header >> 1).unwrap_or(usize::MAX);
            if run == 0 {
                return err("empty RLE run");
            }
            let value = c.take(1)?[0];
            if value > 1 {
                return err("definition level above 1");
            }
            out.extend(std::iter::repeat_n(value == 1, run.min(want)));
        } else {
            let groups = usize::try_from(header >> 1).unwrap_or(usize::MAX);
            let packed = c.take(groups)?;
            for byte in packed {
                for bit in 0..8 {
                    if out.len() < n {
                        out.push(byte >> bit & 1 == 1);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn read_chunk(
    chunk: &[u8],
    rows: u64,
    kind: &Kind,
    required: bool,
    data: &mut ColumnData,
) -> Result<(), ReadError> {
    let mut pos = 0usize;
    let mut seen = 0u64;
    while seen < rows {
        let mut decoder = Decoder::new(&chunk[pos..]);
        let header = decoder.read_struct()?;
        pos += decoder.position();
        let page_type = int(header.field(1), "page type")?;
        let size = usize::try_from(count(header.field(3), "compressed_page_size")?)
            .or_else(|_| err("page size"))?;
        if count(header.field(2), "uncompressed_page_size")? != size as u64 {
            return err("page sizes differ: compressed pages are not read");
        }
        let body = chunk
            .get(pos..pos.saturating_add(size))
            .ok_or_else(|| ReadError("page past the end of its column chunk".into()))?;
        pos += size;
        let (n, encoding, body) = match page_type {
            0 => {
                let h = header
                    .field(5)
                    .ok_or_else(|| ReadError("data page header missing".into()))?;
                (
                    count(h.field(1), "num_values")?,
                    int(h.field(2), "encoding")?,
                    body,
                )
            }
            3 => {
                // DataPageHeaderV2: levels are not length-prefixed and never compressed
                // with the values; values are uncompressed when is_compressed is false.
                let h = header
                    .field(8)
                    .ok_or_else(|| ReadError("data page v2 header missing".into()))?;
                if h.field(7) != Some(&Value::Bool(false)) && h.field(7).is_some() {
                    return err("compressed v2 page");
                }
                let rep = count(h.field(6), "repetition_levels_byte_length")?;
                let def = count(h.field(5), "definition_levels_byte_length")?;
                if rep != 0 {
                    return err("repetition levels in a flat column");
                }
                let n = count(h.field(1), "num_values")?;
                let def = usize::try_from(def).or_else(|_| err("level length"))?;
                let mut v1 = Vec::new();
                if !required {
                    let levels = body
                        .get(..def)
                        .ok_or_else(|| ReadError("levels past the page".into()))?;
                    v1.extend_from_slice(&(levels.len() as u32).to_le_bytes());
                    v1.extend_from_slice(levels);
                }
                v1.extend_from_slice(body.get(def..).unwrap_or(&[]));
                let encoding = int(h.field(4), "encoding")?;
                seen = seen.saturating_add(n);
                if seen > rows {
                    return err("pages hold more values than the row group");
                }
                decode_page(&v1, n as usize, encoding, kind, required, data)?;
                continue;
            }
            2 => return err("dictionary pages are not read"),
            _ => continue,
        };
        seen = seen.saturating_add(n);
        if seen > rows {
            return err("pages hold more values than the row group");
        }
        decode_page(body, n as usize, encoding, kind, required, data)?;
    }
    Ok(())
}

/// PLAIN values of 8 bytes each (INT64, DOUBLE) for the defined rows.
fn fixed8<T>(
    c: &mut Cursor<'_>,
    defined: &[bool],
    present: usize,
    out: &mut Vec<Option<T>>,
    decode: fn([u8; 8]) -> T,
) -> Result<(), ReadError> {
    let size = present
        .checked_mul(8)
        .ok_or_else(|| ReadError("page size".into()))?;
    let mut values = c.take(size)?.chunks_exact(8).map(|b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        decode(a)
    });
    for &d in defined {
        out.push(if d { values.next() } else { None });
    }
    Ok(())
}

fn decode_page(
    body: &[u8],
    n: usize,
    encoding: i64,
    kind: &Kind,
    required: bool,
    data: &mut ColumnData,
) -> Result<(), ReadError> {
    if encoding != 0 {
        return err(format!("encoding {encoding} is not PLAIN"));
    }
    let mut c = Cursor {
        bytes: body,
        pos: 0,
    };
    let defined = if required {
        vec![true; n]
    } else {
        let len = c.u32()? as usize;
        levels(c.take(len)?, n)?
    };
    let present = defined.iter().filter(|d| **d).count();
    match (kind, data) {
        (Kind::Bool, ColumnData::Bool(out)) => {
            let packed = c.take(present.div_ceil(8))?;
            let mut i = 0;
            for d in defined {
                out.push(d.then(|| {
                    let b = packed[i / 8] >> (i % 8) & 1 == 1;
                    i += 1;
                    b
                }));
            }
        }
        (Kind::Int64, ColumnData::Int64(out)) => {
            fixed8(&mut c, &defined, present, out, i64::from_le_bytes)?;
        }
        (Kind::Double, ColumnData::Double(out)) => {
            fixed8(&mut c, &defined, present, out, f64::from_le_bytes)?;
        }
        (Kind::Utf8, ColumnData::Utf8(out)) => {
            for d in defined {
                if d {
                    let len = c.u32()? as usize;
                    let s = std::str::from_utf8(c.take(len)?)
                        .or_else(|_| err("string value is not UTF-8"))?;
                    out.push(Some(s.to_owned()));
                } else {
                    out.push(None);
                }
            }
        }
        _ => return err("column kind mismatch"),
    }
    Ok(())
}
