//! The engine against the synthetic corridor's ground truth, across seeds and difficulty
//! levels: the issue's quality bar (linkage precision and recall ≥ 0.99) and the
//! detection of every injected anomaly type at a 5 % alert rate.

use caravan_corridor::{Corridor, CorridorConfig, Difficulty, generate};
use caravan_mirror::analysis::{Analysis, MirrorConfig, analyse};
use caravan_mirror::eval::{Evaluation, ShipmentTruth, evaluate};
use caravan_mirror::leg::{Leg, legs_from_drafts};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;

fn legs(
    country: &str,
    drafts: &[caravan_domain::declaration::draft::DeclarationDraft],
) -> Vec<Leg> {
    let (legs, rejected) = legs_from_drafts(country, drafts);
    assert_eq!(rejected, Vec::<String>::new());
    legs
}

pub(crate) fn run(config: &CorridorConfig) -> (Corridor, Analysis, Evaluation) {
    let corridor = generate(config);
    let us = legs("US", &corridor.us);
    let uz = legs("UZ", &corridor.uz);
    let mut rates = Rates::empty("USD");
    let (from, to) = (
        NaiveDate::from_ymd_opt(config.year, 1, 1).expect("date"),
        NaiveDate::from_ymd_opt(config.year + 1, 12, 31).expect("date"),
    );
    rates.insert_constant("UZS", caravan_corridor::UZS_PER_USD, from, to);
    let mirror = MirrorConfig {
        // Retrospective: every window has closed.
        as_of: NaiveDate::from_ymd_opt(config.year + 1, 6, 30),
        ..MirrorConfig::default()
    };
    let analysis = analyse(("US", &us), ("UZ", &uz), &rates, &TokenSimilarity, &mirror);
    let truth: Vec<ShipmentTruth> = corridor
        .truth
        .iter()
        .map(|t| ShipmentTruth {
            lrns_a: t.us_lrns.clone(),
            lrns_b: t.uz_lrns.clone(),
            anomaly: t.anomaly.map(|a| a.as_str().to_owned()),
        })
        .collect();
    let eval = evaluate(&analysis, "US", "UZ", &truth, 0.05);
    (corridor, analysis, eval)
}

#[test]
fn linkage_and_detection_across_seeds_and_difficulties() {
    let mut report = String::new();
    for difficulty in Difficulty::ALL {
        for seed in [1u64, 2, 3] {
            let config = difficulty.apply(CorridorConfig {
                anomaly_rate: 0.05,
                ..CorridorConfig::with(seed, 3_000)
            });
            let (corridor, analysis, eval) = run(&config);
            // Generated data is complete: no record may lack a rate, value or mass.
            for d in &analysis.directions {
                for disc in &d.discrepancies {
                    assert_eq!(disc.issues, Vec::new(), "{difficulty:?} seed {seed}");
                }
            }
            assert!(
                analysis
                    .findings
                    .iter()
                    .all(|f| (0.0..=1.0).contains(&f.score))
            );
            let planted = corridor
                .truth
                .iter()
                .filter(|t| t.anomaly.is_some())
                .count();
            assert!(planted > 100);
            let context = format!("{} seed {seed}", difficulty.as_str());
            assert!(
                eval.linkage.precision() >= 0.99,
                "{context}: {:?}",
                eval.linkage
            );
            assert!(
                eval.linkage.recall() >= 0.99,
                "{context}: {:?}",
                eval.linkage
            );
            if difficulty != Difficulty::Clean {
                let fuzzy = eval.per_tier["fuzzy"];
                assert!(
                    fuzzy.predicted > 300,
                    "{context}: the knobs must force fuzzy links: {fuzzy:?}"
                );
                assert!(
                    fuzzy.correct as f64 >= 0.99 * fuzzy.predicted as f64,
                    "{context}: {fuzzy:?}"
                );
            }
            assert!(
                (eval.alert_rate - 0.05).abs() < 0.01,
                "{context}: alert rate {}",
                eval.alert_rate
            );
            // Lower bounds below the measured recalls (BENCHMARKS.md, mirror section).
            // The 5 % budget is smaller than the planted share (about 5.5 % of units), so
            // the kinds ranked last lose alerts; phantom shipments from Uzbekistan also
            // look exactly like the corridor's mirror gap (spec 7.1) and rank lowest.
            for (label, bound) in [
                ("undervaluation", 0.95),
                ("misclassification", 0.95),
                ("false_origin", 0.95),
                ("chpl_reexport", 0.95),
                ("split_consignment", 0.9),
                ("phantom_shipment", 0.05),
            ] {
                let d = eval.detection.get(label).copied().unwrap_or_default();
                assert!(d.planted > 0, "{context}: no {label} planted");
                assert!(
                    d.recall() >= bound,
                    "{context}: {label} recall {:.2} < {bound}",
                    d.recall()
                );
            }
            report.push_str(&format!(
                "{} seed {seed}: precision {:.4} recall {:.4} ({} pairs); detection {:?}\n",
                difficulty.as_str(),
                eval.linkage.precision(),
                eval.linkage.recall(),
                eval.linkage.truth,
                eval.detection
                    .iter()
                    .map(|(k, d)| format!("{k} {}/{}", d.alerted, d.planted))
                    .collect::<Vec<_>>()
            ));
        }
    }
    println!("{report}");
}
