//! The straightforward linker the optimised [`caravan_mirror::link::link`] must agree
//! with: string keys in hash maps, names normalised per leg and compared on every pair,
//! one thread, and every export compared with every import in the fuzzy tier (no
//! blocking index: the blocking rule is applied as a predicate). Apart from that it is
//! the linker as it stood before the columnar rewrite, so that the property tests in
//! `equivalence.rs` show the fast path changes nothing but the time.

use std::collections::HashMap;

use caravan_mirror::leg::Leg;
use caravan_mirror::link::{Evidence, Link, LinkConfig, Linkage, ReviewPair, ScoreWeights, Tier};
use caravan_mirror::similarity::NameSimilarity;
use chrono::NaiveDate;

fn base_confidence(tier: Tier) -> f64 {
    match tier {
        Tier::SharedReference => 0.99,
        Tier::TransportReference => 0.98,
        Tier::CommercialReference => 0.95,
        Tier::Fuzzy => 0.0,
    }
}

fn widest(config: &LinkConfig) -> i64 {
    [
        config.window_air,
        config.window_road,
        config.window_rail,
        config.window_sea,
    ]
    .iter()
    .map(|w| w.1)
    .max()
    .unwrap_or(90)
}

/// What the scorer needs of a leg, computed once.
#[derive(Debug, Clone)]
struct Prepared<'a> {
    leg: &'a Leg,
    exporter: Option<String>,
    importer: Option<String>,
    net: Option<f64>,
    gross: Option<f64>,
    packages: Option<u64>,
    value: Option<(f64, String)>,
    hs6: Vec<&'a str>,
}

fn prepare<'a>(leg: &'a Leg, names: &dyn NameSimilarity) -> Prepared<'a> {
    let currency = leg.items.iter().find_map(|i| i.currency.clone());
    let same_currency = leg
        .items
        .iter()
        .all(|i| i.currency.is_none() || i.currency == currency);
    let value: Option<f64> = leg.items.iter().map(|i| i.value).sum();
    Prepared {
        leg,
        exporter: leg.exporter_name.as_deref().map(|n| names.normalise(n)),
        importer: leg.importer_name.as_deref().map(|n| names.normalise(n)),
        net: leg.net_mass(),
        gross: leg.gross_mass(),
        packages: leg.packages(),
        value: value.zip(currency).filter(|_| same_currency),
        hs6: leg.hs6_codes(),
    }
}

/// 1 within ±5 %, falling linearly to 0 at a 50 % relative difference.
fn relative_similarity(a: f64, b: f64) -> f64 {
    let hi = a.abs().max(b.abs());
    if hi == 0.0 {
        return 1.0;
    }
    let rel = (a - b).abs() / hi;
    if rel <= 0.05 {
        1.0
    } else {
        (1.0 - (rel - 0.05) / 0.45).clamp(0.0, 1.0)
    }
}

/// 1 within ±15 % in log terms, 0 beyond a factor of 4.
fn ratio_similarity(a: f64, b: f64) -> f64 {
    if a <= 0.0 || b <= 0.0 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let d = (a / b).ln().abs();
    if d <= 0.15 {
        1.0
    } else {
        (1.0 - (d - 0.15) / (4f64.ln() - 0.15)).clamp(0.0, 1.0)
    }
}

fn jaccard(a: &[&str], b: &[&str]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.iter().filter(|x| b.contains(x)).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

fn date_gap(export: &Leg, import: &Leg) -> Option<i64> {
    Some((import.date? - export.date?).num_days())
}

/// Fuzzy score of two prepared legs with their field similarities. Symmetric in its
/// field similarities: swapping the two legs' roles gives the same value.
fn score_prepared(
    a: &Prepared<'_>,
    b: &Prepared<'_>,
    names: &dyn NameSimilarity,
    w: &ScoreWeights,
    window: (i64, i64),
    with_evidence: bool,
) -> (f64, Vec<Evidence>) {
    let mut parts: [(&'static str, f64, f64); 8] = [("", 0.0, 0.0); 8];
    let mut n = 0;
    let mut add = |field: &'static str, weight: f64, value: f64| {
        parts[n] = (field, weight, value);
        n += 1;
    };
    if let (Some(x), Some(y)) = (&a.exporter, &b.exporter) {
        add("exporter", w.exporter, names.similarity(x, y));
    }
    if let (Some(x), Some(y)) = (&a.importer, &b.importer) {
        add("importer", w.importer, names.similarity(x, y));
    }
    if let (Some(x), Some(y)) = (a.net, b.net) {
        add("net_mass", w.net_mass, relative_similarity(x, y));
    }
    if let (Some(x), Some(y)) = (a.gross, b.gross) {
        add("gross_mass", w.gross_mass, relative_similarity(x, y));
    }
    if let (Some(x), Some(y)) = (a.packages, b.packages) {
        add(
            "packages",
            w.packages,
            relative_similarity(x as f64, y as f64),
        );
    }
    if let (Some((x, cx)), Some((y, cy))) = (&a.value, &b.value)
        && cx == cy
    {
        add("value", w.value, ratio_similarity(*x, *y));
    }
    add("hs6", w.hs6, jaccard(&a.hs6, &b.hs6));
    let gap = match (a.leg.date, b.leg.date) {
        (Some(x), Some(y)) => Some((y - x).num_days().abs()),
        _ => None,
    };
    if let Some(g) = gap {
        let span = (window.1 - window.0).max(1) as f64;
        let inside = (g - window.0).max(0) as f64;
        add("date", w.date, (1.0 - inside / span).clamp(0.0, 1.0));
    }
    let parts = &parts[..n];
    let total: f64 = parts.iter().map(|p| p.1).sum();
    let score = if total > 0.0 {
        parts.iter().map(|p| p.1 * p.2).sum::<f64>() / total
    } else {
        0.0
    };
    if !with_evidence {
        return (score, Vec::new());
    }
    let mut evidence: Vec<Evidence> = parts
        .iter()
        .map(|(field, _, value)| Evidence::Similarity {
            field,
            value: *value,
        })
        .collect();
    if let Some(g) = gap {
        evidence.push(Evidence::DateGap(g));
    }
    (score, evidence)
}

/// Up to two of the rarest tokens (seen at least twice in the run) of a party name.
fn name_keys<'p>(name: Option<&'p str>, freq: &HashMap<&str, u32>) -> Vec<&'p str> {
    let Some(name) = name else { return Vec::new() };
    let mut tokens: Vec<(u32, &str)> = name
        .split(' ')
        .filter(|t| !t.is_empty())
        .filter_map(|t| freq.get(t).filter(|n| **n >= 2).map(|n| (*n, t)))
        .collect();
    tokens.sort_unstable();
    tokens.iter().take(2).map(|(_, t)| *t).collect()
}

/// A party side blocks two legs together when they share a key or either has none.
fn side_blocks(a: &[&str], b: &[&str]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|t| b.contains(t))
}

/// The fuzzy score of an export leg and an import leg, 0..1, with its evidence.
/// Union-find over exports (0..n) and imports (n..n+m).
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Groups {
        Groups {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

fn partners_consistent(export: &Leg, import: &Leg) -> bool {
    export
        .partner
        .as_deref()
        .is_none_or(|p| p == import.reference.reporter)
        && import
            .partner
            .as_deref()
            .is_none_or(|p| p == export.reference.reporter)
}

fn exact_dates_plausible(export: &Leg, import: &Leg, config: &LinkConfig) -> bool {
    match date_gap(export, import) {
        Some(gap) => gap >= -config.grace_days.min(5) && gap <= widest(config) + config.grace_days,
        None => true,
    }
}

type KeyIndex<'a> = HashMap<(&'static str, &'a str), Vec<usize>>;

fn exact_keys(leg: &Leg, export_side: bool) -> [Vec<(&'static str, &str)>; 3] {
    let mut shared = Vec::new();
    if let Some(u) = &leg.ucr {
        shared.push(("ucr", u.as_str()));
    }
    if export_side {
        // The export's own numbers, as an import would quote them.
        if let Some(m) = &leg.mrn {
            shared.push(("declaration_number", m.as_str()));
        }
    } else {
        for d in &leg.previous_docs {
            shared.push(("declaration_number", d.as_str()));
        }
    }
    let mut transport: Vec<(&'static str, &str)> = leg
        .transport_docs
        .iter()
        .map(|d| ("transport_document", d.as_str()))
        .collect();
    transport.extend(leg.containers.iter().map(|c| ("container", c.as_str())));
    let commercial = leg
        .invoice
        .iter()
        .map(|i| ("invoice", i.as_str()))
        .collect();
    [shared, transport, commercial]
}

const TIERS: [Tier; 3] = [
    Tier::SharedReference,
    Tier::TransportReference,
    Tier::CommercialReference,
];

/// Links `exports` (filed in one country) to `imports` (filed in the partner country).
pub(crate) fn link(
    exports: &[Leg],
    imports: &[Leg],
    names: &dyn NameSimilarity,
    config: &LinkConfig,
) -> Linkage {
    let (n, m) = (exports.len(), imports.len());
    // Exact tiers.
    let mut indexes: [KeyIndex<'_>; 3] = [HashMap::new(), HashMap::new(), HashMap::new()];
    for (i, leg) in imports.iter().enumerate() {
        for (tier, keys) in exact_keys(leg, false).into_iter().enumerate() {
            for key in keys {
                let entry = indexes[tier].entry(key).or_default();
                if entry.last() != Some(&i) {
                    entry.push(i);
                }
            }
        }
    }
    let mut groups = Groups::new(n + m);
    let mut edge_tier: Vec<Option<Tier>> = vec![None; n];
    let mut edge_keys: Vec<Vec<Evidence>> = vec![Vec::new(); n];
    for (e, leg) in exports.iter().enumerate() {
        for (tier, keys) in exact_keys(leg, true).into_iter().enumerate() {
            let mut candidates: Vec<usize> = Vec::new();
            let mut evidence = Vec::new();
            for key in &keys {
                if let Some(found) = indexes[tier].get(key) {
                    for &i in found {
                        let import = &imports[i];
                        if partners_consistent(leg, import)
                            && exact_dates_plausible(leg, import, config)
                        {
                            candidates.push(i);
                            evidence.push(Evidence::SharedKey {
                                kind: key.0,
                                value: key.1.to_owned(),
                            });
                        }
                    }
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
            if candidates.is_empty()
                || (TIERS[tier] == Tier::CommercialReference && candidates.len() > 1)
            {
                continue;
            }
            evidence.dedup();
            for &i in &candidates {
                groups.union(e, n + i);
            }
            edge_tier[e] = Some(TIERS[tier]);
            edge_keys[e] = evidence;
            break;
        }
    }
    let mut by_root: HashMap<usize, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for (e, tier) in edge_tier.iter().enumerate() {
        if tier.is_some() {
            let root = groups.find(e);
            by_root.entry(root).or_default().0.push(e);
        }
    }
    for i in 0..m {
        let root = groups.find(n + i);
        if let Some(group) = by_root.get_mut(&root) {
            group.1.push(i);
        }
    }
    let mut links: Vec<Link> = Vec::with_capacity(by_root.len());
    let mut linked_export = vec![false; n];
    let mut linked_import = vec![false; m];
    for (_, (group_exports, group_imports)) in by_root {
        let tier = group_exports
            .iter()
            .filter_map(|&e| edge_tier[e])
            .min()
            .unwrap_or(Tier::TransportReference);
        let mut evidence: Vec<Evidence> = group_exports
            .iter()
            .flat_map(|&e| edge_keys[e].iter().cloned())
            .collect();
        evidence.dedup();
        let quantities =
            quantities_evidence(&group_exports, &group_imports, exports, imports, config);
        let mut confidence = base_confidence(tier);
        if let Some(Evidence::Quantities { adds_up: false, .. }) = &quantities {
            // A consolidation whose masses do not add up is still the same documents,
            // but less certainly the same goods.
            if group_exports.len() > 1 || group_imports.len() > 1 {
                confidence *= 0.9;
            }
        }
        evidence.extend(quantities);
        for &e in &group_exports {
            linked_export[e] = true;
        }
        for &i in &group_imports {
            linked_import[i] = true;
        }
        links.push(Link {
            exports: group_exports,
            imports: group_imports,
            tier,
            confidence,
            evidence,
        });
    }

    if !config.fuzzy {
        links.sort_by(|a, b| {
            (a.exports.first(), a.imports.first()).cmp(&(b.exports.first(), b.imports.first()))
        });
        for link in &mut links {
            link.exports.sort_unstable();
            link.imports.sort_unstable();
        }
        return Linkage {
            links,
            review: Vec::new(),
            unmatched_exports: (0..n).filter(|&e| !linked_export[e]).collect(),
            unmatched_imports: (0..m).filter(|&i| !linked_import[i]).collect(),
        };
    }

    // Fuzzy tier.
    let prepared_exports: Vec<Option<Prepared<'_>>> = exports
        .iter()
        .enumerate()
        .map(|(e, leg)| (!linked_export[e]).then(|| prepare(leg, names)))
        .collect();
    let prepared_imports: Vec<Option<Prepared<'_>>> = imports
        .iter()
        .enumerate()
        .map(|(i, leg)| (!linked_import[i]).then(|| prepare(leg, names)))
        .collect();
    let mut freq: HashMap<&str, u32> = HashMap::new();
    for p in prepared_exports.iter().chain(&prepared_imports).flatten() {
        for name in [&p.exporter, &p.importer].into_iter().flatten() {
            for t in name.split(' ').filter(|t| !t.is_empty()) {
                *freq.entry(t).or_default() += 1;
            }
        }
    }
    fn keys<'p>(p: &'p Prepared<'_>, freq: &HashMap<&str, u32>) -> (Vec<&'p str>, Vec<&'p str>) {
        (
            name_keys(p.exporter.as_deref(), freq),
            name_keys(p.importer.as_deref(), freq),
        )
    }
    let import_keys: Vec<_> = prepared_imports
        .iter()
        .map(|p| p.as_ref().map(|p| keys(p, &freq)).unwrap_or_default())
        .collect();
    let widest = widest(config);
    let mut candidates: Vec<(f64, i64, usize, usize)> = Vec::new();
    // seen[i] == e + 1 when import i was already scored against export e.
    let mut seen: Vec<usize> = vec![0; m];
    for (e, p) in prepared_exports.iter().enumerate() {
        let Some(p) = p else { continue };
        let Some(date) = p.leg.date else { continue };
        let (kx, km) = keys(p, &freq);
        // HS6 first; HS4 as a second pass only for an export that found no linkable
        // candidate under its own codes (reclassified legs).
        for pass in 0..2 {
            let mut linkable = false;
            for (i, q) in prepared_imports.iter().enumerate() {
                let Some(q) = q else { continue };
                let Some(d) = q.leg.date else { continue };
                let gap = (d - date).num_days();
                let shares_code = p.hs6.iter().any(|a| {
                    q.hs6
                        .iter()
                        .any(|b| if pass == 0 { a == b } else { a[..4] == b[..4] })
                });
                if seen[i] == e + 1
                    || !(0..=widest).contains(&gap)
                    || !shares_code
                    || !side_blocks(&kx, &import_keys[i].0)
                    || !side_blocks(&km, &import_keys[i].1)
                {
                    continue;
                }
                seen[i] = e + 1;
                let window = config.pair_window(p.leg.mode, q.leg.mode);
                if gap < window.0 || gap > window.1 || !partners_consistent(p.leg, q.leg) {
                    continue;
                }
                let (score, _) = score_prepared(p, q, names, &config.weights, window, false);
                if score >= config.review_threshold {
                    linkable |= score >= config.link_threshold;
                    candidates.push((score, gap, e, i));
                }
            }
            if linkable {
                break;
            }
        }
    }
    candidates.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let mut review = Vec::new();
    let mut fuzzy_of_export: HashMap<usize, usize> = HashMap::new();
    for (score, _, e, i) in candidates {
        if linked_export[e] || linked_import[i] {
            continue;
        }
        if score >= config.link_threshold {
            let (Some(p), Some(q)) = (&prepared_exports[e], &prepared_imports[i]) else {
                continue;
            };
            let window = config.pair_window(p.leg.mode, q.leg.mode);
            let (_, evidence) = score_prepared(p, q, names, &config.weights, window, true);
            linked_export[e] = true;
            linked_import[i] = true;
            fuzzy_of_export.insert(e, links.len());
            links.push(Link {
                exports: vec![e],
                imports: vec![i],
                tier: Tier::Fuzzy,
                confidence: score,
                evidence,
            });
        } else {
            review.push(ReviewPair {
                export: e,
                import: i,
                score,
            });
        }
    }

    // Split parts without references: join a fuzzy link when the parties agree strongly
    // and the group's mass moves closer to the export's.
    let mut parts: Vec<(usize, usize)> = Vec::new();
    // Fuzzy links by HS6 of their export, sorted by export date, so that each leftover
    // import only meets the links it could belong to.
    let mut fuzzy_by_code: HashMap<&str, Vec<(NaiveDate, usize, usize)>> = HashMap::new();
    for (&e, &l) in &fuzzy_of_export {
        let Some(p) = &prepared_exports[e] else {
            continue;
        };
        let Some(date) = p.leg.date else { continue };
        for code in &p.hs6 {
            fuzzy_by_code.entry(code).or_default().push((date, e, l));
        }
    }
    for list in fuzzy_by_code.values_mut() {
        list.sort_unstable();
    }
    for (i, q) in prepared_imports.iter().enumerate() {
        let Some(q) = q else { continue };
        if linked_import[i] {
            continue;
        }
        let Some(q_date) = q.leg.date else { continue };
        let mut best: Option<(f64, usize)> = None;
        for code in &q.hs6 {
            let Some(list) = fuzzy_by_code.get(code) else {
                continue;
            };
            let earliest = q_date - chrono::Duration::days(widest);
            let start = list.partition_point(|(d, _, _)| *d < earliest);
            for &(_, e, l) in &list[start..] {
                let Some(p) = &prepared_exports[e] else {
                    continue;
                };
                let Some(gap) = date_gap(p.leg, q.leg) else {
                    continue;
                };
                if gap < 0 {
                    break;
                }
                let window = config.pair_window(p.leg.mode, q.leg.mode);
                if gap < window.0 || gap > window.1 {
                    continue;
                }
                let sim = |x: &Option<String>, y: &Option<String>| match (x, y) {
                    (Some(x), Some(y)) => names.similarity(x, y),
                    _ => 0.0,
                };
                let s = sim(&p.exporter, &q.exporter).min(sim(&p.importer, &q.importer));
                if s < config.split_name_similarity {
                    continue;
                }
                let (Some(x_net), Some(q_net)) = (p.net, q.net) else {
                    continue;
                };
                let group_net: f64 = links[l]
                    .imports
                    .iter()
                    .filter_map(|&k| imports[k].net_mass())
                    .sum::<f64>();
                if (group_net + q_net - x_net).abs() >= (group_net - x_net).abs() {
                    continue;
                }
                if best.is_none_or(|(b, bl)| s > b || (s == b && l < bl)) {
                    best = Some((s, l));
                }
            }
        }
        if let Some((_, l)) = best {
            parts.push((l, i));
        }
    }
    for (l, i) in parts {
        linked_import[i] = true;
        links[l].imports.push(i);
    }
    for l in fuzzy_of_export.values() {
        let link = &mut links[*l];
        if link.imports.len() > 1 {
            link.imports.sort_unstable();
            let q = quantities_evidence(&link.exports, &link.imports, exports, imports, config);
            link.evidence.extend(q);
        }
    }

    for link in &mut links {
        link.exports.sort_unstable();
        link.imports.sort_unstable();
    }
    links.sort_by(|a, b| {
        (a.exports.first(), a.imports.first()).cmp(&(b.exports.first(), b.imports.first()))
    });
    Linkage {
        links,
        review,
        unmatched_exports: (0..n).filter(|&e| !linked_export[e]).collect(),
        unmatched_imports: (0..m).filter(|&i| !linked_import[i]).collect(),
    }
}

fn quantities_evidence(
    group_exports: &[usize],
    group_imports: &[usize],
    exports: &[Leg],
    imports: &[Leg],
    config: &LinkConfig,
) -> Option<Evidence> {
    let export_net: Option<f64> = group_exports.iter().map(|&e| exports[e].net_mass()).sum();
    let import_net: Option<f64> = group_imports.iter().map(|&i| imports[i].net_mass()).sum();
    let (export_net, import_net) = (export_net?, import_net?);
    let hi = export_net.max(import_net);
    let adds_up =
        hi == 0.0 || (export_net - import_net).abs() / hi <= config.consolidation_tolerance;
    Some(Evidence::Quantities {
        export_net,
        import_net,
        adds_up,
    })
}
