//! The Parquet export benchmark and fixture: a synthetic corridor analysed, its report
//! tables (links, discrepancies, data issues, unmatched legs, findings, gaps by partner,
//! chapter, HS6 and month, Fisman–Wei) written as Parquet with the crate's own writer.
//!
//! `cargo run --release -p caravan-mirror --example mirror_parquet -- [SHIPMENTS] [OUT_DIR] [RUNS]`
//! writes `OUT_DIR/<table>.parquet` and `OUT_DIR/caravan_times.csv` (median write time
//! per table, in memory, over RUNS runs). `bench/mirror_parquet_check.py` then reads every
//! file back with pyarrow and DuckDB, checks values and statistics, and times pyarrow
//! writing the same tables (PLAIN, uncompressed) as the peer. `bench/mirror_parquet.sh`
//! runs both.

use std::time::Instant;

use caravan_corridor::{CorridorConfig, Difficulty, UZS_PER_USD, generate};
use caravan_mirror::aggregate::{GroupBy, gaps, tariff_elasticity};
use caravan_mirror::analysis::{MirrorConfig, analyse};
use caravan_mirror::export::parquet_tables;
use caravan_mirror::leg::legs_from_drafts;
use caravan_mirror::parquet::{WriteOptions, write};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let shipments: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let out = std::path::PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/mirror-parquet".into()),
    );
    let runs: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    std::fs::create_dir_all(&out)?;

    let config = Difficulty::Moderate.apply(CorridorConfig::with(11, shipments));
    let corridor = generate(&config);
    let (us, _) = legs_from_drafts("US", &corridor.us);
    let (uz, _) = legs_from_drafts("UZ", &corridor.uz);
    let mut rates = Rates::empty("USD");
    if let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(config.year, 1, 1),
        NaiveDate::from_ymd_opt(config.year + 1, 12, 31),
    ) {
        rates.insert_constant("UZS", UZS_PER_USD, from, to);
    }
    let analysis = analyse(
        ("US", &us),
        ("UZ", &uz),
        &rates,
        &TokenSimilarity,
        &MirrorConfig {
            as_of: NaiveDate::from_ymd_opt(config.year + 1, 6, 30),
            ..MirrorConfig::default()
        },
    );
    let gaps_by: Vec<_> = [
        GroupBy::Partner,
        GroupBy::Chapter,
        GroupBy::Hs6,
        GroupBy::Month,
    ]
    .into_iter()
    .map(|by| (by, gaps(&analysis, by, &rates)))
    .collect();
    let tables = parquet_tables(
        &analysis,
        &gaps_by,
        &tariff_elasticity(&analysis, &rates, 200),
    )?;
    let options = WriteOptions::default();
    let mut times = String::from("table,rows,columns,bytes,median_ms\n");
    for t in &tables {
        let mut samples = Vec::with_capacity(runs);
        let mut bytes = Vec::new();
        for _ in 0..runs.max(1) {
            bytes.clear();
            let started = Instant::now();
            write(&mut bytes, &t.table, &options)?;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        std::fs::write(out.join(format!("{}.parquet", t.name)), &bytes)?;
        times.push_str(&format!(
            "{},{},{},{},{median:.3}\n",
            t.name,
            t.table.rows(),
            t.table.columns.len(),
            bytes.len()
        ));
        println!(
            "{:<22} {:>8} rows {:>3} columns {:>11} bytes  median {median:>9.3} ms",
            t.name,
            t.table.rows(),
            t.table.columns.len(),
            bytes.len()
        );
    }
    std::fs::write(out.join("caravan_times.csv"), times)?;
    Ok(())
}
