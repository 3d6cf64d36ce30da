//! Benchmark driver for `bench/target_kcs.py`: trains the Rust GBDT on a feature matrix
//! written by `caravan target eval --features-out`, the very matrix LightGBM and XGBoost get,
//! and prints one JSON line with training time, quality and scoring throughput. It lives
//! here (not in the product) because it reads files and reads the clock.
//!
//! Usage: `kcs_bench <train.csv> <test.csv> [repeats] [trees] [learning_rate] [leaves]`

use std::time::Instant;

use caravan_target::features::Matrix;
use caravan_target::gbdt::{Objective, TrainConfig, train};
use caravan_target::metrics::{at_rate, auc};
use caravan_target::model_file::{ModelFile, decode, encode};

fn read(path: &str) -> (Matrix, Vec<bool>) {
    let mut reader = csv::Reader::from_path(path).expect("open matrix");
    let names: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .skip(2)
        .map(String::from)
        .collect();
    let mut values = Vec::new();
    let mut fraud = Vec::new();
    for row in reader.records() {
        let row = row.expect("row");
        fraud.push(&row[1] == "1");
        for cell in row.iter().skip(2) {
            values.push(if cell.is_empty() {
                f32::NAN
            } else {
                cell.parse().expect("number")
            });
        }
    }
    (
        Matrix {
            rows: fraud.len(),
            names,
            values,
        },
        fraud,
    )
}

/// CPU seconds used by the whole process so far (all threads, exited ones included), from
/// /proc/self/stat; the machine is shared, so wall time alone understates throughput.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the ")".
    (ticks(11) + ticks(12)) / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let repeats: usize = args.get(3).map_or(5, |s| s.parse().expect("repeats"));
    let trees: usize = args.get(4).map_or(100, |s| s.parse().expect("trees"));
    let learning_rate: f64 = args
        .get(5)
        .map_or(0.1, |s| s.parse().expect("learning rate"));
    let leaves: usize = args.get(6).map_or(31, |s| s.parse().expect("leaves"));
    let (train_x, train_y) = read(&args[1]);
    let (test_x, test_y) = read(&args[2]);
    let y: Vec<f64> = train_y.iter().map(|f| f64::from(u8::from(*f))).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = TrainConfig {
        trees,
        learning_rate,
        num_leaves: leaves,
        threads,
        ..TrainConfig::default()
    };
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut model = None;
    for _ in 0..repeats {
        let cpu = cpu_seconds();
        let started = Instant::now();
        model = Some(train(&train_x, &y, &config, Objective::Logistic).expect("train"));
        times.push(started.elapsed().as_secs_f64());
        cpu_times.push(cpu_seconds() - cpu);
    }
    let model = model.expect("at least one repeat");
    // Serve from the model file, as a node would.
    let bytes = encode(&ModelFile {
        metadata: Vec::new(),
        classifier: model,
        revenue: None,
    });
    let model = decode(&bytes).expect("decode").classifier;
    if std::env::var_os("KCS_BENCH_DEPTHS").is_some() {
        fn depth(t: &caravan_target::gbdt::Tree, i: usize) -> usize {
            let n = &t.nodes[i];
            if n.is_leaf() {
                0
            } else {
                1 + depth(t, n.left as usize).max(depth(t, n.right as usize))
            }
        }
        let d: Vec<usize> = model.trees.iter().map(|t| depth(t, 0)).collect();
        eprintln!(
            "depth sum {} max {}",
            d.iter().sum::<usize>(),
            d.iter().max().unwrap_or(&0)
        );
    }
    let scores = model.predict_matrix(&test_x, threads).expect("features");
    let p = |rate: f64| at_rate(&scores, &test_y, None, rate).precision;
    // Throughput: the test matrix repeated to at least 1,000,000 rows.
    let copies = 1_000_000usize.div_ceil(test_x.rows);
    let mut big = Matrix {
        names: test_x.names.clone(),
        rows: test_x.rows * copies,
        values: Vec::with_capacity(test_x.values.len() * copies),
    };
    for _ in 0..copies {
        big.values.extend_from_slice(&test_x.values);
    }
    let mut rates = Vec::new();
    let mut cpu_rates = Vec::new();
    for _ in 0..5 {
        let cpu = cpu_seconds();
        let started = Instant::now();
        let out = model.predict_matrix(&big, threads).expect("features");
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        assert_eq!(out.len(), big.rows);
        rates.push(big.rows as f64 / secs);
        cpu_rates.push(big.rows as f64 / cpu.max(0.01));
    }
    println!(
        "{{\"model\": \"caravan-gbdt\", \"train_seconds_median\": {:.4}, \"train_seconds\": {:?}, \"train_cpu_seconds_median\": {:.3}, \"p1\": {:.4}, \"p2\": {:.4}, \"p5\": {:.4}, \"p10\": {:.4}, \"auc\": {:.4}, \"score_rows_per_second_median\": {:.0}, \"score_rows_per_cpu_second_median\": {:.0}, \"threads\": {}, \"model_bytes\": {}}}",
        median(times.clone()),
        times,
        median(cpu_times),
        p(1.0),
        p(2.0),
        p(5.0),
        p(10.0),
        auc(&scores, &test_y),
        median(rates),
        median(cpu_rates),
        threads,
        bytes.len()
    );
}
