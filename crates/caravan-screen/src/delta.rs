//! Differences between two versions of one list (spec §8): added, changed and removed
//! entries by `entry_id` and `content_hash`, so re-screening costs what changed, not the
//! whole list.

use std::collections::HashMap;

use crate::model::ScreeningList;

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

#[cfg(test)]
mod tests {
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
}
