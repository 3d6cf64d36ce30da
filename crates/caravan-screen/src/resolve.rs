//! Entity resolution across declarations (spec `screening.md` §9, issue 6 item 6): the same
//! real company or person is recognised across declarations, spellings and identifiers, so
//! it is screened once and its history reads as one party.
//!
//! The model is Fellegi–Sunter in the style of Splink:
//!
//! - **Blocking** on the normaliser's folded token keys, exact identifiers and (with a
//!   minimum count) shared name trigrams; blocks larger than [`ResolveConfig::max_block`]
//!   are skipped, as in nomenklatura's blocker, so a common token cannot make the pair count
//!   quadratic.
//! - **Comparison vector** per candidate pair: name (identical / equal key / ≥ 0.92 /
//!   ≥ 0.80 / else, using the crate's scorer), identifier (agree / conflict / absent),
//!   country (same / different / absent) and address tokens (same / similar / different /
//!   absent). Absent levels carry no evidence.
//! - **u probabilities** from seeded random record pairs (almost all non-matches), **m
//!   probabilities and the prior** by EM over the blocked pairs; deterministic for a seed.
//! - **Match weight** = log₂ prior odds + Σ log₂(m/u); pairs at or above
//!   [`ResolveConfig::link_threshold`] are links.
//! - **Clustering**: links in decreasing weight join clusters (union-find) unless some scored
//!   pair across the two clusters is below [`ResolveConfig::cannot_link`] or the scored
//!   pairs across them average below the link threshold — the guard that stops `A ~ B ~ C`
//!   chaining when the model says `A` and `C` are different parties. By
//!   default a conflicting identifier of one scheme is such a pair whatever its weight.
//!
//! Cluster ids are stable: a cluster is named after the arrival sequence of its earliest
//! record, records of a later batch join existing clusters, clusters never split, and when
//! two existing clusters merge the older id is kept and the merge is recorded in
//! [`Resolver::merges`]. Within one batch the result does not depend on input order
//! (records are taken in `record_id` order).
//!
//! Not built: term-frequency adjustment of name tokens (spec §9 asks for it; a shared
//! `Muhammad` currently counts as much as a shared `Xudoyberdiyev`).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::eval::SplitMix64;
use crate::index::trigrams_of;
use crate::model::Identifier;
use crate::normalize::{NormalizedName, basic_tokens, normalize_name};
use crate::score::{ScoreConfig, pair_similarity_normalized};

/// A party as it appears on one declaration; plain data so any source can fill it.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyRecord {
    /// Unique id of this appearance (e.g. `declaration-id/role`).
    pub record_id: String,
    /// The name as written.
    pub name: String,
    /// Country, alpha-2, when known.
    pub country: Option<String>,
    /// Identifiers (EORI, UZ_STIR, US_EIN, LEI, …), values normalised by [`Identifier::new`].
    pub identifiers: Vec<Identifier>,
    /// Address as one line, when known.
    pub address: Option<String>,
}

impl PartyRecord {
    /// Maps a validated declaration party. `None` when the party declares no name. Only a
    /// valid identifier of a checked scheme is kept: an unchecked (`OTHER`) or defective
    /// value could be a typo, and a conflicting identifier forbids a shared cluster.
    pub fn from_declared(
        record_id: String,
        party: &caravan_domain::declaration::model::Party,
    ) -> Option<PartyRecord> {
        use caravan_domain::id::PartyIdScheme;
        let name = party.name.as_deref()?.trim();
        if name.is_empty() {
            return None;
        }
        let identifiers = party
            .id
            .iter()
            .filter(|id| id.scheme != PartyIdScheme::Other)
            .filter_map(|id| Some((id.scheme, id.value.valid()?)))
            .filter_map(|(scheme, value)| Identifier::new(scheme.as_str(), value, None))
            .collect();
        let address = &party.address;
        let line: Vec<&str> = [&address.line, &address.city, &address.postcode]
            .into_iter()
            .filter_map(|part| part.as_deref().map(str::trim))
            .filter(|part| !part.is_empty())
            .collect();
        Some(PartyRecord {
            record_id,
            name: name.to_owned(),
            country: address
                .country
                .as_ref()
                .and_then(|c| c.valid())
                .map(ToString::to_string),
            identifiers,
            address: (!line.is_empty()).then(|| line.join(", ")),
        })
    }
}

/// Why a batch of records was refused; a refused batch changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ResolveError {
    /// Stable code: `empty_record_id`, `duplicate_record_id` or `unusable_name`.
    pub code: &'static str,
    /// What and where.
    pub message: String,
}

/// Thresholds and estimation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveConfig {
    /// Posterior match weight (bits) at or above which a pair is a link.
    pub link_threshold: f64,
    /// Posterior match weight (bits) below which two records may never share a cluster.
    pub cannot_link: f64,
    /// Two records whose identifiers of one scheme differ (and none agree) may never share
    /// a cluster, whatever their names say: registry numbers are issued once per party.
    pub identifier_conflict_cannot_link: bool,
    /// Blocks with more records than this are skipped.
    pub max_block: usize,
    /// Shared name trigrams needed for a trigram-only candidate pair.
    pub min_shared_trigrams: usize,
    /// Random pairs drawn to estimate u.
    pub u_sample_pairs: usize,
    /// EM iterations for m and the prior.
    pub em_iterations: usize,
    /// Seed of the u sample.
    pub seed: u64,
    /// Name scorer settings.
    pub score: ScoreConfig,
}

impl Default for ResolveConfig {
    fn default() -> ResolveConfig {
        ResolveConfig {
            link_threshold: 4.0,
            cannot_link: -4.0,
            identifier_conflict_cannot_link: true,
            max_block: 60,
            min_shared_trigrams: 4,
            u_sample_pairs: 20_000,
            em_iterations: 40,
            seed: 0x5EED_CA8A_0006,
            score: ScoreConfig::default(),
        }
    }
}

/// Number of compared fields and their levels (absent excluded).
const FIELDS: usize = 4;
const LEVELS: [usize; FIELDS] = [5, 2, 2, 3];
/// The level that carries no evidence.
const ABSENT: u8 = u8::MAX;
/// Field names for explanations.
pub const FIELD_NAMES: [&str; FIELDS] = ["name", "identifier", "country", "address"];

/// A comparison vector: one level per field, [`ABSENT`] when either side lacks it.
pub type Comparison = [u8; FIELDS];

/// A record prepared for comparison.
#[derive(Debug, Clone)]
struct Prepared {
    record_id: String,
    name: NormalizedName,
    key_set: Vec<String>,
    country: Option<String>,
    identifiers: Vec<Identifier>,
    address_tokens: Vec<String>,
}

fn prepare(record: &PartyRecord) -> Result<Prepared, ResolveError> {
    if record.record_id.trim().is_empty() {
        return Err(ResolveError {
            code: "empty_record_id",
            message: format!("record named {:?} has no record_id", record.name),
        });
    }
    let name = normalize_name(&record.name, true).map_err(|e| ResolveError {
        code: "unusable_name",
        message: format!("record {}: {e}", record.record_id),
    })?;
    let mut key_set: Vec<String> = name
        .tokens
        .iter()
        .filter_map(|t| t.keys.first().cloned())
        .collect();
    key_set.sort_unstable();
    let mut identifiers = record.identifiers.clone();
    identifiers.sort();
    identifiers.dedup();
    let mut address_tokens = record
        .address
        .as_deref()
        .map(basic_tokens)
        .unwrap_or_default();
    address_tokens.sort_unstable();
    address_tokens.dedup();
    Ok(Prepared {
        record_id: record.record_id.clone(),
        name,
        key_set,
        country: record
            .country
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty()),
        identifiers,
        address_tokens,
    })
}

fn compare(a: &Prepared, b: &Prepared, config: &ScoreConfig) -> Comparison {
    let name = if a.name.fingerprint == b.name.fingerprint {
        0
    } else if a.key_set == b.key_set {
        1
    } else {
        let s = pair_similarity_normalized(&a.name, &b.name, config);
        if s >= 0.92 {
            2
        } else if s >= 0.80 {
            3
        } else {
            4
        }
    };
    let mut shared_scheme = false;
    let mut agree = false;
    for x in &a.identifiers {
        for y in &b.identifiers {
            if x.scheme == y.scheme {
                shared_scheme = true;
                agree |= x.value == y.value;
            }
        }
    }
    let identifier = match (agree, shared_scheme) {
        (true, _) => 0,
        (false, true) => 1,
        _ => ABSENT,
    };
    let country = match (&a.country, &b.country) {
        (Some(x), Some(y)) => u8::from(x != y),
        _ => ABSENT,
    };
    let address = if a.address_tokens.is_empty() || b.address_tokens.is_empty() {
        ABSENT
    } else {
        let shared = a
            .address_tokens
            .iter()
            .filter(|t| b.address_tokens.binary_search(t).is_ok())
            .count();
        let union = a.address_tokens.len() + b.address_tokens.len() - shared;
        let jaccard = shared as f64 / union as f64;
        if jaccard >= 0.7 {
            0
        } else if jaccard >= 0.3 {
            1
        } else {
            2
        }
    };
    [name, identifier, country, address]
}

/// Estimated m and u probabilities and the prior; the match weights follow from them.
#[derive(Debug, Clone, PartialEq)]
pub struct FsModel {
    /// P(level | match) per field and level.
    pub m: [Vec<f64>; FIELDS],
    /// P(level | non-match) per field and level.
    pub u: [Vec<f64>; FIELDS],
    /// Share of blocked candidate pairs that are matches.
    pub prior: f64,
}

const FLOOR: f64 = 1e-4;

impl FsModel {
    /// Estimates the model on `records`: u from seeded random pairs, m and the prior by EM
    /// over the blocked candidate pairs. Deterministic for the records (in any order) and
    /// the seed.
    pub fn estimate(
        records: &[PartyRecord],
        config: &ResolveConfig,
    ) -> Result<FsModel, ResolveError> {
        let prepared = prepare_batch(records, &HashSet::new())?;
        let n = prepared.len();
        let mut u: [Vec<f64>; FIELDS] = LEVELS.map(|l| vec![1.0; l]);
        if n >= 2 {
            let mut rng = SplitMix64::new(config.seed);
            for _ in 0..config.u_sample_pairs {
                let i = rng.below(n);
                let j = rng.below(n);
                if i == j {
                    continue;
                }
                let c = compare(&prepared[i], &prepared[j], &config.score);
                for (f, &level) in c.iter().enumerate() {
                    if level != ABSENT {
                        u[f][usize::from(level)] += 1.0;
                    }
                }
            }
        }
        for field in &mut u {
            normalise(field);
        }
        let mut m: [Vec<f64>; FIELDS] = [
            vec![0.45, 0.25, 0.15, 0.10, 0.05],
            vec![0.9, 0.1],
            vec![0.9, 0.1],
            vec![0.5, 0.3, 0.2],
        ];
        let mut prior = 0.1;
        let mut blocks = Blocks::default();
        let all: Vec<u32> = (0..n as u32).collect();
        for (i, p) in prepared.iter().enumerate() {
            blocks.insert(i as u32, p);
        }
        let pairs = blocks.candidate_pairs(&all, config);
        let vectors: Vec<Comparison> = pairs
            .iter()
            .map(|&(i, j)| compare(&prepared[i as usize], &prepared[j as usize], &config.score))
            .collect();
        if !vectors.is_empty() {
            for _ in 0..config.em_iterations {
                let mut m_acc: [Vec<f64>; FIELDS] = LEVELS.map(|l| vec![0.0; l]);
                let mut total = 0.0;
                for c in &vectors {
                    let (mut lm, mut lu) = (prior, 1.0 - prior);
                    for (f, &level) in c.iter().enumerate() {
                        if level != ABSENT {
                            lm *= m[f][usize::from(level)];
                            lu *= u[f][usize::from(level)];
                        }
                    }
                    let p = lm / (lm + lu);
                    total += p;
                    for (f, &level) in c.iter().enumerate() {
                        if level != ABSENT {
                            m_acc[f][usize::from(level)] += p;
                        }
                    }
                }
                for (f, acc) in m_acc.into_iter().enumerate() {
                    if acc.iter().sum::<f64>() > 0.0 {
                        m[f] = acc;
                        normalise(&mut m[f]);
                    }
                }
                prior = (total / vectors.len() as f64).clamp(FLOOR, 1.0 - FLOOR);
            }
        }
        Ok(FsModel { m, u, prior })
    }

    /// Posterior match weight in bits of one comparison vector.
    pub fn weight(&self, c: &Comparison) -> f64 {
        let mut w = (self.prior / (1.0 - self.prior)).log2();
        for (f, &level) in c.iter().enumerate() {
            if level != ABSENT {
                let l = usize::from(level);
                w += (self.m[f][l] / self.u[f][l]).log2();
            }
        }
        w
    }
}

fn normalise(values: &mut [f64]) {
    let sum: f64 = values.iter().sum();
    for v in values.iter_mut() {
        *v = (*v / sum).max(FLOOR);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BlockKey {
    Key(String),
    Id(String, String),
    Trigram(u64),
}

#[derive(Debug, Default, Clone)]
struct Blocks {
    postings: HashMap<BlockKey, Vec<u32>>,
    of_record: Vec<Vec<BlockKey>>,
}

impl Blocks {
    fn insert(&mut self, seq: u32, p: &Prepared) {
        let mut keys = Vec::new();
        let mut trigrams = Vec::new();
        for token in p.name.tokens.iter().filter(|t| !t.stop) {
            keys.extend(token.keys.iter().cloned().map(BlockKey::Key));
            if let Some(v) = token.variants.first() {
                trigrams_of(v, &mut trigrams);
            }
        }
        keys.extend(
            p.identifiers
                .iter()
                .map(|i| BlockKey::Id(i.scheme.clone(), i.value.clone())),
        );
        trigrams.sort_unstable();
        trigrams.dedup();
        keys.extend(trigrams.into_iter().map(BlockKey::Trigram));
        let mut seen = HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        for k in &keys {
            self.postings.entry(k.clone()).or_default().push(seq);
        }
        debug_assert_eq!(self.of_record.len(), seq as usize);
        self.of_record.push(keys);
    }

    /// Sorted pairs `(i, j)`, `i < j`, with at least one of `new` in each.
    fn candidate_pairs(&self, new: &[u32], config: &ResolveConfig) -> Vec<(u32, u32)> {
        let mut strong: HashSet<(u32, u32)> = HashSet::new();
        let mut trigram_counts: HashMap<(u32, u32), usize> = HashMap::new();
        let new_set: HashSet<u32> = new.iter().copied().collect();
        for &i in new {
            for key in &self.of_record[i as usize] {
                let members = &self.postings[key];
                if members.len() > config.max_block {
                    continue;
                }
                for &j in members {
                    // A pair of two new records is visited from its smaller member only.
                    if j == i || (new_set.contains(&j) && j < i) {
                        continue;
                    }
                    let pair = (i.min(j), i.max(j));
                    match key {
                        BlockKey::Trigram(_) => *trigram_counts.entry(pair).or_default() += 1,
                        _ => {
                            strong.insert(pair);
                        }
                    }
                }
            }
        }
        strong.extend(
            trigram_counts
                .into_iter()
                .filter(|&(_, n)| n >= config.min_shared_trigrams)
                .map(|(p, _)| p),
        );
        let mut pairs: Vec<(u32, u32)> = strong.into_iter().collect();
        pairs.sort_unstable();
        pairs
    }
}

fn prepare_batch(
    records: &[PartyRecord],
    known: &HashSet<String>,
) -> Result<Vec<Prepared>, ResolveError> {
    let mut prepared = records.iter().map(prepare).collect::<Result<Vec<_>, _>>()?;
    prepared.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    for w in prepared.windows(2) {
        if w[0].record_id == w[1].record_id {
            return Err(ResolveError {
                code: "duplicate_record_id",
                message: format!("record_id {} appears twice in the batch", w[0].record_id),
            });
        }
    }
    if let Some(p) = prepared.iter().find(|p| known.contains(&p.record_id)) {
        return Err(ResolveError {
            code: "duplicate_record_id",
            message: format!("record_id {} was resolved in an earlier batch", p.record_id),
        });
    }
    Ok(prepared)
}

/// A stable cluster id: the arrival sequence of the cluster's earliest record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(pub u32);

impl std::fmt::Display for ClusterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "E{:08}", self.0)
    }
}

/// Two clusters that existed before a batch were joined by it; `absorbed` is retired.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// The batch (0-based) that merged them.
    pub batch: u32,
    /// The older id, kept.
    pub kept: ClusterId,
    /// The younger id, no longer used.
    pub absorbed: ClusterId,
    /// The link that joined them.
    pub via: (String, String),
    /// Its match weight in bits.
    pub weight: f64,
}

/// Incremental resolver: a fixed model, the records seen so far, their clusters.
#[derive(Debug, Clone)]
pub struct Resolver {
    model: FsModel,
    config: ResolveConfig,
    records: Vec<Prepared>,
    by_id: HashMap<String, u32>,
    blocks: Blocks,
    parent: Vec<u32>,
    members: HashMap<u32, Vec<u32>>,
    scored: Vec<Vec<(u32, f64)>>,
    merges: Vec<Merge>,
    batches: u32,
}

impl Resolver {
    /// An empty resolver using `model`.
    pub fn new(model: FsModel, config: ResolveConfig) -> Resolver {
        Resolver {
            model,
            config,
            records: Vec::new(),
            by_id: HashMap::new(),
            blocks: Blocks::default(),
            parent: Vec::new(),
            members: HashMap::new(),
            scored: Vec::new(),
            merges: Vec::new(),
            batches: 0,
        }
    }

    /// Estimates a model on `records` and resolves them as the first batch.
    pub fn resolve(
        records: &[PartyRecord],
        config: ResolveConfig,
    ) -> Result<Resolver, ResolveError> {
        let model = FsModel::estimate(records, &config)?;
        let mut resolver = Resolver::new(model, config);
        resolver.add_batch(records)?;
        Ok(resolver)
    }

    /// The model in use.
    pub fn model(&self) -> &FsModel {
        &self.model
    }

    /// Merges of pre-existing clusters, in the order they happened.
    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn root(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
        }
        x
    }

    /// The cluster of a record, `None` for an unknown record id.
    pub fn cluster_of(&self, record_id: &str) -> Option<ClusterId> {
        self.by_id.get(record_id).map(|&s| ClusterId(self.root(s)))
    }

    /// Every record id with its cluster, in arrival order.
    pub fn assignments(&self) -> Vec<(String, ClusterId)> {
        (0..self.records.len() as u32)
            .map(|s| {
                (
                    self.records[s as usize].record_id.clone(),
                    ClusterId(self.root(s)),
                )
            })
            .collect()
    }

    /// Clusters and their record ids, by id.
    pub fn clusters(&self) -> BTreeMap<ClusterId, Vec<String>> {
        let mut out: BTreeMap<ClusterId, Vec<String>> = BTreeMap::new();
        for (record, cluster) in self.assignments() {
            out.entry(cluster).or_default().push(record);
        }
        out
    }

    /// The comparison vector and weight of two known records.
    pub fn explain(&self, a: &str, b: &str) -> Option<(Comparison, f64)> {
        let (&i, &j) = (self.by_id.get(a)?, self.by_id.get(b)?);
        let c = compare(
            &self.records[i as usize],
            &self.records[j as usize],
            &self.config.score,
        );
        Some((c, self.model.weight(&c)))
    }

    /// Adds a batch: its records (taken in `record_id` order) get arrival sequences, join or
    /// found clusters; existing clusters may merge (recorded) but never split or renumber.
    /// A refused batch changes nothing.
    pub fn add_batch(&mut self, records: &[PartyRecord]) -> Result<(), ResolveError> {
        let known: HashSet<String> = self.by_id.keys().cloned().collect();
        let prepared = prepare_batch(records, &known)?;
        let first_new = self.records.len() as u32;
        let mut new = Vec::with_capacity(prepared.len());
        for p in prepared {
            let seq = self.records.len() as u32;
            self.blocks.insert(seq, &p);
            self.by_id.insert(p.record_id.clone(), seq);
            self.records.push(p);
            self.parent.push(seq);
            self.members.insert(seq, vec![seq]);
            self.scored.push(Vec::new());
            new.push(seq);
        }
        let pairs = self.blocks.candidate_pairs(&new, &self.config);
        let mut links = Vec::new();
        for (i, j) in pairs {
            let c = compare(
                &self.records[i as usize],
                &self.records[j as usize],
                &self.config.score,
            );
            let w = self.model.weight(&c);
            let veto_weight = if self.config.identifier_conflict_cannot_link && c[1] == 1 {
                f64::NEG_INFINITY
            } else {
                w
            };
            self.scored[i as usize].push((j, veto_weight));
            self.scored[j as usize].push((i, veto_weight));
            if veto_weight >= self.config.link_threshold {
                links.push((w, i, j));
            }
        }
        links.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (w, i, j) in links {
            let (ri, rj) = (self.find(i), self.find(j));
            if ri == rj || self.vetoed(ri, rj) {
                continue;
            }
            let (kept, absorbed) = (ri.min(rj), ri.max(rj));
            self.parent[absorbed as usize] = kept;
            let moved = self.members.remove(&absorbed).unwrap_or_default();
            self.members.entry(kept).or_default().extend(moved);
            if absorbed < first_new {
                self.merges.push(Merge {
                    batch: self.batches,
                    kept: ClusterId(kept),
                    absorbed: ClusterId(absorbed),
                    via: (
                        self.records[i as usize].record_id.clone(),
                        self.records[j as usize].record_id.clone(),
                    ),
                    weight: w,
                });
            }
        }
        self.batches += 1;
        Ok(())
    }

    /// The chaining guard: true when a scored pair across clusters `a` and `b` is below the
    /// cannot-link bar, or the scored pairs across them average below the link threshold
    /// (average linkage: one strong link may not pull in a cluster the rest disagrees with).
    fn vetoed(&self, a: u32, b: u32) -> bool {
        let (small, other) = if self.members[&a].len() <= self.members[&b].len() {
            (a, b)
        } else {
            (b, a)
        };
        let (mut sum, mut n) = (0.0, 0usize);
        for &x in &self.members[&small] {
            for &(y, w) in &self.scored[x as usize] {
                if self.root(y) == other {
                    if w < self.config.cannot_link {
                        return true;
                    }
                    sum += w;
                    n += 1;
                }
            }
        }
        n > 0 && sum / (n as f64) < self.config.link_threshold
    }
}

/// Pairwise precision and recall of a predicted partition against the truth; both are
/// given as a label per record, in the same order.
pub fn pairwise_precision_recall<A: Eq + std::hash::Hash, B: Eq + std::hash::Hash>(
    predicted: &[A],
    truth: &[B],
) -> (f64, f64) {
    fn pairs_in<T: Eq + std::hash::Hash>(labels: &[T]) -> HashMap<&T, Vec<usize>> {
        let mut groups: HashMap<&T, Vec<usize>> = HashMap::new();
        for (i, l) in labels.iter().enumerate() {
            groups.entry(l).or_default().push(i);
        }
        groups
    }
    let choose2 = |n: usize| (n * n.saturating_sub(1) / 2) as f64;
    let predicted_pairs: f64 = pairs_in(predicted).values().map(|g| choose2(g.len())).sum();
    let true_pairs: f64 = pairs_in(truth).values().map(|g| choose2(g.len())).sum();
    let mut both = 0.0;
    for group in pairs_in(predicted).values() {
        let mut by_truth: HashMap<&B, usize> = HashMap::new();
        for &i in group {
            *by_truth.entry(&truth[i]).or_default() += 1;
        }
        both += by_truth.values().map(|&n| choose2(n)).sum::<f64>();
    }
    let precision = if predicted_pairs == 0.0 {
        1.0
    } else {
        both / predicted_pairs
    };
    let recall = if true_pairs == 0.0 {
        1.0
    } else {
        both / true_pairs
    };
    (precision, recall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use caravan_domain::declaration::model::{Address, Declared, Party, PartyId, PartyRole};
    use caravan_domain::id::CountryCode;
    use caravan_domain::id::PartyIdScheme;

    fn party(scheme: PartyIdScheme, value: Declared<String>) -> Party {
        Party {
            role: PartyRole::Importer,
            id: Some(PartyId { scheme, value }),
            name: Some(" Acme Freight LLC ".into()),
            address: Address {
                line: Some("12 Harbor Blvd".into()),
                city: Some("Newark".into()),
                postcode: None,
                country: Some(Declared::Valid(CountryCode::parse("us").expect("US"))),
                subdivision: None,
            },
            function_code: None,
        }
    }

    #[test]
    fn declared_parties_map_with_only_checked_identifiers() {
        let valid = party(PartyIdScheme::UsEin, Declared::Valid("12-3456789".into()));
        let record = PartyRecord::from_declared("d1/IM".into(), &valid).expect("named");
        assert_eq!(record.name, "Acme Freight LLC");
        assert_eq!(record.country.as_deref(), Some("US"));
        assert_eq!(record.address.as_deref(), Some("12 Harbor Blvd, Newark"));
        assert_eq!(record.identifiers.len(), 1);
        assert_eq!(record.identifiers[0].scheme, "US_EIN");
        assert_eq!(record.identifiers[0].value, "123456789");
        let defective = party(
            PartyIdScheme::UsEin,
            Declared::Defective {
                raw: "12-345678".into(),
                code: "ID_CHECK",
            },
        );
        let record = PartyRecord::from_declared("d2/IM".into(), &defective).expect("named");
        assert!(record.identifiers.is_empty());
        let other = party(PartyIdScheme::Other, Declared::Valid("X1".into()));
        let record = PartyRecord::from_declared("d3/IM".into(), &other).expect("named");
        assert!(record.identifiers.is_empty());
        let mut nameless = valid;
        nameless.name = Some("  ".into());
        assert_eq!(PartyRecord::from_declared("d4/IM".into(), &nameless), None);
    }
}
