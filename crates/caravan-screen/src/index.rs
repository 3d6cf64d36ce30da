//! Candidate retrieval (spec §5): character-trigram postings over every Latin spelling of
//! every list name, folded-key postings, and exact identifier lookups. A query scores only
//! the few hundred names that share enough of its trigrams or a key, not all 30,000.
//!
//! Postings that hold more than a twentieth of all names (at least 640, so a small list
//! keeps its mid-frequency trigrams) or, for keys, a twentieth, are skipped at query time:
//! they say nothing about which name is meant and cost the most. The spec's 20 % for
//! trigrams made a query over OFAC + UN traverse postings of 5,000 names.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::{EntryKind, ListEntry, ListVersion, NameKind, ScreeningList};
use crate::normalize::{NormalizedName, normalize_name};

/// The multiply-rotate hash of rustc (`FxHasher`): postings are looked up a few dozen
/// times per query with keys no attacker chooses (list trigrams), where SipHash's
/// flooding resistance costs more than the lookups themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// One indexed list name.
#[derive(Debug, Clone)]
pub struct IndexedName {
    /// Index into [`ScreenIndex::entries`].
    pub entry: u32,
    /// Primary, alias, …
    pub kind: NameKind,
    /// The name as published.
    pub text: String,
    /// Its normalised form.
    pub normalized: NormalizedName,
}

/// The in-memory index over one or more lists.
#[derive(Debug, Clone)]
pub struct ScreenIndex {
    /// The versions indexed.
    pub versions: Vec<ListVersion>,
    /// All entries of all lists.
    pub entries: Vec<ListEntry>,
    /// Which version (index into `versions`) each entry comes from.
    pub entry_version: Vec<u16>,
    /// All names.
    pub names: Vec<IndexedName>,
    /// For each name, the interned id of each of its tokens (same text, same id).
    pub token_ids: Vec<Vec<u32>>,
    /// Number of distinct token texts.
    pub n_distinct_tokens: usize,
    /// Trigram → (`start`, `len`) in `trigram_postings`, name ids ascending.
    trigrams: FastMap<u64, (u32, u32)>,
    trigram_postings: Vec<u32>,
    keys: FastMap<String, Vec<u32>>,
    identifiers: HashMap<(String, String), Vec<u32>>,
    trigram_limit: usize,
    key_limit: usize,
}

/// Reusable per-thread counters for [`ScreenIndex::candidates`], so a query allocates
/// nothing proportional to the index.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    counts: Vec<u16>,
    key_hits: Vec<u8>,
    /// Per name, the last query token (as a running stamp) that counted a key hit for it.
    key_stamp: Vec<u32>,
    stamp: u32,
    touched: Vec<u32>,
    /// Bit per name: in `touched`. Small enough for the first-level cache, where the
    /// long posting lists are checked against it.
    touched_bits: Vec<u64>,
    /// Posting lists (`start`, `len` in [`ScreenIndex`]'s flat postings) of the current
    /// query, shortest first.
    lists: Vec<(u32, u32)>,
    /// The screener's per-query memo of token similarities, keyed by list token id.
    pub(crate) tokens: TokenMemo,
}

impl Scratch {
    /// True when this scratch was made for an index of `index`'s shape.
    pub fn fits(&self, index: &ScreenIndex) -> bool {
        self.counts.len() == index.names.len() && self.tokens.stamp.len() == index.n_distinct_tokens
    }
}

/// Similarities of the current query's tokens with list tokens, computed once per query
/// and list token (list tokens recur across candidate names: `mohammad`, `trading`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenMemo {
    /// Per list token id: the query (as a running stamp) whose row `row` holds.
    stamp: Vec<u32>,
    row: Vec<u32>,
    current: u32,
    /// Rows of `n_query` similarity scores.
    pub(crate) scores: Vec<f64>,
    pub(crate) n_query: usize,
    /// The alignment's reused buffers.
    pub(crate) sims: Vec<f64>,
    pub(crate) pairs: Vec<(f64, u8, u8)>,
    pub(crate) rows: Vec<usize>,
}

impl TokenMemo {
    fn sized(n_tokens: usize) -> TokenMemo {
        TokenMemo {
            stamp: vec![0; n_tokens],
            row: vec![0; n_tokens],
            ..TokenMemo::default()
        }
    }

    /// Starts a query of `n_query` tokens: every memoised row is forgotten.
    pub(crate) fn start(&mut self, n_query: usize) {
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.current = 1;
        }
        self.scores.clear();
        self.n_query = n_query;
    }

    /// The row of list token `id`, if computed for this query.
    pub(crate) fn row(&self, id: u32) -> Option<usize> {
        (self.stamp[id as usize] == self.current).then(|| self.row[id as usize] as usize)
    }

    /// Appends the row of list token `id`; returns its number.
    pub(crate) fn push_row(&mut self, id: u32, scores: impl Iterator<Item = f64>) -> usize {
        let row = self.scores.len() / self.n_query.max(1);
        self.scores.extend(scores);
        self.stamp[id as usize] = self.current;
        self.row[id as usize] = row as u32;
        row
    }
}

/// A candidate name with the evidence that brought it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Index into [`ScreenIndex::names`].
    pub name: u32,
    /// Trigrams shared with the query.
    pub shared_trigrams: u16,
    /// Query tokens whose folded key the name holds.
    pub key_hits: u8,
}

/// Best first (a shared key counts as four trigrams), then by name; at most `cap`.
fn rank_and_cap(candidates: &mut Vec<Candidate>, cap: usize) {
    candidates.sort_by(|a, b| {
        (u32::from(b.key_hits) * 4 + u32::from(b.shared_trigrams))
            .cmp(&(u32::from(a.key_hits) * 4 + u32::from(a.shared_trigrams)))
            .then(a.name.cmp(&b.name))
    });
    candidates.truncate(cap);
}

/// Packs the trigrams of `"  variant "` into `out`.
pub fn trigrams_of(variant: &str, out: &mut Vec<u64>) {
    let mut window = [u64::from(b' '), u64::from(b' '), 0];
    for c in variant.chars().chain(std::iter::once(' ')) {
        window[2] = u64::from(u32::from(c));
        out.push((window[0] << 42) | (window[1] << 21) | window[2]);
        window[0] = window[1];
        window[1] = window[2];
    }
}

fn name_trigrams(name: &NormalizedName, primary_only: bool) -> Vec<u64> {
    let mut out = Vec::new();
    for token in &name.tokens {
        let variants = if primary_only {
            &token.variants[..token.variants.len().min(1)]
        } else {
            &token.variants[..]
        };
        for variant in variants {
            trigrams_of(variant, &mut out);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl ScreenIndex {
    /// Indexes the lists. Names that normalise to nothing are skipped (they cannot match).
    pub fn build(lists: &[ScreeningList]) -> ScreenIndex {
        let mut versions = Vec::new();
        let mut entries = Vec::new();
        let mut entry_version = Vec::new();
        let mut names = Vec::new();
        for (version_idx, list) in lists.iter().enumerate() {
            versions.push(list.version.clone());
            for entry in &list.entries {
                let entry_idx = entries.len() as u32;
                let strip = entry.kind != EntryKind::Person;
                for name in &entry.names {
                    let Ok(normalized) = normalize_name(&name.text, strip) else {
                        continue;
                    };
                    names.push(IndexedName {
                        entry: entry_idx,
                        kind: name.kind,
                        text: name.text.clone(),
                        normalized,
                    });
                }
                entries.push(entry.clone());
                entry_version.push(version_idx as u16);
            }
        }
        ScreenIndex::assemble(versions, entries, entry_version, names)
    }

    /// The index over already normalised names (from [`ScreenIndex::build`] or an index
    /// file): token ids, postings, identifier lookups and limits.
    pub(crate) fn assemble(
        versions: Vec<ListVersion>,
        entries: Vec<ListEntry>,
        entry_version: Vec<u16>,
        names: Vec<IndexedName>,
    ) -> ScreenIndex {
        let mut index = ScreenIndex {
            versions,
            entries,
            entry_version,
            names,
            token_ids: Vec::new(),
            n_distinct_tokens: 0,
            trigrams: FastMap::default(),
            trigram_postings: Vec::new(),
            keys: FastMap::default(),
            identifiers: HashMap::new(),
            trigram_limit: 0,
            key_limit: 0,
        };
        for (entry_idx, entry) in index.entries.iter().enumerate() {
            for id in &entry.identifiers {
                index
                    .identifiers
                    .entry((id.scheme.clone(), id.value.clone()))
                    .or_default()
                    .push(entry_idx as u32);
            }
        }
        let mut interned: FastMap<String, u32> = FastMap::default();
        for name in &index.names {
            let ids = name
                .normalized
                .tokens
                .iter()
                .map(|t| match interned.get(t.text.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = interned.len() as u32;
                        interned.insert(t.text.clone(), id);
                        id
                    }
                })
                .collect();
            index.token_ids.push(ids);
        }
        index.n_distinct_tokens = interned.len();
        let mut trigrams: FastMap<u64, Vec<u32>> = FastMap::default();
        for (name_idx, name) in index.names.iter().enumerate() {
            for trigram in name_trigrams(&name.normalized, false) {
                trigrams.entry(trigram).or_default().push(name_idx as u32);
            }
            let mut keys: Vec<&String> = name
                .normalized
                .tokens
                .iter()
                .flat_map(|t| &t.keys)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                match index.keys.get_mut(key.as_str()) {
                    Some(postings) => postings.push(name_idx as u32),
                    None => {
                        index.keys.insert(key.clone(), vec![name_idx as u32]);
                    }
                }
            }
        }
        let mut sorted: Vec<(u64, Vec<u32>)> = trigrams.into_iter().collect();
        sorted.sort_unstable_by_key(|(trigram, _)| *trigram);
        for (trigram, postings) in sorted {
            let start = index.trigram_postings.len() as u32;
            index.trigram_postings.extend_from_slice(&postings);
            index
                .trigrams
                .insert(trigram, (start, postings.len() as u32));
        }
        index.trigram_limit = (index.names.len() / 20).max(640);
        index.key_limit = (index.names.len() / 20).max(50);
        index
    }

    /// Approximate heap bytes of the index structures (names, tokens, postings), for the
    /// benchmark report; entries themselves are not counted.
    pub fn approx_heap_bytes(&self) -> usize {
        let names: usize = self
            .names
            .iter()
            .map(|n| {
                n.text.capacity()
                    + n.normalized.fingerprint.capacity()
                    + n.normalized
                        .tokens
                        .iter()
                        .map(|t| {
                            t.text.capacity()
                                + t.variants.iter().map(|v| v.capacity() + 24).sum::<usize>()
                                + t.keys.iter().map(|k| k.capacity() + 24).sum::<usize>()
                                + std::mem::size_of_val(t)
                        })
                        .sum::<usize>()
                    + std::mem::size_of_val(n)
            })
            .sum();
        let trigrams = self.trigram_postings.capacity() * 4 + self.trigrams.len() * 24;
        let keys: usize = self
            .keys
            .iter()
            .map(|(k, p)| k.capacity() + p.capacity() * 4 + 56)
            .sum();
        names + trigrams + keys
    }

    /// Number of distinct trigrams and keys (for reports).
    pub fn n_postings(&self) -> (usize, usize) {
        (self.trigrams.len(), self.keys.len())
    }

    /// A scratch sized for this index.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            counts: vec![0; self.names.len()],
            key_hits: vec![0; self.names.len()],
            key_stamp: vec![0; self.names.len()],
            stamp: 0,
            touched: Vec::new(),
            touched_bits: vec![0; self.names.len().div_ceil(64)],
            lists: Vec::new(),
            tokens: TokenMemo::sized(self.n_distinct_tokens),
        }
    }

    /// Entries holding identifier `(scheme, value)`.
    pub fn entries_with_identifier(&self, scheme: &str, value: &str) -> &[u32] {
        self.identifiers
            .get(&(scheme.to_owned(), value.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Candidate names for a query: those sharing at least `min_share` of the query's
    /// primary trigrams, or a folded key, best first, at most `cap`.
    pub fn candidates(
        &self,
        query: &NormalizedName,
        min_share: f64,
        cap: usize,
        scratch: &mut Scratch,
    ) -> Vec<Candidate> {
        if !scratch.fits(self) {
            *scratch = self.scratch();
        }
        let primary = name_trigrams(query, true).len().max(1);
        let needed = ((primary as f64) * min_share).ceil().max(1.0) as u16;
        scratch.lists.clear();
        for trigram in name_trigrams(query, false) {
            if let Some(&(start, len)) = self.trigrams.get(&trigram)
                && len as usize <= self.trigram_limit
            {
                scratch.lists.push((start, len));
            }
        }
        // Prefix filtering: a name in `needed` of the query's lists is in at least one of
        // the shortest `lists - needed + 1`, so only those are scanned; the longest
        // `needed - 1` are consulted only for names already found (here or by key).
        scratch
            .lists
            .sort_unstable_by_key(|&(start, len)| (len, start));
        let n_scanned = scratch.lists.len().saturating_sub(usize::from(needed) - 1);
        let Scratch {
            counts,
            key_hits,
            key_stamp,
            stamp,
            touched,
            touched_bits,
            lists,
            ..
        } = scratch;
        for &(start, len) in &lists[..n_scanned] {
            for &name in &self.trigram_postings[start as usize..(start + len) as usize] {
                let count = &mut counts[name as usize];
                if *count == 0 {
                    touched.push(name);
                    touched_bits[name as usize / 64] |= 1 << (name % 64);
                }
                *count = count.saturating_add(1);
            }
        }
        for token in &query.tokens {
            let mut keys: Vec<&String> = token.keys.iter().collect();
            keys.sort_unstable();
            keys.dedup();
            *stamp = stamp.wrapping_add(1);
            if *stamp == 0 {
                key_stamp.iter_mut().for_each(|s| *s = 0);
                *stamp = 1;
            }
            for key in keys {
                let Some(postings) = self.keys.get(key) else {
                    continue;
                };
                if postings.len() > self.key_limit {
                    continue;
                }
                for &name in postings {
                    if key_stamp[name as usize] == *stamp {
                        continue;
                    }
                    key_stamp[name as usize] = *stamp;
                    if touched_bits[name as usize / 64] & (1 << (name % 64)) == 0 {
                        touched.push(name);
                        touched_bits[name as usize / 64] |= 1 << (name % 64);
                    }
                    let hits = &mut key_hits[name as usize];
                    *hits = hits.saturating_add(1);
                }
            }
        }
        for &(start, len) in &lists[n_scanned..] {
            for &name in &self.trigram_postings[start as usize..(start + len) as usize] {
                if touched_bits[name as usize / 64] & (1 << (name % 64)) != 0 {
                    let count = &mut counts[name as usize];
                    *count = count.saturating_add(1);
                }
            }
        }
        // A key shared by one token of a long name is no reason to score it: key-only
        // candidates must share keys with at least half of the query's tokens.
        let keys_needed = query
            .tokens
            .iter()
            .filter(|t| !t.stop)
            .count()
            .div_ceil(2)
            .max(1);
        let keys_needed = u8::try_from(keys_needed).unwrap_or(u8::MAX);
        let mut out: Vec<Candidate> = Vec::new();
        for &name in touched.iter() {
            let shared = counts[name as usize];
            let hits = key_hits[name as usize];
            if shared >= needed || hits >= keys_needed {
                out.push(Candidate {
                    name,
                    shared_trigrams: shared,
                    key_hits: hits,
                });
            }
            counts[name as usize] = 0;
            key_hits[name as usize] = 0;
            touched_bits[name as usize / 64] = 0;
        }
        touched.clear();
        rank_and_cap(&mut out, cap);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{SplitMix64, innocent_name, perturb};
    use crate::parse::lookout_csv;
    use proptest::prelude::*;

    /// Names of persons and companies, some sharing surnames and company words.
    fn test_index() -> ScreenIndex {
        let mut rng = SplitMix64::new(7);
        let mut csv = String::from("list_id,entry_id,name,entry_kind\n");
        for i in 0..3000 {
            let name = if i % 3 == 0 {
                format!("{} Trading", innocent_name(&mut rng))
            } else {
                innocent_name(&mut rng)
            };
            csv.push_str(&format!("t,E{i},\"{name}\",person\n"));
        }
        let list = lookout_csv::parse(csv.as_bytes(), "test").expect("list");
        ScreenIndex::build(&[list])
    }

    /// The retrieval without prefix filtering: every posting list of the query is scanned.
    fn full_scan(
        index: &ScreenIndex,
        query: &NormalizedName,
        min_share: f64,
        cap: usize,
    ) -> Vec<Candidate> {
        let primary = name_trigrams(query, true).len().max(1);
        let mut counts: HashMap<u32, u16> = HashMap::new();
        for trigram in name_trigrams(query, false) {
            if let Some(&(start, len)) = index.trigrams.get(&trigram)
                && len as usize <= index.trigram_limit
            {
                for &name in &index.trigram_postings[start as usize..(start + len) as usize] {
                    *counts.entry(name).or_default() += 1;
                }
            }
        }
        let mut key_hits: HashMap<u32, u8> = HashMap::new();
        for token in &query.tokens {
            let mut names: Vec<u32> = Vec::new();
            for key in &token.keys {
                if let Some(postings) = index.keys.get(key)
                    && postings.len() <= index.key_limit
                {
                    names.extend(postings);
                }
            }
            names.sort_unstable();
            names.dedup();
            for name in names {
                *key_hits.entry(name).or_default() += 1;
            }
        }
        let needed = ((primary as f64) * min_share).ceil().max(1.0) as u16;
        let keys_needed = query
            .tokens
            .iter()
            .filter(|t| !t.stop)
            .count()
            .div_ceil(2)
            .max(1) as u8;
        let mut names: Vec<u32> = counts.keys().chain(key_hits.keys()).copied().collect();
        names.sort_unstable();
        names.dedup();
        let mut out: Vec<Candidate> = names
            .into_iter()
            .map(|name| Candidate {
                name,
                shared_trigrams: counts.get(&name).copied().unwrap_or(0),
                key_hits: key_hits.get(&name).copied().unwrap_or(0),
            })
            .filter(|c| c.shared_trigrams >= needed || c.key_hits >= keys_needed)
            .collect();
        rank_and_cap(&mut out, cap);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn prefix_filtering_finds_exactly_the_full_scan_candidates(
            seed in any::<u64>(),
            share in prop_oneof![Just(0.4), 0.05f64..0.9],
            cap in prop_oneof![Just(200usize), 1usize..50],
        ) {
            static INDEX: std::sync::OnceLock<ScreenIndex> = std::sync::OnceLock::new();
            let index = INDEX.get_or_init(test_index);
            let mut rng = SplitMix64::new(seed);
            let listed = &index.names[rng.below(index.names.len())].text;
            let queries = [perturb(listed, &mut rng).0, innocent_name(&mut rng), listed.clone()];
            let mut scratch = index.scratch();
            for query in queries {
                let Ok(query) = normalize_name(&query, true) else { continue };
                let fast = index.candidates(&query, share, cap, &mut scratch);
                prop_assert_eq!(&fast, &full_scan(index, &query, share, cap));
                // The scratch is left clean for the next query.
                prop_assert!(scratch.counts.iter().all(|c| *c == 0));
                prop_assert!(scratch.touched_bits.iter().all(|b| *b == 0));
            }
        }
    }
}
