//! Scoring an analysis against ground truth: linkage precision and recall (overall and
//! per tier) and, per injected anomaly type, recall at a fixed alert rate
//! (`spec/analytics.md`, "Synthetic pairs for testing" and "Evaluation protocol").
//!
//! The truth is plain data ([`ShipmentTruth`]), so this module does not depend on the
//! corridor generator; callers convert its truth rows. A true pair is every export leg ×
//! import leg of one shipment between its two countries; legs of the shipment filed as
//! exports to third countries (a CHPL re-export) are not pairs.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::analysis::Analysis;
use crate::leg::Flow;
use crate::link::Tier;

/// What one shipment really was.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentTruth {
    /// LRNs at the first country's node.
    pub lrns_a: Vec<String>,
    /// LRNs at the second country's node.
    pub lrns_b: Vec<String>,
    /// Injected anomaly label, if any (`undervaluation`, …).
    pub anomaly: Option<String>,
}

/// Precision and recall of one set of predicted pairs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PrecisionRecall {
    /// Predicted pairs.
    pub predicted: usize,
    /// True pairs.
    pub truth: usize,
    /// Predicted pairs that are true.
    pub correct: usize,
}

impl PrecisionRecall {
    /// correct / predicted (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        if self.predicted == 0 {
            1.0
        } else {
            self.correct as f64 / self.predicted as f64
        }
    }

    /// correct / truth (1 when there is nothing to find).
    pub fn recall(&self) -> f64 {
        if self.truth == 0 {
            1.0
        } else {
            self.correct as f64 / self.truth as f64
        }
    }
}

/// Detection of one anomaly type at the alert rate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Detection {
    /// Shipments carrying the anomaly.
    pub planted: usize,
    /// Of those, with at least one declaration in an alerted unit.
    pub alerted: usize,
}

impl Detection {
    /// alerted / planted.
    pub fn recall(&self) -> f64 {
        if self.planted == 0 {
            1.0
        } else {
            self.alerted as f64 / self.planted as f64
        }
    }
}

/// The evaluation of one analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// All tiers.
    pub linkage: PrecisionRecall,
    /// Predicted and correct pairs per tier (truth counts are the overall ones).
    pub per_tier: BTreeMap<&'static str, PrecisionRecall>,
    /// Share of units alerted.
    pub alert_rate: f64,
    /// Units alerted.
    pub alerts: usize,
    /// Per anomaly label.
    pub detection: BTreeMap<String, Detection>,
}

/// Scores `analysis` (countries `a`, `b` as passed to `analyse`) against `truth`.
pub fn evaluate(
    analysis: &Analysis,
    a: &str,
    b: &str,
    truth: &[ShipmentTruth],
    alert_rate: f64,
) -> Evaluation {
    // Flow of each leg by (country, LRN).
    let mut flow: HashMap<(&str, &str), Flow> = HashMap::new();
    for dir in &analysis.directions {
        for leg in dir.exports.iter().chain(&dir.imports) {
            flow.insert(
                (leg.reference.reporter.as_str(), leg.reference.lrn.as_str()),
                leg.flow,
            );
        }
    }
    let mut true_pairs: HashSet<(String, String)> = HashSet::new();
    for s in truth {
        for (xs, xc, ms, mc) in [(&s.lrns_a, a, &s.lrns_b, b), (&s.lrns_b, b, &s.lrns_a, a)] {
            for x in xs {
                if flow.get(&(xc, x.as_str())) != Some(&Flow::Export) {
                    continue;
                }
                for m in ms {
                    if flow.get(&(mc, m.as_str())) == Some(&Flow::Import) {
                        true_pairs.insert((format!("{xc}:{x}"), format!("{mc}:{m}")));
                    }
                }
            }
        }
    }
    let mut linkage = PrecisionRecall {
        truth: true_pairs.len(),
        ..PrecisionRecall::default()
    };
    let mut per_tier: BTreeMap<&'static str, PrecisionRecall> = BTreeMap::new();
    for tier in [
        Tier::SharedReference,
        Tier::TransportReference,
        Tier::CommercialReference,
        Tier::Fuzzy,
    ] {
        per_tier.insert(
            tier.as_str(),
            PrecisionRecall {
                truth: true_pairs.len(),
                ..PrecisionRecall::default()
            },
        );
    }
    for dir in &analysis.directions {
        for link in &dir.linkage.links {
            for &e in &link.exports {
                for &i in &link.imports {
                    let pair = (
                        dir.exports[e].reference.to_string(),
                        dir.imports[i].reference.to_string(),
                    );
                    let hit = true_pairs.contains(&pair);
                    for pr in [
                        &mut linkage,
                        per_tier.entry(link.tier.as_str()).or_default(),
                    ] {
                        pr.predicted += 1;
                        pr.correct += usize::from(hit);
                    }
                }
            }
        }
    }

    // Alerts.
    let units = analysis.unit_count();
    let budget = ((units as f64) * alert_rate).ceil() as usize;
    let ranked = analysis.ranked_units();
    let mut alerted: HashSet<String> = HashSet::new();
    let mut alerts = 0;
    for r in ranked.iter().take(budget) {
        alerts += 1;
        for leg in analysis.unit_legs(r.unit) {
            alerted.insert(leg.reference.to_string());
        }
    }
    // Findings may also name a third-country leg (a re-export); count it alerted when its
    // unit is.
    let alerted_units: HashSet<_> = ranked.iter().take(budget).map(|r| r.unit).collect();
    for f in &analysis.findings {
        if alerted_units.contains(&f.unit) {
            for leg in &f.legs {
                alerted.insert(leg.to_string());
            }
        }
    }
    let mut detection: BTreeMap<String, Detection> = BTreeMap::new();
    for s in truth {
        let Some(label) = &s.anomaly else { continue };
        let d = detection.entry(label.clone()).or_default();
        d.planted += 1;
        let hit = s
            .lrns_a
            .iter()
            .any(|l| alerted.contains(&format!("{a}:{l}")))
            || s.lrns_b
                .iter()
                .any(|l| alerted.contains(&format!("{b}:{l}")));
        d.alerted += usize::from(hit);
    }
    Evaluation {
        linkage,
        per_tier,
        alert_rate: if units == 0 {
            0.0
        } else {
            alerts as f64 / units as f64
        },
        alerts,
        detection,
    }
}
