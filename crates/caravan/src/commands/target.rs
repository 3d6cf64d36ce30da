//! `caravan target …`: the targeting engine's evaluation, training and scoring from files.
//! The engine is pure; this module reads the files, times the runs and prints.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use caravan_corridor::{AnomalyKind, TruthRow};
use caravan_target::date::Day;
use caravan_target::eval::{EvalConfig, Ranker, Scores, evaluate};
use caravan_target::features::{FeatureConfig, Matrix, Protocol};
use caravan_target::gbdt::TrainConfig;
use caravan_target::model_file;
use caravan_target::record::TargetRecord;
use caravan_target::rules::{Lane, RuleSet};
use caravan_target::select::SelectionConfig;
use caravan_target::simulate::{SimConfig, weekly};
use caravan_target::worklist::{self, WorklistConfig};

use crate::cli::{TargetCommand, TargetDataArgs, TargetEvalArgs, TargetScoreArgs, TargetTrainArgs};

pub(crate) fn run(config: Option<&Path>, command: TargetCommand) -> anyhow::Result<ExitCode> {
    match command {
        TargetCommand::Eval(args) => eval(&args),
        TargetCommand::Train(args) => train(&args),
        TargetCommand::Score(args) => score(&args),
        node => super::target_node::run(&super::load_config(config)?, node),
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn feature_config(data: &TargetDataArgs) -> anyhow::Result<FeatureConfig> {
    let protocol = Protocol::parse(&data.protocol).with_context(|| {
        format!(
            "--protocol must be paper or controlled, not {:?}",
            data.protocol
        )
    })?;
    let mut config = FeatureConfig::new(protocol);
    config.profiles = !data.no_profiles;
    Ok(config)
}

fn train_config(data: &TargetDataArgs) -> TrainConfig {
    TrainConfig {
        trees: data.trees,
        learning_rate: data.learning_rate,
        num_leaves: data.leaves,
        threads: threads(),
        ..TrainConfig::default()
    }
}

/// Reads a file of declarations in the syntax `--format` names.
pub(crate) fn read_records(
    path: &Path,
    data: &TargetDataArgs,
) -> anyhow::Result<Vec<TargetRecord>> {
    let file = File::open(path).with_context(|| format!("open {}", path.display()))?;
    match data.format.as_str() {
        "kcs" => caravan_target::kcs::read(BufReader::new(file))
            .with_context(|| format!("{}", path.display())),
        "caravan" | "csv" => read_caravan_csv(file, path, &data.country),
        other => bail!("--format must be kcs or caravan, not {other:?}"),
    }
}

/// Caravan CSV through the ingest reader and the one set of validation rules; rejected
/// declarations are counted and left out (they would be refused at ingest too).
fn read_caravan_csv(file: File, path: &Path, country: &str) -> anyhow::Result<Vec<TargetRecord>> {
    use caravan_domain::declaration::validate::{ValidationContext, validate};
    use caravan_ingest::format::caravan_csv::CsvReader;
    let ctx = ValidationContext::partner(country);
    let mut records = Vec::new();
    let mut rejected = 0usize;
    for source in CsvReader::new(BufReader::new(file)) {
        let source = source.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        match validate(&source.draft, &ctx) {
            Ok(validated) => {
                records.extend(caravan_target::declaration::records(&validated.declaration))
            }
            Err(_) => rejected += 1,
        }
    }
    if rejected > 0 {
        eprintln!(
            "{}: {rejected} declarations rejected by validation were left out",
            path.display()
        );
    }
    Ok(records)
}

fn eval(args: &TargetEvalArgs) -> anyhow::Result<ExitCode> {
    let features = feature_config(&args.data)?;
    let all_train = read_records(&args.train, &args.data)?;
    let (train_rows, test_rows) = match (&args.test, &args.cut) {
        (Some(test), None) => (all_train, read_records(test, &args.data)?),
        (None, Some(cut)) => {
            let cut = Day::parse(cut)
                .with_context(|| format!("--cut must be YYYY-MM-DD, not {cut:?}"))?;
            let (before, after): (Vec<_>, Vec<_>) = all_train
                .into_iter()
                .partition(|r| r.date.is_some_and(|d| d < cut));
            (before, after)
        }
        _ => bail!("give either --test or --cut"),
    };
    if args.rates.iter().any(|r| !(*r > 0.0 && *r <= 100.0)) {
        bail!("--rates are percentages in (0, 100]");
    }
    let config = EvalConfig {
        features,
        train: train_config(&args.data),
        rates: args.rates.clone(),
    };
    let started = Instant::now();
    let (report, ranker) = evaluate(&train_rows, &test_rows, &config, threads())?;
    let elapsed = started.elapsed();
    println!(
        "protocol {} ({} profiles), {} training rows, {} test rows (fraud rate {:.3}), {:.2} s to build features, train and score",
        features.protocol.name(),
        if features.profiles { "with" } else { "without" },
        report.train_rows,
        report.test_rows,
        report.test_fraud_rate,
        elapsed.as_secs_f64()
    );
    println!(
        "leakage checks: {} test rows repeat a training row exactly; {} test rows (fraud rate {:.3}) have an item price never seen in training",
        report.exact_duplicates, report.unseen_rows, report.unseen_fraud_rate
    );
    for scored in &report.scorers {
        print_scores(&format!("{} (all rows)", scored.name), &scored.all);
        print_scores(&format!("{} (unseen price)", scored.name), &scored.unseen);
    }
    println!(
        "most used features: {}",
        report
            .top_features
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(dir) = &args.features_out {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let train_x = ranker.builder.build(&[], &train_rows, true);
        let test_x = ranker.builder.build(&train_rows, &test_rows, false);
        write_matrix(&dir.join("train.csv"), &train_x, &train_rows)?;
        write_matrix(&dir.join("test.csv"), &test_x, &test_rows)?;
        println!("features written to {}", dir.display());
    }
    if let Some(path) = &args.model_out {
        write_model(path, &ranker, &report.scorers[0].all)?;
    }
    if let Some(rate) = args.simulate {
        simulate(
            &train_rows,
            &test_rows,
            features,
            &config.train,
            rate,
            args.exploration,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_scores(name: &str, scores: &Scores) {
    let mut line = format!("{name:<34}");
    for at in &scores.at {
        line.push_str(&format!(
            "  P@{r}% {p:.3} R@{r}% {rec:.3}",
            r = at.rate,
            p = at.precision,
            rec = at.recall
        ));
        if let Some(rev) = at.revenue {
            line.push_str(&format!(" Rev@{}% {rev:.3}", at.rate));
        }
    }
    line.push_str(&format!("  AUC {:.3}", scores.auc));
    println!("{line}");
}

fn write_matrix(path: &Path, m: &Matrix, rows: &[TargetRecord]) -> anyhow::Result<()> {
    let mut out =
        BufWriter::new(File::create(path).with_context(|| format!("create {}", path.display()))?);
    writeln!(out, "id,fraud,{}", m.names.join(","))?;
    for (i, r) in rows.iter().enumerate() {
        write!(out, "{},{}", r.id, u8::from(r.is_fraud() == Some(true)))?;
        for v in m.row(i) {
            if v.is_nan() {
                write!(out, ",")?;
            } else {
                write!(out, ",{v}")?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

fn write_model(path: &Path, ranker: &Ranker, eval: &Scores) -> anyhow::Result<()> {
    let mut file = ranker.file.clone();
    for at in &eval.at {
        file.metadata.push((
            format!("eval_precision_at_{}", at.rate),
            format!("{:.4}", at.precision),
        ));
    }
    file.metadata
        .push(("eval_auc".to_owned(), format!("{:.4}", eval.auc)));
    std::fs::write(path, model_file::encode(&file))
        .with_context(|| format!("write {}", path.display()))?;
    println!("model written to {}", path.display());
    Ok(())
}

fn simulate(
    train_rows: &[TargetRecord],
    test_rows: &[TargetRecord],
    features: FeatureConfig,
    train: &TrainConfig,
    rate: f64,
    exploration: f64,
) -> anyhow::Result<()> {
    if !(rate > 0.0 && rate <= 100.0 && (0.0..=1.0).contains(&exploration)) {
        bail!("--simulate is a percentage in (0, 100] and --exploration a share in [0, 1]");
    }
    let mut rows: Vec<TargetRecord> = train_rows.to_vec();
    rows.extend_from_slice(test_rows);
    let config = SimConfig {
        target_rate: rate / 100.0,
        history_days: 28,
        features,
        train: *train,
        selection: SelectionConfig {
            exploration_share: exploration,
            ..SelectionConfig::default()
        },
        threads: threads(),
    };
    let started = Instant::now();
    let weeks = weekly(&rows, &config)?;
    println!(
        "weekly simulation: only selected rows are labelled; budget 100 % in week 1, down to {rate} %"
    );
    println!("week start   rows  inspected  hits  frauds  precision  norm-precision  psi    drift");
    let (mut hits, mut inspected, mut oracle_hits) = (0usize, 0usize, 0usize);
    for w in &weeks {
        println!(
            "{}  {:>5}  {:>9}  {:>4}  {:>6}  {:>9.3}  {:>14.3}  {:>5.3}  {}",
            w.start,
            w.rows,
            w.inspected,
            w.hits,
            w.frauds,
            w.precision,
            w.norm_precision,
            w.drift.psi,
            if w.drift.drifting { "yes" } else { "no" }
        );
        hits += w.hits;
        inspected += w.inspected;
        oracle_hits += w.frauds.min(w.inspected);
    }
    println!(
        "cumulative: {} weeks, precision {:.3}, norm-precision {:.3}, {:.1} s",
        weeks.len(),
        hits as f64 / inspected.max(1) as f64,
        hits as f64 / oracle_hits.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn train(args: &TargetTrainArgs) -> anyhow::Result<ExitCode> {
    let rows = read_records(&args.train, &args.data)?;
    let started = Instant::now();
    let ranker = Ranker::train(
        &rows,
        feature_config(&args.data)?,
        &train_config(&args.data),
    )?;
    println!(
        "trained on {} rows in {:.2} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    std::fs::write(&args.out, model_file::encode(&ranker.file))
        .with_context(|| format!("write {}", args.out.display()))?;
    println!("model written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn score(args: &TargetScoreArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.model).with_context(|| format!("read {}", args.model.display()))?;
    let file = model_file::decode(&bytes).with_context(|| format!("{}", args.model.display()))?;
    let history = read_records(&args.history, &args.data)?;
    let mut rows = read_records(&args.input, &args.data)?;
    for r in &mut rows {
        r.outcome = None; // scoring never sees outcomes
    }
    // A model file that carries its feature vocabulary scores with it; an older one is
    // re-encoded from the history it was trained on.
    let ranker = if file.meta(caravan_target::features::SIGNALS_KEY).is_some() {
        Ranker::from_file(file).with_context(|| format!("{}", args.model.display()))?
    } else {
        let mut features = feature_config(&args.data)?;
        if let Some(p) = file.meta("protocol").and_then(Protocol::parse) {
            features.protocol = p;
        }
        features.profiles = file.meta("profiles") != Some("false");
        let builder = caravan_target::features::FeatureBuilder::fit(features, &history);
        file.classifier.check_features(builder.names())?;
        Ranker { builder, file }
    };
    let rules = match &args.rules {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            Some(RuleSet::parse(&text).map_err(|errors| {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                anyhow::anyhow!(
                    "{}: the rule file was refused:\n{}",
                    path.display(),
                    lines.join("\n")
                )
            })?)
        }
    };
    let config = WorklistConfig {
        rate: args.rate,
        selection: SelectionConfig {
            exploration_share: args.exploration,
            ..SelectionConfig::default()
        },
        ..WorklistConfig::default()
    };
    let started = Instant::now();
    let w = worklist::build(&ranker, &history, &rows, rules.as_ref(), &config, threads())?;
    let elapsed = started.elapsed();
    if let Some(set) = &rules {
        let count = |lane: Lane| {
            w.quotas
                .iter()
                .find(|q| q.lane == lane)
                .map_or(0, |q| q.used)
        };
        println!(
            "rule set {} v{}: red {}, yellow {}, green {}",
            set.name,
            set.version,
            count(Lane::Red),
            count(Lane::Yellow),
            count(Lane::Green)
        );
    }
    println!(
        "scored {} declarations in {:.3} s; worklist of {}",
        rows.len(),
        elapsed.as_secs_f64(),
        w.entries.len()
    );
    for e in w.entries.iter().take(args.top) {
        let why: Vec<String> = e
            .contributions
            .iter()
            .map(|(f, c)| format!("{f} {c:+.2}"))
            .collect();
        println!(
            "{:<14} {:<6} p={:.3} {:<11} features: {}{}",
            e.id,
            e.lane.name(),
            e.p,
            e.reason,
            why.join(", "),
            caravan_target::worklist::notes(&e.rules_fired, &e.missing)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's targeting stage: the US node ranks its declarations of the corridor (imports
/// from Uzbekistan, and exports to it, where CHPL diversion is the risk). Inspections
/// are simulated from the corridor's ground truth for the first half of the period (a row
/// is a fraud when its shipment carries an injected anomaly; the duty at stake is what an
/// inspection recovers); the model trains on that history and ranks the second half.
///
/// It runs twice, as an ablation: on the declarations alone, then with the mirror stage's
/// findings on the US declarations as `signal_mirror_<kind>` features, so the demo shows
/// what the partner's data adds.
pub(crate) fn demo_stage(
    us_store: &dyn caravan_store::Store,
    us_declarations: &Path,
    truth: &[TruthRow],
    mirror: &[caravan_mirror::findings::TargetingFeature],
) -> anyhow::Result<()> {
    let file = File::open(us_declarations)
        .with_context(|| format!("open {}", us_declarations.display()))?;
    let mut rows = read_caravan_csv(file, us_declarations, "US")?;
    let mut kind_of: std::collections::HashMap<&str, Option<AnomalyKind>> =
        std::collections::HashMap::new();
    for t in truth {
        for lrn in &t.us_lrns {
            kind_of.insert(lrn.as_str(), t.anomaly);
        }
    }
    let lrn = |r: &TargetRecord| {
        r.id.rsplit_once('/')
            .map_or(r.id.clone(), |(l, _)| l.to_owned())
    };
    rows.retain(|r| kind_of.contains_key(lrn(r).as_str()) && r.date.is_some());
    rows.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    for r in &mut rows {
        let fraud = kind_of.get(lrn(r).as_str()).copied().flatten().is_some();
        r.outcome = Some(caravan_target::record::Outcome {
            fraud,
            critical: false,
            revenue: Some(if fraud { r.duty().unwrap_or(0.0) } else { 0.0 }),
        });
    }
    println!();
    println!("Targeting (US CBP declarations of the corridor):");
    if rows.len() < 100 {
        println!(
            "  too few goods items ({}) to train a model; skipped",
            rows.len()
        );
        return Ok(());
    }
    let cut = rows[rows.len() / 2].date;
    let (history, live): (Vec<TargetRecord>, Vec<TargetRecord>) =
        rows.into_iter().partition(|r| r.date < cut);
    let signals = mirror_signals(mirror, "US");
    let with_signals = |rows: &[TargetRecord]| -> Vec<TargetRecord> {
        let mut rows = rows.to_vec();
        for r in &mut rows {
            if let Some(s) = signals.get(lrn(r).as_str()) {
                r.signals.clone_from(s);
            }
        }
        rows
    };
    let (history_m, live_m) = (with_signals(&history), with_signals(&live));
    let flagged = live_m.iter().filter(|r| !r.signals.is_empty()).count();
    println!(
        "  trained on {} inspected items before {}, ranked {} items after ({flagged} of them carry a mirror finding)",
        history.len(),
        cut.map(|d| d.to_string()).unwrap_or_default(),
        live.len(),
    );
    let k = ((live.len() as f64) * 0.05).ceil() as usize;
    let mut ranked = Vec::new();
    for (label, history, live) in [
        ("declarations only", &history, &live),
        ("with mirror findings", &history_m, &live_m),
    ] {
        let r = rank_for_demo(history, live, k)?;
        println!(
            "  {label:<22} at 5 %: precision {:.3}, recall {:.3}, revenue {:.3}; AUC {:.3}",
            r.precision, r.recall, r.revenue, r.auc
        );
        ranked.push(r);
    }
    println!("    recall at 5 % by planted kind   declarations only   with mirror findings");
    for kind in AnomalyKind::ALL {
        let of_kind: Vec<usize> = (0..live.len())
            .filter(|&i| kind_of.get(lrn(&live[i]).as_str()).copied().flatten() == Some(kind))
            .collect();
        if !of_kind.is_empty() {
            let found = |r: &DemoRanking| of_kind.iter().filter(|i| r.top.contains(i)).count();
            println!(
                "    {:<30} {:>8}/{:<10} {:>8}/{}",
                kind.as_str(),
                found(&ranked[0]),
                of_kind.len(),
                found(&ranked[1]),
                of_kind.len()
            );
        }
    }
    let best = &ranked[1];
    super::target_node::demo_feedback(us_store, &history, &kind_of)?;
    println!("  worklist with mirror findings (top 5 of {k}):");
    for &i in best.order.iter().take(5) {
        let (_, contrib) = best.ranker.file.classifier.contributions(best.x.row(i));
        let mut c: Vec<(usize, f64)> = contrib
            .iter()
            .copied()
            .enumerate()
            .filter(|c| c.1 != 0.0)
            .collect();
        c.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let why: Vec<String> = c
            .iter()
            .take(3)
            .map(|(f, v)| format!("{} {v:+.2}", best.x.names[*f]))
            .collect();
        let missing = live_m[i].missing_fields();
        println!(
            "    {:<22} p={:.3} {}{}",
            live_m[i].id,
            best.p[i],
            why.join(", "),
            caravan_target::worklist::notes(&[], &missing)
        );
    }
    Ok(())
}

/// Mirror findings on one administration's declarations as targeting signals, keyed by
/// LRN: one `mirror_<kind>` signal per finding kind, at the strongest score of that kind.
fn mirror_signals(
    mirror: &[caravan_mirror::findings::TargetingFeature],
    reporter: &str,
) -> std::collections::HashMap<String, Vec<(String, f64)>> {
    let mut by_lrn: std::collections::HashMap<String, Vec<(String, f64)>> =
        std::collections::HashMap::new();
    for f in mirror.iter().filter(|f| f.declaration.reporter == reporter) {
        let name = format!("mirror_{}", f.kind.as_str());
        let signals = by_lrn.entry(f.declaration.lrn.clone()).or_default();
        match signals.iter_mut().find(|(n, _)| *n == name) {
            Some(s) => s.1 = s.1.max(f.score),
            None => signals.push((name, f.score)),
        }
    }
    by_lrn
}

/// One trained ranking of the demo's live half.
struct DemoRanking {
    precision: f64,
    recall: f64,
    revenue: f64,
    auc: f64,
    ranker: Ranker,
    x: Matrix,
    p: Vec<f64>,
    /// Live rows, best first.
    order: Vec<usize>,
    /// The top `k` of `order`.
    top: std::collections::HashSet<usize>,
}

fn rank_for_demo(
    history: &[TargetRecord],
    live: &[TargetRecord],
    k: usize,
) -> anyhow::Result<DemoRanking> {
    let config = EvalConfig {
        features: FeatureConfig::new(Protocol::LeakageControlled),
        train: TrainConfig {
            threads: threads(),
            ..TrainConfig::default()
        },
        rates: vec![5.0],
    };
    let (report, ranker) = evaluate(history, live, &config, threads())?;
    let at5 = &report.scorers[0].all.at[0];
    let (x, p, ranking) = ranker.score(history, live, threads())?;
    let mut order: Vec<usize> = (0..live.len()).collect();
    order.sort_by(|&a, &b| {
        ranking[b]
            .total_cmp(&ranking[a])
            .then_with(|| live[a].id.cmp(&live[b].id))
    });
    let top = order.iter().take(k).copied().collect();
    Ok(DemoRanking {
        precision: at5.precision,
        recall: at5.recall,
        revenue: at5.revenue.unwrap_or(0.0),
        auc: report.scorers[0].all.auc,
        ranker,
        x,
        p,
        order,
        top,
    })
}
