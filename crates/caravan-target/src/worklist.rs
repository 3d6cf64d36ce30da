//! The targeting officer's worklist: a period's declarations ranked, each selected one with
//! its lane, why it was selected, the rules that fired, the features that pushed its score
//! and the fields it lacked, plus the state of each lane's quota.
//!
//! Why one function: the CLI (`caravan target score|worklist`), the API and page
//! (`/api/v1/target/worklist`, `/ui/target/worklist`) and the demo must show the same list
//! for the same inputs. With a rule file, lanes follow it (ASYCUDA quotas and minimum random
//! rate); without one, the budget is `rate` % of the rows, split by [`crate::select`] between
//! the random share, the model's top and exploration, all sent to red.

use crate::eval::Ranker;
use crate::gbdt::FeatureMismatch;
use crate::record::TargetRecord;
use crate::rules::{Lane, LaneReason, RuleSet};
use crate::select::{SelectionConfig, select};

/// Worklist settings.
#[derive(Debug, Clone, Copy)]
pub struct WorklistConfig {
    /// Without rules: inspection budget in percent of the rows, in (0, 100].
    pub rate: f64,
    /// Without rules: selection shares and seed.
    pub selection: SelectionConfig,
    /// Seed of the rules' random lane draw.
    pub seed: u64,
    /// Contributions listed per entry.
    pub explain_top: usize,
}

impl Default for WorklistConfig {
    fn default() -> Self {
        WorklistConfig {
            rate: 5.0,
            selection: SelectionConfig::default(),
            seed: 0,
            explain_top: 3,
        }
    }
}

/// One selected declaration (goods item).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Row index in the scored rows.
    pub index: usize,
    /// Record id (`LRN/item`).
    pub id: String,
    /// p(fraud).
    pub p: f64,
    /// Ranking score: p × E[revenue] (p without a revenue model).
    pub ranking: f64,
    /// Rule score (rules only).
    pub rule_score: Option<f64>,
    /// Lane.
    pub lane: Lane,
    /// Why: `random`, `risk`, `score` or `exploration`.
    pub reason: &'static str,
    /// Rules that fired.
    pub rules_fired: Vec<String>,
    /// Strongest feature contributions to the log-odds, by magnitude.
    pub contributions: Vec<(String, f64)>,
    /// Scoring fields the declaration lacked.
    pub missing: Vec<&'static str>,
}

/// The tail of a worklist line: `; rules: R1, R2; missing: value` (empty parts left out).
pub fn notes(rules_fired: &[String], missing: &[&str]) -> String {
    let mut out = String::new();
    if !rules_fired.is_empty() {
        out.push_str(&format!("; rules: {}", rules_fired.join(", ")));
    }
    if !missing.is_empty() {
        out.push_str(&format!("; missing: {}", missing.join(", ")));
    }
    out
}

/// How full one lane is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Lane.
    pub lane: Lane,
    /// Rows it may take (None: no quota, e.g. green).
    pub limit: Option<usize>,
    /// Rows it took.
    pub used: usize,
    /// Of those, by the random draw.
    pub random: usize,
}

/// The worklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Worklist {
    /// Rows scored.
    pub scored: usize,
    /// Selected rows, most intrusive lane first, then by score.
    pub entries: Vec<Entry>,
    /// Lane fill.
    pub quotas: Vec<Quota>,
    /// Rule set in force (name, version), if any.
    pub rules: Option<(String, u32)>,
}

/// A selected row before its explanation: (row, reason, lane, fired rules, rule score).
type Chosen = (usize, &'static str, Lane, Vec<String>, Option<f64>);

/// Scores `rows` against `history` with `ranker` and builds the worklist.
pub fn build(
    ranker: &Ranker,
    history: &[TargetRecord],
    rows: &[TargetRecord],
    rules: Option<&RuleSet>,
    config: &WorklistConfig,
    threads: usize,
) -> Result<Worklist, FeatureMismatch> {
    let (x, p, ranking) = ranker.score(history, rows, threads)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut chosen: Vec<Chosen> = Vec::new();
    let quotas;
    match rules {
        Some(set) => {
            let assessments: Vec<_> = rows
                .iter()
                .zip(&p)
                .map(|(r, p)| set.assess(r, Some(*p)))
                .collect();
            let lanes = set.assign_lanes(&assessments, &ids, config.seed);
            let mut order: Vec<usize> = (0..rows.len())
                .filter(|&i| lanes[i].0 != Lane::Green)
                .collect();
            order.sort_by(|&a, &b| {
                lanes[a]
                    .0
                    .cmp(&lanes[b].0)
                    .then(assessments[b].score.total_cmp(&assessments[a].score))
                    .then_with(|| ids[a].cmp(ids[b]))
            });
            let n = rows.len() as f64;
            let count = |lane: Lane, random: bool| {
                lanes
                    .iter()
                    .filter(|l| l.0 == lane && (!random || l.1 == LaneReason::Random))
                    .count()
            };
            let red_random = count(Lane::Red, true);
            quotas = vec![
                Quota {
                    lane: Lane::Red,
                    limit: Some((set.quotas.0 * n).round() as usize + red_random),
                    used: count(Lane::Red, false),
                    random: red_random,
                },
                Quota {
                    lane: Lane::Yellow,
                    limit: Some((set.quotas.1 * n).round() as usize),
                    used: count(Lane::Yellow, false),
                    random: 0,
                },
                Quota {
                    lane: Lane::Green,
                    limit: None,
                    used: count(Lane::Green, false),
                    random: 0,
                },
            ];
            for i in order {
                let reason = match lanes[i].1 {
                    LaneReason::Random => "random",
                    LaneReason::Risk => "risk",
                    LaneReason::Release => "release",
                };
                chosen.push((
                    i,
                    reason,
                    lanes[i].0,
                    assessments[i].fired.clone(),
                    Some(assessments[i].score),
                ));
            }
        }
        None => {
            let budget =
                ((config.rate.clamp(0.0, 100.0) / 100.0) * rows.len() as f64).round() as usize;
            let selected = select(&ranking, &p, &ids, budget, &config.selection);
            let random = selected
                .iter()
                .filter(|s| s.reason == crate::select::Reason::Random)
                .count();
            quotas = vec![
                Quota {
                    lane: Lane::Red,
                    limit: Some(budget.min(rows.len())),
                    used: selected.len(),
                    random,
                },
                Quota {
                    lane: Lane::Green,
                    limit: None,
                    used: rows.len() - selected.len(),
                    random: 0,
                },
            ];
            // The model's picks first, best first; then exploration, then the random draw.
            let mut selected = selected;
            let order = |r: crate::select::Reason| match r {
                crate::select::Reason::Score => 0,
                crate::select::Reason::Exploration => 1,
                crate::select::Reason::Random => 2,
            };
            selected.sort_by(|a, b| {
                order(a.reason)
                    .cmp(&order(b.reason))
                    .then(ranking[b.index].total_cmp(&ranking[a.index]))
                    .then_with(|| ids[a.index].cmp(ids[b.index]))
            });
            for s in selected {
                chosen.push((s.index, s.reason.name(), Lane::Red, Vec::new(), None));
            }
        }
    }
    let entries = chosen
        .into_iter()
        .map(|(i, reason, lane, rules_fired, rule_score)| {
            let (_, contrib) = ranker.file.classifier.contributions(x.row(i));
            let mut top: Vec<(usize, f64)> = contrib
                .iter()
                .copied()
                .enumerate()
                .filter(|c| c.1 != 0.0)
                .collect();
            top.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
            Entry {
                index: i,
                id: rows[i].id.clone(),
                p: p[i],
                ranking: ranking[i],
                rule_score,
                lane,
                reason,
                rules_fired,
                contributions: top
                    .into_iter()
                    .take(config.explain_top)
                    .map(|(f, c)| (x.names[f].clone(), c))
                    .collect(),
                missing: rows[i].missing_fields(),
            }
        })
        .collect();
    Ok(Worklist {
        scored: rows.len(),
        entries,
        quotas,
        rules: rules.map(|s| (s.name.clone(), s.version)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::features::{FeatureConfig, Protocol};
    use crate::gbdt::TrainConfig;
    use crate::record::Outcome;

    fn rows(n: usize, day0: i32) -> Vec<TargetRecord> {
        (0..n)
            .map(|i| {
                let fraud = i % 5 == 0;
                TargetRecord {
                    id: format!("D{day0}-{i:04}/1"),
                    date: Some(Day(day0 + (i / 20) as i32)),
                    importer: Some(format!("IMP{}", i % 7)),
                    hs6: Some(if fraud { "847130" } else { "440890" }.into()),
                    origin: Some("UZ".into()),
                    net_mass: Some(10.0),
                    value: if i % 11 == 3 {
                        None
                    } else {
                        Some(if fraud { 100.0 } else { 1000.0 })
                    },
                    tax_rate: Some(5.0),
                    outcome: Some(Outcome::found(fraud)),
                    ..TargetRecord::default()
                }
            })
            .collect()
    }

    fn ranker(history: &[TargetRecord]) -> Ranker {
        Ranker::train(
            history,
            FeatureConfig::new(Protocol::LeakageControlled),
            &TrainConfig {
                trees: 20,
                min_data_in_leaf: 5,
                ..TrainConfig::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn without_rules_the_budget_goes_red_and_explanations_name_features() {
        let history = rows(400, 0);
        let live: Vec<TargetRecord> = rows(200, 100)
            .into_iter()
            .map(|mut r| {
                r.outcome = None;
                r
            })
            .collect();
        let ranker = ranker(&history);
        let config = WorklistConfig {
            rate: 10.0,
            ..WorklistConfig::default()
        };
        let w = build(&ranker, &history, &live, None, &config, 1).unwrap();
        assert_eq!(w.scored, 200);
        assert_eq!(w.entries.len(), 20);
        assert_eq!(w.quotas[0].limit, Some(20));
        assert_eq!(w.quotas[0].used, 20);
        assert!(w.entries.iter().all(|e| e.lane == Lane::Red));
        let by_score: Vec<&Entry> = w.entries.iter().filter(|e| e.reason == "score").collect();
        assert!(!by_score.is_empty());
        // The model's picks lead, best first.
        assert!(
            w.entries[..by_score.len()]
                .iter()
                .all(|e| e.reason == "score")
        );
        for pair in by_score.windows(2) {
            assert!(pair[0].ranking >= pair[1].ranking);
        }
        // The model's picks are the planted pattern, and each says why.
        assert!(
            by_score
                .iter()
                .all(|e| live[e.index].hs6.as_deref() == Some("847130"))
        );
        assert!(by_score.iter().all(|e| !e.contributions.is_empty()));
        assert!(by_score.iter().all(|e| e.contributions.len() <= 3));
        for e in &w.entries {
            assert_eq!(e.missing.contains(&"value"), live[e.index].value.is_none());
        }
        // The stored model file alone gives the same worklist, even against another
        // history (its encoding travels with it).
        let bytes = crate::model_file::encode(&ranker.file);
        let reloaded = Ranker::from_file(crate::model_file::decode(&bytes).unwrap()).unwrap();
        assert_eq!(
            build(&reloaded, &history, &live, None, &config, 1).unwrap(),
            w
        );
        let mut without = ranker.file.clone();
        without
            .metadata
            .retain(|(k, _)| !k.starts_with("features."));
        assert_eq!(
            Ranker::from_file(without).unwrap_err(),
            crate::eval::LoadError::NoVocabulary
        );
    }

    #[test]
    fn with_rules_lanes_follow_quotas_and_fired_rules_are_listed() {
        let history = rows(400, 0);
        let live: Vec<TargetRecord> = rows(100, 100);
        let ranker = ranker(&history);
        let set = RuleSet::parse(
            "ruleset t version 2\nlanes red >= 80 yellow >= 40\nquota red 5% yellow 10%\nrandom 0%\nmodel weight 100\nrule H1 weight 50 when hs6 in 8471\n",
        )
        .unwrap();
        let w = build(
            &ranker,
            &history,
            &live,
            Some(&set),
            &WorklistConfig::default(),
            1,
        )
        .unwrap();
        assert_eq!(w.rules, Some(("t".to_owned(), 2)));
        let red: Vec<&Entry> = w.entries.iter().filter(|e| e.lane == Lane::Red).collect();
        let yellow = w.entries.iter().filter(|e| e.lane == Lane::Yellow).count();
        assert_eq!(red.len(), 5);
        assert!(yellow <= 10);
        assert_eq!(w.quotas[0].used, 5);
        assert!(red.iter().all(|e| e.rules_fired == ["H1"]));
        // Red before yellow, and by rule score within a lane.
        let lanes: Vec<Lane> = w.entries.iter().map(|e| e.lane).collect();
        let mut sorted = lanes.clone();
        sorted.sort();
        assert_eq!(lanes, sorted);
        for pair in red.windows(2) {
            assert!(pair[0].rule_score >= pair[1].rule_score);
        }
    }
}
