//! Apache Parquet files of flat tables: links, discrepancies, findings and mirror-gap
//! aggregates as analysts load them into DuckDB, pandas or Spark.
//!
//! Why hand-written rather than the `parquet` crate: the tables are flat (no nesting),
//! a few hundred thousand rows, and written once per report, so the format's simplest
//! form is enough: data page v1, PLAIN encoding, no compression, definition levels in
//! the RLE/bit-packed hybrid, column statistics (null count, min, max) per page and per
//! column chunk, and `TypeDefinedOrder` so readers trust the byte-wise string bounds. The
//! `parquet` crate (even without `arrow`) would more than double this crate's build on
//! the shared two-core machine; the footer needs a dozen Thrift structs, written by
//! [`thrift`]. Pure: [`write`] takes any [`std::io::Write`] and opens no file.
//!
//! Format reference: `apache/parquet-format`, `parquet.thrift` (field ids below cite it)
//! and `Encodings.md`. [`read`] reads such files back (used by tests and fuzzing, and
//! able to read PLAIN, uncompressed files from other writers).
//!
//! ```
//! use caravan_mirror::parquet::{ColumnData, Table, WriteOptions, read, write};
//!
//! let mut table = Table::default();
//! table.push("hs6", true, ColumnData::Utf8(vec![Some("610910".into()), Some("847130".into())]))?;
//! table.push("log_gap", false, ColumnData::Double(vec![Some(-0.7), None]))?;
//! let mut bytes = Vec::new();
//! write(&mut bytes, &table, &WriteOptions::default())?;
//! assert_eq!(read::read(&bytes)?.table, table);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod read;
pub mod thrift;

use std::io::Write;

use thrift::StructWriter;

/// The 4-byte magic at both ends of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// One column's values; `None` is null.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// BOOLEAN.
    Bool(Vec<Option<bool>>),
    /// INT64.
    Int64(Vec<Option<i64>>),
    /// DOUBLE.
    Double(Vec<Option<f64>>),
    /// BYTE_ARRAY annotated STRING (UTF-8).
    Utf8(Vec<Option<String>>),
}

impl ColumnData {
    /// Number of values, nulls included.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Bool(v) => v.len(),
            ColumnData::Int64(v) => v.len(),
            ColumnData::Double(v) => v.len(),
            ColumnData::Utf8(v) => v.len(),
        }
    }

    /// No values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            ColumnData::Bool(v) => v[row].is_none(),
            ColumnData::Int64(v) => v[row].is_none(),
            ColumnData::Double(v) => v[row].is_none(),
            ColumnData::Utf8(v) => v[row].is_none(),
        }
    }

    /// `parquet.thrift` `Type`.
    fn physical_type(&self) -> i32 {
        match self {
            ColumnData::Bool(_) => 0,
            ColumnData::Int64(_) => 2,
            ColumnData::Double(_) => 5,
            ColumnData::Utf8(_) => 6,
        }
    }
}

/// A named column; a `required` column may hold no null.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name (unique in the table).
    pub name: String,
    /// REQUIRED (no definition levels) rather than OPTIONAL.
    pub required: bool,
    /// Values.
    pub data: ColumnData,
}

/// A flat table: columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Columns in file order.
    pub columns: Vec<Column>,
}

/// Why a table cannot be written.
#[derive(Debug)]
pub enum ParquetError {
    /// A column's length differs from the first column's.
    Ragged {
        /// Column.
        column: String,
        /// Its length.
        len: usize,
        /// The table's row count.
        rows: usize,
    },
    /// A required column holds a null.
    NullInRequired {
        /// Column.
        column: String,
        /// Row.
        row: usize,
    },
    /// Two columns share a name, or a name is empty.
    BadName(String),
    /// A page or file would exceed the format's 32-bit sizes.
    TooLarge(String),
    /// Options out of range.
    BadOptions,
    /// The sink failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ParquetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParquetError::Ragged { column, len, rows } => {
                write!(
                    f,
                    "column {column:?} has {len} values, the table has {rows} rows"
                )
            }
            ParquetError::NullInRequired { column, row } => {
                write!(f, "required column {column:?} is null at row {row}")
            }
            ParquetError::BadName(name) => write!(f, "column name {name:?} is empty or used twice"),
            ParquetError::TooLarge(column) => write!(
                f,
                "column {column:?}: a page exceeds 2 GiB; write fewer rows per page"
            ),
            ParquetError::BadOptions => {
                write!(f, "row group and page sizes must be at least one row")
            }
            ParquetError::Io(e) => write!(f, "write parquet: {e}"),
        }
    }
}

impl std::error::Error for ParquetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ParquetError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ParquetError {
    fn from(e: std::io::Error) -> ParquetError {
        ParquetError::Io(e)
    }
}

impl Table {
    /// Appends a column, checking its length against the table and its nulls against
    /// `required`.
    pub fn push(
        &mut self,
        name: &str,
        required: bool,
        data: ColumnData,
    ) -> Result<(), ParquetError> {
        check_column(&self.columns, name, required, &data)?;
        self.columns.push(Column {
            name: name.to_owned(),
            required,
            data,
        });
        Ok(())
    }

    /// Rows (0 without columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.data.len())
    }

    /// Re-checks what [`Table::push`] checks, for tables built field by field.
    pub fn check(&self) -> Result<(), ParquetError> {
        for (i, c) in self.columns.iter().enumerate() {
            check_column(&self.columns[..i], &c.name, c.required, &c.data)?;
        }
        Ok(())
    }
}

/// A column may join `before` if its name is new and non-empty, its length is the
/// table's, and a required column holds no null.
fn check_column(
    before: &[Column],
    name: &str,
    required: bool,
    data: &ColumnData,
) -> Result<(), ParquetError> {
    if name.is_empty() || before.iter().any(|c| c.name == name) {
        return Err(ParquetError::BadName(name.to_owned()));
    }
    if let Some(first) = before.first()
        && first.data.len() != data.len()
    {
        return Err(ParquetError::Ragged {
            column: name.to_owned(),
            len: data.len(),
            rows: first.data.len(),
        });
    }
    if required && let Some(row) = (0..data.len()).find(|&r| data.is_null(r)) {
        return Err(ParquetError::NullInRequired {
            column: name.to_owned(),
            row,
        });
    }
    Ok(())
}

/// Layout choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Rows per data page.
    pub page_rows: usize,
    /// `created_by` in the footer.
    pub created_by: String,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            row_group_rows: 1 << 20,
            page_rows: 1 << 16,
            created_by: format!("caravan-mirror version {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Min, max and null count of a run of values, in PLAIN bytes.
#[derive(Debug, Clone, Default, PartialEq)]
struct Stats {
    nulls: u64,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
}

fn stats(data: &ColumnData, rows: std::ops::Range<usize>) -> Stats {
    fn fold<T: Copy>(
        values: &[Option<T>],
        keep: impl Fn(T) -> bool,
        less: impl Fn(T, T) -> bool,
    ) -> (u64, Option<(T, T)>) {
        let mut nulls = 0;
        let mut bounds: Option<(T, T)> = None;
        for v in values {
            match v {
                None => nulls += 1,
                Some(v) if keep(*v) => {
                    bounds = Some(match bounds {
                        None => (*v, *v),
                        Some((lo, hi)) => (
                            if less(*v, lo) { *v } else { lo },
                            if less(hi, *v) { *v } else { hi },
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        (nulls, bounds)
    }
    let (nulls, bounds) = match data {
        ColumnData::Bool(v) => {
            let (n, b) = fold(&v[rows], |_| true, |a: bool, b: bool| !a & b);
            (
                n,
                b.map(|(lo, hi)| (vec![u8::from(lo)], vec![u8::from(hi)])),
            )
        }
        ColumnData::Int64(v) => {
            let (n, b) = fold(&v[rows], |_| true, |a: i64, b: i64| a < b);
            (
                n,
                b.map(|(lo, hi)| (lo.to_le_bytes().to_vec(), hi.to_le_bytes().to_vec())),
            )
        }
        ColumnData::Double(v) => {
            // NaN takes no part in bounds, and a zero bound is written as -0.0 (min)
            // and +0.0 (max), as `parquet.thrift` asks of floating-point statistics.
            let (n, b) = fold(&v[rows], |x: f64| !x.is_nan(), |a: f64, b: f64| a < b);
            let min = |x: f64| if x == 0.0 { -0.0f64 } else { x };
            let max = |x: f64| if x == 0.0 { 0.0f64 } else { x };
            (
                n,
                b.map(|(lo, hi)| {
                    (
                        min(lo).to_le_bytes().to_vec(),
                        max(hi).to_le_bytes().to_vec(),
                    )
                }),
            )
        }
        ColumnData::Utf8(v) => {
            let mut nulls = 0;
            let mut bounds: Option<(&str, &str)> = None;
            for s in &v[rows] {
                match s {
                    None => nulls += 1,
                    Some(s) => {
                        let s = s.as_str();
                        bounds = Some(match bounds {
                            None => (s, s),
                            Some((lo, hi)) => (
                                if s.as_bytes() < lo.as_bytes() { s } else { lo },
                                if s.as_bytes() > hi.as_bytes() { s } else { hi },
                            ),
                        });
                    }
                }
            }
            (
                nulls,
                bounds.map(|(lo, hi)| (lo.as_bytes().to_vec(), hi.as_bytes().to_vec())),
            )
        }
    };
    let (min, max) = match bounds {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    };
    Stats { nulls, min, max }
}

fn merge(into: &mut Stats, page: Stats, data: &ColumnData) {
    into.nulls += page.nulls;
    let less = |a: &[u8], b: &[u8]| -> bool {
        match data {
            ColumnData::Bool(_) | ColumnData::Utf8(_) => a < b,
            ColumnData::Int64(_) => le_i64(a) < le_i64(b),
            ColumnData::Double(_) => le_f64(a) < le_f64(b),
        }
    };
    if let Some(lo) = page.min {
        into.min = Some(match into.min.take() {
            Some(cur) if !less(&lo, &cur) => cur,
            _ => lo,
        });
    }
    if let Some(hi) = page.max {
        into.max = Some(match into.max.take() {
            Some(cur) if !less(&cur, &hi) => cur,
            _ => hi,
        });
    }
}

fn le_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_le_bytes(a)
}

fn le_f64(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    f64::from_le_bytes(a)
}

/// `parquet.thrift` `Statistics`: 3 null_count, 5 max_value, 6 min_value,
/// 7 is_max_value_exact, 8 is_min_value_exact.
fn write_stats(w: &mut StructWriter<'_>, field: i16, s: &Stats) {
    w.begin_struct(field);
    w.i64(3, s.nulls as i64);
    if let (Some(min), Some(max)) = (&s.min, &s.max) {
        w.binary(5, max);
        w.binary(6, min);
        w.bool(7, true);
        w.bool(8, true);
    }
    w.end_struct();
}

/// The RLE/bit-packed hybrid (`Encodings.md`) with bit width 1, as RLE runs only.
fn definition_levels(data: &ColumnData, rows: std::ops::Range<usize>, out: &mut Vec<u8>) {
    let mut runs = Vec::new();
    let mut row = rows.start;
    while row < rows.end {
        let defined = !data.is_null(row);
        let start = row;
        while row < rows.end && data.is_null(row) != defined {
            row += 1;
        }
        let mut header = ((row - start) as u64) << 1;
        while header >= 0x80 {
            runs.push((header as u8) | 0x80);
            header >>= 7;
        }
        runs.push(header as u8);
        runs.push(u8::from(defined));
    }
    out.extend_from_slice(&(runs.len() as u32).to_le_bytes());
    out.extend_from_slice(&runs);
}

/// PLAIN values of the non-null rows.
fn plain_values(data: &ColumnData, rows: std::ops::Range<usize>, out: &mut Vec<u8>) {
    match data {
        ColumnData::Bool(v) => {
            let mut byte = 0u8;
            let mut bit = 0;
            for b in v[rows].iter().flatten() {
                byte |= u8::from(*b) << bit;
                bit += 1;
                if bit == 8 {
                    out.push(byte);
                    (byte, bit) = (0, 0);
                }
            }
            if bit > 0 {
                out.push(byte);
            }
        }
        ColumnData::Int64(v) => {
            for x in v[rows].iter().flatten() {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        ColumnData::Double(v) => {
            for x in v[rows].iter().flatten() {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        ColumnData::Utf8(v) => {
            for s in v[rows].iter().flatten() {
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// What the footer needs to know of one column chunk.
struct ChunkMeta {
    data_page_offset: u64,
    size: u64,
    values: u64,
    stats: Stats,
}

/// Counts bytes on their way to the sink, so page offsets are known without `Seek`.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// Writes `table` as one Parquet file and returns the bytes written.
pub fn write(out: impl Write, table: &Table, options: &WriteOptions) -> Result<u64, ParquetError> {
    table.check()?;
    if options.row_group_rows == 0 || options.page_rows == 0 {
        return Err(ParquetError::BadOptions);
    }
    let mut sink = Counting {
        inner: out,
        written: 0,
    };
    sink.put(MAGIC)?;
    let rows = table.rows();
    let mut groups: Vec<(usize, Vec<ChunkMeta>)> = Vec::new();
    let mut body = Vec::new();
    let mut header = Vec::new();
    for group_start in (0..rows).step_by(options.row_group_rows) {
        let group_end = (group_start + options.row_group_rows).min(rows);
        let mut chunks = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            let mut chunk = ChunkMeta {
                data_page_offset: sink.written,
                size: 0,
                values: (group_end - group_start) as u64,
                stats: Stats::default(),
            };
            for page_start in (group_start..group_end).step_by(options.page_rows) {
                let page = page_start..(page_start + options.page_rows).min(group_end);
                body.clear();
                if !column.required {
                    definition_levels(&column.data, page.clone(), &mut body);
                }
                plain_values(&column.data, page.clone(), &mut body);
                let size = i32::try_from(body.len())
                    .map_err(|_| ParquetError::TooLarge(column.name.clone()))?;
                let page_stats = stats(&column.data, page.clone());
                // PageHeader: 1 type (DATA_PAGE = 0), 2 uncompressed size, 3 compressed
                // size, 5 DataPageHeader {1 num_values, 2 encoding PLAIN = 0,
                // 3 definition level encoding RLE = 3, 4 repetition level encoding RLE,
                // 5 statistics}.
                header.clear();
                let mut w = StructWriter::new(&mut header);
                w.i32(1, 0);
                w.i32(2, size);
                w.i32(3, size);
                w.begin_struct(5);
                w.i32(1, page.len() as i32);
                w.i32(2, 0);
                w.i32(3, 3);
                w.i32(4, 3);
                write_stats(&mut w, 5, &page_stats);
                w.end_struct();
                w.end();
                sink.put(&header)?;
                sink.put(&body)?;
                chunk.size += (header.len() + body.len()) as u64;
                merge(&mut chunk.stats, page_stats, &column.data);
            }
            chunks.push(chunk);
        }
        groups.push((group_end - group_start, chunks));
    }
    let footer = footer(table, rows, &groups, options);
    sink.put(&footer)?;
    sink.put(&(footer.len() as u32).to_le_bytes())?;
    sink.put(MAGIC)?;
    sink.inner.flush()?;
    Ok(sink.written)
}

/// `FileMetaData`: 1 version, 2 schema, 3 num_rows, 4 row_groups, 6 created_by,
/// 7 column_orders.
fn footer(
    table: &Table,
    rows: usize,
    groups: &[(usize, Vec<ChunkMeta>)],
    options: &WriteOptions,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = StructWriter::new(&mut out);
    w.i32(1, 1);
    // SchemaElement: 1 type, 3 repetition_type (REQUIRED 0, OPTIONAL 1), 4 name,
    // 5 num_children, 6 converted_type (UTF8 = 0), 10 logicalType (STRING = field 1).
    let mut schema: Vec<Option<&Column>> = vec![None];
    schema.extend(table.columns.iter().map(Some));
    w.list_struct(2, &schema, |s, column| match column {
        None => {
            s.binary(4, b"schema");
            s.i32(5, table.columns.len() as i32);
        }
        Some(c) => {
            s.i32(1, c.data.physical_type());
            s.i32(3, if c.required { 0 } else { 1 });
            s.binary(4, c.name.as_bytes());
            if matches!(c.data, ColumnData::Utf8(_)) {
                s.i32(6, 0);
                s.begin_struct(10);
                s.begin_struct(1);
                s.end_struct();
                s.end_struct();
            }
        }
    });
    w.i64(3, rows as i64);
    // RowGroup: 1 columns, 2 total_byte_size, 3 num_rows, 5 file_offset,
    // 6 total_compressed_size. ColumnChunk: 2 file_offset, 3 meta_data.
    // ColumnMetaData: 1 type, 2 encodings, 3 path_in_schema, 4 codec (UNCOMPRESSED = 0),
    // 5 num_values, 6 total_uncompressed_size, 7 total_compressed_size,
    // 9 data_page_offset, 12 statistics.
    w.list_struct(4, groups, |g, (group_rows, chunks)| {
        let columns: Vec<(&Column, &ChunkMeta)> = table.columns.iter().zip(chunks).collect();
        g.list_struct(1, &columns, |c, (column, chunk)| {
            c.i64(2, chunk.data_page_offset as i64);
            c.begin_struct(3);
            c.i32(1, column.data.physical_type());
            if column.required {
                c.list_i32(2, &[0]);
            } else {
                c.list_i32(2, &[0, 3]);
            }
            c.list_binary(3, &[column.name.as_bytes()]);
            c.i32(4, 0);
            c.i64(5, chunk.values as i64);
            c.i64(6, chunk.size as i64);
            c.i64(7, chunk.size as i64);
            c.i64(9, chunk.data_page_offset as i64);
            write_stats(c, 12, &chunk.stats);
            c.end_struct();
        });
        let size: u64 = chunks.iter().map(|c| c.size).sum();
        g.i64(2, size as i64);
        g.i64(3, *group_rows as i64);
        if let Some(first) = chunks.first() {
            g.i64(5, first.data_page_offset as i64);
        }
        g.i64(6, size as i64);
    });
    w.binary(6, options.created_by.as_bytes());
    // ColumnOrder is a union whose field 1 is TypeDefinedOrder (an empty struct).
    w.list_struct(7, &table.columns, |o, _| {
        o.begin_struct(1);
        o.end_struct();
    });
    w.end();
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::read::read;
    use super::{ColumnData, ParquetError, Table, WriteOptions, write};

    fn options(row_group_rows: usize, page_rows: usize) -> WriteOptions {
        WriteOptions {
            row_group_rows,
            page_rows,
            ..WriteOptions::default()
        }
    }

    /// Equality with NaN equal to itself (bit patterns), which `PartialEq` lacks.
    fn same(a: &Table, b: &Table) -> bool {
        a.columns.len() == b.columns.len()
            && a.columns.iter().zip(&b.columns).all(|(x, y)| {
                x.name == y.name
                    && x.required == y.required
                    && match (&x.data, &y.data) {
                        (ColumnData::Double(p), ColumnData::Double(q)) => {
                            p.len() == q.len()
                                && p.iter()
                                    .zip(q)
                                    .all(|(u, v)| u.map(f64::to_bits) == v.map(f64::to_bits))
                        }
                        (p, q) => p == q,
                    }
            })
    }

    fn sample() -> Table {
        let mut t = Table::default();
        t.push(
            "direction",
            true,
            ColumnData::Utf8(
                ["US-UZ", "US-UZ", "UZ-US", "UZ-US", "US-UZ"]
                    .map(|s| Some(s.to_owned()))
                    .to_vec(),
            ),
        )
        .unwrap();
        t.push(
            "hs6",
            false,
            ColumnData::Utf8(vec![
                Some("610910".into()),
                None,
                Some("Ташкент".into()),
                Some(String::new()),
                None,
            ]),
        )
        .unwrap();
        t.push(
            "log_gap",
            false,
            ColumnData::Double(vec![Some(-0.7), None, Some(f64::NAN), Some(0.0), Some(2.5)]),
        )
        .unwrap();
        t.push(
            "days",
            false,
            ColumnData::Int64(vec![
                Some(-3),
                Some(i64::MAX),
                None,
                Some(0),
                Some(i64::MIN),
            ]),
        )
        .unwrap();
        t.push(
            "flag",
            false,
            ColumnData::Bool(vec![Some(true), Some(false), None, Some(true), Some(true)]),
        )
        .unwrap();
        t
    }

    #[test]
    fn table_round_trips_with_statistics_per_row_group() {
        let table = sample();
        let mut bytes = Vec::new();
        let n = write(&mut bytes, &table, &options(3, 2)).unwrap();
        assert_eq!(n, bytes.len() as u64);
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
        let file = read(&bytes).unwrap();
        assert!(same(&file.table, &table));
        assert_eq!(file.row_groups, vec![3, 2]);
        assert!(
            file.created_by
                .unwrap()
                .starts_with("caravan-mirror version")
        );
        // Row group 0: hs6 has one null, bounds "610910".."Ташкент" (byte order).
        let hs6 = &file.stats[0][1];
        assert_eq!(hs6.null_count, Some(1));
        assert_eq!(hs6.min.as_deref(), Some("610910".as_bytes()));
        assert_eq!(hs6.max.as_deref(), Some("Ташкент".as_bytes()));
        // Row group 0 log_gap: NaN is left out of the bounds.
        let gap = &file.stats[0][2];
        assert_eq!(gap.min.as_deref(), Some(&(-0.7f64).to_le_bytes()[..]));
        assert_eq!(gap.max.as_deref(), Some(&(-0.7f64).to_le_bytes()[..]));
        // Row group 1: a zero minimum is written as -0.0, the maximum as found.
        let gap = &file.stats[1][2];
        assert_eq!(gap.min.as_deref(), Some(&(-0.0f64).to_le_bytes()[..]));
        assert_eq!(gap.max.as_deref(), Some(&2.5f64.to_le_bytes()[..]));
        let days = &file.stats[1][3];
        assert_eq!(days.min.as_deref(), Some(&i64::MIN.to_le_bytes()[..]));
        assert_eq!(days.max.as_deref(), Some(&0i64.to_le_bytes()[..]));
        let flag = &file.stats[0][4];
        assert_eq!(
            (flag.min.as_deref(), flag.max.as_deref()),
            (Some(&[0u8][..]), Some(&[1u8][..]))
        );
        assert_eq!(flag.null_count, Some(1));
    }

    #[test]
    fn empty_and_columnless_tables_are_valid_files() {
        let mut t = Table::default();
        t.push("a", true, ColumnData::Int64(Vec::new())).unwrap();
        for table in [t, Table::default()] {
            let mut bytes = Vec::new();
            write(&mut bytes, &table, &WriteOptions::default()).unwrap();
            let file = read(&bytes).unwrap();
            assert_eq!(file.table, table);
            assert!(file.row_groups.is_empty());
        }
    }

    #[test]
    fn bad_tables_are_refused_before_any_byte() {
        let mut t = sample();
        assert!(matches!(
            t.push("short", false, ColumnData::Int64(vec![None])),
            Err(ParquetError::Ragged {
                len: 1,
                rows: 5,
                ..
            })
        ));
        assert!(matches!(
            t.push("hs6", false, ColumnData::Int64(vec![None; 5])),
            Err(ParquetError::BadName(_))
        ));
        assert!(matches!(
            t.push(
                "req",
                true,
                ColumnData::Bool(vec![Some(true), None, None, None, None])
            ),
            Err(ParquetError::NullInRequired { row: 1, .. })
        ));
        t.columns[0].data = ColumnData::Utf8(vec![None; 5]);
        let mut bytes = Vec::new();
        assert!(matches!(
            write(&mut bytes, &t, &WriteOptions::default()),
            Err(ParquetError::NullInRequired { row: 0, .. })
        ));
        assert!(bytes.is_empty());
        assert!(matches!(
            write(&mut bytes, &sample(), &options(0, 1)),
            Err(ParquetError::BadOptions)
        ));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error_or_a_table_never_a_panic() {
        let mut bytes = Vec::new();
        write(&mut bytes, &sample(), &options(2, 1)).unwrap();
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut]).is_err(), "prefix of {cut} bytes read");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                let _ = read(&flipped);
            }
        }
    }

    fn column() -> impl Strategy<Value = (bool, ColumnData)> {
        let n = 0usize..40;
        n.prop_flat_map(|n| {
            prop_oneof![
                proptest::collection::vec(proptest::option::of(any::<bool>()), n)
                    .prop_map(ColumnData::Bool),
                proptest::collection::vec(proptest::option::of(any::<i64>()), n)
                    .prop_map(ColumnData::Int64),
                proptest::collection::vec(proptest::option::of(any::<f64>()), n)
                    .prop_map(ColumnData::Double),
                proptest::collection::vec(proptest::option::of(".{0,12}"), n)
                    .prop_map(ColumnData::Utf8),
            ]
            .prop_flat_map(|data| (any::<bool>(), Just(data)))
        })
    }

    proptest! {
        #[test]
        fn random_tables_round_trip(
            rows in 0usize..40,
            columns in proptest::collection::vec(column(), 1..6),
            row_group_rows in 1usize..17,
            page_rows in 1usize..9,
        ) {
            let mut table = Table::default();
            for (i, (required, data)) in columns.into_iter().enumerate() {
                // Bring every column to `rows` values; required columns get no nulls.
                let fit = |data: ColumnData| -> ColumnData {
                    fn cut<T: Clone>(v: Vec<Option<T>>, rows: usize, fill: T, required: bool) -> Vec<Option<T>> {
                        let mut v: Vec<Option<T>> = v.into_iter().chain(std::iter::repeat(None)).take(rows).collect();
                        if required {
                            for x in &mut v {
                                if x.is_none() {
                                    *x = Some(fill.clone());
                                }
                            }
                        }
                        v
                    }
                    match data {
                        ColumnData::Bool(v) => ColumnData::Bool(cut(v, rows, false, required)),
                        ColumnData::Int64(v) => ColumnData::Int64(cut(v, rows, 7, required)),
                        ColumnData::Double(v) => ColumnData::Double(cut(v, rows, -1.5, required)),
                        ColumnData::Utf8(v) => ColumnData::Utf8(cut(v, rows, "x".to_owned(), required)),
                    }
                };
                table.push(&format!("c{i}"), required, fit(data)).unwrap();
            }
            let mut bytes = Vec::new();
            write(&mut bytes, &table, &options(row_group_rows, page_rows)).unwrap();
            let file = read(&bytes).unwrap();
            prop_assert!(same(&file.table, &table));
            prop_assert_eq!(file.row_groups.iter().sum::<u64>(), rows as u64);
            // Chunk null counts add up to the table's nulls.
            for (c, column) in table.columns.iter().enumerate() {
                let nulls: i64 = file.stats.iter().map(|g| g[c].null_count.unwrap_or(-1)).sum();
                let expected = (0..rows).filter(|&r| column.data.is_null(r)).count() as i64;
                prop_assert_eq!(nulls, expected);
            }
        }
    }
}
