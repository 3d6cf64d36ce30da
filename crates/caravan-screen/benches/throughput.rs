//! Screening throughput on two cores (issue 6, "Performance"): one million party names
//! against OFAC SDN + UN (sdn.csv, alt.csv, add.csv, un_consolidated.xml), index build
//! time and size, index file size and load time, and single-call latency. Writes a query sample and the list names to
//! `target/screen-bench/` so `bench/screen_peers.py` can time rapidfuzz over the same
//! names in the same run.
//!
//! Run: `cargo bench -p caravan-screen --bench throughput` (env `SCREEN_BENCH_NAMES` to
//! change the one million, `SCREEN_BENCH_RUNS` the five runs). Also writes and reloads the
//! index file (`target/screen-bench/ofac-un.csix`).

use std::path::PathBuf;
use std::time::Instant;

use caravan_screen::eval::{SplitMix64, innocent_name, perturb};
use caravan_screen::index::ScreenIndex;
use caravan_screen::model::ScreeningList;
use caravan_screen::parse::{ofac_csv, un_xml};
use caravan_screen::screen::{ScreenedParty, Screener};

const COMPANY_WORDS: &[&str] = &[
    "Tashkent",
    "Samarkand",
    "Bukhara",
    "Fergana",
    "Andijan",
    "Namangan",
    "Global",
    "Trade",
    "Textile",
    "Cotton",
    "Logistics",
    "Invest",
    "Agro",
    "Steel",
    "Chemical",
    "Energy",
    "Pharma",
    "Machinery",
    "Electronics",
    "Food",
    "Export",
    "Import",
    "Silk",
    "Road",
    "Star",
    "Group",
    "Holdings",
    "Industries",
    "Pacific",
    "Atlantic",
    "Midwest",
    "Texas",
    "Ohio",
    "Carolina",
    "Great",
    "Lakes",
    "Supply",
    "Partners",
    "Systems",
    "Solutions",
    "Motors",
    "Parts",
    "Packaging",
    "Plastics",
    "Fibers",
    "Yarn",
    "Fabrics",
    "Apparel",
    "Fruit",
    "Grain",
];
const LEGAL: &[&str] = &[
    "LLC", "MChJ", "OOO", "Inc.", "Corp.", "JSC", "AJ", "XK", "Ltd", "",
];

fn company_name(rng: &mut SplitMix64) -> String {
    let n = 1 + rng.below(3);
    let mut words: Vec<&str> = (0..n).map(|_| *rng.pick::<&str>(COMPANY_WORDS)).collect();
    let legal = *rng.pick::<&str>(LEGAL);
    if !legal.is_empty() {
        words.push(legal);
    }
    words.join(" ")
}

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/screening")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat`: on a shared
/// machine wall time measures the neighbours too, CPU time mostly measures us.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat(5) are utime and stime; here indexed after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let n_names: usize = std::env::var("SCREEN_BENCH_NAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let n_runs: usize = std::env::var("SCREEN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let sdn = ofac_csv::parse(
        &data("sdn.csv"),
        Some(&data("alt.csv")),
        Some(&data("add.csv")),
        "bench",
    )
    .expect("sdn");
    let un = un_xml::parse(&data("un_consolidated.xml"), "bench").expect("un");
    let lists: Vec<ScreeningList> = vec![sdn, un];

    let mut build_ms = Vec::new();
    let mut build_cpu_ms = Vec::new();
    let mut index = ScreenIndex::build(&lists);
    for _ in 0..5 {
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        let built = ScreenIndex::build(&lists);
        build_ms.push(start.elapsed().as_secs_f64() * 1e3);
        build_cpu_ms.push((cpu_seconds() - cpu_start) * 1e3);
        index = built;
    }
    let (n_trigrams, n_keys) = index.n_postings();
    println!(
        "index: {} entries, {} names, {} trigrams, {} keys; build median {:.0} ms wall, {:.0} ms CPU; ~{:.1} MB",
        index.entries.len(),
        index.names.len(),
        n_trigrams,
        n_keys,
        median(&mut build_ms),
        median(&mut build_cpu_ms),
        index.approx_heap_bytes() as f64 / 1e6
    );
    // The index file: written once, read back five times (what a node does at start).
    let file = index.to_file_bytes();
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screen-bench");
    std::fs::create_dir_all(&out_dir).expect("target/screen-bench");
    let file_path = out_dir.join("ofac-un.csix");
    std::fs::write(&file_path, &file).expect("write index file");
    let mut load_ms = Vec::new();
    let mut load_cpu_ms = Vec::new();
    for _ in 0..5 {
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        let bytes = std::fs::read(&file_path).expect("read index file");
        let loaded = ScreenIndex::from_file_bytes(&bytes).expect("index file");
        load_ms.push(start.elapsed().as_secs_f64() * 1e3);
        load_cpu_ms.push((cpu_seconds() - cpu_start) * 1e3);
        index = loaded;
    }
    println!(
        "index file: {:.1} MB, SHA-256 sealed; load (read + decode + postings, 2 threads) median {:.0} ms wall, {:.0} ms CPU",
        file.len() as f64 / 1e6,
        median(&mut load_ms),
        median(&mut load_cpu_ms)
    );

    // The party names: persons and companies, and one in ten a perturbed list name.
    let mut rng = SplitMix64::new(2026);
    let list_names: Vec<String> = index.names.iter().map(|n| n.text.clone()).collect();
    let queries: Vec<String> = (0..n_names)
        .map(|i| match i % 10 {
            0 => {
                let name = rng.pick(&list_names).clone();
                perturb(&name, &mut rng).0
            }
            1..=5 => innocent_name(&mut rng),
            _ => company_name(&mut rng),
        })
        .collect();
    let screener = Screener::new(index, Default::default());

    std::fs::write(out_dir.join("queries.txt"), queries[..4000].join("\n")).expect("write");
    std::fs::write(out_dir.join("list_names.txt"), list_names.join("\n")).expect("write");

    let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rates = Vec::new();
    let mut cpu_rates = Vec::new();
    let mut n_hits = 0usize;
    for _ in 0..n_runs {
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        n_hits = screener
            .screen_names(&queries, n_threads)
            .iter()
            .map(|r| r.as_ref().map_or(0, Vec::len))
            .sum();
        rates.push(queries.len() as f64 / start.elapsed().as_secs_f64());
        cpu_rates.push(queries.len() as f64 / (cpu_seconds() - cpu_start).max(1e-3));
    }
    println!(
        "screen: {} names on {n_threads} threads, {n_runs} runs: median {:.0} names/s wall; {:.0} names per CPU-second ({:.1} µs CPU per name, so {:.0} names/s on 2 idle cores); {} hits at ≥ 0.70",
        queries.len(),
        median(&mut rates),
        median(&mut cpu_rates),
        1e6 / median(&mut cpu_rates),
        2.0 * median(&mut cpu_rates),
        n_hits
    );

    // Single calls, one thread: what one API request costs in the engine.
    let mut scratch = screener.index.scratch();
    let mut latencies: Vec<f64> = queries
        .iter()
        .take(20_000)
        .map(|name| {
            let party = ScreenedParty {
                name: name.clone(),
                ..ScreenedParty::default()
            };
            let start = Instant::now();
            let _ = screener.screen(&party, &mut scratch);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    if std::env::var_os("SCREEN_BENCH_SLOWEST").is_some() {
        let mut order: Vec<usize> = (0..latencies.len()).collect();
        order.sort_by(|&a, &b| latencies[b].total_cmp(&latencies[a]));
        for &i in order.iter().take(15) {
            println!("slow {:.2} ms {:?}", latencies[i], queries[i]);
        }
    }
    let mean = latencies.iter().sum::<f64>() / latencies.len() as f64;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "single call (Screener::screen with explanations, one thread, 20,000 names): p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms, max {:.3} ms; watchman publishes 0.85 ms per search: {:.1}x ours (mean)",
        at(0.5),
        at(0.99),
        mean,
        latencies[latencies.len() - 1],
        0.85 / mean
    );
}
