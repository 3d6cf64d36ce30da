//! The weekly simulation of the gATE study (spec: Weekly simulation): a targeting centre
//! that learns only from what it inspected.
//!
//! The first `history_days` are fully labelled. Each following week the model is retrained
//! on the labelled rows so far, that week's rows are scored, a budget is selected (100 % in
//! week 1, ten points less each week down to the target rate), and only the selected rows
//! get their labels; the others join the history unlabelled even though the dataset knows
//! them. Per-week precision is normalised by what an oracle would reach with the same
//! budget.

use crate::date::Day;
use crate::eval::{EvalError, Ranker};
use crate::features::FeatureConfig;
use crate::gbdt::TrainConfig;
use crate::metrics::oracle_precision;
use crate::record::TargetRecord;
use crate::select::{Drift, Reason, SelectionConfig, drift, select};

/// Simulation settings.
#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    /// Final inspection rate (0.10 = 10 %).
    pub target_rate: f64,
    /// Fully labelled start, in days.
    pub history_days: i32,
    /// Features.
    pub features: FeatureConfig,
    /// Learner.
    pub train: TrainConfig,
    /// Selection (exploration share, random rate, seed).
    pub selection: SelectionConfig,
    /// Threads for scoring.
    pub threads: usize,
}

/// One simulated week.
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// First day.
    pub start: Day,
    /// Rows declared.
    pub rows: usize,
    /// Rows inspected.
    pub inspected: usize,
    /// Frauds found.
    pub hits: usize,
    /// Frauds in the week (known to the simulator only).
    pub frauds: usize,
    /// hits / inspected.
    pub precision: f64,
    /// precision / oracle precision.
    pub norm_precision: f64,
    /// Drift of this week against the previous one.
    pub drift: Drift,
}

/// Runs the simulation over fully labelled rows.
pub fn weekly(rows: &[TargetRecord], config: &SimConfig) -> Result<Vec<Week>, EvalError> {
    let mut sorted: Vec<&TargetRecord> = rows
        .iter()
        .filter(|r| r.date.is_some() && r.outcome.is_some())
        .collect();
    sorted.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    let Some(first) = sorted.first().and_then(|r| r.date) else {
        return Ok(Vec::new());
    };
    let start = Day(first.0 + config.history_days);
    let mut history: Vec<TargetRecord> = sorted
        .iter()
        .take_while(|r| r.date < Some(start))
        .map(|r| (*r).clone())
        .collect();
    let mut at = history.len();
    let mut weeks = Vec::new();
    let mut previous_scores: Vec<f64> = Vec::new();
    let mut week_no = 0usize;
    while at < sorted.len() {
        let week_start = Day(start.0 + 7 * week_no as i32);
        let week_end = Day(week_start.0 + 7);
        let mut end = at;
        while end < sorted.len() && sorted[end].date < Some(week_end) {
            end += 1;
        }
        let truth: Vec<TargetRecord> = sorted[at..end].iter().map(|r| (*r).clone()).collect();
        let rate = (1.0 - 0.1 * week_no as f64).max(config.target_rate);
        week_no += 1;
        at = end;
        if truth.is_empty() {
            continue;
        }
        let mut blind: Vec<TargetRecord> = truth.clone();
        for r in &mut blind {
            r.outcome = None;
        }
        let ranker = Ranker::train(&history, config.features, &config.train)?;
        let (_, p, ranking) = ranker.score(&history, &blind, config.threads)?;
        let ids: Vec<&str> = blind.iter().map(|r| r.id.as_str()).collect();
        let budget = ((rate * blind.len() as f64).round() as usize).max(1);
        let selection = SelectionConfig {
            seed: config.selection.seed ^ week_no as u64,
            ..config.selection
        };
        let chosen = select(&ranking, &p, &ids, budget, &selection);
        let mut outcomes = Vec::with_capacity(chosen.len());
        for s in &chosen {
            blind[s.index].outcome = truth[s.index].outcome;
            outcomes.push((
                s.reason,
                p[s.index],
                truth[s.index].is_fraud() == Some(true),
            ));
        }
        let hits = outcomes.iter().filter(|o| o.2).count();
        let frauds = truth.iter().filter(|r| r.is_fraud() == Some(true)).count();
        let precision = hits as f64 / chosen.len() as f64;
        let oracle = oracle_precision(chosen.len(), frauds);
        let reference = if previous_scores.is_empty() {
            &p
        } else {
            &previous_scores
        };
        let d = drift(reference, &p, &outcomes);
        weeks.push(Week {
            start: week_start,
            rows: truth.len(),
            inspected: chosen.len(),
            hits,
            frauds,
            precision,
            norm_precision: if oracle > 0.0 {
                precision / oracle
            } else {
                0.0
            },
            drift: d,
        });
        debug_assert!(
            outcomes
                .iter()
                .all(|o| o.0 != Reason::Score || p.len() == blind.len())
        );
        previous_scores = p;
        history.extend(blind);
    }
    Ok(weeks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Protocol;
    use crate::record::Outcome;

    #[test]
    fn only_selected_rows_are_labelled_and_budget_decays() {
        let mut rng = crate::rng::SplitMix64::new(7);
        let rows: Vec<TargetRecord> = (0..3000)
            .map(|i| {
                let importer = rng.below(40);
                let fraud = importer < 4 || rng.next_f64() < 0.02;
                TargetRecord {
                    id: format!("{i:05}"),
                    date: Some(Day(i / 30)),
                    importer: Some(format!("I{importer}")),
                    outcome: Some(Outcome::found(fraud)),
                    ..TargetRecord::default()
                }
            })
            .collect();
        let config = SimConfig {
            target_rate: 0.1,
            history_days: 28,
            features: FeatureConfig::new(Protocol::LeakageControlled),
            train: TrainConfig {
                trees: 20,
                ..TrainConfig::default()
            },
            selection: SelectionConfig::default(),
            threads: 1,
        };
        let weeks = weekly(&rows, &config).unwrap();
        assert!(weeks.len() >= 9);
        assert_eq!(weeks[0].inspected, weeks[0].rows);
        assert!((weeks[0].norm_precision - 1.0).abs() < 1e-12);
        let last = weeks.last().unwrap();
        assert!(last.inspected as f64 <= 0.1 * last.rows as f64 + 1.0);
        // The model finds the risky importers from inspected rows alone.
        let late: Vec<&Week> = weeks.iter().skip(9).collect();
        let mean = late.iter().map(|w| w.norm_precision).sum::<f64>() / late.len() as f64;
        assert!(mean > 0.6, "{mean}");
    }
}
