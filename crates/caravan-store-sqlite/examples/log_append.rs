//! Durable log-append throughput on SQLite, at the spec's cadence: batches of 256
//! entries of 250 bytes, each batch one fsynced transaction carrying its entries, leaf
//! hashes and the node hashes `nodes_to_store` computes from the stored right edge —
//! exactly the appender's work, minus signing. Each run starts from a fresh temp file.
//!
//! Usage: `cargo run --release -p caravan-store-sqlite --example log_append [ENTRIES [RUNS]]`
//! (defaults: 100,000 entries, 5 runs). Prints every run and the median in entries/s.

use std::time::Instant;

use caravan_store::log::{LogStore, StoreHashReader};
use caravan_store_sqlite::SqliteStore;
use caravan_tlog::rfc6962::{leaf_hash, nodes_to_store};

const BATCH: u64 = 256;
const ENTRY_BYTES: usize = 250;
const ORIGIN: &str = "caravan.bench.example/log";

/// One run: appends `total` entries (rounded up to whole batches), returns entries/s.
fn run(total: u64) -> Result<f64, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("bench.db"))?;
    let mut size = store.open_log(ORIGIN)?.size;
    let started = Instant::now();
    while size < total {
        let entries: Vec<Vec<u8>> = (size..size + BATCH)
            .map(|i| {
                let mut e = format!("entry {i:016} ").into_bytes();
                e.resize(ENTRY_BYTES, b'x');
                e
            })
            .collect();
        let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
        let nodes = nodes_to_store(size, &leaves, &StoreHashReader::new(&store, ORIGIN))?;
        size = store.append(ORIGIN, size, &entries, &leaves, &nodes)?.size;
    }
    Ok(size as f64 / started.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: u64 = args.first().map_or(Ok(100_000), |a| a.parse())?;
    let runs: usize = args.get(1).map_or(Ok(5), |a| a.parse())?;
    let mut rates = Vec::with_capacity(runs);
    for n in 1..=runs {
        let rate = run(total)?;
        println!("run {n}: {rate:.0} entries/s");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    println!(
        "sqlite log_append: median {median:.0} entries/s ({runs} runs of {total} entries, batches of {BATCH} x {ENTRY_BYTES} B, synchronous=FULL)"
    );
    Ok(())
}
