//! Screening a party against the index (spec §5–§7): candidates, name scores over every
//! name of every candidate entry, evidence from identifiers, country, birth date, numbers
//! and entry kind, bands, and an explanation per hit that is deterministic for the same
//! party, list version and configuration.

use crate::error::NameError;
use crate::index::{FastMap, Scratch, ScreenIndex};
use crate::model::{Address, EntryKind, FuzzyDate, Identifier, ListEntry, NameKind, hex};
use crate::normalize::{NormalizedName, normalize_name};
use crate::score::{
    ALIGN_MAX_TOKENS, Band, KEY_VERSION, SCORER_VERSION, ScoreConfig, align, compare_names,
    describe_line, improve_by_joining, joined_alternative, numbers_penalty, token_similarity,
};

/// Share of the query's trigrams a name must hold to be a candidate (spec §5).
pub const MIN_TRIGRAM_SHARE: f64 = 0.4;

/// The role of a party on a declaration, from UN/EDIFACT 3035.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyRole {
    /// CZ, EX.
    Shipper,
    /// CN, IM.
    Consignee,
    /// N1.
    NotifyParty,
    /// MF.
    Manufacturer,
    /// CA.
    Carrier,
    /// DT.
    Declarant,
}

impl PartyRole {
    /// From a UN/EDIFACT 3035 party function code.
    pub fn from_edifact_3035(code: &str) -> Option<PartyRole> {
        Some(match code {
            "CZ" | "EX" => PartyRole::Shipper,
            "CN" | "IM" => PartyRole::Consignee,
            "N1" => PartyRole::NotifyParty,
            "MF" => PartyRole::Manufacturer,
            "CA" => PartyRole::Carrier,
            "DT" => PartyRole::Declarant,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PartyRole::Shipper => "shipper",
            PartyRole::Consignee => "consignee",
            PartyRole::NotifyParty => "notify_party",
            PartyRole::Manufacturer => "manufacturer",
            PartyRole::Carrier => "carrier",
            PartyRole::Declarant => "declarant",
        }
    }
}

/// A party to screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreenedParty {
    /// Role on the declaration, when known.
    pub role: Option<PartyRole>,
    /// Name as declared.
    pub name: String,
    /// Address.
    pub address: Option<Address>,
    /// Country (alpha-2).
    pub country: Option<String>,
    /// Identifiers.
    pub identifiers: Vec<Identifier>,
    /// Date of birth (persons), when declared.
    pub birth_date: Option<FuzzyDate>,
}

/// One line of evidence and what it did to the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// What was compared and found.
    pub what: String,
    /// Additive effect (negative lowers the score); 0 when only informative.
    pub effect: f64,
}

/// A hit: a list entry that scored at or above the review threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// List id.
    pub list_id: String,
    /// SHA-256 (hex) of the list version.
    pub list_sha256: String,
    /// Publisher date of the list version.
    pub list_date: Option<String>,
    /// Entry id in the list.
    pub entry_id: String,
    /// Index of the entry in the screener's index.
    pub entry_index: u32,
    /// The entry's content hash (hex), for suppressions.
    pub entry_content_hash: String,
    /// Kind of entry.
    pub entry_kind: EntryKind,
    /// The list name that matched best.
    pub matched_name: String,
    /// Its kind.
    pub matched_name_kind: NameKind,
    /// Final score in [0, 1].
    pub score: f64,
    /// Name score before evidence.
    pub name_score: f64,
    /// Band.
    pub band: Band,
    /// Declared name's fingerprint.
    pub query_fingerprint: String,
    /// Token lines of the best alignment.
    pub token_lines: Vec<String>,
    /// Evidence lines.
    pub evidence: Vec<Evidence>,
}

impl Hit {
    /// The explanation as text (spec §7), one fact per line.
    pub fn explain(&self, config: &ScoreConfig) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "hit        {:?} -> {}/{} {:?} ({})\n",
            self.query_fingerprint,
            self.list_id,
            self.entry_id,
            self.matched_name,
            match self.matched_name_kind {
                NameKind::Primary => "primary",
                NameKind::Alias => "alias",
                NameKind::Weak => "weak alias",
                NameKind::Former => "former name",
                NameKind::OriginalScript => "original script",
            }
        ));
        out.push_str(&format!(
            "list       {} {} sha256:{}…  scorer {SCORER_VERSION}  key {KEY_VERSION}  config {}\n",
            self.list_id,
            self.list_date.as_deref().unwrap_or("-"),
            &self.list_sha256[..12.min(self.list_sha256.len())],
            config.fingerprint()
        ));
        out.push_str(&format!(
            "score      {:.2} {} (name {:.2})\n",
            self.score,
            self.band.as_str(),
            self.name_score
        ));
        for (i, line) in self.token_lines.iter().enumerate() {
            let label = if i == 0 { "tokens" } else { "" };
            out.push_str(&format!("{label:<10} {line}\n"));
        }
        for (i, evidence) in self.evidence.iter().enumerate() {
            let label = if i == 0 { "evidence" } else { "" };
            out.push_str(&format!(
                "{label:<10} {:<40} {:+.2}\n",
                evidence.what, evidence.effect
            ));
        }
        out
    }
}

/// The engine: an index and a configuration.
#[derive(Debug, Clone)]
pub struct Screener {
    /// The index over the active list versions.
    pub index: ScreenIndex,
    /// Thresholds and weights.
    pub config: ScoreConfig,
}

/// The factor a list name's kind puts on its score. Weak aliases count ×0.8 (spec §6.2)
/// when they are a single token: UN "Low" and FtM weak aliases of one word are nicknames
/// and bare given names (`Asad`, `Terminator`), which alone say little. A weak alias of
/// several tokens is an alternative spelling of a full name and counts like an alias; this
/// deviation from the spec is what lets a re-spelt weak alias reach the strong band.
pub fn name_weight(kind: NameKind, n_tokens: usize) -> f64 {
    match kind {
        NameKind::Weak if n_tokens > 1 => 1.0,
        other => other.weight(),
    }
}

fn kind_fits_role(kind: EntryKind, role: Option<PartyRole>) -> bool {
    match (kind, role) {
        (EntryKind::Vessel | EntryKind::Aircraft, Some(role)) => role == PartyRole::Carrier,
        _ => true,
    }
}

impl Screener {
    /// Wraps an index.
    pub fn new(index: ScreenIndex, config: ScoreConfig) -> Screener {
        Screener { index, config }
    }

    /// Screens one party: hits at or above the review threshold, best first.
    pub fn screen(
        &self,
        party: &ScreenedParty,
        scratch: &mut Scratch,
    ) -> Result<Vec<Hit>, NameError> {
        let query = normalize_name(&party.name, true)?;
        Ok(self.screen_normalized(party, &query, scratch, self.config.review))
    }

    /// Screens with an explicit reporting floor (evaluation asks for every score).
    pub fn screen_normalized(
        &self,
        party: &ScreenedParty,
        query: &NormalizedName,
        scratch: &mut Scratch,
        floor: f64,
    ) -> Vec<Hit> {
        let config = &self.config;
        let mut hits = Vec::new();
        for scored in self.score_entries(party, query, scratch, floor) {
            let entry_idx = scored.entry;
            let entry = &self.index.entries[entry_idx as usize];
            let band = config.band(scored.score).unwrap_or(Band::Review);
            let version =
                &self.index.versions[self.index.entry_version[entry_idx as usize] as usize];
            let (matched_name, matched_name_kind, token_lines) = match scored.name {
                Some(name_idx) => {
                    let name = &self.index.names[name_idx as usize];
                    let list_tokens = &name.normalized.tokens;
                    // The alignment behind the score, with its lines, for the winner only.
                    let plain = compare_names(&query.tokens, list_tokens, config);
                    let matched = improve_by_joining(plain, &query.tokens, list_tokens, config);
                    debug_assert_eq!(matched.score.to_bits(), scored.raw.to_bits());
                    let lines = matched
                        .lines
                        .iter()
                        .map(|line| describe_line(line, &query.tokens, list_tokens))
                        .collect();
                    (name.text.clone(), name.kind, lines)
                }
                None => (
                    entry.primary_name().to_owned(),
                    NameKind::Primary,
                    Vec::new(),
                ),
            };
            hits.push(Hit {
                list_id: version.list_id.clone(),
                list_sha256: hex(&version.sha256),
                list_date: version.publisher_date.clone(),
                entry_id: entry.entry_id.clone(),
                entry_index: entry_idx,
                entry_content_hash: hex(&entry.content_hash),
                entry_kind: entry.kind,
                matched_name,
                matched_name_kind,
                score: scored.score,
                name_score: scored.name_score,
                band,
                query_fingerprint: query.fingerprint.clone(),
                token_lines,
                evidence: scored.evidence,
            });
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.list_id.cmp(&b.list_id))
                .then_with(|| a.entry_id.cmp(&b.entry_id))
        });
        hits
    }

    /// The list id of an entry (index into [`ScreenIndex::entries`]).
    pub fn list_id_of(&self, entry: u32) -> &str {
        &self.index.versions[self.index.entry_version[entry as usize] as usize].list_id
    }

    /// Screens one party for scores only: the entries [`Screener::screen`] would report,
    /// in the same order and with the same scores, without writing explanations. Batch
    /// screening uses this; an officer's single screening uses [`Screener::screen`].
    pub fn screen_scores(
        &self,
        party: &ScreenedParty,
        scratch: &mut Scratch,
    ) -> Result<Vec<EntryScore>, NameError> {
        let query = normalize_name(&party.name, true)?;
        let mut scored: Vec<EntryScore> = self
            .score_entries(party, &query, scratch, self.config.review)
            .into_iter()
            .map(|s| EntryScore {
                entry_index: s.entry,
                score: s.score,
            })
            .collect();
        scored.sort_by(|a, b| {
            let entry = |e: &EntryScore| &self.index.entries[e.entry_index as usize].entry_id;
            b.score
                .total_cmp(&a.score)
                .then_with(|| {
                    self.list_id_of(a.entry_index)
                        .cmp(self.list_id_of(b.entry_index))
                })
                .then_with(|| entry(a).cmp(entry(b)))
        });
        Ok(scored)
    }

    /// Screens many names (no other party facts) on up to `threads` threads with
    /// [`Screener::screen_scores`]; results in input order whatever the scheduling. Work
    /// is handed out in small blocks, so a thread slowed by a neighbour on a shared
    /// machine does not hold the others up.
    pub fn screen_names(
        &self,
        names: &[String],
        threads: usize,
    ) -> Vec<Result<Vec<EntryScore>, NameError>> {
        const BLOCK: usize = 256;
        let n_blocks = names.len().div_ceil(BLOCK);
        let next = std::sync::atomic::AtomicUsize::new(0);
        type Block = (usize, Vec<Result<Vec<EntryScore>, NameError>>);
        let work = || {
            let mut scratch = self.index.scratch();
            let mut done: Vec<Block> = Vec::new();
            loop {
                let block = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if block >= n_blocks {
                    break;
                }
                let part = &names[block * BLOCK..((block + 1) * BLOCK).min(names.len())];
                let results = part
                    .iter()
                    .map(|name| {
                        let party = ScreenedParty {
                            name: name.clone(),
                            ..ScreenedParty::default()
                        };
                        self.screen_scores(&party, &mut scratch)
                    })
                    .collect();
                done.push((block, results));
            }
            done
        };
        let threads = threads.clamp(1, n_blocks.max(1));
        let mut blocks: Vec<Block> = if threads == 1 {
            work()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        blocks.sort_unstable_by_key(|(block, _)| *block);
        blocks
            .into_iter()
            .flat_map(|(_, results)| results)
            .collect()
    }

    /// Every entry whose score reaches `floor`, ascending by entry index, with the
    /// evidence that moved its score. Candidate names are scored through the per-query
    /// token memo and [`align`]; the alignment's lines are written later, for reported
    /// hits only.
    fn score_entries(
        &self,
        party: &ScreenedParty,
        query: &NormalizedName,
        scratch: &mut Scratch,
        floor: f64,
    ) -> Vec<ScoredEntry> {
        let config = &self.config;
        let candidates =
            self.index
                .candidates(query, MIN_TRIGRAM_SHARE, config.max_candidates, scratch);
        // Best name per entry: (entry, weighted, raw, name), in first-seen order.
        let mut best: Vec<(u32, f64, f64, u32)> = Vec::with_capacity(candidates.len());
        let mut best_of: FastMap<u32, usize> = FastMap::default();
        let n_query = query.tokens.len();
        let memo = &mut scratch.tokens;
        memo.start(n_query);
        for candidate in &candidates {
            let name = &self.index.names[candidate.name as usize];
            let ids = &self.index.token_ids[candidate.name as usize];
            let list_tokens = &name.normalized.tokens;
            memo.rows.clear();
            for (li, &id) in ids.iter().enumerate() {
                let row = match memo.row(id) {
                    Some(row) => row,
                    None => memo.push_row(
                        id,
                        query
                            .tokens
                            .iter()
                            .map(|q| token_similarity(q, &list_tokens[li], config).score),
                    ),
                };
                memo.rows.push(row);
            }
            let n_list = list_tokens.len();
            memo.sims.clear();
            for qi in 0..n_query {
                for li in 0..n_list {
                    let value = memo.scores[memo.rows[li] * n_query + qi];
                    memo.sims.push(value);
                }
            }
            let raw = match align(
                &query.tokens,
                list_tokens,
                &memo.sims,
                config,
                &mut memo.pairs,
            ) {
                Some(plain) => {
                    let open = |mask: u64, n: usize| -> [bool; ALIGN_MAX_TOKENS] {
                        let mut flags = [false; ALIGN_MAX_TOKENS];
                        for (i, flag) in flags.iter_mut().enumerate().take(n) {
                            *flag = mask & (1u64 << i) != 0;
                        }
                        flags
                    };
                    let (query_open, list_open) = (
                        open(plain.query_open, n_query),
                        open(plain.list_open, n_list),
                    );
                    joined_alternative(
                        plain.score,
                        &query.tokens,
                        list_tokens,
                        &query_open[..n_query],
                        &list_open[..n_list],
                        config,
                    )
                    .map_or(plain.score, |alternative| alternative.score)
                }
                None => {
                    let plain = compare_names(&query.tokens, list_tokens, config);
                    improve_by_joining(plain, &query.tokens, list_tokens, config).score
                }
            };
            let weighted = (raw * name_weight(name.kind, name.normalized.tokens.len())
                - numbers_penalty(query, &name.normalized))
            .max(0.0);
            match best_of.get(&name.entry) {
                Some(&pos) => {
                    if weighted > best[pos].1 {
                        best[pos] = (name.entry, weighted, raw, candidate.name);
                    }
                }
                None => {
                    best_of.insert(name.entry, best.len());
                    best.push((name.entry, weighted, raw, candidate.name));
                }
            }
        }
        // Entries sharing an identifier are always candidates.
        let mut entry_ids: Vec<u32> = best.iter().map(|b| b.0).collect();
        for id in &party.identifiers {
            for &entry in self.index.entries_with_identifier(&id.scheme, &id.value) {
                if !best_of.contains_key(&entry) {
                    entry_ids.push(entry);
                }
            }
        }
        entry_ids.sort_unstable();
        entry_ids.dedup();
        let mut out = Vec::new();
        for entry_idx in entry_ids {
            let entry = &self.index.entries[entry_idx as usize];
            let (name_score, raw, name) = match best_of.get(&entry_idx) {
                Some(&pos) => (best[pos].1, best[pos].2, Some(best[pos].3)),
                None => (0.0, 0.0, None),
            };
            let (score, evidence) = evidence_score(party, entry, name_score);
            if score < floor {
                continue;
            }
            out.push(ScoredEntry {
                entry: entry_idx,
                score,
                name_score,
                raw,
                name,
                evidence,
            });
        }
        out
    }
}

/// The evidence of party facts against an entry (spec §6.3) and the score it leaves:
/// identifiers lift the name score, disagreeing country, birth date and entry kind lower it.
fn evidence_score(
    party: &ScreenedParty,
    entry: &ListEntry,
    name_score: f64,
) -> (f64, Vec<Evidence>) {
    let mut evidence = Vec::new();
    let mut id_score: f64 = 0.0;
    for id in &party.identifiers {
        for listed in entry.identifiers.iter().filter(|l| l.scheme == id.scheme) {
            let countries_agree = match (&id.country, &listed.country) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if listed.value == id.value && countries_agree {
                let value = if listed.is_registry() { 0.95 } else { 0.85 };
                id_score = id_score.max(value);
                evidence.push(Evidence {
                    what: format!("{} {} = listed", id.scheme, id.value),
                    effect: 0.0,
                });
            } else if listed.value != id.value {
                evidence.push(Evidence {
                    what: format!("{} {} ≠ listed {}", id.scheme, id.value, listed.value),
                    effect: -0.30,
                });
            }
        }
    }
    let mut score = name_score.max(id_score);
    if let Some(country) = &party.country
        && !entry.countries.is_empty()
    {
        if entry.countries.iter().any(|c| &c.code == country) {
            evidence.push(Evidence {
                what: format!("country {country} listed"),
                effect: 0.0,
            });
        } else {
            let listed: Vec<&str> = entry.countries.iter().map(|c| c.code.as_str()).collect();
            let mut listed = listed;
            listed.sort_unstable();
            listed.dedup();
            evidence.push(Evidence {
                what: format!("country {country} ∉ {}", listed.join(",")),
                effect: -0.20,
            });
        }
    }
    if let Some(dob) = &party.birth_date
        && !entry.birth_dates.is_empty()
    {
        if entry.birth_dates.iter().all(|d| d.full_dates_differ(dob)) {
            evidence.push(Evidence {
                what: format!("birth date {} differs", dob.display()),
                effect: -0.25,
            });
        } else if entry.birth_dates.iter().all(|d| d.years_disjoint(dob)) {
            evidence.push(Evidence {
                what: format!("birth year of {} disjoint", dob.display()),
                effect: -0.15,
            });
        }
    }
    if !kind_fits_role(entry.kind, party.role) {
        let factor = 0.67;
        evidence.push(Evidence {
            what: format!(
                "a listed {} as {}",
                entry.kind.as_str(),
                party.role.map_or("party", PartyRole::as_str)
            ),
            effect: -(score * (1.0 - factor)),
        });
    }
    score += evidence.iter().map(|e| e.effect).sum::<f64>();
    let score = score.clamp(0.0, 1.0);
    (score, evidence)
}

/// An entry's result before its explanation is written.
#[derive(Debug, Clone)]
struct ScoredEntry {
    entry: u32,
    score: f64,
    name_score: f64,
    /// The best name's score before its kind's weight and the numbers penalty.
    raw: f64,
    name: Option<u32>,
    evidence: Vec<Evidence>,
}

/// An entry and its score, as [`Screener::screen_scores`] reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryScore {
    /// Index into [`ScreenIndex::entries`].
    pub entry_index: u32,
    /// The score [`Screener::screen`] gives the same entry.
    pub score: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{SplitMix64, innocent_name, perturb};
    use crate::parse::lookout_csv;
    use proptest::prelude::*;

    fn test_screener() -> Screener {
        let mut rng = SplitMix64::new(11);
        let mut csv = String::from("list_id,entry_id,name,entry_kind,name_kind,country\n");
        for i in 0..1500 {
            let kind = if i % 4 == 0 { "organization" } else { "person" };
            let name = if i % 4 == 0 {
                format!("{} Trading LLC", innocent_name(&mut rng))
            } else {
                innocent_name(&mut rng)
            };
            let country = ["UZ", "US", ""][i % 3];
            let alias = perturb(&name, &mut rng).0.replace('"', "");
            csv.push_str(&format!("t,E{i},\"{name}\",{kind},primary,{country}\n"));
            let alias_kind = if i % 5 == 0 { "weak" } else { "alias" };
            csv.push_str(&format!(
                "t,E{i},\"{alias}\",{kind},{alias_kind},{country}\n"
            ));
        }
        let list = lookout_csv::parse(csv.as_bytes(), "test").expect("list");
        Screener::new(ScreenIndex::build(&[list]), ScoreConfig::default())
    }

    /// The screener before the memo, `align` and the lazy explanations: every candidate
    /// compared with `compare_names` and `improve_by_joining`, best name per entry.
    fn reference(screener: &Screener, party: &ScreenedParty, floor: f64) -> Vec<(u32, f64)> {
        let config = &screener.config;
        let Ok(query) = normalize_name(&party.name, true) else {
            return Vec::new();
        };
        let mut scratch = screener.index.scratch();
        let candidates = screener.index.candidates(
            &query,
            MIN_TRIGRAM_SHARE,
            config.max_candidates,
            &mut scratch,
        );
        let mut best: std::collections::HashMap<u32, f64> = Default::default();
        for candidate in candidates {
            let name = &screener.index.names[candidate.name as usize];
            let plain = compare_names(&query.tokens, &name.normalized.tokens, config);
            let raw =
                improve_by_joining(plain, &query.tokens, &name.normalized.tokens, config).score;
            let weighted = (raw * name_weight(name.kind, name.normalized.tokens.len())
                - numbers_penalty(&query, &name.normalized))
            .max(0.0);
            let slot = best.entry(name.entry).or_insert(weighted);
            if weighted > *slot {
                *slot = weighted;
            }
        }
        let mut out: Vec<(u32, f64)> = best
            .into_iter()
            .map(|(entry, name_score)| {
                let entry_data = &screener.index.entries[entry as usize];
                (entry, evidence_score(party, entry_data, name_score).0)
            })
            .filter(|(_, score)| *score >= floor)
            .collect();
        out.sort_by(|a, b| {
            let id = |e: u32| &screener.index.entries[e as usize].entry_id;
            b.1.total_cmp(&a.1).then_with(|| id(a.0).cmp(id(b.0)))
        });
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn fast_screening_equals_the_reference_bit_for_bit(seed in any::<u64>(), country in proptest::option::of("(UZ|US|RU)")) {
            static SCREENER: std::sync::OnceLock<Screener> = std::sync::OnceLock::new();
            let screener = SCREENER.get_or_init(test_screener);
            let mut rng = SplitMix64::new(seed);
            let listed = &screener.index.names[rng.below(screener.index.names.len())].text;
            let names = [perturb(listed, &mut rng).0, innocent_name(&mut rng), listed.clone()];
            let mut scratch = screener.index.scratch();
            for name in names {
                let party = ScreenedParty { name, country: country.clone(), ..ScreenedParty::default() };
                let expected = reference(screener, &party, screener.config.review);
                let hits = screener.screen(&party, &mut scratch).unwrap_or_default();
                let got: Vec<(u32, f64)> = hits.iter().map(|h| (h.entry_index, h.score)).collect();
                prop_assert_eq!(&got, &expected, "{}", party.name);
                let lean: Vec<(u32, f64)> = screener
                    .screen_scores(&party, &mut scratch)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| (s.entry_index, s.score))
                    .collect();
                prop_assert_eq!(&lean, &expected);
            }
        }
    }

    #[test]
    fn many_names_come_back_in_input_order_on_any_number_of_threads() {
        let screener = test_screener();
        let mut rng = SplitMix64::new(3);
        let names: Vec<String> = (0..700)
            .map(|i| {
                if i % 50 == 1 {
                    String::new()
                } else if i % 3 == 0 {
                    let listed = &screener.index.names[rng.below(screener.index.names.len())];
                    perturb(&listed.text, &mut rng).0
                } else {
                    innocent_name(&mut rng)
                }
            })
            .collect();
        let one = screener.screen_names(&names, 1);
        let mut scratch = screener.index.scratch();
        for (name, result) in names.iter().zip(&one) {
            let party = ScreenedParty {
                name: name.clone(),
                ..ScreenedParty::default()
            };
            assert_eq!(result, &screener.screen_scores(&party, &mut scratch));
        }
        assert!(one.iter().filter(|r| r.is_err()).count() >= 14);
        assert!(one.iter().flatten().any(|hits| !hits.is_empty()));
        assert_eq!(screener.screen_names(&names, 3), one);
        assert_eq!(screener.screen_names(&[], 2), Vec::new());
    }
}
