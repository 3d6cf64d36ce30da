//! Linkage invariants, property-tested on small random corridors built directly as legs:
//! every leg ends in exactly one place (a link or the unmatched list), fuzzy links are
//! one-to-one apart from split parts, scoring is symmetric, and the result is
//! deterministic.

use caravan_mirror::leg::{Flow, Leg, Mode};
use caravan_mirror::link::{LinkConfig, Tier, link, score_pair};
use caravan_mirror::similarity::TokenSimilarity;
use chrono::NaiveDate;
use proptest::prelude::*;

const FIRMS: [&str; 4] = [
    "Acme Industrial Supply LLC",
    "Boreal Machine Works Inc",
    "«Samarqand Tekstil» MChJ",
    "«Buxoro Paxta» MChJ",
];
const CODES: [&str; 3] = ["847130", "847150", "520100"];

#[derive(Debug, Clone)]
struct Spec {
    day: i64,
    firm_x: usize,
    firm_m: usize,
    code: usize,
    net: f64,
    container: Option<u8>,
    air: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0i64..200,
        0usize..4,
        0usize..4,
        0usize..3,
        10.0f64..10_000.0,
        proptest::option::of(0u8..6),
        any::<bool>(),
    )
        .prop_map(|(day, firm_x, firm_m, code, net, container, air)| Spec {
            day,
            firm_x,
            firm_m,
            code,
            net,
            container,
            air,
        })
}

fn leg(reporter: &str, flow: Flow, n: usize, s: &Spec, shift: i64) -> Leg {
    let date =
        NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Duration::days(s.day + shift);
    let mut leg = crate::support::leg(
        reporter,
        flow,
        format!("{reporter}{n}"),
        date,
        if s.air { Mode::Air } else { Mode::Sea },
        (FIRMS[s.firm_x], FIRMS[s.firm_m]),
        crate::support::item(CODES[s.code], s.net, s.net * 20.0, "USD"),
    );
    leg.partner = Some(if reporter == "US" { "UZ" } else { "US" }.into());
    leg.containers = s
        .container
        .map(|c| format!("MSCU{c:07}"))
        .into_iter()
        .collect();
    leg
}

fn corridor(specs: &[Spec], drops: &[bool]) -> (Vec<Leg>, Vec<Leg>) {
    let exports = specs
        .iter()
        .enumerate()
        .map(|(n, s)| leg("US", Flow::Export, n, s, 0))
        .collect();
    let imports = specs
        .iter()
        .enumerate()
        .filter(|(n, _)| !drops.get(*n).copied().unwrap_or(false))
        .map(|(n, s)| leg("UZ", Flow::Import, n, s, if s.air { 4 } else { 25 }))
        .collect();
    (exports, imports)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn every_leg_is_in_exactly_one_place(specs in proptest::collection::vec(spec(), 0..30), drops in proptest::collection::vec(any::<bool>(), 0..30)) {
        let (exports, imports) = corridor(&specs, &drops);
        let config = LinkConfig::default();
        let linkage = link(&exports, &imports, &TokenSimilarity, &config);
        let mut export_seen = vec![0; exports.len()];
        let mut import_seen = vec![0; imports.len()];
        for l in &linkage.links {
            prop_assert!(!l.exports.is_empty() && !l.imports.is_empty());
            prop_assert!((0.0..=1.0).contains(&l.confidence));
            if l.tier == Tier::Fuzzy {
                // Fuzzy links are one export each; only split parts make them 1:n.
                prop_assert_eq!(l.exports.len(), 1);
                prop_assert!(l.confidence >= config.link_threshold);
            }
            for &e in &l.exports { export_seen[e] += 1; }
            for &i in &l.imports { import_seen[i] += 1; }
        }
        for &e in &linkage.unmatched_exports { export_seen[e] += 1; }
        for &i in &linkage.unmatched_imports { import_seen[i] += 1; }
        prop_assert!(export_seen.iter().all(|&n| n == 1), "{:?}", export_seen);
        prop_assert!(import_seen.iter().all(|&n| n == 1), "{:?}", import_seen);
        // Review pairs are never pairs of linked legs.
        for r in &linkage.review {
            prop_assert!(r.score < config.link_threshold && r.score >= config.review_threshold);
        }
        // Deterministic.
        prop_assert_eq!(&linkage, &link(&exports, &imports, &TokenSimilarity, &config));
    }

    #[test]
    fn scoring_is_symmetric(a in spec(), b in spec()) {
        let x = leg("US", Flow::Export, 0, &a, 0);
        let m = leg("UZ", Flow::Import, 1, &b, 3);
        let config = LinkConfig::default();
        let (ab, _) = score_pair(&x, &m, &TokenSimilarity, &config);
        let (ba, _) = score_pair(&m, &x, &TokenSimilarity, &config);
        prop_assert!((ab - ba).abs() < 1e-12, "{} vs {}", ab, ba);
        prop_assert!((0.0..=1.0).contains(&ab));
    }

    #[test]
    fn a_shared_container_links_whatever_else_differs(a in spec(), b in spec()) {
        let mut x = leg("US", Flow::Export, 0, &a, 0);
        let mut m = leg("UZ", Flow::Import, 0, &b, 0);
        x.date = Some(NaiveDate::from_ymd_opt(2024, 5, 1).expect("date"));
        m.date = Some(NaiveDate::from_ymd_opt(2024, 5, 20).expect("date"));
        x.containers = vec!["MSCU1234565".into()];
        m.containers = vec!["MSCU1234565".into()];
        let linkage = link(&[x], &[m], &TokenSimilarity, &LinkConfig::default());
        prop_assert_eq!(linkage.links.len(), 1);
        prop_assert_eq!(linkage.links[0].tier, Tier::TransportReference);
    }
}

#[test]
fn a_split_consignment_is_one_link_of_one_export_and_its_parts() {
    let s = Spec {
        day: 10,
        firm_x: 0,
        firm_m: 2,
        code: 0,
        net: 900.0,
        container: Some(1),
        air: false,
    };
    let x = leg("US", Flow::Export, 0, &s, 0);
    let parts: Vec<Leg> = (0..3)
        .map(|k| {
            let mut m = leg(
                "UZ",
                Flow::Import,
                k,
                &Spec {
                    net: 300.0,
                    ..s.clone()
                },
                25 + k as i64,
            );
            m.containers = x.containers.clone();
            m
        })
        .collect();
    let linkage = link(
        std::slice::from_ref(&x),
        &parts,
        &TokenSimilarity,
        &LinkConfig::default(),
    );
    assert_eq!(linkage.links.len(), 1);
    assert_eq!(linkage.links[0].imports, vec![0, 1, 2]);
    assert_eq!(linkage.links[0].cardinality(), "1:n");

    // The same split without any shared reference: fuzzy link plus split parts.
    let bare: Vec<Leg> = parts
        .iter()
        .map(|m| Leg {
            containers: Vec::new(),
            ..m.clone()
        })
        .collect();
    let x_bare = Leg {
        containers: Vec::new(),
        ..x
    };
    let linkage = link(&[x_bare], &bare, &TokenSimilarity, &LinkConfig::default());
    assert_eq!(linkage.links.len(), 1, "{linkage:#?}");
    assert_eq!(linkage.links[0].tier, Tier::Fuzzy);
    assert_eq!(linkage.links[0].imports, vec![0, 1, 2]);
}

#[test]
fn a_leg_with_no_counterpart_stays_unmatched() {
    let a = Spec {
        day: 10,
        firm_x: 0,
        firm_m: 2,
        code: 0,
        net: 900.0,
        container: None,
        air: true,
    };
    let b = Spec {
        firm_x: 1,
        firm_m: 3,
        code: 2,
        net: 50.0,
        ..a.clone()
    };
    let x = leg("US", Flow::Export, 0, &a, 0);
    let m = leg("UZ", Flow::Import, 0, &b, 4);
    let linkage = link(&[x], &[m], &TokenSimilarity, &LinkConfig::default());
    assert!(linkage.links.is_empty());
    assert_eq!(linkage.unmatched_exports, vec![0]);
    assert_eq!(linkage.unmatched_imports, vec![0]);
}
