//! Durable log-append throughput on PostgreSQL, the twin of `caravan-store-sqlite`'s
//! `log_append` example: batches of 256 entries of 250 bytes, each batch one committed
//! transaction with its entries, leaf hashes and the node hashes `nodes_to_store`
//! computes. Each run works in a fresh schema, dropped afterwards.
//!
//! Usage (the server from `.ci/pg-start.sh`):
//! `CARAVAN_TEST_PG_URL=postgres://... cargo run --release -p caravan-store-postgres
//! --example pg_log_append [ENTRIES [RUNS]]` (defaults: 100,000 entries, 5 runs).

use std::time::Instant;

use caravan_store::log::{LogStore, StoreHashReader};
use caravan_store_postgres::PgStore;
use caravan_tlog::rfc6962::{leaf_hash, nodes_to_store};

const BATCH: u64 = 256;
const ENTRY_BYTES: usize = 250;
const ORIGIN: &str = "caravan.bench.example/log";

/// One run in schema `schema`: appends `total` entries (whole batches), returns entries/s.
fn run(url: &str, schema: &str, total: u64) -> Result<f64, Box<dyn std::error::Error>> {
    let store = PgStore::connect_with_schema(url, schema)?;
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
    let url = std::env::var("CARAVAN_TEST_PG_URL")
        .map_err(|_| "set CARAVAN_TEST_PG_URL (see .ci/pg-start.sh)")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: u64 = args.first().map_or(Ok(100_000), |a| a.parse())?;
    let runs: usize = args.get(1).map_or(Ok(5), |a| a.parse())?;
    let mut rates = Vec::with_capacity(runs);
    for n in 1..=runs {
        let schema = format!("bench_log_append_{}_{n}", std::process::id());
        let rate = run(&url, &schema, total);
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)?;
        admin.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
        let rate = rate?;
        println!("run {n}: {rate:.0} entries/s");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    println!(
        "postgres log_append: median {median:.0} entries/s ({runs} runs of {total} entries, batches of {BATCH} x {ENTRY_BYTES} B)"
    );
    Ok(())
}
