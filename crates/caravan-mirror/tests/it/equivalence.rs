//! The optimised linker gives exactly the links of the straightforward one
//! ([`crate::reference::link`]) on small random corridors built to stress every path:
//! shared and colliding references in every tier, split and consolidated consignments,
//! reference-free legs that only the fuzzy tier and the split-part pass can pair, names
//! with noise, several codes per leg (HS4 siblings for the second blocking pass), legs
//! with no date, other partner countries, and mixed currencies.

use caravan_mirror::leg::{Flow, Leg, LegItem, Mode};
use caravan_mirror::link::{LinkConfig, link};
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;
use proptest::prelude::*;

const FIRMS: [&str; 6] = [
    "Acme Industrial Supply LLC",
    "ACME INDUSTRIAL SUPPLY",
    "Boreal Machine Works Inc",
    "«Samarqand Tekstil» MChJ",
    "SAMARQAND TEKSTILL",
    "«Buxoro Paxta» MChJ",
];
const CODES: [&str; 5] = ["847130", "847150", "847180", "520100", "520210"];
const MODES: [Mode; 4] = [Mode::Air, Mode::Sea, Mode::Rail, Mode::Road];

#[derive(Debug, Clone)]
struct LegSpec {
    day: Option<i64>,
    mode: usize,
    exporter: Option<usize>,
    importer: Option<usize>,
    codes: Vec<(usize, f64)>,
    usd: bool,
    ucr: Option<u8>,
    number: Option<u8>,
    doc: Option<u8>,
    containers: Vec<u8>,
    invoice: Option<u8>,
    partner: u8,
}

fn leg_spec() -> impl Strategy<Value = LegSpec> {
    (
        (
            proptest::option::weighted(0.95, 0i64..150),
            0usize..4,
            proptest::option::weighted(0.9, 0usize..6),
            proptest::option::weighted(0.9, 0usize..6),
            proptest::collection::vec((0usize..5, 1.0f64..2_000.0), 0..3),
            proptest::bool::weighted(0.8),
        ),
        (
            proptest::option::weighted(0.2, 0u8..8),
            proptest::option::weighted(0.2, 0u8..8),
            proptest::option::weighted(0.25, 0u8..8),
            proptest::collection::vec(0u8..8, 0..3),
            proptest::option::weighted(0.3, 0u8..6),
            0u8..8,
        ),
    )
        .prop_map(
            |(
                (day, mode, exporter, importer, codes, usd),
                (ucr, number, doc, containers, invoice, partner),
            )| {
                LegSpec {
                    day,
                    mode,
                    exporter,
                    importer,
                    codes,
                    usd,
                    ucr,
                    number,
                    doc,
                    containers,
                    invoice,
                    partner,
                }
            },
        )
}

fn build(reporter: &str, other: &str, flow: Flow, n: usize, s: &LegSpec) -> Leg {
    let date = s
        .day
        .map(|d| NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Duration::days(d));
    let items: Vec<LegItem> = s
        .codes
        .iter()
        .enumerate()
        .map(|(k, &(code, net))| LegItem {
            sequence: k as u32 + 1,
            ..crate::support::item(
                CODES[code],
                (net * 10.0).round() / 10.0,
                (net * 20.0).round(),
                if s.usd { "USD" } else { "UZS" },
            )
        })
        .collect();
    let mut leg = crate::support::leg(
        reporter,
        flow,
        format!("{reporter}{n}"),
        date.unwrap_or_default(),
        MODES[s.mode],
        ("", ""),
        crate::support::item("847130", 1.0, 1.0, "USD"),
    );
    leg.date = date;
    leg.items = items;
    leg.exporter_name = s.exporter.map(|f| FIRMS[f].to_owned());
    leg.importer_name = s.importer.map(|f| FIRMS[f].to_owned());
    leg.partner = match s.partner {
        0 => None,
        1 => Some("KZ".into()),
        _ => Some(other.into()),
    };
    leg.ucr = s.ucr.map(|u| format!("24US{u}"));
    let number = s.number.map(|k| format!("EXP{k}"));
    match flow {
        Flow::Export => leg.mrn = number,
        Flow::Import => leg.previous_docs = number.into_iter().collect(),
    }
    leg.transport_docs = s.doc.map(|d| format!("BOL{d}")).into_iter().collect();
    leg.containers = s.containers.iter().map(|c| format!("MSCU{c:07}")).collect();
    leg.containers.sort();
    leg.containers.dedup();
    leg.invoice = s.invoice.map(|i| format!("INV{i}"));
    leg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn optimised_linker_equals_the_reference(
        xs in proptest::collection::vec(leg_spec(), 0..40),
        ms in proptest::collection::vec(leg_spec(), 0..40),
        shift in 0i64..40,
    ) {
        let exports: Vec<Leg> = xs.iter().enumerate().map(|(n, s)| build("US", "UZ", Flow::Export, n, s)).collect();
        let imports: Vec<Leg> = ms
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let s = LegSpec { day: s.day.map(|d| d + shift), ..s.clone() };
                build("UZ", "US", Flow::Import, n, &s)
            })
            .collect();
        for fuzzy in [true, false] {
            let config = LinkConfig { fuzzy, ..LinkConfig::default() };
            let fast = link(&exports, &imports, &TokenSimilarity, &config);
            let slow = crate::reference::link(&exports, &imports, &TokenSimilarity, &config);
            prop_assert_eq!(fast, slow);
        }
    }

    /// The same for mirror images of one shipment list, where most pairs are real
    /// (the random lists above are mostly noise).
    #[test]
    fn optimised_linker_equals_the_reference_on_mirrored_legs(
        xs in proptest::collection::vec(leg_spec(), 0..40),
        drop_refs in proptest::collection::vec(any::<bool>(), 40),
        splits in proptest::collection::vec(0usize..3, 40),
        delay in 0i64..30,
    ) {
        let exports: Vec<Leg> = xs.iter().enumerate().map(|(n, s)| build("US", "UZ", Flow::Export, n, s)).collect();
        let mut imports = Vec::new();
        for (n, s) in xs.iter().enumerate() {
            let parts = splits[n] + 1;
            for part in 0..parts {
                let mut s = s.clone();
                s.day = s.day.map(|d| d + delay + part as i64);
                for c in &mut s.codes {
                    c.1 /= parts as f64;
                }
                if drop_refs[n] {
                    (s.ucr, s.doc, s.invoice, s.number) = (None, None, None, None);
                    s.containers.clear();
                }
                imports.push(build("UZ", "US", Flow::Import, imports.len(), &s));
            }
        }
        let config = LinkConfig::default();
        let fast = link(&exports, &imports, &TokenSimilarity, &config);
        let slow = crate::reference::link(&exports, &imports, &TokenSimilarity, &config);
        prop_assert_eq!(fast, slow);
    }
}

/// On the corridor at the hard difficulty, where every path carries real traffic: the
/// exact tiers, hundreds of fuzzy links, split parts and review pairs.
#[test]
fn optimised_linker_equals_the_reference_on_the_corridor() {
    use caravan_corridor::{CorridorConfig, Difficulty, generate};
    use caravan_mirror::leg::legs_from_drafts;
    use caravan_mirror::link::Tier;

    let config = Difficulty::Hard.apply(CorridorConfig::with(11, 2_500));
    let corridor = generate(&config);
    let (us, _) = legs_from_drafts("US", &corridor.us);
    let (uz, _) = legs_from_drafts("UZ", &corridor.uz);
    let flow = |legs: &[Leg], flow: Flow| -> Vec<Leg> {
        legs.iter().filter(|l| l.flow == flow).cloned().collect()
    };
    let config = LinkConfig::default();
    let mut split_fuzzy = 0;
    for (x_side, m_side) in [(&us, &uz), (&uz, &us)] {
        let exports = flow(x_side, Flow::Export);
        let imports = flow(m_side, Flow::Import);
        let fast = link(&exports, &imports, &TokenSimilarity, &config);
        let slow = crate::reference::link(&exports, &imports, &TokenSimilarity, &config);
        assert_eq!(fast, slow);
        let fuzzy = fast.links.iter().filter(|l| l.tier == Tier::Fuzzy).count();
        let exact = fast.links.len() - fuzzy;
        assert!(exact > 100 && fuzzy > 20, "exact {exact}, fuzzy {fuzzy}");
        split_fuzzy += fast
            .links
            .iter()
            .filter(|l| l.tier == Tier::Fuzzy && l.imports.len() > 1)
            .count();
    }
    assert!(split_fuzzy > 0, "no split parts attached in the fuzzy tier");
}
