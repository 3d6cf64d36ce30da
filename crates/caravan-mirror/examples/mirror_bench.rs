//! The mirror-matching benchmark: about 1,000,000 export goods items against about
//! 1,000,000 import goods items from the synthetic corridor (moderate difficulty, no
//! mirror gap so that both sides are the same size), linked on 2 cores.
//!
//! `cargo run --release -p caravan-mirror --example mirror_bench -- [SHIPMENTS] [OUT_DIR]`
//! prints the timings and peak RSS, and writes `OUT_DIR/exports.csv` and
//! `OUT_DIR/imports.csv` (one row per declaration: keys, date, values, masses) for the
//! DuckDB peer, `bench/mirror_duckdb.py`. `bench/mirror.sh` runs both.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use caravan_corridor::{CorridorConfig, Difficulty, UZS_PER_USD, shipments};
use caravan_mirror::analysis::{DirectionAnalysis, MirrorConfig, link_direction};
use caravan_mirror::leg::{Flow, Leg, legs_from_drafts};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn write_side(path: &std::path::Path, legs: &[&Leg]) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    writeln!(w, "id,direction,date,keys,value,freight,net")?;
    for (id, leg) in legs.iter().enumerate() {
        let direction = match leg.flow {
            Flow::Export => format!(
                "{}-{}",
                leg.reference.reporter,
                leg.partner.as_deref().unwrap_or("")
            ),
            Flow::Import => format!(
                "{}-{}",
                leg.partner.as_deref().unwrap_or(""),
                leg.reference.reporter
            ),
        };
        let mut keys: Vec<String> = Vec::new();
        keys.extend(leg.ucr.iter().map(|u| format!("ucr:{u}")));
        keys.extend(leg.transport_docs.iter().map(|d| format!("doc:{d}")));
        keys.extend(leg.containers.iter().map(|c| format!("ctr:{c}")));
        let value: f64 = leg.items.iter().filter_map(|i| i.value).sum();
        let net: f64 = leg.items.iter().filter_map(|i| i.net_mass).sum();
        writeln!(
            w,
            "{id},{direction},{},{},{value:.2},{},{net:.3}",
            leg.date.map(|d| d.to_string()).unwrap_or_default(),
            keys.join(";"),
            leg.freight
                .as_ref()
                .map(|f| format!("{:.2}", f.0))
                .unwrap_or_default(),
        )?;
    }
    w.flush()
}

/// Both directions on 2 threads, from legs already split by direction (the split is a
/// filter and a copy, done before the clock starts, as DuckDB's tables are loaded first).
fn run_both(
    split: &[(Vec<Leg>, Vec<Leg>); 2],
    rates: &Rates,
    config: &MirrorConfig,
) -> (f64, Vec<DirectionAnalysis>) {
    let inputs = split.clone();
    let t = Instant::now();
    let [(x1, m1), (x2, m2)] = inputs;
    let result = std::thread::scope(|scope| {
        let a = scope.spawn(|| link_direction("US", "UZ", x1, m1, rates, &TokenSimilarity, config));
        let b = scope.spawn(|| link_direction("UZ", "US", x2, m2, rates, &TokenSimilarity, config));
        vec![a.join().expect("US-UZ"), b.join().expect("UZ-US")]
    });
    (t.elapsed().as_secs_f64(), result)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(430_000);
    let out = std::path::PathBuf::from(args.next().unwrap_or_else(|| "target/mirror-bench".into()));
    std::fs::create_dir_all(&out)?;
    let config = Difficulty::Moderate.apply(CorridorConfig {
        uz_to_us_mirror_gap: 0.0,
        ..CorridorConfig::with(7, n)
    });
    let started = Instant::now();
    let (mut us, mut uz) = (Vec::new(), Vec::new());
    for s in shipments(&config) {
        us.extend(legs_from_drafts("US", &s.us).0);
        uz.extend(legs_from_drafts("UZ", &s.uz).0);
    }
    let items = |legs: &[Leg], flow: Flow| -> usize {
        legs.iter()
            .filter(|l| l.flow == flow)
            .map(|l| l.items.len())
            .sum()
    };
    let export_items = items(&us, Flow::Export) + items(&uz, Flow::Export);
    let import_items = items(&us, Flow::Import) + items(&uz, Flow::Import);
    println!(
        "corridor: {n} shipments, {} + {} declarations, {export_items} export items, {import_items} import items (generated and validated in {:.1} s); peak RSS so far {:.0} MiB",
        us.len(),
        uz.len(),
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    let exports: Vec<&Leg> = us
        .iter()
        .chain(&uz)
        .filter(|l| l.flow == Flow::Export)
        .collect();
    let imports: Vec<&Leg> = us
        .iter()
        .chain(&uz)
        .filter(|l| l.flow == Flow::Import)
        .collect();
    write_side(&out.join("exports.csv"), &exports)?;
    write_side(&out.join("imports.csv"), &imports)?;

    let mut rates = Rates::empty("USD");
    if let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(2024, 1, 1),
        NaiveDate::from_ymd_opt(2025, 12, 31),
    ) {
        rates.insert_constant("UZS", UZS_PER_USD, from, to);
    }
    let mut exact = MirrorConfig::default();
    exact.link.fuzzy = false;
    let full = MirrorConfig::default();
    let pick = |legs: &[Leg], flow: Flow| -> Vec<Leg> {
        legs.iter().filter(|l| l.flow == flow).cloned().collect()
    };
    let split = [
        (pick(&us, Flow::Export), pick(&uz, Flow::Import)),
        (pick(&uz, Flow::Export), pick(&us, Flow::Import)),
    ];
    {
        // Breakdown of one direction, for the record.
        let t = Instant::now();
        let x: Vec<Leg> = us
            .iter()
            .filter(|l| l.flow == Flow::Export)
            .cloned()
            .collect();
        let m: Vec<Leg> = uz
            .iter()
            .filter(|l| l.flow == Flow::Import)
            .cloned()
            .collect();
        let split = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let linkage = caravan_mirror::link::link(&x, &m, &TokenSimilarity, &exact.link);
        let exact_link = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let fuzzy_linkage = caravan_mirror::link::link(&x, &m, &TokenSimilarity, &full.link);
        let fuzzy_link = t.elapsed().as_secs_f64();
        println!(
            "US-UZ breakdown: split {split:.3} s, exact link {exact_link:.3} s ({} links), exact+fuzzy link {fuzzy_link:.3} s ({} links)",
            linkage.links.len(),
            fuzzy_linkage.links.len()
        );
    }
    let (mut exact_secs, mut full_secs) = (Vec::new(), Vec::new());
    let mut summary = String::new();
    for run in 0..3 {
        let (secs, result) = run_both(&split, &rates, &exact);
        exact_secs.push(secs);
        let links: usize = result.iter().map(|d| d.linkage.links.len()).sum();
        println!("run {run}: exact keys + date window + discrepancies: {secs:.2} s, {links} links");
        drop(result);
        let (secs, result) = run_both(&split, &rates, &full);
        full_secs.push(secs);
        let links: usize = result.iter().map(|d| d.linkage.links.len()).sum();
        let fuzzy: usize = result
            .iter()
            .map(|d| {
                d.linkage
                    .links
                    .iter()
                    .filter(|l| l.tier == caravan_mirror::link::Tier::Fuzzy)
                    .count()
            })
            .sum();
        summary = format!("{links} links, {fuzzy} fuzzy");
        println!(
            "run {run}: whole linkage (exact + fuzzy) + discrepancies: {secs:.2} s, {summary}"
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "median of 3: exact {:.2} s, whole {:.2} s ({summary}); peak RSS {:.0} MiB",
        median(&mut exact_secs),
        median(&mut full_secs),
        peak_rss_mib()
    );
    Ok(())
}
