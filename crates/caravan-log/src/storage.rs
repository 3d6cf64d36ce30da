//! An in-memory [`LogStore`], for tests and tools.
//!
//! [`MemoryLogStore`] is a real (not mocked) store over ordered maps with the same
//! contract as the durable backends (size compare-and-set on append, checkpoint and
//! witness-state rules, alarms), so the services of this crate are unit-tested against it
//! without a database. It keeps nothing across restarts, so a node never uses it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use caravan_store::log::{
    Alarm, Appended, Hash, LogHead, LogStore, NodeAddr, StoredCheckpoint, Witnessed,
};
use caravan_store::{Conflict, StoreError};

#[derive(Default)]
struct MemoryLog {
    entries: Vec<Vec<u8>>,
    nodes: BTreeMap<(u8, u64), Hash>,
    checkpoint: Option<StoredCheckpoint>,
}

#[derive(Default)]
struct MemoryState {
    logs: BTreeMap<String, MemoryLog>,
    witnessed: BTreeMap<String, Witnessed>,
    alarms: Vec<Alarm>,
    failing: bool,
}

/// An in-memory [`LogStore`] with the same contract as the durable backends.
#[derive(Default)]
pub struct MemoryLogStore {
    state: Mutex<MemoryState>,
}

impl MemoryLogStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call fail as `Unavailable` (or succeed again), to test that
    /// callers lose nothing while the store is down.
    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut state) = self.state.lock() {
            state.failing = failing;
        }
    }

    /// Overwrites one stored node hash, to test that corruption is caught.
    pub fn corrupt_node(&self, origin: &str, addr: NodeAddr, hash: Hash) {
        if let Ok(mut state) = self.state.lock()
            && let Some(log) = state.logs.get_mut(origin)
        {
            log.nodes.insert((addr.level, addr.index), hash);
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut MemoryState) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Other("memory store lock poisoned".into()))?;
        if state.failing {
            return Err(StoreError::Unavailable("memory store set to fail".into()));
        }
        f(&mut state)
    }
}

fn log_mut<'a>(state: &'a mut MemoryState, origin: &str) -> Result<&'a mut MemoryLog, StoreError> {
    state.logs.get_mut(origin).ok_or(StoreError::NotFound)
}

impl LogStore for MemoryLogStore {
    fn open_log(&self, origin: &str) -> Result<LogHead, StoreError> {
        self.with(|state| {
            let log = state.logs.entry(origin.to_owned()).or_default();
            Ok(LogHead {
                size: log.entries.len() as u64,
                checkpoint: log.checkpoint.clone(),
            })
        })
    }

    fn append(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
    ) -> Result<Appended, StoreError> {
        self.with(|state| {
            let log = log_mut(state, origin)?;
            let size = log.entries.len() as u64;
            if size != expected_size {
                return Err(StoreError::Conflict(Conflict::LogSize {
                    origin: origin.to_owned(),
                    expected: expected_size,
                    stored: size,
                }));
            }
            if entries.len() != leaf_hashes.len() {
                return Err(StoreError::Other(
                    "entries and leaf hashes differ in number".into(),
                ));
            }
            for (addr, hash) in nodes {
                log.nodes.entry((addr.level, addr.index)).or_insert(*hash);
            }
            log.entries.extend(entries.iter().cloned());
            Ok(Appended {
                first_index: size,
                size: log.entries.len() as u64,
            })
        })
    }

    fn append_checkpointed(
        &self,
        origin: &str,
        expected_size: u64,
        entries: &[Vec<u8>],
        leaf_hashes: &[Hash],
        nodes: &[(NodeAddr, Hash)],
        checkpoint: &StoredCheckpoint,
    ) -> Result<Appended, StoreError> {
        self.with(|state| {
            let log = log_mut(state, origin)?;
            // Every check before any write: all or nothing, as one transaction.
            let size = log.entries.len() as u64;
            if size != expected_size {
                return Err(StoreError::Conflict(Conflict::LogSize {
                    origin: origin.to_owned(),
                    expected: expected_size,
                    stored: size,
                }));
            }
            if entries.len() != leaf_hashes.len() {
                return Err(StoreError::Other(
                    "entries and leaf hashes differ in number".into(),
                ));
            }
            let new_size = size + entries.len() as u64;
            let stored = log.checkpoint.as_ref().map_or(0, |c| c.size);
            let contradicts = log
                .checkpoint
                .as_ref()
                .is_some_and(|c| c.size == checkpoint.size && c.root != checkpoint.root);
            if checkpoint.size < stored || checkpoint.size > new_size || contradicts {
                return Err(StoreError::Conflict(Conflict::CheckpointRejected {
                    origin: origin.to_owned(),
                    offered: checkpoint.size,
                    checkpoint: stored,
                    log_size: new_size,
                }));
            }
            for (addr, hash) in nodes {
                log.nodes.entry((addr.level, addr.index)).or_insert(*hash);
            }
            log.entries.extend(entries.iter().cloned());
            log.checkpoint = Some(checkpoint.clone());
            Ok(Appended {
                first_index: size,
                size: new_size,
            })
        })
    }

    fn nodes(&self, origin: &str, addrs: &[NodeAddr]) -> Result<Vec<Hash>, StoreError> {
        self.with(|state| {
            let log = log_mut(state, origin)?;
            addrs
                .iter()
                .map(|a| {
                    log.nodes
                        .get(&(a.level, a.index))
                        .copied()
                        .ok_or(StoreError::NotFound)
                })
                .collect()
        })
    }

    fn entries(&self, origin: &str, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.with(|state| {
            let log = log_mut(state, origin)?;
            let len = log.entries.len() as u64;
            let start = start.min(len);
            let end = start.saturating_add(count).min(len);
            Ok(log.entries[start as usize..end as usize].to_vec())
        })
    }

    fn save_checkpoint(
        &self,
        origin: &str,
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError> {
        self.with(|state| {
            let log = log_mut(state, origin)?;
            let log_size = log.entries.len() as u64;
            let stored = log.checkpoint.as_ref().map_or(0, |c| c.size);
            let contradicts = log
                .checkpoint
                .as_ref()
                .is_some_and(|c| c.size == checkpoint.size && c.root != checkpoint.root);
            if checkpoint.size < stored || checkpoint.size > log_size || contradicts {
                return Err(StoreError::Conflict(Conflict::CheckpointRejected {
                    origin: origin.to_owned(),
                    offered: checkpoint.size,
                    checkpoint: stored,
                    log_size,
                }));
            }
            log.checkpoint = Some(checkpoint.clone());
            Ok(())
        })
    }

    fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, StoreError> {
        self.with(|state| Ok(state.witnessed.get(origin).cloned()))
    }

    fn record_witnessed(&self, expected_size: u64, next: &Witnessed) -> Result<(), StoreError> {
        self.with(|state| {
            let current = state.witnessed.get(&next.origin).map_or(0, |w| w.size);
            if current != expected_size {
                return Err(StoreError::Conflict(Conflict::WitnessMoved {
                    origin: next.origin.clone(),
                    expected: expected_size,
                    stored: current,
                }));
            }
            state.witnessed.insert(next.origin.clone(), next.clone());
            Ok(())
        })
    }

    fn raise_alarm(&self, kind: &str, origin: &str, detail: &str) -> Result<i64, StoreError> {
        self.with(|state| {
            let id = state.alarms.len() as i64 + 1;
            state.alarms.push(Alarm {
                id,
                kind: kind.to_owned(),
                origin: origin.to_owned(),
                detail: detail.to_owned(),
                raised_at: String::new(),
            });
            Ok(id)
        })
    }

    fn alarms(&self) -> Result<Vec<Alarm>, StoreError> {
        self.with(|state| Ok(state.alarms.iter().rev().cloned().collect()))
    }
}

#[cfg(test)]
mod tests {
    use caravan_store::log::StoreHashReader;
    use caravan_tlog::rfc6962::{self, MemoryTree};

    use super::*;

    #[test]
    fn stored_nodes_give_the_memory_tree_root_for_every_split() {
        for total in 1..40u64 {
            for split in 0..=total {
                let store = MemoryLogStore::new();
                store.open_log("o").unwrap();
                let mut tree = MemoryTree::new();
                let leaves: Vec<Hash> = (0..total)
                    .map(|i| rfc6962::leaf_hash(&i.to_be_bytes()))
                    .collect();
                for (start, end) in [(0, split), (split, total)] {
                    let batch = &leaves[start as usize..end as usize];
                    let nodes =
                        rfc6962::nodes_to_store(start, batch, &StoreHashReader::new(&store, "o"))
                            .unwrap();
                    let entries: Vec<Vec<u8>> = batch.iter().map(|h| h.to_vec()).collect();
                    store.append("o", start, &entries, batch, &nodes).unwrap();
                    for leaf in batch {
                        tree.append_leaf_hash(*leaf);
                    }
                }
                let root = rfc6962::tree_hash(total, &StoreHashReader::new(&store, "o")).unwrap();
                assert_eq!(root, tree.root(), "total {total} split {split}");
            }
        }
    }
}
