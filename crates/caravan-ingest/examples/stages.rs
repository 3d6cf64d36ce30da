//! Times each stage of the ingest pipeline on one file, without a store: reading the
//! syntax, validating, and building the canonical document. For profiling only.
//!
//! Usage: `stages FILE.csv COUNTRY [LAST_STAGE]`, LAST_STAGE 1 (read), 2 (validate) or 3
//! (canonical documents, the default): under `valgrind --tool=callgrind` the differences
//! between runs give each stage's instruction count, which a busy machine cannot skew.

use std::time::Instant;

use caravan_domain::declaration::validate::{ValidationContext, validate};
use caravan_ingest::format::caravan_csv::CsvReader;
use caravan_ingest::pipeline::canonical_document;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = std::fs::File::open(&args[1]).expect("open");
    let ctx = ValidationContext::local(&args[2]);
    let last_stage: u8 = args
        .get(3)
        .map_or(3, |s| s.parse().expect("stage 1, 2 or 3"));
    let t = Instant::now();
    let drafts: Vec<_> = CsvReader::new(std::io::BufReader::new(file))
        .map(|r| r.expect("read").draft)
        .collect();
    let items: usize = drafts.iter().map(|d| d.items.len()).sum();
    println!(
        "read {} declarations, {items} items: {:.3} s",
        drafts.len(),
        t.elapsed().as_secs_f64()
    );
    if last_stage < 2 {
        return;
    }
    let t = Instant::now();
    let validated: Vec<_> = drafts
        .iter()
        .map(|d| validate(d, &ctx).expect("valid").declaration)
        .collect();
    println!("validate: {:.3} s", t.elapsed().as_secs_f64());
    if last_stage < 3 {
        return;
    }
    let t = Instant::now();
    let bytes: usize = validated.iter().map(|d| canonical_document(d).len()).sum();
    println!(
        "canonical documents ({bytes} bytes): {:.3} s",
        t.elapsed().as_secs_f64()
    );
}
