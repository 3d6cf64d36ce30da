//! The columnar leg store gives the numbers of the leg-by-leg code: valuation over
//! [`LegColumns`] equals [`discrepancy::valuation`] on random links over random legs,
//! bad input included (absent values and masses, zero masses, legs without items,
//! missing rates, unknown or absent currencies, freight in a currency with no rate,
//! legs without a date), and every per-record issue is still reported.

use caravan_mirror::columns::{LegColumns, RateColumns};
use caravan_mirror::discrepancy::{DiscrepancyContext, Tariff, ValuationConfig, valuation};
use caravan_mirror::leg::{Flow, Leg, Mode};
use caravan_mirror::link::{Link, LinkConfig, Tier};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;
use proptest::prelude::*;

/// USD (the base), UZS (rates for part of the period), EUR (no rate), a code that is
/// not ISO 4217, and a text too long for a packed code.
const CURRENCIES: [&str; 5] = ["USD", "UZS", "EUR", "XQZ", "US DOLLARS"];
const MODES: [Mode; 5] = [Mode::Air, Mode::Sea, Mode::Rail, Mode::Road, Mode::Other];

#[derive(Debug, Clone)]
struct ItemSpec {
    value: Option<u32>,
    customs: Option<u32>,
    net: Option<u8>,
    currency: Option<usize>,
}

#[derive(Debug, Clone)]
struct LegSpec {
    day: Option<i64>,
    accepted: Option<i64>,
    mode: usize,
    freight: Option<(u16, Option<usize>)>,
    items: Vec<ItemSpec>,
}

fn item_spec() -> impl Strategy<Value = ItemSpec> {
    (
        proptest::option::weighted(0.9, 0u32..50_000),
        proptest::option::weighted(0.5, 1u32..50_000),
        proptest::option::weighted(0.9, 0u8..20),
        proptest::option::weighted(0.95, proptest::sample::select(vec![0, 0, 0, 1, 1, 2, 3, 4])),
    )
        .prop_map(|(value, customs, net, currency)| ItemSpec {
            value,
            customs,
            net,
            currency,
        })
}

fn leg_spec() -> impl Strategy<Value = LegSpec> {
    (
        proptest::option::weighted(0.95, 0i64..60),
        proptest::option::weighted(0.7, 0i64..60),
        0usize..5,
        proptest::option::weighted(
            0.5,
            (
                0u16..3_000,
                proptest::option::weighted(0.9, proptest::sample::select(vec![0, 0, 1, 2])),
            ),
        ),
        proptest::collection::vec(item_spec(), 0..4),
    )
        .prop_map(|(day, accepted, mode, freight, items)| LegSpec {
            day,
            accepted,
            mode,
            freight,
            items,
        })
}

fn build(reporter: &str, flow: Flow, n: usize, s: &LegSpec) -> Leg {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let date = |d: Option<i64>| d.map(|d| start + chrono::Duration::days(d));
    let mut leg = crate::support::leg(
        reporter,
        flow,
        format!("{reporter}{n}"),
        start,
        MODES[s.mode],
        ("A", "B"),
        crate::support::item("847130", 1.0, 1.0, "USD"),
    );
    leg.date = date(s.day);
    leg.accepted = date(s.accepted);
    leg.freight = s
        .freight
        .map(|(amount, c)| (f64::from(amount), c.map(|c| CURRENCIES[c].to_owned())));
    leg.items = s
        .items
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let mut item = crate::support::item("847130", 1.0, 1.0, "USD");
            item.sequence = k as u32 + 1;
            item.value = i.value.map(f64::from);
            item.customs_value = i.customs.map(f64::from);
            item.net_mass = i.net.map(|n| f64::from(n) * 2.5);
            item.currency = i.currency.map(|c| CURRENCIES[c].to_owned());
            item
        })
        .collect();
    leg
}

/// Partitions of the first legs of each side into links of 1 to 3 legs a side.
fn links(n: usize, m: usize, shapes: &[(u8, u8)]) -> Vec<Link> {
    let (mut e, mut i) = (0, 0);
    let mut out = Vec::new();
    for &(a, b) in shapes {
        let (a, b) = (usize::from(a), usize::from(b));
        if e + a > n || i + b > m {
            break;
        }
        out.push(Link {
            exports: (e..e + a).collect(),
            imports: (i..i + b).collect(),
            tier: Tier::TransportReference,
            confidence: 0.98,
            evidence: Vec::new(),
        });
        e += a;
        i += b;
    }
    out
}

fn rates() -> Rates {
    let mut rates = Rates::empty("USD");
    let d = |day: u32| NaiveDate::from_ymd_opt(2024, 1, day).expect("date");
    // UZS has rates from 5 to 20 January only, with a gap from 12 to 14: days after
    // the 27th, before the 5th, and past the staleness limit have none.
    for day in (5..=11).chain(15..=20) {
        rates.insert("UZS", d(day), 12_000.0 + f64::from(day) * 10.0);
    }
    // Not ISO 4217: the table refuses it whatever the rates say.
    rates.insert("XQZ", d(1), 3.0);
    rates
}

static LINK: std::sync::LazyLock<LinkConfig> = std::sync::LazyLock::new(LinkConfig::default);

fn context<'a>(rates: &'a Rates, tariff: &'a Tariff) -> DiscrepancyContext<'a> {
    DiscrepancyContext {
        rates,
        tariff,
        valuation: &ValuationConfig {
            factor_air_sea: 1.08,
            factor_rail_road: 1.10,
        },
        link: &LINK,
        names: &TokenSimilarity,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn columnar_valuation_equals_the_leg_by_leg_one(
        xs in proptest::collection::vec(leg_spec(), 0..12),
        ms in proptest::collection::vec(leg_spec(), 0..12),
        shapes in proptest::collection::vec((1u8..4, 1u8..4), 1..8),
    ) {
        let exports: Vec<Leg> =
            xs.iter().enumerate().map(|(n, s)| build("US", Flow::Export, n, s)).collect();
        let imports: Vec<Leg> =
            ms.iter().enumerate().map(|(n, s)| build("UZ", Flow::Import, n, s)).collect();
        let (rates, tariff) = (rates(), Tariff::default());
        let ctx = context(&rates, &tariff);
        let columns = LegColumns::new(&exports, &imports);
        let rate_columns = RateColumns::of(&rates);
        for link in links(exports.len(), imports.len(), &shapes) {
            let slow = valuation(&link, &exports, &imports, &ctx);
            let fast = columns.valuation(&link, &rate_columns, &ctx);
            prop_assert_eq!(fast, slow);
        }
    }
}

#[test]
fn columnar_valuation_reports_each_bad_record() {
    let spec = |currency: usize, net: Option<u8>| LegSpec {
        day: Some(30),
        accepted: Some(30),
        mode: 0,
        freight: None,
        items: vec![ItemSpec {
            value: Some(1_000),
            customs: None,
            net,
            currency: Some(currency),
        }],
    };
    // UZS on 31 January: past the staleness limit of the last rate (20 January).
    let exports = vec![build("US", Flow::Export, 0, &spec(1, Some(4)))];
    let imports = vec![build("UZ", Flow::Import, 0, &spec(0, None))];
    let (rates, tariff) = (rates(), Tariff::default());
    let ctx = context(&rates, &tariff);
    let columns = LegColumns::new(&exports, &imports);
    let d = columns.valuation(&links(1, 1, &[(1, 1)])[0], &RateColumns::of(&rates), &ctx);
    let codes: Vec<&str> = d.issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, ["MIRROR_RATE_MISSING", "MIRROR_MASS_ABSENT"]);
    assert_eq!(d.issues[0].leg.lrn, "US0");
    assert_eq!(d.issues[1].leg.lrn, "UZ0");
    assert_eq!(d.export_fob, None);
    assert_eq!(d.log_gap, None);
    assert_eq!(d.quantity_agreement, None);
}
