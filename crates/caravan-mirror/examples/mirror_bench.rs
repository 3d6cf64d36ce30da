//! The mirror-matching benchmark: about 1,000,000 export goods items against about
//! 1,000,000 import goods items from the synthetic corridor (moderate difficulty, no
//! mirror gap so that both sides are the same size), linked on 2 cores.
//!
//! `cargo run --release -p caravan-mirror --example mirror_bench -- [SHIPMENTS] [OUT_DIR] [RUNS]`
//! prints the timings and peak RSS, and writes `OUT_DIR/exports.csv` and
//! `OUT_DIR/imports.csv` (one row per declaration: keys, date, values, masses) for the
//! DuckDB peer, `bench/mirror_duckdb.py`. `bench/mirror.sh` runs both.
//!
//! What the clocks cover, per run (medians of the runs are printed):
//! - **load**: both directions' legs laid out as [`LegColumns`], the store the exact
//!   stage reads, as DuckDB's tables are what its query reads. It is timed and printed
//!   beside DuckDB's load of the same data (CSV into tables), so the cost is on record;
//! - **exact stage** (the part DuckDB expresses), from the loaded columns: hashing the
//!   keys, building the import key index, probing it, confirming every hash match on
//!   the key text, the partner and date window checks, grouping into links, then
//!   the value arithmetic DuckDB's query also does ([`LegColumns::valuation`]: CIF/FOB,
//!   currency, g, GFI a and gap_w), both directions at once, 2 threads each;
//! - **exact keys + full discrepancy vectors** and the **whole linkage** (exact + fuzzy +
//!   full discrepancies, `analysis::link_direction`) from legs to links: the columns are
//!   built inside these clocks, as in production.
//!
//! Building the legs (generation, validation, reduction) is outside every clock, as
//! writing the CSV files is outside DuckDB's. The runs move the legs in and take them
//! back, so the process holds one copy of them. Each stage prints wall time and the
//! process's CPU time (all threads), so that a run on a shared machine can still be
//! compared with DuckDB's CPU time; the peak RSS is reset before the timed stages
//! (`/proc/self/clear_refs`), so the one printed is theirs, legs included. The last
//! line (`RESULT ...`) is read by `bench/mirror.sh`.
//!
//! `MIRROR_BENCH_PROFILE=exact` loads the columns once, runs the DuckDB part ten times
//! over them and stops, for `perf record`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use caravan_corridor::{CorridorConfig, Difficulty, UZS_PER_USD, shipments};
use caravan_mirror::analysis::{DirectionAnalysis, MirrorConfig, link_direction};
use caravan_mirror::columns::{LegColumns, RateColumns};
use caravan_mirror::discrepancy::{DiscrepancyContext, Tariff};
use caravan_mirror::leg::{Flow, Leg, legs_from_drafts};
use caravan_mirror::link::{Link, Tier, link};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time of the whole process so far (user + system, every thread, including those
/// that have exited), seconds: the counters `getrusage(RUSAGE_SELF)` reports, read from
/// `/proc/self/stat` in clock ticks (`USER_HZ`, 100 on Linux) since the workspace
/// forbids the `unsafe` a direct call would need.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are the
            // 14th and 15th fields of the whole line.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Wall and process CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let (wall, cpu) = (Instant::now(), cpu_secs());
    let out = f();
    (wall.elapsed().as_secs_f64(), cpu_secs() - cpu, out)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

const MIB: f64 = 1024.0 * 1024.0;

/// A line of `/proc/self/status` in MiB (`VmHWM:` peak RSS, `VmRSS:` current RSS).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Resets the peak RSS to the current RSS (Linux: `5` into `/proc/self/clear_refs`),
/// so that the peak printed at the end is that of the timed stages, not of generating
/// the corridor; false where the kernel refuses.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn write_side<'a>(
    path: &std::path::Path,
    legs: impl Iterator<Item = &'a Leg>,
) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    writeln!(w, "id,direction,date,keys,value,freight,net")?;
    for (id, leg) in legs.enumerate() {
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

type Split = [(Vec<Leg>, Vec<Leg>); 2];

/// Both directions, one thread each, timed (wall, CPU); the legs go back into `split`.
fn run_both(
    split: &mut Split,
    rates: &Rates,
    config: &MirrorConfig,
) -> (f64, f64, Vec<DirectionAnalysis>) {
    let [(x1, m1), (x2, m2)] = std::mem::take(split);
    let (secs, cpu, mut result) = timed(|| {
        std::thread::scope(|scope| {
            let a =
                scope.spawn(|| link_direction("US", "UZ", x1, m1, rates, &TokenSimilarity, config));
            let b =
                scope.spawn(|| link_direction("UZ", "US", x2, m2, rates, &TokenSimilarity, config));
            vec![a.join().expect("US-UZ"), b.join().expect("UZ-US")]
        })
    });
    for (slot, d) in split.iter_mut().zip(&mut result) {
        *slot = (
            std::mem::take(&mut d.exports),
            std::mem::take(&mut d.imports),
        );
    }
    (secs, cpu, result)
}

/// Loading: both directions' legs laid out as columns ([`LegColumns::new`]), one
/// thread per direction, timed (wall, CPU) like DuckDB's load of the same data.
fn load_columns(split: &Split) -> (f64, f64, Vec<LegColumns<'_>>) {
    timed(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = split
                .iter()
                .map(|(x, m)| scope.spawn(move || LegColumns::new(x, m)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("columns"))
                .collect()
        })
    })
}

/// What DuckDB's query does, on both directions (one thread each), from the columns
/// loaded beforehand: exact-key linkage (hashing the keys, building the index,
/// probing, confirming each hash match on the key text) with the date window, then the
/// value arithmetic of every link (CIF/FOB, currency, g, GFI a and gap_w). Returns wall
/// and CPU seconds, the links and the sums of g and gap_w as a check.
fn exact_arithmetic(
    columns: &[LegColumns<'_>],
    rates: &Rates,
    config: &MirrorConfig,
) -> (f64, f64, usize, f64, f64) {
    let (secs, cpu, per_direction) = timed(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = columns
                .iter()
                .map(|columns| {
                    scope.spawn(move || {
                        let linkage = columns.link(&TokenSimilarity, &config.link);
                        let rate_columns = RateColumns::of(rates);
                        let tariff = Tariff::default();
                        let ctx = DiscrepancyContext {
                            rates,
                            tariff: &tariff,
                            valuation: &config.valuation,
                            link: &config.link,
                            names: &TokenSimilarity,
                        };
                        // The links in two contiguous halves, one thread each, as
                        // DuckDB runs its query on 2 threads.
                        let links = &linkage.links;
                        let (first, second) = links.split_at(links.len() / 2);
                        let value = |part: &[Link]| {
                            let (mut sum_g, mut sum_gap_w) = (0.0, 0.0);
                            for l in part {
                                let d = columns.valuation(l, &rate_columns, &ctx);
                                sum_g += d.log_gap.unwrap_or(0.0);
                                sum_gap_w += d.weighted_gap.unwrap_or(0.0);
                            }
                            (sum_g, sum_gap_w)
                        };
                        let ((g1, w1), (g2, w2)) = std::thread::scope(|scope| {
                            let a = scope.spawn(|| value(first));
                            let b = value(second);
                            (a.join().expect("first half"), b)
                        });
                        (links.len(), g1 + g2, w1 + w2)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("direction"))
                .collect::<Vec<_>>()
        })
    });
    (
        secs,
        cpu,
        per_direction.iter().map(|d| d.0).sum(),
        per_direction.iter().map(|d| d.1).sum(),
        per_direction.iter().map(|d| d.2).sum(),
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(430_000);
    let out = std::path::PathBuf::from(args.next().unwrap_or_else(|| "target/mirror-bench".into()));
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all(&out)?;
    let config = Difficulty::Moderate.apply(CorridorConfig {
        uz_to_us_mirror_gap: 0.0,
        ..CorridorConfig::with(7, n)
    });
    println!("load average at start: {}", load_average());
    let started = Instant::now();
    let mut split: Split = Default::default();
    let (mut us_n, mut uz_n) = (0, 0);
    for s in shipments(&config) {
        let (us, _) = legs_from_drafts("US", &s.us);
        let (uz, _) = legs_from_drafts("UZ", &s.uz);
        us_n += us.len();
        uz_n += uz.len();
        for leg in us {
            match leg.flow {
                Flow::Export => split[0].0.push(leg),
                Flow::Import => split[1].1.push(leg),
            }
        }
        for leg in uz {
            match leg.flow {
                Flow::Export => split[1].0.push(leg),
                Flow::Import => split[0].1.push(leg),
            }
        }
    }
    let items = |legs: &[Leg]| -> usize { legs.iter().map(|l| l.items.len()).sum() };
    let export_items = items(&split[0].0) + items(&split[1].0);
    let import_items = items(&split[0].1) + items(&split[1].1);
    let generated_mib = peak_rss_mib();
    println!(
        "corridor: {n} shipments, {us_n} + {uz_n} declarations, {export_items} export items, {import_items} import items (generated and validated in {:.1} s); peak RSS so far {generated_mib:.0} MiB",
        started.elapsed().as_secs_f64(),
    );
    write_side(
        &out.join("exports.csv"),
        split[0].0.iter().chain(&split[1].0),
    )?;
    write_side(
        &out.join("imports.csv"),
        split[0].1.iter().chain(&split[1].1),
    )?;

    let mut rates = Rates::empty("USD");
    if let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(2024, 1, 1),
        NaiveDate::from_ymd_opt(2025, 12, 31),
    ) {
        rates.insert_constant("UZS", UZS_PER_USD, from, to);
    }
    let mut exact = MirrorConfig::default();
    exact.link.fuzzy = false;
    let legs_mib = status_mib("VmRSS:");
    let reset = reset_peak_rss();
    println!(
        "legs in memory: RSS {legs_mib:.0} MiB; peak RSS {} before the timed stages",
        if reset { "reset" } else { "could not be reset" }
    );
    let full = MirrorConfig::default();
    if std::env::var("MIRROR_BENCH_PROFILE").as_deref() == Ok("exact") {
        // For `perf record`: the DuckDB part alone, ten times, over columns loaded once.
        let (secs, cpu, columns) = load_columns(&split);
        println!("profile: columns loaded in {secs:.2} s (CPU {cpu:.2} s)");
        for _ in 0..10 {
            let (secs, cpu, links, _, _) = exact_arithmetic(&columns, &rates, &exact);
            println!("profile: exact + arithmetic {secs:.2} s (CPU {cpu:.2} s), {links} links");
        }
        return Ok(());
    }
    {
        // Breakdown of one direction, linkage alone, for the record.
        let (x, m) = &split[0];
        let (exact_secs, _, exact_linkage) = timed(|| link(x, m, &TokenSimilarity, &exact.link));
        let (fuzzy_secs, _, fuzzy_linkage) = timed(|| link(x, m, &TokenSimilarity, &full.link));
        println!(
            "US-UZ breakdown (linkage alone): exact {exact_secs:.3} s ({} links), exact+fuzzy {fuzzy_secs:.3} s ({} links)",
            exact_linkage.links.len(),
            fuzzy_linkage.links.len()
        );
    }
    // (wall, CPU) per run of each stage: exact + arithmetic, exact + full vectors,
    // whole linkage, loading the columns.
    let mut stages: [(Vec<f64>, Vec<f64>); 4] = Default::default();
    let mut summary = String::new();
    let mut columns_mib = 0.0;
    for run in 0..runs {
        let (secs, cpu, columns) = load_columns(&split);
        stages[3].0.push(secs);
        stages[3].1.push(cpu);
        columns_mib = columns.iter().map(LegColumns::heap_bytes).sum::<usize>() as f64 / MIB;
        println!(
            "run {run}: load, legs -> columns (both directions): {secs:.2} s wall, {cpu:.2} s CPU, {columns_mib:.0} MiB of columns"
        );
        let (secs, cpu, links, sum_g, sum_gap_w) = exact_arithmetic(&columns, &rates, &exact);
        drop(columns);
        stages[0].0.push(secs);
        stages[0].1.push(cpu);
        println!(
            "run {run}: exact keys + date window + value arithmetic (the DuckDB part, from the loaded columns): {secs:.2} s wall, {cpu:.2} s CPU, {links} links, sum g {sum_g:.1}, sum gap_w {sum_gap_w:.0}"
        );
        let (secs, cpu, result) = run_both(&mut split, &rates, &exact);
        stages[1].0.push(secs);
        stages[1].1.push(cpu);
        let links: usize = result.iter().map(|d| d.linkage.links.len()).sum();
        println!(
            "run {run}: exact keys + date window + full discrepancy vectors: {secs:.2} s wall, {cpu:.2} s CPU, {links} links"
        );
        drop(result);
        let (secs, cpu, result) = run_both(&mut split, &rates, &full);
        stages[2].0.push(secs);
        stages[2].1.push(cpu);
        let links: usize = result.iter().map(|d| d.linkage.links.len()).sum();
        let fuzzy: usize = result
            .iter()
            .map(|d| {
                d.linkage
                    .links
                    .iter()
                    .filter(|l| l.tier == Tier::Fuzzy)
                    .count()
            })
            .sum();
        summary = format!("{links} links, {fuzzy} fuzzy");
        println!(
            "run {run}: whole linkage (exact + fuzzy) + discrepancies: {secs:.2} s wall, {cpu:.2} s CPU, {summary}"
        );
    }
    let [a, b, c, l] = stages.map(|(mut wall, mut cpu)| (median(&mut wall), median(&mut cpu)));
    println!(
        "median of {runs}: load (legs -> columns) {:.2} s wall / {:.2} s CPU; exact + arithmetic {:.2} s wall / {:.2} s CPU; exact + full discrepancies {:.2} s / {:.2} s; whole (legs to links, columns built inside) {:.2} s / {:.2} s ({summary}); columns {columns_mib:.0} MiB; peak RSS of the stages {:.0} MiB (legs alone {legs_mib:.0} MiB; generation peaked at {generated_mib:.0} MiB); load average {}",
        l.0,
        l.1,
        a.0,
        a.1,
        b.0,
        b.1,
        c.0,
        c.1,
        peak_rss_mib(),
        load_average()
    );
    println!(
        "RESULT caravan_load_wall={:.3} caravan_load_cpu={:.3} caravan_exact_wall={:.3} caravan_exact_cpu={:.3} caravan_whole_wall={:.3} caravan_whole_cpu={:.3} caravan_columns_mib={columns_mib:.0} caravan_peak_rss_mib={:.0}",
        l.0,
        l.1,
        a.0,
        a.1,
        c.0,
        c.1,
        peak_rss_mib()
    );
    Ok(())
}
