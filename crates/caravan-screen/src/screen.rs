//! Screening a party against the index (spec §5–§7): candidates, name scores over every
//! name of every candidate entry, evidence from identifiers, country, birth date, numbers
//! and entry kind, bands, and an explanation per hit that is deterministic for the same
//! party, list version and configuration.

use std::collections::HashMap;

use crate::error::NameError;
use crate::index::{Scratch, ScreenIndex};
use crate::model::{Address, EntryKind, FuzzyDate, Identifier, NameKind, hex};
use crate::normalize::{NormalizedName, normalize_name};
use crate::score::{
    Band, KEY_VERSION, SCORER_VERSION, ScoreConfig, TokenScore, compare_names_with, describe_line,
    improve_by_joining, numbers_penalty, token_similarity,
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
        let candidates =
            self.index
                .candidates(query, MIN_TRIGRAM_SHARE, config.max_candidates, scratch);
        // Best name per entry.
        let mut best: HashMap<u32, (f64, f64, u32, crate::score::NameMatch)> = HashMap::new();
        // Token similarities per (query token, list token id): list tokens recur across
        // candidate names (`mohammad`, `trading`), and each pair is computed once.
        let mut memo: HashMap<(usize, u32), TokenScore> = HashMap::new();
        for candidate in &candidates {
            let name = &self.index.names[candidate.name as usize];
            let ids = &self.index.token_ids[candidate.name as usize];
            let list_tokens = &name.normalized.tokens;
            let plain = compare_names_with(&query.tokens, list_tokens, config, |qi, li| {
                *memo.entry((qi, ids[li])).or_insert_with(|| {
                    token_similarity(&query.tokens[qi], &list_tokens[li], config)
                })
            });
            let matched = improve_by_joining(plain, &query.tokens, list_tokens, config);
            let raw = matched.score;
            let weighted = (raw * name_weight(name.kind, name.normalized.tokens.len())
                - numbers_penalty(query, &name.normalized))
            .max(0.0);
            let slot = best.entry(name.entry);
            match slot {
                std::collections::hash_map::Entry::Occupied(mut existing) => {
                    if weighted > existing.get().0 {
                        existing.insert((weighted, raw, candidate.name, matched));
                    }
                }
                std::collections::hash_map::Entry::Vacant(vacant) => {
                    vacant.insert((weighted, raw, candidate.name, matched));
                }
            }
        }
        // Entries sharing an identifier are always candidates.
        let mut id_entries: Vec<(u32, &crate::model::Identifier)> = Vec::new();
        for id in &party.identifiers {
            for &entry in self.index.entries_with_identifier(&id.scheme, &id.value) {
                id_entries.push((entry, id));
            }
        }
        let mut entry_ids: Vec<u32> = best.keys().copied().collect();
        for (entry, _) in &id_entries {
            if !best.contains_key(entry) {
                entry_ids.push(*entry);
            }
        }
        entry_ids.sort_unstable();
        entry_ids.dedup();
        let mut hits = Vec::new();
        for entry_idx in entry_ids {
            let entry = &self.index.entries[entry_idx as usize];
            let (name_score, name_idx, matched) = match best.remove(&entry_idx) {
                Some((weighted, _, name_idx, matched)) => (weighted, Some(name_idx), Some(matched)),
                None => (0.0, None, None),
            };
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
                    let listed: Vec<&str> =
                        entry.countries.iter().map(|c| c.code.as_str()).collect();
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
            if score < floor {
                continue;
            }
            let band = config.band(score).unwrap_or(Band::Review);
            let version =
                &self.index.versions[self.index.entry_version[entry_idx as usize] as usize];
            let (matched_name, matched_name_kind, token_lines) = match (name_idx, &matched) {
                (Some(name_idx), Some(matched)) => {
                    let name = &self.index.names[name_idx as usize];
                    let lines = matched
                        .lines
                        .iter()
                        .map(|line| describe_line(line, &query.tokens, &name.normalized.tokens))
                        .collect();
                    (name.text.clone(), name.kind, lines)
                }
                _ => (
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
                score,
                name_score,
                band,
                query_fingerprint: query.fingerprint.clone(),
                token_lines,
                evidence,
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
}
