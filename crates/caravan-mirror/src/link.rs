//! Linkage: which import legs at the partner are the same shipment as an export leg here.
//!
//! Tiers follow `spec/analytics.md` ("Link keys"): shared references (UCR, the export
//! declaration number quoted on the import), transport references (transport documents,
//! containers), commercial references (invoice number), then fuzzy linkage with blocking
//! on HS6 (HS4 as a second pass), partner countries and a mode-dependent date window.
//!
//! - Exact tiers build a graph: an export takes the edges of the first tier that yields
//!   any candidate, and connected components become links, so split (1:n) and
//!   consolidated (n:1, n:m) consignments come out as one link. Tier 3 (invoice) links
//!   only a unique candidate, as the spec asks.
//! - Fuzzy candidates are scored by [`score_pair`], a weighted mean of symmetric
//!   per-field similarities (missing fields drop out of both numerator and weights), and
//!   assigned one-to-one greedily by descending score, ties to the smaller date gap, then
//!   to input order. Pairs between the review and link thresholds are offered for review.
//! - A second fuzzy pass attaches the remaining parts of a split consignment whose
//!   references were lost: same parties (strong name agreement), same HS6, inside the
//!   window, and only while the group's net mass moves closer to the export's. This goes
//!   beyond the spec's "consolidations need a tier 1 or 2 key" on purpose: without it a
//!   split whose legs lost their bills of lading can never be linked.
//!
//! The result is deterministic for a given input order and configuration.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::leg::{Leg, Mode};
use crate::similarity::NameSimilarity;

/// Linkage tier, best first; the tier is the link's provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// UCR or the export declaration number quoted on the import.
    SharedReference,
    /// Transport document or container number.
    TransportReference,
    /// Invoice number.
    CommercialReference,
    /// No shared key: blocking and scoring.
    Fuzzy,
}

impl Tier {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::SharedReference => "shared_reference",
            Tier::TransportReference => "transport_reference",
            Tier::CommercialReference => "commercial_reference",
            Tier::Fuzzy => "fuzzy",
        }
    }

    fn base_confidence(self) -> f64 {
        match self {
            Tier::SharedReference => 0.99,
            Tier::TransportReference => 0.98,
            Tier::CommercialReference => 0.95,
            Tier::Fuzzy => 0.0,
        }
    }
}

/// Why two legs were linked.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A key both legs carry.
    SharedKey {
        /// `ucr`, `declaration_number`, `transport_document`, `container`, `invoice`.
        kind: &'static str,
        /// The normalised key.
        value: String,
    },
    /// A field similarity of the fuzzy score.
    Similarity {
        /// Field name.
        field: &'static str,
        /// 0..1.
        value: f64,
    },
    /// Days from export to import.
    DateGap(i64),
    /// Net mass of the export side and of the import side of a group.
    Quantities {
        /// kg on the export legs.
        export_net: f64,
        /// kg on the import legs.
        import_net: f64,
        /// Within [`LinkConfig::consolidation_tolerance`].
        adds_up: bool,
    },
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::SharedKey { kind, value } => write!(f, "{kind}={value}"),
            Evidence::Similarity { field, value } => write!(f, "{field}~{value:.2}"),
            Evidence::DateGap(days) => write!(f, "date_gap={days}d"),
            Evidence::Quantities {
                export_net,
                import_net,
                adds_up,
            } => write!(
                f,
                "net_kg {export_net:.1}->{import_net:.1}{}",
                if *adds_up { "" } else { " (does not add up)" }
            ),
        }
    }
}

/// One link: export legs and import legs that are the same consignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Indices into the export legs, ascending.
    pub exports: Vec<usize>,
    /// Indices into the import legs, ascending.
    pub imports: Vec<usize>,
    /// Best tier among the link's edges.
    pub tier: Tier,
    /// 0..1.
    pub confidence: f64,
    /// Keys and similarities behind the link.
    pub evidence: Vec<Evidence>,
}

impl Link {
    /// `1:1`, `1:n`, `n:1` or `n:m`.
    pub fn cardinality(&self) -> &'static str {
        match (self.exports.len(), self.imports.len()) {
            (1, 1) => "1:1",
            (1, _) => "1:n",
            (_, 1) => "n:1",
            _ => "n:m",
        }
    }
}

/// A fuzzy pair below the link threshold but above the review threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPair {
    /// Export index.
    pub export: usize,
    /// Import index.
    pub import: usize,
    /// Score.
    pub score: f64,
}

/// The outcome of linking one direction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Linkage {
    /// Links, ordered by their first export (then first import).
    pub links: Vec<Link>,
    /// Pairs for an analyst to confirm.
    pub review: Vec<ReviewPair>,
    /// Export legs with no import leg.
    pub unmatched_exports: Vec<usize>,
    /// Import legs with no export leg.
    pub unmatched_imports: Vec<usize>,
}

/// Weights of the fuzzy score; they are normalised over the fields both legs declare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreWeights {
    /// Exporter ↔ seller/consignor.
    pub exporter: f64,
    /// Consignee/importer.
    pub importer: f64,
    /// Net mass.
    pub net_mass: f64,
    /// Gross mass.
    pub gross_mass: f64,
    /// Package count.
    pub packages: f64,
    /// Transaction value (same currency only; linkage does not convert).
    pub value: f64,
    /// HS6 sets.
    pub hs6: f64,
    /// Date gap within the window.
    pub date: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            exporter: 0.25,
            importer: 0.25,
            net_mass: 0.15,
            gross_mass: 0.05,
            packages: 0.05,
            value: 0.1,
            hs6: 0.1,
            date: 0.05,
        }
    }
}

/// Linkage parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// (min, max) days from export to import for air.
    pub window_air: (i64, i64),
    /// For road.
    pub window_road: (i64, i64),
    /// For rail.
    pub window_rail: (i64, i64),
    /// For sea, multimodal and undeclared modes.
    pub window_sea: (i64, i64),
    /// Extra days an exact-key link tolerates beyond the window (late filing, splits).
    pub grace_days: i64,
    /// Fuzzy score at or above which a pair is linked.
    pub link_threshold: f64,
    /// Fuzzy score at or above which a pair is offered for review.
    pub review_threshold: f64,
    /// Relative net-mass tolerance for a group to "add up".
    pub consolidation_tolerance: f64,
    /// Name similarity both parties need for a split part to join a fuzzy group.
    pub split_name_similarity: f64,
    /// Score weights.
    pub weights: ScoreWeights,
    /// Run the fuzzy tier (off: exact keys only, e.g. to compare with a SQL join).
    pub fuzzy: bool,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            // The spec's air window is 0–10 days; tuned on the synthetic corridor, whose
            // air legs take up to 10 days plus up to 5 days of filing noise and split
            // parts filed on following days.
            window_air: (0, 20),
            window_road: (2, 30),
            window_rail: (5, 45),
            window_sea: (15, 90),
            grace_days: 30,
            link_threshold: 0.6,
            review_threshold: 0.45,
            consolidation_tolerance: 0.10,
            split_name_similarity: 0.8,
            weights: ScoreWeights::default(),
            fuzzy: true,
        }
    }
}

impl LinkConfig {
    fn window(&self, mode: Mode) -> (i64, i64) {
        match mode {
            Mode::Air => self.window_air,
            Mode::Road => self.window_road,
            Mode::Rail => self.window_rail,
            Mode::Sea | Mode::Other => self.window_sea,
        }
    }

    /// The window of a pair: the union of both legs' mode windows (a sea leg at one
    /// border and a rail leg at the other is one multimodal journey).
    pub fn pair_window(&self, export: Mode, import: Mode) -> (i64, i64) {
        let (a, b) = (self.window(export), self.window(import));
        (a.0.min(b.0), a.1.max(b.1))
    }

    fn widest(&self) -> i64 {
        [
            self.window_air,
            self.window_road,
            self.window_rail,
            self.window_sea,
        ]
        .iter()
        .map(|w| w.1)
        .max()
        .unwrap_or(90)
    }
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

/// Up to two of the rarest tokens (seen at least twice in the run) of each party name:
/// the fuzzy tier's second blocking key. A token seen once is a typo or a firm with no
/// counterpart, and cannot block anything together.
fn party_keys<'p>(p: &'p Prepared<'_>, freq: &HashMap<&str, u32>) -> Vec<&'p str> {
    let mut keys = Vec::with_capacity(4);
    for name in [&p.exporter, &p.importer].into_iter().flatten() {
        let mut tokens: Vec<(u32, &str)> = name
            .split(' ')
            .filter(|t| !t.is_empty())
            .filter_map(|t| freq.get(t).filter(|n| **n >= 2).map(|n| (*n, t)))
            .collect();
        tokens.sort_unstable();
        keys.extend(tokens.iter().take(2).map(|(_, t)| *t));
    }
    if keys.is_empty() {
        keys.push("*");
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The fuzzy score of an export leg and an import leg, 0..1, with its evidence.
pub fn score_pair(
    export: &Leg,
    import: &Leg,
    names: &dyn NameSimilarity,
    config: &LinkConfig,
) -> (f64, Vec<Evidence>) {
    let a = prepare(export, names);
    let b = prepare(import, names);
    let window = config.pair_window(export.mode, import.mode);
    score_prepared(&a, &b, names, &config.weights, window, true)
}

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
        Some(gap) => gap >= -config.grace_days.min(5) && gap <= config.widest() + config.grace_days,
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
pub fn link(
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
        let mut confidence = tier.base_confidence();
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
    let import_keys: Vec<Vec<&str>> = prepared_imports
        .iter()
        .map(|p| p.as_ref().map(|p| party_keys(p, &freq)).unwrap_or_default())
        .collect();
    // Blocks: (HS6 or HS4, party token) → imports by date.
    type Block<'k> = HashMap<(&'k str, &'k str), Vec<(NaiveDate, usize)>>;
    let mut block6: Block<'_> = HashMap::new();
    let mut block4: Block<'_> = HashMap::new();
    for (i, p) in prepared_imports.iter().enumerate() {
        let Some(p) = p else { continue };
        let Some(date) = p.leg.date else { continue };
        for code in &p.hs6 {
            for key in &import_keys[i] {
                block6.entry((code, key)).or_default().push((date, i));
                block4.entry((&code[..4], key)).or_default().push((date, i));
            }
        }
    }
    for list in block6.values_mut().chain(block4.values_mut()) {
        list.sort_unstable();
        list.dedup();
    }
    let widest = config.widest();
    let mut candidates: Vec<(f64, i64, usize, usize)> = Vec::new();
    // seen[i] == e + 1 when import i was already scored against export e.
    let mut seen: Vec<usize> = vec![0; m];
    for (e, p) in prepared_exports.iter().enumerate() {
        let Some(p) = p else { continue };
        let Some(date) = p.leg.date else { continue };
        let keys = party_keys(p, &freq);
        // HS6 first; HS4 as a second pass only for an export that found no linkable
        // candidate under its own codes (reclassified legs).
        for pass in 0..2 {
            let mut linkable = false;
            for code in &p.hs6 {
                for key in &keys {
                    let block = if pass == 0 {
                        block6.get(&(*code, *key))
                    } else {
                        block4.get(&(&code[..4], *key))
                    };
                    let Some(list) = block else { continue };
                    let start = list.partition_point(|(d, _)| *d < date);
                    for &(d, i) in &list[start..] {
                        if (d - date).num_days() > widest {
                            break;
                        }
                        if seen[i] == e + 1 {
                            continue;
                        }
                        seen[i] = e + 1;
                        let Some(q) = &prepared_imports[i] else {
                            continue;
                        };
                        let window = config.pair_window(p.leg.mode, q.leg.mode);
                        let gap = (d - date).num_days();
                        if gap < window.0 || gap > window.1 || !partners_consistent(p.leg, q.leg) {
                            continue;
                        }
                        let (score, _) =
                            score_prepared(p, q, names, &config.weights, window, false);
                        if score >= config.review_threshold {
                            linkable |= score >= config.link_threshold;
                            candidates.push((score, gap, e, i));
                        }
                    }
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
