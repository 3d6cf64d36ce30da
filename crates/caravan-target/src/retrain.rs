//! Retraining from a node's own inspections: a temporal hold-out, a candidate model, and
//! the comparison that decides whether it replaces the model in service.
//!
//! Why this shape: a node learns only from declarations that were inspected (uninspected
//! rows have no label), and a new model must earn its place on data it did not see. The
//! labelled rows are cut at a date: the last `holdout_share` of them (by date) are the
//! hold-out, everything before trains the candidate (uninspected rows before the cut still
//! feed unit-value cells). The model in service is scored on the very same hold-out, with
//! the same history, so "at least as good" compares like with like: precision at the
//! headline inspection rate, the figure a targeting centre lives by.

use crate::date::Day;
use crate::eval::{EvalConfig, EvalError, Ranker, Report, Scores, evaluate};
use crate::gbdt::FeatureMismatch;
use crate::metrics::{at_rate, auc};
use crate::record::TargetRecord;

/// Retraining settings.
#[derive(Debug, Clone)]
pub struct RetrainConfig {
    /// Features, learner and reported rates.
    pub eval: EvalConfig,
    /// Share of labelled rows (the latest) held out, in (0, 1).
    pub holdout_share: f64,
    /// Inspection rate (percent) whose precision decides promotion.
    pub decisive_rate: f64,
    /// Fewest labelled rows worth training on.
    pub min_labelled: usize,
}

/// Why no candidate was trained.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RetrainError {
    /// Not enough inspected, dated declarations.
    #[error(
        "TARGET_TOO_FEW_OUTCOMES: {labelled} inspected goods items with a date; at least {needed} are needed to train and hold out"
    )]
    TooFewOutcomes {
        /// Labelled, dated rows.
        labelled: usize,
        /// Needed.
        needed: usize,
    },
    /// The labelled rows span too few days to cut a hold-out after the training rows.
    #[error(
        "TARGET_NO_HOLDOUT: the inspected declarations span too few days for a temporal hold-out"
    )]
    NoHoldout,
    /// Evaluation failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The model in service cannot score this data.
    #[error(transparent)]
    Incumbent(#[from] FeatureMismatch),
}

/// A trained, evaluated candidate and the verdict.
#[derive(Debug, Clone)]
pub struct Retrained {
    /// The candidate (trained on rows before `cut`).
    pub ranker: Ranker,
    /// Its evaluation on the hold-out.
    pub report: Report,
    /// First day of the hold-out.
    pub cut: Day,
    /// Rows the candidate trained on (labelled and not).
    pub train_rows: usize,
    /// Labelled rows among them.
    pub train_labelled: usize,
    /// Hold-out rows.
    pub holdout_rows: usize,
    /// The model in service on the same hold-out, if there is one.
    pub incumbent: Option<Scores>,
    /// Candidate's and incumbent's precision at the decisive rate.
    pub decisive: (f64, Option<f64>),
    /// Whether the candidate is at least as good as the incumbent (always, without one).
    pub promote: bool,
}

/// Splits, trains, evaluates and compares. `rows` are the node's declarations (goods
/// items), labelled where inspected; `incumbent` the model in service.
pub fn retrain(
    rows: &[TargetRecord],
    incumbent: Option<&Ranker>,
    config: &RetrainConfig,
    threads: usize,
) -> Result<Retrained, RetrainError> {
    let mut labelled_days: Vec<Day> = rows
        .iter()
        .filter(|r| r.outcome.is_some())
        .filter_map(|r| r.date)
        .collect();
    if labelled_days.len() < config.min_labelled.max(2) {
        return Err(RetrainError::TooFewOutcomes {
            labelled: labelled_days.len(),
            needed: config.min_labelled.max(2),
        });
    }
    labelled_days.sort_unstable();
    let share = config.holdout_share.clamp(0.01, 0.99);
    let at = ((labelled_days.len() as f64) * (1.0 - share)).floor() as usize;
    let cut = labelled_days[at.min(labelled_days.len() - 1)];
    if labelled_days[0] >= cut {
        return Err(RetrainError::NoHoldout);
    }
    let train: Vec<TargetRecord> = rows
        .iter()
        .filter(|r| r.date.is_some_and(|d| d < cut))
        .cloned()
        .collect();
    let holdout: Vec<TargetRecord> = rows
        .iter()
        .filter(|r| r.outcome.is_some() && r.date.is_some_and(|d| d >= cut))
        .cloned()
        .collect();
    let (report, ranker) = evaluate(&train, &holdout, &config.eval, threads)?;
    let fraud: Vec<bool> = holdout.iter().map(|r| r.is_fraud() == Some(true)).collect();
    let revenue: Vec<f64> = holdout
        .iter()
        .map(|r| r.outcome.and_then(|o| o.revenue).unwrap_or(0.0))
        .collect();
    let incumbent = match incumbent {
        Some(model) => {
            let (_, _, ranking) = model.score(&train, &holdout, threads)?;
            Some(Scores {
                at: config
                    .eval
                    .rates
                    .iter()
                    .map(|&rate| at_rate(&ranking, &fraud, Some(&revenue), rate))
                    .collect(),
                auc: auc(&ranking, &fraud),
            })
        }
        None => None,
    };
    let decisive_of = |s: &Scores| {
        s.at.iter()
            .find(|a| (a.rate - config.decisive_rate).abs() < 1e-9)
            .or(s.at.first())
            .map_or(0.0, |a| a.precision)
    };
    let candidate = decisive_of(&report.scorers[0].all);
    let incumbent_p = incumbent.as_ref().map(decisive_of);
    Ok(Retrained {
        ranker,
        cut,
        train_labelled: train.iter().filter(|r| r.outcome.is_some()).count(),
        train_rows: train.len(),
        holdout_rows: holdout.len(),
        promote: incumbent_p.is_none_or(|i| candidate >= i),
        decisive: (candidate, incumbent_p),
        incumbent,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FeatureConfig, Protocol};
    use crate::gbdt::TrainConfig;
    use crate::record::Outcome;

    fn rows(n: usize, signal: bool) -> Vec<TargetRecord> {
        (0..n)
            .map(|i| {
                let fraud = i % 4 == 0;
                let hs = if fraud == signal { "847130" } else { "440890" };
                TargetRecord {
                    id: format!("R{i:05}/1"),
                    date: Some(Day((i / 10) as i32)),
                    hs6: Some(hs.into()),
                    importer: Some(format!("I{}", i % 9)),
                    net_mass: Some(10.0),
                    value: Some(500.0),
                    tax_rate: Some(5.0),
                    // Every third row uninspected.
                    outcome: (i % 3 != 1).then_some(Outcome {
                        fraud,
                        critical: false,
                        revenue: Some(if fraud { 25.0 } else { 0.0 }),
                    }),
                    ..TargetRecord::default()
                }
            })
            .collect()
    }

    fn config() -> RetrainConfig {
        RetrainConfig {
            eval: EvalConfig {
                features: FeatureConfig::new(Protocol::LeakageControlled),
                train: TrainConfig {
                    trees: 15,
                    min_data_in_leaf: 5,
                    ..TrainConfig::default()
                },
                rates: vec![5.0, 10.0],
            },
            holdout_share: 0.2,
            decisive_rate: 5.0,
            min_labelled: 50,
        }
    }

    #[test]
    fn holds_out_the_latest_labelled_rows_and_promotes_a_better_model() {
        let data = rows(600, true);
        let first = retrain(&data, None, &config(), 1).unwrap();
        assert!(first.promote, "the first model is always promoted");
        let labelled = data.iter().filter(|r| r.outcome.is_some()).count();
        assert_eq!(first.holdout_rows + first.train_labelled, labelled);
        assert!(first.holdout_rows >= labelled / 5);
        assert!(first.decisive.0 > 0.9, "{:?}", first.decisive);
        // A model trained on the inverted pattern is worse on this hold-out: the candidate
        // beats it and is promoted; against itself it ties and is promoted too.
        let wrong = retrain(&rows(600, false), None, &config(), 1).unwrap();
        let against_wrong = retrain(&data, Some(&wrong.ranker), &config(), 1).unwrap();
        assert!(against_wrong.promote);
        assert!(against_wrong.decisive.1.unwrap() < against_wrong.decisive.0);
        // After drift the other way (training rows inverted, hold-out as before), the
        // candidate loses to the model in service and does not replace it.
        // (Profiles off: their rates would carry the hold-out's own pattern forward.)
        let mut plain = config();
        plain.eval.features.profiles = false;
        let good = retrain(&data, None, &plain, 1).unwrap();
        let mut drifted = rows(600, false);
        drifted.truncate(480);
        drifted.extend(rows(600, true).into_iter().skip(480));
        let inverted = retrain(&drifted, Some(&good.ranker), &plain, 1).unwrap();
        assert!(!inverted.promote, "{:?}", inverted.decisive);
    }

    #[test]
    fn refuses_too_few_or_undated_outcomes() {
        let few = rows(20, true);
        assert!(matches!(
            retrain(&few, None, &config(), 1),
            Err(RetrainError::TooFewOutcomes { .. })
        ));
        let mut one_day = rows(200, true);
        for r in &mut one_day {
            r.date = Some(Day(3));
        }
        assert_eq!(
            retrain(&one_day, None, &config(), 1).unwrap_err(),
            RetrainError::NoHoldout
        );
    }
}
