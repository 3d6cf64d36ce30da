//! E5, entity resolution (spec §10.2): synthetic declaration parties with known truth —
//! seeded person names under the E2 perturbations (typos, reordering, dropped tokens,
//! re-romanisation), identifiers that are sometimes missing, addresses that are sometimes
//! reworded — scored by pairwise precision and recall of the clusters; and the properties
//! that make cluster ids usable as keys: determinism, order independence within a batch,
//! and ids that only change through a recorded merge.

use caravan_screen::eval::{SplitMix64, innocent_name, perturb};
use caravan_screen::model::Identifier;
use caravan_screen::resolve::{
    ClusterId, FsModel, PartyRecord, ResolveConfig, Resolver, pairwise_precision_recall,
};
use proptest::prelude::*;
use std::collections::HashMap;

const STREETS: &[&str] = &[
    "Amir Temur",
    "Navoiy",
    "Mustaqillik",
    "Bobur",
    "Chilonzor",
    "Yunusobod",
    "Main Street",
    "Harbor Blvd",
    "Industrial Park",
    "Sergeli",
    "Olmazor",
    "Mirobod",
];
const CITIES: &[(&str, &str)] = &[
    ("Tashkent", "UZ"),
    ("Samarkand", "UZ"),
    ("Bukhara", "UZ"),
    ("Houston", "US"),
    ("Newark", "US"),
    ("Long Beach", "US"),
];

/// `entities` true parties, each appearing on 1–4 declarations; returns records and the
/// true entity of each.
fn synthetic(entities: usize, seed: u64) -> (Vec<PartyRecord>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed);
    let mut records = Vec::new();
    let mut truth = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for e in 0..entities {
        // One party in eight is a namesake of an earlier, different party (the hard case:
        // only identifiers, country and address can tell them apart).
        let name = if !names.is_empty() && rng.chance(0.125) {
            rng.pick(&names).clone()
        } else {
            innocent_name(&mut rng)
        };
        names.push(name.clone());
        let (city, country) = *rng.pick(CITIES);
        let street = *rng.pick(STREETS);
        let number = 1 + rng.below(120);
        let scheme = if country == "UZ" { "UZ_STIR" } else { "US_EIN" };
        let id_value = format!("{:09}", rng.next_u64() % 1_000_000_000);
        let appearances = 1 + rng.below(4);
        for a in 0..appearances {
            let written = if a == 0 || rng.chance(0.3) {
                name.clone()
            } else {
                perturb(&name, &mut rng).0
            };
            let identifiers = if rng.chance(0.6) {
                Identifier::new(scheme, &id_value, Some(country.to_owned()))
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            };
            let address = match rng.below(4) {
                0 => None,
                1 => Some(format!("{street} street {number}, {city}")),
                _ => Some(format!("{number} {street}, {city}")),
            };
            records.push(PartyRecord {
                record_id: format!("D{:05}-{a}", e),
                name: written,
                country: rng.chance(0.9).then(|| country.to_owned()),
                identifiers,
                address,
            });
            truth.push(e);
        }
    }
    (records, truth)
}

fn labels(resolver: &Resolver, records: &[PartyRecord]) -> Vec<ClusterId> {
    records
        .iter()
        .map(|r| resolver.cluster_of(&r.record_id).expect("resolved"))
        .collect()
}

/// The bar. One party in eight is a namesake of another, and an appearance with neither
/// identifier nor address (about one in ten) carries nothing that tells namesakes apart, so
/// perfect precision is unattainable on this set; measured at the seed below: precision
/// 0.930, recall 0.975. The bars (0.90, 0.95) sit just under that so a regression in
/// blocking, EM or the chaining guard fails the test. Without the guard's average-linkage
/// rule precision fell to 0.818; without the identifier cannot-link rule to 0.677.
#[test]
fn e5_pairwise_precision_recall_on_synthetic_parties() {
    let (records, truth) = synthetic(400, 0xE5);
    let resolver = Resolver::resolve(&records, ResolveConfig::default()).expect("resolves");
    let (precision, recall) = pairwise_precision_recall(&labels(&resolver, &records), &truth);
    println!(
        "E5 synthetic: {} records, {} entities, {} clusters, pairwise precision {precision:.3} recall {recall:.3}",
        records.len(),
        400,
        resolver.clusters().len()
    );
    assert!(precision >= 0.90, "precision {precision:.3}");
    assert!(recall >= 0.95, "recall {recall:.3}");
}

#[test]
fn em_learns_that_agreeing_identifiers_are_evidence_of_a_match() {
    let (records, _) = synthetic(300, 7);
    let model = FsModel::estimate(&records, &ResolveConfig::default()).expect("estimates");
    // Identifier agreement and exact names are far likelier among matches.
    assert!(model.m[1][0] / model.u[1][0] > 10.0, "{model:?}");
    assert!(model.m[0][0] / model.u[0][0] > 10.0, "{model:?}");
    // A name that is not similar at all is evidence against.
    assert!(model.m[0][4] < model.u[0][4], "{model:?}");
}

#[test]
fn the_chaining_guard_keeps_conflicting_identifiers_apart() {
    let textile = |record_id: String, stir: &str, address: &str| PartyRecord {
        record_id,
        name: "Tashkent Textile Trading".into(),
        country: Some("UZ".into()),
        identifiers: Identifier::new("UZ_STIR", stir, None).into_iter().collect(),
        address: Some(address.into()),
    };
    let mut records = Vec::new();
    // Two different companies with one name and different STIRs, many appearances each.
    for i in 0..6 {
        records.push(textile(format!("a{i}"), "301234567", "12 Navoiy, Tashkent"));
        records.push(textile(format!("b{i}"), "309999999", "40 Bobur, Samarkand"));
    }
    let (filler, _) = synthetic(200, 3);
    records.extend(filler);
    let resolver = Resolver::resolve(&records, ResolveConfig::default()).expect("resolves");
    let a = resolver.cluster_of("a0").expect("a0");
    let b = resolver.cluster_of("b0").expect("b0");
    assert_ne!(a, b);
    for i in 1..6 {
        assert_eq!(resolver.cluster_of(&format!("a{i}")), Some(a));
        assert_eq!(resolver.cluster_of(&format!("b{i}")), Some(b));
    }
    // A record with the name but no identifier or address cannot chain the two together.
    let mut more = Resolver::resolve(&records, ResolveConfig::default()).expect("resolves");
    more.add_batch(&[PartyRecord {
        record_id: "c0".into(),
        name: "Tashkent Textile Trading".into(),
        country: Some("UZ".into()),
        identifiers: Vec::new(),
        address: None,
    }])
    .expect("adds");
    assert_ne!(more.cluster_of("a0"), more.cluster_of("b0"));
}

#[test]
fn bad_batches_are_refused_whole() {
    let (records, _) = synthetic(20, 1);
    let mut resolver = Resolver::resolve(&records, ResolveConfig::default()).expect("resolves");
    let before = resolver.assignments();
    let mut batch = vec![records[0].clone()];
    batch[0].record_id = "fresh".into();
    batch.push(records[1].clone());
    let err = resolver
        .add_batch(&batch)
        .expect_err("duplicate of an earlier batch");
    assert_eq!(err.code, "duplicate_record_id");
    let dup = vec![batch[0].clone(), batch[0].clone()];
    assert_eq!(
        resolver.add_batch(&dup).expect_err("dup").code,
        "duplicate_record_id"
    );
    let mut blank = batch[0].clone();
    blank.name = " «» ".into();
    assert_eq!(
        resolver.add_batch(&[blank]).expect_err("name").code,
        "unusable_name"
    );
    let mut no_id = batch[0].clone();
    no_id.record_id = " ".into();
    assert_eq!(
        resolver.add_batch(&[no_id]).expect_err("id").code,
        "empty_record_id"
    );
    assert_eq!(resolver.assignments(), before);
    assert_eq!(resolver.cluster_of("fresh"), None);
}

fn small_config() -> ResolveConfig {
    ResolveConfig {
        u_sample_pairs: 3_000,
        em_iterations: 15,
        ..ResolveConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Within one batch the partition and the ids do not depend on input order, and two
    /// runs give the same result.
    #[test]
    fn batch_result_is_order_independent_and_deterministic(seed in 0u64..1_000, shuffle in any::<u64>()) {
        let (records, _) = synthetic(40, seed);
        let mut shuffled = records.clone();
        let mut rng = SplitMix64::new(shuffle);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i + 1));
        }
        let a = Resolver::resolve(&records, small_config()).expect("resolves");
        let b = Resolver::resolve(&shuffled, small_config()).expect("resolves");
        let again = Resolver::resolve(&records, small_config()).expect("resolves");
        prop_assert_eq!(a.model(), b.model());
        prop_assert_eq!(a.clusters(), b.clusters());
        prop_assert_eq!(a.clusters(), again.clusters());
    }

    /// Adding records never changes an existing record's cluster id except through a
    /// recorded merge into an older id; ids are never reused for a new cluster.
    #[test]
    fn later_batches_keep_ids_except_recorded_merges(seed in 0u64..1_000, split in 1usize..4) {
        let (records, _) = synthetic(45, seed);
        let cut = records.len() * split / 4;
        let model = FsModel::estimate(&records, &small_config()).expect("estimates");
        let mut resolver = Resolver::new(model, small_config());
        resolver.add_batch(&records[..cut]).expect("first");
        let before: HashMap<String, ClusterId> = resolver.assignments().into_iter().collect();
        let old_ids: std::collections::HashSet<ClusterId> = before.values().copied().collect();
        resolver.add_batch(&records[cut..]).expect("second");
        let merged_into: HashMap<ClusterId, ClusterId> = resolver
            .merges()
            .iter()
            .map(|m| (m.absorbed, m.kept))
            .collect();
        for m in resolver.merges() {
            prop_assert!(m.kept < m.absorbed);
        }
        for (record, old) in &before {
            let now = resolver.cluster_of(record).expect("known");
            let mut id = *old;
            while let Some(&next) = merged_into.get(&id) {
                id = next;
            }
            prop_assert_eq!(now, id, "record {} moved from {} to {} without a merge", record, old, now);
        }
        for (record, id) in resolver.assignments() {
            if !before.contains_key(&record) && !old_ids.contains(&id) {
                // A new cluster's id is a new record's sequence, never an old one's.
                prop_assert!(id.0 as usize >= cut, "{} reuses an old id", id);
            }
        }
    }
}
