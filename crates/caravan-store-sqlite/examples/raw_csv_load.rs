//! The floor for `caravan ingest`: the same CSV rows inserted into SQLite as raw text, no
//! parsing into a model, no validation, no derived tables. BENCHMARKS.md compares against it.
//!
//! Usage: `raw_csv_load FILE.csv DB.sqlite` (the database must not exist).

use std::time::Instant;

use rusqlite::Connection;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (csv_path, db_path) = match args.as_slice() {
        [_, csv_path, db_path] => (csv_path, db_path),
        _ => return Err("usage: raw_csv_load FILE.csv DB.sqlite".into()),
    };
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_path(csv_path)?;
    let n_columns = reader.byte_headers()?.len();
    let conn = Connection::open(db_path)?;
    // The same durability settings as the product's store.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    let columns: Vec<String> = (0..n_columns).map(|i| format!("c{i} TEXT")).collect();
    conn.execute_batch(&format!("CREATE TABLE raw_rows ({})", columns.join(", ")))?;
    let placeholders: Vec<String> = (1..=n_columns).map(|i| format!("?{i}")).collect();
    conn.execute_batch("BEGIN")?;
    let mut rows = 0u64;
    {
        let mut insert = conn.prepare(&format!(
            "INSERT INTO raw_rows VALUES ({})",
            placeholders.join(", ")
        ))?;
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record)? {
            insert.execute(rusqlite::params_from_iter(record.iter().map(|f| {
                if f.is_empty() {
                    None
                } else {
                    Some(std::str::from_utf8(f).unwrap_or_default())
                }
            })))?;
            rows += 1;
        }
    }
    conn.execute_batch("COMMIT")?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{rows} rows in {secs:.3} s: {:.0} rows/s",
        rows as f64 / secs
    );
    Ok(())
}
