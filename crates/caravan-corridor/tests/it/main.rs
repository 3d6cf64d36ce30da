//! Integration tests of the corridor generator: determinism, spec figures, pairing,
//! visibility of every injected anomaly, reference data and local validation.

mod validation;

use std::collections::HashMap;

use caravan_corridor::{
    AnomalyKind, CorridorConfig, DefectKind, Direction, SPLIT_THRESHOLD_USD, Side,
    TRUTH_CSV_HEADER, US_OFFICES, US_TO_UZ, UZ_OFFICES, UZ_TO_US, generate, shipments, stream,
    write_truth_csv,
};
use caravan_domain::declaration::draft::DeclarationDraft;
use caravan_domain::refdata;

fn num(v: &Option<String>) -> f64 {
    v.as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

fn big() -> caravan_corridor::Corridor {
    generate(&CorridorConfig::with(7, 10_000))
}

#[test]
fn same_seed_same_output_different_seed_different_output() {
    let a = generate(&CorridorConfig::with(42, 300));
    let b = generate(&CorridorConfig::with(42, 300));
    let c = generate(&CorridorConfig::with(43, 300));
    assert_eq!(a.us, b.us);
    assert_eq!(a.uz, b.uz);
    assert_eq!(a.truth, b.truth);
    assert_ne!(a.us, c.us);
    assert_ne!(a.truth, c.truth);
}

#[test]
fn shipment_n_does_not_depend_on_the_count() {
    let short: Vec<_> = shipments(&CorridorConfig::with(5, 50))
        .map(|s| s.truth)
        .collect();
    let long: Vec<_> = shipments(&CorridorConfig::with(5, 500))
        .take(50)
        .map(|s| s.truth)
        .collect();
    // Firm pools scale with the count, so compare the parts that do not depend on them.
    for (a, b) in short.iter().zip(&long) {
        assert_eq!(
            (a.direction, a.anomaly, &a.hs6, a.mode),
            (b.direction, b.anomaly, &b.hs6, b.mode)
        );
    }
}

#[test]
fn stream_yields_what_generate_collects() {
    let config = CorridorConfig::with(9, 200);
    let corridor = generate(&config);
    let (us, uz): (Vec<_>, Vec<_>) = stream(&config).partition(|(side, _)| *side == Side::Us);
    assert_eq!(
        us.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
        corridor.us
    );
    assert_eq!(
        uz.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
        corridor.uz
    );
}

#[test]
fn volumes_values_and_mixes_follow_spec_section_7() {
    let c = big();
    let n = c.truth.len() as f64;
    let us_to_uz = c
        .truth
        .iter()
        .filter(|t| t.direction == Direction::UsToUz)
        .count() as f64
        / n;
    assert!((us_to_uz - 0.59).abs() < 0.03, "US→UZ share {us_to_uz}");

    // Mean values (7.4): ±20 % of $100k (US→UZ) and $90k (UZ→US), ordinary shipments.
    for (dir, target) in [
        (Direction::UsToUz, 100_000.0),
        (Direction::UzToUs, 90_000.0),
    ] {
        let v: Vec<f64> = c
            .truth
            .iter()
            .filter(|t| t.direction == dir && t.anomaly != Some(AnomalyKind::SplitConsignment))
            .map(|t| t.export_value_usd)
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean / target - 1.0).abs() < 0.2, "{dir:?} mean {mean}");
    }

    // Chapter mixes (7.4).
    let allowed_us = ["88", "84", "85", "87", "90", "02", "10", "30", "38"];
    let allowed_uz = ["52", "61", "62", "63", "08", "28", "81", "71"];
    for t in &c.truth {
        let allowed: &[&str] = if t.direction == Direction::UsToUz {
            &allowed_us
        } else {
            &allowed_uz
        };
        assert!(
            allowed.contains(&&t.hs6[..2]),
            "{} in {:?}",
            t.hs6,
            t.direction
        );
    }
    let chapters: std::collections::HashSet<&str> = c.truth.iter().map(|t| &t.hs6[..2]).collect();
    assert_eq!(
        chapters.len(),
        allowed_us.len() + allowed_uz.len(),
        "every chapter appears: {chapters:?}"
    );

    // Mirror gap (7.1): about 84 % of ordinary UZ→US exports lack a US import leg.
    let ordinary_uz: Vec<_> = c
        .truth
        .iter()
        .filter(|t| t.direction == Direction::UzToUs && t.anomaly.is_none())
        .collect();
    let gap = ordinary_uz.iter().filter(|t| t.mirror_gap).count() as f64 / ordinary_uz.len() as f64;
    assert!((gap - 0.84).abs() < 0.03, "mirror gap {gap}");

    // Anomalies, defects, watch-list parties.
    let anomalies = c.truth.iter().filter(|t| t.anomaly.is_some()).count() as f64 / n;
    assert!((anomalies - 0.05).abs() < 0.01, "anomaly rate {anomalies}");
    for kind in AnomalyKind::ALL {
        assert!(
            c.truth.iter().any(|t| t.anomaly == Some(kind)),
            "{kind:?} missing"
        );
    }
    let defects = c.truth.iter().filter(|t| t.defect.is_some()).count() as f64 / n;
    assert!((defects - 0.02).abs() < 0.006, "defect rate {defects}");
    let watch = c
        .truth
        .iter()
        .filter(|t| t.watchlist_party.is_some())
        .count() as f64
        / n;
    assert!((watch - 0.01).abs() < 0.005, "watch-list rate {watch}");

    // Inspection rates (7.3): red ≈ 3 % US, 21 % UZ.
    for (drafts, target, tol) in [(&c.us, 0.03, 0.01), (&c.uz, 0.21, 0.02)] {
        let red = drafts
            .iter()
            .filter(|d| d.outcome.as_ref().is_some_and(|o| o.lane == "red"))
            .count() as f64
            / drafts.len() as f64;
        assert!((red - target).abs() < tol, "red rate {red} vs {target}");
    }

    // Goods items 1..5.
    assert!(
        c.us.iter()
            .chain(&c.uz)
            .all(|d| (1..=5).contains(&d.items.len()))
    );
}

fn index(c: &caravan_corridor::Corridor) -> HashMap<&str, (Side, &DeclarationDraft)> {
    c.us.iter()
        .map(|d| (d.header.lrn.as_str(), (Side::Us, d)))
        .chain(c.uz.iter().map(|d| (d.header.lrn.as_str(), (Side::Uz, d))))
        .collect()
}

fn is_import(d: &DeclarationDraft) -> bool {
    d.header.type_code.starts_with("IM")
}

#[test]
fn every_leg_has_its_partner_unless_labelled() {
    let c = big();
    let idx = index(&c);
    assert_eq!(idx.len(), c.us.len() + c.uz.len(), "LRNs are unique");
    let listed: usize = c
        .truth
        .iter()
        .map(|t| t.us_lrns.len() + t.uz_lrns.len())
        .sum();
    assert_eq!(listed, idx.len(), "every draft is in the truth file");
    for t in &c.truth {
        for lrn in t.us_lrns.iter().chain(&t.uz_lrns) {
            assert!(idx.contains_key(lrn.as_str()), "{lrn}");
        }
        let (exports, imports) = match t.direction {
            Direction::UsToUz => (&t.us_lrns, &t.uz_lrns),
            Direction::UzToUs => (&t.uz_lrns, &t.us_lrns),
        };
        match t.anomaly {
            Some(AnomalyKind::PhantomShipment) => assert!(exports.is_empty() != imports.is_empty()),
            None if t.mirror_gap => {
                assert_eq!(t.direction, Direction::UzToUs);
                assert_eq!((exports.len(), imports.len()), (1, 0));
            }
            Some(AnomalyKind::SplitConsignment) => {
                assert!(exports.len() == 1 && imports.len() >= 2)
            }
            Some(AnomalyKind::ChplReexport) => assert!(exports.len() == 1 && imports.len() == 2),
            _ => assert_eq!((exports.len(), imports.len()), (1, 1), "{}", t.shipment_id),
        }
        for lrn in exports {
            assert!(!is_import(idx[lrn.as_str()].1));
        }
    }
    // Every US import has its UZ export partner unless phantom or labelled otherwise.
    for t in c
        .truth
        .iter()
        .filter(|t| t.direction == Direction::UzToUs && !t.us_lrns.is_empty())
    {
        assert!(!t.uz_lrns.is_empty() || t.anomaly == Some(AnomalyKind::PhantomShipment));
    }
}

#[test]
fn every_anomaly_is_visible_in_the_data() {
    let c = big();
    let idx = index(&c);
    let invoice = |lrn: &str| num(&idx[lrn].1.header.invoice_total);
    for t in c.truth.iter().filter(|t| t.anomaly.is_some()) {
        let (exports, imports) = match t.direction {
            Direction::UsToUz => (&t.us_lrns, &t.uz_lrns),
            Direction::UzToUs => (&t.uz_lrns, &t.us_lrns),
        };
        match t.anomaly {
            Some(AnomalyKind::Undervaluation) => {
                assert!(
                    invoice(&imports[0]) < 0.75 * invoice(&exports[0]),
                    "{}",
                    t.shipment_id
                );
            }
            Some(AnomalyKind::Misclassification) => {
                let ex = idx[exports[0].as_str()].1.items[0]
                    .commodity_code
                    .clone()
                    .unwrap_or_default();
                let im = idx[imports[0].as_str()].1.items[0]
                    .commodity_code
                    .clone()
                    .unwrap_or_default();
                assert_ne!(ex[..6], im[..6]);
                assert_eq!(ex[..4], im[..4]);
            }
            Some(AnomalyKind::FalseOrigin) => {
                let ex = idx[exports[0].as_str()].1;
                let im = idx[imports[0].as_str()].1;
                let o =
                    |d: &DeclarationDraft| d.items[0].origin_country.clone().unwrap_or_default();
                assert!(["CN", "RU"].contains(&o(ex).as_str()));
                assert!(["UZ", "KZ", "TR", "AE"].contains(&o(im).as_str()));
                assert!(
                    im.transport.routing_countries.len() > ex.transport.routing_countries.len()
                );
            }
            Some(AnomalyKind::ChplReexport) => {
                let ex = idx[exports[0].as_str()].1;
                let code = ex.items[0].commodity_code.clone().unwrap_or_default();
                assert!(
                    refdata::chpl().tier(&code[..6]).is_some(),
                    "{code} not CHPL"
                );
                let re = idx[imports[1].as_str()].1;
                assert!(!is_import(re));
                let dest = re.transport.destination_country.clone().unwrap_or_default();
                assert!(["RU", "BY", "KZ", "KG"].contains(&dest.as_str()));
            }
            Some(AnomalyKind::SplitConsignment) => {
                let total: f64 = imports.iter().map(|l| invoice(l)).sum();
                assert!(imports.iter().all(|l| invoice(l) < SPLIT_THRESHOLD_USD));
                assert!((total / invoice(&exports[0]) - 1.0).abs() < 0.06);
            }
            Some(AnomalyKind::PhantomShipment) | None => {}
        }
    }
    // Ordinary matched legs carry only small value noise (±5 %).
    for t in c
        .truth
        .iter()
        .filter(|t| t.anomaly.is_none() && !t.mirror_gap)
        .take(500)
    {
        let (ex, im) = match t.direction {
            Direction::UsToUz => (&t.us_lrns[0], &t.uz_lrns[0]),
            Direction::UzToUs => (&t.uz_lrns[0], &t.us_lrns[0]),
        };
        let r = invoice(im) / invoice(ex);
        assert!((0.94..=1.06).contains(&r), "{} ratio {r}", t.shipment_id);
    }
}

#[test]
fn defects_are_where_the_truth_says() {
    let c = big();
    let idx = index(&c);
    for t in c
        .truth
        .iter()
        .filter(|t| t.defect == Some(DefectKind::ContainerCheckDigit))
    {
        let bad = t.us_lrns.iter().chain(&t.uz_lrns).any(|l| {
            idx[l.as_str()]
                .1
                .transport
                .equipment
                .iter()
                .any(|e| caravan_domain::id::ContainerNumber::parse(&e.container_id).is_err())
        });
        assert!(bad, "{}", t.shipment_id);
    }
}

#[test]
fn catalogue_codes_exist_in_hs2022_and_chpl() {
    let hs = refdata::hs2022();
    for p in US_TO_UZ.iter().chain(UZ_TO_US) {
        assert!(hs.subheading(p.hs6).is_some(), "{}", p.hs6);
        if let Some((sib, rate)) = p.lower_duty_sibling {
            assert!(
                hs.siblings(p.hs6).any(|e| e.code == sib),
                "{sib} not a sibling of {}",
                p.hs6
            );
            assert!(rate <= p.duty_pct);
        }
        if let Some(alias) = p.non_chpl_alias {
            assert!(
                refdata::chpl().tier(p.hs6).is_some(),
                "{} should be CHPL",
                p.hs6
            );
            assert!(refdata::chpl().tier(alias).is_none(), "{alias} is CHPL");
            assert!(hs.subheading(alias).is_some());
        }
    }
    for o in US_OFFICES.iter().chain(UZ_OFFICES) {
        assert!(
            refdata::locodes()
                .get(&o.locode[..2], &o.locode[2..])
                .is_some(),
            "{}",
            o.locode
        );
    }
}

#[test]
fn truth_csv_has_a_header_and_one_row_per_shipment() {
    let c = generate(&CorridorConfig {
        anomaly_rate: 0.5,
        ..CorridorConfig::with(3, 100)
    });
    let mut out = Vec::new();
    write_truth_csv(&mut out, &c.truth).expect("write to a Vec");
    let text = String::from_utf8(out).expect("UTF-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(TRUTH_CSV_HEADER));
    assert_eq!(lines.count(), 100);
    assert!(text.contains("undervaluation"));
}

#[test]
fn difficulty_knobs_touch_only_import_legs_and_default_to_nothing() {
    use caravan_corridor::Difficulty;
    let base = CorridorConfig::with(9, 200);
    let clean = generate(&Difficulty::Clean.apply(base.clone()));
    let plain = generate(&base);
    assert_eq!(clean.us, plain.us);
    assert_eq!(clean.uz, plain.uz);
    let hard = generate(&Difficulty::Hard.apply(base));
    assert_eq!(hard.truth, plain.truth);
    let mut changed_imports = 0;
    for (h, p) in hard
        .us
        .iter()
        .chain(&hard.uz)
        .zip(plain.us.iter().chain(&plain.uz))
    {
        if h.header.type_code == "IMA" {
            changed_imports += usize::from(h != p);
        } else {
            assert_eq!(h, p, "{} is not an import leg", h.header.lrn);
        }
    }
    assert!(changed_imports > 20, "{changed_imports}");
    let dropped = hard
        .us
        .iter()
        .chain(&hard.uz)
        .filter(|d| d.header.type_code == "IMA" && d.transport.documents.is_empty())
        .count();
    assert!(dropped > 10, "{dropped}");
}
