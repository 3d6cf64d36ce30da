//! Discrepancies on hand-built links: the CIF/FOB arithmetic, and bad input reported per
//! record instead of becoming zero.

use caravan_mirror::discrepancy::{
    DiscrepancyContext, FactorSource, Tariff, ValuationConfig, discrepancy,
};
use caravan_mirror::leg::{Flow, Leg, Mode};
use caravan_mirror::link::{Link, LinkConfig, Tier};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;

fn leg(reporter: &str, flow: Flow, value: f64, currency: &str) -> Leg {
    crate::support::leg(
        reporter,
        flow,
        format!("{reporter}-1"),
        NaiveDate::from_ymd_opt(2024, 4, 2).expect("date"),
        Mode::Air,
        ("Acme Industrial Supply LLC", "«Samarqand Tekstil» MChJ"),
        crate::support::item("847130", 100.0, value, currency),
    )
}

fn one_to_one() -> Link {
    Link {
        exports: vec![0],
        imports: vec![0],
        tier: Tier::Fuzzy,
        confidence: 0.9,
        evidence: Vec::new(),
    }
}

fn run(x: Leg, m: Leg, rates: &Rates) -> caravan_mirror::discrepancy::Discrepancy {
    let tariff = Tariff::default();
    let ctx = DiscrepancyContext {
        rates,
        tariff: &tariff,
        valuation: &ValuationConfig::default(),
        link: &LinkConfig::default(),
        names: &TokenSimilarity,
    };
    discrepancy(&one_to_one(), &[x], &[m], &ctx)
}

#[test]
fn declared_freight_gives_the_exact_factor_and_the_gap() {
    let x = leg("US", Flow::Export, 1_000.0, "USD");
    let mut m = leg("UZ", Flow::Import, 500.0, "USD");
    m.freight = Some((50.0, Some("USD".into())));
    let d = run(x, m, &Rates::empty("USD"));
    assert_eq!(d.factor_source, Some(FactorSource::DeclaredFreight));
    assert!((d.cif_factor.expect("factor") - 1.1).abs() < 1e-9);
    assert!((d.log_gap.expect("gap") - 0.5f64.ln()).abs() < 1e-9);
    assert_eq!(d.quantity_agreement, Some(1.0));
    assert!((d.weighted_gap.expect("gap_w") + 500.0).abs() < 1e-9);
    assert!(d.issues.is_empty());
}

#[test]
fn without_freight_the_mode_factor_is_used_and_currencies_convert() {
    let x = leg("US", Flow::Export, 1_000.0, "USD");
    let m = leg("UZ", Flow::Import, 1_080.0 * 12_000.0, "UZS");
    let mut rates = Rates::empty("USD");
    rates.insert(
        "UZS",
        NaiveDate::from_ymd_opt(2024, 4, 1).expect("date"),
        12_000.0,
    );
    let d = run(x, m, &rates);
    assert_eq!(d.factor_source, Some(FactorSource::ModeDefault));
    assert!((d.import_fob.expect("fob") - 1_000.0).abs() < 1e-6);
    assert!(d.log_gap.expect("gap").abs() < 1e-9);
}

#[test]
fn a_missing_rate_is_reported_not_zero() {
    let x = leg("US", Flow::Export, 1_000.0, "USD");
    let m = leg("UZ", Flow::Import, 1_000.0, "EUR");
    let d = run(x, m, &Rates::empty("USD"));
    assert_eq!(d.log_gap, None);
    assert_eq!(d.import_fob, None);
    let codes: Vec<&str> = d.issues.iter().map(|i| i.code).collect();
    assert!(codes.contains(&"MIRROR_RATE_MISSING"), "{codes:?}");
    assert_eq!(d.issues[0].leg.lrn, "UZ-1");
}

#[test]
fn unknown_currency_zero_quantity_and_unit_mismatch_are_reported() {
    let x = leg("US", Flow::Export, 1_000.0, "USD");
    let m = leg("UZ", Flow::Import, 1_000.0, "XYZ");
    let d = run(x, m, &Rates::empty("USD"));
    assert!(d.issues.iter().any(|i| i.code == "MIRROR_CURRENCY_UNKNOWN"));

    let d = with_import(|m| m.items[0].quantity = Some((0.0, "NAR".into())));
    assert_eq!(d.quantity_gap, None);
    assert!(d.issues.iter().any(|i| i.code == "MIRROR_QUANTITY_ZERO"));

    let d = with_import(|m| m.items[0].quantity = Some((10.0, "KGM".into())));
    assert_eq!(d.quantity_gap, None);
    assert!(d.issues.iter().any(|i| i.code == "MIRROR_UNIT_MISMATCH"));

    let d = with_import(|m| {
        m.items[0].quantity = None;
        m.items[0].value = None;
    });
    assert!(d.issues.iter().any(|i| i.code == "MIRROR_QUANTITY_ABSENT"));
    assert!(d.issues.iter().any(|i| i.code == "MIRROR_VALUE_ABSENT"));
    assert_eq!(d.log_gap, None);
}

/// A USD 1,000 export against a USD 1,000 import edited by `edit`.
fn with_import(edit: impl FnOnce(&mut Leg)) -> caravan_mirror::discrepancy::Discrepancy {
    let x = leg("US", Flow::Export, 1_000.0, "USD");
    let mut m = leg("UZ", Flow::Import, 1_000.0, "USD");
    edit(&mut m);
    run(x, m, &Rates::empty("USD"))
}
