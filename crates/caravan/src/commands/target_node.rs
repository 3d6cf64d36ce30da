//! `caravan target outcome|models|rules|retrain|worklist`: targeting against the node's
//! store, and the scheduled retraining `caravan serve` runs.
//!
//! Why in the binary: retraining reads the whole store, trains for seconds and writes the
//! registry, a job for an operator's shell or a background task, not for an HTTP request.
//! The checks an outcome passes and the worklist itself come from `caravan_web::target`, so
//! the CLI and the API never disagree; the engine is `caravan_target::retrain`.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use caravan_store::Store;
use caravan_store::target::{ModelStatus, NewModel, NewRuleFile};
use caravan_target::eval::{EvalConfig, Ranker, Scores};
use caravan_target::features::{FeatureConfig, Protocol};
use caravan_target::gbdt::TrainConfig;
use caravan_target::retrain::{RetrainConfig, Retrained, retrain};
use caravan_target::rules::RuleSet;
use caravan_target::schedule::{retrain_due, until_next_check};
use caravan_target::worklist::WorklistConfig;
use caravan_web::target::{
    OutcomeRequest, active_ranker, load_records, model_json, node_worklist, outcome_json,
    record_outcome,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend::open_store;
use crate::cli::{TargetCommand, TargetModelsCommand, TargetOutcomeCommand, TargetRulesCommand};
use crate::config::{Config, TargetingSettings};

fn now_ms() -> u64 {
    caravan_web::auth::now_ms().max(0) as u64
}

fn operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli:unknown".into())
}

pub(crate) fn run(config: &Config, command: TargetCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    match command {
        TargetCommand::Outcome(TargetOutcomeCommand::Record {
            declaration,
            declarant,
            result,
            seizure,
            revenue,
            currency,
            inspector,
            correct,
            reason,
        }) => {
            let request = OutcomeRequest {
                declaration,
                declarant,
                result,
                seizure,
                revenue,
                currency,
                correction: correct,
                reason,
            };
            let inspector = inspector.unwrap_or_else(operator);
            let stored = record_outcome(&*store, &request, &inspector, now_ms())
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            println!(
                "recorded {} for {} (revision {})",
                stored.result.as_str(),
                stored.declaration.lrn,
                stored.revision
            );
        }
        TargetCommand::Outcome(TargetOutcomeCommand::List { limit }) => {
            for o in store.outcomes(limit, 0)? {
                println!("{}", outcome_json(&o));
            }
        }
        TargetCommand::Models(TargetModelsCommand::List) => {
            println!("version  status     auc    trained_at     training");
            for m in store.models()? {
                println!(
                    "{:>7}  {:<9}  {}  {:>13}  {}",
                    m.version,
                    m.status.as_str(),
                    m.auc.map_or("  -  ".into(), |a| format!("{a:.3}")),
                    m.trained_at,
                    m.training
                );
            }
        }
        TargetCommand::Models(TargetModelsCommand::Show { version }) => {
            let m = store
                .model(version)
                .with_context(|| format!("model version {version}"))?;
            println!("{:#}", model_json(&m.summary));
        }
        TargetCommand::Models(TargetModelsCommand::Promote { version }) => {
            let m = store
                .model(version)
                .with_context(|| format!("model version {version}"))?;
            // Only a model this build can serve may become active.
            let file = caravan_target::model_file::decode(&m.bytes)
                .with_context(|| format!("model version {version} is refused"))?;
            Ranker::from_file(file)
                .with_context(|| format!("model version {version} is refused"))?;
            let p = store.promote_model(version, now_ms())?;
            println!("model v{} is active", p.version);
        }
        TargetCommand::Rules(TargetRulesCommand::Load { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("read {}", file.display()))?;
            let set = RuleSet::parse(&text).map_err(|errors| {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                anyhow::anyhow!(
                    "{}: the rule file was refused; the rules in force stay:\n{}",
                    file.display(),
                    lines.join("\n")
                )
            })?;
            let r = store.register_rules(&NewRuleFile {
                name: set.name.clone(),
                set_version: set.version.to_string(),
                digest: Sha256::digest(text.as_bytes()).into(),
                text,
                loaded_by: operator(),
                loaded_at: now_ms(),
            })?;
            println!(
                "rule file v{} ({} version {}, {} rules) is in force",
                r.version,
                set.name,
                set.version,
                set.rules.len()
            );
        }
        TargetCommand::Rules(TargetRulesCommand::List) => {
            for r in store.rule_files()? {
                println!(
                    "v{:<4} {:<8} {} version {}  loaded by {} at {}",
                    r.version,
                    if r.active { "in force" } else { "replaced" },
                    r.name,
                    r.set_version,
                    r.loaded_by,
                    r.loaded_at
                );
            }
        }
        TargetCommand::Retrain { no_promote } => {
            let outcome = retrain_node(&*store, !no_promote, now_ms())?;
            print_retrain(&outcome);
        }
        TargetCommand::Worklist { top, rate } => {
            if !(rate > 0.0 && rate <= 100.0) {
                bail!("--rate is a percentage in (0, 100]");
            }
            let config = WorklistConfig {
                rate,
                ..WorklistConfig::default()
            };
            let w = node_worklist(&*store, &Mutex::new(None), &config, top)
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            print_worklist(&w);
        }
        TargetCommand::Eval(_) | TargetCommand::Train(_) | TargetCommand::Score(_) => {
            unreachable!("file commands are dispatched in commands::target")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a worklist, one line per goods item.
pub(crate) fn print_worklist(w: &caravan_web::target::NodeWorklist) {
    println!(
        "model v{}: {} uninspected goods items scored against {} inspected; quotas: {}",
        w.model_version,
        w.scored,
        w.history,
        w.quotas
            .iter()
            .map(|q| format!(
                "{} {}/{}",
                q.lane,
                q.used,
                q.limit.map_or("-".into(), |l| l.to_string())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for e in &w.entries {
        let why: Vec<String> = e
            .explanation
            .iter()
            .map(|c| format!("{} {:+.2}", c.feature, c.value))
            .collect();
        println!(
            "  {:>3} {:<22} {:<6} {:<11} p={:.3}  {}{}",
            e.rank,
            e.item,
            e.lane,
            e.reason,
            e.p,
            why.join(", "),
            caravan_target::worklist::notes(&e.rules_fired, &e.missing)
        );
    }
}

/// What one retraining did.
pub(crate) struct RetrainOutcome {
    pub(crate) retrained: Retrained,
    pub(crate) version: u32,
    pub(crate) status: ModelStatus,
    pub(crate) incumbent_version: Option<u32>,
}

fn scores_json(s: &Scores) -> Value {
    json!({
        "at": s.at.iter().map(|a| json!({
            "rate": a.rate, "selected": a.selected, "hits": a.hits,
            "precision": a.precision, "recall": a.recall, "revenue": a.revenue,
        })).collect::<Vec<_>>(),
        "auc": s.auc,
    })
}

/// Trains a candidate on the node's inspected declarations, evaluates it against the
/// active model on the same temporal hold-out, registers it, and (with `may_promote`)
/// activates it in the same transaction when it is at least as good.
pub(crate) fn retrain_node(
    store: &dyn Store,
    may_promote: bool,
    now: u64,
) -> anyhow::Result<RetrainOutcome> {
    let data = load_records(store)?;
    let incumbent = match active_ranker(store, &Mutex::new(None)) {
        Ok((v, r)) => Some((v, r)),
        Err(caravan_web::target::TargetError::NoActiveModel) => None,
        Err(e) => {
            eprintln!("the active model cannot serve ({e}); the candidate is judged alone");
            None
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = RetrainConfig {
        eval: EvalConfig {
            features: FeatureConfig::new(Protocol::LeakageControlled),
            train: TrainConfig {
                threads,
                ..TrainConfig::default()
            },
            rates: vec![1.0, 2.0, 5.0, 10.0],
        },
        holdout_share: 0.2,
        decisive_rate: 5.0,
        min_labelled: 50,
    };
    let retrained = retrain(
        &data.records,
        incumbent.as_ref().map(|(_, r)| r.as_ref()),
        &config,
        threads,
    )?;
    let evaluation = json!({
        "holdout": { "from": retrained.cut.to_string(), "rows": retrained.holdout_rows },
        "train_rows": retrained.train_rows,
        "train_labelled": retrained.train_labelled,
        "candidate": scores_json(&retrained.report.scorers[0].all),
        "incumbent": retrained.incumbent.as_ref().map(scores_json),
        "incumbent_version": incumbent.as_ref().map(|(v, _)| v),
        "decisive": { "rate": config.decisive_rate, "candidate": retrained.decisive.0, "incumbent": retrained.decisive.1 },
        "at_least_as_good": retrained.promote,
    });
    let mut file = retrained.ranker.file.clone();
    file.metadata
        .push(("holdout_from".into(), retrained.cut.to_string()));
    file.metadata
        .push(("evaluation".into(), evaluation.to_string()));
    let bytes = caravan_target::model_file::encode(&file);
    let activate = may_promote && retrained.promote;
    let summary = store.register_model(
        &NewModel {
            digest: Sha256::digest(&bytes).into(),
            bytes,
            training: format!(
                "{} goods items before {} ({} inspected), protocol controlled; {} skipped documents",
                retrained.train_rows, retrained.cut, retrained.train_labelled, data.skipped
            ),
            evaluation: evaluation.to_string(),
            auc: Some(retrained.report.scorers[0].all.auc).filter(|a| a.is_finite()),
            trained_at: now,
        },
        activate,
    )?;
    Ok(RetrainOutcome {
        version: summary.version,
        status: summary.status,
        incumbent_version: incumbent.map(|(v, _)| v),
        retrained,
    })
}

/// Prints a retraining's result.
pub(crate) fn print_retrain(o: &RetrainOutcome) {
    let r = &o.retrained;
    println!(
        "model v{} ({}) trained on {} goods items ({} inspected) before {}, evaluated on {} inspected after:",
        o.version,
        o.status.as_str(),
        r.train_rows,
        r.train_labelled,
        r.cut,
        r.holdout_rows
    );
    let line = |name: &str, s: &Scores| {
        let at: Vec<String> =
            s.at.iter()
                .map(|a| {
                    format!(
                        "P@{}% {:.3} R@{}% {:.3}",
                        a.rate, a.precision, a.rate, a.recall
                    )
                })
                .collect();
        println!("  {name:<12} {}  AUC {:.3}", at.join("  "), s.auc);
    };
    line("candidate", &r.report.scorers[0].all);
    if let (Some(s), Some(v)) = (&r.incumbent, o.incumbent_version) {
        line(&format!("active v{v}"), s);
    }
    println!(
        "  {}",
        match (o.status, r.promote) {
            (ModelStatus::Active, _) =>
                "promoted: at least as good as the model in service".to_owned(),
            (_, true) => "registered as a candidate (--no-promote)".to_owned(),
            (_, false) => format!(
                "kept as a candidate: P@5% {:.3} is below the active model's {:.3}",
                r.decisive.0,
                r.decisive.1.unwrap_or(0.0)
            ),
        }
    );
}

/// Outcomes recorded after `since` (ms).
fn outcomes_since(store: &dyn Store, since: Option<u64>) -> anyhow::Result<u64> {
    let mut n = 0u64;
    let mut offset = 0u32;
    loop {
        let page = store.outcomes(1000, offset)?;
        if page.is_empty() {
            return Ok(n);
        }
        for o in &page {
            if since.is_none_or(|s| o.recorded_at > s) {
                n += 1;
            } else {
                // Newest first: the rest are older.
                return Ok(n);
            }
        }
        offset += page.len() as u32;
    }
}

/// One due check: retrains when the schedule says so. Returns how long to wait (ms).
pub(crate) fn retrain_if_due(store: &dyn Store, schedule: TargetingSettings, now: u64) -> u64 {
    let last = match store.models() {
        Ok(models) => models.iter().map(|m| m.trained_at).max(),
        Err(err) => {
            tracing::warn!(%err, "retraining: cannot read the model registry");
            return 60_000;
        }
    };
    let new = match outcomes_since(store, last) {
        Ok(n) => n,
        Err(err) => {
            tracing::warn!(%err, "retraining: cannot count outcomes");
            return 60_000;
        }
    };
    if retrain_due(now, last, new, schedule.policy) {
        match retrain_node(store, true, now) {
            Ok(o) => tracing::info!(
                version = o.version,
                status = o.status.as_str(),
                auc = o.retrained.report.scorers[0].all.auc,
                "retrained the targeting model"
            ),
            Err(err) => tracing::warn!(%err, "scheduled retraining did not produce a model"),
        }
        return schedule.policy.every_ms;
    }
    // Not due: wait for the interval, or re-check hourly while labels are lacking.
    until_next_check(now, last, schedule.policy).clamp(60_000, 3_600_000)
}

/// The background task of `caravan serve`: retrains on the `[targeting]` schedule.
pub(crate) fn spawn_retraining(store: Arc<dyn Store>, schedule: Option<TargetingSettings>) {
    let Some(schedule) = schedule else { return };
    tokio::spawn(async move {
        loop {
            let store = store.clone();
            let wait =
                tokio::task::spawn_blocking(move || retrain_if_due(&*store, schedule, now_ms()))
                    .await
                    .unwrap_or(60_000);
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        }
    });
}

/// The demo's feedback loop on the US node's store. The inspections behind the demo's
/// history (simulated from the corridor's ground truth) are recorded as outcomes in two
/// waves: the earlier 70 % train model v1 (registered, evaluated on its own hold-out, and
/// active); then officers record the later inspections and a few from the top of v1's
/// worklist, and one retraining registers v2 with its evaluation against v1 on the same,
/// newer hold-out. The worklist's top 10 is printed with explanations and lanes.
pub(crate) fn demo_feedback(
    store: &dyn Store,
    history: &[caravan_target::record::TargetRecord],
    kind_of: &std::collections::HashMap<&str, Option<caravan_corridor::AnomalyKind>>,
) -> anyhow::Result<()> {
    let now = now_ms();
    let lrn_of = |id: &str| id.rsplit_once('/').map_or(id, |(l, _)| l).to_owned();
    let record = |lrn: &str, inspector: &str| -> anyhow::Result<bool> {
        let fraud = kind_of.get(lrn).copied().flatten().is_some();
        let request = OutcomeRequest {
            declaration: lrn.to_owned(),
            result: if fraud {
                "irregularity"
            } else {
                "no_irregularity"
            }
            .into(),
            ..OutcomeRequest::default()
        };
        match record_outcome(store, &request, inspector, now) {
            Ok(_) => Ok(true),
            Err(caravan_web::target::TargetError::OutcomeExists(_)) => Ok(false),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", e.code())),
        }
    };
    // `history` is in date order.
    let mut lrns: Vec<String> = history.iter().map(|r| lrn_of(&r.id)).collect();
    lrns.dedup();
    let first_wave = lrns.len() * 7 / 10;
    let mut recorded = 0usize;
    for lrn in &lrns[..first_wave] {
        recorded += usize::from(record(lrn, "demo-inspection-history")?);
    }
    println!(
        "  feedback loop on the US node's store: {recorded} past inspections recorded as outcomes"
    );
    let first = retrain_node(store, true, now.saturating_sub(1))?;
    print!("  first training: ");
    print_retrain(&first);
    let w = node_worklist(store, &Mutex::new(None), &WorklistConfig::default(), 10)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let mut later = 0usize;
    for lrn in &lrns[first_wave..] {
        later += usize::from(record(lrn, "demo-inspection-history")?);
    }
    let mut officers = 0usize;
    for e in w.entries.iter().filter(|e| e.reason == "score").take(5) {
        officers += usize::from(record(&e.lrn, "us-analyst")?);
    }
    println!(
        "  {later} later inspections recorded, and {officers} by officers from the top of v{}'s worklist",
        first.version
    );
    let outcome = retrain_node(store, true, now)?;
    print!("  retrained: ");
    print_retrain(&outcome);
    let w = node_worklist(store, &Mutex::new(None), &WorklistConfig::default(), 10)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    print!("  worklist (top 10) of ");
    print_worklist(&w);
    Ok(())
}
