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

use crate::columnar::{FxMap, Interner, parallel_ranges};
use crate::columns::{LegColumns, NO_DAY, SideColumns, TierKeys};

use chrono::{Datelike, NaiveDate};

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

/// A date as days since the Common Era: the date column of the linkage tables.
fn day(date: Option<NaiveDate>) -> Option<i32> {
    date.map(|d| d.num_days_from_ce())
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

fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.iter().filter(|x| b.contains(x)).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// The interned strings of one linkage run: normalised party names, HS6 and HS4
/// codes, name tokens, currencies and countries.
#[derive(Default)]
struct Tables<'a> {
    /// Raw party name → normalised-name id, so each distinct spelling is normalised once.
    raw_names: FxMap<&'a str, u32>,
    /// Normalised name → id.
    name_ids: FxMap<String, u32>,
    /// Normalised names by id.
    names: Vec<String>,
    codes: Interner<'a>,
    hs4: Interner<'a>,
    currencies: Interner<'a>,
    countries: Interner<'a>,
    /// HS6 code id → HS4 id.
    hs4_of_code: Vec<u32>,
}

impl<'a> Tables<'a> {
    fn name(&mut self, raw: &'a str, names: &dyn NameSimilarity) -> u32 {
        if let Some(&id) = self.raw_names.get(raw) {
            return id;
        }
        let normalised = names.normalise(raw);
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let id = *self.name_ids.entry(normalised.clone()).or_insert(next);
        if id == next {
            self.names.push(normalised);
        }
        self.raw_names.insert(raw, id);
        id
    }

    fn code(&mut self, hs6: &'a str) -> u32 {
        let id = self.codes.intern(hs6);
        if id as usize == self.hs4_of_code.len() {
            let hs4 = self.hs4.intern(&hs6[..4]);
            self.hs4_of_code.push(hs4);
        }
        id
    }
}

/// What the scorer needs of a leg, computed once: the row of the fuzzy tier's table.
#[derive(Debug, Clone)]
struct Features {
    exporter: Option<u32>,
    importer: Option<u32>,
    net: Option<f64>,
    gross: Option<f64>,
    packages: Option<u64>,
    value: Option<(f64, u32)>,
    /// Range of the leg's distinct HS6 code ids in [`FeatureTable::codes`].
    codes: (u32, u32),
    day: Option<i32>,
    mode: Mode,
    reporter: u32,
    partner: Option<u32>,
}

/// Features of the legs a tier still has to link, and the flat list of their codes.
struct FeatureTable {
    rows: Vec<Option<Features>>,
    codes: Vec<u32>,
}

impl FeatureTable {
    fn codes(&self, f: &Features) -> &[u32] {
        &self.codes[f.codes.0 as usize..f.codes.1 as usize]
    }
}

fn features<'a>(
    legs: &'a [Leg],
    wanted: impl Fn(usize) -> bool,
    tables: &mut Tables<'a>,
    names: &dyn NameSimilarity,
) -> FeatureTable {
    let mut codes = Vec::new();
    let rows = legs
        .iter()
        .enumerate()
        .map(|(k, leg)| {
            if !wanted(k) {
                return None;
            }
            let currency = leg.items.iter().find_map(|i| i.currency.as_deref());
            let same_currency = leg
                .items
                .iter()
                .all(|i| i.currency.is_none() || i.currency.as_deref() == currency);
            let value: Option<f64> = leg.items.iter().map(|i| i.value).sum();
            let start = codes.len() as u32;
            for code in leg.hs6_codes() {
                codes.push(tables.code(code));
            }
            Some(Features {
                exporter: leg.exporter_name.as_deref().map(|n| tables.name(n, names)),
                importer: leg.importer_name.as_deref().map(|n| tables.name(n, names)),
                net: leg.net_mass(),
                gross: leg.gross_mass(),
                packages: leg.packages(),
                value: value
                    .zip(currency)
                    .filter(|_| same_currency)
                    .map(|(v, c)| (v, tables.currencies.intern(c))),
                codes: (start, codes.len() as u32),
                day: day(leg.date),
                mode: leg.mode,
                reporter: tables.countries.intern(&leg.reference.reporter),
                partner: leg.partner.as_deref().map(|p| tables.countries.intern(p)),
            })
        })
        .collect();
    FeatureTable { rows, codes }
}

/// Fuzzy score of two legs from their features and the similarities of their names
/// (`exporter_sim`, `importer_sim`, used only where both legs name that party). A
/// weighted mean over the fields both legs declare, summed in a fixed field order so
/// that a bound computed with name similarities of 1 is never below the score.
#[allow(clippy::too_many_arguments)]
fn score_features(
    a: &Features,
    b: &Features,
    a_codes: &[u32],
    b_codes: &[u32],
    exporter_sim: f64,
    importer_sim: f64,
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
    if a.exporter.is_some() && b.exporter.is_some() {
        add("exporter", w.exporter, exporter_sim);
    }
    if a.importer.is_some() && b.importer.is_some() {
        add("importer", w.importer, importer_sim);
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
    if let (Some((x, cx)), Some((y, cy))) = (a.value, b.value)
        && cx == cy
    {
        add("value", w.value, ratio_similarity(x, y));
    }
    add("hs6", w.hs6, jaccard(a_codes, b_codes));
    let gap = match (a.day, b.day) {
        (Some(x), Some(y)) => Some(i64::from(y - x).abs()),
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

/// Name similarities of one worker thread, memoised on (export name id, import name
/// id): the corridor's legs name a few thousand firms, compared millions of times.
struct NameMemo<'t> {
    names: &'t [String],
    similarity: &'t dyn NameSimilarity,
    memo: FxMap<u64, f64>,
}

impl<'t> NameMemo<'t> {
    fn new(names: &'t [String], similarity: &'t dyn NameSimilarity) -> NameMemo<'t> {
        NameMemo {
            names,
            similarity,
            memo: FxMap::default(),
        }
    }

    fn get(&mut self, a: u32, b: u32) -> f64 {
        let key = (u64::from(a) << 32) | u64::from(b);
        if let Some(&s) = self.memo.get(&key) {
            return s;
        }
        let s = self
            .similarity
            .similarity(&self.names[a as usize], &self.names[b as usize]);
        self.memo.insert(key, s);
        s
    }

    fn opt(&mut self, a: Option<u32>, b: Option<u32>) -> f64 {
        match (a, b) {
            (Some(a), Some(b)) => self.get(a, b),
            _ => 0.0,
        }
    }
}

/// The fuzzy score of an export leg and an import leg, 0..1, with its evidence.
pub fn score_pair(
    export: &Leg,
    import: &Leg,
    names: &dyn NameSimilarity,
    config: &LinkConfig,
) -> (f64, Vec<Evidence>) {
    let mut tables = Tables::default();
    let x = features(std::slice::from_ref(export), |_| true, &mut tables, names);
    let m = features(std::slice::from_ref(import), |_| true, &mut tables, names);
    let (Some(a), Some(b)) = (&x.rows[0], &m.rows[0]) else {
        return (0.0, Vec::new());
    };
    let mut memo = NameMemo::new(&tables.names, names);
    let window = config.pair_window(export.mode, import.mode);
    score_features(
        a,
        b,
        x.codes(a),
        m.codes(b),
        memo.opt(a.exporter, b.exporter),
        memo.opt(a.importer, b.importer),
        &config.weights,
        window,
        true,
    )
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

fn features_partners_consistent(export: &Features, import: &Features) -> bool {
    export.partner.is_none_or(|p| p == import.reporter)
        && import.partner.is_none_or(|p| p == export.reporter)
}

fn exact_dates_plausible(export: i32, import: i32, config: &LinkConfig) -> bool {
    if export == NO_DAY || import == NO_DAY {
        return true;
    }
    let gap = i64::from(import) - i64::from(export);
    gap >= -config.grace_days.min(5) && gap <= config.widest() + config.grace_days
}

/// Key kinds, by tag.
const KINDS: [&str; 5] = [
    "ucr",
    "declaration_number",
    "transport_document",
    "container",
    "invoice",
];

const TIERS: [Tier; 3] = [
    Tier::SharedReference,
    Tier::TransportReference,
    Tier::CommercialReference,
];

/// One tier's import keys: rows of (key hash, import, key) grouped by the hash's top
/// bits (a radix partition: one counting pass, one scatter pass, no sort), with a
/// directory of the groups. About four rows share a group, so the directory stays small
/// enough for the cache and an export's key finds its rows with one read of main
/// memory. Rows keep their input order inside a group (imports ascending, then keys),
/// so the rows of one hash come out in the order a sort by (hash, import, key) would
/// give.
struct KeyIndex {
    rows: Vec<(u64, u32, u32)>,
    /// Row offsets of each top-bits group; `groups + 1` entries.
    directory: Vec<u32>,
    shift: u32,
}

impl KeyIndex {
    /// The index of one side's keys of one tier; hashes them on the way.
    fn new(keys: &TierKeys) -> KeyIndex {
        let n = keys.len();
        let bits = (usize::BITS - n.leading_zeros())
            .saturating_sub(2)
            .clamp(1, 24);
        let shift = 64 - bits;
        let mut rows: Vec<(u64, u32, u32)> = Vec::with_capacity(n);
        let mut directory = vec![0u32; (1usize << bits) + 1];
        for i in 0..keys.start.len() - 1 {
            for j in keys.of(i) {
                let h = keys.hash(j);
                directory[(h >> shift) as usize + 1] += 1;
                rows.push((h, i as u32, j as u32));
            }
        }
        for g in 1..directory.len() {
            directory[g] += directory[g - 1];
        }
        // Two stable scatters instead of one: first into at most 256 partitions by the
        // top bits (few write streams), then each partition into its groups, whose
        // writes stay inside the partition's slice and so inside the cache.
        let top = bits.min(8);
        let below = bits - top;
        let mut partitioned = vec![(0, 0, 0); n];
        let mut fill: Vec<u32> = (0..1usize << top).map(|p| directory[p << below]).collect();
        for &row in &rows {
            let slot = &mut fill[(row.0 >> (64 - top)) as usize];
            partitioned[*slot as usize] = row;
            *slot += 1;
        }
        let mut fill = directory.clone();
        for &row in &partitioned {
            let slot = &mut fill[(row.0 >> shift) as usize];
            rows[*slot as usize] = row;
            *slot += 1;
        }
        KeyIndex {
            rows,
            directory,
            shift,
        }
    }

    /// The lookup of export key `j` of `keys`: its hash and its group's rows.
    #[inline]
    fn probe(&self, keys: &TierKeys, j: usize) -> Probe {
        let hash = keys.hash(j);
        let g = (hash >> self.shift) as usize;
        Probe {
            hash,
            rows: self.directory[g]..self.directory[g + 1],
            first: !hash,
        }
    }

    /// The hash of the first row of `probe`'s group (`!probe.hash` for an empty group):
    /// reading it brings the group into the cache.
    #[inline]
    fn first_hash(&self, probe: &Probe) -> u64 {
        if probe.rows.is_empty() {
            !probe.hash
        } else {
            self.rows[probe.rows.start as usize].0
        }
    }

    /// The rows whose hash is `probe`'s.
    #[inline]
    fn rows(&self, probe: &Probe) -> impl Iterator<Item = &(u64, u32, u32)> {
        let h = probe.hash;
        self.rows[probe.rows.start as usize..probe.rows.end as usize]
            .iter()
            .filter(move |r| r.0 == h)
    }
}

/// Exports whose lookups are issued together ([`exact_edges`]).
const PROBE_BATCH: usize = 64;

/// One export key's lookup in a [`KeyIndex`].
struct Probe {
    hash: u64,
    /// The rows of the hash's group.
    rows: std::ops::Range<u32>,
    /// The hash of the group's first row, once read.
    first: u64,
}

/// The key indexes of the three tiers of `imports`, one thread each.
fn key_indexes(imports: &SideColumns) -> [KeyIndex; 3] {
    std::thread::scope(|scope| {
        let [a, b, c] = &imports.keys;
        let a = scope.spawn(|| KeyIndex::new(a));
        let b = scope.spawn(|| KeyIndex::new(b));
        let c = KeyIndex::new(c);
        let join = |h: std::thread::ScopedJoinHandle<'_, KeyIndex>| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        [join(a), join(b), c]
    })
}

/// The exact edges of one export: the first tier with any candidate.
struct ExactEdge {
    export: usize,
    tier: Tier,
    imports: Vec<usize>,
    /// (tier, export key) of each shared key, in the order found.
    evidence: Vec<(u8, u32)>,
}

fn exact_edges(cols: &LegColumns<'_>, config: &LinkConfig) -> Vec<ExactEdge> {
    let (x, m) = (&cols.x, &cols.m);
    // What a key match checks on its import (date, reporter, partner), side by side, so
    // that the check reads one place in memory instead of three columns.
    let (indexes, checks) = std::thread::scope(|scope| {
        let indexes = scope.spawn(|| key_indexes(m));
        let checks: Vec<(i32, u64, u64)> = (0..m.day.len())
            .map(|i| (m.day[i], m.reporter[i], m.partner[i]))
            .collect();
        let indexes = indexes
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (indexes, checks)
    });
    parallel_ranges(x.day.len(), 4_096, |range| {
        let mut out = Vec::new();
        let mut candidates: Vec<usize> = Vec::new();
        let mut evidence: Vec<(u8, u32)> = Vec::new();
        let mut probes: Vec<Probe> = Vec::new();
        let mut edges: Vec<Option<ExactEdge>> = Vec::new();
        let mut batch = range.start;
        while batch < range.end {
            let batch_end = (batch + PROBE_BATCH).min(range.end);
            edges.clear();
            edges.resize_with(batch_end - batch, || None);
            for (tier, index) in indexes.iter().enumerate() {
                let (x_keys, m_keys) = (&x.keys[tier], &m.keys[tier]);
                // The batch's lookups first, each independent of the others, so that
                // their cache misses overlap instead of following one another.
                probes.clear();
                for e in batch..batch_end {
                    if edges[e - batch].is_none() {
                        probes.extend(x_keys.of(e).map(|j| index.probe(x_keys, j)));
                    }
                }
                for p in &mut probes {
                    p.first = index.first_hash(p);
                }
                let mut next = 0;
                for e in batch..batch_end {
                    if edges[e - batch].is_some() {
                        continue;
                    }
                    candidates.clear();
                    evidence.clear();
                    for j in x_keys.of(e) {
                        let probe = &probes[next];
                        next += 1;
                        // No row, or one row of another hash: nothing to confirm.
                        if probe.rows.len() <= 1 && probe.first != probe.hash {
                            continue;
                        }
                        let key = x_keys.key(j);
                        let mut last = None;
                        for &(_, i, k) in index.rows(probe) {
                            let (i, k) = (i as usize, k as usize);
                            // The hash is only a filter: the key itself must match.
                            if last == Some(i) || m_keys.key(k) != key {
                                continue;
                            }
                            last = Some(i);
                            let (day, reporter, partner) = checks[i];
                            if cols.partners_consistent_with(e, i, reporter, partner)
                                && exact_dates_plausible(x.day[e], day, config)
                            {
                                candidates.push(i);
                                // One entry per key found; the group merges repeats.
                                if evidence.last() != Some(&(tier as u8, j as u32)) {
                                    evidence.push((tier as u8, j as u32));
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
                    edges[e - batch] = Some(ExactEdge {
                        export: e,
                        tier: TIERS[tier],
                        imports: std::mem::take(&mut candidates),
                        evidence: std::mem::take(&mut evidence),
                    });
                }
            }
            out.extend(edges.drain(..).flatten());
            batch = batch_end;
        }
        out
    })
}

/// Links `exports` (filed in one country) to `imports` (filed in the partner country).
///
/// Runs on the machine's cores; the result does not depend on their number. Builds the
/// run's [`LegColumns`] first; a caller that also values the links builds them itself
/// and calls [`LegColumns::link`].
pub fn link(
    exports: &[Leg],
    imports: &[Leg],
    names: &dyn NameSimilarity,
    config: &LinkConfig,
) -> Linkage {
    LegColumns::new(exports, imports).link(names, config)
}

/// [`link`] over columns built beforehand.
pub(crate) fn link_columns(
    cols: &LegColumns<'_>,
    names: &dyn NameSimilarity,
    config: &LinkConfig,
) -> Linkage {
    let (exports, imports) = (cols.exports, cols.imports);
    let (n, m) = (exports.len(), imports.len());

    // Exact tiers: edges, then connected components.
    let edges = exact_edges(cols, config);
    let mut groups = Groups::new(n + m);
    for edge in &edges {
        for &i in &edge.imports {
            groups.union(edge.export, n + i);
        }
    }
    const NONE: u32 = u32::MAX;
    let mut group_of_root = vec![NONE; n + m];
    // (exports, imports, best tier, evidence) of each group.
    type Group = (Vec<usize>, Vec<usize>, Tier, Vec<Evidence>);
    let mut members: Vec<Group> = Vec::new();
    for edge in edges {
        let root = groups.find(edge.export);
        if group_of_root[root] == NONE {
            group_of_root[root] = members.len() as u32;
            members.push((Vec::new(), Vec::new(), edge.tier, Vec::new()));
        }
        let group = &mut members[group_of_root[root] as usize];
        group.0.push(edge.export);
        group.2 = group.2.min(edge.tier);
        group.3.extend(edge.evidence.iter().map(|&(tier, j)| {
            let (keys, j) = (&cols.x.keys[tier as usize], j as usize);
            Evidence::SharedKey {
                kind: KINDS[keys.tag(j) as usize],
                value: keys.text(j).to_owned(),
            }
        }));
    }
    for i in 0..m {
        let root = groups.find(n + i);
        if group_of_root[root] != NONE {
            members[group_of_root[root] as usize].1.push(i);
        }
    }
    drop(group_of_root);
    drop(groups);
    let mut linked_export = vec![false; n];
    let mut linked_import = vec![false; m];
    // Groups were opened in order of their first export: the links come out sorted.
    let mut links: Vec<Link> = members
        .into_iter()
        .map(|(group_exports, group_imports, tier, mut evidence)| {
            evidence.dedup();
            let quantities = quantities_evidence(&group_exports, &group_imports, cols, config);
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
            Link {
                exports: group_exports,
                imports: group_imports,
                tier,
                confidence,
                evidence,
            }
        })
        .collect();

    let mut review = Vec::new();
    if config.fuzzy {
        review = fuzzy(
            cols,
            names,
            config,
            &mut links,
            &mut linked_export,
            &mut linked_import,
        );
        for link in &mut links {
            link.exports.sort_unstable();
            link.imports.sort_unstable();
        }
        links.sort_by(|a, b| {
            (a.exports.first(), a.imports.first()).cmp(&(b.exports.first(), b.imports.first()))
        });
    }
    Linkage {
        links,
        review,
        unmatched_exports: (0..n).filter(|&e| !linked_export[e]).collect(),
        unmatched_imports: (0..m).filter(|&i| !linked_import[i]).collect(),
    }
}

/// Blocking key of a party side with no usable token: it blocks with everything.
const ANY_TOKEN: u32 = u32::MAX;

/// The rarest tokens of a leg's two party names.
#[derive(Debug, Clone, Default)]
struct PartyKeys {
    /// Of the exporter's name; empty when it has none.
    exporter: Vec<u32>,
    /// Of the importer's name.
    importer: Vec<u32>,
}

/// Up to two of the rarest tokens (seen at least twice in the run) of each party name:
/// the fuzzy tier's party blocking keys. A token seen once is a typo or a firm with no
/// counterpart, and cannot block anything together.
fn party_keys(
    tables: &Tables<'_>,
    x: &FeatureTable,
    m: &FeatureTable,
) -> (Vec<PartyKeys>, Vec<PartyKeys>) {
    let mut tokens: Interner<'_> = Interner::default();
    let name_tokens: Vec<Vec<u32>> = tables
        .names
        .iter()
        .map(|name| {
            name.split(' ')
                .filter(|t| !t.is_empty())
                .map(|t| tokens.intern(t))
                .collect()
        })
        .collect();
    let mut uses = vec![0u32; tables.names.len()];
    for f in x.rows.iter().chain(&m.rows).flatten() {
        for name in [f.exporter, f.importer].into_iter().flatten() {
            uses[name as usize] += 1;
        }
    }
    let mut freq = vec![0u32; tokens.len()];
    for (name, ts) in name_tokens.iter().enumerate() {
        for &t in ts {
            freq[t as usize] += uses[name];
        }
    }
    let name_keys: Vec<Vec<u32>> = name_tokens
        .iter()
        .map(|ts| {
            let mut ranked: Vec<(u32, &str, u32)> = ts
                .iter()
                .filter(|&&t| freq[t as usize] >= 2)
                .map(|&t| (freq[t as usize], tokens.resolve(t), t))
                .collect();
            ranked.sort_unstable();
            let mut keys: Vec<u32> = ranked.iter().take(2).map(|r| r.2).collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        })
        .collect();
    let of = |name: Option<u32>| name.map_or_else(Vec::new, |n| name_keys[n as usize].clone());
    let keys = |table: &FeatureTable| -> Vec<PartyKeys> {
        table
            .rows
            .iter()
            .map(|row| {
                row.as_ref().map_or_else(PartyKeys::default, |f| PartyKeys {
                    exporter: of(f.exporter),
                    importer: of(f.importer),
                })
            })
            .collect()
    };
    (keys(x), keys(m))
}

/// What a block is keyed on besides the code: both parties' tokens, one of them, or
/// none. An export probes the shape that matches the party tokens it has, so that a
/// side missing on either leg never prevents blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Both = 0,
    ExporterOnly = 1,
    ImporterOnly = 2,
    CodeOnly = 3,
}

impl Shape {
    fn of(keys: &PartyKeys) -> Shape {
        match (keys.exporter.is_empty(), keys.importer.is_empty()) {
            (false, false) => Shape::Both,
            (false, true) => Shape::ExporterOnly,
            (true, false) => Shape::ImporterOnly,
            (true, true) => Shape::CodeOnly,
        }
    }
}

/// Offset of HS4 ids among block codes (HS6 ids below it).
const HS4_BLOCK: u32 = 1 << 31;

/// A block: shape, code (HS6 id, or [`HS4_BLOCK`] + HS4 id), exporter token and
/// importer token ([`ANY_TOKEN`] where the shape ignores a side or the leg has none).
fn block_key(shape: Shape, code: u32, exporter: u32, importer: u32) -> u128 {
    (u128::from(shape as u8) << 96)
        | (u128::from(code) << 64)
        | (u128::from(exporter) << 32)
        | u128::from(importer)
}

/// Rows of (block, day, import), sorted: each block is a run of imports by date.
type Blocks = Vec<(u128, i32, u32)>;

/// A side's tokens, or [`ANY_TOKEN`] alone when it has none.
fn or_any(tokens: &[u32]) -> &[u32] {
    if tokens.is_empty() {
        &[ANY_TOKEN]
    } else {
        tokens
    }
}

/// Every block an import belongs to, in the shapes `wanted`.
fn import_blocks(
    keys: &PartyKeys,
    codes: &[u32],
    hs4_of_code: &[u32],
    wanted: &[bool; 4],
    mut push: impl FnMut(u128),
) {
    let (ex, im) = (or_any(&keys.exporter), or_any(&keys.importer));
    for &code6 in codes {
        for code in [code6, HS4_BLOCK | hs4_of_code[code6 as usize]] {
            if wanted[Shape::Both as usize] {
                for &tx in ex {
                    for &tm in im {
                        push(block_key(Shape::Both, code, tx, tm));
                    }
                }
            }
            if wanted[Shape::ExporterOnly as usize] {
                for &tx in ex {
                    push(block_key(Shape::ExporterOnly, code, tx, ANY_TOKEN));
                }
            }
            if wanted[Shape::ImporterOnly as usize] {
                for &tm in im {
                    push(block_key(Shape::ImporterOnly, code, ANY_TOKEN, tm));
                }
            }
            if wanted[Shape::CodeOnly as usize] {
                push(block_key(Shape::CodeOnly, code, ANY_TOKEN, ANY_TOKEN));
            }
        }
    }
}

/// The blocks an export with `keys` probes for `code`: its own tokens and
/// [`ANY_TOKEN`] on each side it has, so that it meets the imports that share a token
/// or lack that side.
fn export_probes(keys: &PartyKeys, code: u32, mut probe: impl FnMut(u128)) {
    let shape = Shape::of(keys);
    let with_any = |tokens: &[u32]| -> Vec<u32> {
        let mut v = tokens.to_vec();
        v.push(ANY_TOKEN);
        v
    };
    match shape {
        Shape::Both => {
            for tx in with_any(&keys.exporter) {
                for &tm in &with_any(&keys.importer) {
                    probe(block_key(shape, code, tx, tm));
                }
            }
        }
        Shape::ExporterOnly => {
            for tx in with_any(&keys.exporter) {
                probe(block_key(shape, code, tx, ANY_TOKEN));
            }
        }
        Shape::ImporterOnly => {
            for tm in with_any(&keys.importer) {
                probe(block_key(shape, code, ANY_TOKEN, tm));
            }
        }
        Shape::CodeOnly => probe(block_key(shape, code, ANY_TOKEN, ANY_TOKEN)),
    }
}

/// The rows of `block` with a day in `from..=from + widest`.
fn block_rows(blocks: &Blocks, block: u128, from: i32, widest: i64) -> &[(u128, i32, u32)] {
    let start = blocks.partition_point(|r| (r.0, r.1) < (block, from));
    let end = start
        + blocks[start..]
            .partition_point(|r| r.0 == block && i64::from(r.1) - i64::from(from) <= widest);
    &blocks[start..end]
}

/// The fuzzy tier over the legs the exact tiers left: blocking, scoring, greedy
/// one-to-one assignment, then split parts. Returns the review pairs.
///
/// Blocking: an export meets the imports that share one of its HS6 codes (HS4 in a
/// second pass, only for an export with no linkable candidate under its own codes),
/// dated 0 to the widest window after it, and, for each party, share one of its rarest
/// name tokens unless either leg has no token for that party.
fn fuzzy(
    cols: &LegColumns<'_>,
    names: &dyn NameSimilarity,
    config: &LinkConfig,
    links: &mut Vec<Link>,
    linked_export: &mut [bool],
    linked_import: &mut [bool],
) -> Vec<ReviewPair> {
    let (exports, imports) = (cols.exports, cols.imports);
    let m = imports.len();
    let mut tables = Tables::default();
    let x = features(exports, |e| !linked_export[e], &mut tables, names);
    let q = features(imports, |i| !linked_import[i], &mut tables, names);
    let (export_keys, import_keys) = party_keys(&tables, &x, &q);
    let mut wanted = [false; 4];
    for (keys, row) in export_keys.iter().zip(&x.rows) {
        if row.is_some() {
            wanted[Shape::of(keys) as usize] = true;
        }
    }
    let mut blocks: Blocks = Vec::new();
    for (i, f) in q.rows.iter().enumerate() {
        let Some(f) = f else { continue };
        let Some(d) = f.day else { continue };
        import_blocks(
            &import_keys[i],
            q.codes(f),
            &tables.hs4_of_code,
            &wanted,
            |block| blocks.push((block, d, i as u32)),
        );
    }
    blocks.sort_unstable();
    blocks.dedup();
    let widest = config.widest();
    let w = &config.weights;
    let (x, q, tables, blocks) = (&x, &q, &tables, &blocks);
    let mut candidates: Vec<(f64, i64, usize, usize)> =
        parallel_ranges(exports.len(), 1_024, |range| {
            let mut memo = NameMemo::new(&tables.names, names);
            let mut out = Vec::new();
            // seen[i] == e + 1 when import i was already scored against export e.
            let mut seen: Vec<u32> = vec![0; m];
            for e in range {
                let Some(p) = &x.rows[e] else { continue };
                let Some(date) = p.day else { continue };
                let p_codes = x.codes(p);
                let mark = e as u32 + 1;
                for pass in 0..2 {
                    let mut linkable = false;
                    for &code6 in p_codes {
                        let code = if pass == 0 {
                            code6
                        } else {
                            HS4_BLOCK | tables.hs4_of_code[code6 as usize]
                        };
                        export_probes(&export_keys[e], code, |block| {
                            for &(_, d, i) in block_rows(blocks, block, date, widest) {
                                let i = i as usize;
                                if seen[i] == mark {
                                    continue;
                                }
                                seen[i] = mark;
                                let Some(f) = &q.rows[i] else { continue };
                                let window = config.pair_window(p.mode, f.mode);
                                let gap = i64::from(d - date);
                                if gap < window.0
                                    || gap > window.1
                                    || !features_partners_consistent(p, f)
                                {
                                    continue;
                                }
                                let f_codes = q.codes(f);
                                // Names are the dearest fields: bound the score with
                                // name similarities of 1, then with the exporter's
                                // known, and stop as soon as the review band is out
                                // of reach.
                                let score = |exporter: f64, importer: f64| {
                                    score_features(
                                        p, f, p_codes, f_codes, exporter, importer, w, window,
                                        false,
                                    )
                                    .0
                                };
                                if score(1.0, 1.0) < config.review_threshold {
                                    continue;
                                }
                                let exporter = memo.opt(p.exporter, f.exporter);
                                if score(exporter, 1.0) < config.review_threshold {
                                    continue;
                                }
                                let importer = memo.opt(p.importer, f.importer);
                                let score = score(exporter, importer);
                                if score >= config.review_threshold {
                                    linkable |= score >= config.link_threshold;
                                    out.push((score, gap, e, i));
                                }
                            }
                        });
                    }
                    if linkable {
                        break;
                    }
                }
            }
            out
        });
    candidates.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let mut review = Vec::new();
    let mut fuzzy_links: Vec<(usize, usize)> = Vec::new();
    let mut memo = NameMemo::new(&tables.names, names);
    for (score, _, e, i) in candidates {
        if linked_export[e] || linked_import[i] {
            continue;
        }
        if score >= config.link_threshold {
            let (Some(p), Some(f)) = (&x.rows[e], &q.rows[i]) else {
                continue;
            };
            let window = config.pair_window(p.mode, f.mode);
            let (_, evidence) = score_features(
                p,
                f,
                x.codes(p),
                q.codes(f),
                memo.opt(p.exporter, f.exporter),
                memo.opt(p.importer, f.importer),
                w,
                window,
                true,
            );
            linked_export[e] = true;
            linked_import[i] = true;
            fuzzy_links.push((e, links.len()));
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
    // and the group's mass moves closer to the export's. Fuzzy links by HS6 of their
    // export, sorted by export date, so that each leftover import only meets the links
    // it could belong to; each link holds one import so far.
    let mut by_code: FxMap<u32, Vec<(i32, usize, usize, f64)>> = FxMap::default();
    for &(e, l) in &fuzzy_links {
        let Some(p) = &x.rows[e] else { continue };
        let Some(date) = p.day else { continue };
        let group_net: f64 = links[l]
            .imports
            .iter()
            .filter_map(|&k| cols.m.net_mass(k))
            .sum::<f64>();
        for &code in x.codes(p) {
            by_code
                .entry(code)
                .or_default()
                .push((date, e, l, group_net));
        }
    }
    for list in by_code.values_mut() {
        list.sort_unstable_by_key(|r| (r.0, r.1, r.2));
    }
    let linked_import_now: &[bool] = linked_import;
    let parts: Vec<(usize, usize)> = parallel_ranges(m, 1_024, |range| {
        let mut memo = NameMemo::new(&tables.names, names);
        let mut out = Vec::new();
        for i in range {
            let Some(f) = &q.rows[i] else { continue };
            if linked_import_now[i] {
                continue;
            }
            let Some(q_date) = f.day else { continue };
            let mut best: Option<(f64, usize)> = None;
            for code in q.codes(f) {
                let Some(list) = by_code.get(code) else {
                    continue;
                };
                let earliest = i64::from(q_date) - widest;
                let start = list.partition_point(|r| i64::from(r.0) < earliest);
                for &(d, e, l, group_net) in &list[start..] {
                    let gap = i64::from(q_date - d);
                    if gap < 0 {
                        break;
                    }
                    let Some(p) = &x.rows[e] else { continue };
                    let window = config.pair_window(p.mode, f.mode);
                    if gap < window.0 || gap > window.1 {
                        continue;
                    }
                    let (Some(x_net), Some(q_net)) = (p.net, f.net) else {
                        continue;
                    };
                    if (group_net + q_net - x_net).abs() >= (group_net - x_net).abs() {
                        continue;
                    }
                    let s = memo
                        .opt(p.exporter, f.exporter)
                        .min(memo.opt(p.importer, f.importer));
                    if s < config.split_name_similarity {
                        continue;
                    }
                    if best.is_none_or(|(b, bl)| s > b || (s == b && l < bl)) {
                        best = Some((s, l));
                    }
                }
            }
            if let Some((_, l)) = best {
                out.push((l, i));
            }
        }
        out
    });
    for (l, i) in parts {
        linked_import[i] = true;
        links[l].imports.push(i);
    }
    for &(_, l) in &fuzzy_links {
        let link = &mut links[l];
        if link.imports.len() > 1 {
            link.imports.sort_unstable();
            let q = quantities_evidence(&link.exports, &link.imports, cols, config);
            link.evidence.extend(q);
        }
    }
    review
}

fn quantities_evidence(
    group_exports: &[usize],
    group_imports: &[usize],
    cols: &LegColumns<'_>,
    config: &LinkConfig,
) -> Option<Evidence> {
    let export_net: Option<f64> = group_exports.iter().map(|&e| cols.x.net_mass(e)).sum();
    let import_net: Option<f64> = group_imports.iter().map(|&i| cols.m.net_mass(i)).sum();
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
