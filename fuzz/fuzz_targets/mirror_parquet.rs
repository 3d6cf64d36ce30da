//! Fuzzes the Parquet reader of `caravan_mirror::parquet`: any bytes give a table or an
//! error, never a panic or an unbounded allocation; a table that was read writes back
//! and reads again to the same table (NaN compared by bit pattern).

#![no_main]

use caravan_mirror::parquet::read::read;
use caravan_mirror::parquet::{ColumnData, Table, WriteOptions, write};
use libfuzzer_sys::fuzz_target;

fn same(a: &Table, b: &Table) -> bool {
    a.columns.len() == b.columns.len()
        && a.columns.iter().zip(&b.columns).all(|(x, y)| {
            x.name == y.name
                && x.required == y.required
                && match (&x.data, &y.data) {
                    (ColumnData::Double(p), ColumnData::Double(q)) => p
                        .iter()
                        .map(|v| v.map(f64::to_bits))
                        .eq(q.iter().map(|v| v.map(f64::to_bits))),
                    (p, q) => p == q,
                }
        })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(file) = read(bytes) else {
        return;
    };
    let mut out = Vec::new();
    write(&mut out, &file.table, &WriteOptions::default()).expect("a table read back is writable");
    let again = read(&out).expect("our own output reads");
    assert!(same(&again.table, &file.table));
});
