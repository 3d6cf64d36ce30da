//! Differences between two versions of one list (spec §8): added, changed and removed
//! entries by `entry_id` and `content_hash`, so re-screening costs what changed, not the
//! whole list.
//!
//! [`rescreen`] is the delta re-screen itself: an index over the added and changed entries
//! only, every known party run through it. Its promise, pinned by a property test, is that
//! it finds exactly the hits a full screening against the new version finds on those
//! entries, so a node that re-screens by delta never knows less than one that re-screens
//! everything. (On lists large enough for the index's frequency cut-offs to bite, the
//! small delta index skips fewer postings than the full one, so it may find more, never
//! fewer, apart from the per-query candidate cap.)

use std::collections::{HashMap, HashSet};

use crate::index::ScreenIndex;
use crate::model::ScreeningList;
use crate::score::ScoreConfig;
use crate::screen::{Hit, ScreenedParty, Screener};

/// What changed between two versions of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDelta {
    /// Entry ids present only in the new version.
    pub added: Vec<String>,
    /// Entry ids present in both with a different content hash.
    pub changed: Vec<String>,
    /// Entry ids present only in the old version.
    pub removed: Vec<String>,
    /// Entries present in both and unchanged.
    pub unchanged: usize,
}

impl ListDelta {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Compares `old` with `new`. Ids are listed in the order of the version they come from.
pub fn diff(old: &ScreeningList, new: &ScreeningList) -> ListDelta {
    let old_hashes: HashMap<&str, &[u8; 32]> = old
        .entries
        .iter()
        .map(|e| (e.entry_id.as_str(), &e.content_hash))
        .collect();
    let new_ids: std::collections::HashSet<&str> =
        new.entries.iter().map(|e| e.entry_id.as_str()).collect();
    let mut delta = ListDelta::default();
    for entry in &new.entries {
        match old_hashes.get(entry.entry_id.as_str()) {
            None => delta.added.push(entry.entry_id.clone()),
            Some(hash) if **hash != entry.content_hash => {
                delta.changed.push(entry.entry_id.clone())
            }
            Some(_) => delta.unchanged += 1,
        }
    }
    for entry in &old.entries {
        if !new_ids.contains(entry.entry_id.as_str()) {
            delta.removed.push(entry.entry_id.clone());
        }
    }
    delta
}

/// The entries of `new` that a delta re-screen must look at: added and changed ones.
pub fn delta_entries(new: &ScreeningList, delta: &ListDelta) -> ScreeningList {
    let wanted: HashSet<&str> = delta
        .added
        .iter()
        .chain(&delta.changed)
        .map(String::as_str)
        .collect();
    ScreeningList {
        version: new.version.clone(),
        entries: new
            .entries
            .iter()
            .filter(|e| wanted.contains(e.entry_id.as_str()))
            .cloned()
            .collect(),
    }
}

/// Screens every party against the added and changed entries of `new` only; one vector of
/// hits (best first) per party, in party order. A party whose name the normaliser refuses
/// (empty, too long) has no hits, as in a full screening.
pub fn rescreen(
    parties: &[ScreenedParty],
    new: &ScreeningList,
    delta: &ListDelta,
    config: &ScoreConfig,
) -> Vec<Vec<Hit>> {
    let changed = delta_entries(new, delta);
    if changed.entries.is_empty() {
        return vec![Vec::new(); parties.len()];
    }
    let screener = Screener::new(ScreenIndex::build(&[changed]), config.clone());
    let mut scratch = screener.index.scratch();
    parties
        .iter()
        .map(|party| screener.screen(party, &mut scratch).unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{EntryKind, ListEntry, ListName, ListVersion, NameKind};

    fn list(entries: &[(&str, &str)]) -> ScreeningList {
        let entries: Vec<ListEntry> = entries
            .iter()
            .map(|(id, name)| {
                let mut entry = ListEntry::new("l", id, EntryKind::Person);
                entry.names.push(ListName {
                    kind: NameKind::Primary,
                    text: (*name).to_owned(),
                });
                entry.seal();
                entry
            })
            .collect();
        ScreeningList {
            version: ListVersion {
                list_id: "l".to_owned(),
                publisher_date: None,
                fetched_at: "t".to_owned(),
                sha256: [0; 32],
                n_entries: entries.len(),
            },
            entries,
        }
    }

    #[test]
    fn added_changed_removed() {
        let old = list(&[("1", "A"), ("2", "B"), ("3", "C")]);
        let new = list(&[("1", "A"), ("2", "B2"), ("4", "D")]);
        let delta = diff(&old, &new);
        assert_eq!(delta.added, vec!["4"]);
        assert_eq!(delta.changed, vec!["2"]);
        assert_eq!(delta.removed, vec!["3"]);
        assert_eq!(delta.unchanged, 1);
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn alias_order_does_not_change_the_hash() {
        let mut a = ListEntry::new("l", "1", EntryKind::Person);
        let mut b = a.clone();
        for (entry, names) in [(&mut a, ["X", "Y"]), (&mut b, ["Y", "X"])] {
            for name in names {
                entry.names.push(ListName {
                    kind: NameKind::Alias,
                    text: name.to_owned(),
                });
            }
            entry.seal();
        }
        assert_eq!(a.content_hash, b.content_hash);
    }

    const TOKENS: &[&str] = &[
        "Xaydarov",
        "Khaydarov",
        "Хайдаров",
        "Shukhrat",
        "Шуҳрат",
        "Yusupov",
        "Yunusov",
        "Jurabek",
        "Toshkent",
        "Tashkent",
        "Tekstil",
        "Savdo",
        "Trading",
        "Alisher",
        "Karimov",
        "Каримов",
        "Nuriddin",
        "Xo'jayev",
        "Khodjaev",
        "Farrukh",
    ];

    fn name_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec(0..TOKENS.len(), 1..4)
            .prop_map(|idx| idx.iter().map(|&i| TOKENS[i]).collect::<Vec<_>>().join(" "))
    }

    fn entries_strategy() -> impl Strategy<Value = Vec<(u8, Vec<String>)>> {
        prop::collection::btree_map(0u8..40, prop::collection::vec(name_strategy(), 1..3), 1..20)
            .prop_map(|m| m.into_iter().collect())
    }

    fn to_list(entries: &[(u8, Vec<String>)]) -> ScreeningList {
        let entries: Vec<ListEntry> = entries
            .iter()
            .map(|(id, names)| {
                let mut entry = ListEntry::new("l", &format!("E{id}"), EntryKind::Person);
                for (n, name) in names.iter().enumerate() {
                    entry.names.push(ListName {
                        kind: if n == 0 {
                            NameKind::Primary
                        } else {
                            NameKind::Alias
                        },
                        text: name.clone(),
                    });
                }
                entry.seal();
                entry
            })
            .collect();
        ScreeningList {
            version: ListVersion {
                list_id: "l".to_owned(),
                publisher_date: Some("v2".to_owned()),
                fetched_at: "t".to_owned(),
                sha256: [7; 32],
                n_entries: entries.len(),
            },
            entries,
        }
    }

    /// What a hit says, without the index position (which differs between indexes).
    fn comparable(hit: &Hit) -> String {
        format!(
            "{}/{} {:.6} {} {:?} {:?} {:?}",
            hit.list_id,
            hit.entry_id,
            hit.score,
            hit.matched_name,
            hit.band,
            hit.token_lines,
            hit.evidence
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Delta re-screen equals full re-screen restricted to the added and changed
        /// entries, party by party.
        #[test]
        fn delta_rescreen_equals_full_rescreen_on_changed_entries(
            old in entries_strategy(),
            new in entries_strategy(),
            parties in prop::collection::vec(name_strategy(), 1..8),
        ) {
            let (old, new) = (to_list(&old), to_list(&new));
            let delta = diff(&old, &new);
            let parties: Vec<ScreenedParty> = parties
                .into_iter()
                .map(|name| ScreenedParty { name, ..ScreenedParty::default() })
                .collect();
            let config = ScoreConfig::default();
            let by_delta = rescreen(&parties, &new, &delta, &config);
            let full = Screener::new(ScreenIndex::build(std::slice::from_ref(&new)), config);
            let mut scratch = full.index.scratch();
            let wanted: HashSet<&String> = delta.added.iter().chain(&delta.changed).collect();
            for (party, delta_hits) in parties.iter().zip(&by_delta) {
                let expected: Vec<String> = full
                    .screen(party, &mut scratch)
                    .unwrap_or_default()
                    .iter()
                    .filter(|h| wanted.contains(&h.entry_id))
                    .map(comparable)
                    .collect();
                let got: Vec<String> = delta_hits.iter().map(comparable).collect();
                prop_assert_eq!(got, expected, "party {:?}", party.name);
            }
        }
    }

    #[test]
    fn rescreen_sees_only_added_and_changed_entries() {
        let old = list(&[("1", "Shukhrat Khaydarov"), ("2", "Jurabek Yusupov")]);
        let new = list(&[
            ("1", "Shukhrat Khaydarov"),
            ("2", "Jurabek Yusupov Ali"),
            ("3", "Alisher Karimov"),
        ]);
        let delta = diff(&old, &new);
        let parties =
            ["Shuhrat Haydarov", "Jurabek Yusupov", "Alisher Karimov"].map(|name| ScreenedParty {
                name: name.to_owned(),
                ..ScreenedParty::default()
            });
        let hits = rescreen(&parties, &new, &delta, &ScoreConfig::default());
        assert!(hits[0].is_empty(), "entry 1 did not change");
        assert_eq!(
            hits[1]
                .iter()
                .map(|h| h.entry_id.as_str())
                .collect::<Vec<_>>(),
            ["2"]
        );
        assert_eq!(
            hits[2]
                .iter()
                .map(|h| h.entry_id.as_str())
                .collect::<Vec<_>>(),
            ["3"]
        );
        assert!(
            rescreen(&parties, &new, &diff(&new, &new), &ScoreConfig::default())
                .iter()
                .all(Vec::is_empty)
        );
    }
}
