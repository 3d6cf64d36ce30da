//! The offline evaluation protocol (spec: Evaluation protocol, KCS): train on the past, score
//! the next period, report Precision/Recall/Revenue at each inspection rate and AUC, with
//! the leak sentinels beside the model's figures.
//!
//! The sentinels exist because a high number on KCS can come from memorised exact prices:
//! the exact-value lookup baselines ("training fraud rate of this exact value") run on each
//! high-cardinality field, and every figure is repeated on the evaluation rows whose price
//! never occurs in training. A model near chance there has learned the leak, not fraud.

use std::collections::{HashMap, HashSet};

use crate::features::{FeatureBuilder, FeatureConfig, Matrix, Protocol};
use crate::gbdt::{FeatureMismatch, Objective, TrainConfig, TrainError, train};
use crate::metrics::{AtRate, at_rate, auc};
use crate::model_file::ModelFile;
use crate::record::TargetRecord;

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The model's feature columns differ from the builder's.
    #[error(transparent)]
    Features(#[from] FeatureMismatch),
    /// A test row is not later than every training row.
    #[error(
        "TARGET_EVAL_TEMPORAL: test row {id} dated {test} is not after the last training date {last_train}"
    )]
    NotTemporal {
        /// Test row.
        id: String,
        /// Its date.
        test: String,
        /// Last training date.
        last_train: String,
    },
    /// Rows without labels cannot be evaluated.
    #[error("TARGET_EVAL_UNLABELLED: {0} rows have no inspection outcome")]
    Unlabelled(usize),
}

/// Why a model file cannot serve.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoadError {
    /// The file lacks its protocol or feature vocabulary (written by an older build).
    #[error(
        "TARGET_MODEL_VOCABULARY: the model file has no feature vocabulary; retrain it with this build"
    )]
    NoVocabulary,
    /// Its columns differ from what its vocabulary builds.
    #[error(transparent)]
    Features(#[from] FeatureMismatch),
}

/// Metrics of one scorer on one set of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Per inspection rate.
    pub at: Vec<AtRate>,
    /// ROC AUC.
    pub auc: f64,
}

/// A scorer evaluated on all test rows and on the unseen-price subset.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Name ("model", "lookup:item_price", …).
    pub name: String,
    /// On every test row.
    pub all: Scores,
    /// On test rows whose exact price never occurs in training.
    pub unseen: Scores,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Training rows (labelled).
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// Fraud rate in test.
    pub test_fraud_rate: f64,
    /// Test rows with an unseen exact price.
    pub unseen_rows: usize,
    /// Fraud rate among them.
    pub unseen_fraud_rate: f64,
    /// Test rows identical to a training row on every field but ID and label.
    pub exact_duplicates: usize,
    /// The model and the sentinels.
    pub scorers: Vec<Scored>,
    /// Features most used in splits (name, count).
    pub top_features: Vec<(String, u32)>,
}

/// Settings.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Features.
    pub features: FeatureConfig,
    /// Learner.
    pub train: TrainConfig,
    /// Inspection rates in percent.
    pub rates: Vec<f64>,
}

/// What finding a fraud is worth when the revenue model expects nothing (no duty rate, or a
/// prohibition case): a millionth of a currency unit, far below any real recovery, so
/// p(fraud) × E[revenue] still decides where revenue is expected and p(fraud) alone decides
/// among rows where it is not. Without it a node whose rows lack duty rates ranks every
/// declaration equal.
pub const MIN_INSPECTION_VALUE: f64 = 1e-6;

/// A trained ranker: features, p(fraud) model and, when revenue labels exist, E[revenue].
#[derive(Debug, Clone)]
pub struct Ranker {
    /// Feature builder fitted on the training rows.
    pub builder: FeatureBuilder,
    /// Classifier and optional revenue model.
    pub file: ModelFile,
}

impl Ranker {
    /// Trains on labelled rows (unlabelled ones only feed unit-value cells).
    pub fn train(
        rows: &[TargetRecord],
        features: FeatureConfig,
        config: &TrainConfig,
    ) -> Result<Ranker, TrainError> {
        let builder = FeatureBuilder::fit(features, rows);
        let all = builder.build(&[], rows, true);
        let labelled: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].outcome.is_some())
            .collect();
        let x = take_rows(&all, &labelled);
        let y: Vec<f64> = labelled
            .iter()
            .map(|&i| f64::from(u8::from(rows[i].is_fraud() == Some(true))))
            .collect();
        let classifier = train(&x, &y, config, Objective::Logistic)?;
        // E[revenue | fraud] from inspected frauds with a known recovery.
        let with_revenue: Vec<usize> = labelled
            .iter()
            .copied()
            .filter(|&i| {
                rows[i]
                    .outcome
                    .is_some_and(|o| o.fraud && o.revenue.is_some())
            })
            .collect();
        let revenue = if with_revenue.len() >= 2 * config.min_data_in_leaf.max(1) {
            let xr = take_rows(&all, &with_revenue);
            let yr: Vec<f64> = with_revenue
                .iter()
                .map(|&i| rows[i].outcome.and_then(|o| o.revenue).unwrap_or(0.0))
                .collect();
            Some(train(&xr, &yr, config, Objective::SquaredError)?)
        } else {
            None
        };
        let mut metadata = vec![
            ("protocol".to_owned(), features.protocol.name().to_owned()),
            ("profiles".to_owned(), features.profiles.to_string()),
            ("train_rows".to_owned(), labelled.len().to_string()),
        ];
        metadata.extend(builder.vocabulary());
        Ok(Ranker {
            builder,
            file: ModelFile {
                metadata,
                classifier,
                revenue,
            },
        })
    }

    /// A ranker from a model file alone: the feature encoding comes from the file's
    /// vocabulary (written by [`Ranker::train`]), so the model scores exactly as it was
    /// trained whatever history the scoring node holds. Refuses a file without one, or
    /// whose columns differ from what the vocabulary builds.
    pub fn from_file(file: ModelFile) -> Result<Ranker, LoadError> {
        let protocol = file
            .meta("protocol")
            .and_then(Protocol::parse)
            .ok_or(LoadError::NoVocabulary)?;
        let mut features = FeatureConfig::new(protocol);
        features.profiles = file.meta("profiles") != Some("false");
        let builder = FeatureBuilder::from_vocabulary(features, |k| file.meta(k))
            .ok_or(LoadError::NoVocabulary)?;
        file.classifier.check_features(builder.names())?;
        if let Some(rev) = &file.revenue {
            rev.check_features(builder.names())?;
        }
        Ok(Ranker { builder, file })
    }

    /// p(fraud) and the ranking score p × E[revenue] (p alone without a revenue model) for
    /// `rows`, featurised against `history`. Fails when the model file was trained on
    /// other feature columns than the builder makes.
    pub fn score(
        &self,
        history: &[TargetRecord],
        rows: &[TargetRecord],
        threads: usize,
    ) -> Result<(Matrix, Vec<f64>, Vec<f64>), FeatureMismatch> {
        let x = self.builder.build(history, rows, false);
        let p = self.file.classifier.predict_matrix(&x, threads)?;
        let ranking = match &self.file.revenue {
            Some(rev) => rev
                .predict_matrix(&x, threads)?
                .iter()
                .zip(&p)
                .map(|(r, p)| p * (r.max(0.0) + MIN_INSPECTION_VALUE))
                .collect(),
            None => p.clone(),
        };
        Ok((x, p, ranking))
    }
}

/// Rows `idx` of a matrix.
pub fn take_rows(m: &Matrix, idx: &[usize]) -> Matrix {
    let mut values = Vec::with_capacity(idx.len() * m.names.len());
    for &i in idx {
        values.extend_from_slice(m.row(i));
    }
    Matrix {
        names: m.names.clone(),
        rows: idx.len(),
        values,
    }
}

/// Trains on `train`, scores `test`, and reports.
pub fn evaluate(
    train_rows: &[TargetRecord],
    test: &[TargetRecord],
    config: &EvalConfig,
    threads: usize,
) -> Result<(Report, Ranker), EvalError> {
    let unlabelled = test.iter().filter(|r| r.outcome.is_none()).count();
    if unlabelled > 0 {
        return Err(EvalError::Unlabelled(unlabelled));
    }
    let last = train_rows.iter().filter_map(|r| r.date).max();
    if let Some(last) = last
        && let Some(r) = test.iter().find(|r| r.date.is_some_and(|d| d <= last))
    {
        return Err(EvalError::NotTemporal {
            id: r.id.clone(),
            test: r.date.map(|d| d.to_string()).unwrap_or_default(),
            last_train: last.to_string(),
        });
    }
    let ranker = Ranker::train(train_rows, config.features, &config.train)?;
    let (_, _, ranking) = ranker.score(train_rows, test, threads)?;
    let fraud: Vec<bool> = test.iter().map(|r| r.is_fraud() == Some(true)).collect();
    let revenue: Option<Vec<f64>> = test
        .iter()
        .all(|r| r.outcome.is_some_and(|o| !o.fraud || o.revenue.is_some()))
        .then(|| {
            test.iter()
                .map(|r| r.outcome.and_then(|o| o.revenue).unwrap_or(0.0))
                .collect()
        });
    let seen_prices: HashSet<u64> = train_rows
        .iter()
        .filter_map(|r| r.value.map(f64::to_bits))
        .collect();
    let unseen: Vec<usize> = (0..test.len())
        .filter(|&i| {
            test[i]
                .value
                .is_none_or(|v| !seen_prices.contains(&v.to_bits()))
        })
        .collect();
    let score = |name: &str, s: &[f64]| Scored {
        name: name.to_owned(),
        all: scores(s, &fraud, revenue.as_deref(), &config.rates),
        unseen: {
            let s: Vec<f64> = unseen.iter().map(|&i| s[i]).collect();
            let f: Vec<bool> = unseen.iter().map(|&i| fraud[i]).collect();
            let rev: Option<Vec<f64>> = revenue
                .as_ref()
                .map(|r| unseen.iter().map(|&i| r[i]).collect());
            scores(&s, &f, rev.as_deref(), &config.rates)
        },
    };
    let mut scorers = vec![score("model", &ranking)];
    type Key = fn(&TargetRecord) -> Option<String>;
    let lookups: [(&str, Key); 3] = [
        ("lookup:item_price", |r| {
            r.value.map(|v| v.to_bits().to_string())
        }),
        ("lookup:importer", |r| r.importer.clone()),
        ("lookup:seller", |r| r.seller.clone()),
    ];
    for (name, key) in lookups {
        let s = lookup_scores(train_rows, test, key);
        scorers.push(score(name, &s));
    }
    let mut dup_keys: HashSet<String> = HashSet::new();
    for r in train_rows {
        dup_keys.insert(row_key(r));
    }
    let exact_duplicates = test
        .iter()
        .filter(|r| dup_keys.contains(&row_key(r)))
        .count();
    let mut top_features: Vec<(String, u32)> = ranker
        .file
        .classifier
        .feature_names
        .iter()
        .cloned()
        .zip(ranker.file.classifier.split_counts())
        .collect();
    top_features.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_features.truncate(10);
    let rate = |idx: &mut dyn Iterator<Item = bool>, n: usize| {
        if n == 0 {
            0.0
        } else {
            idx.filter(|f| *f).count() as f64 / n as f64
        }
    };
    Ok((
        Report {
            train_rows: train_rows.iter().filter(|r| r.outcome.is_some()).count(),
            test_rows: test.len(),
            test_fraud_rate: rate(&mut fraud.iter().copied(), fraud.len()),
            unseen_rows: unseen.len(),
            unseen_fraud_rate: rate(&mut unseen.iter().map(|&i| fraud[i]), unseen.len()),
            exact_duplicates,
            scorers,
            top_features,
        },
        ranker,
    ))
}

fn scores(s: &[f64], fraud: &[bool], revenue: Option<&[f64]>, rates: &[f64]) -> Scores {
    Scores {
        at: rates
            .iter()
            .map(|&r| at_rate(s, fraud, revenue, r))
            .collect(),
        auc: auc(s, fraud),
    }
}

/// Training fraud rate of each test row's exact value of `key`; the global rate when unseen.
pub fn lookup_scores(
    train_rows: &[TargetRecord],
    test: &[TargetRecord],
    key: impl Fn(&TargetRecord) -> Option<String>,
) -> Vec<f64> {
    let mut counts: HashMap<String, (u32, u32)> = HashMap::new();
    let (mut n, mut k) = (0u32, 0u32);
    for r in train_rows {
        let Some(fraud) = r.is_fraud() else { continue };
        n += 1;
        k += u32::from(fraud);
        if let Some(key) = key(r) {
            let c = counts.entry(key).or_default();
            c.0 += 1;
            c.1 += u32::from(fraud);
        }
    }
    let global = if n == 0 {
        0.0
    } else {
        f64::from(k) / f64::from(n)
    };
    test.iter()
        .map(|r| {
            key(r)
                .and_then(|k| counts.get(&k))
                .map_or(global, |c| f64::from(c.1) / f64::from(c.0))
        })
        .collect()
}

fn row_key(r: &TargetRecord) -> String {
    let unlabelled = TargetRecord {
        id: String::new(),
        outcome: None,
        ..r.clone()
    };
    format!("{unlabelled:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::features::Protocol;
    use crate::record::Outcome;

    fn synthetic(n: usize, day0: i32, seed: u64) -> Vec<TargetRecord> {
        let mut rng = crate::rng::SplitMix64::new(seed);
        (0..n)
            .map(|i| {
                let importer = rng.below(50);
                let risky = importer < 5;
                let under = rng.next_f64() < 0.3;
                let fraud = (risky && rng.next_f64() < 0.8)
                    || (under && rng.next_f64() < 0.5)
                    || rng.next_f64() < 0.03;
                let uv = if under { 20.0 } else { 100.0 } * (1.0 + rng.next_f64() * 0.1);
                TargetRecord {
                    id: format!("{seed}-{i}"),
                    date: Some(Day(day0 + (i * 60 / n) as i32)),
                    importer: Some(format!("I{importer}")),
                    hs6: Some("440890".into()),
                    origin: Some("CN".into()),
                    net_mass: Some(10.0),
                    value: Some(uv * 10.0),
                    tax_rate: Some(8.0),
                    outcome: Some(Outcome::found(fraud)),
                    ..TargetRecord::default()
                }
            })
            .collect()
    }

    #[test]
    fn finds_planted_signals_and_refuses_overlap() {
        let train_rows = synthetic(3000, 0, 1);
        let test = synthetic(1000, 100, 2);
        let config = EvalConfig {
            features: FeatureConfig::new(Protocol::LeakageControlled),
            train: TrainConfig::default(),
            rates: vec![5.0, 10.0],
        };
        let (report, _) = evaluate(&train_rows, &test, &config, 2).unwrap();
        let model = &report.scorers[0];
        assert!(model.all.auc > 0.8, "{}", model.all.auc);
        assert!(model.all.at[0].precision > 0.7, "{:?}", model.all.at[0]);
        let err = evaluate(&test, &train_rows, &config, 1).unwrap_err();
        assert!(matches!(err, EvalError::NotTemporal { .. }));
    }

    #[test]
    fn ranking_falls_back_to_p_fraud_when_no_revenue_is_expected() {
        // Every recorded recovery is zero (a node without duty rates): the revenue model
        // expects nothing, and the ranking must still order rows by p(fraud).
        let nil_revenue = |rows: Vec<TargetRecord>| -> Vec<TargetRecord> {
            rows.into_iter()
                .map(|mut r| {
                    r.outcome = r.outcome.map(|o| Outcome {
                        revenue: Some(0.0),
                        ..o
                    });
                    r
                })
                .collect()
        };
        let train_rows = nil_revenue(synthetic(3000, 0, 1));
        let test = nil_revenue(synthetic(1000, 100, 2));
        let config = EvalConfig {
            features: FeatureConfig::new(Protocol::LeakageControlled),
            train: TrainConfig::default(),
            rates: vec![5.0],
        };
        let (report, ranker) = evaluate(&train_rows, &test, &config, 2).unwrap();
        assert!(
            ranker.file.revenue.is_some(),
            "the revenue model must be in play"
        );
        let model = &report.scorers[0];
        assert!(model.all.auc > 0.8, "{}", model.all.auc);
        assert!(model.all.at[0].precision > 0.7, "{:?}", model.all.at[0]);
    }
}
